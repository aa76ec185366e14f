//! The input gradient by phase of the last axis in `rows` blocks, over a copy of δ padded
//! along the last axis: the wide build for layers whose input channels fill no vector.

use conv_runtime::{Axis, Spec};
use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};

use super::super::layout::{Body, Isa, MOST_PHASES, Runs, Scratch, call_rows, strides, table_fits};
use crate::lower::tokens::{linear, nest, number};
use frame::{Padded, part_names, row_parts};
use staged::Staged;

mod frame;
mod staged;

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
    let body = padded.framed(
        spec,
        (&inputs, &input_flat),
        (before, length, delta_plane),
        (&constants, &packs, &bodies),
    )?;
    padded.body(spec, scratch, &body)
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
