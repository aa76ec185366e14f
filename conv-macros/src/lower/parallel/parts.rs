//! Tasks that are parts of the pass the layer's own wide builds compute
//! (`wide::Body::parts`): a task or a row tile is a call of the hidden method that holds
//! the one-thread body (`Kernels::method`), given its `Part`, so that it compiles no body
//! of its own and computes every output with the one-thread kernel's code.

use conv_runtime::Spec;
use conv_runtime::derive::Section;
use proc_macro2::TokenStream;
use quote::{ToTokens, quote};

use super::super::shares;
use super::super::wide::RowTiles;
use super::tiles::Tiles;
use super::{Array, Bodies, Split, delta, wide};
use crate::lower::tokens::number;

/// The parts the layer's own wide builds compute (`wide::Body::parts`), where both do.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) struct OwnParts {
    /// The units of a register block in each build, which a part is a whole number of.
    units: [usize; 2],
    /// Whether they compute row tiles too (`wide::Body::rows`): `Whole` where either
    /// build's tiles copy all of their input.
    rows: RowTiles,
    /// Whether the hidden method takes the input padded by its caller (`shares`).
    shared: bool,
    /// Whether both builds compute a weight gradient's runs of input channels
    /// (`wide::Body::input_runs`).
    input_runs: bool,
}

impl OwnParts {
    /// Those of `section` of `spec`; `None` where a build computes none.
    pub(super) fn of(spec: &Spec, section: Section) -> Option<Self> {
        let (avx2, avx512) = wide::builds(spec, section)?;
        Some(OwnParts {
            shared: shares(&avx2, &avx512),
            input_runs: avx2.input_runs && avx512.input_runs,
            units: [avx2.parts?, avx512.parts?],
            rows: match (avx2.rows, avx512.rows) {
                (RowTiles::None, _) | (_, RowTiles::None) => RowTiles::None,
                (RowTiles::Whole, _) | (_, RowTiles::Whole) => RowTiles::Whole,
                (RowTiles::Banded, RowTiles::Banded) => RowTiles::Banded,
            },
        })
    }

    /// `per_task` of `units`, or where the builds compute row tiles and that task (or
    /// the last) is not a whole number of blocks in both while the units are, the fewest
    /// whole blocks of both that hold it.
    pub(super) fn whole_blocks(self, units: usize, per_task: usize) -> usize {
        if self.rows == RowTiles::None {
            return per_task;
        }
        let [a, b] = self.units;
        let both = (1..=b).map(|times| a * times).find(|m| m.is_multiple_of(b));
        match both {
            Some(both)
                if !self.fit(&[per_task, units % per_task]) && units.is_multiple_of(both) =>
            {
                per_task.next_multiple_of(both).min(units)
            }
            _ => per_task,
        }
    }

    /// Whether every one of `counts` units is a whole number of blocks in both builds.
    fn fit(self, counts: &[usize]) -> bool {
        let whole = |count: &usize| self.units.iter().all(|units| count.is_multiple_of(*units));
        counts.iter().all(whole)
    }
}

impl Split<'_> {
    /// A task of `count` units from `first` in sample `n` as a call of the layer's own
    /// wide builds on that part of the pass (`Kernels::method`), which compiles no body
    /// of its own: where both builds compute parts in blocks that `count` and every
    /// task's first unit are whole numbers of. `None` elsewhere.
    pub(super) fn part(
        &self,
        count: usize,
        inputs: &[&Array],
        output: &Array,
    ) -> Option<TokenStream> {
        let Bodies::Own(Some(parts)) = self.bodies else {
            return None;
        };
        if !parts.fit(&[count, self.per_task]) {
            return None;
        }
        let method = &self.method;
        let names = inputs.iter().map(|array| &array.name);
        let out = &output.name;
        let sample = if self.section == Section::GradWeight {
            quote!(0)
        } else {
            quote!(n)
        };
        let shared = self.shared_copy(parts);
        Some(quote! {
            self.#method(#(#names,)* #out, ::convsym::__private::Part::task(#sample, first) #shared);
        })
    }

    /// A weight gradient cut into runs of its input channels, each a call of the layer's
    /// own wide builds on every output channel's weights of those inputs
    /// ([`Split::run_tasks`]), where its tasks of output channels would be layers of their own:
    /// a task's channels not whole blocks of both builds. Such a layer runs narrower blocks
    /// than the whole (`speech-1d`'s tasks of 16 channels, where the AVX-512 block is 32),
    /// and on two threads gained 1.5× where its other passes gained 1.8× (this Intel
    /// Xeon). As many runs as those tasks, at least two. In the portable build the form
    /// calls the hidden method on the whole pass, as the one-thread kernel does: in a
    /// transposed layer's form the dual's names hide the method's own. `None` elsewhere.
    pub(super) fn input_runs(&self, inputs: &[&Array], output: &Array) -> Option<TokenStream> {
        let Bodies::Own(Some(parts)) = self.bodies else {
            return None;
        };
        let channels = self.spec.in_channels_per_group();
        let rest = self.units % self.per_task;
        let own_layers = !parts.fit(&[self.per_task, rest]);
        if self.section != Section::GradWeight
            || self.grouped
            || !parts.input_runs
            || !own_layers
            || channels < 2
        {
            return None;
        }
        // Blocks over the input channels compute runs of one length alone.
        let run = wide::input_run(self.spec)
            .unwrap_or_else(|| channels.div_ceil(self.block_count().clamp(2, channels)));
        // Each run pads its own input channels (`shared` empty): together the runs copy
        // the input once. A copy padded before them for all, which the tasks of output
        // channels take at batch 8, measured both ways on `speech-1d` and `upsample-1d`
        // (`BENCHMARKS.md`, "A weight gradient cut into runs of input channels").
        let shared = if parts.shared {
            quote!(, &[])
        } else {
            TokenStream::new()
        };
        let method = &self.method;
        let names = inputs.iter().map(|array| &array.name);
        let out = &output.name;
        // The whole gradient is one block, of every output channel.
        let runs = self.run_tasks(inputs, output, [self.units, run], &shared);
        Some(quote! {
            if !<T as ::convsym::__private::Wide>::runs_wide() {
                self.#method(#(#names,)* &mut #out[..], ::convsym::__private::Part::WHOLE #shared);
                return;
            }
            #runs
        })
    }

    /// A weight gradient's blocks of output channels each cut into runs of its input
    /// channels ([`wide::input_run`]), for a pool of more threads than blocks: each task
    /// a call of the layer's own wide builds on its block's weights of its run's inputs,
    /// which sums every weight as the whole pass does. Where every task is whole blocks
    /// of both builds, the blocks are fewer than [`TASKS`](super::tiles::TASKS) and the
    /// builds compute runs; `None` elsewhere.
    pub(super) fn block_runs(&self, inputs: &[&Array], output: &Array) -> Option<TokenStream> {
        let Bodies::Own(Some(parts)) = self.bodies else {
            return None;
        };
        let whole_blocks = self.units.is_multiple_of(self.per_task) && parts.fit(&[self.per_task]);
        if self.section != Section::GradWeight
            || self.grouped
            || !parts.input_runs
            || !whole_blocks
            || self.block_count() >= super::tiles::TASKS
        {
            return None;
        }
        let run = wide::input_run(self.spec)?;
        let shared = self.shared_copy(parts);
        Some(self.run_tasks(inputs, output, [self.per_task, run], &shared))
    }

    /// `par::for_each_input_run` over the weight gradient's blocks of `per_task` output
    /// channels, each in runs of `run` input channels: a task is a call of the layer's
    /// own pass on its block's weights of its run (`Part::with_inputs`), given `shared`.
    fn run_tasks(
        &self,
        inputs: &[&Array],
        output: &Array,
        [per_task, run]: [usize; 2],
        shared: &TokenStream,
    ) -> TokenStream {
        let method = &self.method;
        let names = inputs.iter().map(|array| &array.name);
        let out = &output.name;
        let (_, _, taps) = super::planes(self.spec);
        let filter = self.spec.in_channels_per_group() * taps;
        let [block, filter, taps, run, per_task] =
            [per_task * self.unit_len, filter, taps, run, per_task].map(number);
        quote! {
            ::convsym::__private::par::for_each_input_run(#out, [#block, #filter, #taps, #run], |block, inputs, #out| {
                let part = ::convsym::__private::Part::task(0, block * #per_task).with_inputs(inputs);
                self.#method(#(#names,)* #out, part #shared);
            });
        }
    }

    /// The argument a part of a weight gradient given the input padded by its caller
    /// takes (`shares`): the copy the form padded once before its tasks
    /// (`delta::before_tasks`), or none where each pads its own; nothing where the
    /// layer's builds pad none.
    fn shared_copy(&self, parts: OwnParts) -> TokenStream {
        if !parts.shared {
            TokenStream::new()
        } else if delta::pads_before_tasks(self.spec, self.block_count()) {
            quote!(, padded)
        } else {
            quote!(, &[])
        }
    }

    /// Whether the tiles are calls of the layer's own wide builds on their rows of their
    /// block (`Part::tile`), which compute row tiles in whole blocks of every task
    /// ([`wide::Body::rows`]).
    pub(super) fn row_parts(&self) -> bool {
        let rest = self.units % self.per_task;
        matches!(self.bodies, Bodies::Own(Some(parts)) if parts.rows != RowTiles::None && parts.fit(&[self.per_task, rest]))
    }

    /// The tiles as calls of the layer's own wide builds ([`Split::row_parts`]): no tile
    /// body of its own, and no copy of the input's rows, which the builds read where they
    /// lie as for the whole pass; each tile's output, its rows of each channel of its
    /// block, is copied back into place. They run only where the wide builds run, `tiles`
    /// of them per block, or where a tile copies all of its input (`RowTiles::Whole`),
    /// one per thread of the pool (`par::tile_rows`).
    pub(super) fn tiled_parts(
        &self,
        tiles: Tiles,
        inputs: &[&Array],
        output: &Array,
    ) -> TokenStream {
        let method = &self.method;
        let names = inputs.iter().map(|array| &array.name);
        let out = &output.name;
        let (rows, _) = self.rows_and_plane();
        let tasks = self.block_count() * self.spec.batch();
        let [per_task, rows, tasks, most] = [self.per_task, rows, tasks, tiles.count].map(number);
        // A tile that copies all of its input (the phases' channel block copies all of
        // δ) costs that copy whatever its rows: a tile per thread. Banded tiles copy the
        // rows they read alone, and the compiled count, more tiles than threads, leaves
        // work for a thread that finishes first: `resnet-stem`'s input gradient on two
        // threads took 1 745–1 781 µs in two tiles against 1 500–1 605 µs in 8.
        let whole =
            matches!(self.bodies, Bodies::Own(Some(parts)) if parts.rows == RowTiles::Whole);
        let tile_rows = if whole {
            quote!(::convsym::__private::par::tile_rows(#rows, #tasks, #most))
        } else {
            number(tiles.rows).into_token_stream()
        };
        let sizes = self.tile_sizes(&quote!(tile_rows));
        quote! {
            let tile_rows = #tile_rows;
            ::convsym::__private::par::for_each_tile(#out, #sizes, false, |n, block, tile, #out| {
                let first_row = tile * tile_rows;
                let part = ::convsym::__private::Part::tile(n, block * #per_task, [first_row, first_row + tile_rows]);
                self.#method(#(#names,)* #out, part);
            });
        }
    }
}
