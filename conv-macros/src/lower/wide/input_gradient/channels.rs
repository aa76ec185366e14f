//! The input gradient through the forward pass's channel block, at any stride.
//!
//! On an axis of stride `s`, the inputs `i = φ + s·j` of one phase `φ` (`0 ≤ φ < s`)
//! receive terms only from the taps `q` with `s | φ + pad − q·d`, each reading δ at
//! `j + (φ + pad − q·d) / s`. Those taps are `s / g` apart (`g = gcd(s, d)`) and read δ
//! `d / g` apart, the larger taps nearer δ's start: the phase is a stride-1 correlation of
//! δ (zero outside `0..out`) with a sub-kernel of the rotated taps and dilation `d / g`.
//! On several axes a phase is one per axis, its sub-kernel their product. Each phase is
//! then one pass of the channel block over a zero-padded copy of δ, as the forward pass
//! of the dual layer is at stride 1, with the input channels in the vectors; its sums go
//! to dx at the stride. A phase with no tap on some axis is all zeros, and so is every
//! input whose sub-kernel reads only the padding (the remainder `r`).

use conv_runtime::{Axis, Spec};
use proc_macro2::{Ident, TokenStream};
use quote::{ToTokens, format_ident, quote};

use super::super::layout::{
    Block, Body, Isa, MOST_PHASES, RowTiles, Scratch, ZerosMeet, by_even_blocks, offsets,
    part_plane, strides, table_fits, zeroed_block,
};
use super::super::source::Source;
use crate::lower::tokens::{linear, nest, number};
use phases::{AxisPhase, AxisPhases, combinations, delta_layer};

mod phases;

/// The most sums a row of the input stages, 64 KiB of `f32`: its phases' blocks store
/// their sums there, a vector of channels per input, and the row goes to dx in one
/// transposing store. Stored one sum at a time at the stride, the sums of `resnet-down`'s
/// input gradient took 11% of its samples (issue 9, AMD Zen 4).
const MOST_STAGED: usize = 16_384;

/// The inputs of a row each call of the transposing store takes.
const STORED: usize = 8;

/// `grad_input_into`'s wide body for `isa` where the input channels of a group fill the
/// channel block's vectors: for each sample, each block of input channels and each phase
/// of the stride, the block over padded δ with the phase's sub-kernel, its rows the
/// output channels of the group times the sub-kernel's taps on the axes but the last.
pub(in super::super) fn grad_input_channels(spec: &Spec, isa: Isa) -> Option<Body> {
    let axes = spec.axes();
    let (in_per_group, out_per_group) =
        (spec.in_channels_per_group(), spec.out_channels_per_group());
    let taps: usize = axes.iter().map(Axis::kernel).product();
    // With 8 channels a vector holds them all and each broadcast feeds one multiply-add:
    // `rows` over δ serves such layers better past stride 1 (see BENCHMARKS.md).
    if !in_per_group.is_multiple_of(16) {
        return None;
    }
    let (channels, most_sums) = isa.forward_block(in_per_group, taps)?;
    let per_axis: Vec<AxisPhases> = axes.iter().map(AxisPhases::of).collect::<Option<_>>()?;
    let phase_count = per_axis
        .iter()
        .try_fold(1_usize, |count, axis| count.checked_mul(axis.phases.len()))?;
    if phase_count > MOST_PHASES || !table_fits(&[out_per_group, taps]) {
        return None;
    }
    let delta = delta_layer(spec, &per_axis)?;
    let source = Source::of(&delta)?;
    let phases = combinations(&per_axis);
    let reached: usize = phases
        .iter()
        .map(|phase| phase.iter().map(|axis| axis.taps.len()).product::<usize>())
        .sum();
    let scratch = if source.padded {
        Scratch::default().part("padded", &[spec.out_channels(), source.plane])?
    } else {
        Scratch::default()
    };
    let mut scratch = scratch
        .vectors("packed", out_per_group * reached, channels)?
        .vectors("tapped", taps, channels)?;
    let row_length = axes[axes.len() - 1].input();
    let staged = row_length * channels <= MOST_STAGED;
    if staged {
        scratch = scratch.vectors("staged", row_length, channels)?;
    }

    let row_tiles = axes.len() > 1;
    let geometry = Geometry {
        spec,
        source: &source,
        channels,
        most_sums,
        staged,
        row_tiles,
    };
    let last_phases = per_axis[per_axis.len() - 1].phases.len();
    let (bodies, tap_lists) = geometry.phases(&phases, last_phases);
    if tap_lists.is_empty() {
        // No input is read: the portable build's zeros.
        return None;
    }
    let (copy, source_sample) = if source.padded {
        (
            source.copy(&delta, spec.out_channels()),
            quote!(&padded[..]),
        )
    } else {
        (TokenStream::new(), quote!(&x_sample[..]))
    };
    let input_plane: usize = axes.iter().map(Axis::input).product();
    let output_plane: usize = axes.iter().map(Axis::output).product();
    let (input_sample, output_sample) = (
        number(spec.in_channels() * input_plane),
        number(spec.out_channels() * output_plane),
    );
    let (group_source, weight_group) = (
        number(out_per_group * source.plane),
        number(out_per_group * in_per_group * taps),
    );
    let pack = pack(spec, &tap_lists, channels);
    let block_of_group = block_of_group(in_per_group, channels);
    let units = channels;
    let channels = number(channels);
    let plane = part_plane(axes[0].input(), input_plane, row_tiles);
    // `part` ([`Body::parts`]): the whole pass, every sample's blocks, or a task's run of
    // blocks of one sample, from its first input channel, in some rows or all.
    let body = quote! {
        #plane
        let samples = dz[part.sample * #output_sample..].chunks_exact(#output_sample);
        let sample_part = dx.len().min(#input_sample);
        let first_block = part.first / #channels;
        for (x_sample, dx_sample) in samples.zip(dx.chunks_exact_mut(sample_part)) {
            #copy
            let sample: &[T] = #source_sample;
            for (index, dx_block) in dx_sample.chunks_exact_mut(#channels * plane).enumerate() {
                let index = first_block + index;
                #block_of_group
                let source = &sample[group * #group_source..][..#group_source];
                let w_group = &w[group * #weight_group..][..#weight_group];
                #pack
                let packed: &[[T; #channels]] = packed;
                #bodies
            }
        }
    };
    // As the forward channel block's (`forward.rs`): its zeros are δ's padding, each met by
    // a weight of a phase's sub-kernel, whose taps are the phase's own (`pack`), over the
    // phase's inputs exactly (`by_even_blocks`); a phase with no tap writes zeros.
    let mut body = Body::new(Block::PhaseChannels, &scratch, &body);
    body.zeros_meet = ZerosMeet::Weights;
    Some(if row_tiles {
        body.in_row_parts(units, RowTiles::Whole)
    } else {
        body.in_parts(units)
    })
}

/// The statements that bind a block's group and its first input channel in the group,
/// from its index `index` among the sample's blocks of `channels` input channels.
fn block_of_group(in_per_group: usize, channels: usize) -> TokenStream {
    if in_per_group == channels {
        return quote!(let (group, first) = (index, 0););
    }
    let [blocks_per_group, channels] = [in_per_group / channels, channels].map(number);
    quote! {
        let group = index / #blocks_per_group;
        let first = index % #blocks_per_group * #channels;
    }
}

/// The statements that pack the weights of a block of input channels from `first` on:
/// each phase's sub-kernel (in `tap_lists`, its first vector and its taps as flat
/// indices of the kernel) as vectors over the channels, `[phase][o][tap of the phase]`.
/// Each output channel's filters are transposed once, every tap, in the build's 8-lane
/// squares into `tapped`, and each phase takes its taps' vectors from there. Gathered a value at a time, the
/// pass took 1% longer: `resnet-down`'s input gradient 2 121–2 138 against 2 098–2 119 µs,
/// `dcgan-up`'s forward pass 467 against 462–463 µs (AMD Zen 4).
fn pack(spec: &Spec, tap_lists: &[(usize, Vec<usize>)], channels: usize) -> TokenStream {
    let taps: usize = spec.axes().iter().map(Axis::kernel).product();
    let lists = tap_lists.iter().map(|(at, list)| {
        let (at, len) = (number(*at), number(list.len()));
        let list = list.iter().copied().map(number);
        quote!((#at, #len, &[#(#list),*][..]))
    });
    let (in_per_group, out_per_group, taps, channels) = (
        number(spec.in_channels_per_group()),
        number(spec.out_channels_per_group()),
        number(taps),
        number(channels),
    );
    quote! {
        for o in 0..#out_per_group {
            let filters = &w_group[(o * #in_per_group + first) * #taps..][..#channels * #taps];
            T::transpose::<_, #channels>(token, filters, #taps, tapped);
            for (at, len, taps) in [#(#lists),*] {
                for (vector, &tap) in packed[at + o * len..][..len].iter_mut().zip(taps) {
                    vector.clone_from(&tapped[tap]);
                }
            }
        }
    }
}

/// What every phase's code needs to know of the layer and the blocks.
struct Geometry<'a> {
    spec: &'a Spec,
    source: &'a Source,
    /// Input channels per block.
    channels: usize,
    /// The most positions along a row per block.
    most_sums: usize,
    /// Whether the phases' sums are staged by input row (`staged`) rather than stored
    /// into dx one at a time.
    staged: bool,
    /// Whether the body computes row tiles (`Part::rows`): input rows
    /// `first_row..end_row` along the first axis of two or more, `plane` of them per
    /// channel in dx.
    row_tiles: bool,
}

impl Geometry<'_> {
    /// The loops over a phase's input rows: `body` with `row`, where the row's first input
    /// is in an input plane, and, if `reads`, `shift`, where its first sum reads in the
    /// group's source.
    fn rows(&self, phase: &[AxisPhase], reads: bool, body: &TokenStream) -> TokenStream {
        let axes = self.spec.axes();
        let outer = &phase[..phase.len() - 1];
        let input_strides = strides(&axes.iter().map(Axis::input).collect::<Vec<_>>());
        let positions: Vec<Ident> = (0..outer.len())
            .map(|index| format_ident!("j{index}"))
            .collect();
        let shift: Vec<_> = positions
            .iter()
            .zip(&self.source.strides)
            .map(|(position, &stride)| (position, stride))
            .collect();
        let row: Vec<_> = positions
            .iter()
            .zip(axes)
            .zip(&input_strides)
            .map(|((position, axis), &stride)| (position, axis.stride() * stride))
            .collect();
        let start: usize = phase
            .iter()
            .zip(&input_strides)
            .map(|(axis, stride)| axis.phase * stride)
            .sum();
        let (shift, row, start) = (linear(&shift), linear(&row), number(start));
        let shift = reads.then(|| quote!(let shift = #shift;));
        if self.row_tiles
            && let (Some((first, rest)), Some((first_phase, _))) =
                (positions.split_first(), outer.split_first())
        {
            // The phase's inputs `φ + s·j` in `first_row..end_row`: `j` from
            // `⌈(first_row − φ) / s⌉` (0 where `first_row ≤ φ`) to the same of `end_row`,
            // and no further than the phase's inputs.
            let (stride, phase, inputs) = (axes[0].stride(), first_phase.phase, first_phase.inputs);
            let [phase, inputs, stride_literal, row_len] =
                [phase, inputs, stride, input_strides[0]].map(number);
            let inner = nest(
                rest,
                outer[1..].iter().map(|axis| axis.inputs),
                quote! {
                    #shift
                    let row = #start + #row - first_row * #row_len;
                    #body
                },
            );
            return quote! {
                let from = first_row.saturating_sub(#phase).div_ceil(#stride_literal).min(#inputs);
                let to = end_row.saturating_sub(#phase).div_ceil(#stride_literal).min(#inputs);
                for #first in from..to { #inner }
            };
        }
        let body = quote! {
            #shift
            let row = #start + #row;
            #body
        };
        nest(&positions, outer.iter().map(|axis| axis.inputs), body)
    }

    /// The statements of a phase some tap reaches on every axis, the list of its taps (as
    /// flat indices of the layer's kernel, in the packed vectors' order) and the vectors
    /// they take, the phase's first at `first_vector` of `packed`.
    fn phase(&self, phase: &[AxisPhase], first_vector: usize) -> (TokenStream, Vec<usize>, usize) {
        let axes = self.spec.axes();
        let (outer, last) = phase.split_at(phase.len() - 1);
        let last = &last[0];
        let last_axis = &axes[axes.len() - 1];
        // The rows: an output channel and a tap of the sub-kernel on each axis but the
        // last, as an offset into the group's source.
        let outer_taps: Vec<usize> = outer.iter().map(|axis| axis.taps.len()).collect();
        let outer_reach: Vec<usize> = outer
            .iter()
            .zip(&self.source.strides)
            .map(|(axis, stride)| axis.reach * stride)
            .collect();
        let start: usize = phase
            .iter()
            .zip(&self.source.strides)
            .map(|(axis, stride)| axis.first * stride)
            .sum();
        let rows: Vec<usize> = (0..self.spec.out_channels_per_group())
            .flat_map(|channel| {
                offsets(&outer_taps, &outer_reach)
                    .into_iter()
                    .map(move |offset| channel * self.source.plane + start + offset)
            })
            .collect();
        // The flat tap of the layer's kernel for each tap of the sub-kernel, in order.
        let kernel_strides = strides(&axes.iter().map(Axis::kernel).collect::<Vec<_>>());
        let mut taps = vec![0];
        for (axis, stride) in phase.iter().zip(&kernel_strides) {
            taps = taps
                .iter()
                .flat_map(|flat| axis.taps.iter().map(move |tap| flat + tap * stride))
                .collect();
        }
        let vectors = rows.len() * last.taps.len();
        let (row_count, rows) = (number(rows.len()), rows.into_iter().map(number));
        let (first_vector_literal, vector_count) = (number(first_vector), number(vectors));
        let channels = self.channels;
        let last_stride = number(last_axis.stride());
        let geometry = [last.taps.len(), 1, last.reach];
        let phase_literal = number(last.phase);
        let call = |size: usize, first: TokenStream| {
            let store = if self.staged {
                quote!(staged[#phase_literal + (#first + m) * #last_stride] = sums;)
            } else {
                quote! {
                    for (c, sum) in sums.into_iter().enumerate() {
                        dx_block[c * plane + row + (#first + m) * #last_stride] = sum;
                    }
                }
            };
            zeroed_block((size, channels), &quote!(shift + #first), geometry, &store)
        };
        let row_body = by_even_blocks(last.inputs, self.most_sums, call);
        let block = |body: &TokenStream| {
            quote! {{
                const ROWS: [usize; #row_count] = [#(#rows),*];
                let packed = &packed[#first_vector_literal..][..#vector_count];
                #body
            }}
        };
        let body = if self.staged {
            block(&row_body)
        } else {
            block(&self.rows(phase, true, &row_body))
        };
        (body, taps, vectors)
    }

    /// Every phase's statements, and each reached phase's first vector in `packed` and
    /// taps: the phases in groups of `last_phases`, those that share their phase on every
    /// axis but the last ([`Geometry::group`]).
    fn phases(
        &self,
        phases: &[Vec<AxisPhase>],
        last_phases: usize,
    ) -> (TokenStream, Vec<(usize, Vec<usize>)>) {
        let mut tap_lists = Vec::new();
        let mut bodies = TokenStream::new();
        let mut first_vector = 0;
        // The phases that share their phase on every axis but the last: one row loop for
        // them all where their sums are staged, each phase's a block within it.
        for group in phases.chunks(last_phases) {
            let mut rows = Vec::new();
            for phase in group {
                if phase.iter().any(|axis| axis.taps.is_empty()) {
                    rows.push(self.zeros(phase));
                } else {
                    let (body, tap_list, vectors) = self.phase(phase, first_vector);
                    rows.push(body);
                    tap_lists.push((first_vector, tap_list));
                    first_vector += vectors;
                }
            }
            let reads = group
                .iter()
                .any(|phase| phase.iter().all(|axis| !axis.taps.is_empty()));
            bodies.extend(self.group(&group[0], &rows, reads));
        }
        (bodies, tap_lists)
    }

    /// The statements of a group of phases that share their phase on every axis but the
    /// last (`first` the group's first, of phase 0 on the last axis), each phase's
    /// statements in `phases`, `reads` where one of them reads δ: where the sums are
    /// staged, one loop over the group's input rows, each row's phases staged then
    /// stored into dx at once; else the phases' own loops one after another.
    fn group(&self, first: &[AxisPhase], phases: &[TokenStream], reads: bool) -> TokenStream {
        if !self.staged {
            return quote!(#(#phases)*);
        }
        let axes = self.spec.axes();
        let length = axes[axes.len() - 1].input();
        let (whole, rest) = (length / STORED, length % STORED);
        let channels = number(self.channels);
        // The transposing store in pieces of 8 inputs, as the forward pass's blocks
        // call it: with the whole row at once, the compiler left its loads out of line.
        let store = |at: TokenStream, count: usize| {
            let count = number(count);
            quote! {
                T::store::<_, #count, #channels>(
                    token,
                    ::convsym::__private::par::array(&staged[#at..][..#count]),
                    &mut dx_block[row + #at..],
                    plane,
                );
            }
        };
        let pieces = (whole > 0).then(|| {
            let stored = number(STORED);
            let (whole, piece) = (number(whole), store(quote!(p * #stored), STORED));
            quote!(for p in 0..#whole { #piece })
        });
        let last = (rest > 0).then(|| store(number(whole * STORED).into_token_stream(), rest));
        let body = quote! {
            #(#phases)*
            #pieces
            #last
        };
        self.rows(first, reads, &body)
    }

    /// The statements that zero a phase's inputs in every channel of the block.
    fn zeros(&self, phase: &[AxisPhase]) -> TokenStream {
        let last = &phase[phase.len() - 1];
        if self.staged {
            let (inputs, first, stride) = (
                number(last.inputs),
                number(last.phase),
                number(self.spec.axes()[phase.len() - 1].stride()),
            );
            return quote! {
                for j in 0..#inputs {
                    staged[#first + j * #stride] = ::core::array::from_fn(|_| T::zero());
                }
            };
        }
        let axes = self.spec.axes();
        let (channels, inputs, stride) = (
            number(self.channels),
            number(last.inputs),
            number(axes[axes.len() - 1].stride()),
        );
        let body = quote! {
            for c in 0..#channels {
                for j in 0..#inputs {
                    dx_block[c * plane + row + j * #stride] = T::zero();
                }
            }
        };
        self.rows(phase, false, &body)
    }
}

#[cfg(test)]
mod tests {
    use conv_runtime::Spec;

    use super::super::super::layout::{AVX2, AVX512};

    /// The channel block takes every stride when the input channels fill two AVX2 vectors,
    /// and leaves the rest to the other builds.
    #[test]
    fn which_layers_take_the_channel_block() {
        let takes = |text: &str| {
            let spec = Spec::parse(text).expect("a valid layer");
            [AVX2, AVX512].map(|isa| super::grad_input_channels(&spec, isa).is_some())
        };
        assert_eq!(
            takes("in=56 k=3 stride=2 pad=1 cin=128 cout=128"),
            [true; 2]
        );
        assert_eq!(takes("in=(5,6,7) k=2 stride=2 cin=16 cout=3"), [true; 2]);
        // Eight input channels: one vector, `rows` over δ.
        assert_eq!(takes("in=32 k=3 stride=2 pad=1 cin=8 cout=16"), [false; 2]);
        assert_eq!(takes("in=224 k=7 stride=2 pad=3 cin=3 cout=64"), [false; 2]);
        // 27 phases: past the code the macro writes for one pass.
        assert_eq!(takes("in=(5,6,7) k=2 stride=3 cin=16 cout=3"), [false; 2]);
        // No input is read (`x̃[−1]` and `x̃[1]`): the portable zeros.
        assert_eq!(takes("in=(1,) k=1 stride=2 pad=1 cin=16"), [false; 2]);
    }
}
