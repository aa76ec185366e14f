//! The weight gradient's and the bias gradient's loops.

use conv_runtime::{Axis, Spec};
use proc_macro2::TokenStream;
use quote::quote;

use super::blocks::{Bounds, EDGE_BOUNDS, forward_bounds, rows};
use super::layout::{Chunks, Tensor, pass, sources};
use crate::lower::tokens::number;

/// The partial sums the weight gradient keeps per tap: two SSE vectors or one AVX one of
/// `f32`, enough independent additions to keep the adders busy.
pub(super) const LANES: usize = 8;

/// The most taps of the last axis whose partial sums the weight gradient keeps at once: a
/// longer kernel is summed a block of taps at a time, so that the sums' array on the
/// stack does not grow with the kernel.
const MOST_TAPS: usize = 16;

/// `grad_weight_into`'s body: `dw[o, c, q] = Σ_{n, p} δ[n, o, p] · x[n, c, p·s + q·d − pad]`,
/// each tap of the last axis summed along rows of δ and of the input in [`LANES`] partial
/// sums, added into the gradient once per row of taps and sample.
pub(in super::super) fn grad_weight(spec: &Spec) -> TokenStream {
    let Some((chunks, outer, axis, _)) = pass(spec, false) else {
        return TokenStream::new();
    };
    let (input_sample, output_sample, input_group, output_group, weight_group) = chunks.walk();
    let Chunks {
        filter,
        input_plane,
        output_plane,
        taps,
        ..
    } = chunks;
    // Each tap's bounds over the whole row: written out for a few taps, computed in the
    // loop for more.
    let kernel_literal = number(axis.kernel());
    let (rows_constant, taps_loop) = if axis.kernel() <= EDGE_BOUNDS {
        let rows = rows(axis, (0..axis.output(), 0), (0..axis.input(), 0));
        let kernel = number(axis.kernel());
        (
            quote!(const ROWS: [(usize, usize, usize); #kernel] = #rows;),
            quote!(for (lanes, &(lo, hi, first)) in sums.iter_mut().zip(&ROWS[tap0..])),
        )
    } else {
        (
            TokenStream::new(),
            quote!(for (q, lanes) in (tap0..#kernel_literal).zip(sums.iter_mut())),
        )
    };
    let bounds = if axis.kernel() <= EDGE_BOUNDS {
        TokenStream::new()
    } else {
        forward_bounds(axis, Bounds::Computed, (&quote!(0_usize), axis.output()))
    };
    let (block, lane_count) = (number(axis.kernel().min(MOST_TAPS)), number(LANES));
    let x_row = outer.row("x_plane", Tensor::Input, axis, false);
    let d_row = outer.row("d_plane", Tensor::Output, axis, false);
    let gradient_row = outer.row("dw_taps", Tensor::Kernel, axis, true);
    let sum_tap = lanes(axis);
    let sources = sources(outer.axes, &outer.positions, &outer.taps, &outer.inputs);
    let positions_nest = outer.nest(
        Tensor::Output,
        quote! {
            #sources
            let d_row = #d_row;
            let x_row = #x_row;
            #taps_loop {
                #bounds
                #sum_tap
            }
        },
    );
    let taps_nest = outer.nest(
        Tensor::Kernel,
        quote! {
            for tap0 in (0..#kernel_literal).step_by(#block) {
                let mut sums: [[T; #lane_count]; #block] =
                    ::core::array::from_fn(|_| ::core::array::from_fn(|_| T::zero()));
                #positions_nest
                for (dw, lanes) in #gradient_row[tap0..].iter_mut().zip(sums) {
                    for lane in lanes {
                        dw.accumulate(&lane);
                    }
                }
            }
        },
    );
    quote! {
        #rows_constant
        dw.fill(T::zero());
        for (x_sample, d_sample) in x.chunks_exact(#input_sample).zip(dz.chunks_exact(#output_sample)) {
            let groups = x_sample
                .chunks_exact(#input_group)
                .zip(d_sample.chunks_exact(#output_group))
                .zip(dw.chunks_exact_mut(#weight_group));
            for ((x_group, d_group), dw_group) in groups {
                for (d_plane, dw_filter) in d_group.chunks_exact(#output_plane).zip(dw_group.chunks_exact_mut(#filter)) {
                    for (x_plane, dw_taps) in x_group.chunks_exact(#input_plane).zip(dw_filter.chunks_exact_mut(#taps)) {
                        #taps_nest
                    }
                }
            }
        }
    }
}

/// One tap's sum along a row of δ and a row of the input into `lanes`, [`LANES`] partial
/// sums. At stride 1 the rows are cut into whole chunks and a rest; past it, the input's
/// chunk is `LANES` strides long and read at the stride.
pub(super) fn lanes(axis: &Axis) -> TokenStream {
    let lanes = number(LANES);
    if axis.stride() == 1 {
        return quote! {
            let (d, x) = (&d_row[lo..hi], &x_row[first..][..hi - lo]);
            let (d_chunks, x_chunks) = (d.chunks_exact(#lanes), x.chunks_exact(#lanes));
            let rest = d_chunks.remainder().iter().zip(x_chunks.remainder());
            for (d, x) in d_chunks.zip(x_chunks) {
                for (lane, (d, x)) in lanes.iter_mut().zip(d.iter().zip(x)) {
                    lane.accumulate_product(d, x);
                }
            }
            for (lane, (d, x)) in lanes.iter_mut().zip(rest) {
                lane.accumulate_product(d, x);
            }
        };
    }
    let (stride, input) = (number(axis.stride()), number(axis.input()));
    let (step, span) = (
        number(LANES * axis.stride()),
        number((LANES - 1) * axis.stride() + 1),
    );
    quote! {
        let d_chunks = d_row[lo..hi].chunks_exact(#lanes);
        // Past the row when the chunks end it: then the rest is empty.
        let done = (first + (hi - lo) / #lanes * #step).min(#input);
        let rest = d_chunks.remainder().iter().zip(x_row[done..].iter().step_by(#stride));
        for (chunk, d) in d_chunks.enumerate() {
            let x = &x_row[first + chunk * #step..][..#span];
            for (lane, (d, x)) in lanes.iter_mut().zip(d.iter().zip(x.iter().step_by(#stride))) {
                lane.accumulate_product(d, x);
            }
        }
        for (lane, (d, x)) in lanes.iter_mut().zip(rest) {
            lane.accumulate_product(d, x);
        }
    }
}

/// `grad_bias_into`'s body: `db[o] = Σ_{n, p} δ[n, o, p]`.
pub(in super::super) fn grad_bias(spec: &Spec) -> TokenStream {
    let Chunks {
        output_sample,
        output_plane,
        ..
    } = Chunks::of(spec);
    quote! {
        db.fill(T::zero());
        for d_sample in dz.chunks_exact(#output_sample) {
            for (db, d_plane) in db.iter_mut().zip(d_sample.chunks_exact(#output_plane)) {
                for d in d_plane {
                    db.accumulate(d);
                }
            }
        }
    }
}
