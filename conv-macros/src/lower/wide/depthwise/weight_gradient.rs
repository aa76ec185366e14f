//! The weight gradient of a depthwise layer: for each input channel, its planes (one per
//! sample) copied with zeros where the layer pads; then each weight's gradient as
//! `stencil_dots` partial sums of δ, read where it is in `dz` (the runs past a row's end
//! loading zeros), times the copy along rows. Copying δ's planes too, with zeros past the
//! rows' ends, took a fifth of `mobilenet-dw`'s weight gradient.

use conv_runtime::{Axis, Spec};
use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::super::layout::{
    AVX2, Block, Body, Isa, MOST_SUMS, Scratch, offsets, strides, table_fits,
};
use super::super::source::Source;
use super::{Stacked, positions};
use crate::lower::tokens::number;

/// The most blocks of sums whose code one channel's weight gradient writes.
const MOST_BLOCKS: usize = 64;

/// `grad_weight_into`'s wide body for `isa` on a depthwise layer whose last axis has
/// stride 1.
pub(in super::super) fn grad_weight(spec: &Spec, isa: Isa) -> Option<Body> {
    let axes = spec.axes();
    let (outer, last) = axes.split_at(axes.len() - 1);
    let last = &last[0];
    if spec.in_channels_per_group() != 1 || last.stride() != 1 {
        return None;
    }
    // The run of partial sums, the same in both builds so that both add each partial
    // sum's terms in one order, and its lanes in another fixed one: one AVX-512 vector,
    // or one AVX2 vector for rows of at most 8.
    let lanes = if last.output() > AVX2.lanes {
        2 * AVX2.lanes
    } else {
        AVX2.lanes
    };
    let vectors = lanes.div_ceil(isa.lanes);
    let runs = last.output().div_ceil(lanes);
    let row_length = runs.checked_mul(lanes)?;
    let source = Source::with_runs(spec, row_length)?;
    let stacked = Stacked::of(spec, &source);
    let kernel = stacked.kernel;
    let looped = outer.len() - usize::from(kernel > 1);
    // Sums: blocks of taps along the row times blocks of rows of taps.
    let taps_block = last.kernel().min(MOST_SUMS).min(isa.sums / vectors).max(1);
    let rows_block = kernel.min(isa.sums / (taps_block * vectors)).max(1);
    let block_count = kernel.div_ceil(rows_block) * last.kernel().div_ceil(taps_block);
    let outer_taps: Vec<usize> = outer[..looped].iter().map(Axis::kernel).collect();
    if block_count > MOST_BLOCKS || !table_fits(&outer_taps) || !table_fits(&[last.kernel()]) {
        return None;
    }
    let scratch = Scratch::default().part("planes", &[spec.batch(), source.plane])?;

    // `TAP_ROWS`: where the taps of the looped axes read; `TAPS`: those along a row.
    let outer_reach = source.outer(spec, Axis::dilation);
    let tap_rows = offsets(&outer_taps, &outer_reach[..looped]);
    let (tap_count, tap_rows) = (number(tap_rows.len()), tap_rows.into_iter().map(number));
    let taps: Vec<usize> = (0..last.kernel())
        .map(|tap| tap * last.dilation())
        .collect();
    let (row_taps, taps) = (number(taps.len()), taps.into_iter().map(number));

    let code = blocks(
        spec,
        &source,
        &stacked,
        [lanes, runs, rows_block, taps_block],
    );
    let plane = number(source.plane);
    let batch = Literal::usize_suffixed(spec.batch());

    let input_plane: usize = axes.iter().map(Axis::input).product();
    let copy = source.copy(spec, 1);
    let [input_plane, per_group, filter_taps, in_channels] = [
        input_plane,
        spec.out_channels_per_group(),
        axes.iter().map(Axis::kernel).product(),
        spec.in_channels(),
    ]
    .map(number);
    let groups = Literal::usize_suffixed(spec.groups());
    let body = quote! {
        const TAP_ROWS: [usize; #tap_count] = [#(#tap_rows),*];
        const TAPS: [usize; #row_taps] = [#(#taps),*];
        for group in 0..#groups {
            // The channel's plane in each sample. The copies rewrite the same places each
            // time: the rest stays zero.
            for n in 0..#batch {
                let x_sample = &x[(n * #in_channels + group) * #input_plane..][..#input_plane];
                let padded = &mut planes[n * #plane..][..#plane];
                #copy
            }
            for member in 0..#per_group {
                let o = group * #per_group + member;
                let filter = &mut dw[o * #filter_taps..][..#filter_taps];
                for (tap_row, &tap_shift) in TAP_ROWS.iter().enumerate() {
                    #code
                }
            }
        }
    };
    Some(Body::new(Block::Stencil, &scratch, &body))
}

/// The blocks of sums of one filter's row of taps (`tap_row`), each over every sample and
/// position, and the sums of their lanes into `filter`: `[lanes, runs, rows, taps]` the
/// lanes of a run, the runs along a row, and the rows and taps of taps of a block.
fn blocks(
    spec: &Spec,
    source: &Source,
    stacked: &Stacked,
    [lanes, runs, rows_block, taps_block]: [usize; 4],
) -> TokenStream {
    let axes = spec.axes();
    let last = &axes[axes.len() - 1];
    let Stacked {
        rest,
        rows,
        step,
        kernel,
    } = *stacked;
    // δ is read where it is, in `dz`: its positions, each a row of the last axis's outputs.
    let outputs: Vec<usize> = axes.iter().map(Axis::output).collect();
    let delta_strides = strides(&outputs[..axes.len() - 1])
        .into_iter()
        .map(|stride| stride * last.output())
        .collect::<Vec<usize>>();
    let output_plane: usize = outputs.iter().product();
    let [
        plane,
        output_plane,
        out_channels,
        lanes_literal,
        runs_literal,
        rows_literal,
    ] = [
        source.plane,
        output_plane,
        spec.out_channels(),
        lanes,
        runs,
        rows,
    ]
    .map(number);
    let (step_literal, width) = (number(step), number(last.output()));
    let (kernel_literal, last_kernel) = (number(kernel), number(last.kernel()));
    let batch = Literal::usize_suffixed(spec.batch());
    let mut code = TokenStream::new();
    for y0 in (0..kernel).step_by(rows_block) {
        for t0 in (0..last.kernel()).step_by(taps_block) {
            let (ky, mt) = (
                rows_block.min(kernel - y0),
                taps_block.min(last.kernel() - t0),
            );
            let [ky, mt, y0, t0, t1] = [ky, mt, y0, t0, t0 + mt].map(number);
            let call = positions(spec, source, rest, &delta_strides, |shift, delta_start| {
                quote! {
                    T::stencil_dots::<_, #ky, #mt, #lanes_literal>(
                        token,
                        &mut sums,
                        ::convsym::__private::StencilDots {
                            delta: &dz[(n * #out_channels + o) * #output_plane + #delta_start..],
                            width: #width,
                            source: &planes[..],
                            shift: n * #plane + #shift + tap_shift + #y0 * #step_literal,
                            step: #step_literal,
                            taps: &TAPS[#t0..#t1],
                            rows: #rows_literal,
                            runs: #runs_literal,
                        },
                    );
                }
            });
            code.extend(quote! {
                let mut sums: [[[T; #lanes_literal]; #mt]; #ky] = ::core::array::from_fn(|_| {
                    ::core::array::from_fn(|_| ::core::array::from_fn(|_| T::zero()))
                });
                for n in 0..#batch {
                    #call
                }
                for (y, sums) in sums.into_iter().enumerate() {
                    let row = (tap_row * #kernel_literal + #y0 + y) * #last_kernel + #t0;
                    for (dw, lanes) in filter[row..].iter_mut().zip(sums) {
                        *dw = T::zero();
                        for lane in lanes {
                            dw.accumulate(&lane);
                        }
                    }
                }
            });
        }
    }

    code
}
