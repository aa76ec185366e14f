//! How a row is cut into blocks, and each tap's bounds `(lo, hi, first)` in a block: a
//! table for the blocks at either end of a row, a formula for those between.

use core::ops::Range;

use conv_runtime::Axis;
use proc_macro2::{Literal, TokenStream};
use quote::quote;

use crate::lower::tokens::{number, scaled};

/// The longest row a forward or input-gradient kernel sums in a local array; longer rows
/// are cut into blocks of this many elements, so the array stays small on any stack.
pub(super) const BLOCK: usize = 256;

/// The most `(lo, hi, first)` bounds a kernel writes out for the blocks at the ends of a
/// row (taps times blocks): a small layer's few edge blocks read them from a constant, a
/// larger one's compute them in the loop as every interior block does.
pub(super) const EDGE_BOUNDS: usize = 256;

/// `[(lo, hi, first); k]` for the taps of `axis`: the outputs `lo..hi` within `outputs`
/// whose tap reads real input within `inputs`, and the input the first of them reads;
/// `lo` and `hi` counted from `output_origin`, `first` from `input_origin`.
pub(super) fn rows(
    axis: &Axis,
    (outputs, output_origin): (Range<usize>, usize),
    (inputs, input_origin): (Range<usize>, usize),
) -> TokenStream {
    let rows = (0..axis.kernel()).map(|tap| {
        let range = axis.outputs_reading_within(tap, outputs.clone(), inputs.clone());
        let (lo, hi, first) = match axis.source(range.start, tap) {
            Some(first) if !range.is_empty() => (
                range.start - output_origin,
                range.end - output_origin,
                first - input_origin,
            ),
            _ => (0, 0, 0),
        };
        let (lo, hi, first) = (number(lo), number(hi), number(first));
        quote!((#lo, #hi, #first))
    });
    quote!([#(#rows),*])
}

/// A row cut into blocks of about [`BLOCK`] outputs (`by_output`, the forward pass) or
/// inputs (the input gradient). Only the blocks at either end, where a tap's bounds are
/// clipped by padding or by the end of the row, have bounds of their own; an interior
/// block's follow from where it starts, so the code is the same size for any row length:
///
/// ```text
/// for (block_start, rows) in (0..=0).step_by(256).chain((1792..=1792).step_by(256)).zip(&EDGE_ROWS) { … }
/// for block_start in (256..=1536).step_by(256) {
///     … for (q, tap) in w_row.iter().enumerate() { let (lo, hi, first) = (0, 256, block_start * 3 + q * 2 - 5); … }
/// }
/// ```
pub(super) struct Blocks {
    /// Positions in a block (a multiple of the stride in the input gradient).
    pub(super) width: usize,
    /// Positions in a row.
    pub(super) length: usize,
    /// Blocks in a row.
    pub(super) count: usize,
    /// The interior blocks: every tap of every position of such a block reads real input
    /// (the forward pass) or is read by a real output (the input gradient).
    pub(super) interior: Range<usize>,
    /// Whether the other blocks' bounds are written out in `EDGE_ROWS`, or computed in the
    /// loop when that would take more than [`EDGE_BOUNDS`] entries.
    pub(super) tabulated: bool,
    pub(super) by_output: bool,
}

impl Blocks {
    pub(super) fn of(axis: &Axis, by_output: bool) -> Self {
        let length = if by_output {
            axis.output()
        } else {
            axis.input()
        };
        // An input gradient's blocks start at a multiple of the stride, so that its phases
        // (below) are the same in every block.
        let multiple = if by_output { 1 } else { axis.stride() };
        let width = length.min((BLOCK / multiple).max(1) * multiple);
        let count = length.div_ceil(width);
        let (stride, pad) = (axis.stride(), axis.pad_before());
        let reach = (axis.kernel() - 1).saturating_mul(axis.dilation());
        // The positions from `begin` to `end` where no tap's bounds are clipped.
        let (begin, end) = if by_output {
            // Output `p` reads `p·s + q·d − pad`: at least 0 for every tap from `⌈pad / s⌉`
            // on, below the input's end for every tap before `⌈(input + pad − reach) / s⌉`.
            (
                pad.div_ceil(stride),
                axis.input()
                    .saturating_add(pad)
                    .saturating_sub(reach)
                    .div_ceil(stride),
            )
        } else {
            // Input `i` is read through tap `q` by output `(i + pad − q·d) / s`: at least 0
            // for every tap from `reach − pad` on, below `out` for every tap before
            // `out·s − pad`.
            (
                reach.saturating_sub(pad),
                axis.output().saturating_mul(stride).saturating_sub(pad),
            )
        };
        let front = begin.div_ceil(width).min(count);
        let back = if end >= length { count } else { end / width }.max(front);
        let edges = front + (count - back);
        Blocks {
            width,
            length,
            count,
            interior: front..back,
            tabulated: edges
                .checked_mul(axis.kernel())
                .is_some_and(|entries| entries <= EDGE_BOUNDS),
            by_output,
        }
    }

    /// How the interior blocks find their bounds.
    pub(super) fn interior_bounds(&self) -> Bounds {
        Bounds::Interior {
            whole: self.interior.end * self.width <= self.length,
        }
    }

    /// The blocks at the front and at the back of a row, those not interior.
    pub(super) fn edges(&self) -> Vec<Range<usize>> {
        [0..self.interior.start, self.interior.end..self.count]
            .into_iter()
            .filter(|blocks| !blocks.is_empty())
            .collect()
    }

    /// `const EDGE_ROWS: [[(lo, hi, first); k]; edges]` for the taps of `axis` in the edge
    /// blocks, when they are tabulated.
    pub(super) fn constant(&self, axis: &Axis) -> TokenStream {
        if !self.tabulated {
            return TokenStream::new();
        }
        let length = if self.by_output {
            axis.output()
        } else {
            axis.input()
        };
        let blocks: Vec<_> = self
            .edges()
            .into_iter()
            .flatten()
            .map(|block| {
                let start = block * self.width;
                let span = start..(start + self.width).min(length);
                if self.by_output {
                    rows(axis, (span, start), (0..axis.input(), 0))
                } else {
                    rows(axis, (0..axis.output(), 0), (span, start))
                }
            })
            .collect();
        if blocks.is_empty() {
            return TokenStream::new();
        }
        let (kernel, count) = (number(axis.kernel()), number(blocks.len()));
        quote! {
            const EDGE_ROWS: [[(usize, usize, usize); #kernel]; #count] = [#(#blocks),*];
        }
    }

    /// `body` once per block, with `block_start`; `body` is given how the block's taps
    /// find their bounds and, for [`Bounds::Table`], may read them from `rows`.
    pub(super) fn each(&self, body: impl Fn(Bounds) -> TokenStream) -> TokenStream {
        let width = number(self.width);
        let starts = |blocks: &Range<usize>| -> TokenStream {
            // Typed: the computed bounds call methods on them.
            let (first, last) = (
                Literal::usize_suffixed(blocks.start * self.width),
                number((blocks.end - 1) * self.width),
            );
            quote!((#first..=#last).step_by(#width))
        };
        let edges = self.edges();
        let edge_count: usize = edges.iter().map(ExactSizeIterator::len).sum();
        let edge_bounds = if self.tabulated {
            Bounds::Table
        } else {
            Bounds::Computed
        };
        let edge_body = (edge_count > 0).then(|| body(edge_bounds));
        let edge_loop = match (edges.as_slice(), edge_body) {
            ([only], Some(body)) if edge_count == 1 => {
                let start = Literal::usize_suffixed(only.start * self.width);
                if self.tabulated {
                    quote!({
                        let (block_start, rows) = (#start, &EDGE_ROWS[0]);
                        #body
                    })
                } else {
                    quote!({
                        let block_start = #start;
                        #body
                    })
                }
            }
            (_, Some(body)) => {
                let starts = edges
                    .iter()
                    .map(starts)
                    .reduce(|all, next| quote!(#all.chain(#next)));
                if self.tabulated {
                    quote!(for (block_start, rows) in #starts.zip(&EDGE_ROWS) { #body })
                } else {
                    quote!(for block_start in #starts { #body })
                }
            }
            (_, None) => TokenStream::new(),
        };
        let interior_loop = match self.interior.len() {
            0 => TokenStream::new(),
            1 => {
                let (start, body) = (
                    Literal::usize_suffixed(self.interior.start * self.width),
                    body(self.interior_bounds()),
                );
                quote!({
                    let block_start = #start;
                    #body
                })
            }
            _ => {
                let (starts, body) = (starts(&self.interior), body(self.interior_bounds()));
                quote!(for block_start in #starts { #body })
            }
        };
        quote!(#edge_loop #interior_loop)
    }
}

/// Where a block's taps find their `(lo, hi, first)`.
#[derive(Clone, Copy)]
pub(super) enum Bounds {
    /// From the block's entry in `EDGE_ROWS`, as `rows`.
    Table,
    /// From where the block starts, no tap clipped; `whole` when every interior block
    /// is [`Blocks::width`] long, so that the length is a constant.
    Interior { whole: bool },
    /// From where the block starts and the padding, each tap clipped to the row.
    Computed,
}

/// `for` over the taps of the last axis in `w_row`, with `tap` and its `(lo, hi, first)`
/// in a block of `axis` at `block_start`, around `inner`. `lo..hi` are outputs and `first`
/// an input; in the forward pass (`by_output`) `lo..hi` count from `block_start` and
/// `first` from the row's start, in the input gradient the other way round. A computed
/// tap that reaches nothing in the block is skipped.
pub(super) fn tap_loop(
    axis: &Axis,
    blocks: &Blocks,
    bounds: Bounds,
    inner: &TokenStream,
) -> TokenStream {
    if let Bounds::Table = bounds {
        return quote! {
            for (tap, &(lo, hi, first)) in w_row.iter().zip(rows) {
                #inner
            }
        };
    }
    let bounds = if blocks.by_output {
        forward_bounds(axis, bounds, (&quote!(block_start), blocks.width))
    } else {
        input_bounds(axis, bounds, blocks.width)
    };
    quote! {
        for (q, tap) in w_row.iter().enumerate() {
            #bounds
            #inner
        }
    }
}

/// `⌈value / s⌉`, or `value` at stride 1.
pub(super) fn divided(value: &TokenStream, stride: usize) -> TokenStream {
    if stride == 1 {
        value.clone()
    } else {
        let stride = number(stride);
        quote!((#value).div_ceil(#stride))
    }
}

/// The statements that bind `(lo, hi, first)` for tap `q` in the forward pass's block of
/// outputs at `block_start` (`lo..hi` from it, `first` from the row's start): the
/// runtime's `Axis::outputs_reading_within` in the loop.
pub(super) fn forward_bounds(
    axis: &Axis,
    bounds: Bounds,
    (block_start, width): (&TokenStream, usize),
) -> TokenStream {
    let (stride, pad) = (axis.stride(), axis.pad_before());
    let reach = scaled(&quote!(q), axis.dilation());
    let (output, width) = (number(axis.output()), number(width));
    let start = scaled(block_start, stride);
    let first = if pad == 0 {
        quote!(#start + reach)
    } else {
        let pad = number(pad);
        quote!(#start + reach - #pad)
    };
    if let Bounds::Interior { whole } = bounds {
        let length = if whole {
            quote!(#width)
        } else {
            quote!((#output - #block_start).min(#width))
        };
        return quote! {
            let reach = #reach;
            let (lo, hi, first) = (0, #length, #first);
        };
    }
    let low = if pad == 0 {
        quote!(#block_start)
    } else {
        let pad = Literal::usize_suffixed(pad);
        let low = divided(&quote!(#pad.saturating_sub(reach)), stride);
        quote!(#low.max(#block_start))
    };
    let padded_input = Literal::usize_suffixed(axis.input().saturating_add(pad));
    let high = divided(&quote!(#padded_input.saturating_sub(reach)), stride);
    let start = scaled(&quote!(lo), stride);
    let first = if pad == 0 {
        quote!(#start + reach)
    } else {
        let pad = number(pad);
        quote!(#start + reach - #pad)
    };
    quote! {
        let reach = #reach;
        let lo = #low;
        let hi = #high.min(#block_start + #width).min(#output);
        if lo >= hi {
            continue;
        }
        let (lo, hi, first) = (lo - #block_start, hi - #block_start, #first);
    }
}

/// The statements that bind `(lo, hi, first)` for tap `q` in the input gradient's block
/// of inputs at `block_start` (`lo..hi` from the row's start, `first` from the block's):
/// the runtime's `Axis::outputs_reading_within` in the loop.
pub(super) fn input_bounds(axis: &Axis, bounds: Bounds, width: usize) -> TokenStream {
    let (stride, pad) = (axis.stride(), axis.pad_before());
    let reach = scaled(&quote!(q), axis.dilation());
    let (input, width) = (number(axis.input()), number(width));
    let offset = if pad == 0 {
        quote!(block_start)
    } else {
        let pad = number(pad);
        quote!((block_start + #pad))
    };
    let length = if let Bounds::Interior { whole: true } = bounds {
        quote!(#width)
    } else {
        quote!((#input - block_start).min(#width))
    };
    let first = scaled(&quote!(lo), stride);
    if let Bounds::Interior { .. } = bounds {
        let (low, high) = (
            divided(&quote!(offset), stride),
            divided(&quote!(offset + #length), stride),
        );
        return quote! {
            let offset = #offset - #reach;
            let (lo, hi) = (#low, #high);
            let first = #first - offset;
        };
    }
    let output = number(axis.output());
    let (low, high) = (
        divided(&quote!(#offset.saturating_sub(reach)), stride),
        divided(&quote!((#offset + #length).saturating_sub(reach)), stride),
    );
    quote! {
        let reach = #reach;
        let lo = #low;
        let hi = #high.min(#output);
        if lo >= hi {
            continue;
        }
        let first = #first + reach - #offset;
    }
}
