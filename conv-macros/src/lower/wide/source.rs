//! Where a wide pass reads the input: the input itself, or a zero-padded copy of it.

use conv_runtime::{Axis, Spec};
use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};

use super::layout::{product, strides};
use crate::lower::tokens::number;

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

/// The positions along `axis` the windows read from the start of its padding:
/// `(output − 1)·stride + d·(k − 1) + 1`.
pub(super) fn read_extent(axis: &Axis) -> usize {
    (axis.output() - 1) * axis.stride() + axis.effective_kernel()
}

impl Source {
    /// `None` where the copy's element count would not fit `usize` (a padded plane can
    /// outgrow the validated input's).
    pub(super) fn of(spec: &Spec) -> Option<Self> {
        let axes = spec.axes();
        let padded = axes
            .iter()
            .any(|axis| axis.pad_before() > 0 || axis.pad_after() > 0);
        if !padded {
            return Self::input(spec);
        }
        let extents: Vec<usize> = axes.iter().map(read_extent).collect();
        Some(Source {
            strides: strides(&extents),
            plane: product(&extents)?,
            extents,
            padded,
            phases: 1,
        })
    }

    /// The input itself, read in place whether or not the layer pads.
    pub(super) fn input(spec: &Spec) -> Option<Self> {
        let extents: Vec<usize> = spec.axes().iter().map(Axis::input).collect();
        Some(Source {
            strides: strides(&extents),
            plane: product(&extents)?,
            extents,
            padded: false,
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
        self.copy_where(spec, channels, None)
    }

    /// [`Source::copy`] of the channels `c` (counted over the samples) for which `only`
    /// holds, where it is given: the others stay zero.
    pub(super) fn copy_where(
        &self,
        spec: &Spec,
        channels: usize,
        only: Option<TokenStream>,
    ) -> TokenStream {
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
        let skip = only.map(|only| quote!(if !(#only) { continue; }));
        quote! {
            for c in 0..#channels {
                #skip
                #body
            }
        }
    }
}
