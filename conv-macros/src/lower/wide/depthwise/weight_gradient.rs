//! The weight gradient of a depthwise layer: each weight's gradient as `stencil_dots`
//! partial sums of δ times the input, both read where they are (the runs past a row's end
//! of δ, and the columns of the padding, loading zeros; the rows of the padding skipped).
//! Copying δ's planes with zeros past the rows' ends took a fifth of `mobilenet-dw`'s
//! weight gradient, and copying each input channel's plane with its padding a third of
//! what was left: the copy's stores, unaligned, and the reads of the input it did not
//! overlap with any arithmetic.

use conv_runtime::{Axis, Spec};
use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};

use super::super::layout::{AVX2, Block, Body, Isa, MOST_SUMS, Scratch, strides, table_fits};
use super::super::source::Source;
use super::{Stacked, stacked_rows};
use crate::lower::tokens::{linear, nest, number};

/// The most blocks of sums whose code one channel's weight gradient writes.
const MOST_BLOCKS: usize = 64;

/// `grad_weight_into`'s wide body for `isa` on a depthwise layer whose last axis has
/// stride 1.
pub(in super::super) fn grad_weight(spec: &Spec, isa: Isa) -> Option<Body> {
    grad_weight_reading(spec, isa, [spec.in_channels(), spec.out_channels()])
}

/// [`grad_weight`] reading `x` and `dz` with `channels` channels in each sample, the
/// input's and δ's: a parallel task's channels read where they lie among all the
/// layer's, the arrays starting at the task's first.
pub(in super::super) fn grad_weight_reading(
    spec: &Spec,
    isa: Isa,
    channels: [usize; 2],
) -> Option<Body> {
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
    let runs = last.output().div_ceil(lanes);
    // The runs reach whole vectors past a row's end: their last lane must have an index.
    runs.checked_mul(lanes)?;
    let source = Source::input(spec)?;
    let stacked = Stacked::of(spec, &source);
    let kernel = stacked.kernel;
    let looped = outer.len() - usize::from(kernel > 1);
    // Sums: blocks of taps along the row times blocks of rows of taps, one vector of
    // the build each (`stencil_dots` sums a run of two AVX2 vectors one vector's lanes
    // at a time), within the registers the block leaves: beside the sums it holds the
    // input at each of its taps, a vector of δ and an edge's lane mask. A 3×3 kernel
    // takes one block of 9 sums in both builds.
    let taps_block = last.kernel().min(MOST_SUMS).min(isa.sums).max(1);
    let rows_block = kernel
        .min(isa.sums / taps_block)
        .min(isa.registers.saturating_sub(taps_block + 2) / taps_block)
        .max(1);
    let block_count = kernel.div_ceil(rows_block) * last.kernel().div_ceil(taps_block);
    let outer_taps: Vec<usize> = outer[..looped].iter().map(Axis::kernel).collect();
    if block_count > MOST_BLOCKS || !table_fits(&outer_taps) || !table_fits(&[last.kernel()]) {
        return None;
    }

    // `TAP_ROWS`: the taps of the looped axes, one index per axis; `TAPS`: where those
    // along a row read, from the padded row's start.
    let mut tap_rows: Vec<Vec<usize>> = vec![Vec::new()];
    for &taps in &outer_taps {
        tap_rows = tap_rows
            .into_iter()
            .flat_map(|row| (0..taps).map(move |tap| row.iter().copied().chain([tap]).collect()))
            .collect();
    }
    let (tap_count, looped_literal) = (number(tap_rows.len()), number(looped));
    let tap_rows = tap_rows.into_iter().map(|taps| {
        let taps = taps.into_iter().map(number);
        quote!([#(#taps),*])
    });
    let taps = (0..last.kernel()).map(|tap| number(tap * last.dilation()));
    let row_taps = number(last.kernel());

    let code = blocks(
        spec,
        &source,
        &stacked,
        [lanes, runs, rows_block, taps_block],
        channels,
    );
    let [per_group, filter_taps] = [
        spec.out_channels_per_group(),
        axes.iter().map(Axis::kernel).product(),
    ]
    .map(number);
    let groups = Literal::usize_suffixed(spec.groups());
    let body = quote! {
        const TAP_ROWS: [[usize; #looped_literal]; #tap_count] = [#(#tap_rows),*];
        const TAPS: [usize; #row_taps] = [#(#taps),*];
        for group in 0..#groups {
            for member in 0..#per_group {
                let o = group * #per_group + member;
                let filter = &mut dw[o * #filter_taps..][..#filter_taps];
                for (tap_row, row_taps) in TAP_ROWS.iter().enumerate() {
                    #code
                }
            }
        }
    };
    Some(Body::new(Block::Stencil, &Scratch::default(), &body))
}

/// The blocks of sums of one filter's row of taps (`tap_row`, whose taps on the looped
/// axes are `row_taps`), each over every sample and position, and the sums of their
/// lanes into `filter`: `[lanes, runs, rows, taps]` the lanes of a run, the runs along a
/// row, and the rows and taps of taps of a block; `x` and `dz` hold `[in_channels,
/// out_channels]` channels per sample.
fn blocks(
    spec: &Spec,
    source: &Source,
    stacked: &Stacked,
    [lanes, runs, rows_block, taps_block]: [usize; 4],
    [in_channels, out_channels]: [usize; 2],
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
        .map(|stride| stride * last.output());
    let input_plane: usize = axes.iter().map(Axis::input).product();
    let [
        input_plane,
        in_channels,
        output_plane,
        out_channels,
        lanes_literal,
        runs,
        rows,
        step,
        width,
        columns,
        left,
    ] = [
        input_plane,
        in_channels,
        outputs.iter().product(),
        out_channels,
        lanes,
        runs,
        rows,
        step,
        last.output(),
        last.input(),
        last.pad_before(),
    ]
    .map(number);
    let (kernel_literal, last_kernel) = (number(kernel), number(last.kernel()));
    let batch = Literal::usize_suffixed(spec.batch());

    let positions: Vec<Ident> = (0..rest).map(|index| format_ident!("p{index}")).collect();
    let reads = plane_reads(spec, source, &positions);
    let delta_start = linear(&positions.iter().zip(delta_strides).collect::<Vec<_>>());
    let mut code = TokenStream::new();
    for y0 in (0..kernel).step_by(rows_block) {
        for t0 in (0..last.kernel()).step_by(taps_block) {
            let (ky, mt) = (
                rows_block.min(kernel - y0),
                taps_block.min(last.kernel() - t0),
            );
            let stacked_rows = stacked_rows(spec, source, stacked, y0);
            let [ky, mt, y0, t0, t1] = [ky, mt, y0, t0, t0 + mt].map(number);
            let call = quote! {
                if let Some(origin) = #reads {
                    #stacked_rows
                    T::stencil_dots::<_, #ky, #mt, #lanes_literal>(
                        token,
                        &mut sums,
                        ::convsym::__private::StencilDots {
                            delta: &dz[(n * #out_channels + o) * #output_plane + #delta_start..],
                            width: #width,
                            source: &x[(n * #in_channels + group) * #input_plane..][..#input_plane],
                            shift,
                            step: #step,
                            present,
                            left: #left,
                            columns: #columns,
                            taps: &TAPS[#t0..#t1],
                            rows: #rows,
                            runs: #runs,
                        },
                    );
                }
            };
            let call = nest(&positions, axes[..rest].iter().map(Axis::output), call);
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

/// Where the window of the position `positions` on the axes before the stacked one, at
/// the taps `row_taps`, starts in a channel's plane of the input: `Some(offset)`, or
/// `None` where it lies in the padding on one of them, and has no terms.
fn plane_reads(spec: &Spec, source: &Source, positions: &[Ident]) -> TokenStream {
    let reads = positions
        .iter()
        .zip(spec.axes())
        .zip(source.strides.iter().copied())
        .enumerate()
        .map(|(index, ((position, axis), input_stride))| {
            let [stride, dilation, pad, input, input_stride] = [
                axis.stride(),
                axis.dilation(),
                axis.pad_before(),
                axis.input(),
                input_stride,
            ]
            .map(number);
            quote! {{
                let at = #position * #stride + row_taps[#index] * #dilation;
                (#pad..#pad + #input).contains(&at).then(|| (at - #pad) * #input_stride)
            }}
        });
    let count = number(positions.len());
    quote!({
        let reads: [Option<usize>; #count] = [#(#reads),*];
        reads.into_iter().sum::<Option<usize>>()
    })
}

#[cfg(test)]
mod tests {
    use conv_runtime::Spec;
    use conv_runtime::derive::Section;

    use super::super::super::{Block, builds};

    /// `mobilenet-dw` and the depthwise layers of `tests/macro_wide.rs` (strided, on one
    /// and three axes, two outputs per group): their weight gradient runs this body in
    /// both builds, and needs no scratch. `tests/scratch.rs`, which sees which build ran
    /// from what a pass allocates, cannot tell it from the portable build.
    #[test]
    fn depthwise_weight_gradients_read_in_place() {
        for text in [
            "in=56 k=3 pad=1 cin=144 cout=144 groups=144",
            "in=(9,57) k=3 stride=(2,1) pad=1 cin=2 cout=2 groups=2 batch=2",
            "in=(3,4,57) k=(2,3,3) pad=(1,0,2) cin=2 cout=2 groups=2",
            "in=(70,) k=5 dilation=2 pad=((3,1),) cin=4 cout=4 groups=4 bias batch=2",
            "in=(6,19) k=3 pad=1 cin=3 cout=6 groups=3 bias",
        ] {
            let spec = Spec::parse(text).expect("a valid layer");
            let (avx2, avx512) = builds(&spec, Section::GradWeight).expect("wide builds");
            for body in [avx2, avx512] {
                assert_eq!(body.block, Block::Stencil, "{text}");
                assert_eq!(body.scratch, 0, "{text}");
            }
        }
    }
}
