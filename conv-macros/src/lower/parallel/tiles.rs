//! Row tiles: a forward pass or an input gradient cut along its first axis as well, for the
//! layers whose samples and channel blocks make fewer tasks than [`TASKS`].
//!
//! Where the layer's own wide builds compute row tiles (the forward pass's channel block,
//! the input gradient as its dual's forward pass, by the phases' channel block, and by
//! its `rows` over δ by phase where a task is every input channel of a sample, on a plane
//! or a volume), a tile is a call of them on its rows of its block
//! ([`Split::row_parts`]): the one-thread kernel's code, reading the input where it lies
//! (the rows over δ copy the band of δ's rows their tile reads, the phases' channel block
//! all of δ). Elsewhere:
//!
//! A tile is itself a layer, whose loops add every output's terms in the order the whole
//! layer's loops do (the same channels, the same taps, the same padding zeros), so the
//! tile's result has the same bits. Where it can ([`whole`]), every tile of a pass is one
//! layer ([`crop`]): a forward tile reads the input rows its windows reach, the padding along
//! the first axis gathered as real zeros; an input gradient's tile of whole strides reads
//! the rows of δ of every window that reaches it, those outside δ gathered as zeros. One
//! body per block size, where a layer per kind of tile (first, middle, last) took 40–45%
//! of the build of the parallel forms. Where an input gradient's tiles read δ in place
//! (rows outside δ are not there to read) or are not whole strides, the layer is cut to
//! the tile's rows of δ, the rows of its windows outside the tile become its padding and
//! the phase of each row in the stride does not change (`pad_before` moves with the
//! tile's first row): a layer per kind of tile ([`crop`]).

use conv_runtime::derive::Section;
use conv_runtime::{Axis, Spec};
use proc_macro2::TokenStream;
use quote::quote;

use super::{Array, Bodies, Split, delta, planes};
use crate::lower::tokens::number;

/// Tasks a pass is cut into at least, where its rows allow: enough for the 2-core machine
/// the suite runs on with room for uneven tasks, and for eight cores to share a pass.
pub(super) const TASKS: usize = 8;

/// How a pass's output is cut along its first axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Tiles {
    /// Rows of the output tensor (the input's for the input gradient) per tile; the last
    /// tile may have fewer.
    pub(super) rows: usize,
    /// The tiles.
    pub(super) count: usize,
}

impl Tiles {
    /// Tiles for a pass of `tasks` tasks of `task_work` multiply-adds each, whose output
    /// has `rows` rows along its first axis: enough to reach [`TASKS`], none below
    /// `least_work` multiply-adds; `None` where one tile would do.
    pub(super) fn new(
        rows: usize,
        tasks: usize,
        task_work: usize,
        least_work: usize,
    ) -> Option<Tiles> {
        let wanted = TASKS.div_ceil(tasks.max(1));
        let affordable = task_work / least_work.max(1);
        let count = wanted.min(affordable).min(rows);
        if count < 2 {
            return None;
        }
        let rows_per_tile = rows.div_ceil(count);
        Some(Tiles {
            rows: rows_per_tile,
            count: rows.div_ceil(rows_per_tile),
        })
    }

    /// The rows of tile `index`.
    pub(super) fn range(&self, index: usize, rows: usize) -> (usize, usize) {
        let first = index * self.rows;
        (first, (first + self.rows).min(rows))
    }
}

/// A tile's layer and the first row it reads of the tensor it reads by rows (the input
/// for the forward pass, δ for the input gradient), negative where a whole tile starts
/// before it.
pub(super) struct Crop {
    pub(super) layer: Spec,
    pub(super) first_read: isize,
}

/// The layer that computes rows `first..end` of `section`'s output of `spec` (output rows
/// for the forward pass, input rows for the input gradient); `None` where those rows are
/// not a layer's whole output (rows no window reaches, a stride wider than the kernel).
///
/// Cropped (`whole` false), the tile reads the rows of the tensor that are there, and the
/// whole layer's padding that falls in its windows becomes its own: the first tile, the
/// middle ones and the last are layers of their own. `whole`, it reads every row its
/// windows reach, those outside the tensor gathered as zeros (`par::gather_rows`): the
/// input's padding for the forward pass, the windows before δ's first and past its last
/// for the input gradient. Then every tile of as many rows is the same layer (for the
/// input gradient, where the tiles are whole strides, so that their rows fall in the same
/// phases), and the last computes a whole tile and drops its rows past the output. The
/// wide builds add the padding's zeros as they add any value (their blocks read a padded
/// copy), so such a tile adds every output's terms in the whole layer's order, the same
/// bits; the portable loops skip the padding, so the sign of a zero sum could differ: the
/// whole tiles run only where the wide builds do (`Split::tasks`).
pub(super) fn crop(
    spec: &Spec,
    section: Section,
    (first, end): (usize, usize),
    whole: bool,
) -> Option<Crop> {
    let axis = &spec.axes()[0];
    let signed = |value: usize| i128::try_from(value).ok();
    let (stride, reach, pad) = (
        signed(axis.stride())?,
        signed(axis.effective_kernel())?,
        signed(axis.pad_before())?,
    );
    let (first, end, input) = (signed(first)?, signed(end)?, signed(axis.input())?);
    // The windows the tile's layer has: outputs `windows.0..windows.1`, window `o`
    // reading padded rows `o·s − pad .. o·s − pad + reach`.
    let windows = match section {
        Section::Forward => (first, end),
        Section::GradInput => {
            let output = signed(axis.output())?;
            let before = (first + pad - reach).div_euclid(stride) + 1;
            let after = (end + pad - 1).div_euclid(stride) + 1;
            if whole {
                (before, after)
            } else {
                (before.max(0), after.min(output))
            }
        }
        _ => return None,
    };
    let (start, stop) = (
        windows.0 * stride - pad,
        (windows.1 - 1) * stride - pad + reach,
    );
    let rows = match section {
        Section::Forward if whole => (start, stop),
        Section::Forward => (start.max(0), stop.min(input)),
        _ => (first, end),
    };
    let (pad_before, pad_after) = (rows.0 - start, (stop - rows.1).max(0));
    let layer_text = text(
        spec,
        usize::try_from(rows.1 - rows.0).ok()?,
        (
            usize::try_from(pad_before).ok()?,
            usize::try_from(pad_after).ok()?,
        ),
    );
    let layer = Spec::parse(&layer_text).ok()?;
    let outputs = usize::try_from(windows.1 - windows.0).ok()?;
    if layer.axes()[0].output() != outputs {
        return None;
    }
    let first_read = match section {
        Section::Forward => rows.0,
        _ => windows.0,
    };
    Some(Crop {
        layer,
        first_read: isize::try_from(first_read).ok()?,
    })
}

/// Whether `section`'s tiles (`tiles`) of `spec` are whole ([`crop`]): the forward pass's
/// always; the input gradient's where they are whole strides and do not read δ in place
/// (rows before δ's first are not there to read).
pub(super) fn whole(spec: &Spec, section: Section, tiles: Option<Tiles>) -> bool {
    match section {
        Section::Forward => true,
        Section::GradInput => {
            let stride = spec.axes()[0].stride();
            tiles.is_some_and(|tiles| tiles.rows.is_multiple_of(stride))
                && !delta::reads_delta_in_place(spec)
        }
        _ => false,
    }
}

/// `spec` written out with its first axis `input` long and padded by `pads`.
fn text(spec: &Spec, input: usize, pads: (usize, usize)) -> String {
    let axes = spec.axes();
    let tuple = |values: Vec<String>| {
        let comma = if values.len() == 1 { "," } else { "" };
        format!("({}{comma})", values.join(","))
    };
    let sizes =
        |size: fn(&Axis) -> usize| tuple(axes.iter().map(|a| size(a).to_string()).collect());
    let inputs = tuple(
        axes.iter()
            .enumerate()
            .map(|(index, a)| if index == 0 { input } else { a.input() }.to_string())
            .collect(),
    );
    let padding = tuple(
        axes.iter()
            .enumerate()
            .map(|(index, a)| {
                let (before, after) = if index == 0 {
                    pads
                } else {
                    (a.pad_before(), a.pad_after())
                };
                format!("({before},{after})")
            })
            .collect(),
    );
    let bias = if spec.bias() { " bias" } else { "" };
    format!(
        "in={inputs} k={} stride={} pad={padding} dilation={} cin={} cout={} groups={} batch={}{bias}",
        sizes(Axis::kernel),
        sizes(Axis::stride),
        sizes(Axis::dilation),
        spec.in_channels(),
        spec.out_channels(),
        spec.groups(),
        spec.batch(),
    )
}

impl Split<'_> {
    /// `par::for_each_tile` over the output: each sample's channel blocks cut into row
    /// tiles, a task's body for each kind of tile and block (full, and the last when the
    /// units do not divide); `None` if a tile is not a layer, or its loops would take
    /// another build. Where the pass's tiles are whole ([`whole`]) they are all one layer,
    /// else each is cropped to its rows, a kind for the first, the middle ones and the
    /// last ([`crop`]).
    pub(super) fn tiled(
        &self,
        tiles: Tiles,
        inputs: &[&Array],
        output: &Array,
    ) -> Option<TokenStream> {
        if self.row_parts() {
            return Some(self.tiled_parts(tiles, inputs, output));
        }
        let (rows, _) = self.rows_and_plane();
        let whole = self.whole;
        let rest = self.units % self.per_task;
        let mut starts = vec![quote!(0); tiles.count];
        let mut blocks = Vec::new();
        for count in [self.per_task, rest] {
            if count == 0 {
                continue;
            }
            let block = self.layer(count)?;
            // Tiles whose layers are equal share one body: whole tiles are all one.
            let mut kinds: Vec<(Spec, Vec<usize>)> = Vec::new();
            for (index, start) in starts.iter_mut().enumerate() {
                let (first, end) = tiles.range(index, rows);
                let end = if whole { first + tiles.rows } else { end };
                let Crop { layer, first_read } = crop(&block, self.section, (first, end), whole)?;
                let magnitude = number(first_read.unsigned_abs());
                *start = if first_read < 0 {
                    quote!(-#magnitude)
                } else {
                    quote!(#magnitude)
                };
                match kinds.iter_mut().find(|(kind, _)| *kind == layer) {
                    Some((_, members)) => members.push(index),
                    None => kinds.push((layer, vec![index])),
                }
            }
            let mut arms = Vec::new();
            let last = kinds.len() - 1;
            for (position, (layer, members)) in kinds.iter().enumerate() {
                let body = match self.in_place_tile(layer) {
                    Some(body) => body,
                    None => self.task_of(layer, (true, self.wide()), inputs, output)?,
                };
                let members = members.iter().copied().map(number);
                let pattern = if position == last {
                    quote!(_)
                } else {
                    quote!(#(#members)|*)
                };
                arms.push((pattern, body));
            }
            blocks.push(if let [(_, body)] = arms.as_slice() {
                body.clone()
            } else {
                let arms = arms
                    .iter()
                    .map(|(pattern, body)| quote!(#pattern => { #body }));
                quote!(match tile { #(#arms)* })
            });
        }
        let dispatch = match blocks.as_slice() {
            [full] => full.clone(),
            [full, last] => {
                let last_block = number(self.units / self.per_task);
                quote!(if block == #last_block { #last } else { #full })
            }
            _ => return None,
        };
        let out = &output.name;
        let tile_rows = number(tiles.rows);
        let sizes = self.tile_sizes(&quote!(#tile_rows));
        let [per_task, count] = [self.per_task, tiles.count].map(number);
        let start_type = if whole { quote!(isize) } else { quote!(usize) };
        Some(quote! {
            ::convsym::__private::par::for_each_tile(#out, #sizes, #whole, |n, block, tile, #out| {
                const STARTS: [#start_type; #count] = [#(#starts),*];
                let first = block * #per_task;
                #dispatch
            });
        })
    }

    /// The rows of the pass's output along the first axis (the input's for the input
    /// gradient), and the elements of an output plane.
    pub(super) fn rows_and_plane(&self) -> (usize, usize) {
        let axis = &self.spec.axes()[0];
        let (input_plane, output_plane, _) = planes(self.spec);
        match self.section {
            Section::Forward => (axis.output(), output_plane),
            _ => (axis.input(), input_plane),
        }
    }

    /// `par::for_each_tile`'s sizes of tiles of `tile_rows` rows (an expression): a
    /// sample's elements, a block's, a plane's and a tile's.
    pub(super) fn tile_sizes(&self, tile_rows: &TokenStream) -> TokenStream {
        let (rows, plane) = self.rows_and_plane();
        let [sample, block, plane, row_len] = [
            self.sample_len,
            self.per_task * self.unit_len,
            plane,
            plane / rows,
        ]
        .map(number);
        quote!({
            let tile_len = #tile_rows * #row_len;
            [#sample, #block, #plane, tile_len]
        })
    }

    /// A tile of the input gradient whose task reads its rows of δ where they lie
    /// ([`delta::grad_input_tile`]), its weights bound as any task's.
    fn in_place_tile(&self, layer: &Spec) -> Option<TokenStream> {
        if self.section != Section::GradInput || self.bodies == Bodies::Portable {
            return None;
        }
        let body = delta::grad_input_tile(self.spec, layer)?;
        let weights = self.operand("w", layer, true);
        let len = number(layer.weight_len());
        Some(quote! {
            #weights
            let w: &[T; #len] = ::convsym::__private::par::array(w);
            #body
        })
    }
}
