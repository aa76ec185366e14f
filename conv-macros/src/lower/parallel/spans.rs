//! A pointwise layer's forward pass and input gradient cut along the plane: each task a
//! run of positions of one sample, every channel's, read and written in place
//! ([`wide::Spans`]).

use conv_runtime::Spec;
use conv_runtime::derive::Section;
use proc_macro2::TokenStream;
use quote::quote;

use super::super::{Array, kernel_impl, wide, with_scratch};
use super::operands::planes;
use super::tiles::TASKS;
use crate::lower::tokens::number;

/// The tasks of `section` (the forward pass or the input gradient) along the plane, where
/// its wide builds are the pointwise product and the batch alone makes fewer than
/// [`TASKS`] tasks; they run where the wide builds run (`Wide::runs_wide`). `inputs` and
/// `output` are the pass's.
pub(super) fn plane_tasks(
    spec: &Spec,
    section: Section,
    inputs: &[&Array],
    output: &Array,
) -> Option<TokenStream> {
    if spec.batch() >= TASKS {
        return None;
    }
    let wide::Spans {
        step,
        portable,
        builds: (avx2, avx512),
    } = wide::plane_tasks(spec, section)?;
    let (input_plane, output_plane, _) = planes(spec);
    // The pass as a forward pass: the input gradient's is its dual layer's, from δ.
    let (source_sample, out_channels, rename) = match section {
        Section::Forward => (spec.in_channels(), spec.out_channels(), None),
        _ => (
            spec.out_channels(),
            spec.in_channels(),
            Some(quote!(let x = dz;)),
        ),
    };
    let plane = input_plane.max(output_plane);
    let bias = inputs.iter().find(|array| array.name == "b");
    let (bias_field, bias_type, bias_value) = match bias {
        Some(array) => {
            let len = number(array.len);
            (quote!(b,), quote!(b: &'a [T; #len],), quote!(b,))
        }
        None => (TokenStream::new(), TokenStream::new(), TokenStream::new()),
    };
    let fields = quote!(source, w, #bias_field pieces, origin, end);
    let (avx2, avx512) = (with_scratch(&avx2, &fields), with_scratch(&avx512, &fields));
    let weights = number(spec.weight_len());
    let (source_sample, sample, plane, step) = (
        number(source_sample * plane),
        number(out_channels * plane),
        number(plane),
        number(step),
    );
    let portable = quote! {
        let Pass { source, w, #bias_field pieces, origin, .. } = self;
        #portable
    };
    let kernel = kernel_impl(&quote!('_, '_), &portable, &quote!(true), (&avx2, &avx512));
    let out = &output.name;
    Some(quote! {
        #rename
        ::convsym::__private::par::for_each_span(#out, #sample, #plane, #step, |n, origin, pieces| {
            struct Pass<'a, 'b, T> {
                source: &'a [T],
                w: &'a [T; #weights],
                #bias_type
                pieces: &'a mut [&'b mut [T]],
                origin: usize,
                end: usize,
            }
            #kernel
            T::run(Pass {
                source: &x[n * #source_sample..][..#source_sample],
                w,
                #bias_value
                end: origin + pieces.first().map_or(0, |piece| piece.len()),
                pieces,
                origin,
            });
        });
    })
}
