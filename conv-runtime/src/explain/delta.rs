//! Step 3, δ dilated and padded: the output gradient spread out by the stride and padded
//! for the input gradient's full correlation, drawn slice by slice.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use super::builder::Builder;
use super::document::Step;
use super::wording::{along, paragraph, shape_text, signed_pair, slice_label};
use crate::spec::Axis;
use crate::symbolic::construction;
use crate::symbolic::expr::Tensor;

impl Builder<'_> {
    /// Step 3: δ, dilated by the stride and padded.
    pub(super) fn delta(&self) -> Step {
        let spec = self.spec;
        let strides = self.per_axis(Axis::stride);
        let padding = construction::delta_padding(spec);
        let output_shape = spec.output_shape();
        let zeros: Vec<String> = strides.iter().map(|s| (s - 1).to_string()).collect();
        let lengths: Vec<String> = spec
            .axes()
            .iter()
            .map(|a| {
                format!(
                    "({} − 1)·{} + 1 = {}",
                    a.output(),
                    a.stride(),
                    (a.output() - 1) * a.stride() + 1
                )
            })
            .collect();
        let amounts: Vec<String> = padding.iter().copied().map(signed_pair).collect();
        let mut blocks = vec![
            paragraph("δ = ∂L/∂z, written d in equations, has the shape of z."),
            paragraph(format!(
                "Dilating δ by the stride inserts s − 1 zeros between neighbouring entries: {}. Its length becomes (out − 1)·s + 1: {}.",
                along(&zeros),
                lengths.join(", ")
            )),
            paragraph(format!(
                "Padding the dilated δ by (k_eff − 1 − pad_lo, k_eff − 1 − pad_hi + r), {}, gives the input gradient room for a full correlation; the + r restores the positions the forward pass never read.",
                along(&amounts)
            )),
        ];
        let slices = spec.batch() * spec.out_channels();
        for flat in 0..slices.min(self.limits.slices) {
            let (batch, out_channel) = (flat / spec.out_channels(), flat % spec.out_channels());
            let label = slice_label(
                "δ",
                ("batch", batch, spec.batch()),
                ("output channel", out_channel, spec.out_channels()),
            );
            let delta = construction::slice(Tensor::Delta, &output_shape, batch, out_channel);
            let dilated = delta.dilate(&strides);
            let padded = dilated.pad(&padding);
            blocks.push(self.matrix(format!("{label}, {}", shape_text(delta.shape())), delta));
            blocks.push(self.matrix(
                format!(
                    "{label} dilated by the stride, {}",
                    shape_text(dilated.shape())
                ),
                dilated,
            ));
            blocks.push(self.matrix(
                format!("{label} dilated and padded, {}", shape_text(padded.shape())),
                padded,
            ));
        }
        self.omitted_slices(&mut blocks, slices, ("δ slice", "δ slices"));
        Step {
            title: "δ, dilated and padded".into(),
            blocks,
        }
    }
}
