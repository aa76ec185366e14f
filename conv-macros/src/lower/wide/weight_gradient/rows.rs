//! The weight gradient's wide build where the channel block does not suit the layer:
//! partial sums of δ times the input along rows ([`grad_weight_rows`]).

use conv_runtime::{Axis, Spec};
use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::super::layout::{
    AVX2, Block, Body, Isa, MOST_SUMS, Scratch, by_blocks, offsets, product, strides, table_fits,
};
use super::super::source::Source;
use crate::lower::tokens::number;

/// `grad_weight_into`'s wide body for `isa` when the channel block does not suit the
/// layer and the last axis has stride 1: each weight's gradient as `dots`
/// partial sums of δ times the input along rows, a block of taps of the last axis at a
/// time, over every sample and output row. δ and the input are copied with zeros past
/// the ends of their rows so that every run is whole.
pub(in super::super) fn grad_weight_rows(spec: &Spec, isa: Isa) -> Option<Body> {
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
    let scratch = Scratch::default()
        .part(
            "padded",
            &[spec.batch(), spec.in_channels(), dots.source.plane],
        )?
        .part(
            "delta",
            &[spec.batch(), spec.out_channels(), dots.delta_plane],
        )?;
    let (row_length, last_output, groups) = (
        number(dots.runs * dots.lanes),
        number(last.output()),
        Literal::usize_suffixed(spec.groups()),
    );
    let body = quote! {
        #constants
        let x_sample: &[T] = x;
        #copy
        // δ with zeros past the end of each row, to whole runs.
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
    };
    Some(Body::new(Block::Rows, &scratch, &body))
}

/// How `grad_weight_rows` lays out its `dots` blocks.
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
            // No block past the registers' share qualifies: the search stays short for
            // groups of billions of channels.
            None => (1..=spec
                .out_channels_per_group()
                .min(isa.sums / (taps_block * vectors).max(1)))
                .rev()
                .find(|block| {
                    spec.out_channels_per_group().is_multiple_of(*block)
                        && block * taps_block * vectors <= isa.sums
                })
                .unwrap_or(1),
        };
        // `A_ROWS` and `B_ROWS`, a sample and an output row; `TAP_ROWS`, a tap of the
        // axes but the last.
        let outer_taps: Vec<usize> = outer.iter().map(Axis::kernel).collect();
        let outer_outputs: Vec<usize> = outer.iter().map(Axis::output).collect();
        if !table_fits(&outer_taps) || !table_fits(&[spec.batch(), product(&outer_outputs)?]) {
            return None;
        }
        let runs = last.output().div_ceil(lanes);
        let source = Source::with_runs(spec, runs.checked_mul(lanes)?)?;
        let delta_plane = outer
            .iter()
            .map(Axis::output)
            .product::<usize>()
            .checked_mul(runs * lanes)?;
        Some(Dots {
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
            quote!(o + member)
        };
        let filter_index = if spec.in_channels_per_group() == 1 {
            filter_channel
        } else {
            let in_per_group = number(spec.in_channels_per_group());
            quote!((#filter_channel) * #in_per_group + c)
        };
        let tap_index = if self.stacked {
            quote!((tap_row * #block_literal + member) * #kernel)
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
                    ::convsym::__private::Dots {
                        a: &delta[..],
                        a_rows: &A_ROWS,
                        a_shift: o * #delta_plane,
                        a_step: #a_step,
                        b: &padded[..],
                        b_rows: &B_ROWS,
                        b_shift: x_channel * #plane + tap_shift + (#first) * #reach,
                        b_step: #b_step,
                        step: #reach,
                        runs: #runs,
                    },
                );
                // `member`, not `block`: `first` may name the loop over blocks of taps.
                for (member, sums) in sums.into_iter().enumerate() {
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
