//! Depthwise layers (one input channel per group) in the wide builds, one channel's plane
//! at a time, read in place: the blocks load only the lanes of a row within the input
//! and skip the rows of the padding. Copying each plane with its padding (on one and two
//! axes; layers of three, and those whose taps on the axis before the last are not at its
//! stride, still copy it) took a third of `mobilenet-dw`'s weight gradient: the copy's
//! unaligned stores, and reads of the input that overlapped no arithmetic.
//!
//! - [`forward`]: `stencil` blocks of several output rows times a run of a row, each
//!   row of the input read once for every row of taps that reads it, written straight
//!   into the output.
//! - [`grad_input`]: at stride 1 with one output channel per group, the same over δ, the
//!   forward pass of the dual layer (δ padded by `(k − 1)·d − pad`, the kernel turned).
//! - [`grad_weight`](weight_gradient::grad_weight): `stencil_dots` partial sums of δ
//!   times the channel's plane, each of a tap's gradient, both read in place, without a
//!   copy.

mod weight_gradient;

use conv_runtime::{Axis, Spec};
use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use super::input_gradient::dual;
use super::layout::{
    Block, Body, Isa, MOST_SUMS, Scratch, ZerosMeet, offsets, product, strides, table_fits,
};
use super::source::Source;
use crate::lower::tokens::{linear, nest, number};

pub(super) use weight_gradient::{grad_weight, grad_weight_reading};

/// `forward_into`'s wide body for `isa` on a depthwise layer whose last axis has stride 1.
pub(super) fn forward(spec: &Spec, isa: Isa) -> Option<Body> {
    planes(spec, isa, false)
}

/// `grad_input_into`'s wide body for `isa` on a depthwise layer of one output channel per
/// group at stride 1: the forward pass of the dual layer on δ, the kernel turned by 180°.
pub(super) fn grad_input(spec: &Spec, isa: Isa) -> Option<Body> {
    if spec.out_channels_per_group() != 1 {
        return None;
    }
    Some(planes(&dual(spec)?, isa, true)?.after(&quote!(let (x, z) = (dz, dx);)))
}

/// The axis before the last as the blocks' rows: where its stride is its dilation, an
/// output row `m`'s taps of row `y` read the source's row `m + y`, and the blocks read
/// each row once for every row of taps (`kernel` of them). Else its taps are looped
/// over with those of the axes before it, one row of taps a block.
#[derive(Clone, Copy)]
pub(super) struct Stacked {
    /// The axes before it.
    pub(super) rest: usize,
    /// Its outputs: the rows of a call.
    pub(super) rows: usize,
    /// The distance in the source from one of its outputs to the next.
    pub(super) step: usize,
    /// The rows of taps a block reads.
    pub(super) kernel: usize,
}

impl Stacked {
    pub(super) fn of(spec: &Spec, source: &Source) -> Self {
        let axes = spec.axes();
        let Some((stacked, rest)) = axes[..axes.len() - 1].split_last() else {
            return Stacked {
                rest: 0,
                rows: 1,
                step: 0,
                kernel: 1,
            };
        };
        let kernel = if stacked.stride() == stacked.dilation() {
            stacked.kernel()
        } else {
            1
        };
        Stacked {
            rest: rest.len(),
            rows: stacked.output(),
            step: stacked.stride() * source.strides[rest.len()],
            kernel,
        }
    }
}

/// `call(shift, start)` for each position `p…` on the first `rest` axes: `shift` where
/// the position's window starts in the source, `start` where it starts in a plane of
/// `strides`.
pub(super) fn positions(
    spec: &Spec,
    source: &Source,
    rest: usize,
    strides: &[usize],
    call: impl Fn(TokenStream, TokenStream) -> TokenStream,
) -> TokenStream {
    let outer = &spec.axes()[..rest];
    let positions: Vec<Ident> = (0..rest).map(|index| format_ident!("p{index}")).collect();
    let shifts: Vec<_> = positions
        .iter()
        .zip(outer)
        .zip(&source.strides)
        .map(|((position, axis), stride)| (position, axis.stride() * stride))
        .collect();
    let starts: Vec<_> = positions.iter().zip(strides.iter().copied()).collect();
    nest(
        &positions,
        outer.iter().map(Axis::output),
        call(linear(&shifts), linear(&starts)),
    )
}

/// How `stencil` blocks a channel's outputs: `run` outputs along a row (whole vectors,
/// past the row's end where it is not a multiple of them), each vector of it times
/// `rows` rows in registers.
struct Blocks {
    run: usize,
    rows: usize,
}

impl Blocks {
    fn of(spec: &Spec, isa: Isa) -> Self {
        let axes = spec.axes();
        // Up to four vectors along a row: a row of 56 is one run of 64 in AVX-512, two
        // of 32 in AVX2. A block sums one vector of 8 rows at a time, which leaves
        // registers for a tap's weights (one per row of taps) and the row being read.
        let vectors = axes[axes.len() - 1].output().div_ceil(isa.lanes).min(4);
        let rows = if axes.len() > 1 { MOST_SUMS } else { 1 };
        Blocks {
            run: vectors * isa.lanes,
            rows,
        }
    }
}

/// The forward pass of a depthwise layer (or with `flipped`, of the dual layer of one,
/// whose weights are the layer's turned by 180°), one input channel at a time: for each
/// of its output channels, `stencil` blocks over the channel's plane ([`reads`]), a call
/// for each position on the axes before the last two.
fn planes(spec: &Spec, isa: Isa, flipped: bool) -> Option<Body> {
    let axes = spec.axes();
    let (outer, last) = axes.split_at(axes.len() - 1);
    let last = &last[0];
    if spec.in_channels_per_group() != 1 || last.stride() != 1 {
        return None;
    }
    let blocks = Blocks::of(spec, isa);
    let runs = last.output().div_ceil(blocks.run);
    let kernels: Vec<usize> = axes.iter().map(Axis::kernel).collect();
    let taps = product(&kernels)?;
    if !table_fits(&[taps]) {
        return None;
    }
    let (source, in_place, scratch) = reads(spec, &blocks, runs)?;
    let reach: Vec<usize> = axes
        .iter()
        .zip(&source.strides)
        .map(|(axis, stride)| axis.dilation() * stride)
        .collect();
    let planes_axes = outer.len() - usize::from(Stacked::of(spec, &source).kernel > 1);
    let scratch = scratch.part("filter", &[taps])?;
    let planes = offsets(&kernels[..planes_axes], &reach[..planes_axes]);
    let (plane_count, planes) = (number(planes.len()), planes.into_iter().map(number));
    let last_taps: Vec<usize> = (0..last.kernel())
        .map(|tap| tap * last.dilation())
        .collect();
    let (tap_count, last_taps) = (number(last_taps.len()), last_taps.into_iter().map(number));

    let input_plane: usize = axes.iter().map(Axis::input).product();
    let output_plane: usize = axes.iter().map(Axis::output).product();
    let copy = (!in_place).then(|| {
        let copy = source.copy(spec, 1);
        quote! {
            // The copy rewrites the same places each time: the rest stays zero.
            let x_sample = x_channel;
            #copy
        }
    });
    let pack = if flipped {
        let last_tap = number(taps - 1);
        quote!(filter[#last_tap - q].clone_from(weight);)
    } else {
        quote!(filter[q].clone_from(weight);)
    };
    let start = if spec.bias() {
        quote!(b[o].clone())
    } else {
        quote!(T::zero())
    };
    let call = stencil_calls(spec, &source, &blocks, in_place);
    let [
        input_plane,
        output_plane,
        taps,
        per_group,
        input_sample,
        output_sample,
    ] = [
        input_plane,
        output_plane,
        taps,
        spec.out_channels_per_group(),
        spec.in_channels() * input_plane,
        spec.out_channels() * output_plane,
    ]
    .map(number);
    let body = quote! {
        const PLANES: [usize; #plane_count] = [#(#planes),*];
        const TAPS: [usize; #tap_count] = [#(#last_taps),*];
        let samples = x.chunks_exact(#input_sample).zip(z.chunks_exact_mut(#output_sample));
        for (x_sample, z_sample) in samples {
            for (group, x_channel) in x_sample.chunks_exact(#input_plane).enumerate() {
                { #copy }
                for member in 0..#per_group {
                    let o = group * #per_group + member;
                    for (q, weight) in w[o * #taps..][..#taps].iter().enumerate() {
                        #pack
                    }
                    let start: T = #start;
                    let z_channel = &mut z_sample[o * #output_plane..][..#output_plane];
                    #call
                }
            }
        }
    };
    // The copy's zeros (padding, and past the rows' ends) meet only weights: an input
    // value is multiplied only by the weights of its equations' terms, and the sums of
    // the spare lanes past a row's end are never stored.
    Some(Body {
        zeros_meet: ZerosMeet::Weights,
        ..Body::new(Block::Stencil, &scratch, &body)
    })
}

/// Where `planes`' blocks read: the input in place (`true`) where no taps of the axes
/// before the last two are looped over (the `planes` of a block), else a padded copy of
/// each channel's plane; and the scratch of the copy.
fn reads(spec: &Spec, blocks: &Blocks, runs: usize) -> Option<(Source, bool, Scratch)> {
    let axes = spec.axes();
    let stacked = Stacked::of(spec, &Source::input(spec)?);
    if axes.len() - 1 == usize::from(stacked.kernel > 1) {
        return Some((Source::input(spec)?, true, Scratch::default()));
    }
    let source = Source::with_runs(spec, runs.checked_mul(blocks.run)?)?;
    // The whole blocks past the last row read up to `rows − 1` rows more, each a row of
    // the copy long.
    let step = Stacked::of(spec, &source).step;
    let row = source.extents[axes.len() - 1];
    let slack = blocks.rows.checked_mul(step)?.checked_add(row)?;
    let scratch = Scratch::default().part("padded", &[source.plane.checked_add(slack)?])?;
    Some((source, false, scratch))
}

/// The statements that give a block of the rows of taps from `y0` on, reading the input
/// in place (`source`), its `present` rows of the stacked axis and the `shift` of the
/// first, from `origin`, where the window starts on the axes before it: the block's row
/// `i` reads the padded row `i·stride + base` of that axis (where its taps are looped
/// over, `base` is from `row_taps`). A layer of one axis has one row.
pub(super) fn stacked_rows(
    spec: &Spec,
    source: &Source,
    stacked: &Stacked,
    y0: usize,
) -> TokenStream {
    let axes = spec.axes();
    if axes.len() == 1 {
        return quote!(let (present, shift) = ((0, 1), origin););
    }
    let rows_axis = &axes[stacked.rest];
    let input_stride = source.strides[stacked.rest];
    let [stride, dilation, pad, input, input_stride] = [
        rows_axis.stride(),
        rows_axis.dilation(),
        rows_axis.pad_before(),
        rows_axis.input(),
        input_stride,
    ]
    .map(number);
    // Its taps are the block's rows of taps, or, looped, one of `row_taps`.
    let base = if stacked.kernel > 1 {
        let y0 = number(y0);
        quote!(#y0 * #dilation)
    } else {
        let index = number(stacked.rest);
        quote!(row_taps[#index] * #dilation)
    };
    quote! {
        let base = #base;
        let first = usize::saturating_sub(#pad, base).div_ceil(#stride);
        let end = usize::saturating_sub(#pad + #input, base).div_ceil(#stride);
        let present = (first, end.max(first));
        let shift = origin + (first * #stride + base).saturating_sub(#pad) * #input_stride;
    }
}

/// The `stencil` calls of one output channel, each over the rows of the axis before the
/// last, for a position `p…` on the axes before it; reading `x_channel` in place, or the
/// padded copy.
fn stencil_calls(spec: &Spec, source: &Source, blocks: &Blocks, in_place: bool) -> TokenStream {
    let axes = spec.axes();
    let last = &axes[axes.len() - 1];
    let Stacked {
        rest,
        rows,
        step,
        kernel,
    } = Stacked::of(spec, source);
    let output_strides = strides(&axes.iter().map(Axis::output).collect::<Vec<_>>());
    let [mr, ky, kx, nl] = [blocks.rows, kernel, last.kernel(), blocks.run].map(number);
    let [rows, step, width] = [rows, step, last.output()].map(number);
    // The input's rows the blocks read, where its first is, and its columns; a copy is
    // read as an input without padding, all its rows present.
    let (reads, rows_in, left, columns) = if in_place {
        let [left, columns] = [last.pad_before(), last.input()].map(number);
        let rows_in = stacked_rows(spec, source, &Stacked::of(spec, source), 0);
        (quote!(x_channel), rows_in, left, columns)
    } else {
        let rows_in = quote!(let (present, shift) = ((0, usize::MAX), origin););
        let columns = number(source.extents[axes.len() - 1]);
        (quote!(padded), rows_in, number(0), columns)
    };
    positions(spec, source, rest, &output_strides, |origin, out_start| {
        quote! {
            let origin = #origin;
            #rows_in
            T::stencil::<_, #mr, #ky, #kx, #nl>(
                token,
                &mut z_channel[#out_start..],
                ::convsym::__private::Stencil {
                    source: &#reads[..],
                    planes: &PLANES,
                    shift,
                    step: #step,
                    taps: &TAPS,
                    weights: &filter[..],
                    start: &start,
                    rows: #rows,
                    width: #width,
                    out_step: #width,
                    present,
                    left: #left,
                    columns: #columns,
                },
            );
        }
    })
}
