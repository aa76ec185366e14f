//! The forward pass's wide builds: the channel block ([`forward`]), and rows along the
//! last axis where it does not suit the layer ([`forward_rows`]), which the input
//! gradient's dual layer uses too ([`forward_rows_of`]).

use conv_runtime::{Axis, Spec};
use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use super::in_place::InPlace;
use super::layout::{
    Block, Body, Isa, MOST_SUMS, RowTiles, Runs, Scratch, ZerosMeet, by_blocks, by_even_blocks,
    call_block, call_block_on, call_rows, offsets, part_plane, strides, table_fits,
};
use super::source::Source;
use crate::lower::tokens::{linear, nest, number};

/// `forward_into`'s wide body for `isa`, when the layer suits it; it reads `x`, `w`, `b`
/// and writes `z` as the portable body does.
///
/// Each register block runs over all of its rows (input channels and taps) at once, its
/// sums in registers from the bias to the store. Cutting the rows into tiles whose packed
/// weights stay in the L1 cache, the sums kept as partial sums between tiles, measured
/// 3–7% slower on the `resnet` layers and `speech-1d` (issue 9, CPU time per call): the
/// weights stream from the L2 cache at under 8 bytes a cycle, which it sustains, and the
/// tiles add loads and stores of the sums and shorter blocks.
pub(super) fn forward(spec: &Spec, isa: Isa) -> Option<Body> {
    if long_rows(spec, isa) {
        return None;
    }
    let axes = spec.axes();
    let out_per_group = spec.out_channels_per_group();
    let in_per_group = spec.in_channels_per_group();
    let taps: usize = axes.iter().map(Axis::kernel).product();
    let (channels, _) = isa.forward_block(out_per_group, taps)?;
    let (outer, last) = axes.split_at(axes.len() - 1);
    let last = &last[0];
    let most = isa.row_along(channels);
    let (in_place, source, scratch) = input_reads(spec, most)?;
    let filter = in_per_group * taps;
    // `ROWS`: an input channel and a tap of the axes but the last, for each row.
    if !table_fits(&[in_per_group, taps / last.kernel()]) {
        return None;
    }
    let scratch = scratch.vectors("packed", filter, channels)?;

    // Each row of the register block: an input channel and a tap on every axis but the
    // last, as an offset into the group's source.
    let outer_reach = source.outer(spec, Axis::dilation);
    let outer_taps: Vec<usize> = outer.iter().map(Axis::kernel).collect();
    let row_offsets: Vec<usize> = (0..in_per_group)
        .flat_map(|channel| {
            offsets(&outer_taps, &outer_reach)
                .into_iter()
                .map(move |offset| channel * source.plane + offset)
        })
        .collect();
    let row_count = number(row_offsets.len());
    let row_offsets = row_offsets.into_iter().map(number);

    let geometry = [last.kernel(), last.stride(), last.dilation()];
    let channels_literal = number(channels);
    let call = |size: usize, first: TokenStream| {
        let block = read_block(in_place.as_ref(), (size, channels), &first, geometry);
        let size = number(size);
        // In a block of its own: reading a copy shadows `source` for this block alone.
        quote! {{
            let mut sums: [[T; #channels_literal]; #size] = ::core::array::from_fn(|_| start.clone());
            #block
            T::store::<_, #size, #channels_literal>(
                token,
                &sums,
                &mut z_block[row + #first..],
                plane,
            );
        }}
    };
    let row_body = by_even_blocks(last.output(), most, call);
    // Row tiles (`Part::rows`) along the first of two axes or more: `plane`, a channel's
    // outputs in the part, `row` counted from its first row.
    let row_tiles = axes.len() > 1;
    let positions_nest = rows_of_outputs(spec, &source, axes.len() - 1, &row_body, row_tiles);
    let (copy, groups) = copies(spec, (in_place.as_ref(), &source), channels, row_tiles);
    let source_sample = if source.padded {
        quote!(&padded[..])
    } else {
        quote!(&x_sample[..])
    };
    let input_sample = number(spec.in_channels() * axes.iter().map(Axis::input).product::<usize>());
    let group_source = number(in_per_group * source.plane);
    let filter = number(filter);
    let block_filters = number(channels * in_per_group * taps);
    let output_plane: usize = axes.iter().map(Axis::output).product();
    let plane = part_plane(axes[0].output(), output_plane, row_tiles);
    let out_channels = number(spec.out_channels());
    let blocks_per_group = number(out_per_group / channels);
    let start = if spec.bias() {
        quote!(::core::array::from_fn(|c| b[first + c].clone()))
    } else {
        quote!(::core::array::from_fn(|_| T::zero()))
    };
    // `part` ([`Body::parts`]): the whole pass, every sample's blocks, or a task's run of
    // blocks of one sample, from its first channel, in some rows or all.
    let body = quote! {
        const ROWS: [usize; #row_count] = [#(#row_offsets),*];
        #plane
        let samples = x[part.sample * #input_sample..].chunks_exact(#input_sample);
        let sample_part = z.len().min(#out_channels * plane);
        let blocks_of_samples = z.chunks_exact_mut(sample_part);
        let (first_block, w) = (part.first / #channels_literal, &w[part.first * #filter..]);
        for (x_sample, z_sample) in samples.zip(blocks_of_samples) {
            #copy
            let sample: &[T] = #source_sample;
            let blocks = z_sample
                .chunks_exact_mut(#channels_literal * plane)
                .zip(w.chunks_exact(#block_filters))
                .enumerate();
            for (index, (z_block, w_block)) in blocks {
                let index = first_block + index;
                let source = &sample[index / #blocks_per_group * #group_source..][..#group_source];
                #groups
                let first = index * #channels_literal;
                // The block's filters as vectors over its channels, one per tap: in the
                // build's 8-lane squares, where a value at a time took 2% of `resnet-down`'s
                // forward pass (2 126 against 2 085 µs, AMD Zen 4).
                T::transpose::<_, #channels_literal>(token, w_block, #filter, packed);
                let start: [T; #channels_literal] = #start;
                #positions_nest
            }
        }
    };
    // Its structural zeros are the input's padding (in a copy, or in the copies of the
    // edges that stand for it where the block reads in place; δ's, where it is the input
    // gradient's dual), and each meets only a weight. A block's channels divide the
    // group's, so no weight is a filler, and its outputs cover each row exactly
    // (`by_even_blocks`), so every stored sum is an output's own terms and zeros: a
    // check of the weights alone lets the wide build run.
    let mut body = Body::new(Block::Channels, &scratch, &body);
    body.zeros_meet = ZerosMeet::Weights;
    Some(if row_tiles {
        body.in_row_parts(channels, RowTiles::Banded)
    } else {
        body.in_parts(channels)
    })
}

/// The forward channel block's copies of the input for each sample (with `row_tiles`,
/// of a row tile's rows alone), and of a block's group where it reads in place.
fn copies(
    spec: &Spec,
    (in_place, source): (Option<&InPlace>, &Source),
    channels: usize,
    row_tiles: bool,
) -> (TokenStream, Option<TokenStream>) {
    match in_place {
        Some(in_place) => (
            in_place.copy(spec, row_tiles),
            Some(in_place.groups(spec, channels)),
        ),
        None if source.padded => (source.copy(spec, spec.in_channels()), None),
        None => (TokenStream::new(), None),
    }
}

/// Where the forward pass of `spec`, its rows cut into blocks of at most `most` outputs,
/// reads its input: in place with copies of its edges, or from a padded copy, or (an
/// unpadded layer) in place; with the scratch of the copies.
fn input_reads(spec: &Spec, most: usize) -> Option<(Option<InPlace>, Source, Scratch)> {
    if let Some(in_place) = InPlace::of(spec, most) {
        let scratch = in_place.scratch(spec)?;
        return Some((Some(in_place), Source::input(spec)?, scratch));
    }
    let source = Source::of(spec)?;
    let scratch = if source.padded {
        Scratch::default().part("padded", &[spec.in_channels(), source.plane])?
    } else {
        Scratch::default()
    };
    Some((None, source, scratch))
}

/// The register block of `size` outputs by `channels` from output `first` along a row,
/// `geometry` its taps, stride and dilation along the row: reading the source at `shift`
/// from where the row's windows start, or where the layer reads `in_place`, the input or a
/// copy as [`InPlace::block`] picks.
fn read_block(
    in_place: Option<&InPlace>,
    (size, channels): (usize, usize),
    first: &TokenStream,
    geometry: [usize; 3],
) -> TokenStream {
    if let Some(in_place) = in_place {
        return in_place.block(first, |rows, shift| {
            call_block_on(&rows, (size, channels), &shift, geometry)
        });
    }
    let stride = number(geometry[1]);
    call_block(
        (size, channels),
        &quote!(shift + (#first) * #stride),
        geometry,
    )
}

/// Whether the layer has one axis, at stride 1, of at least [`LONG_ROW`] runs of two
/// vectors: there `rows` blocks, 8 output channels by two vectors along the row, beat the
/// channel block, whose 8 outputs by 32 channels read every packed weight once per 8
/// outputs. On `speech-1d` (8000 outputs, 32 channels) the forward pass took 1.15 ms
/// against 1.38 (issue 9, Intel Xeon, AVX-512, one thread). On rows of two axes (56 and
/// 112 outputs) `rows` measured 3-45% slower.
pub(super) fn long_rows(spec: &Spec, isa: Isa) -> bool {
    let axes = spec.axes();
    axes.len() == 1 && axes[0].stride() == 1 && axes[0].output() >= LONG_ROW * 2 * isa.lanes
}

/// The runs of two vectors a row needs to take `rows` blocks over the channel block.
const LONG_ROW: usize = 16;

/// `body` for each row of outputs along the last axis, with `row`, where the row starts
/// in an output plane, and `shift`, where its first window starts in the source; the
/// loops run over the first `looped` axes, those before the last or fewer. With
/// `row_tiles`, the first axis over `first_row..end_row` alone, `row` counted from
/// `first_row` (a row tile, `Part::rows`).
fn rows_of_outputs(
    spec: &Spec,
    source: &Source,
    looped: usize,
    body: &TokenStream,
    row_tiles: bool,
) -> TokenStream {
    let axes = spec.axes();
    let outer = &axes[..looped];
    let output_strides = strides(&axes.iter().map(Axis::output).collect::<Vec<_>>());
    let positions: Vec<Ident> = (0..outer.len())
        .map(|index| format_ident!("p{index}"))
        .collect();
    let steps: Vec<_> = positions
        .iter()
        .zip(outer)
        .zip(&source.strides)
        .map(|((position, axis), stride)| (position, axis.stride() * stride))
        .collect();
    let starts: Vec<_> = positions.iter().zip(output_strides).collect();
    let (shift, start) = (linear(&steps), linear(&starts));
    if row_tiles && let Some((first, rest)) = positions.split_first() {
        let row_len = number(output_strides_first(spec));
        let body = quote! {
            let shift = #shift;
            let row = #start - first_row * #row_len;
            #body
        };
        let inner = nest(rest, outer[1..].iter().map(Axis::output), body);
        return quote!(for #first in first_row..end_row { #inner });
    }
    let body = quote! {
        let shift = #shift;
        let row = #start;
        #body
    };
    nest(&positions, outer.iter().map(Axis::output), body)
}

/// Outputs in a row of the first axis: every axis after it.
fn output_strides_first(spec: &Spec) -> usize {
    spec.axes()[1..].iter().map(Axis::output).product()
}

/// `forward_into`'s wide body for `isa` when the channel block does not suit the layer
/// and the last axis has stride 1: `rows` blocks over runs of outputs
/// along a row, one weight broadcast into a contiguous run of the input, `m` over a block
/// of output channels or, with one per group, over neighbouring runs of the row.
pub(super) fn forward_rows(spec: &Spec, isa: Isa) -> Option<Body> {
    forward_rows_of(spec, isa, false)
}

/// [`forward_rows`], or with `flipped` the same for the input gradient's dual layer
/// ([`grad_input_dual`](super::input_gradient::grad_input_dual)), whose weights are the
/// layer's, flipped and transposed.
pub(super) fn forward_rows_of(spec: &Spec, isa: Isa, flipped: bool) -> Option<Body> {
    let axes = spec.axes();
    let last = &axes[axes.len() - 1];
    let (in_per_group, out_per_group) =
        (spec.in_channels_per_group(), spec.out_channels_per_group());
    if isa.channels(out_per_group).is_some() && !long_rows(spec, isa) {
        return None;
    }
    let runs = Runs::of(out_per_group, last.output(), isa)?;
    let stacked = Stacked::of(spec, isa);
    let span = stacked.as_ref().map_or(runs.span(), |stacked| stacked.run);
    // A zero-padded copy of the group's input, each row long enough for whole runs.
    let source = Source::with_runs(spec, last.output().div_ceil(span).checked_mul(span)?)?;
    let taps: usize = axes.iter().map(Axis::kernel).product();
    // `ROWS`: an input channel and a tap, for each row.
    if !table_fits(&[in_per_group, taps]) {
        return None;
    }
    let scratch = Scratch::default()
        .part("padded", &[spec.in_channels(), source.plane])?
        .part("packed", &[in_per_group, taps, out_per_group])?;
    let rows = every_tap(spec, &source);
    let (sums, run, steps) = (number(runs.sums), number(runs.run), runs.steps());
    let (span_literal, last_output, out_per_group_literal) =
        (number(span), number(last.output()), number(out_per_group));
    let start = match (spec.bias(), runs.channels) {
        (false, _) => quote!(|_| ::core::array::from_fn(|_| T::zero())),
        (true, true) => quote!(|m| ::core::array::from_fn(|_| b_group[o0 + m].clone())),
        (true, false) => quote!(|_| ::core::array::from_fn(|_| b_group[0].clone())),
    };
    // The output channels whose weights are packed together: a block's.
    let block = if runs.channels { runs.sums } else { 1 };
    let positions = if let Some(rows_mode) = stacked {
        rows_mode.positions(spec, &source)
    } else {
        let store = store_outputs(spec, &runs);
        let (filter, block) = (number(in_per_group * taps), number(block));
        let channel_loop = runs.channel_loop(out_per_group, "o0");
        let call = call_rows(
            (runs.sums, runs.run),
            &quote! {
                rows: &ROWS,
                shift: shift + j0,
                #steps,
                weights: &packed[o0 * #filter..],
                weight_row: #block,
            },
        );
        let body = quote! {
            for j0 in (0..#last_output).step_by(#span_literal) {
                #channel_loop {
                    let mut sums: [[T; #run]; #sums] = ::core::array::from_fn(#start);
                    #call
                    #store
                }
            }
        };
        rows_of_outputs(spec, &source, axes.len() - 1, &body, false)
    };
    let copy = source.copy(spec, spec.in_channels());
    let source_group = number(in_per_group * source.plane);
    let output_group = number(out_per_group * axes.iter().map(Axis::output).product::<usize>());
    let packed_len = number(in_per_group * taps * out_per_group);
    let groups = spec.groups();
    let bias_group = spec.bias().then(|| {
        quote! {
            let b_group = &b[group * #out_per_group_literal..][..#out_per_group_literal];
        }
    });
    let (input_sample, output_sample) = (
        number(spec.in_channels() * axes.iter().map(Axis::input).product::<usize>()),
        number(spec.out_channels() * axes.iter().map(Axis::output).product::<usize>()),
    );
    let pack = pack_filters(spec, flipped, block);
    let body = quote! {
        #rows
        let samples = x.chunks_exact(#input_sample).zip(z.chunks_exact_mut(#output_sample));
        for (x_sample, z_sample) in samples {
            // Every channel at once: a block that read a row just copied would wait for it.
            #copy
            let whole = &*padded;
            for (group, w_group) in w.chunks_exact(#packed_len).enumerate().take(#groups) {
                #bias_group
                // The group's filters, `[c][tap][o]`: a row's weights for a block of channels.
                #pack
                let padded = &whole[group * #source_group..][..#source_group];
                let z_group = &mut z_sample[group * #output_group..][..#output_group];
                #positions
            }
        }
    };
    Some(Body::new(Block::Rows, &scratch, &body))
}

/// `ROWS` for the `rows` blocks: for each input channel of a group and each tap, where
/// the tap reads in the group's `source` for an output's window starting at 0.
fn every_tap(spec: &Spec, source: &Source) -> TokenStream {
    let axes = spec.axes();
    let (outer, last) = axes.split_at(axes.len() - 1);
    let outer_taps: Vec<usize> = outer.iter().map(Axis::kernel).collect();
    let outer_reach = source.outer(spec, Axis::dilation);
    let last_taps: Vec<usize> = (0..last[0].kernel())
        .map(|tap| source.tap(&last[0], tap))
        .collect();
    let outer_offsets = offsets(&outer_taps, &outer_reach);
    let mut rows = Vec::new();
    for channel in 0..spec.in_channels_per_group() {
        for offset in &outer_offsets {
            rows.extend(
                last_taps
                    .iter()
                    .map(|tap| channel * source.plane + offset + tap),
            );
        }
    }
    let (row_count, rows) = (number(rows.len()), rows.into_iter().map(number));
    quote!(const ROWS: [usize; #row_count] = [#(#rows),*];)
}

/// The statements that store a forward block's `sums` into the output row at `row`,
/// from output `j0` on.
fn store_outputs(spec: &Spec, runs: &Runs) -> TokenStream {
    let axes = spec.axes();
    let last_output = number(axes[axes.len() - 1].output());
    let output_plane = number(axes.iter().map(Axis::output).product::<usize>());
    if runs.channels {
        quote! {
            for (m, sums) in sums.iter().enumerate() {
                let z_row = &mut z_group[(o0 + m) * #output_plane + row..][..#last_output];
                for (z, sum) in z_row[j0..].iter_mut().zip(sums) {
                    z.clone_from(sum);
                }
            }
        }
    } else {
        quote! {
            let z_row = &mut z_group[row..][..#last_output];
            for (z, sum) in z_row[j0..].iter_mut().zip(sums.iter().flatten()) {
                z.clone_from(sum);
            }
        }
    }
}

/// A forward `rows` block over several output rows of one channel: `m`
/// runs over neighbouring rows along the last axis but one, each a run long enough for a
/// whole row, so that a weight broadcast once serves them all. For one output channel per
/// group (depthwise layers), where a block over one row would hold one or two sums.
struct Stacked {
    /// Rows per block.
    rows: usize,
    /// Sums per row: the row's length in whole vectors.
    run: usize,
}

impl Stacked {
    fn of(spec: &Spec, isa: Isa) -> Option<Self> {
        let axes = spec.axes();
        let (outer, last) = axes.split_at(axes.len() - 1);
        let vectors = last[0].output().div_ceil(isa.lanes);
        (spec.out_channels_per_group() == 1 && !outer.is_empty() && vectors <= 4).then(|| Stacked {
            rows: MOST_SUMS.min(isa.sums / vectors),
            run: vectors * isa.lanes,
        })
    }

    /// The loops over the output rows, in blocks of rows along the last axis but one.
    fn positions(&self, spec: &Spec, source: &Source) -> TokenStream {
        let axes = spec.axes();
        let (outer, last) = axes.split_at(axes.len() - 1);
        let (stacked, rest) = outer
            .split_last()
            .unwrap_or_else(|| unreachable!("`of` checked"));
        let step = stacked.stride() * source.strides[rest.len()];
        let last_output = last[0].output();
        let (run, step_literal, width) = (number(self.run), number(step), number(last_output));
        let start = if spec.bias() {
            quote!(b_group[0].clone())
        } else {
            quote!(T::zero())
        };
        let block = by_blocks(stacked.output(), self.rows, |size, first| {
            let call = call_rows(
                (size, self.run),
                &quote! {
                    rows: &ROWS,
                    shift: shift + (#first) * #step_literal,
                    step: #step_literal,
                    weights: &packed[..],
                    weight_row: 1,
                    weight_step: 0,
                },
            );
            let size = number(size);
            quote! {
                let mut sums: [[T; #run]; #size] =
                    ::core::array::from_fn(|_| ::core::array::from_fn(|_| #start));
                #call
                for (m, sums) in sums.iter().enumerate() {
                    let z_row = &mut z_group[row + ((#first) + m) * #width..][..#width];
                    z_row.clone_from_slice(&sums[..#width]);
                }
            }
        });
        // The rows of the axes before the stacked one.
        rows_of_outputs(spec, source, rest.len(), &block, false)
    }
}

/// The statements that fill `packed` with a group's filters `w_group`, `block` output
/// channels at a time as `[o / block][c][tap][o % block]`, so that a block of channels
/// reads its weights in order; with `flipped`, from the filters of the layer whose dual
/// this is.
pub(super) fn pack_filters(spec: &Spec, flipped: bool, block: usize) -> TokenStream {
    let taps: usize = spec.axes().iter().map(Axis::kernel).product();
    let out_per_group = spec.out_channels_per_group();
    let out_per_group_literal = number(out_per_group);
    let filter = number(spec.in_channels_per_group() * taps);
    // Where weight `r` (an input channel and a tap) of output channel `o` goes.
    let at = if block == 1 {
        quote!(o * #filter + r)
    } else if block == out_per_group {
        quote!(r * #out_per_group_literal + o)
    } else {
        let block = number(block);
        quote!((o / #block * #filter + r) * #block + o % #block)
    };
    if flipped {
        // The layer's filter `(c, o)` (here `o` counts its input channels) at tap `q` is
        // this one's `(o, c)` at the flipped tap `taps − 1 − q`.
        let channel = if out_per_group == 1 {
            quote!(let (c, o) = (filter, 0);)
        } else {
            quote!(let (c, o) = (filter / #out_per_group_literal, filter % #out_per_group_literal);)
        };
        let taps_literal = number(taps);
        quote! {
            for (filter, weights) in w_group.chunks_exact(#taps_literal).enumerate() {
                #channel
                for (q, weight) in weights.iter().enumerate() {
                    let r = c * #taps_literal + #taps_literal - 1 - q;
                    packed[#at].clone_from(weight);
                }
            }
        }
    } else {
        quote! {
            for (o, filter) in w_group.chunks_exact(#filter).enumerate() {
                for (r, weight) in filter.iter().enumerate() {
                    packed[#at].clone_from(weight);
                }
            }
        }
    }
}
