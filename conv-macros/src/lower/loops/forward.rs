//! The forward pass's loops.

use conv_runtime::{Axis, Spec};
use proc_macro2::TokenStream;
use quote::quote;

use super::blocks::{Blocks, tap_loop};
use super::layout::{Outer, Tensor, pass, row_start, sources};
use crate::lower::tokens::{number, scaled};

/// Past stride 1, the forward pass splits an input row by phase (position modulo the
/// stride) when its output rows are longer than this: a shorter row is unrolled into
/// registers by the compiler anyway, and the split would only add copies (measured: 6 %
/// slower on a 16-wide row at stride 2, 1.8 times faster on a 254-wide row at stride 4).
pub(super) const PHASED_OUTPUTS: usize = 64;

/// The longest input row split by phase, into a local array on the stack.
pub(super) const PHASED_INPUTS: usize = 4096;

/// The sums the forward pass keeps for a block of output channels when it splits input
/// rows by phase, once per row for the whole block: as many as the first-level cache
/// holds easily. At stride 1 each output channel is summed alone: summing several at once
/// measured 8 to 24 % slower on the two `LeNet` layers, portably.
pub(super) const PHASED_SUMS: usize = 2048;

/// `forward_into`'s body: `z[n, o, p] = b[o] + Σ_{c, q} w[o, c, q] · x[n, c, p·s + q·d − pad]`,
/// an output row of a few output channels at a time, so each input row read serves all of
/// them.
pub(in super::super) fn forward(spec: &Spec) -> TokenStream {
    let Some((chunks, outer, axis, step)) = pass(spec, false) else {
        return TokenStream::new();
    };
    let (input_sample, output_sample, input_group, output_group, weight_group) = chunks.walk();
    let input_plane = chunks.input_plane;
    let blocks = Blocks::of(axis, true);
    let (rows_constant, width) = (blocks.constant(axis), blocks.width);
    let stride = axis.stride();
    // Past stride 1 a long input row is split by phase (position modulo the stride) into
    // a local array, so that every tap reads a contiguous run, once per row for all the
    // channels of a block; other rows are read at the stride.
    let phased = stride > 1 && axis.output() > PHASED_OUTPUTS && axis.input() <= PHASED_INPUTS;
    let block = channel_block(spec, width, phased);
    let x_row = outer.row("x_plane", Tensor::Input, axis, false);
    let taps_per_filter: usize = spec.axes().iter().map(Axis::kernel).product();
    let (z_row, w_row) = channel_rows(spec, &outer, axis);
    let (phase_buffer, split_row, source) = phase_split(axis, phased, &step);
    let sources = sources(outer.axes, &outer.positions, &outer.taps, &outer.inputs);
    let inner = quote! {
        for (sum, x) in sums[lo..hi].iter_mut().zip(#source) {
            sum.accumulate_product(tap, x);
        }
    };
    let channel = if spec.in_channels_per_group() == 1 {
        quote!(x_plane)
    } else {
        quote!((c, x_plane))
    };
    let enumerate = (spec.in_channels_per_group() > 1).then(|| quote!(.enumerate()));
    let [bias_groups, bias_pattern, bias_zip, block_pattern, start] = forward_bias(spec, block);
    let (width_literal, block_literal) = (number(width), number(block));
    let row = blocks.each(|bounds| {
        let each_tap = tap_loop(axis, &blocks, bounds, &inner);
        let taps_nest = outer.nest(
            Tensor::Kernel,
            quote! {
                #sources
                let x_row = #x_row;
                #split_row
                for (o, sums) in sums.iter_mut().enumerate() {
                    let w_row = #w_row;
                    #each_tap
                }
            },
        );
        quote! {
            let mut sums: [[T; #width_literal]; #block_literal] = ::core::array::from_fn(#start);
            for #channel in x_group.chunks_exact(#input_plane)#enumerate {
                #taps_nest
            }
            for (o, sums) in sums.into_iter().enumerate() {
                let z_row = #z_row;
                for (out, sum) in z_row[block_start..].iter_mut().zip(sums) {
                    *out = sum;
                }
            }
        }
    });
    let positions_nest = outer.nest(Tensor::Output, row);
    let (block_planes, block_filters) = (
        number(block * spec.axes().iter().map(Axis::output).product::<usize>()),
        number(block * spec.in_channels_per_group() * taps_per_filter),
    );
    quote! {
        #rows_constant
        #phase_buffer
        for (x_sample, z_sample) in x.chunks_exact(#input_sample).zip(z.chunks_exact_mut(#output_sample)) {
            let groups = x_sample
                .chunks_exact(#input_group)
                .zip(z_sample.chunks_exact_mut(#output_group))
                .zip(w.chunks_exact(#weight_group))
                #bias_groups;
            for (#bias_pattern) in groups {
                let blocks = z_group
                    .chunks_exact_mut(#block_planes)
                    .zip(w_group.chunks_exact(#block_filters))
                    #bias_zip;
                for #block_pattern in blocks {
                    #positions_nest
                }
            }
        }
    }
}

/// How many output channels the forward pass sums at once: one, or when input rows are
/// split by phase, the largest divisor of a group's output channels whose rows fit
/// [`PHASED_SUMS`].
pub(super) fn channel_block(spec: &Spec, width: usize, phased: bool) -> usize {
    let channels = spec.out_channels_per_group();
    // No block past `PHASED_SUMS / width` qualifies: the search stays short when a group
    // has billions of channels (a `macro_parse` fuzzing finding, minutes per layer).
    let most = (PHASED_SUMS / width.max(1)).max(1);
    (1..=channels.min(most))
        .filter(|block| {
            channels.is_multiple_of(*block)
                && (*block == 1 || phased && block * width <= PHASED_SUMS)
        })
        .max()
        .unwrap_or(1)
}

/// The forward pass's input row split by phase: the buffer's declaration, the statements
/// that fill it from `x_row`, and the iterator over the inputs a tap reads from `first`;
/// or, unsplit, nothing and `x_row` read at the stride.
pub(super) fn phase_split(
    axis: &Axis,
    phased: bool,
    step: &TokenStream,
) -> (TokenStream, TokenStream, TokenStream) {
    if phased {
        let stride = axis.stride();
        let (count, len) = (number(stride), number(axis.input().div_ceil(stride)));
        (
            quote! {
                let mut phases: [[T; #len]; #count] =
                    ::core::array::from_fn(|_| ::core::array::from_fn(|_| T::zero()));
            },
            quote! {
                for (phase, row) in phases.iter_mut().enumerate() {
                    for (value, x) in row.iter_mut().zip(x_row.iter().skip(phase).step_by(#count)) {
                        value.clone_from(x);
                    }
                }
            },
            quote!(phases[first % #count][first / #count..].iter()),
        )
    } else {
        (
            TokenStream::new(),
            TokenStream::new(),
            quote!(x_row[first..]#step),
        )
    }
}

/// For the forward pass's channel blocks: the row of output channel `o` of the block in
/// `z_planes`, and the row of taps that meets input channel `c` in `w_filters`.
pub(super) fn channel_rows(spec: &Spec, outer: &Outer, axis: &Axis) -> (TokenStream, TokenStream) {
    let z_start = row_start(&outer.positions, &outer.output_extents, axis.output());
    let z_row = {
        let plane = scaled(&quote!(o), spec.axes().iter().map(Axis::output).product());
        let start = match z_start {
            Some(start) => quote!(#plane + #start),
            None => plane,
        };
        let len = number(axis.output());
        quote!(&mut z_planes[#start..][..#len])
    };
    let taps_per_filter: usize = spec.axes().iter().map(Axis::kernel).product();
    let w_row = {
        let filter = scaled(&quote!(o), spec.in_channels_per_group());
        let filter = if spec.in_channels_per_group() == 1 {
            filter
        } else {
            quote!((#filter + c))
        };
        let mut start = scaled(&filter, taps_per_filter);
        if let Some(taps) = row_start(&outer.taps, &outer.kernel_extents, axis.kernel()) {
            start = quote!(#start + #taps);
        }
        let len = number(axis.kernel());
        quote!(&w_filters[#start..][..#len])
    };
    (z_row, w_row)
}

/// The forward pass's patterns with and without a bias: the groups' and the blocks' zips
/// and patterns, and how a block's sums start (each row from its channel's bias, or 0).
pub(super) fn forward_bias(spec: &Spec, block: usize) -> [TokenStream; 5] {
    if spec.bias() {
        let (out_per_group, block) = (number(spec.out_channels_per_group()), number(block));
        [
            quote!(.zip(b.chunks_exact(#out_per_group))),
            quote!(((x_group, z_group), w_group), b_group),
            quote!(.zip(b_group.chunks_exact(#block))),
            quote!(((z_planes, w_filters), b_block)),
            quote!(|o| ::core::array::from_fn(|_| b_block[o].clone())),
        ]
    } else {
        [
            TokenStream::new(),
            quote!((x_group, z_group), w_group),
            TokenStream::new(),
            quote!((z_planes, w_filters)),
            quote!(|_| ::core::array::from_fn(|_| T::zero())),
        ]
    }
}
