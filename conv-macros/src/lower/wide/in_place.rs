//! A padded layer's forward pass that reads its input in place. Only the register blocks
//! whose windows reach the padding read a copy: on a row, the blocks at either end read a
//! copy of each input row's ends (its `Edges`); on a plane, the output rows at the top and
//! bottom read a padded copy of the input rows their windows cover (its `Bands`). Every
//! other block reads the input itself. A block reads the same values (zeros where the
//! layer pads) into the same sums in the same order as from a padded copy of the whole
//! input, so the result has the same bits.
//!
//! That copy, zeroed and filled on every call, took 14 of the 46 µs of `upsample-1d`'s
//! input gradient (the forward pass of a layer of 8 000 inputs padded by 2), and 8% of
//! `resnet-down`'s forward pass (issue 9, Intel Xeon, one thread).

use conv_runtime::{Axis, Spec};
use proc_macro2::TokenStream;
use quote::quote;

use super::layout::{Scratch, even_blocks};
use super::source::read_extent;
use crate::lower::tokens::{number, numbers};

/// How the channel block of a padded layer of one or two axes reads its input in place.
pub(super) struct InPlace {
    /// Along the last axis.
    row: Edges,
    /// Along the first of two axes.
    bands: Option<Bands>,
    /// The input's rows: 1 for one axis.
    rows: usize,
}

/// A row's ends, which the blocks of outputs at its two ends read, copied with the
/// padding as zeros: each row's `head` then its `tail`.
struct Edges {
    /// Positions of the padded row the blocks that start in the padding read, `0..head`.
    head: usize,
    /// The first position of the padded row read by the blocks that reach past the
    /// input, through the end of the padded row (`extent`).
    tail: usize,
    extent: usize,
    pad: usize,
    input: usize,
    stride: usize,
}

/// The output rows of a plane whose windows reach the padding, before `top` and from
/// `bottom`, and the rows of the padded plane they read, `0..top_end` and
/// `bottom_start..extent`, copied with the padding as zeros, each as long as a padded row.
struct Bands {
    top: usize,
    bottom: usize,
    top_end: usize,
    bottom_start: usize,
    extent: usize,
    pad: usize,
    stride: usize,
    dilation: usize,
    kernel: usize,
}

impl Edges {
    /// The ends of a row along `axis` cut into blocks of at most `most` outputs, as
    /// [`by_even_blocks`](super::layout::by_even_blocks) cuts it.
    fn along(axis: &Axis, most: usize) -> Self {
        let (stride, pad, input) = (axis.stride(), axis.pad_before(), axis.input());
        let extent = read_extent(axis);
        let reads = |(first, size): (usize, usize)| {
            let at = first * stride;
            (at, at + (size - 1) * stride + axis.effective_kernel())
        };
        // The blocks that start in the padding lead the row, those that reach past the
        // input (and do not start in the padding) end it: only those are visited, so a
        // row of millions of outputs costs no more to plan than a short one.
        let blocks = || even_blocks(axis.output(), most).map(reads);
        let head = blocks()
            .take_while(|&(at, _)| at < pad)
            .map(|(_, end)| end)
            .max()
            .unwrap_or(0);
        let tail = blocks()
            .rev()
            .take_while(|&(at, end)| at >= pad && end > pad + input)
            .map(|(at, _)| at)
            .min()
            .unwrap_or(extent);
        Edges {
            head,
            tail,
            extent,
            pad,
            input,
            stride,
        }
    }

    /// Each row's scalars in the copy.
    fn len(&self) -> usize {
        self.head + (self.extent - self.tail)
    }
}

impl Bands {
    /// The bands of `axis`'s output rows; `None` where no row reads the input alone.
    fn along(axis: &Axis) -> Option<Self> {
        let (stride, pad, input, output) = (
            axis.stride(),
            axis.pad_before(),
            axis.input(),
            axis.output(),
        );
        let (reach, extent) = (axis.effective_kernel() - 1, read_extent(axis));
        let top = pad.div_ceil(stride).min(output);
        // The first row whose window reaches past the input's last row.
        let bottom = (pad + input)
            .checked_sub(reach)
            .map_or(top, |start| start.div_ceil(stride))
            .clamp(top, output);
        if top == bottom {
            return None;
        }
        let top_end = if top > 0 {
            (top - 1) * stride + reach + 1
        } else {
            0
        };
        let bottom_start = if bottom < output {
            bottom * stride
        } else {
            extent
        };
        Some(Bands {
            top,
            bottom,
            top_end,
            bottom_start,
            extent,
            pad,
            stride,
            dilation: axis.dilation(),
            kernel: axis.kernel(),
        })
    }

    /// The padded rows copied.
    fn len(&self) -> usize {
        self.top_end + (self.extent - self.bottom_start)
    }
}

impl InPlace {
    /// How `spec`'s forward pass, its rows cut into blocks of at most `most` outputs,
    /// reads in place; `None` unless the layer is padded, has one axis or two, and its
    /// copies are at most half of the padded input.
    pub(super) fn of(spec: &Spec, most: usize) -> Option<Self> {
        let axes = spec.axes();
        if axes
            .iter()
            .all(|axis| axis.pad_before() == 0 && axis.pad_after() == 0)
        {
            return None;
        }
        let (last, bands, rows) = match axes {
            [last] => (last, None, 1),
            [first, last] => (last, Some(Bands::along(first)?), first.input()),
            _ => return None,
        };
        let row = Edges::along(last, most);
        let (band_rows, padded_rows) = bands
            .as_ref()
            .map_or((0, 1), |bands| (bands.len(), bands.extent));
        let copied = rows
            .checked_mul(row.len())?
            .checked_add(band_rows.checked_mul(row.extent)?)?;
        if copied.checked_mul(2)? > padded_rows.checked_mul(row.extent)? {
            return None;
        }
        Some(InPlace { row, bands, rows })
    }

    /// Whether the blocks at a row's ends read a copy.
    fn has_edges(&self) -> bool {
        self.row.len() > 0
    }

    /// The scratch of the copies: `edges`, `bands`.
    pub(super) fn scratch(&self, spec: &Spec) -> Option<Scratch> {
        let channels = spec.in_channels();
        let scratch = if self.has_edges() {
            Scratch::default().part("edges", &[channels, self.rows, self.row.len()])?
        } else {
            Scratch::default()
        };
        match &self.bands {
            Some(bands) => scratch.part("bands", &[channels, bands.len(), self.row.extent]),
            None => Some(scratch),
        }
    }

    /// The statements that copy a sample's input, `x_sample`, into the copies, `&mut [T]`
    /// of zeros, which stay zero where the layer pads; then `EDGE_ROWS` and `BAND_ROWS`,
    /// where each row of a group's register block (an input channel and a tap of the
    /// first of two axes) starts in them, and `ROWS` in the input.
    pub(super) fn copy(&self, spec: &Spec, row_tiles: bool) -> TokenStream {
        let in_per_group = spec.in_channels_per_group();
        let (kernel, dilation) = self
            .bands
            .as_ref()
            .map_or((1, 0), |bands| (bands.kernel, bands.dilation));
        let table = |plane: usize, row: usize| {
            numbers((0..in_per_group).flat_map(|channel| {
                (0..kernel).map(move |tap| channel * plane + tap * dilation * row)
            }))
        };
        let count = number(in_per_group * kernel);
        let edges = self.has_edges().then(|| {
            let len = self.row.len();
            let rows = table(self.rows * len, len);
            let copy = match self.bands.as_ref().filter(|_| row_tiles) {
                Some(bands) => self.copy_tile_edges(bands, spec.in_channels()),
                None => self.copy_edges(spec.in_channels() * self.rows),
            };
            quote! {
                #copy
                const EDGE_ROWS: [usize; #count] = #rows;
                let edges: &[T] = edges;
            }
        });
        let bands = self.bands.as_ref().map(|bands| {
            let extent = self.row.extent;
            let rows = table(bands.len() * extent, extent);
            let copy = self.copy_bands(bands, spec.in_channels());
            quote! {
                #copy
                const BAND_ROWS: [usize; #count] = #rows;
                let bands: &[T] = bands;
            }
        });
        quote!(#edges #bands)
    }

    /// The copy of each row's ends, `rows` rows.
    fn copy_edges(&self, rows: usize) -> TokenStream {
        let Edges {
            head,
            tail,
            extent,
            pad,
            input,
            ..
        } = self.row;
        let (head_len, tail_from) = (
            head.saturating_sub(pad).min(input),
            tail.saturating_sub(pad),
        );
        let tail_len = extent
            .saturating_sub(pad)
            .min(input)
            .saturating_sub(tail_from);
        let [len, input, pad, head, tail_from, rows] =
            [self.row.len(), input, pad, head, tail_from, rows].map(number);
        let head_copy = (head_len > 0).then(|| {
            let head_len = number(head_len);
            quote!(row[#pad..][..#head_len].clone_from_slice(&x_row[..#head_len]);)
        });
        let tail_copy = (tail_len > 0).then(|| {
            let tail_len = number(tail_len);
            quote!(row[#head..][..#tail_len].clone_from_slice(&x_row[#tail_from..][..#tail_len]);)
        });
        quote! {
            for (row, x_row) in edges.chunks_exact_mut(#len).zip(x_sample.chunks_exact(#input)).take(#rows) {
                #head_copy
                #tail_copy
            }
        }
    }

    /// [`InPlace::copy_edges`] for a row tile (`Part::rows`) of a plane's output rows,
    /// `first_row..end_row`: the ends of the input rows their windows read alone, in
    /// each of `channels` planes. A tile that copied every row's ends made `resnet-down`'s
    /// forward pass 4% slower on four threads.
    fn copy_tile_edges(&self, bands: &Bands, channels: usize) -> TokenStream {
        let rows = self.rows;
        let copy = self.copy_edges(rows);
        let reach = (bands.kernel - 1) * bands.dilation + 1;
        let [len, input, rows, channels, stride, pad, reach] = [
            self.row.len(),
            self.row.input,
            rows,
            channels,
            bands.stride,
            bands.pad,
            reach,
        ]
        .map(number);
        quote! {
            // A tile of rows wholly in the padding after the input reads none of it.
            let read_from = (first_row * #stride).saturating_sub(#pad).min(#rows);
            let read_to = if end_row > first_row {
                ((end_row - 1) * #stride + #reach).saturating_sub(#pad).clamp(read_from, #rows)
            } else {
                read_from
            };
            let edge_planes = edges.chunks_exact_mut(#len * #rows).zip(x_sample.chunks_exact(#input * #rows));
            for (edges, x_sample) in edge_planes.take(#channels) {
                let edges = &mut edges[read_from * #len..read_to * #len];
                let x_sample = &x_sample[read_from * #input..read_to * #input];
                #copy
            }
        }
    }

    /// The copy of the bands' rows of each of `channels` planes, each padded along its
    /// row.
    fn copy_bands(&self, bands: &Bands, channels: usize) -> TokenStream {
        let (extent, pad) = (self.row.extent, self.row.pad);
        let along = self.row.input.min(extent.saturating_sub(pad));
        let [extent_literal, pad_literal, along_literal, width] =
            [extent, pad, along, self.row.input].map(number);
        // Input rows `from..to` to band rows from `at`.
        let runs = [
            (0, bands.top_end, 0),
            (bands.bottom_start, bands.extent, bands.top_end),
        ]
        .into_iter()
        .filter_map(|(start, end, at)| {
            let from = start.saturating_sub(bands.pad);
            let to = end.saturating_sub(bands.pad).min(self.rows);
            (from < to).then(|| {
                let first = number(at + (from + bands.pad) - start);
                let [from, to] = [from, to].map(number);
                quote! {
                    for (y, at) in (#from..#to).zip(#first..) {
                        band[at * #extent_literal + #pad_literal..][..#along_literal]
                            .clone_from_slice(&x_channel[y * #width..][..#along_literal]);
                    }
                }
            })
        });
        let runs: Vec<TokenStream> = runs.collect();
        // Unpadded along the first axis, no output row reads a band: nothing to copy (and
        // no band of a row to cut the copy into).
        if runs.is_empty() {
            return TokenStream::new();
        }
        let [band, plane, channels] =
            [bands.len() * extent, self.rows * self.row.input, channels].map(number);
        quote! {
            for (band, x_channel) in bands.chunks_exact_mut(#band).zip(x_sample.chunks_exact(#plane)).take(#channels) {
                #(#runs)*
            }
        }
    }

    /// `edges_group` and `bands_group`, the copies of the group of the block of
    /// `channels` output channels `index`.
    pub(super) fn groups(&self, spec: &Spec, channels: usize) -> TokenStream {
        let blocks_per_group = number(spec.out_channels_per_group() / channels);
        let in_per_group = spec.in_channels_per_group();
        let group = |name: TokenStream, len: usize| {
            let len = number(in_per_group * len);
            quote! {
                let #name = &#name[index / #blocks_per_group * #len..][..#len];
            }
        };
        let edges = self
            .has_edges()
            .then(|| group(quote!(edges), self.rows * self.row.len()));
        let bands = self
            .bands
            .as_ref()
            .map(|bands| group(quote!(bands), bands.len() * self.row.extent));
        quote!(#edges #bands)
    }

    /// The register block of outputs from `first` of output row `p0` (of two axes),
    /// `block(source_rows, shift)` on the rows `source_rows` of `source` from `shift`: a
    /// band's copy and `BAND_ROWS` for a row at the top or bottom, else the edges' copy
    /// and `EDGE_ROWS` for a block at either end of the row, else the group's input and
    /// `ROWS`, from `shift` (where the output row's first window starts in the input were
    /// it unpadded). The input's block is a call of its own, whose `ROWS` the compiler
    /// sees: chosen at run time among the three, `resnet-3x3`'s forward pass took 2%
    /// longer than from the whole padded copy (issue 9, Intel Xeon).
    pub(super) fn block(
        &self,
        first: &TokenStream,
        block: impl Fn(TokenStream, TokenStream) -> TokenStream,
    ) -> TokenStream {
        let Edges {
            head,
            tail,
            pad,
            stride,
            extent,
            ..
        } = self.row;
        let [stride, pad, head, tail, extent, len, width] = [
            stride,
            pad,
            head,
            tail,
            extent,
            self.row.len(),
            self.row.input,
        ]
        .map(number);
        // Where output row `p0`'s window starts in the edges' copy, and in the input.
        let (edge_row, in_place) = match &self.bands {
            Some(bands) => {
                let [row_stride, rows_pad] = [bands.stride, bands.pad].map(number);
                (
                    quote!((p0 * #row_stride - #rows_pad) * #len),
                    quote!(shift - #rows_pad * #width + at - #pad),
                )
            }
            None => (quote!(0), quote!(at - #pad)),
        };
        // Each copy a block may read, with the condition under which it does (the last,
        // where no other does).
        let mut copies = Vec::new();
        let mut conditions = Vec::new();
        if let Some(bands) = &self.bands {
            let [top, bottom, stride, top_end, bottom_start] = [
                bands.top,
                bands.bottom,
                bands.stride,
                bands.top_end,
                bands.bottom_start,
            ]
            .map(number);
            let condition = quote!(!(#top..#bottom).contains(&p0));
            conditions.push(condition.clone());
            copies.push((
                condition,
                quote! {{
                    let band_row = if p0 < #top {
                        p0 * #stride
                    } else {
                        p0 * #stride - #bottom_start + #top_end
                    };
                    (bands, &BAND_ROWS, band_row * #extent + at)
                }},
            ));
        }
        if self.has_edges() {
            conditions.push(quote!(!(#pad..#tail).contains(&at)));
            copies.push((
                quote!(at < #pad),
                quote!((edges, &EDGE_ROWS, #edge_row + at)),
            ));
            copies.push((
                TokenStream::new(),
                quote!((edges, &EDGE_ROWS, #edge_row + at - #tail + #head)),
            ));
        }
        let mut chosen = TokenStream::new();
        for (index, (condition, copy)) in copies.into_iter().rev().enumerate() {
            chosen = if index == 0 {
                copy
            } else {
                quote!(if #condition { #copy } else { #chosen })
            };
        }
        let from_input = block(quote!(&ROWS), in_place);
        if conditions.is_empty() {
            // Padding that no window reaches, after a row whose stride leaves a remainder:
            // every block reads the input in place (an `if` without a condition once made
            // such a layer fail to compile).
            return quote! {
                let at = (#first) * #stride;
                #from_input
            };
        }
        let from_copy = block(quote!(rows), quote!(shift));
        quote! {
            let at = (#first) * #stride;
            if #(#conditions)||* {
                let (source, rows, shift): (&[T], &[usize], usize) = #chosen;
                #from_copy
            } else {
                #from_input
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Edges, even_blocks};

    /// The ends found from the row's two ends are those of every block classified in turn:
    /// a block that starts in the padding is at the head, else one that reaches past the
    /// input is at the tail.
    #[test]
    fn the_ends_are_those_of_every_block() {
        for input in [1, 2, 7, 30, 61] {
            for (kernel, stride, dilation) in
                [(1, 1, 1), (3, 1, 1), (3, 2, 2), (5, 3, 1), (8, 4, 1)]
            {
                for (before, after) in [(0, 1), (1, 1), (2, 3), (7, 0), (9, 9)] {
                    let text = format!(
                        "in=({input},) k={kernel} stride={stride} dilation={dilation} pad=(({before},{after}),)"
                    );
                    let Ok(spec) = conv_runtime::Spec::parse(&text) else {
                        continue;
                    };
                    let axis = &spec.axes()[0];
                    for most in [1, 4, 8, 16] {
                        let edges = Edges::along(axis, most);
                        let (mut head, mut tail) = (0, edges.extent);
                        for (first, size) in even_blocks(axis.output(), most) {
                            let at = first * stride;
                            let end = at + (size - 1) * stride + axis.effective_kernel();
                            if at < before {
                                head = head.max(end);
                            } else if end > before + input {
                                tail = tail.min(at);
                            }
                        }
                        assert_eq!(
                            (edges.head, edges.tail),
                            (head, tail),
                            "{text}, blocks of {most}"
                        );
                    }
                }
            }
        }
    }
}
