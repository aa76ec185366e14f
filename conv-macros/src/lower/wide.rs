//! Wide kernels: the loops again, as register blocks (`convsym::simd::block`) whose
//! vectors run over a block of channels, for the AVX2 and AVX-512 builds of a kernel
//! beside the portable loops of [`super::loops`]; `Scalar::run` picks one at run time.
//!
//! The forward pass keeps `MR × CB` sums in registers, `MR` outputs along a row times `CB`
//! output channels, and reads each input value once for all `CB` channels: a broadcast
//! times a vector of weights, which is why it needs wide vectors and many channels (a
//! group of output channels a multiple of 8). Padding becomes real zeros in a
//! local copy of a sample's input, so every block reads the same pattern.

use conv_runtime::{Axis, Spec};
use proc_macro2::{Ident, Literal, TokenStream};
use quote::{ToTokens, format_ident, quote};

/// The most elements a wide kernel keeps in one local array (the padded input, the
/// packed weights): 64 KiB of `f32`, so a kernel never needs more stack than the loops.
const STACK: usize = 16_384;

/// The most sums along a row in one register block: enough independent additions to
/// keep both adders busy, few enough that every sum stays in a register.
const MOST_SUMS: usize = 8;

/// A build's vectors, for `f32`.
#[derive(Clone, Copy)]
pub(super) struct Isa {
    /// `f32` lanes per vector.
    lanes: usize,
    /// Registers the sums may take, leaving the rest for operands.
    sums: usize,
    /// `Scalar`'s register block for this build.
    block: &'static str,
}

/// Sixteen 32-byte registers.
pub(super) const AVX2: Isa = Isa {
    lanes: 8,
    sums: 12,
    block: "block_avx2",
};
/// Thirty-two 64-byte registers.
pub(super) const AVX512: Isa = Isa {
    lanes: 16,
    sums: 16,
    block: "block_avx512",
};

impl Isa {
    /// The channels of a register block for a group of `channels`: one or two vectors
    /// (or, in the AVX-512 build, one of AVX2's), or `None` when they fit no vector.
    fn channels(self, channels: usize) -> Option<usize> {
        [2 * self.lanes, self.lanes, AVX2.lanes]
            .into_iter()
            .find(|block| channels.is_multiple_of(*block))
    }

    /// The most sums along a row for a block of `channels`.
    fn row(self, channels: usize) -> usize {
        MOST_SUMS.min(self.sums / channels.div_ceil(self.lanes))
    }
}

fn number(value: usize) -> Literal {
    Literal::usize_unsuffixed(value)
}

/// Row-major strides of `extents`.
fn strides(extents: &[usize]) -> Vec<usize> {
    let mut strides = vec![1; extents.len()];
    for index in (0..extents.len().saturating_sub(1)).rev() {
        strides[index] = strides[index + 1] * extents[index + 1];
    }
    strides
}

/// Where the forward pass reads: the input itself, or a zero-padded copy of a sample's
/// channels reaching just as far as the outputs read.
struct Source {
    /// Extent of each axis as read.
    extents: Vec<usize>,
    strides: Vec<usize>,
    plane: usize,
    /// Whether a padded copy is made.
    padded: bool,
}

impl Source {
    fn of(spec: &Spec) -> Self {
        let axes = spec.axes();
        let padded = axes
            .iter()
            .any(|axis| axis.pad_before() > 0 || axis.pad_after() > 0);
        let extents: Vec<usize> = if padded {
            axes.iter()
                .map(|axis| {
                    (axis.output() - 1) * axis.stride() + (axis.kernel() - 1) * axis.dilation() + 1
                })
                .collect()
        } else {
            axes.iter().map(Axis::input).collect()
        };
        Source {
            strides: strides(&extents),
            plane: extents.iter().product(),
            extents,
            padded,
        }
    }

    /// For each axis but the last, `per_axis(axis)` positions as a distance in the source.
    fn outer(&self, spec: &Spec, per_axis: fn(&Axis) -> usize) -> Vec<usize> {
        let axes = spec.axes();
        axes[..axes.len() - 1]
            .iter()
            .zip(&self.strides)
            .map(|(axis, stride)| per_axis(axis) * stride)
            .collect()
    }

    /// The statements that copy a sample's input channels `x_sample` into `padded`, zero
    /// where the layer pads.
    fn copy(&self, spec: &Spec, channels: usize) -> TokenStream {
        let axes = spec.axes();
        let (outer, last) = axes.split_at(axes.len() - 1);
        let last = &last[0];
        let input_strides = strides(&axes.iter().map(Axis::input).collect::<Vec<_>>());
        let input_plane: usize = axes.iter().map(Axis::input).product();
        let variables: Vec<Ident> = (0..outer.len())
            .map(|index| format_ident!("i{index}"))
            .collect();
        let (plane, input_plane) = (number(self.plane), number(input_plane));
        let mut from = quote!(c * #input_plane);
        let mut to = quote!(c * #plane);
        for (index, (axis, variable)) in outer.iter().zip(&variables).enumerate() {
            let (stride_in, stride_out, pad) = (
                number(input_strides[index]),
                number(self.strides[index]),
                number(axis.pad_before()),
            );
            from = quote!(#from + #variable * #stride_in);
            to = quote!(#to + (#variable + #pad) * #stride_out);
        }
        let len = last
            .input()
            .min(self.extents[axes.len() - 1].saturating_sub(last.pad_before()));
        let (len, pad) = (number(len), number(last.pad_before()));
        let mut body = quote! {
            padded[#to + #pad..][..#len].clone_from_slice(&x_sample[#from..][..#len]);
        };
        for (index, (axis, variable)) in outer.iter().zip(&variables).enumerate().rev() {
            let rows = axis
                .input()
                .min(self.extents[index].saturating_sub(axis.pad_before()));
            let rows = Literal::usize_suffixed(rows);
            body = quote!(for #variable in 0..#rows { #body });
        }
        let (channels, size) = (
            Literal::usize_suffixed(channels),
            number(channels * self.plane),
        );
        quote! {
            let mut padded: [T; #size] = ::core::array::from_fn(|_| T::zero());
            for c in 0..#channels {
                #body
            }
        }
    }
}

/// A row of `length` cut into register blocks of at most `most` sums, as even as can be:
/// `block(size, first)` for each, `first` the expression of its first index. A loop over
/// the blocks of one size, and the last block on its own when it is shorter.
fn by_blocks(
    length: usize,
    most: usize,
    block: impl Fn(usize, TokenStream) -> TokenStream,
) -> TokenStream {
    let count = length.div_ceil(most.max(1));
    let size = length.div_ceil(count);
    let tail = length - (count - 1) * size;
    if count == 1 {
        return block(size, quote!(0));
    }
    let (size_literal, full_count) = (number(size), number(count - 1));
    let full = block(size, quote!(block * #size_literal));
    let last = block(tail, number((count - 1) * size).into_token_stream());
    quote! {
        for block in 0..#full_count {
            #full
        }
        #last
    }
}

/// `body` for each row of outputs along the last axis, with `row`, where the row starts
/// in an output plane, and `shift`, where its first window starts in the source.
fn rows_of_outputs(spec: &Spec, source: &Source, body: &TokenStream) -> TokenStream {
    let axes = spec.axes();
    let outer = &axes[..axes.len() - 1];
    let output_strides = strides(&axes.iter().map(Axis::output).collect::<Vec<_>>());
    let positions: Vec<Ident> = (0..outer.len())
        .map(|index| format_ident!("p{index}"))
        .collect();
    let (mut shift, mut start) = (quote!(0), quote!(0));
    for (index, (axis, position)) in outer.iter().zip(&positions).enumerate() {
        let (step, out) = (
            number(axis.stride() * source.strides[index]),
            number(output_strides[index]),
        );
        shift = quote!(#shift + #position * #step);
        start = quote!(#start + #position * #out);
    }
    let mut nest = quote! {
        let shift = #shift;
        let row = #start;
        #body
    };
    for (axis, position) in outer.iter().zip(&positions).rev() {
        let extent = Literal::usize_suffixed(axis.output());
        nest = quote!(for #position in 0..#extent { #nest });
    }
    nest
}

/// `Σ index·weight` for every index of a row-major array of `extents`, in its order.
fn offsets(extents: &[usize], weights: &[usize]) -> Vec<usize> {
    let mut offsets = vec![0];
    for (&extent, &weight) in extents.iter().zip(weights) {
        offsets = offsets
            .iter()
            .flat_map(|&offset| (0..extent).map(move |index| offset + index * weight))
            .collect();
    }
    offsets
}

/// `forward_into`'s wide body for `isa`, when the layer suits it; it reads `x`, `w`, `b`
/// and writes `z` as the portable body does.
pub(super) fn forward(spec: &Spec, isa: Isa) -> Option<TokenStream> {
    let axes = spec.axes();
    let out_per_group = spec.out_channels_per_group();
    let in_per_group = spec.in_channels_per_group();
    let channels = isa.channels(out_per_group)?;
    let source = Source::of(spec);
    let (outer, last) = axes.split_at(axes.len() - 1);
    let last = &last[0];
    let taps: usize = axes.iter().map(Axis::kernel).product();
    let filter = in_per_group * taps;
    if (source.padded && spec.in_channels() * source.plane > STACK) || filter * channels > STACK {
        return None;
    }

    // Each row of the register block: an input channel and a tap on every axis but the
    // last, as an offset into the group's source.
    let outer_reach = source.outer(spec, Axis::dilation);
    let outer_taps: Vec<usize> = outer.iter().map(Axis::kernel).collect();
    let row_offsets: Vec<usize> = (0..in_per_group)
        .flat_map(|channel| {
            offsets(&outer_taps, &outer_reach)
                .into_iter()
                .map(move |offset| channel * source.plane + offset)
        })
        .collect();
    let row_count = number(row_offsets.len());
    let row_offsets = row_offsets.into_iter().map(number);

    let output_plane: usize = axes.iter().map(Axis::output).product();
    let geometry = {
        let (taps, step, reach) = (
            number(last.kernel()),
            number(last.stride()),
            number(last.dilation()),
        );
        quote!((#taps, #step, #reach))
    };
    let channels_literal = number(channels);
    let block = format_ident!("{}", isa.block);
    let call = |size: usize, first: TokenStream| {
        let size = number(size);
        let stride = number(last.stride());
        quote! {
            let mut sums: [[T; #channels_literal]; #size] = ::core::array::from_fn(|_| start.clone());
            T::#block::<#size, #channels_literal>(
                token, &mut sums, source, (&ROWS, shift + (#first) * #stride), #geometry, &packed,
            );
            for (m, sums) in sums.into_iter().enumerate() {
                for (c, sum) in sums.into_iter().enumerate() {
                    z_block[c * #output_plane + row + #first + m] = sum;
                }
            }
        }
    };
    let row_body = by_blocks(last.output(), isa.row(channels), call);
    let positions_nest = rows_of_outputs(spec, &source, &row_body);
    let (copy, source_sample) = if source.padded {
        (source.copy(spec, spec.in_channels()), quote!(&padded[..]))
    } else {
        (TokenStream::new(), quote!(&x_sample[..]))
    };
    let input_sample = number(spec.in_channels() * axes.iter().map(Axis::input).product::<usize>());
    let output_sample =
        number(spec.out_channels() * axes.iter().map(Axis::output).product::<usize>());
    let group_source = number(in_per_group * source.plane);
    let (filter, packed_len) = (number(filter), number(filter));
    let block_filters = number(channels * in_per_group * taps);
    let block_outputs = number(channels * axes.iter().map(Axis::output).product::<usize>());
    let blocks_per_group = number(out_per_group / channels);
    let start = if spec.bias() {
        quote!(::core::array::from_fn(|c| b[first + c].clone()))
    } else {
        quote!(::core::array::from_fn(|_| T::zero()))
    };
    Some(quote! {
        const ROWS: [usize; #row_count] = [#(#row_offsets),*];
        for (x_sample, z_sample) in x.chunks_exact(#input_sample).zip(z.chunks_exact_mut(#output_sample)) {
            #copy
            let sample: &[T] = #source_sample;
            let blocks = z_sample
                .chunks_exact_mut(#block_outputs)
                .zip(w.chunks_exact(#block_filters))
                .enumerate();
            for (index, (z_block, w_block)) in blocks {
                let source = &sample[index / #blocks_per_group * #group_source..][..#group_source];
                let first = index * #channels_literal;
                // The block's filters as vectors over its channels, one per tap.
                let mut packed: [[T; #channels_literal]; #packed_len] =
                    ::core::array::from_fn(|_| ::core::array::from_fn(|_| T::zero()));
                for (c, filter) in w_block.chunks_exact(#filter).enumerate() {
                    for (vector, weight) in packed.iter_mut().zip(filter) {
                        vector[c].clone_from(weight);
                    }
                }
                let start: [T; #channels_literal] = #start;
                #positions_nest
            }
        }
    })
}

/// `grad_weight_into`'s wide body for `isa`, when the layer suits it: the forward pass's
/// register block with positions and taps trading places. A block holds some taps along
/// the last axis times `CB` output channels, sums over every sample and output position
/// (the rows of the block, then the taps along a row), and each input value read is
/// multiplied into a vector of δ for all `CB` channels.
pub(super) fn grad_weight(spec: &Spec, isa: Isa) -> Option<TokenStream> {
    let axes = spec.axes();
    let (outer, last) = axes.split_at(axes.len() - 1);
    let last = &last[0];
    let channels = isa.channels(spec.out_channels_per_group())?;
    let source = Source::of(spec);
    let output_plane: usize = axes.iter().map(Axis::output).product();
    let batch = spec.batch();
    let all_channels = batch * spec.in_channels();
    if (source.padded && all_channels * source.plane > STACK)
        || batch * output_plane * channels > STACK
    {
        return None;
    }
    // The block's rows: a sample and an output row, as an offset into the source.
    let outer_outputs: Vec<usize> = outer.iter().map(Axis::output).collect();
    let outer_steps = source.outer(spec, Axis::stride);
    let sample = spec.in_channels() * source.plane;
    let rows: Vec<usize> = (0..batch)
        .flat_map(|n| {
            offsets(&outer_outputs, &outer_steps)
                .into_iter()
                .map(move |offset| n * sample + offset)
        })
        .collect();
    let (row_count, rows) = (number(rows.len()), rows.into_iter().map(number));
    // The taps on the axes but the last: an offset into the source, and into a filter.
    let outer_taps: Vec<usize> = outer.iter().map(Axis::kernel).collect();
    let outer_reach = source.outer(spec, Axis::dilation);
    let tap_rows = offsets(&outer_taps, &outer_reach);
    let (tap_count, tap_rows) = (number(tap_rows.len()), tap_rows.into_iter().map(number));

    let taps: usize = axes.iter().map(Axis::kernel).product();
    let in_per_group = spec.in_channels_per_group();
    let filter = in_per_group * taps;
    let block = format_ident!("{}", isa.block);
    let (channels_literal, filter_literal) = (number(channels), number(filter));
    let (kernel, reach, stride) = (
        number(last.kernel()),
        number(last.dilation()),
        number(last.stride()),
    );
    let geometry = {
        let positions = number(last.output());
        quote!((#positions, #reach, #stride))
    };
    let taps_literal = number(taps);
    let store = by_blocks(last.kernel(), isa.row(channels), |size, first| {
        let size = number(size);
        quote! {
            let mut sums: [[T; #channels_literal]; #size] =
                ::core::array::from_fn(|_| ::core::array::from_fn(|_| T::zero()));
            T::#block::<#size, #channels_literal>(
                token, &mut sums, source, (&ROWS, shift + (#first) * #reach), #geometry, &packed,
            );
            for (m, sums) in sums.into_iter().enumerate() {
                for (c, sum) in sums.into_iter().enumerate() {
                    dw_block[c * #filter_literal + c_in * #taps_literal + tap_row * #kernel + #first + m] = sum;
                }
            }
        }
    });
    let (copy, whole) = if source.padded {
        (source.copy(spec, all_channels), quote!(&padded[..]))
    } else {
        (TokenStream::new(), quote!(&x[..]))
    };
    let (plane, output_plane_literal) = (number(source.plane), number(output_plane));
    let (output_sample, packed_len) = (
        number(spec.out_channels() * output_plane),
        number(batch * output_plane),
    );
    let (blocks_per_group, in_per_group) = (
        number(spec.out_channels_per_group() / channels),
        Literal::usize_suffixed(in_per_group),
    );
    let block_filters = number(channels * filter);
    Some(quote! {
        const ROWS: [usize; #row_count] = [#(#rows),*];
        const TAP_ROWS: [usize; #tap_count] = [#(#tap_rows),*];
        let x_sample: &[T] = x;
        #copy
        let source: &[T] = #whole;
        for (index, dw_block) in dw.chunks_exact_mut(#block_filters).enumerate() {
            let first = index * #channels_literal;
            // δ of the block's channels as vectors, one per sample and output position.
            let mut packed: [[T; #channels_literal]; #packed_len] =
                ::core::array::from_fn(|_| ::core::array::from_fn(|_| T::zero()));
            for (vectors, d_sample) in packed.chunks_exact_mut(#output_plane_literal).zip(dz.chunks_exact(#output_sample)) {
                for (c, d_plane) in d_sample[first * #output_plane_literal..].chunks_exact(#output_plane_literal).take(#channels_literal).enumerate() {
                    for (vector, d) in vectors.iter_mut().zip(d_plane) {
                        vector[c].clone_from(d);
                    }
                }
            }
            let group_channel = index / #blocks_per_group * #in_per_group;
            for c_in in 0..#in_per_group {
                for (tap_row, &tap_shift) in TAP_ROWS.iter().enumerate() {
                    let shift = (group_channel + c_in) * #plane + tap_shift;
                    #store
                }
            }
        }
    })
}
