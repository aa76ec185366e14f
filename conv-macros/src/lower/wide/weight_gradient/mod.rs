//! The weight gradient's wide builds: the forward pass's channel block with positions and
//! taps trading places ([`grad_weight`]), or partial sums of δ times the input along rows
//! ([`rows`]).

use conv_runtime::{Axis, Spec};
use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::layout::{
    AVX2, AVX512, Block, Body, Isa, Scratch, block_size, by_blocks, call_block_on, offsets,
    product, table_fits,
};
use super::source::Source;
use crate::lower::tokens::number;

mod rows;

pub(super) use rows::grad_weight_rows;

/// The most bytes of packed δ a tile of output rows takes: a third of the L1 cache. In
/// tiles of 16 KiB, the weight gradient of `resnet-stem` took 1.63 ms against 2.19 ms in
/// one tile, `resnet-down` 1.61 against 1.91, `dcgan-up` 0.32 against 0.36 and
/// `resnet-3x3` 1.43 against 1.50 ms; in tiles of 32, 64 and 128 KiB, 5-20% longer than
/// in 16 (issue 9, Intel Xeon, one thread).
const TILE_BYTES: usize = 16 << 10;

/// The most bytes of packed δ a 1×1 layer's weight gradient keeps in one tile, where the
/// blocks read the input in place: half the L2 cache of the machines measured. Past it,
/// the packed δ no longer stays in L2 between blocks, and the blocks take
/// [`Isa::forward_block`]'s wider channel blocks (each input value read once for 64
/// channels rather than 32) over tiles of [`TILE_BYTES`]. `resnet-1x1` at batch 8
/// (3.2 MB), one thread then two, before → after: 9.5 → 6.0 and 4.7 → 3.3 ms in one
/// session; 10.4–10.6 → 11.4–11.9 and 6.9–7.6 → 4.5–5.4 ms in the next (issue 12, Intel
/// Xeon). At batch 1 (401 KB) 64-channel tiles were 10% slower than one tile of 32.
const ONE_TILE_BYTES: usize = 1 << 20;

/// `grad_weight_into`'s wide body for `isa`, when the layer suits it: the forward pass's
/// register block with positions and taps trading places. A block holds some taps along
/// the last axis (or, where a group has more input channels than taps along a row, some
/// input channels) times `CB` output channels, sums over every sample and output position
/// (the rows of the block, then the positions along a row), and each input value read is
/// multiplied into a vector of δ for all `CB` channels.
///
/// The rows are cut into tiles, each tile's δ packed as vectors over the channels, every
/// block run over one tile before the next; a block's sums go from tile to tile through
/// `partial`, in the same order of terms as in one pass.
pub(super) fn grad_weight(spec: &Spec, isa: Isa) -> Option<Body> {
    let output_plane: usize = spec.axes().iter().map(Axis::output).product();
    grad_weight_reading(spec, isa, spec.out_channels() * output_plane, false)
}

/// [`grad_weight`] reading δ with `dz_sample` elements from one sample to the next (more
/// than the layer's own where δ is the output channels of a wider layer, read in place by
/// a parallel task that computes a block of them), and, where `padded_before` and the
/// layer pads, the padded copy of the input from `padded: &[T]`, which its caller made
/// once for every task ([`Source::copy`], channel by channel). The layer's own body,
/// which computes parts, reads that copy from `shared: &[T]` where it is not empty
/// ([`Body::shared`]), and pads its own where it is (the whole pass).
pub(super) fn grad_weight_reading(
    spec: &Spec,
    isa: Isa,
    dz_sample: usize,
    padded_before: bool,
) -> Option<Body> {
    let axes = spec.axes();
    let (outer, last) = axes.split_at(axes.len() - 1);
    let last = &last[0];
    let source = Source::of(spec)?;
    let output_plane: usize = axes.iter().map(Axis::output).product();
    let batch = spec.batch();
    let all_channels = batch * spec.in_channels();
    // `TAP_ROWS` holds an offset per tap of the axes but the last, which nothing else
    // bounds when the input is not copied.
    let outer_taps: Vec<usize> = outer.iter().map(Axis::kernel).collect();
    // `ROWS`, a sample and an output row; `TAP_ROWS`, a tap of the axes but the last.
    if !table_fits(&outer_taps) || !table_fits(&[batch, output_plane / last.output()]) {
        return None;
    }
    let (channels, all_rows, tile) = tiles(spec, &source, isa)?;
    let taps: usize = axes.iter().map(Axis::kernel).product();
    let filter = spec.in_channels_per_group() * taps;
    let scratch = Scratch::default()
        .vectors("packed", product(&[tile, last.output()])?, channels)?
        .vectors("partial", filter, channels)?;
    // The padded copy last, so that a part given the caller's copy (`shared`) takes the
    // scratch without it.
    let without_copy = scratch.len();
    let scratch = if source.padded && !padded_before {
        scratch.part("padded", &[all_channels, source.plane])?
    } else {
        scratch
    };
    let tables = row_tables(spec, &source);

    let in_per_group = spec.in_channels_per_group();
    let channels_literal = number(channels);
    let output_plane_literal = number(output_plane);
    // The layer's own pass reads the caller's copy where it is given one.
    let own = dz_sample == spec.out_channels() * output_plane && !padded_before;
    let (store, input_runs) = sums_blocks(spec, isa, channels, &source, own);
    let (copy, whole) = if source.padded && own {
        let copy = source.copy_where(spec, all_channels, run_only(spec, input_runs));
        (
            TokenStream::new(),
            quote!(if shared.is_empty() { #copy &padded[..] } else { shared }),
        )
    } else if source.padded && !padded_before {
        (source.copy(spec, all_channels), quote!(&padded[..]))
    } else if source.padded {
        (TokenStream::new(), quote!(padded))
    } else {
        (TokenStream::new(), quote!(&x[..]))
    };
    let output_sample = number(dz_sample);
    let (blocks_per_group, in_per_group) = (
        number(spec.out_channels_per_group() / channels),
        Literal::usize_suffixed(in_per_group),
    );
    let (block_filters, filter_literal) = (number(channels * filter), number(filter));
    let rows_per_sample = output_plane / last.output();
    // The layer's own pass computes any `part` ([`Body::parts`]): the whole pass, or a
    // task's run of blocks from its first channel, which reads its channels of δ in
    // place. A body for a task's own layer, which reads a wider δ, computes it whole.
    let first_block = if own {
        quote!(part.first / #channels_literal)
    } else {
        quote!(0)
    };
    let (all_rows, tile, last_output) = (number(all_rows), number(tile), number(last.output()));
    // The sample and row within it of the tile's row `i`.
    let sample_row = if rows_per_sample == 1 {
        quote!(let (n, row) = (r0 + i, 0);)
    } else {
        let rows_per_sample = number(rows_per_sample);
        quote!(let (n, row) = ((r0 + i) / #rows_per_sample, (r0 + i) % #rows_per_sample);)
    };
    let body = quote! {
        #tables
        let first_block = #first_block;
        let x_sample: &[T] = x;
        #copy
        let source: &[T] = #whole;
        for (index, dw_block) in dw.chunks_exact_mut(#block_filters).enumerate() {
            let index = first_block + index;
            let first = index * #channels_literal;
            let group_channel = index / #blocks_per_group * #in_per_group;
            for vector in partial.iter_mut() {
                *vector = ::core::array::from_fn(|_| T::zero());
            }
            for r0 in (0..#all_rows).step_by(#tile) {
                let rows = &ROWS[r0..][..(#all_rows - r0).min(#tile)];
                // δ of the block's channels as vectors, one per output position of the
                // tile's rows.
                for (i, vectors) in packed.chunks_exact_mut(#last_output).take(rows.len()).enumerate() {
                    #sample_row
                    let d_block = &dz[n * #output_sample + first * #output_plane_literal + row * #last_output..];
                    T::transpose::<_, #channels_literal>(token, d_block, #output_plane_literal, vectors);
                }
                #store
            }
            // The sums into the block's filters: 8 taps at a time through the build's
            // transposing store, the last few a value at a time.
            let (eights, rest) = partial.as_chunks::<8>();
            for (index, sums) in eights.iter().enumerate() {
                T::store::<_, 8, #channels_literal>(token, sums, &mut dw_block[index * 8..], #filter_literal);
            }
            for (i, vector) in rest.iter().enumerate() {
                for (c, sum) in vector.iter().enumerate() {
                    dw_block[c * #filter_literal + eights.len() * 8 + i].clone_from(sum);
                }
            }
        }
    };
    let body = Body::new(Block::Channels, &scratch, &body).in_input_runs(input_runs);
    Some(match (own, source.padded) {
        (true, true) => body.in_parts(channels).reading_shared(without_copy),
        (true, false) => body.in_parts(channels),
        _ => body,
    })
}

/// `ROWS`, the block's rows (a sample and an output row) as offsets into the source, and
/// `TAP_ROWS`, the taps on the axes but the last as offsets into the source.
fn row_tables(spec: &Spec, source: &Source) -> TokenStream {
    let axes = spec.axes();
    let outer = &axes[..axes.len() - 1];
    let outer_outputs: Vec<usize> = outer.iter().map(Axis::output).collect();
    let outer_taps: Vec<usize> = outer.iter().map(Axis::kernel).collect();
    let outer_steps = source.outer(spec, Axis::stride);
    let sample = spec.in_channels() * source.plane;
    let rows: Vec<usize> = (0..spec.batch())
        .flat_map(|n| {
            offsets(&outer_outputs, &outer_steps)
                .into_iter()
                .map(move |offset| n * sample + offset)
        })
        .collect();
    let tap_rows = offsets(&outer_taps, &source.outer(spec, Axis::dilation));
    let (row_count, rows) = (number(rows.len()), rows.into_iter().map(number));
    let (tap_count, tap_rows) = (number(tap_rows.len()), tap_rows.into_iter().map(number));
    quote! {
        const ROWS: [usize; #row_count] = [#(#rows),*];
        const TAP_ROWS: [usize; #tap_count] = [#(#tap_rows),*];
    }
}

/// [`grad_weight`]'s channel block, output rows (of every sample) and rows per tile: a
/// tile's δ, packed, stays in the L1 cache while every block of taps or input channels
/// reads it. One tile where the blocks read the input in place and all of it stays in the
/// L2 cache ([`ONE_TILE_BYTES`]): `resnet-1x1`'s channel planes lie 12 544 bytes apart,
/// and a tile's rows of 256 channels evict each other from the L1 cache's sets (at batch
/// 1, 10% slower in tiles of 2 rows, 2% in tiles of 9, than in one tile). Past it, a
/// layer of several taps takes the padded layers' tiles: unpadded, `speech-1d`'s shape at
/// batch 8 (`in = (8010,)`, 8 MB of δ in one tile) took 21.3–22.9 ms, 9.6–10.2 ms in
/// tiles of a row (Intel Xeon, one thread, best of 15).
fn tiles(spec: &Spec, source: &Source, isa: Isa) -> Option<(usize, usize, usize)> {
    let axes = spec.axes();
    let (outer, last) = axes.split_at(axes.len() - 1);
    let mut extents: Vec<usize> = outer.iter().map(Axis::output).collect();
    extents.push(spec.batch());
    let all_rows = product(&extents)?;
    let row_bytes =
        |channels| product(&[last[0].output(), channels, size_of::<f32>()]).unwrap_or(usize::MAX);
    let in_tiles = |channels| {
        (
            channels,
            all_rows,
            (TILE_BYTES / row_bytes(channels)).clamp(1, all_rows),
        )
    };
    let channels = isa.channels(spec.out_channels_per_group())?;
    let taps: usize = axes.iter().map(Axis::kernel).product();
    let fits = all_rows.saturating_mul(row_bytes(channels)) <= ONE_TILE_BYTES;
    Some(if source.padded || (taps > 1 && !fits) {
        in_tiles(channels)
    } else if !fits {
        in_tiles(isa.forward_block(spec.out_channels_per_group(), 1)?.0)
    } else {
        (channels, all_rows, all_rows)
    })
}

/// [`grad_weight`]'s blocks for one block of output channels, with the statements that
/// store their sums into `dw_block`. The block's sums run over the taps along the last
/// axis, or over the group's input channels (`step` a channel plane) where it has more of
/// them, at least twice as many as taps in a block: a 1×1 or 3×3 layer of many channels
/// fills the registers only that way. Either way each sum adds its terms in the same order (rows,
/// then positions along a row), in both builds. Over the taps, in the layer's `own` pass,
/// the input channels are those of the part (`Part::with_inputs`): then the blocks compute its
/// runs of input channels, which the second value says.
fn sums_blocks(
    spec: &Spec,
    isa: Isa,
    channels: usize,
    source: &Source,
    own: bool,
) -> (TokenStream, bool) {
    let axes = spec.axes();
    let last = &axes[axes.len() - 1];
    let taps: usize = axes.iter().map(Axis::kernel).product();
    let in_per_group = spec.in_channels_per_group();
    let in_per_group_count = number(in_per_group);
    let (kernel, reach) = (number(last.kernel()), number(last.dilation()));
    let taps_literal = number(taps);
    let plane = number(source.plane);
    // One block of `size` sums from `shift`, `m` its sum, stored at `dw_block[index]`
    // for each channel `c` of the block.
    let block = |size: usize, shift: TokenStream, geometry: [usize; 3], index: TokenStream| {
        let call = call_block_on(&quote!(rows), (size, channels), &shift, geometry);
        let (size, channels) = (number(size), number(channels));
        quote! {
            let mut sums: [[T; #channels]; #size] =
                ::core::array::from_fn(|m| partial[#index].clone());
            #call
            for (m, sums) in sums.into_iter().enumerate() {
                partial[#index] = sums;
            }
        }
    };
    if over_channels(spec, isa, channels) {
        let geometry = [last.output(), source.plane, last.stride()];
        // The blocks of `count` input channels from `from`.
        let blocks = |count: usize, from: TokenStream| {
            by_blocks(count, isa.row(channels), |size, first| {
                block(
                    size,
                    quote!(shift + (#from + #first) * #plane),
                    geometry,
                    quote!((#from + #first + m) * #taps_literal + tap_row * #kernel + tap),
                )
            })
        };
        // In the layer's own pass, a part's run of `input_run` channels (`Part::with_inputs`)
        // runs the blocks of one run from its first channel. Where those are the group's
        // own blocks (the AVX-512 build's 8 channels on the ResNet layers), the whole
        // pass loops over its runs; elsewhere it keeps the group's blocks, since a run's
        // would end in a shorter one (in runs, the AVX2 build's weight gradient of
        // `resnet-down` took 5% longer).
        let run = input_run(spec).filter(|_| own);
        let whole = || blocks(in_per_group, quote!(0));
        let (runs, blocks) = match run {
            Some(run) => {
                let run_blocks = blocks(run, quote!(run_first));
                let group_block = block_size(in_per_group, isa.row(channels));
                let end = number(in_per_group);
                if in_per_group.is_multiple_of(group_block) && run.is_multiple_of(group_block) {
                    let run = number(run);
                    let runs = quote! {
                        let runs = (part.inputs[0]..part.inputs[1].min(#end)).step_by(#run);
                    };
                    (runs, quote!(for run_first in runs.clone() { #run_blocks }))
                } else {
                    let whole = whole();
                    let runs = quote! {
                        let whole_run = part.inputs[0] == 0 && part.inputs[1] >= #end;
                        let run_first = part.inputs[0];
                    };
                    (runs, quote!(if whole_run { #whole } else { #run_blocks }))
                }
            }
            None => (TokenStream::new(), whole()),
        };
        let tokens = quote! {
            #runs
            for (tap_row, &tap_shift) in TAP_ROWS.iter().enumerate() {
                for tap in 0..#kernel {
                    let shift = group_channel * #plane + tap_shift + tap * #reach;
                    #blocks
                }
            }
        };
        (tokens, run.is_some())
    } else {
        let geometry = [last.output(), last.dilation(), last.stride()];
        let blocks = by_blocks(last.kernel(), isa.row(channels), |size, first| {
            block(
                size,
                quote!(shift + (#first) * #reach),
                geometry,
                quote!(c_in * #taps_literal + tap_row * #kernel + #first + m),
            )
        });
        let inputs = if own {
            quote!(part.inputs[0]..part.inputs[1].min(#in_per_group_count))
        } else {
            quote!(0..#in_per_group_count)
        };
        let tokens = quote! {
            for c_in in #inputs {
                for (tap_row, &tap_shift) in TAP_ROWS.iter().enumerate() {
                    let shift = (group_channel + c_in) * #plane + tap_shift;
                    #blocks
                }
            }
        };
        (tokens, own)
    }
}

/// The input channels of a run (`Part::with_inputs`) that a weight gradient's blocks over a
/// group's input channels ([`over_channels`]) compute, where a build takes them: a
/// group's in [`INPUT_RUNS`] equal runs of 8 channels or more, each cut into blocks of
/// its own at compile time. `None` elsewhere: blocks over the taps compute any run, and
/// blocks over the channels of another group none.
pub(in super::super) fn input_run(spec: &Spec) -> Option<usize> {
    let channels = spec.in_channels_per_group();
    let over = [AVX2, AVX512].into_iter().any(|isa| {
        isa.channels(spec.out_channels_per_group())
            .is_some_and(|block| over_channels(spec, isa, block))
    });
    (over && channels.is_multiple_of(INPUT_RUNS) && channels / INPUT_RUNS >= 8)
        .then_some(channels / INPUT_RUNS)
}

/// The runs a weight gradient's block of output channels is cut into where the pool has
/// more threads than blocks ([`input_run`]).
const INPUT_RUNS: usize = 4;

/// Where a body computes runs of input channels (`input_runs`), the condition under which
/// its copy of the input pads channel `c` (counted over the samples and groups): those of
/// the run alone, counted within a group as `Part::with_inputs` and the blocks' loop count
/// them. Where every run padded all of them, `upsample-1d`'s weight gradient at batch 8
/// ran slower on two threads than on one (0.89–0.91×, this Intel Xeon).
fn run_only(spec: &Spec, input_runs: bool) -> Option<TokenStream> {
    // Groups of one input channel have no runs (nor a `c % 1` to write).
    let per_group = spec.in_channels_per_group();
    let channels = number(per_group);
    (input_runs && per_group > 1)
        .then(|| quote!((part.inputs[0]..part.inputs[1]).contains(&(c % #channels))))
}

/// Whether [`sums_blocks`] runs its blocks over the group's input channels rather than
/// over the taps along the last axis: only where a block holds at least twice as many of
/// them. Elsewhere (`speech-1d`'s 11 taps, `lenet-c3`'s 5 taps and 6 channels) no run
/// showed them faster, and the taps' reads stay in one input row.
fn over_channels(spec: &Spec, isa: Isa, channels: usize) -> bool {
    let last = &spec.axes()[spec.axes().len() - 1];
    let most = isa.row(channels);
    2 * last.kernel().min(most) <= spec.in_channels_per_group().min(most)
}
