//! Where a wide pass reads the input: the input itself, or a zero-padded copy of it.

use conv_runtime::{Axis, Spec};
use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};

use super::layout::{even_blocks, product, strides};
use crate::lower::tokens::{number, numbers};

/// Where the forward pass reads: the input itself, or a zero-padded copy of a sample's
/// channels reaching just as far as the outputs read.
pub(super) struct Source {
    /// Extent of each axis as read.
    pub(super) extents: Vec<usize>,
    pub(super) strides: Vec<usize>,
    pub(super) plane: usize,
    /// Whether a padded copy is made.
    pub(super) padded: bool,
    /// Past 1, the copy's rows of the last axis are split by phase (position modulo
    /// the stride), each phase a row of `extent / phases`, so that outputs at the
    /// stride read contiguous runs.
    pub(super) phases: usize,
}

impl Source {
    /// `None` where the copy's element count would not fit `usize` (a padded plane can
    /// outgrow the validated input's).
    pub(super) fn of(spec: &Spec) -> Option<Self> {
        let axes = spec.axes();
        let padded = axes
            .iter()
            .any(|axis| axis.pad_before() > 0 || axis.pad_after() > 0);
        let extents: Vec<usize> = if padded {
            axes.iter()
                .map(|axis| {
                    (axis.output() - 1) * axis.stride() + (axis.kernel() - 1) * axis.dilation() + 1
                })
                .collect()
        } else {
            axes.iter().map(Axis::input).collect()
        };
        Some(Source {
            strides: strides(&extents),
            plane: product(&extents)?,
            extents,
            padded,
            phases: 1,
        })
    }

    /// A zero-padded copy whose rows reach as far as `outputs` outputs read, so that
    /// runs along a row may pass the last output; past stride 1, split by phase.
    pub(super) fn with_runs(spec: &Spec, outputs: usize) -> Option<Self> {
        let mut source = Source::of(spec)?;
        let axes = spec.axes();
        let last = &axes[axes.len() - 1];
        let (stride, reach) = (last.stride(), (last.kernel() - 1) * last.dilation());
        source.phases = stride;
        if let Some(extent) = source.extents.last_mut() {
            *extent = outputs.checked_add(reach / stride)?.checked_mul(stride)?;
        }
        source.strides = strides(&source.extents);
        source.plane = product(&source.extents)?;
        source.padded = true;
        Some(source)
    }

    /// Where tap `tap` of the last axis reads, from where the output's window starts,
    /// along a row of the copy.
    pub(super) fn tap(&self, axis: &Axis, tap: usize) -> usize {
        let reach = tap * axis.dilation();
        if self.phases == 1 {
            reach
        } else {
            let phase_length = self.extents[self.extents.len() - 1] / self.phases;
            reach % self.phases * phase_length + reach / self.phases
        }
    }

    /// For each axis but the last, `per_axis(axis)` positions as a distance in the source.
    pub(super) fn outer(&self, spec: &Spec, per_axis: fn(&Axis) -> usize) -> Vec<usize> {
        let axes = spec.axes();
        axes[..axes.len() - 1]
            .iter()
            .zip(&self.strides)
            .map(|(axis, stride)| per_axis(axis) * stride)
            .collect()
    }

    /// The statements that copy a sample's input channels `x_sample` into `padded`, a
    /// `&mut [T]` of zeros from the scratch, which stay zero where the layer pads.
    pub(super) fn copy(&self, spec: &Spec, channels: usize) -> TokenStream {
        let axes = spec.axes();
        let (outer, last) = axes.split_at(axes.len() - 1);
        let last = &last[0];
        let input_strides = strides(&axes.iter().map(Axis::input).collect::<Vec<_>>());
        let input_plane: usize = axes.iter().map(Axis::input).product();
        let variables: Vec<Ident> = (0..outer.len())
            .map(|index| format_ident!("i{index}"))
            .collect();
        let (plane, input_plane) = (number(self.plane), number(input_plane));
        let mut from = quote!(c * #input_plane);
        let mut to = quote!(c * #plane);
        for (index, (axis, variable)) in outer.iter().zip(&variables).enumerate() {
            let (stride_in, stride_out, pad) = (
                number(input_strides[index]),
                number(self.strides[index]),
                number(axis.pad_before()),
            );
            from = quote!(#from + #variable * #stride_in);
            to = quote!(#to + (#variable + #pad) * #stride_out);
        }
        let len = last
            .input()
            .min(self.extents[axes.len() - 1].saturating_sub(last.pad_before()));
        let (len, pad) = (number(len), number(last.pad_before()));
        let mut body = if self.phases == 1 {
            quote! {
                padded[#to + #pad..][..#len].clone_from_slice(&x_sample[#from..][..#len]);
            }
        } else {
            let extent = self.extents[axes.len() - 1];
            let (phases, phase_length) = (number(self.phases), number(extent / self.phases));
            let extent = number(extent);
            quote! {
                let row = &mut padded[#to..][..#extent];
                for (i, value) in x_sample[#from..][..#len].iter().enumerate() {
                    let at = i + #pad;
                    row[at % #phases * #phase_length + at / #phases].clone_from(value);
                }
            }
        };
        for (index, (axis, variable)) in outer.iter().zip(&variables).enumerate().rev() {
            let rows = axis
                .input()
                .min(self.extents[index].saturating_sub(axis.pad_before()));
            let rows = Literal::usize_suffixed(rows);
            body = quote!(for #variable in 0..#rows { #body });
        }
        let channels = Literal::usize_suffixed(channels);
        quote! {
            for c in 0..#channels {
                #body
            }
        }
    }
}

/// A padded 1-D layer's forward pass read in place: only the blocks of outputs whose
/// windows reach the padding read a copy, of the row's two ends (`edges`, each input
/// channel's `head` then its `tail`), and every other block reads the input itself. The
/// blocks read the same values (zeros where the layer pads) into the same sums in the same
/// order, so the result has the whole copy's bits. `upsample-1d`'s input gradient, the
/// forward pass of a layer of 8 000 inputs padded by 2, spent 14 of its 46 µs zeroing
/// and filling that copy (issue 9, Intel Xeon, one thread).
pub(super) struct Edges {
    /// Positions of the padded row the blocks that start in the padding read,
    /// `0..head`.
    head: usize,
    /// The first position of the padded row read by the blocks that reach past the
    /// input, through the end of the padded row (`extent`).
    tail: usize,
    extent: usize,
    pad: usize,
    input: usize,
    stride: usize,
}

impl Edges {
    /// The edges of `spec`'s row cut into blocks of at most `most` outputs as
    /// [`by_even_blocks`](super::layout::by_even_blocks) cuts it; `None` unless the layer
    /// has one axis, is padded, and its edges are at most a quarter of the padded row
    /// (a shorter row's whole copy is small).
    pub(super) fn of(spec: &Spec, most: usize) -> Option<Self> {
        let [axis] = spec.axes() else {
            return None;
        };
        let (stride, pad, input) = (axis.stride(), axis.pad_before(), axis.input());
        if pad == 0 && axis.pad_after() == 0 {
            return None;
        }
        let reach = (axis.kernel() - 1) * axis.dilation();
        let extent = (axis.output() - 1) * stride + reach + 1;
        let (mut head, mut tail) = (0, extent);
        for (first, size) in even_blocks(axis.output(), most) {
            let at = first * stride;
            let end = at + (size - 1) * stride + reach + 1;
            if at < pad {
                head = head.max(end);
            } else if end > pad + input {
                tail = tail.min(at);
            }
        }
        let edges = Edges {
            head,
            tail,
            extent,
            pad,
            input,
            stride,
        };
        (edges.len() * 4 <= extent).then_some(edges)
    }

    /// Each input channel's scalars in the copy.
    pub(super) fn len(&self) -> usize {
        self.head + (self.extent - self.tail)
    }

    /// The statements that copy the ends of each of a sample's rows, `x_sample`, into
    /// `edges`, a `&mut [T]` of zeros, which stay zero where the layer pads, and
    /// `EDGE_ROWS`, where each of a group's input channels starts in them.
    pub(super) fn copy(&self, spec: &Spec) -> TokenStream {
        let len = self.len();
        let in_per_group = spec.in_channels_per_group();
        let rows = numbers((0..in_per_group).map(|channel| channel * len));
        let (in_per_group, copy) = (number(in_per_group), self.copy_rows(spec.in_channels()));
        quote! {
            const EDGE_ROWS: [usize; #in_per_group] = #rows;
            #copy
            let edges: &[T] = edges;
        }
    }

    /// `edges_group`, the edges of the group of the block of `channels` output channels
    /// `index`.
    pub(super) fn group(&self, spec: &Spec, channels: usize) -> TokenStream {
        let blocks_per_group = number(spec.out_channels_per_group() / channels);
        let group_edges = number(spec.in_channels_per_group() * self.len());
        quote! {
            let edges_group = &edges[index / #blocks_per_group * #group_edges..][..#group_edges];
        }
    }

    /// The copy of [`Edges::copy`], of `channels` rows.
    fn copy_rows(&self, channels: usize) -> TokenStream {
        let (head_len, tail_from) = (
            self.head.saturating_sub(self.pad).min(self.input),
            self.tail.saturating_sub(self.pad),
        );
        let tail_len = (self.extent.saturating_sub(self.pad))
            .min(self.input)
            .saturating_sub(tail_from);
        let [len, input, pad, head, tail_from] =
            [self.len(), self.input, self.pad, self.head, tail_from].map(number);
        let head_copy = (head_len > 0).then(|| {
            let head_len = number(head_len);
            quote!(row[#pad..][..#head_len].clone_from_slice(&x_row[..#head_len]);)
        });
        let tail_copy = (tail_len > 0).then(|| {
            let tail_len = number(tail_len);
            quote!(row[#head..][..#tail_len].clone_from_slice(&x_row[#tail_from..][..#tail_len]);)
        });
        let channels = Literal::usize_suffixed(channels);
        quote! {
            for (row, x_row) in edges.chunks_exact_mut(#len).zip(x_sample.chunks_exact(#input)).take(#channels) {
                #head_copy
                #tail_copy
            }
        }
    }

    /// The statement that binds `source`, `rows` and `shift` for the block of outputs from
    /// `first`: the group's edges (`edges_group`) and `EDGE_ROWS` for a block at either end,
    /// else the group's input (`source`) and `ROWS`.
    pub(super) fn choose(&self, first: &TokenStream) -> TokenStream {
        let [stride, pad, head, tail] = [self.stride, self.pad, self.head, self.tail].map(number);
        quote! {
            let at = (#first) * #stride;
            let (source, rows, shift): (&[T], &[usize], usize) = if at < #pad {
                (edges_group, &EDGE_ROWS, at)
            } else if at >= #tail {
                (edges_group, &EDGE_ROWS, at - #tail + #head)
            } else {
                (source, &ROWS, at - #pad)
            };
        }
    }
}
