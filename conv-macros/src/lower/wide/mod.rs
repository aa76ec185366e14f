//! Wide kernels: the AVX2 and AVX-512 builds of a loop kernel, beside the portable loops
//! of [`super::loops`]; `T::run` picks one at run time. Each is made of one of the kernel
//! runtime's register blocks (`convsym::__private`), whose sizes are chosen here per
//! build, one file per pass:
//!
//! - [`pointwise`]: a kernel of one tap, stride 1, no padding, as a matrix product:
//!   `rows` blocks of output channels times runs of the plane, for the forward pass and,
//!   through the dual layer, the input gradient.
//! - [`forward`]: the channel block, `block`: `MR` outputs along a row times `CB` output
//!   channels, each input value broadcast into a vector over the channels, for groups
//!   with a multiple of 8 output channels; else `rows`, runs along a row, each weight
//!   broadcast into a contiguous run of the input.
//! - [`input_gradient`]: at stride 1 the forward pass of a dual layer (its channel
//!   block, or `rows` with one input channel per group); else, for groups with a multiple
//!   of 16 input channels, the channel block on each phase of the stride (the inputs at
//!   one position modulo the stride, a stride-1 correlation of δ with some of the taps);
//!   else `rows` over δ, by phase of the stride.
//! - [`weight_gradient`]: the channel block with taps (or input channels) and positions
//!   trading places, or `dots`, partial sums of δ times the input along rows.
//!
//! - [`depthwise`]: layers of one input channel per group, each channel's padded plane
//!   copied on its own, which stays in the L1 cache: the forward pass and the input
//!   gradient at stride 1 (one output channel per group) in `stencil` blocks, the weight
//!   gradient in `stencil_dots`; tried after the channel block, before `rows`.
//!
//! [`layout`] holds what the passes share (each build's vectors, the limits, the blocks
//! along a row, the scratch), [`source`] the input as the blocks read it. Padding becomes
//! real zeros in a copy, so every block reads the same pattern. The copies and packed
//! weights are parts of one scratch buffer per call ([`Body`]), which the generated code
//! takes through `convsym::__private::wide_scratch!`: on the heap with `std`, else on the
//! stack where it fits the runtime's `STACK_SCRATCH`, else the portable build runs.

mod depthwise;
mod forward;
mod in_place;
mod input_gradient;
mod layout;
mod pointwise;
mod source;
mod weight_gradient;

use conv_runtime::Spec;
use conv_runtime::derive::Section;
use forward::{forward, forward_rows};
use input_gradient::{grad_input, grad_input_channels, grad_input_dual};
use layout::{AVX2, AVX512};
use pointwise::pointwise;
use proc_macro2::TokenStream;
use weight_gradient::{grad_weight, grad_weight_rows};

pub(super) use layout::{Block, Body, RowTiles, ZerosMeet};
pub(super) use pointwise::Spans;
pub(super) use weight_gradient::input_run;

/// `section`'s tasks along the plane ([`Spans`]) where its wide builds are the pointwise
/// product of a layer of one group: the forward pass, or the input gradient as its dual
/// layer's (as [`builds`] and `grad_input_dual` choose them).
pub(super) fn plane_tasks(spec: &Spec, section: Section) -> Option<Spans> {
    let both = |suits: &dyn Fn(layout::Isa) -> bool| suits(AVX2) && suits(AVX512);
    match section {
        Section::Forward => pointwise::spans(spec, false),
        Section::GradInput => {
            let dual = input_gradient::dual(spec)?;
            let dual_runs_pointwise = spec.in_channels_per_group() > 1
                && both(&|isa| {
                    depthwise::grad_input(spec, isa).is_none() && !forward::long_rows(&dual, isa)
                });
            dual_runs_pointwise
                .then(|| pointwise::spans(&dual, true))
                .flatten()
        }
        _ => None,
    }
}

/// The weight gradient's AVX2 and AVX-512 bodies where both are the channel block
/// (as [`builds`] chooses them), reading δ with `dz_sample` elements from one sample to
/// the next, and with `padded_before` the input's padded copy from `padded`
/// ([`padded_copy`]).
pub(super) fn grad_weight_reading(
    spec: &Spec,
    dz_sample: usize,
    padded_before: bool,
) -> Option<(Body, Body)> {
    let build = |isa| weight_gradient::grad_weight_reading(spec, isa, dz_sample, padded_before);
    build(AVX2).zip(build(AVX512))
}

/// The depthwise weight gradient's AVX2 and AVX-512 bodies where both are its
/// `stencil_dots` blocks (as [`builds`] chooses them), reading `x` and `dz` with
/// `channels` channels per sample (the input's, δ's).
pub(super) fn depthwise_grad_weight_reading(
    spec: &Spec,
    channels: [usize; 2],
) -> Option<(Body, Body)> {
    if blocks(spec, Section::GradWeight) != Some((Block::Stencil, Block::Stencil)) {
        return None;
    }
    let build = |isa| depthwise::grad_weight_reading(spec, isa, channels);
    build(AVX2).zip(build(AVX512))
}

/// The input gradient's AVX2 and AVX-512 bodies where both are `rows` over δ by phase
/// (as [`builds`] chooses them), for a layer of one sample that reads δ where it lies,
/// `delta_plane` elements from one channel to the next: a row tile's.
pub(super) fn grad_input_reading(spec: &Spec, delta_plane: usize) -> Option<(Body, Body)> {
    if blocks(spec, Section::GradInput) != Some((Block::PhaseRows, Block::PhaseRows)) {
        return None;
    }
    let build = |isa| input_gradient::grad_input_reading(spec, isa, delta_plane);
    build(AVX2).zip(build(AVX512))
}

/// Where the weight gradient's channel block pads a copy of the input: the elements of
/// a channel of the copy, and the statements that copy one channel, `x_sample`, into
/// `padded`, its zeros.
pub(super) fn padded_copy(spec: &Spec) -> Option<(usize, TokenStream)> {
    let source = source::Source::of(spec)?;
    source.padded.then(|| (source.plane, source.copy(spec, 1)))
}

/// The kinds of block `section`'s AVX2 and AVX-512 builds run ([`builds`]).
pub(super) fn blocks(spec: &Spec, section: Section) -> Option<(Block, Block)> {
    builds(spec, section).map(|(avx2, avx512)| (avx2.block, avx512.block))
}

/// A pass's AVX2 and AVX-512 bodies, the first kind of block that suits the layer in
/// each; `None` (the portable build alone) where none does, or for the bias gradient.
pub(super) fn builds(spec: &Spec, section: Section) -> Option<(Body, Body)> {
    let build = |isa| match section {
        Section::Forward => pointwise(spec, isa, false)
            .or_else(|| forward(spec, isa))
            .or_else(|| depthwise::forward(spec, isa))
            .or_else(|| forward_rows(spec, isa)),
        Section::GradInput => depthwise::grad_input(spec, isa)
            .or_else(|| grad_input_dual(spec, isa))
            .or_else(|| grad_input_channels(spec, isa))
            .or_else(|| grad_input(spec, isa)),
        Section::GradWeight => grad_weight(spec, isa)
            .or_else(|| depthwise::grad_weight(spec, isa))
            .or_else(|| grad_weight_rows(spec, isa)),
        Section::GradBias => None,
    };
    build(AVX2).zip(build(AVX512))
}
