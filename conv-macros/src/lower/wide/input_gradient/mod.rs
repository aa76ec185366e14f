//! The input gradient's wide builds, the first that suits the layer: at stride 1 the
//! forward pass of a dual layer ([`grad_input_dual`]); with a multiple of 16 input
//! channels per group, at any stride, the forward pass's channel block on each phase of
//! the stride ([`channels::grad_input_channels`]); else `rows` over δ by phase of the last
//! axis ([`rows::grad_input`]).

mod channels;
mod rows;

use conv_runtime::{Axis, Spec};
use quote::quote;

use super::forward::{forward, forward_rows_of, long_rows};
use super::layout::{Body, Isa};
use super::pointwise::pointwise;
use crate::lower::tokens::number;

pub(super) use channels::grad_input_channels;
pub(super) use rows::{grad_input, grad_input_reading};

/// `grad_input_into`'s wide body for `isa` at stride 1, where the phases' blocks do not
/// serve the layer best: the input gradient is the forward pass of a dual layer, δ padded
/// by `(k − 1)·d − pad` on each side and correlated with the flipped kernel, input and
/// output channels swapped. With one input channel per group, or on a long row
/// ([`long_rows`]), that is [`forward_rows`](super::forward::forward_rows); for a kernel
/// of one tap, the pointwise product ([`pointwise`]); both pack the layer's weights
/// flipped and transposed themselves. Else it is the forward pass's channel block
/// ([`forward`], a multiple of 8 channels), over the layer's weights flipped and
/// transposed into the scratch, so that its blocks of input channels fill the registers.
pub(super) fn grad_input_dual(spec: &Spec, isa: Isa) -> Option<Body> {
    let dual = dual(spec)?;
    let swap = quote!(let (x, z) = (dz, dx););
    if spec.in_channels_per_group() == 1 || long_rows(&dual, isa) {
        return Some(forward_rows_of(&dual, isa, true)?.after(&swap));
    }
    if let Some(body) = pointwise(&dual, isa, true) {
        return Some(body.after(&swap));
    }
    let Body {
        tokens,
        scratch,
        zeros_meet,
        block,
        parts,
        rows,
        scratch_of_part,
        shared,
        input_runs,
    } = forward(&dual, isa)?;
    let axes = spec.axes();
    let taps: usize = axes.iter().map(Axis::kernel).product();
    let (in_per_group, out_per_group) =
        (spec.in_channels_per_group(), spec.out_channels_per_group());
    let (taps_literal, last_tap, in_literal, out_literal, weight_len) = (
        number(taps),
        number(taps - 1),
        number(in_per_group),
        number(out_per_group),
        spec.weight_len(),
    );
    let (group_filters, weight_len_literal) = (
        number(out_per_group * in_per_group * taps),
        number(weight_len),
    );
    // The part's rows of an input channel: a row tile's (`Part::rows`), or every one.
    let input_plane: usize = axes.iter().map(Axis::input).product();
    let first_rows = axes[0].input();
    let (input_sample, first_rows, row_len) = (
        number(spec.in_channels() * input_plane),
        number(first_rows),
        number(input_plane / first_rows),
    );
    Some(Body {
        tokens: quote! {
            let (flipped, scratch) = scratch.split_at_mut(#weight_len_literal);
            // `flipped[c][o][q] = w[o][c][taps − 1 − q]` within each group: the dual
            // layer's filters, one per input channel, the kernel turned by 180°; those of
            // the part's input channels alone (a task's are some of one group's).
            let part_rows = part.rows[1].min(#first_rows) - part.rows[0];
            let part_channels = dx.len().min(#input_sample) / (part_rows * #row_len);
            for (w_group, flipped_group) in w.chunks_exact(#group_filters).zip(flipped.chunks_exact_mut(#group_filters)) {
                let filters_of_part = flipped_group
                    .chunks_exact_mut(#out_literal * #taps_literal)
                    .enumerate()
                    .skip(part.first)
                    .take(part_channels);
                for (c, filters) in filters_of_part {
                    for (o, filter) in filters.chunks_exact_mut(#taps_literal).enumerate() {
                        let source = &w_group[(o * #in_literal + c) * #taps_literal..][..#taps_literal];
                        for (q, weight) in filter.iter_mut().enumerate() {
                            weight.clone_from(&source[#last_tap - q]);
                        }
                    }
                }
            }
            let (x, w, z): (&[T], &[T], &mut [T]) = (dz, flipped, dx);
            #tokens
        },
        scratch: scratch.checked_add(weight_len)?,
        zeros_meet,
        block,
        parts,
        rows,
        scratch_of_part: scratch_of_part.map(|len| quote!(#weight_len_literal + #len)),
        shared,
        input_runs,
    })
}

/// The dual layer of a stride-1 layer whose padding reaches no further than its kernel:
/// its forward pass is the layer's input gradient, with the weights flipped and
/// transposed (δ its input, padded by `(k − 1)·d − pad` on each side, input and output
/// channels swapped); `None` past stride 1 or where the padding reaches past the kernel.
pub(super) fn dual(spec: &Spec) -> Option<Spec> {
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
    Spec::parse(&dual).ok()
}
