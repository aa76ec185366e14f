//! The input gradient's loops: an input row gathered over the output channels and the
//! taps that reach it.

use conv_runtime::{Axis, Spec};
use proc_macro2::TokenStream;
use quote::quote;

use super::blocks::{Blocks, tap_loop};
use super::layout::{Tensor, pass, targets};
use crate::lower::tokens::{number, scaled};

/// `grad_input_into`'s body: `dx[n, c, i] = Σ_{o, q : p·s + q·d − pad = i} δ[n, o, p] · w[o, c, q]`,
/// an input row at a time: the correlation of δ with the flipped kernel.
pub(in super::super) fn grad_input(spec: &Spec) -> TokenStream {
    let Some((chunks, outer, axis, _)) = pass(spec, true) else {
        return TokenStream::new();
    };
    let (input_sample, output_sample, input_group, output_group, weight_group) = chunks.walk();
    let (input_plane, output_plane, taps) = (chunks.input_plane, chunks.output_plane, chunks.taps);
    let blocks = Blocks::of(axis, false);
    let (rows_constant, width) = (blocks.constant(axis), blocks.width);
    let d_row = outer.row("d_plane", Tensor::Output, axis, false);
    let w_row = outer.row("w_taps", Tensor::Kernel, axis, false);
    let gradient_row = outer.row("dx_plane", Tensor::Input, axis, true);
    let targets = targets(outer.axes, &outer.inputs, &outer.taps, &outer.positions);
    // Past stride 1 the sums are split by phase, the input position modulo the stride: a
    // tap adds a contiguous row of δ into a contiguous run of one phase, where the plain
    // row would take every s-th sum.
    let stride = axis.stride();
    let target = if stride == 1 {
        quote!(sums[first..].iter_mut())
    } else {
        let stride = number(stride);
        quote!(sums[first % #stride][first / #stride..].iter_mut())
    };
    let inner = quote! {
        for (sum, d) in #target.zip(&d_row[lo..hi]) {
            sum.accumulate_product(d, tap);
        }
    };
    // Input channel `c` of a group meets output channel `o` in filter `o · cin/groups + c`.
    let per_group = spec.in_channels_per_group();
    let (channel, enumerate, filter) = if per_group == 1 {
        (quote!(dx_plane), None, quote!(o))
    } else {
        let o = scaled(&quote!(o), per_group);
        (
            quote!((c, dx_plane)),
            Some(quote!(.enumerate())),
            quote!((#o + c)),
        )
    };
    let filter_start = scaled(&filter, spec.axes().iter().map(Axis::kernel).product());
    let (sums, store) = input_sums(width, stride);
    let row = blocks.each(|bounds| {
        let each_tap = tap_loop(axis, &blocks, bounds, &inner);
        let taps_nest = outer.nest(
            Tensor::Kernel,
            quote! {
                #targets
                let d_row = #d_row;
                let w_row = #w_row;
                #each_tap
            },
        );
        quote! {
            #sums
            for (o, d_plane) in d_group.chunks_exact(#output_plane).enumerate() {
                let w_taps = &w_group[#filter_start..][..#taps];
                #taps_nest
            }
            #store
        }
    });
    let inputs_nest = outer.nest(
        Tensor::Input,
        quote! {
            let dx_row = #gradient_row;
            #row
        },
    );
    quote! {
        #rows_constant
        for (dx_sample, d_sample) in dx.chunks_exact_mut(#input_sample).zip(dz.chunks_exact(#output_sample)) {
            let groups = dx_sample
                .chunks_exact_mut(#input_group)
                .zip(d_sample.chunks_exact(#output_group))
                .zip(w.chunks_exact(#weight_group));
            for ((dx_group, d_group), w_group) in groups {
                for #channel in dx_group.chunks_exact_mut(#input_plane)#enumerate {
                    #inputs_nest
                }
            }
        }
    }
}

/// The input gradient's sums for a block of `width` inputs (split by phase past stride 1)
/// and the statements that store them into `dx_row` from `block_start`.
pub(super) fn input_sums(width: usize, stride: usize) -> (TokenStream, TokenStream) {
    if stride == 1 {
        let width = number(width);
        (
            quote!(let mut sums: [T; #width] = ::core::array::from_fn(|_| T::zero());),
            quote! {
                for (out, sum) in dx_row[block_start..].iter_mut().zip(sums) {
                    *out = sum;
                }
            },
        )
    } else {
        let (phases, phase_width) = (number(stride), number(width.div_ceil(stride)));
        (
            quote! {
                let mut sums: [[T; #phase_width]; #phases] =
                    ::core::array::from_fn(|_| ::core::array::from_fn(|_| T::zero()));
            },
            quote! {
                for (phase, sums) in sums.into_iter().enumerate() {
                    for (out, sum) in dx_row[block_start..].iter_mut().skip(phase).step_by(#phases).zip(sums) {
                        *out = sum;
                    }
                }
            },
        )
    }
}
