//! The phases of a run staged in rows of the scratch, then interleaved into the input's
//! row ([`Staged`]).

use conv_runtime::Spec;
use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::super::super::layout::Runs;
use super::Phase;
use crate::lower::tokens::number;

/// A run of each phase's inputs, for every channel of the group, in a row of its own:
/// `staged[(c · phases + phase) · span + l]` for input `phase + s·(j0 + l)` of channel
/// `c`, the run from `j0`.
pub(super) struct Staged {
    pub(super) phases: usize,
    /// The inputs of a run of one phase: a block's.
    pub(super) span: usize,
}

impl Staged {
    /// Where the blocks store their phases when the stride makes several: each phase's
    /// run into a row of the scratch, the phases of the run then interleaved into the
    /// input's row. Stored at the stride, the sums were written with scatters: a fifth
    /// of `upsample-1d`'s forward pass (the input gradient of its dual layer), 76–87 µs
    /// where the staged runs take 60–63 µs (AMD Zen 4, `BENCHMARKS.md`, "The strided
    /// input gradient's phases interleaved from rows").
    ///
    /// A block along the row of a lone channel keeps its stores at the stride: staged (in
    /// whole rows), the code of a 1-D layer grew past what `lower::transposed`'s tests
    /// allow for it.
    pub(super) fn of(runs: &Runs, phases: &[Phase]) -> Option<Self> {
        (runs.channels && phases.len() > 1).then_some(Staged {
            phases: phases.len(),
            span: runs.span(),
        })
    }

    /// The statements that store a block's `sums`, the inputs of `phase` from `j0` on
    /// (fewer past its `count`), into the phase's row of each of its channels.
    pub(super) fn store(&self, phase: usize, count: &Literal) -> TokenStream {
        let (phases, span, phase) = (number(self.phases), number(self.span), number(phase));
        quote! {
            let stored = (#count - j0).min(#span);
            for (m, sums) in sums.iter().enumerate() {
                let row = &mut staged[((c0 + m) * #phases + #phase) * #span..][..#span];
                row[..stored].clone_from_slice(&sums[..stored]);
            }
        }
    }

    /// [`phase_runs`] staged: a run of each phase, then the run's inputs interleaved.
    pub(super) fn runs(
        &self,
        spec: &Spec,
        blocks: &[(Literal, TokenStream)],
        (first, input_plane): (usize, &TokenStream),
    ) -> TokenStream {
        let (first, span) = (number(first), number(self.span));
        let phases = blocks
            .iter()
            .map(|(count, block)| quote!(if j0 < #count { #block }));
        let interleave = self.interleave(spec, input_plane);
        quote! {
            for j0 in (0..#first).step_by(#span) {
                #(#phases)*
                #interleave
            }
        }
    }

    /// The statements that zero the rows of `phase`, which no tap reaches.
    pub(super) fn zeros(&self, channels: usize, phase: usize) -> TokenStream {
        let (phases, span, phase, channels) = (
            number(self.phases),
            number(self.span),
            number(phase),
            number(channels),
        );
        quote! {
            for c in 0..#channels {
                for value in &mut staged[(c * #phases + #phase) * #span..][..#span] {
                    *value = T::zero();
                }
            }
        }
    }

    /// The statements that write the run from `j0` of each channel's phases into its row
    /// of `dx` at `row_start`: input `phase + s·(j0 + l)` from `staged`.
    fn interleave(&self, spec: &Spec, input_plane: &TokenStream) -> TokenStream {
        let axes = spec.axes();
        let last = &axes[axes.len() - 1];
        let (phases, span) = (number(self.phases), number(self.span));
        let (last_input, stride) = (number(last.input()), number(last.stride()));
        quote! {
            let first = j0 * #stride;
            let end = (first + #span * #stride).min(#last_input);
            for (c, rows) in staged.chunks_exact(#phases * #span).enumerate() {
                let dx_row = &mut dx_group[c * #input_plane + row_start..][..#last_input];
                let rows: [&[T]; #phases] =
                    ::core::array::from_fn(|phase| &rows[phase * #span..][..#span]);
                let mut chunks = dx_row[first..end].chunks_exact_mut(#phases);
                for (l, inputs) in (&mut chunks).take(#span).enumerate() {
                    for (dx, row) in inputs.iter_mut().zip(&rows) {
                        dx.clone_from(&row[l]);
                    }
                }
                let l = (end - first) / #phases;
                for (dx, row) in chunks.into_remainder().iter_mut().zip(&rows) {
                    dx.clone_from(&row[l]);
                }
            }
        }
    }
}
