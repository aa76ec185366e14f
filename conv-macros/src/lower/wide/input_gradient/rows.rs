//! The input gradient by phase of the last axis in `rows` blocks, over a copy of δ padded
//! along the last axis: the wide build for layers whose input channels fill no vector.

use conv_runtime::{Axis, Spec};
use proc_macro2::{Ident, Literal, TokenStream};
use quote::{ToTokens, format_ident, quote};

use super::super::layout::{
    Block, Body, Isa, MOST_PHASES, Runs, Scratch, call_rows, strides, table_fits,
};
use crate::lower::tokens::{linear, nest, number};

/// `grad_input_into`'s wide body for `isa`, when the layer suits it. For each input row
/// and each phase of the last axis (position modulo the stride), runs of inputs are
/// summed in `rows` blocks over the output channels and the taps that
/// reach the phase, from a copy of δ padded along the last axis with zeros wherever no
/// output reads: no tap ever multiplies a dilated δ's inserted zeros.
pub(in super::super) fn grad_input(spec: &Spec, isa: Isa) -> Option<Body> {
    phase_rows(spec, isa, None)
}

/// [`grad_input`] for a row tile's layer (one sample, its rows of δ a run of each of the
/// whole layer's δ channels), reading δ where it lies, `delta_plane` elements from one
/// channel to the next: its task then copies δ once, into the padded copy, rather than
/// gathering its rows first.
pub(in super::super) fn grad_input_reading(
    spec: &Spec,
    isa: Isa,
    delta_plane: usize,
) -> Option<Body> {
    phase_rows(spec, isa, Some(delta_plane))
}

/// [`grad_input`], reading δ in place with `delta_plane` elements a channel where `Some`.
fn phase_rows(spec: &Spec, isa: Isa, delta_plane: Option<usize>) -> Option<Body> {
    let axes = spec.axes();
    let (outer, last) = axes.split_at(axes.len() - 1);
    let last = &last[0];
    let (in_per_group, out_per_group) =
        (spec.in_channels_per_group(), spec.out_channels_per_group());
    // Each phase of the stride is a block of code, with a table of the δ rows its taps
    // read for each output channel: a layer with too many phases or rows keeps the
    // portable build.
    if last.stride() > MOST_PHASES || !table_fits(&[out_per_group, last.kernel()]) {
        return None;
    }
    let runs = Runs::of(in_per_group, last.input().div_ceil(last.stride()), isa)?;
    let (phases, before, length) = phases(last, runs.span())?;
    let taps: usize = axes.iter().map(Axis::kernel).product();
    let padded = Padded::of(spec, length, row_parts(spec, delta_plane))?;
    let mut scratch = Scratch::default();
    let (inputs, tap_names, checks, [tap_flat, row_flat, input_flat]) = reaching(outer);
    let (sums, run) = (number(runs.sums), number(runs.run));
    let steps = runs.steps();
    let (input_plane, band_start) = part_names(spec, padded.row_parts);
    let (last_input, last_stride, row_step) = (
        number(last.input()),
        number(last.stride()),
        number(padded.row_step()),
    );
    let staged = Staged::of(&runs, &phases);
    if let Some(staged) = &staged {
        scratch = scratch.part("staged", &[in_per_group, staged.phases, staged.span])?;
    }

    let mut constants = TokenStream::new();
    let mut packs = TokenStream::new();
    let mut bodies = TokenStream::new();
    // Each reached phase's inputs and the block of one run of them.
    let mut blocks = Vec::new();
    for Phase {
        first: phase,
        inputs: count,
        taps: reach,
    } in &phases
    {
        let count = number(*count);
        let phase = *phase;
        if reach.is_empty() {
            bodies.extend(unreached(spec, staged.as_ref(), phase, &input_plane));
            continue;
        }
        let rows_name = format_ident!("PHASE_{phase}");
        let packed = format_ident!("packed_{phase}");
        let rows: Vec<usize> = (0..out_per_group)
            .flat_map(|o| reach.iter().map(move |&(_, offset)| padded.at(o, offset)))
            .collect();
        let (rows_count, rows) = (number(rows.len()), rows.into_iter().map(number));
        constants.extend(quote!(const #rows_name: [usize; #rows_count] = [#(#rows),*];));
        let width = out_per_group * reach.len() * in_per_group;
        scratch = scratch.part(&packed.to_string(), &[taps / last.kernel(), width])?;
        packs.extend(pack_phase(spec, reach, &packed));
        let (width, channels) = (number(width), number(in_per_group));
        let store = store_phase(
            staged.as_ref(),
            &runs,
            (phase, count.clone()),
            (&input_plane, &last_input, &last_stride),
        );
        let call = call_rows(
            (runs.sums, runs.run),
            &quote! {
                rows: &#rows_name,
                shift: (#row_flat #band_start) * #row_step + j0,
                #steps,
                weights: &#packed[(#tap_flat) * #width + c0..],
                weight_row: #channels,
            },
        );
        let mut tap_nest = quote! {
            #checks
            #call
        };
        tap_nest = nest(&tap_names, outer.iter().map(Axis::kernel), tap_nest);
        let channel_loop = runs.channel_loop(in_per_group, "c0");
        blocks.push((
            count,
            quote! {
                #channel_loop {
                    let mut sums: [[T; #run]; #sums] =
                        ::core::array::from_fn(|_| ::core::array::from_fn(|_| T::zero()));
                    #tap_nest
                    #store
                }
            },
        ));
    }
    bodies.extend(phase_runs(
        spec,
        staged.as_ref(),
        &blocks,
        (phases[0].inputs, runs.span(), &input_plane),
    ));
    let body = framed(
        spec,
        (&inputs, &input_flat),
        (before, length, delta_plane),
        (&constants, &packs, &bodies),
    )?;
    padded.body(spec, scratch, &body)
}

/// How the copy of δ padded along the last axis lies in the scratch: each output channel's
/// rows in turn, or, where the pass computes row parts ([`row_parts`]), each row's output
/// channels in turn, so that a part's band of δ's rows is the copy's first scalars and a
/// part allocates only those: the scratch of the whole pass, zeroed for each of
/// `resnet-stem`'s 8 row tiles, took a fifth of its input gradient on two threads.
#[derive(Clone, Copy)]
struct Padded {
    row_parts: bool,
    channels: usize,
    /// Rows of δ: the output positions along the axes but the last.
    rows: usize,
    /// Scalars of a padded row.
    length: usize,
}

impl Padded {
    fn of(spec: &Spec, length: usize, row_parts: bool) -> Option<Self> {
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
    fn at(&self, channel: usize, offset: usize) -> usize {
        if self.row_parts {
            channel * self.length + offset
        } else {
            channel * self.rows * self.length + offset
        }
    }

    /// From one row of δ to the next.
    fn row_step(&self) -> usize {
        if self.row_parts {
            self.channels * self.length
        } else {
            self.length
        }
    }

    /// The pass's body of `tokens`, its scratch `scratch` and the copy: in row parts,
    /// last, and a part's band of it alone ([`Body::scratch_of_part`]).
    fn body(&self, spec: &Spec, scratch: Scratch, tokens: &TokenStream) -> Option<Body> {
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
            ..body.in_row_parts(spec.in_channels())
        })
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
        let band = if rows_from < rows_to {
            ::convsym::__private::Part::delta_rows([rows_from, rows_to], [#pad, #reach, #stride, #outputs])
        } else {
            [0, 0]
        };
        let (band_start, band_rows) = (band[0] * #inner, band[1].saturating_sub(band[0]) * #inner);
    }
}

/// The body of every input row's `bodies` (from `row_start` in `dx_group`), looped over
/// the outer axes' input rows `inputs` (flat index `input_flat`) in [`frame`], or, where
/// the pass computes parts, over the part's rows in [`frame_of_part`].
fn framed(
    spec: &Spec,
    (inputs, input_flat): (&[Ident], &TokenStream),
    (before, length, delta_plane): (usize, usize, Option<usize>),
    (constants, packs, bodies): (&TokenStream, &TokenStream, &TokenStream),
) -> Option<TokenStream> {
    let axes = spec.axes();
    let (outer, last) = axes.split_at(axes.len() - 1);
    let last_input = number(last[0].input());
    if !row_parts(spec, delta_plane) {
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

/// A channel's inputs in `dx_group`, and what δ's row index is counted from in the padded
/// copy: in a part ([`row_parts`]), `plane` and its band's first row, `band_start`
/// ([`frame_of_part`]).
fn part_names(spec: &Spec, row_parts: bool) -> (TokenStream, Option<TokenStream>) {
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
fn row_parts(spec: &Spec, delta_plane: Option<usize>) -> bool {
    delta_plane.is_none() && spec.groups() == 1 && spec.axes().len() > 1
}

/// One phase of the last axis in the input gradient: the inputs `phase + s·j`, and the
/// taps that reach them, each with the offset of the δ it reads for `j = 0` in a row of
/// padded δ.
struct Phase {
    /// The first input, and the phase's number.
    first: usize,
    /// Inputs in the phase.
    inputs: usize,
    /// `(tap, offset)`, taps ascending.
    taps: Vec<(usize, usize)>,
}

/// The last axis's phases, the zeros padded δ needs before a row, and its row length
/// when rows are read in runs of `run` inputs; `None` where a row would not fit `usize`.
/// In `i128`, where no sum or product of these sizes overflows.
fn phases(axis: &Axis, run: usize) -> Option<(Vec<Phase>, usize, usize)> {
    let wide = |value: usize| value as i128;
    let (stride, pad) = (wide(axis.stride()), wide(axis.pad_before()));
    let reach = wide(axis.kernel() - 1) * wide(axis.dilation());
    // δ index `(i + pad − q·d) / s` is at least `⌊(pad − reach) / s⌋` for `i ≥ 0`.
    let before = (-(pad - reach).div_euclid(stride)).max(0);
    let mut length = before + wide(axis.output());
    let mut phases = Vec::new();
    for phase in 0..axis.stride().min(axis.input()) {
        let inputs = (axis.input() - phase).div_ceil(axis.stride());
        let read = wide(inputs.div_ceil(run)) * wide(run);
        let mut taps = Vec::new();
        for tap in 0..axis.kernel() {
            let reached = wide(phase) + pad - wide(tap) * wide(axis.dilation());
            if reached.rem_euclid(stride) == 0 {
                let offset = reached.div_euclid(stride) + before;
                length = length.max(offset + read);
                taps.push((tap, usize::try_from(offset).ok()?));
            }
        }
        phases.push(Phase {
            first: phase,
            inputs,
            taps,
        });
    }
    Some((
        phases,
        usize::try_from(before).ok()?,
        usize::try_from(length).ok()?,
    ))
}

/// The outer axes of the input gradient: for input row `i…`, each tap `q…` that reaches
/// it from an output row `p…`, or `continue`; and the flat indices of the tap, the
/// output row and the input row.
fn reaching(outer: &[Axis]) -> (Vec<Ident>, Vec<Ident>, TokenStream, [TokenStream; 3]) {
    let name = |prefix: &str| -> Vec<Ident> {
        (0..outer.len())
            .map(|index| format_ident!("{prefix}{index}"))
            .collect()
    };
    let (inputs, taps, positions) = (name("i"), name("q"), name("p"));
    let flat_strides =
        |size: fn(&Axis) -> usize| strides(&outer.iter().map(size).collect::<Vec<_>>());
    let (kernel, output, input) = (
        flat_strides(Axis::kernel),
        flat_strides(Axis::output),
        flat_strides(Axis::input),
    );
    let mut checks = TokenStream::new();
    for (index, axis) in outer.iter().enumerate() {
        let (i, q, p) = (&inputs[index], &taps[index], &positions[index]);
        let (pad, extent) = (number(axis.pad_before()), number(axis.output()));
        let reach = linear(&[(q, axis.dilation())]);
        let divide = (axis.stride() > 1).then(|| {
            let stride = number(axis.stride());
            quote!(.filter(|reach| reach % #stride == 0).map(|reach| reach / #stride))
        });
        checks.extend(quote! {
            let Some(#p) = (#i + #pad)
                .checked_sub(#reach)
                #divide
                .filter(|&p| p < #extent)
            else {
                continue;
            };
        });
    }
    let flat = |variables: &[Ident], strides: &[usize]| {
        linear(
            &variables
                .iter()
                .zip(strides.iter().copied())
                .collect::<Vec<_>>(),
        )
    };
    let flat = [
        flat(&taps, &kernel),
        flat(&positions, &output),
        flat(&inputs, &input),
    ];
    (inputs, taps, checks, flat)
}

/// The statements that pack a group's weights `w_group` for the phase whose taps are
/// `reach` into `packed`, a part of the scratch, as `[outer tap][o][tap of the phase][c]`.
fn pack_phase(spec: &Spec, reach: &[(usize, usize)], packed: &Ident) -> TokenStream {
    let axes = spec.axes();
    let last = &axes[axes.len() - 1];
    let taps: usize = axes.iter().map(Axis::kernel).product();
    let in_per_group = spec.in_channels_per_group();
    let outer_taps = number(taps / last.kernel());
    let tap_list = reach.iter().map(|&(tap, _)| number(tap));
    let (kernel, filter, per_channel, channels) = (
        number(last.kernel()),
        number(in_per_group * taps),
        number(taps),
        number(in_per_group),
    );
    quote! {
        let mut values = #packed.iter_mut();
        for outer_tap in 0..#outer_taps {
            for filter in w_group.chunks_exact(#filter) {
                for tap in [#(#tap_list),*] {
                    for c in 0..#channels {
                        if let Some(value) = values.next() {
                            value.clone_from(&filter[c * #per_channel + outer_tap * #kernel + tap]);
                        }
                    }
                }
            }
        }
    }
}

/// A run of each phase's inputs, for every channel of the group, in a row of its own:
/// `staged[(c · phases + phase) · span + l]` for input `phase + s·(j0 + l)` of channel
/// `c`, the run from `j0`.
struct Staged {
    phases: usize,
    /// The inputs of a run of one phase: a block's.
    span: usize,
}

impl Staged {
    /// Where the blocks store their phases when the stride makes several: each phase's
    /// run into a row of the scratch, the phases of the run then interleaved into the
    /// input's row. Stored at the stride, the sums were written with scatters: a fifth
    /// of `upsample-1d`'s forward pass (the input gradient of its dual layer), 76–87 µs
    /// where the staged runs take 60–63 µs (AMD Zen 4, `BENCHMARKS.md`, "The strided
    /// input gradient's phases interleaved from rows").
    ///
    /// A block along the row of a lone channel keeps its stores at the stride: staged (in
    /// whole rows), the code of a 1-D layer grew past what `lower::transposed`'s tests
    /// allow for it.
    fn of(runs: &Runs, phases: &[Phase]) -> Option<Self> {
        (runs.channels && phases.len() > 1).then_some(Staged {
            phases: phases.len(),
            span: runs.span(),
        })
    }

    /// The statements that store a block's `sums`, the inputs of `phase` from `j0` on
    /// (fewer past its `count`), into the phase's row of each of its channels.
    fn store(&self, phase: usize, count: &Literal) -> TokenStream {
        let (phases, span, phase) = (number(self.phases), number(self.span), number(phase));
        quote! {
            let stored = (#count - j0).min(#span);
            for (m, sums) in sums.iter().enumerate() {
                let row = &mut staged[((c0 + m) * #phases + #phase) * #span..][..#span];
                row[..stored].clone_from_slice(&sums[..stored]);
            }
        }
    }

    /// [`phase_runs`] staged: a run of each phase, then the run's inputs interleaved.
    fn runs(
        &self,
        spec: &Spec,
        blocks: &[(Literal, TokenStream)],
        (first, input_plane): (usize, &TokenStream),
    ) -> TokenStream {
        let (first, span) = (number(first), number(self.span));
        let phases = blocks
            .iter()
            .map(|(count, block)| quote!(if j0 < #count { #block }));
        let interleave = self.interleave(spec, input_plane);
        quote! {
            for j0 in (0..#first).step_by(#span) {
                #(#phases)*
                #interleave
            }
        }
    }

    /// The statements that zero the rows of `phase`, which no tap reaches.
    fn zeros(&self, channels: usize, phase: usize) -> TokenStream {
        let (phases, span, phase, channels) = (
            number(self.phases),
            number(self.span),
            number(phase),
            number(channels),
        );
        quote! {
            for c in 0..#channels {
                for value in &mut staged[(c * #phases + #phase) * #span..][..#span] {
                    *value = T::zero();
                }
            }
        }
    }

    /// The statements that write the run from `j0` of each channel's phases into its row
    /// of `dx` at `row_start`: input `phase + s·(j0 + l)` from `staged`.
    fn interleave(&self, spec: &Spec, input_plane: &TokenStream) -> TokenStream {
        let axes = spec.axes();
        let last = &axes[axes.len() - 1];
        let (phases, span) = (number(self.phases), number(self.span));
        let (last_input, stride) = (number(last.input()), number(last.stride()));
        quote! {
            let first = j0 * #stride;
            let end = (first + #span * #stride).min(#last_input);
            for (c, rows) in staged.chunks_exact(#phases * #span).enumerate() {
                let dx_row = &mut dx_group[c * #input_plane + row_start..][..#last_input];
                let rows: [&[T]; #phases] =
                    ::core::array::from_fn(|phase| &rows[phase * #span..][..#span]);
                let mut chunks = dx_row[first..end].chunks_exact_mut(#phases);
                for (l, inputs) in (&mut chunks).take(#span).enumerate() {
                    for (dx, row) in inputs.iter_mut().zip(&rows) {
                        dx.clone_from(&row[l]);
                    }
                }
                let l = (end - first) / #phases;
                for (dx, row) in chunks.into_remainder().iter_mut().zip(&rows) {
                    dx.clone_from(&row[l]);
                }
            }
        }
    }
}

/// The runs of every reached phase, `blocks` holding each one's inputs and the block of
/// one run of them: phase after phase, or with `staged`, a run of each in turn;
/// `(first, span)` the inputs of the first phase (the most) and of a run.
fn phase_runs(
    spec: &Spec,
    staged: Option<&Staged>,
    blocks: &[(Literal, TokenStream)],
    (first, span, input_plane): (usize, usize, &TokenStream),
) -> TokenStream {
    if let Some(staged) = staged {
        return staged.runs(spec, blocks, (first, input_plane));
    }
    let span = number(span);
    let runs = blocks
        .iter()
        .map(|(count, block)| quote!(for j0 in (0..#count).step_by(#span) { #block }));
    quote!(#(#runs)*)
}

/// The statements that store a block's `sums` for the inputs `phase + s·(j0 + l)` of the
/// row at `row_start`, the first `count` of the phase (with `staged`, into its rows).
fn store_phase(
    staged: Option<&Staged>,
    runs: &Runs,
    (phase, count): (usize, Literal),
    (input_plane, last_input, last_stride): (&TokenStream, &Literal, &Literal),
) -> TokenStream {
    if let Some(staged) = staged {
        return staged.store(phase, &count);
    }
    let phase = number(phase);
    if runs.channels {
        quote! {
            for (m, sums) in sums.iter().enumerate() {
                let dx_row = &mut dx_group[(c0 + m) * #input_plane + row_start..][..#last_input];
                for (l, sum) in sums.iter().enumerate().take(#count - j0.min(#count)) {
                    dx_row[#phase + #last_stride * (j0 + l)].clone_from(sum);
                }
            }
        }
    } else {
        quote! {
            let dx_row = &mut dx_group[row_start..][..#last_input];
            for (l, sum) in sums.iter().flatten().enumerate().take(#count - j0.min(#count)) {
                dx_row[#phase + #last_stride * (j0 + l)].clone_from(sum);
            }
        }
    }
}

/// The statements that zero the inputs of a phase that no tap reaches, in the row at
/// `row_start` of every channel of the group (with `staged`, its rows).
fn unreached(
    spec: &Spec,
    staged: Option<&Staged>,
    phase: usize,
    input_plane: &TokenStream,
) -> TokenStream {
    if let Some(staged) = staged {
        return staged.zeros(spec.in_channels_per_group(), phase);
    }
    let axes = spec.axes();
    let last = &axes[axes.len() - 1];
    let (channels, phase) = (number(spec.in_channels_per_group()), number(phase));
    let (last_input, last_stride) = (number(last.input()), number(last.stride()));
    quote! {
        for c in 0..#channels {
            let dx_row = &mut dx_group[c * #input_plane + row_start..][..#last_input];
            for dx in dx_row.iter_mut().skip(#phase).step_by(#last_stride) {
                *dx = T::zero();
            }
        }
    }
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
