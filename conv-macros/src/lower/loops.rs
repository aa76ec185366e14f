//! Loop kernels: nested loops whose bounds and offsets are constants read off the runtime's
//! [`Spec`]. Every kernel works on rows of the last axis and keeps its sums in a local array
//! (registers, or the top of the stack) until they are complete, so memory sees each output
//! once, and each innermost loop zips two contiguous rows, so it has no branch, no bounds
//! check and, at stride 1, vectorises:
//!
//! ```text
//! for (tap, &(lo, hi, first)) in w_row.iter().zip(rows) {
//!     for (sum, x) in sums[lo..hi].iter_mut().zip(x_row[first..].iter()) {
//!         sum.accumulate_product(tap, x);
//!     }
//! }
//! ```
//!
//! - The forward pass gathers an output row (a block of [`BLOCK`] outputs at a time) over
//!   the input channels and the taps; past stride 1, a long input row is first split by
//!   phase, so every tap reads a contiguous run, once for a block of output channels.
//! - The input gradient gathers an input row the same way, over the output channels and
//!   the taps (the correlation of δ with the flipped kernel), instead of scattering every
//!   product into memory.
//! - The weight gradient sums each tap over a row of δ and a row of the input in [`LANES`]
//!   independent partial sums, which vectorise where one running sum would not (a float
//!   sum is sequential): the order of the additions changes, the terms do not.
//!
//! `lo..hi` are the outputs whose tap reads real input and `first` the input the first of
//! them reads: for the blocks at either end of a row, from
//! [`conv_runtime::Axis::outputs_reading_within`] (or the same formula in the loop when a
//! table would be large); for the blocks between, from where the block starts
//! ([`Blocks`]), so the code does not grow with the row. The other axes skip a tap that
//! lands on padding once per row.

use core::ops::Range;

use conv_runtime::{Axis, Spec};
use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};

/// The longest row a forward or input-gradient kernel sums in a local array; longer rows
/// are cut into blocks of this many elements, so the array stays small on any stack.
const BLOCK: usize = 256;

/// The most `(lo, hi, first)` bounds a kernel writes out for the blocks at the ends of a
/// row (taps times blocks): a small layer's few edge blocks read them from a constant, a
/// larger one's compute them in the loop as every interior block does.
const EDGE_BOUNDS: usize = 256;

/// Past stride 1, the forward pass splits an input row by phase (position modulo the
/// stride) when its output rows are longer than this: a shorter row is unrolled into
/// registers by the compiler anyway, and the split would only add copies (measured: 6 %
/// slower on a 16-wide row at stride 2, 1.8 times faster on a 254-wide row at stride 4).
const PHASED_OUTPUTS: usize = 64;

/// The longest input row split by phase, into a local array on the stack.
const PHASED_INPUTS: usize = 4096;

/// The sums the forward pass keeps for a block of output channels when it splits input
/// rows by phase, once per row for the whole block: as many as the first-level cache
/// holds easily. At stride 1 each output channel is summed alone: summing several at once
/// measured 8 to 24 % slower on the two `LeNet` layers, portably.
const PHASED_SUMS: usize = 2048;

/// The partial sums the weight gradient keeps per tap: two SSE vectors or one AVX one of
/// `f32`, enough independent additions to keep the adders busy.
const LANES: usize = 8;

fn number(value: usize) -> Literal {
    Literal::usize_unsuffixed(value)
}

/// The chunk sizes the channel loops walk a tensor in: a sample (one batch entry), a
/// group's channels, one channel's plane, one filter.
struct Chunks {
    input_sample: Literal,
    output_sample: Literal,
    input_group: Literal,
    output_group: Literal,
    weight_group: Literal,
    filter: Literal,
    input_plane: Literal,
    output_plane: Literal,
    taps: Literal,
}

impl Chunks {
    fn of(spec: &Spec) -> Self {
        let plane = |size: fn(&Axis) -> usize| spec.axes().iter().map(size).product::<usize>();
        let (input, output, taps) = (plane(Axis::input), plane(Axis::output), plane(Axis::kernel));
        let (in_group, out_group) = (spec.in_channels_per_group(), spec.out_channels_per_group());
        Chunks {
            input_sample: number(spec.in_channels() * input),
            output_sample: number(spec.out_channels() * output),
            input_group: number(in_group * input),
            output_group: number(out_group * output),
            weight_group: number(out_group * in_group * taps),
            filter: number(in_group * taps),
            input_plane: number(input),
            output_plane: number(output),
            taps: number(taps),
        }
    }
}

/// `a * factor`, or `a` when the factor is 1.
fn scaled(a: &TokenStream, factor: usize) -> TokenStream {
    if factor == 1 {
        a.clone()
    } else {
        let factor = number(factor);
        quote!(#a * #factor)
    }
}

/// The variables of the axes but the last, one per axis: `p0`, `p1`.
fn names(prefix: &str, outer: &[Axis]) -> Vec<Ident> {
    (0..outer.len())
        .map(|index| format_ident!("{prefix}{index}"))
        .collect()
}

/// `for v0 in 0..n0 { for v1 in 0..n1 { body } }` over the axes but the last.
fn nest(variables: &[Ident], extents: &[usize], body: TokenStream) -> TokenStream {
    variables
        .iter()
        .zip(extents)
        .rev()
        .fold(body, |body, (variable, &extent)| {
            // Typed bounds: `checked_sub` needs to know the integer type.
            let extent = Literal::usize_suffixed(extent);
            quote!(for #variable in 0..#extent { #body })
        })
}

/// Where a row starts in its plane: `(p0 * 6 + p1) * 4` for the outer indices `p0, p1`,
/// the outer extents `_, 6` and rows of 4; `None` in a one-axis layer.
fn row_start(variables: &[Ident], extents: &[usize], row: usize) -> Option<TokenStream> {
    let mut flat: Option<TokenStream> = None;
    for (variable, &extent) in variables.iter().zip(extents) {
        flat = Some(match flat {
            None => quote!(#variable),
            Some(flat) => {
                let flat = scaled(&flat, extent);
                quote!((#flat + #variable))
            }
        });
    }
    flat.map(|flat| scaled(&flat, row))
}

/// `&plane[start..][..len]`, or a plain prefix when the row starts at 0.
fn row_slice(plane: &str, start: Option<&TokenStream>, len: usize, mutable: bool) -> TokenStream {
    let plane = format_ident!("{plane}");
    let len = number(len);
    let mutability = mutable.then(|| quote!(mut));
    match start {
        None => quote!(&#mutability #plane[..#len]),
        Some(start) => quote!(&#mutability #plane[#start..][..#len]),
    }
}

/// `let i = p·s + q·d − pad;` for each axis but the last, skipping a tap that reads padding.
fn sources(outer: &[Axis], positions: &[Ident], taps: &[Ident], inputs: &[Ident]) -> TokenStream {
    let lets = outer.iter().enumerate().map(|(index, axis)| {
        let (p, q, i) = (&positions[index], &taps[index], &inputs[index]);
        let reach = {
            let (p, q) = (
                scaled(&quote!(#p), axis.stride()),
                scaled(&quote!(#q), axis.dilation()),
            );
            quote!(#p + #q)
        };
        let input = number(axis.input());
        if axis.pad_before() == 0 {
            quote! {
                let #i = #reach;
                if #i >= #input {
                    continue;
                }
            }
        } else {
            let pad = number(axis.pad_before());
            quote! {
                let Some(#i) = (#reach).checked_sub(#pad).filter(|&i| i < #input) else {
                    continue;
                };
            }
        }
    });
    quote!(#(#lets)*)
}

/// `let p = (i + pad − q·d) / s;` for each axis but the last, skipping a tap through which
/// no output reads input `i`.
fn targets(outer: &[Axis], inputs: &[Ident], taps: &[Ident], positions: &[Ident]) -> TokenStream {
    let lets = outer.iter().enumerate().map(|(index, axis)| {
        let (i, q, p) = (&inputs[index], &taps[index], &positions[index]);
        let padded = if axis.pad_before() == 0 {
            quote!(#i)
        } else {
            let pad = number(axis.pad_before());
            quote!((#i + #pad))
        };
        let reach = scaled(&quote!(#q), axis.dilation());
        let output = number(axis.output());
        let stride = axis.stride();
        let divide = (stride > 1).then(|| {
            let stride = number(stride);
            quote!(.filter(|reach| reach.is_multiple_of(#stride)).map(|reach| reach / #stride))
        });
        quote! {
            let Some(#p) = #padded.checked_sub(#reach)#divide.filter(|&p| p < #output) else {
                continue;
            };
        }
    });
    quote!(#(#lets)*)
}

/// `[(lo, hi, first); k]` for the taps of `axis`: the outputs `lo..hi` within `outputs`
/// whose tap reads real input within `inputs`, and the input the first of them reads;
/// `lo` and `hi` counted from `output_origin`, `first` from `input_origin`.
fn rows(
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
struct Blocks {
    /// Positions in a block (a multiple of the stride in the input gradient).
    width: usize,
    /// Positions in a row.
    length: usize,
    /// Blocks in a row.
    count: usize,
    /// The interior blocks: every tap of every position of such a block reads real input
    /// (the forward pass) or is read by a real output (the input gradient).
    interior: Range<usize>,
    /// Whether the other blocks' bounds are written out in `EDGE_ROWS`, or computed in the
    /// loop when that would take more than [`EDGE_BOUNDS`] entries.
    tabulated: bool,
    by_output: bool,
}

impl Blocks {
    fn of(axis: &Axis, by_output: bool) -> Self {
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
    fn interior_bounds(&self) -> Bounds {
        Bounds::Interior {
            whole: self.interior.end * self.width <= self.length,
        }
    }

    /// The blocks at the front and at the back of a row, those not interior.
    fn edges(&self) -> Vec<Range<usize>> {
        [0..self.interior.start, self.interior.end..self.count]
            .into_iter()
            .filter(|blocks| !blocks.is_empty())
            .collect()
    }

    /// `const EDGE_ROWS: [[(lo, hi, first); k]; edges]` for the taps of `axis` in the edge
    /// blocks, when they are tabulated.
    fn constant(&self, axis: &Axis) -> TokenStream {
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
    fn each(&self, body: impl Fn(Bounds) -> TokenStream) -> TokenStream {
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
enum Bounds {
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
fn tap_loop(axis: &Axis, blocks: &Blocks, bounds: Bounds, inner: &TokenStream) -> TokenStream {
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
fn divided(value: &TokenStream, stride: usize) -> TokenStream {
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
fn forward_bounds(
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
fn input_bounds(axis: &Axis, bounds: Bounds, width: usize) -> TokenStream {
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

/// The axes but the last, the last, and how a row of the last axis is stepped through at
/// its stride: `.iter()`, `.iter().step_by(s)`, or their `_mut` forms.
fn split(spec: &Spec, mutable: bool) -> Option<(&[Axis], &Axis, TokenStream)> {
    let (last, outer) = spec.axes().split_last()?;
    let iter = if mutable {
        quote!(iter_mut)
    } else {
        quote!(iter)
    };
    let step = if last.stride() == 1 {
        quote!(.#iter())
    } else {
        let stride = number(last.stride());
        quote!(.#iter().step_by(#stride))
    };
    Some((outer, last, step))
}

/// The index variables of the axes but the last and their extents: positions `p…` over
/// the output, taps `q…` over the kernel, sources `i…` over the input.
struct Outer<'a> {
    axes: &'a [Axis],
    positions: Vec<Ident>,
    taps: Vec<Ident>,
    inputs: Vec<Ident>,
    output_extents: Vec<usize>,
    kernel_extents: Vec<usize>,
    input_extents: Vec<usize>,
}

impl<'a> Outer<'a> {
    fn new(axes: &'a [Axis]) -> Self {
        let extents = |size: fn(&Axis) -> usize| axes.iter().map(size).collect();
        Outer {
            axes,
            positions: names("p", axes),
            taps: names("q", axes),
            inputs: names("i", axes),
            output_extents: extents(Axis::output),
            kernel_extents: extents(Axis::kernel),
            input_extents: extents(Axis::input),
        }
    }

    /// The rows of a plane of `tensor`, indexed by this tensor's variables.
    fn row(&self, plane: &str, tensor: Tensor, last: &Axis, mutable: bool) -> TokenStream {
        let (variables, extents, len) = match tensor {
            Tensor::Output => (&self.positions, &self.output_extents, last.output()),
            Tensor::Kernel => (&self.taps, &self.kernel_extents, last.kernel()),
            Tensor::Input => (&self.inputs, &self.input_extents, last.input()),
        };
        let start = row_start(variables, extents, len);
        row_slice(plane, start.as_ref(), len, mutable)
    }
}

/// Which tensor a row belongs to, for its index variables.
#[derive(Clone, Copy)]
enum Tensor {
    Output,
    Kernel,
    Input,
}

/// How many output channels the forward pass sums at once: one, or when input rows are
/// split by phase, the largest divisor of a group's output channels whose rows fit
/// [`PHASED_SUMS`].
fn channel_block(spec: &Spec, width: usize, phased: bool) -> usize {
    let channels = spec.out_channels_per_group();
    (1..=channels)
        .filter(|block| {
            channels.is_multiple_of(*block)
                && (*block == 1 || phased && block * width <= PHASED_SUMS)
        })
        .max()
        .unwrap_or(1)
}

/// The forward pass's input row split by phase: the buffer's declaration, the statements
/// that fill it from `x_row`, and the iterator over the inputs a tap reads from `first`;
/// or, unsplit, nothing and `x_row` read at the stride.
fn phase_split(
    axis: &Axis,
    phased: bool,
    step: &TokenStream,
) -> (TokenStream, TokenStream, TokenStream) {
    if phased {
        let stride = axis.stride();
        let (count, len) = (number(stride), number(axis.input().div_ceil(stride)));
        (
            quote! {
                let mut phases: [[T; #len]; #count] =
                    ::core::array::from_fn(|_| ::core::array::from_fn(|_| T::zero()));
            },
            quote! {
                for (phase, row) in phases.iter_mut().enumerate() {
                    for (value, x) in row.iter_mut().zip(x_row.iter().skip(phase).step_by(#count)) {
                        value.clone_from(x);
                    }
                }
            },
            quote!(phases[first % #count][first / #count..].iter()),
        )
    } else {
        (
            TokenStream::new(),
            TokenStream::new(),
            quote!(x_row[first..]#step),
        )
    }
}

/// For the forward pass's channel blocks: the row of output channel `o` of the block in
/// `z_planes`, and the row of taps that meets input channel `c` in `w_filters`.
fn channel_rows(spec: &Spec, outer: &Outer, axis: &Axis) -> (TokenStream, TokenStream) {
    let z_start = row_start(&outer.positions, &outer.output_extents, axis.output());
    let z_row = {
        let plane = scaled(&quote!(o), spec.axes().iter().map(Axis::output).product());
        let start = match z_start {
            Some(start) => quote!(#plane + #start),
            None => plane,
        };
        let len = number(axis.output());
        quote!(&mut z_planes[#start..][..#len])
    };
    let taps_per_filter: usize = spec.axes().iter().map(Axis::kernel).product();
    let w_row = {
        let filter = scaled(&quote!(o), spec.in_channels_per_group());
        let filter = if spec.in_channels_per_group() == 1 {
            filter
        } else {
            quote!((#filter + c))
        };
        let mut start = scaled(&filter, taps_per_filter);
        if let Some(taps) = row_start(&outer.taps, &outer.kernel_extents, axis.kernel()) {
            start = quote!(#start + #taps);
        }
        let len = number(axis.kernel());
        quote!(&w_filters[#start..][..#len])
    };
    (z_row, w_row)
}

/// The forward pass's patterns with and without a bias: the groups' and the blocks' zips
/// and patterns, and how a block's sums start (each row from its channel's bias, or 0).
fn forward_bias(spec: &Spec, block: usize) -> [TokenStream; 5] {
    if spec.bias() {
        let (out_per_group, block) = (number(spec.out_channels_per_group()), number(block));
        [
            quote!(.zip(b.chunks_exact(#out_per_group))),
            quote!(((x_group, z_group), w_group), b_group),
            quote!(.zip(b_group.chunks_exact(#block))),
            quote!(((z_planes, w_filters), b_block)),
            quote!(|o| ::core::array::from_fn(|_| b_block[o].clone())),
        ]
    } else {
        [
            TokenStream::new(),
            quote!((x_group, z_group), w_group),
            TokenStream::new(),
            quote!((z_planes, w_filters)),
            quote!(|_| ::core::array::from_fn(|_| T::zero())),
        ]
    }
}

/// `forward_into`'s body: `z[n, o, p] = b[o] + Σ_{c, q} w[o, c, q] · x[n, c, p·s + q·d − pad]`,
/// an output row of a few output channels at a time, so each input row read serves all of
/// them.
pub(super) fn forward(spec: &Spec) -> TokenStream {
    let Chunks {
        input_sample,
        output_sample,
        input_group,
        output_group,
        weight_group,
        input_plane,
        ..
    } = Chunks::of(spec);
    // A validated specification has 1 to 3 axes.
    let Some((outer, axis, step)) = split(spec, false) else {
        return TokenStream::new();
    };
    let outer = Outer::new(outer);
    let blocks = Blocks::of(axis, true);
    let (rows_constant, width) = (blocks.constant(axis), blocks.width);
    let stride = axis.stride();
    // Past stride 1 a long input row is split by phase (position modulo the stride) into
    // a local array, so that every tap reads a contiguous run, once per row for all the
    // channels of a block; other rows are read at the stride.
    let phased = stride > 1 && axis.output() > PHASED_OUTPUTS && axis.input() <= PHASED_INPUTS;
    let block = channel_block(spec, width, phased);
    let x_row = outer.row("x_plane", Tensor::Input, axis, false);
    let taps_per_filter: usize = spec.axes().iter().map(Axis::kernel).product();
    let (z_row, w_row) = channel_rows(spec, &outer, axis);
    let (phase_buffer, split_row, source) = phase_split(axis, phased, &step);
    let sources = sources(outer.axes, &outer.positions, &outer.taps, &outer.inputs);
    let inner = quote! {
        for (sum, x) in sums[lo..hi].iter_mut().zip(#source) {
            sum.accumulate_product(tap, x);
        }
    };
    let channel = if spec.in_channels_per_group() == 1 {
        quote!(x_plane)
    } else {
        quote!((c, x_plane))
    };
    let enumerate = (spec.in_channels_per_group() > 1).then(|| quote!(.enumerate()));
    let [bias_groups, bias_pattern, bias_zip, block_pattern, start] = forward_bias(spec, block);
    let (width_literal, block_literal) = (number(width), number(block));
    let row = blocks.each(|bounds| {
        let each_tap = tap_loop(axis, &blocks, bounds, &inner);
        let taps_nest = nest(
            &outer.taps,
            &outer.kernel_extents,
            quote! {
                #sources
                let x_row = #x_row;
                #split_row
                for (o, sums) in sums.iter_mut().enumerate() {
                    let w_row = #w_row;
                    #each_tap
                }
            },
        );
        quote! {
            let mut sums: [[T; #width_literal]; #block_literal] = ::core::array::from_fn(#start);
            for #channel in x_group.chunks_exact(#input_plane)#enumerate {
                #taps_nest
            }
            for (o, sums) in sums.into_iter().enumerate() {
                let z_row = #z_row;
                for (out, sum) in z_row[block_start..].iter_mut().zip(sums) {
                    *out = sum;
                }
            }
        }
    });
    let positions_nest = nest(&outer.positions, &outer.output_extents, row);
    let (block_planes, block_filters) = (
        number(block * spec.axes().iter().map(Axis::output).product::<usize>()),
        number(block * spec.in_channels_per_group() * taps_per_filter),
    );
    quote! {
        #rows_constant
        #phase_buffer
        for (x_sample, z_sample) in x.chunks_exact(#input_sample).zip(z.chunks_exact_mut(#output_sample)) {
            let groups = x_sample
                .chunks_exact(#input_group)
                .zip(z_sample.chunks_exact_mut(#output_group))
                .zip(w.chunks_exact(#weight_group))
                #bias_groups;
            for (#bias_pattern) in groups {
                let blocks = z_group
                    .chunks_exact_mut(#block_planes)
                    .zip(w_group.chunks_exact(#block_filters))
                    #bias_zip;
                for #block_pattern in blocks {
                    #positions_nest
                }
            }
        }
    }
}

/// The input gradient's sums for a block of `width` inputs (split by phase past stride 1)
/// and the statements that store them into `dx_row` from `block_start`.
fn input_sums(width: usize, stride: usize) -> (TokenStream, TokenStream) {
    if stride == 1 {
        let width = number(width);
        (
            quote!(let mut sums: [T; #width] = ::core::array::from_fn(|_| T::zero());),
            quote! {
                for (out, sum) in dx_row[block_start..].iter_mut().zip(sums) {
                    *out = sum;
                }
            },
        )
    } else {
        let (phases, phase_width) = (number(stride), number(width.div_ceil(stride)));
        (
            quote! {
                let mut sums: [[T; #phase_width]; #phases] =
                    ::core::array::from_fn(|_| ::core::array::from_fn(|_| T::zero()));
            },
            quote! {
                for (phase, sums) in sums.into_iter().enumerate() {
                    for (out, sum) in dx_row[block_start..].iter_mut().skip(phase).step_by(#phases).zip(sums) {
                        *out = sum;
                    }
                }
            },
        )
    }
}

/// `grad_input_into`'s body: `dx[n, c, i] = Σ_{o, q : p·s + q·d − pad = i} δ[n, o, p] · w[o, c, q]`,
/// an input row at a time: the correlation of δ with the flipped kernel.
pub(super) fn grad_input(spec: &Spec) -> TokenStream {
    let Chunks {
        input_sample,
        output_sample,
        input_group,
        output_group,
        weight_group,
        input_plane,
        output_plane,
        taps,
        ..
    } = Chunks::of(spec);
    // A validated specification has 1 to 3 axes.
    let Some((outer, axis, _)) = split(spec, true) else {
        return TokenStream::new();
    };
    let outer = Outer::new(outer);
    let blocks = Blocks::of(axis, false);
    let (rows_constant, width) = (blocks.constant(axis), blocks.width);
    let d_row = outer.row("d_plane", Tensor::Output, axis, false);
    let w_row = outer.row("w_taps", Tensor::Kernel, axis, false);
    let gradient_row = outer.row("dx_plane", Tensor::Input, axis, true);
    let targets = targets(outer.axes, &outer.inputs, &outer.taps, &outer.positions);
    // Past stride 1 the sums are split by phase, the input position modulo the stride: a
    // tap adds a contiguous row of δ into a contiguous run of one phase, where the plain
    // row would take every s-th sum.
    let stride = axis.stride();
    let target = if stride == 1 {
        quote!(sums[first..].iter_mut())
    } else {
        let stride = number(stride);
        quote!(sums[first % #stride][first / #stride..].iter_mut())
    };
    let inner = quote! {
        for (sum, d) in #target.zip(&d_row[lo..hi]) {
            sum.accumulate_product(d, tap);
        }
    };
    // Input channel `c` of a group meets output channel `o` in filter `o · cin/groups + c`.
    let per_group = spec.in_channels_per_group();
    let (channel, enumerate, filter) = if per_group == 1 {
        (quote!(dx_plane), None, quote!(o))
    } else {
        let o = scaled(&quote!(o), per_group);
        (
            quote!((c, dx_plane)),
            Some(quote!(.enumerate())),
            quote!((#o + c)),
        )
    };
    let filter_start = scaled(&filter, spec.axes().iter().map(Axis::kernel).product());
    let (sums, store) = input_sums(width, stride);
    let row = blocks.each(|bounds| {
        let each_tap = tap_loop(axis, &blocks, bounds, &inner);
        let taps_nest = nest(
            &outer.taps,
            &outer.kernel_extents,
            quote! {
                #targets
                let d_row = #d_row;
                let w_row = #w_row;
                #each_tap
            },
        );
        quote! {
            #sums
            for (o, d_plane) in d_group.chunks_exact(#output_plane).enumerate() {
                let w_taps = &w_group[#filter_start..][..#taps];
                #taps_nest
            }
            #store
        }
    });
    let inputs_nest = nest(
        &outer.inputs,
        &outer.input_extents,
        quote! {
            let dx_row = #gradient_row;
            #row
        },
    );
    quote! {
        #rows_constant
        for (dx_sample, d_sample) in dx.chunks_exact_mut(#input_sample).zip(dz.chunks_exact(#output_sample)) {
            let groups = dx_sample
                .chunks_exact_mut(#input_group)
                .zip(d_sample.chunks_exact(#output_group))
                .zip(w.chunks_exact(#weight_group));
            for ((dx_group, d_group), w_group) in groups {
                for #channel in dx_group.chunks_exact_mut(#input_plane)#enumerate {
                    #inputs_nest
                }
            }
        }
    }
}

/// One tap's sum along a row of δ and a row of the input into `lanes`, [`LANES`] partial
/// sums. At stride 1 the rows are cut into whole chunks and a rest; past it, the input's
/// chunk is `LANES` strides long and read at the stride.
fn lanes(axis: &Axis) -> TokenStream {
    let lanes = number(LANES);
    if axis.stride() == 1 {
        return quote! {
            let (d, x) = (&d_row[lo..hi], &x_row[first..][..hi - lo]);
            let (d_chunks, x_chunks) = (d.chunks_exact(#lanes), x.chunks_exact(#lanes));
            let rest = d_chunks.remainder().iter().zip(x_chunks.remainder());
            for (d, x) in d_chunks.zip(x_chunks) {
                for (lane, (d, x)) in lanes.iter_mut().zip(d.iter().zip(x)) {
                    lane.accumulate_product(d, x);
                }
            }
            for (lane, (d, x)) in lanes.iter_mut().zip(rest) {
                lane.accumulate_product(d, x);
            }
        };
    }
    let (stride, input) = (number(axis.stride()), number(axis.input()));
    let (step, span) = (
        number(LANES * axis.stride()),
        number((LANES - 1) * axis.stride() + 1),
    );
    quote! {
        let d_chunks = d_row[lo..hi].chunks_exact(#lanes);
        // Past the row when the chunks end it: then the rest is empty.
        let done = (first + (hi - lo) / #lanes * #step).min(#input);
        let rest = d_chunks.remainder().iter().zip(x_row[done..].iter().step_by(#stride));
        for (chunk, d) in d_chunks.enumerate() {
            let x = &x_row[first + chunk * #step..][..#span];
            for (lane, (d, x)) in lanes.iter_mut().zip(d.iter().zip(x.iter().step_by(#stride))) {
                lane.accumulate_product(d, x);
            }
        }
        for (lane, (d, x)) in lanes.iter_mut().zip(rest) {
            lane.accumulate_product(d, x);
        }
    }
}

/// `grad_weight_into`'s body: `dw[o, c, q] = Σ_{n, p} δ[n, o, p] · x[n, c, p·s + q·d − pad]`,
/// each tap of the last axis summed along rows of δ and of the input in [`LANES`] partial
/// sums, added into the gradient once per row of taps and sample.
pub(super) fn grad_weight(spec: &Spec) -> TokenStream {
    let Chunks {
        input_sample,
        output_sample,
        input_group,
        output_group,
        weight_group,
        filter,
        input_plane,
        output_plane,
        taps,
    } = Chunks::of(spec);
    // A validated specification has 1 to 3 axes.
    let Some((outer, axis, _)) = split(spec, false) else {
        return TokenStream::new();
    };
    let outer = Outer::new(outer);
    // Each tap's bounds over the whole row: written out for a few taps, computed in the
    // loop for more.
    let (rows_constant, taps_loop) = if axis.kernel() <= EDGE_BOUNDS {
        let rows = rows(axis, (0..axis.output(), 0), (0..axis.input(), 0));
        let kernel = number(axis.kernel());
        (
            quote!(const ROWS: [(usize, usize, usize); #kernel] = #rows;),
            quote!(for (lanes, &(lo, hi, first)) in sums.iter_mut().zip(&ROWS)),
        )
    } else {
        (
            TokenStream::new(),
            quote!(for (q, lanes) in sums.iter_mut().enumerate()),
        )
    };
    let bounds = if axis.kernel() <= EDGE_BOUNDS {
        TokenStream::new()
    } else {
        forward_bounds(axis, Bounds::Computed, (&quote!(0_usize), axis.output()))
    };
    let (kernel, lane_count) = (number(axis.kernel()), number(LANES));
    let x_row = outer.row("x_plane", Tensor::Input, axis, false);
    let d_row = outer.row("d_plane", Tensor::Output, axis, false);
    let gradient_row = outer.row("dw_taps", Tensor::Kernel, axis, true);
    let sum_tap = lanes(axis);
    let sources = sources(outer.axes, &outer.positions, &outer.taps, &outer.inputs);
    let positions_nest = nest(
        &outer.positions,
        &outer.output_extents,
        quote! {
            #sources
            let d_row = #d_row;
            let x_row = #x_row;
            #taps_loop {
                #bounds
                #sum_tap
            }
        },
    );
    let taps_nest = nest(
        &outer.taps,
        &outer.kernel_extents,
        quote! {
            let mut sums: [[T; #lane_count]; #kernel] =
                ::core::array::from_fn(|_| ::core::array::from_fn(|_| T::zero()));
            #positions_nest
            for (dw, lanes) in #gradient_row.iter_mut().zip(sums) {
                for lane in lanes {
                    dw.accumulate(&lane);
                }
            }
        },
    );
    quote! {
        #rows_constant
        dw.fill(T::zero());
        for (x_sample, d_sample) in x.chunks_exact(#input_sample).zip(dz.chunks_exact(#output_sample)) {
            let groups = x_sample
                .chunks_exact(#input_group)
                .zip(d_sample.chunks_exact(#output_group))
                .zip(dw.chunks_exact_mut(#weight_group));
            for ((x_group, d_group), dw_group) in groups {
                for (d_plane, dw_filter) in d_group.chunks_exact(#output_plane).zip(dw_group.chunks_exact_mut(#filter)) {
                    for (x_plane, dw_taps) in x_group.chunks_exact(#input_plane).zip(dw_filter.chunks_exact_mut(#taps)) {
                        #taps_nest
                    }
                }
            }
        }
    }
}

/// `grad_bias_into`'s body: `db[o] = Σ_{n, p} δ[n, o, p]`.
pub(super) fn grad_bias(spec: &Spec) -> TokenStream {
    let Chunks {
        output_sample,
        output_plane,
        ..
    } = Chunks::of(spec);
    quote! {
        db.fill(T::zero());
        for d_sample in dz.chunks_exact(#output_sample) {
            for (db, d_plane) in db.iter_mut().zip(d_sample.chunks_exact(#output_plane)) {
                for d in d_plane {
                    db.accumulate(d);
                }
            }
        }
    }
}
