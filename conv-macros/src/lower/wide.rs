//! Wide kernels: the AVX2 and AVX-512 builds of a loop kernel, beside the portable loops
//! of [`super::loops`]; `Scalar::run` picks one at run time. Each is made of one of
//! `convsym::simd`'s register blocks, whose sizes are chosen here per build:
//!
//! - [`forward`], [`grad_weight`]: `simd::block`, `MR` outputs (or taps) along a row times
//!   `CB` output channels, each input value broadcast into a vector over the channels;
//!   for groups with a multiple of 8 output channels.
//! - [`forward_rows`], [`grad_input`], [`grad_input_dual`]: `simd::rows`, runs along a
//!   row, each weight broadcast into a contiguous run of the input (or of δ).
//! - [`grad_weight_rows`]: `simd::dots`, partial sums of δ times the input along rows.
//!
//! Padding becomes real zeros in a local copy, so every block reads the same pattern; a
//! layer whose copies would not fit [`STACK`] keeps the portable build.

use conv_runtime::derive::Section;
use conv_runtime::{Axis, Spec};
use proc_macro2::{Ident, Literal, TokenStream};
use quote::{ToTokens, format_ident, quote};

/// The most elements a wide kernel keeps in one local array (a padded copy, packed
/// weights or δ): 64 KiB of `f32`.
const STACK: usize = 16_384;

/// The most phases (positions modulo the stride) the input gradient writes code for.
const MOST_PHASES: usize = 16;

/// The most sums along a row in one register block: enough independent additions to
/// keep both adders busy, few enough that every sum stays in a register.
const MOST_SUMS: usize = 8;

/// A build's vectors, for `f32`.
#[derive(Clone, Copy)]
struct Isa {
    /// `f32` lanes per vector.
    lanes: usize,
    /// Registers the sums may take, leaving the rest for operands.
    sums: usize,
}

/// Sixteen 32-byte registers.
const AVX2: Isa = Isa { lanes: 8, sums: 12 };
/// Thirty-two 64-byte registers.
const AVX512: Isa = Isa {
    lanes: 16,
    sums: 16,
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
        // Half-width vectors (AVX2's, in the AVX-512 build) leave room for twice as many.
        let most = if channels < self.lanes {
            2 * MOST_SUMS
        } else {
            MOST_SUMS
        };
        most.min(self.sums / channels.div_ceil(self.lanes))
    }
}

fn number(value: usize) -> Literal {
    Literal::usize_unsuffixed(value)
}

/// `a * 3 + b`: the sum of the variables times their factors, `* 1` left out; `0`
/// without variables.
fn linear(terms: &[(&Ident, usize)]) -> TokenStream {
    let terms: Vec<TokenStream> = terms
        .iter()
        .map(|&(variable, factor)| {
            if factor == 1 {
                quote!(#variable)
            } else {
                let factor = number(factor);
                quote!(#variable * #factor)
            }
        })
        .collect();
    if terms.is_empty() {
        quote!(0)
    } else {
        quote!(#(#terms)+*)
    }
}

/// `for v0 in 0..n0 { for v1 in 0..n1 { body } }`.
fn nest(
    variables: &[Ident],
    extents: impl DoubleEndedIterator<Item = usize> + ExactSizeIterator,
    body: TokenStream,
) -> TokenStream {
    variables
        .iter()
        .zip(extents)
        .rev()
        .fold(body, |body, (variable, extent)| {
            let extent = Literal::usize_suffixed(extent);
            quote!(for #variable in 0..#extent { #body })
        })
}

/// The product of `factors`, or `None` past `usize`.
fn product(factors: &[usize]) -> Option<usize> {
    factors
        .iter()
        .try_fold(1_usize, |product, &factor| product.checked_mul(factor))
}

/// Whether an array of `factors`' product elements fits [`STACK`].
fn fits(factors: &[usize]) -> bool {
    product(factors).is_some_and(|elements| elements <= STACK)
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
    /// Past 1, the copy's rows of the last axis are split by phase (position modulo
    /// the stride), each phase a row of `extent / phases`, so that outputs at the
    /// stride read contiguous runs.
    phases: usize,
}

impl Source {
    /// `None` where the copy's element count would not fit `usize` (a padded plane can
    /// outgrow the validated input's).
    fn of(spec: &Spec) -> Option<Self> {
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
        Some(Source {
            strides: strides(&extents),
            plane: product(&extents)?,
            extents,
            padded,
            phases: 1,
        })
    }

    /// A zero-padded copy whose rows reach as far as `outputs` outputs read, so that
    /// runs along a row may pass the last output; past stride 1, split by phase.
    fn with_runs(spec: &Spec, outputs: usize) -> Option<Self> {
        let mut source = Source::of(spec)?;
        let axes = spec.axes();
        let last = &axes[axes.len() - 1];
        let (stride, reach) = (last.stride(), (last.kernel() - 1) * last.dilation());
        source.phases = stride;
        if let Some(extent) = source.extents.last_mut() {
            *extent = outputs.checked_add(reach / stride)?.checked_mul(stride)?;
        }
        source.strides = strides(&source.extents);
        source.plane = product(&source.extents)?;
        source.padded = true;
        Some(source)
    }

    /// Where tap `tap` of the last axis reads, from where the output's window starts,
    /// along a row of the copy.
    fn tap(&self, axis: &Axis, tap: usize) -> usize {
        let reach = tap * axis.dilation();
        if self.phases == 1 {
            reach
        } else {
            let phase_length = self.extents[self.extents.len() - 1] / self.phases;
            reach % self.phases * phase_length + reach / self.phases
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
        let mut body = if self.phases == 1 {
            quote! {
                padded[#to + #pad..][..#len].clone_from_slice(&x_sample[#from..][..#len]);
            }
        } else {
            let extent = self.extents[axes.len() - 1];
            let (phases, phase_length) = (number(self.phases), number(extent / self.phases));
            let extent = number(extent);
            quote! {
                let row = &mut padded[#to..][..#extent];
                for (i, value) in x_sample[#from..][..#len].iter().enumerate() {
                    let at = i + #pad;
                    row[at % #phases * #phase_length + at / #phases].clone_from(value);
                }
            }
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
    let steps: Vec<_> = positions
        .iter()
        .zip(outer)
        .zip(&source.strides)
        .map(|((position, axis), stride)| (position, axis.stride() * stride))
        .collect();
    let starts: Vec<_> = positions.iter().zip(output_strides).collect();
    let (shift, start) = (linear(&steps), linear(&starts));
    let body = quote! {
        let shift = #shift;
        let row = #start;
        #body
    };
    nest(&positions, outer.iter().map(Axis::output), body)
}

/// A pass's AVX2 and AVX-512 bodies, the first kind of block that suits the layer in
/// each; `None` (the portable build alone) where none does, or for the bias gradient.
pub(super) fn builds(spec: &Spec, section: Section) -> Option<(TokenStream, TokenStream)> {
    let build = |isa| match section {
        Section::Forward => forward(spec, isa).or_else(|| forward_rows(spec, isa)),
        Section::GradInput => grad_input_dual(spec, isa).or_else(|| grad_input(spec, isa)),
        Section::GradWeight => grad_weight(spec, isa).or_else(|| grad_weight_rows(spec, isa)),
        Section::GradBias => None,
    };
    build(AVX2).zip(build(AVX512))
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
fn forward(spec: &Spec, isa: Isa) -> Option<TokenStream> {
    let axes = spec.axes();
    let out_per_group = spec.out_channels_per_group();
    let in_per_group = spec.in_channels_per_group();
    let channels = isa.channels(out_per_group)?;
    let source = Source::of(spec)?;
    let (outer, last) = axes.split_at(axes.len() - 1);
    let last = &last[0];
    let taps: usize = axes.iter().map(Axis::kernel).product();
    let filter = in_per_group * taps;
    if (source.padded && !fits(&[spec.in_channels(), source.plane])) || !fits(&[filter, channels]) {
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
    let call = |size: usize, first: TokenStream| {
        let size = number(size);
        let stride = number(last.stride());
        quote! {
            let mut sums: [[T; #channels_literal]; #size] = ::core::array::from_fn(|_| start.clone());
            T::block::<_, #size, #channels_literal>(
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
                for (tap, vector) in packed.iter_mut().enumerate() {
                    for (c, weight) in vector.iter_mut().enumerate() {
                        weight.clone_from(&w_block[c * #filter + tap]);
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
fn grad_weight(spec: &Spec, isa: Isa) -> Option<TokenStream> {
    let axes = spec.axes();
    let (outer, last) = axes.split_at(axes.len() - 1);
    let last = &last[0];
    let channels = isa.channels(spec.out_channels_per_group())?;
    let source = Source::of(spec)?;
    let output_plane: usize = axes.iter().map(Axis::output).product();
    let batch = spec.batch();
    let all_channels = batch * spec.in_channels();
    // `TAP_ROWS` holds an offset per tap of the axes but the last, which nothing else
    // bounds when the input is not copied.
    let outer_taps: Vec<usize> = outer.iter().map(Axis::kernel).collect();
    if (source.padded && !fits(&[all_channels, source.plane]))
        || !fits(&[batch, output_plane, channels])
        || !fits(&outer_taps)
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
    let outer_reach = source.outer(spec, Axis::dilation);
    let tap_rows = offsets(&outer_taps, &outer_reach);
    let (tap_count, tap_rows) = (number(tap_rows.len()), tap_rows.into_iter().map(number));

    let taps: usize = axes.iter().map(Axis::kernel).product();
    let in_per_group = spec.in_channels_per_group();
    let filter = in_per_group * taps;
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
            T::block::<_, #size, #channels_literal>(
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
                let d_block = &d_sample[first * #output_plane_literal..][..#channels_literal * #output_plane_literal];
                for (p, vector) in vectors.iter_mut().enumerate() {
                    for (c, value) in vector.iter_mut().enumerate() {
                        value.clone_from(&d_block[c * #output_plane_literal + p]);
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

/// One phase of the last axis in the input gradient: the inputs `phase + s·j`, and the
/// taps that reach them, each with the offset of the δ it reads for `j = 0` in a row of
/// padded δ.
struct Phase {
    /// The first input, and the phase's number.
    first: usize,
    /// Inputs in the phase.
    inputs: usize,
    /// `(tap, offset)`, taps ascending.
    taps: Vec<(usize, usize)>,
}

/// The last axis's phases, the zeros padded δ needs before a row, and its row length
/// when rows are read in runs of `run` inputs; `None` where a row would not fit `usize`.
/// In `i128`, where no sum or product of these sizes overflows.
fn phases(axis: &Axis, run: usize) -> Option<(Vec<Phase>, usize, usize)> {
    let wide = |value: usize| value as i128;
    let (stride, pad) = (wide(axis.stride()), wide(axis.pad_before()));
    let reach = wide(axis.kernel() - 1) * wide(axis.dilation());
    // δ index `(i + pad − q·d) / s` is at least `⌊(pad − reach) / s⌋` for `i ≥ 0`.
    let before = (-(pad - reach).div_euclid(stride)).max(0);
    let mut length = before + wide(axis.output());
    let mut phases = Vec::new();
    for phase in 0..axis.stride().min(axis.input()) {
        let inputs = (axis.input() - phase).div_ceil(axis.stride());
        let read = wide(inputs.div_ceil(run)) * wide(run);
        let mut taps = Vec::new();
        for tap in 0..axis.kernel() {
            let reached = wide(phase) + pad - wide(tap) * wide(axis.dilation());
            if reached.rem_euclid(stride) == 0 {
                let offset = reached.div_euclid(stride) + before;
                length = length.max(offset + read);
                taps.push((tap, usize::try_from(offset).ok()?));
            }
        }
        phases.push(Phase {
            first: phase,
            inputs,
            taps,
        });
    }
    Some((
        phases,
        usize::try_from(before).ok()?,
        usize::try_from(length).ok()?,
    ))
}

/// How the input gradient's register blocks are laid out: `sums` runs of `run` inputs,
/// over a block of input channels (`channels`) or, with one channel, along a row.
struct Runs {
    sums: usize,
    run: usize,
    channels: bool,
}

impl Runs {
    /// Blocks for `channels` channels per group and rows of at most `length` sums.
    fn of(channels: usize, length: usize, isa: Isa) -> Option<Self> {
        let (in_per_group, most_inputs) = (channels, length);
        if in_per_group == 1 {
            let sums = most_inputs.div_ceil(isa.lanes).clamp(1, MOST_SUMS);
            return Some(Runs {
                sums,
                run: isa.lanes,
                channels: false,
            });
        }
        let vectors = most_inputs.div_ceil(isa.lanes).min(2);
        let sums = (1..=in_per_group.min(MOST_SUMS))
            .rev()
            .find(|block| in_per_group.is_multiple_of(*block) && block * vectors <= isa.sums)?;
        Some(Runs {
            sums,
            run: isa.lanes * vectors,
            channels: true,
        })
    }

    /// The block's steps (`convsym::simd::Steps`): from one channel to the next, or from one
    /// run to the next.
    fn steps(&self) -> TokenStream {
        if self.channels {
            quote!((0, 1))
        } else {
            let run = number(self.run);
            quote!((#run, 0))
        }
    }

    /// `for c0 in …`: `first`, the first channel of each block.
    fn channel_loop(&self, channels: usize, first: &str) -> TokenStream {
        let first = format_ident!("{first}");
        if self.channels && channels > self.sums {
            let (end, sums) = (number(channels), number(self.sums));
            quote!(for #first in (0..#end).step_by(#sums))
        } else {
            quote!(for #first in [0])
        }
    }

    /// The inputs along a row one block covers.
    fn span(&self) -> usize {
        if self.channels {
            self.run
        } else {
            self.run * self.sums
        }
    }
}

/// The outer axes of the input gradient: for input row `i…`, each tap `q…` that reaches
/// it from an output row `p…`, or `continue`; and the flat indices of the tap, the
/// output row and the input row.
fn reaching(outer: &[Axis]) -> (Vec<Ident>, Vec<Ident>, TokenStream, [TokenStream; 3]) {
    let name = |prefix: &str| -> Vec<Ident> {
        (0..outer.len())
            .map(|index| format_ident!("{prefix}{index}"))
            .collect()
    };
    let (inputs, taps, positions) = (name("i"), name("q"), name("p"));
    let flat_strides =
        |size: fn(&Axis) -> usize| strides(&outer.iter().map(size).collect::<Vec<_>>());
    let (kernel, output, input) = (
        flat_strides(Axis::kernel),
        flat_strides(Axis::output),
        flat_strides(Axis::input),
    );
    let mut checks = TokenStream::new();
    for (index, axis) in outer.iter().enumerate() {
        let (i, q, p) = (&inputs[index], &taps[index], &positions[index]);
        let (pad, extent) = (number(axis.pad_before()), number(axis.output()));
        let reach = linear(&[(q, axis.dilation())]);
        let divide = (axis.stride() > 1).then(|| {
            let stride = number(axis.stride());
            quote!(.filter(|reach| reach % #stride == 0).map(|reach| reach / #stride))
        });
        checks.extend(quote! {
            let Some(#p) = (#i + #pad)
                .checked_sub(#reach)
                #divide
                .filter(|&p| p < #extent)
            else {
                continue;
            };
        });
    }
    let flat = |variables: &[Ident], strides: &[usize]| {
        linear(
            &variables
                .iter()
                .zip(strides.iter().copied())
                .collect::<Vec<_>>(),
        )
    };
    let flat = [
        flat(&taps, &kernel),
        flat(&positions, &output),
        flat(&inputs, &input),
    ];
    (inputs, taps, checks, flat)
}

/// The statements that pack a group's weights `w_group` for the phase whose taps are
/// `reach` into `packed`, as `[outer tap][o][tap of the phase][c]`.
fn pack_phase(spec: &Spec, reach: &[(usize, usize)], packed: &Ident) -> TokenStream {
    let axes = spec.axes();
    let last = &axes[axes.len() - 1];
    let taps: usize = axes.iter().map(Axis::kernel).product();
    let in_per_group = spec.in_channels_per_group();
    let outer_taps = number(taps / last.kernel());
    let len =
        number(taps / last.kernel() * spec.out_channels_per_group() * reach.len() * in_per_group);
    let tap_list = reach.iter().map(|&(tap, _)| number(tap));
    let (kernel, filter, per_channel, channels) = (
        number(last.kernel()),
        number(in_per_group * taps),
        number(taps),
        number(in_per_group),
    );
    quote! {
        let mut #packed: [T; #len] = ::core::array::from_fn(|_| T::zero());
        let mut values = #packed.iter_mut();
        for outer_tap in 0..#outer_taps {
            for filter in w_group.chunks_exact(#filter) {
                for tap in [#(#tap_list),*] {
                    for c in 0..#channels {
                        if let Some(value) = values.next() {
                            value.clone_from(&filter[c * #per_channel + outer_tap * #kernel + tap]);
                        }
                    }
                }
            }
        }
    }
}

/// The statements that store a block's `sums` for the inputs `phase + s·(j0 + l)` of the
/// row at `row_start`, the first `count` of the phase.
fn store_phase(
    runs: &Runs,
    (phase, count): (usize, Literal),
    (input_plane, last_input, last_stride): (&Literal, &Literal, &Literal),
) -> TokenStream {
    let phase = number(phase);
    if runs.channels {
        quote! {
            for (m, sums) in sums.iter().enumerate() {
                let dx_row = &mut dx_group[(c0 + m) * #input_plane + row_start..][..#last_input];
                for (l, sum) in sums.iter().enumerate().take(#count - j0.min(#count)) {
                    dx_row[#phase + #last_stride * (j0 + l)].clone_from(sum);
                }
            }
        }
    } else {
        quote! {
            let dx_row = &mut dx_group[row_start..][..#last_input];
            for (l, sum) in sums.iter().flatten().enumerate().take(#count - j0.min(#count)) {
                dx_row[#phase + #last_stride * (j0 + l)].clone_from(sum);
            }
        }
    }
}

/// `grad_input_into`'s wide body for `isa`, when the layer suits it. For each input row
/// and each phase of the last axis (position modulo the stride), runs of inputs are
/// summed in `convsym::simd::rows` blocks over the output channels and the taps that
/// reach the phase, from a copy of δ padded along the last axis with zeros wherever no
/// output reads: no tap ever multiplies a dilated δ's inserted zeros.
fn grad_input(spec: &Spec, isa: Isa) -> Option<TokenStream> {
    let axes = spec.axes();
    let (outer, last) = axes.split_at(axes.len() - 1);
    let last = &last[0];
    let (in_per_group, out_per_group) =
        (spec.in_channels_per_group(), spec.out_channels_per_group());
    // δ is copied whole, and each phase of the stride is a block of code: a layer with
    // too large a δ or too many phases keeps the portable build.
    let output_plane = axes.iter().map(Axis::output).product::<usize>();
    if last.stride() > MOST_PHASES || !fits(&[out_per_group, output_plane]) {
        return None;
    }
    let runs = Runs::of(in_per_group, last.input().div_ceil(last.stride()), isa)?;
    let (phases, before, length) = phases(last, runs.span())?;
    let outer_outputs: usize = outer.iter().map(Axis::output).product();
    let taps: usize = axes.iter().map(Axis::kernel).product();
    let row_plane = outer_outputs.checked_mul(length)?;
    if !fits(&[out_per_group, row_plane]) || !fits(&[out_per_group, in_per_group, taps]) {
        return None;
    }
    let (inputs, tap_names, checks, [tap_flat, row_flat, input_flat]) = reaching(outer);
    let (sums, run) = (number(runs.sums), number(runs.run));
    let steps = runs.steps();
    let input_plane = number(axes.iter().map(Axis::input).product::<usize>());
    let (last_input, last_stride, length_literal) =
        (number(last.input()), number(last.stride()), number(length));

    let mut constants = TokenStream::new();
    let mut packs = TokenStream::new();
    let mut bodies = TokenStream::new();
    for Phase {
        first: phase,
        inputs: count,
        taps: reach,
    } in &phases
    {
        let count = number(*count);
        if reach.is_empty() {
            bodies.extend(unreached(spec, *phase));
            continue;
        }
        let (rows_name, packed) = (
            format_ident!("PHASE_{phase}"),
            format_ident!("packed_{phase}"),
        );
        let rows: Vec<usize> = (0..out_per_group)
            .flat_map(|o| reach.iter().map(move |&(_, offset)| o * row_plane + offset))
            .collect();
        let (rows_count, rows) = (number(rows.len()), rows.into_iter().map(number));
        constants.extend(quote!(const #rows_name: [usize; #rows_count] = [#(#rows),*];));
        let width = out_per_group * reach.len() * in_per_group;
        packs.extend(pack_phase(spec, reach, &packed));
        let (width, channels) = (number(width), number(in_per_group));
        let store = store_phase(
            &runs,
            (*phase, count.clone()),
            (&input_plane, &last_input, &last_stride),
        );
        let mut tap_nest = quote! {
            #checks
            T::rows::<_, #sums, #run>(
                token,
                &mut sums,
                &padded,
                (&#rows_name, (#row_flat) * #length_literal + j0),
                #steps,
                (&#packed[(#tap_flat) * #width + c0..], #channels),
            );
        };
        tap_nest = nest(&tap_names, outer.iter().map(Axis::kernel), tap_nest);
        let span = number(runs.span());
        let channel_loop = runs.channel_loop(in_per_group, "c0");
        bodies.extend(quote! {
            for j0 in (0..#count).step_by(#span) {
                #channel_loop {
                    let mut sums: [[T; #run]; #sums] =
                        ::core::array::from_fn(|_| ::core::array::from_fn(|_| T::zero()));
                    #tap_nest
                    #store
                }
            }
        });
    }
    let mut rows_nest = quote! {
        let row_start = (#input_flat) * #last_input;
        #bodies
    };
    rows_nest = nest(&inputs, outer.iter().map(Axis::input), rows_nest);
    Some(frame(
        spec,
        (before, length),
        &constants,
        &packs,
        &rows_nest,
    ))
}

/// The statements that fill `packed` with a group's filters `w_group` as `[c][tap][o]`;
/// with `flipped`, from the filters of the layer whose dual this is.
fn pack_filters(spec: &Spec, flipped: bool) -> TokenStream {
    let taps: usize = spec.axes().iter().map(Axis::kernel).product();
    let out_per_group = spec.out_channels_per_group();
    let out_per_group_literal = number(out_per_group);
    let filter = number(spec.in_channels_per_group() * taps);
    if flipped {
        // The layer's filter `(c, o)` (here `o` counts its input channels) at tap `q` is
        // this one's `(o, c)` at the flipped tap `taps − 1 − q`.
        let channel = if out_per_group == 1 {
            quote!(let (c, o) = (filter, 0);)
        } else {
            quote!(let (c, o) = (filter / #out_per_group_literal, filter % #out_per_group_literal);)
        };
        let taps_literal = number(taps);
        quote! {
            for (filter, weights) in w_group.chunks_exact(#taps_literal).enumerate() {
                #channel
                for (q, weight) in weights.iter().enumerate() {
                    packed[(c * #taps_literal + #taps_literal - 1 - q) * #out_per_group_literal + o]
                        .clone_from(weight);
                }
            }
        }
    } else {
        quote! {
            for (o, filter) in w_group.chunks_exact(#filter).enumerate() {
                for (r, weight) in filter.iter().enumerate() {
                    packed[r * #out_per_group_literal + o].clone_from(weight);
                }
            }
        }
    }
}

/// `grad_input_into`'s wide body for `isa` at stride 1 with one input channel per group,
/// where the phases' blocks hold too few sums: the input gradient is the forward pass of
/// a dual layer, δ padded by `(k − 1)·d − pad` on each side and correlated with the
/// flipped kernel, input and output channels swapped ([`forward_rows`]).
fn grad_input_dual(spec: &Spec, isa: Isa) -> Option<TokenStream> {
    if spec.in_channels_per_group() != 1 {
        return None;
    }
    let mut ins = Vec::new();
    let mut kernels = Vec::new();
    let mut dilations = Vec::new();
    let mut pads = Vec::new();
    for axis in spec.axes() {
        let reach = (axis.kernel() - 1) * axis.dilation();
        if axis.stride() != 1 || axis.pad_before() > reach || axis.pad_after() > reach {
            return None;
        }
        ins.push(axis.output().to_string());
        kernels.push(axis.kernel().to_string());
        dilations.push(axis.dilation().to_string());
        pads.push(format!(
            "({}, {})",
            reach - axis.pad_before(),
            reach - axis.pad_after()
        ));
    }
    let dual = format!(
        "in=({},) k=({},) dilation=({},) pad=({},) cin={} cout={} groups={} batch={}",
        ins.join(", "),
        kernels.join(", "),
        dilations.join(", "),
        pads.join(", "),
        spec.out_channels(),
        spec.in_channels(),
        spec.groups(),
        spec.batch(),
    );
    let dual = Spec::parse(&dual).ok()?;
    let body = forward_rows_of(&dual, isa, true)?;
    Some(quote! {
        let (x, z) = (dz, dx);
        #body
    })
}

/// The statements that zero the inputs of a phase that no tap reaches, in the row at
/// `row_start` of every channel of the group.
fn unreached(spec: &Spec, phase: usize) -> TokenStream {
    let axes = spec.axes();
    let last = &axes[axes.len() - 1];
    let (channels, phase) = (number(spec.in_channels_per_group()), number(phase));
    let input_plane = number(axes.iter().map(Axis::input).product::<usize>());
    let (last_input, last_stride) = (number(last.input()), number(last.stride()));
    quote! {
        for c in 0..#channels {
            let dx_row = &mut dx_group[c * #input_plane + row_start..][..#last_input];
            for dx in dx_row.iter_mut().skip(#phase).step_by(#last_stride) {
                *dx = T::zero();
            }
        }
    }
}

/// The input gradient's groups and samples around `rows_nest`, with padded δ.
fn frame(
    spec: &Spec,
    (before, length): (usize, usize),
    constants: &TokenStream,
    packs: &TokenStream,
    rows_nest: &TokenStream,
) -> TokenStream {
    let axes = spec.axes();
    let last = &axes[axes.len() - 1];
    let (in_per_group, out_per_group) =
        (spec.in_channels_per_group(), spec.out_channels_per_group());
    let taps: usize = axes.iter().map(Axis::kernel).product();
    let length_literal = number(length);
    let row_plane = axes[..axes.len() - 1]
        .iter()
        .map(Axis::output)
        .product::<usize>()
        * length;
    let output_plane = axes.iter().map(Axis::output).product::<usize>();
    let (input_sample, output_sample, input_group, output_group, weight_group) = (
        number(spec.in_channels() * axes.iter().map(Axis::input).product::<usize>()),
        number(spec.out_channels() * output_plane),
        number(in_per_group * axes.iter().map(Axis::input).product::<usize>()),
        number(out_per_group * output_plane),
        number(out_per_group * in_per_group * taps),
    );
    let (padded_len, before, last_output) = (
        number(out_per_group * row_plane),
        number(before),
        number(last.output()),
    );
    quote! {
        #constants
        for (group, w_group) in w.chunks_exact(#weight_group).enumerate() {
            #packs
            let samples = dx.chunks_exact_mut(#input_sample).zip(dz.chunks_exact(#output_sample));
            for (dx_sample, d_sample) in samples {
                let dx_group = &mut dx_sample[group * #input_group..][..#input_group];
                let d_group = &d_sample[group * #output_group..][..#output_group];
                // δ with zeros before and after each row of the last axis.
                let mut padded: [T; #padded_len] = ::core::array::from_fn(|_| T::zero());
                for (row, d_row) in padded.chunks_exact_mut(#length_literal).zip(d_group.chunks_exact(#last_output)) {
                    row[#before..][..#last_output].clone_from_slice(d_row);
                }
                #rows_nest
            }
        }
    }
}

/// The statements that store a forward block's `sums` into the output row at `row`,
/// from output `j0` on.
fn store_outputs(spec: &Spec, runs: &Runs) -> TokenStream {
    let axes = spec.axes();
    let last_output = number(axes[axes.len() - 1].output());
    let output_plane = number(axes.iter().map(Axis::output).product::<usize>());
    if runs.channels {
        quote! {
            for (m, sums) in sums.iter().enumerate() {
                let z_row = &mut z_group[(o0 + m) * #output_plane + row..][..#last_output];
                for (z, sum) in z_row[j0..].iter_mut().zip(sums) {
                    z.clone_from(sum);
                }
            }
        }
    } else {
        quote! {
            let z_row = &mut z_group[row..][..#last_output];
            for (z, sum) in z_row[j0..].iter_mut().zip(sums.iter().flatten()) {
                z.clone_from(sum);
            }
        }
    }
}

/// A forward `convsym::simd::rows` block over several output rows of one channel: `m`
/// runs over neighbouring rows along the last axis but one, each a run long enough for a
/// whole row, so that a weight broadcast once serves them all. For one output channel per
/// group (depthwise layers), where a block over one row would hold one or two sums.
struct Stacked {
    /// Rows per block.
    rows: usize,
    /// Sums per row: the row's length in whole vectors.
    run: usize,
}

impl Stacked {
    fn of(spec: &Spec, isa: Isa) -> Option<Self> {
        let axes = spec.axes();
        let (outer, last) = axes.split_at(axes.len() - 1);
        let vectors = last[0].output().div_ceil(isa.lanes);
        (spec.out_channels_per_group() == 1 && !outer.is_empty() && vectors <= 4).then(|| Stacked {
            rows: MOST_SUMS.min(isa.sums / vectors),
            run: vectors * isa.lanes,
        })
    }

    /// The loops over the output rows, in blocks of rows along the last axis but one.
    fn positions(&self, spec: &Spec, source: &Source) -> TokenStream {
        let axes = spec.axes();
        let (outer, last) = axes.split_at(axes.len() - 1);
        let (stacked, rest) = outer
            .split_last()
            .unwrap_or_else(|| unreachable!("`of` checked"));
        let step = stacked.stride() * source.strides[rest.len()];
        let last_output = last[0].output();
        let (run, step_literal, width) = (number(self.run), number(step), number(last_output));
        let start = if spec.bias() {
            quote!(b_group[0].clone())
        } else {
            quote!(T::zero())
        };
        let block = by_blocks(stacked.output(), self.rows, |size, first| {
            let size = number(size);
            quote! {
                let mut sums: [[T; #run]; #size] =
                    ::core::array::from_fn(|_| ::core::array::from_fn(|_| #start));
                T::rows::<_, #size, #run>(
                    token,
                    &mut sums,
                    &padded,
                    (&ROWS, shift + (#first) * #step_literal),
                    (#step_literal, 0),
                    (&packed, 1),
                );
                for (m, sums) in sums.iter().enumerate() {
                    let z_row = &mut z_group[row + ((#first) + m) * #width..][..#width];
                    z_row.clone_from_slice(&sums[..#width]);
                }
            }
        });
        // The rows of the axes before the stacked one.
        let positions: Vec<Ident> = (0..rest.len())
            .map(|index| format_ident!("p{index}"))
            .collect();
        let output_strides = strides(&outer.iter().map(Axis::output).collect::<Vec<_>>());
        let steps: Vec<_> = positions
            .iter()
            .zip(rest)
            .zip(&source.strides)
            .map(|((position, axis), stride)| (position, axis.stride() * stride))
            .collect();
        let starts: Vec<_> = positions
            .iter()
            .zip(output_strides.iter().map(|stride| stride * last_output))
            .collect();
        let (shift, start) = (linear(&steps), linear(&starts));
        let body = quote! {
            let shift = #shift;
            let row = #start;
            #block
        };
        nest(&positions, rest.iter().map(Axis::output), body)
    }
}

/// `forward_into`'s wide body for `isa` when the channel block does not suit the layer
/// and the last axis has stride 1: `convsym::simd::rows` blocks over runs of outputs
/// along a row, one weight broadcast into a contiguous run of the input, `m` over a block
/// of output channels or, with one per group, over neighbouring runs of the row.
fn forward_rows(spec: &Spec, isa: Isa) -> Option<TokenStream> {
    forward_rows_of(spec, isa, false)
}

/// [`forward_rows`], or with `flipped` the same for the input gradient's dual layer
/// ([`grad_input_dual`]), whose weights are the layer's, flipped and transposed.
fn forward_rows_of(spec: &Spec, isa: Isa, flipped: bool) -> Option<TokenStream> {
    let axes = spec.axes();
    let (outer, last) = axes.split_at(axes.len() - 1);
    let last = &last[0];
    let (in_per_group, out_per_group) =
        (spec.in_channels_per_group(), spec.out_channels_per_group());
    if isa.channels(out_per_group).is_some() {
        return None;
    }
    let runs = Runs::of(out_per_group, last.output(), isa)?;
    let stacked = Stacked::of(spec, isa);
    let span = stacked.as_ref().map_or(runs.span(), |stacked| stacked.run);
    // A zero-padded copy of the group's input, each row long enough for whole runs.
    let source = Source::with_runs(spec, last.output().div_ceil(span).checked_mul(span)?)?;
    let taps: usize = axes.iter().map(Axis::kernel).product();
    if !fits(&[spec.in_channels(), source.plane]) || !fits(&[in_per_group, taps, out_per_group]) {
        return None;
    }
    let outer_taps: Vec<usize> = outer.iter().map(Axis::kernel).collect();
    let outer_reach = source.outer(spec, Axis::dilation);
    let last_taps: Vec<usize> = (0..last.kernel())
        .map(|tap| source.tap(last, tap))
        .collect();
    let outer_offsets = offsets(&outer_taps, &outer_reach);
    let mut rows = Vec::with_capacity(in_per_group * outer_offsets.len() * last_taps.len());
    for channel in 0..in_per_group {
        for offset in &outer_offsets {
            rows.extend(
                last_taps
                    .iter()
                    .map(|tap| channel * source.plane + offset + tap),
            );
        }
    }
    let (row_count, rows) = (number(rows.len()), rows.into_iter().map(number));
    let (sums, run, steps) = (number(runs.sums), number(runs.run), runs.steps());
    let (span_literal, last_output, out_per_group_literal) =
        (number(span), number(last.output()), number(out_per_group));
    let start = match (spec.bias(), runs.channels) {
        (false, _) => quote!(|_| ::core::array::from_fn(|_| T::zero())),
        (true, true) => quote!(|m| ::core::array::from_fn(|_| b_group[o0 + m].clone())),
        (true, false) => quote!(|_| ::core::array::from_fn(|_| b_group[0].clone())),
    };
    let positions = if let Some(rows_mode) = stacked {
        rows_mode.positions(spec, &source)
    } else {
        let store = store_outputs(spec, &runs);
        let channel_loop = runs.channel_loop(out_per_group, "o0");
        let body = quote! {
            for j0 in (0..#last_output).step_by(#span_literal) {
                #channel_loop {
                    let mut sums: [[T; #run]; #sums] = ::core::array::from_fn(#start);
                    T::rows::<_, #sums, #run>(
                        token,
                        &mut sums,
                        &padded,
                        (&ROWS, shift + j0),
                        #steps,
                        (&packed[o0..], #out_per_group_literal),
                    );
                    #store
                }
            }
        };
        rows_of_outputs(spec, &source, &body)
    };
    let copy = source.copy(spec, spec.in_channels());
    let source_group = number(in_per_group * source.plane);
    let output_group = number(out_per_group * axes.iter().map(Axis::output).product::<usize>());
    let packed_len = number(in_per_group * taps * out_per_group);
    let groups = spec.groups();
    let bias_group = spec.bias().then(|| {
        quote! {
            let b_group = &b[group * #out_per_group_literal..][..#out_per_group_literal];
        }
    });
    let (input_sample, output_sample) = (
        number(spec.in_channels() * axes.iter().map(Axis::input).product::<usize>()),
        number(spec.out_channels() * axes.iter().map(Axis::output).product::<usize>()),
    );
    let pack = pack_filters(spec, flipped);
    Some(quote! {
        const ROWS: [usize; #row_count] = [#(#rows),*];
        let samples = x.chunks_exact(#input_sample).zip(z.chunks_exact_mut(#output_sample));
        for (x_sample, z_sample) in samples {
            // Every channel at once: a block that read a row just copied would wait for it.
            #copy
            let whole = &padded;
            for (group, w_group) in w.chunks_exact(#packed_len).enumerate().take(#groups) {
                #bias_group
                // The group's filters, `[c][tap][o]`: a row's weights for a block of channels.
                let mut packed: [T; #packed_len] = ::core::array::from_fn(|_| T::zero());
                #pack
                let padded = &whole[group * #source_group..][..#source_group];
                let z_group = &mut z_sample[group * #output_group..][..#output_group];
                #positions
            }
        }
    })
}

/// How `grad_weight_rows` lays out its `convsym::simd::dots` blocks.
struct Dots {
    /// The run: one or two AVX2 vectors.
    lanes: usize,
    /// Runs per row.
    runs: usize,
    /// Taps of the last axis per block.
    taps_block: usize,
    /// Output channels per block, or the taps of the axis before the last when stacked.
    channels_block: usize,
    /// Whether the blocks stack the taps of the axis before the last (one output channel
    /// per group) rather than output channels.
    stacked: bool,
    source: Source,
    /// A channel's δ, rows padded to whole runs.
    delta_plane: usize,
}

impl Dots {
    fn of(spec: &Spec, isa: Isa) -> Option<Self> {
        let axes = spec.axes();
        let (outer, last) = axes.split_at(axes.len() - 1);
        let last = &last[0];
        if last.stride() != 1 || isa.channels(spec.out_channels_per_group()).is_some() {
            return None;
        }
        // The run (one or two AVX2 vectors) that wastes the fewest lanes past the end of a
        // row, the longer on a tie: the same in both builds, so that they add in one order.
        let lanes = [2 * AVX2.lanes, AVX2.lanes]
            .into_iter()
            .min_by_key(|&lanes| last.output().div_ceil(lanes) * lanes)?;
        // Sums: a block of taps of the last axis, times a block of output channels that
        // share the input channel or, with one output channel per group, the taps of the
        // axis before the last.
        let vectors = lanes.div_ceil(isa.lanes);
        let taps_block = last.kernel().min(MOST_SUMS).min(isa.sums / vectors);
        let stacked = outer.last().filter(|before| {
            spec.out_channels_per_group() == 1 && before.kernel() * taps_block * vectors <= isa.sums
        });
        let channels_block = match stacked {
            Some(before) => before.kernel(),
            None => (1..=spec.out_channels_per_group())
                .rev()
                .find(|block| {
                    spec.out_channels_per_group().is_multiple_of(*block)
                        && block * taps_block * vectors <= isa.sums
                })
                .unwrap_or(1),
        };
        let runs = last.output().div_ceil(lanes);
        let source = Source::with_runs(spec, runs.checked_mul(lanes)?)?;
        let delta_plane = outer
            .iter()
            .map(Axis::output)
            .product::<usize>()
            .checked_mul(runs * lanes)?;
        let batch = spec.batch();
        let fits = fits(&[batch, spec.in_channels(), source.plane])
            && fits(&[batch, spec.out_channels(), delta_plane]);
        fits.then_some(Dots {
            lanes,
            runs,
            taps_block,
            channels_block,
            stacked: stacked.is_some(),
            source,
            delta_plane,
        })
    }

    /// `A_ROWS`, `B_ROWS`: a sample and an output row in δ and in the input; `TAP_ROWS`:
    /// the taps on the axes but the last (but the stacked one), as offsets in the input.
    fn constants(&self, spec: &Spec) -> TokenStream {
        let axes = spec.axes();
        let outer = &axes[..axes.len() - 1];
        let outer_outputs: Vec<usize> = outer.iter().map(Axis::output).collect();
        let delta_rows = offsets(&outer_outputs, &strides(&outer_outputs))
            .into_iter()
            .map(|row| row * self.runs * self.lanes)
            .collect::<Vec<_>>();
        let input_rows = offsets(&outer_outputs, &self.source.outer(spec, Axis::stride));
        let per_sample = |rows: &[usize], sample: usize| -> Vec<Literal> {
            (0..spec.batch())
                .flat_map(|n| rows.iter().map(move |row| number(n * sample + row)))
                .collect()
        };
        let a_rows = per_sample(&delta_rows, spec.out_channels() * self.delta_plane);
        let b_rows = per_sample(&input_rows, spec.in_channels() * self.source.plane);
        let row_count = number(a_rows.len());
        let looped = outer.len() - usize::from(self.stacked);
        let outer_taps: Vec<usize> = outer[..looped].iter().map(Axis::kernel).collect();
        let outer_reach = self.source.outer(spec, Axis::dilation);
        let tap_rows: Vec<Literal> = offsets(&outer_taps, &outer_reach[..looped])
            .into_iter()
            .map(number)
            .collect();
        let tap_count = number(tap_rows.len());
        quote! {
            const A_ROWS: [usize; #row_count] = [#(#a_rows),*];
            const B_ROWS: [usize; #row_count] = [#(#b_rows),*];
            const TAP_ROWS: [usize; #tap_count] = [#(#tap_rows),*];
        }
    }

    /// The blocks of one input channel, block of output channels and row of taps, and
    /// the stores of their sums into `dw`.
    fn blocks(&self, spec: &Spec) -> TokenStream {
        let axes = spec.axes();
        let last = &axes[axes.len() - 1];
        let (lanes, runs) = (number(self.lanes), number(self.runs));
        let (reach, kernel) = (number(last.dilation()), number(last.kernel()));
        let (delta_plane, plane) = (number(self.delta_plane), number(self.source.plane));
        let (block_literal, taps) = (
            number(self.channels_block),
            number(axes.iter().map(Axis::kernel).product::<usize>()),
        );
        let (a_step, b_step) = if self.stacked {
            let outer_reach = self.source.outer(spec, Axis::dilation);
            (0, outer_reach[axes.len() - 2])
        } else {
            (self.delta_plane, 0)
        };
        let (a_step, b_step) = (number(a_step), number(b_step));
        let filter_channel = if self.stacked {
            quote!(o)
        } else {
            quote!(o + block)
        };
        let filter_index = if spec.in_channels_per_group() == 1 {
            filter_channel
        } else {
            let in_per_group = number(spec.in_channels_per_group());
            quote!((#filter_channel) * #in_per_group + c)
        };
        let tap_index = if self.stacked {
            quote!((tap_row * #block_literal + block) * #kernel)
        } else {
            quote!(tap_row * #kernel)
        };
        by_blocks(last.kernel(), self.taps_block, |size, first| {
            let size = number(size);
            quote! {
                let mut sums: [[[T; #lanes]; #size]; #block_literal] = ::core::array::from_fn(|_| {
                    ::core::array::from_fn(|_| ::core::array::from_fn(|_| T::zero()))
                });
                T::dots::<_, #block_literal, #size, #lanes>(
                    token,
                    &mut sums,
                    (&delta, &A_ROWS, o * #delta_plane),
                    (&padded, &B_ROWS, x_channel * #plane + tap_shift + (#first) * #reach),
                    (#runs, #reach, #a_step, #b_step),
                );
                for (block, sums) in sums.into_iter().enumerate() {
                    let filter = &mut dw[(#filter_index) * #taps..][..#taps];
                    for (dw, lanes) in filter[#tap_index + #first..].iter_mut().zip(sums) {
                        *dw = T::zero();
                        for lane in lanes {
                            dw.accumulate(&lane);
                        }
                    }
                }
            }
        })
    }
}

/// `grad_weight_into`'s wide body for `isa` when the channel block does not suit the
/// layer and the last axis has stride 1: each weight's gradient as `convsym::simd::dots`
/// partial sums of δ times the input along rows, a block of taps of the last axis at a
/// time, over every sample and output row. δ and the input are copied with zeros past
/// the ends of their rows so that every run is whole.
fn grad_weight_rows(spec: &Spec, isa: Isa) -> Option<TokenStream> {
    let dots = Dots::of(spec, isa)?;
    let constants = dots.constants(spec);
    let blocks = dots.blocks(spec);
    let copy = dots.source.copy(spec, spec.batch() * spec.in_channels());
    let last = &spec.axes()[spec.axes().len() - 1];
    let (in_per_group, out_per_group) = (
        number(spec.in_channels_per_group()),
        number(spec.out_channels_per_group()),
    );
    let x_channel = if spec.in_channels_per_group() == 1 {
        quote!(group + c)
    } else {
        quote!(group * #in_per_group + c)
    };
    let channel_step = number(if dots.stacked { 1 } else { dots.channels_block });
    let (delta_len, row_length, last_output, groups) = (
        number(spec.batch() * spec.out_channels() * dots.delta_plane),
        number(dots.runs * dots.lanes),
        number(last.output()),
        Literal::usize_suffixed(spec.groups()),
    );
    Some(quote! {
        #constants
        let x_sample: &[T] = x;
        #copy
        // δ with zeros past the end of each row, to whole runs.
        let mut delta: [T; #delta_len] = ::core::array::from_fn(|_| T::zero());
        for (row, d_row) in delta.chunks_exact_mut(#row_length).zip(dz.chunks_exact(#last_output)) {
            row[..#last_output].clone_from_slice(d_row);
        }
        for group in 0..#groups {
            for c in 0..#in_per_group {
                // Input channel `c` of the group meets filter `o · cin/groups + c`.
                let x_channel = #x_channel;
                for o in (group * #out_per_group..(group + 1) * #out_per_group).step_by(#channel_step) {
                    for (tap_row, &tap_shift) in TAP_ROWS.iter().enumerate() {
                        #blocks
                    }
                }
            }
        }
    })
}
