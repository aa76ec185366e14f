//! A depthwise layer's weight-gradient tasks over a batch, reading their channels of the
//! input and of δ where they lie.
//!
//! A task of a depthwise layer's weight gradient is a run of channels summed over the
//! whole batch. Those channels are one run of the input and one of δ in each sample, and
//! the `stencil_dots` blocks index both by sample and channel, so a task reads them with
//! the whole layer's channels per sample rather than gathering them into copies: on
//! `mobilenet-dw` at batch 8 the copies (29 MB of the input and δ a call) left two
//! threads no faster than one. The portable build, which runs where no wide one does,
//! gathers them as before.

use conv_runtime::Spec;
use proc_macro2::TokenStream;
use quote::quote;

use super::super::{loops, wide, with_scratch};
use super::delta::{gathered, reading_task};
use super::operands::planes;
use crate::lower::tokens::number;

/// The body of a task that computes the weight gradient of `task`, the groups `first..`
/// of the depthwise layer `spec` over its whole batch, reading the input and δ in place;
/// `None` where the wide builds of `spec` or of `task` are not the depthwise blocks, or
/// the batch is one sample (whose runs are read in place already).
pub(super) fn grad_weight_task(spec: &Spec, task: &Spec) -> Option<TokenStream> {
    let channels = [spec.in_channels(), spec.out_channels()];
    if spec.batch() == 1 || spec.in_channels_per_group() != 1 {
        return None;
    }
    wide::depthwise_grad_weight_reading(spec, channels)?;
    let (avx2, avx512) = wide::depthwise_grad_weight_reading(task, channels)?;
    let fields = quote!(x, dz, dw);
    let [avx2, avx512] = [avx2, avx512].map(|body| with_scratch(&body, &fields));
    let (input_plane, output_plane, _) = planes(spec);
    let batch = spec.batch();
    let [x_gathered, dz_gathered] = [
        gathered(
            "x",
            task.in_channels() * input_plane,
            spec.in_channels() * input_plane,
            batch,
        ),
        gathered(
            "dz",
            task.out_channels() * output_plane,
            spec.out_channels() * output_plane,
            batch,
        ),
    ];
    let portable = loops::grad_weight(task);
    let portable = quote! {
        let Pass { x, dz, dw } = self;
        #x_gathered
        #dz_gathered
        #portable
    };
    let [weights, x_unit, dz_unit] = [
        task.weight_len(),
        input_plane,
        spec.out_channels_per_group() * output_plane,
    ]
    .map(number);
    Some(reading_task(
        &quote! {
            x: &'a [T],
            dz: &'a [T],
            dw: &'a mut [T; #weights],
        },
        &quote! {
            x: &x[first * #x_unit..],
            dz: &dz[first * #dz_unit..],
            dw: ::convsym::__private::par::array_mut(dw),
        },
        &portable,
        (&avx2, &avx512),
    ))
}
