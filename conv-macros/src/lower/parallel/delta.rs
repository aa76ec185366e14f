//! Tasks that read δ where it lies: a weight gradient's over a batch, each its block of
//! δ's channels, and the input padded once for all of them; and the row tiles of an
//! input gradient by phase of the last axis whose tasks cut its input channels
//! ([`grad_input_tile`]; where a task holds them all, its tiles are parts of the layer's
//! own pass, `tiles`).
//!
//! A task of the weight gradient is a block of output channels summed over the whole
//! batch. Those channels of δ are one run in each sample, and the channel block reads δ
//! through an offset per sample and row, so it takes the whole layer's sample stride
//! instead of a gathered copy. Every task reads all of the input, and where the layer
//! pads, each padded the whole batch into its own copy: the form pads it once, over the
//! pool, before the tasks (`convsym::__private::par::pad`), and the tasks read that copy,
//! the same values in the same places. Where a task is whole blocks of the layer's own
//! builds, it is a call of the layer's own pass on its part, given that copy
//! (`Split::part`, `wide::Body::shared`); elsewhere a layer of its own. The portable
//! build, which runs where no wide one does, gathers δ's runs and reads the input as
//! before.

use conv_runtime::Spec;
use conv_runtime::derive::Section;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::super::wide::Block;
use super::super::{kernel_impl, loops, wide, with_scratch};
use super::operands::planes;
use crate::lower::tokens::number;

/// The statements before a weight gradient's tasks: `padded`, the input padded once for
/// every task where `spec`'s channel block pads it (empty where the wide builds do not
/// run); `None` where the layer does not pad, or its tasks do not read δ in place.
pub(super) fn before_tasks(spec: &Spec, tasks: usize) -> Option<TokenStream> {
    let (plane, copy) = wide::padded_copy(spec)?;
    in_place(spec, tasks)?;
    let (input_plane, _, _) = planes(spec);
    let [input_plane, plane] = [input_plane, plane].map(number);
    Some(quote! {
        let padded = ::convsym::__private::par::pad(x, #input_plane, #plane, |x_sample, padded| { #copy });
        let padded: &[T] = &padded;
    })
}

/// Whether the weight gradient's `tasks` tasks of `spec` read the input padded once before
/// them ([`before_tasks`]).
pub(super) fn pads_before_tasks(spec: &Spec, tasks: usize) -> bool {
    before_tasks(spec, tasks).is_some()
}

/// `spec`'s δ sample stride, where its `tasks` tasks read δ in place: a layer of one
/// group whose wide builds are the channel block, over a batch, or in one sample where
/// the tasks are more than two. A sample's tasks read δ in place as it stands anyway;
/// what they gain is the input padded once: `resnet-down`'s four tasks each padded the
/// whole input, and on two threads its weight gradient took 1.20–1.37 ms against
/// 1.13–1.22 ms with the copy shared (five alternations of the `speedup` bench, AMD Zen
/// 4). Two tasks pad at once on two threads either way, and the shared copy measured
/// within the noise, both ways (`dcgan-up`: 261–262 → 283–285 µs in the `threads` bench,
/// 277–281 → 264–268 µs in the `speedup` bench).
fn in_place(spec: &Spec, tasks: usize) -> Option<usize> {
    let (_, output_plane, _) = planes(spec);
    let sample = spec.out_channels() * output_plane;
    if spec.groups() != 1 || (spec.batch() == 1 && tasks <= 2) {
        return None;
    }
    // The whole layer's wide builds must be the channel block too, which adds each
    // channel's terms in the same order whatever the channels beside it.
    wide::grad_weight_reading(spec, sample, false)?;
    Some(sample)
}

/// The body of a task that computes the weight gradient of `task`, the output channels
/// `first..` of `spec` over its whole batch, one of `tasks`, reading δ in place (and the
/// input from `padded` where [`before_tasks`] makes it); `None` where [`in_place`] says
/// not to.
pub(super) fn grad_weight_task(spec: &Spec, task: &Spec, tasks: usize) -> Option<TokenStream> {
    let sample = in_place(spec, tasks)?;
    let padded_before = wide::padded_copy(spec).is_some();
    let (avx2, avx512) = wide::grad_weight_reading(task, sample, padded_before)?;
    let (padded_field, padded_type, padded_value, fields) = if padded_before {
        (
            quote!(padded,),
            quote!(padded: &'a [T],),
            quote!(padded,),
            quote!(x, padded, dz, dw),
        )
    } else {
        (
            TokenStream::new(),
            TokenStream::new(),
            TokenStream::new(),
            quote!(x, dz, dw),
        )
    };
    // A pass whose widest build turned wide after `par::pad` found it portable.
    let unpadded = padded_before.then(|| {
        quote! {
            if self.padded.is_empty() {
                return self.portable();
            }
        }
    });
    let [avx2, avx512] = [avx2, avx512].map(|body| {
        let body = with_scratch(&body, &fields);
        quote!(#unpadded #body)
    });
    let batch = spec.batch();
    let portable = loops::grad_weight(task);
    let dz_gathered = gathered("dz", task.output_len() / batch, sample, batch);
    let portable = quote! {
        let Pass { x, #padded_field dz, dw } = self;
        #dz_gathered
        #portable
    };
    let [input, weights, unit] = [task.input_len(), task.weight_len(), planes(spec).1].map(number);
    Some(reading_task(
        &quote! {
            x: &'a [T; #input],
            #padded_type
            dz: &'a [T],
            dw: &'a mut [T; #weights],
        },
        &quote! {
            x: ::convsym::__private::par::array(x),
            #padded_value
            dz: &dz[first * #unit..],
            dw: ::convsym::__private::par::array_mut(dw),
        },
        &portable,
        (&avx2, &avx512),
    ))
}

/// Whether the input gradient's row tiles of `spec` may read δ where it lies: one group,
/// its wide builds `rows` over δ ([`grad_input_tile`]), on a plane or a volume. A line's
/// tiles gather their band of δ instead (`tiles::whole`): read in place, the first, the
/// middle and the last tile were three layers, compiled in three builds each.
pub(super) fn reads_delta_in_place(spec: &Spec) -> bool {
    let phase_rows = Some((Block::PhaseRows, Block::PhaseRows));
    spec.axes().len() > 1
        && spec.groups() == 1
        && wide::blocks(spec, Section::GradInput) == phase_rows
}

/// The body of a row tile's task of the input gradient of `spec`, whose layer is `task`,
/// reading its rows of δ where they lie (from row `STARTS[tile]` of every channel of
/// sample `n`), its `w` bound already; `None` where the wide builds of `spec` or of
/// `task` are not `rows` over δ, or the layer has groups. The tile then copies δ once,
/// into its padded copy: gathering its rows first took 11% of the processor time of
/// `resnet-stem`'s input gradient on two threads. The portable build, which runs where
/// no wide one does, gathers them as before.
pub(super) fn grad_input_tile(spec: &Spec, task: &Spec) -> Option<TokenStream> {
    if !reads_delta_in_place(spec) {
        return None;
    }
    let (_, plane, _) = planes(spec);
    let (avx2, avx512) = wide::grad_input_reading(task, plane)?;
    let fields = quote!(w, dz, dx);
    let [avx2, avx512] = [avx2, avx512].map(|body| with_scratch(&body, &fields));
    let channels = spec.out_channels();
    let dz_gathered = gathered("dz", planes(task).1, plane, channels);
    let portable = loops::grad_input(task);
    let portable = quote! {
        let Pass { w, dz, dx } = self;
        #dz_gathered
        #portable
    };
    let [weights, inputs, sample, row] = [
        task.weight_len(),
        task.input_len(),
        channels * plane,
        plane / spec.axes()[0].output(),
    ]
    .map(number);
    Some(reading_task(
        &quote! {
            w: &'a [T; #weights],
            dz: &'a [T],
            dx: &'a mut [T; #inputs],
        },
        &quote! {
            w,
            dz: &dz[n * #sample + STARTS[tile] * #row..],
            dx: ::convsym::__private::par::array_mut(dx),
        },
        &portable,
        (&avx2, &avx512),
    ))
}

/// A task whose wide builds read the pass's operands in place: `Pass`, its fields
/// declared by `fields` and set to `values`, run through `portable` and the wide builds
/// `avx2` and `avx512`.
pub(super) fn reading_task(
    fields: &TokenStream,
    values: &TokenStream,
    portable: &TokenStream,
    (avx2, avx512): (&TokenStream, &TokenStream),
) -> TokenStream {
    let kernel = kernel_impl(&quote!('_), portable, &quote!(true), (avx2, avx512));
    quote! {
        struct Pass<'a, T> { #fields }
        #kernel
        T::run(Pass { #values });
    }
}

/// For a portable build, which reads a task's operands as one array: `tensor`, rebound to
/// its runs of `run` values, one every `sample` values of each of the `batch` samples,
/// gathered into a vector.
pub(super) fn gathered(tensor: &str, run: usize, sample: usize, batch: usize) -> TokenStream {
    let tensor = format_ident!("{tensor}");
    let len = number(run * batch);
    let [run, sample, batch] = [run, sample, batch].map(number);
    quote! {
        let #tensor = &::convsym::__private::par::gather(#tensor, 0, #run, #sample, #batch);
        let #tensor: &[T; #len] = ::convsym::__private::par::array(#tensor);
    }
}
