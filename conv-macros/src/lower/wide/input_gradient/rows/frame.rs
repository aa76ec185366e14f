//! Where the input gradient by phase runs its rows: the groups and samples of the whole
//! pass ([`frame`]), or a part's sample and rows, which read only a band of δ's rows
//! ([`frame_of_part`]), and how the padded copy of δ lies in the scratch ([`Padded`]).

use conv_runtime::{Axis, Spec};
use proc_macro2::{Ident, TokenStream};
use quote::{ToTokens, quote};

use super::super::super::layout::{Block, Body, RowTiles, Scratch};
use crate::lower::tokens::{nest, number};

/// How the copy of δ padded along the last axis lies in the scratch: each output channel's
/// rows in turn, or, where the pass computes row parts ([`row_parts`]), each row's output
/// channels in turn, so that a part's band of δ's rows is the copy's first scalars and a
/// part allocates only those: the scratch of the whole pass, zeroed for each of
/// `resnet-stem`'s 8 row tiles, took a fifth of its input gradient on two threads.
#[derive(Clone, Copy)]
pub(super) struct Padded {
    /// Whether the pass computes row parts ([`row_parts`]).
    pub(super) row_parts: bool,
    channels: usize,
    /// Rows of δ: the output positions along the axes but the last.
    rows: usize,
    /// Scalars of a padded row.
    length: usize,
}

impl Padded {
    pub(super) fn of(spec: &Spec, length: usize, row_parts: bool) -> Option<Self> {
        let axes = spec.axes();
        let rows: usize = axes[..axes.len() - 1].iter().map(Axis::output).product();
        rows.checked_mul(length)?
            .checked_mul(spec.out_channels_per_group())?;
        Some(Padded {
            row_parts,
            channels: spec.out_channels_per_group(),
            rows,
            length,
        })
    }

    /// Where position `offset` of output channel `channel`'s first row lies.
    pub(super) fn at(&self, channel: usize, offset: usize) -> usize {
        if self.row_parts {
            channel * self.length + offset
        } else {
            channel * self.rows * self.length + offset
        }
    }

    /// From one row of δ to the next.
    pub(super) fn row_step(&self) -> usize {
        if self.row_parts {
            self.channels * self.length
        } else {
            self.length
        }
    }

    /// The pass's body of `tokens`, its scratch `scratch` and the copy: in row parts,
    /// last, and a part's band of it alone ([`Body::scratch_of_part`]).
    pub(super) fn body(&self, spec: &Spec, scratch: Scratch, tokens: &TokenStream) -> Option<Body> {
        let copy = [self.channels, self.rows, self.length];
        if !self.row_parts {
            let scratch = scratch.part_first("padded", &copy)?;
            return Some(Body::new(Block::PhaseRows, &scratch, tokens));
        }
        let before = scratch.len();
        let scratch = scratch.part("padded", &copy)?;
        let body = Body::new(Block::PhaseRows, &scratch, tokens);
        let band = delta_band(spec, &quote!(self.part));
        let [before, row] = [before, self.channels * self.length].map(number);
        Some(Body {
            scratch_of_part: Some(quote! {{
                #band
                #before + band_rows * #row
            }}),
            ..body.in_row_parts(spec.in_channels(), RowTiles::Banded)
        })
    }

    /// The body of every input row's `bodies` (from `row_start` in `dx_group`), looped
    /// over the outer axes' input rows `inputs` (flat index `input_flat`) in [`frame`], or,
    /// where the pass computes row parts, over the part's rows in [`frame_of_part`].
    pub(super) fn framed(
        &self,
        spec: &Spec,
        (inputs, input_flat): (&[Ident], &TokenStream),
        (before, length, delta_plane): (usize, usize, Option<usize>),
        (constants, packs, bodies): (&TokenStream, &TokenStream, &TokenStream),
    ) -> Option<TokenStream> {
        let axes = spec.axes();
        let (outer, last) = axes.split_at(axes.len() - 1);
        let last_input = number(last[0].input());
        if !self.row_parts {
            let rows_nest = quote! {
                let row_start = (#input_flat) * #last_input;
                #bodies
            };
            let rows_nest = nest(inputs, outer.iter().map(Axis::input), rows_nest);
            return frame(
                spec,
                (before, length, delta_plane),
                constants,
                packs,
                &rows_nest,
            );
        }
        // The first axis's rows from the part's first, `rows_from`.
        let first_stride = number(outer[1..].iter().map(Axis::input).product::<usize>());
        let rows_nest = quote! {
            let row_start = (#input_flat - rows_from * #first_stride) * #last_input;
            #bodies
        };
        let inner = nest(&inputs[1..], outer[1..].iter().map(Axis::input), rows_nest);
        let first = &inputs[0];
        let rows_nest = quote!(for #first in rows_from..rows_to { #inner });
        Some(frame_of_part(
            spec,
            (before, length),
            constants,
            packs,
            &rows_nest,
        ))
    }
}

/// The statements that bind a part's input rows along the first axis, `rows_from..rows_to`
/// (`part`, an expression), and the rows of δ their windows reach, `band_rows` of them from
/// `band_start`, flat over the axes but the last.
fn delta_band(spec: &Spec, part: &TokenStream) -> TokenStream {
    let axes = spec.axes();
    let first = &axes[0];
    let inner: usize = axes[1..axes.len() - 1].iter().map(Axis::output).product();
    let [rows, pad, reach, stride, outputs, inner] = [
        first.input(),
        first.pad_before(),
        (first.kernel() - 1) * first.dilation(),
        first.stride(),
        first.output(),
        inner,
    ]
    .map(number);
    quote! {
        let [rows_from, rows_to] = #part.rows_of(#rows);
        let band = ::convsym::__private::Part::delta_rows([rows_from, rows_to], [#pad, #reach, #stride, #outputs]);
        let (band_start, band_rows) = (band[0] * #inner, band[1].saturating_sub(band[0]) * #inner);
    }
}

/// A channel's inputs in `dx_group`, and what δ's row index is counted from in the padded
/// copy: in a part ([`row_parts`]), `plane` and its band's first row, `band_start`
/// ([`frame_of_part`]).
pub(super) fn part_names(spec: &Spec, row_parts: bool) -> (TokenStream, Option<TokenStream>) {
    if row_parts {
        (quote!(plane), Some(quote!(-band_start)))
    } else {
        let plane = number(spec.axes().iter().map(Axis::input).product::<usize>());
        (plane.to_token_stream(), None)
    }
}

/// Whether the input gradient computes parts of the pass (`Body::parts`): on two axes or
/// more, with one group, every input channel of a sample in some of the rows along the
/// first axis ([`frame_of_part`]). A row tile's own layer, which reads δ in place
/// (`delta_plane`), computes its whole pass, as does a layer of groups or of one axis.
pub(super) fn row_parts(spec: &Spec, delta_plane: Option<usize>) -> bool {
    delta_plane.is_none() && spec.groups() == 1 && spec.axes().len() > 1
}

/// The input gradient's groups and samples around `rows_nest`, with padded δ, `before`
/// zeros and `length` elements a row; δ read in place with `delta_plane` elements from
/// one channel to the next where that is `Some` (`None` for a layer of several samples).
fn frame(
    spec: &Spec,
    (before, length, delta_plane): (usize, usize, Option<usize>),
    constants: &TokenStream,
    packs: &TokenStream,
    rows_nest: &TokenStream,
) -> Option<TokenStream> {
    let axes = spec.axes();
    let last = &axes[axes.len() - 1];
    let (in_per_group, out_per_group) =
        (spec.in_channels_per_group(), spec.out_channels_per_group());
    let taps: usize = axes.iter().map(Axis::kernel).product();
    let length_literal = number(length);
    let output_plane = axes.iter().map(Axis::output).product::<usize>();
    let (input_sample, output_sample, input_group, weight_group) = (
        number(spec.in_channels() * axes.iter().map(Axis::input).product::<usize>()),
        number(spec.out_channels() * output_plane),
        number(in_per_group * axes.iter().map(Axis::input).product::<usize>()),
        number(out_per_group * in_per_group * taps),
    );
    let (before, last_output) = (number(before), number(last.output()));
    let (samples, delta_group, copy) = match delta_plane {
        None => (
            quote!(dx.chunks_exact_mut(#input_sample).zip(dz.chunks_exact(#output_sample))),
            {
                let group = number(out_per_group * output_plane);
                quote!(&d_sample[group * #group..][..#group])
            },
            quote! {
                for (row, d_row) in padded.chunks_exact_mut(#length_literal).zip(d_group.chunks_exact(#last_output)) {
                    row[#before..][..#last_output].clone_from_slice(d_row);
                }
            },
        ),
        Some(plane) if spec.batch() == 1 => {
            let (plane_literal, rows) = (number(plane), output_plane / last.output());
            let (channel_rows, channel_len) = (number(rows * length), number(output_plane));
            (
                quote!(dx.chunks_exact_mut(#input_sample).zip(::core::iter::once(dz))),
                {
                    let group = number(out_per_group * plane);
                    quote!(&d_sample[group * #group..])
                },
                quote! {
                    for (c, rows) in padded.chunks_exact_mut(#channel_rows).enumerate() {
                        let d_rows = &d_group[c * #plane_literal..][..#channel_len];
                        for (row, d_row) in rows.chunks_exact_mut(#length_literal).zip(d_rows.chunks_exact(#last_output)) {
                            row[#before..][..#last_output].clone_from_slice(d_row);
                        }
                    }
                },
            )
        }
        Some(_) => return None,
    };
    Some(quote! {
        #constants
        for (group, w_group) in w.chunks_exact(#weight_group).enumerate() {
            #packs
            let samples = #samples;
            for (dx_sample, d_sample) in samples {
                let dx_group = &mut dx_sample[group * #input_group..][..#input_group];
                let d_group = #delta_group;
                // δ with zeros before and after each row of the last axis.
                #copy
                #rows_nest
            }
        }
    })
}

/// [`frame`] for the layer's own pass on two axes or more, one group, which computes its
/// `part` (`Body::parts`): the input rows `rows_from..rows_to` along the first axis of
/// every input channel of one sample, `plane` inputs a channel in `dx`, or the whole pass.
/// The part's rows read a band of δ's rows, `band_rows` from `band_start` (flat over the
/// axes but the last), which alone are copied into the padded rows, each row's channels
/// in turn ([`Padded`]).
fn frame_of_part(
    spec: &Spec,
    (before, length): (usize, usize),
    constants: &TokenStream,
    packs: &TokenStream,
    rows_nest: &TokenStream,
) -> TokenStream {
    let axes = spec.axes();
    let last = &axes[axes.len() - 1];
    let output_plane: usize = axes.iter().map(Axis::output).product();
    let input_plane: usize = axes.iter().map(Axis::input).product();
    let band = delta_band(spec, &quote!(part));
    let [row_len, in_channels, output_sample, weights, channel_rows] = [
        input_plane / axes[0].input(),
        spec.in_channels(),
        spec.out_channels() * output_plane,
        spec.weight_len(),
        spec.out_channels() * length,
    ]
    .map(number);
    let [output_plane, before, last_output, length] =
        [output_plane, before, last.output(), length].map(number);
    quote! {
        #constants
        #band
        if rows_from >= rows_to {
            return;
        }
        let plane = (rows_to - rows_from) * #row_len;
        let w_group = &w[..#weights];
        #packs
        // The whole pass's samples, or the part's.
        let samples = dx
            .chunks_exact_mut(#in_channels * plane)
            .zip(dz[part.sample * #output_sample..].chunks_exact(#output_sample));
        for (dx_group, d_sample) in samples {
            // The band of δ with zeros before and after each row of the last axis.
            for (r, rows) in padded.chunks_exact_mut(#channel_rows).take(band_rows).enumerate() {
                for (o, row) in rows.chunks_exact_mut(#length).enumerate() {
                    let d_row = &d_sample[o * #output_plane + (band_start + r) * #last_output..][..#last_output];
                    row[#before..][..#last_output].clone_from_slice(d_row);
                }
            }
            #rows_nest
        }
    }
}
