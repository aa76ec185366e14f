//! The ordinary layer a transposed layer transposes, and the connections the two share.
//!
//! A transposed layer `T` and the ordinary layer `D` with the same `k`, `stride`,
//! `dilation`, `pad` and `groups`, `D`'s input the size of `T`'s output and the channels
//! swapped, share one index map: `D`'s output `p` reads input `p·s + q·d − pad_lo` through
//! tap `q` exactly where `T`'s input `p` scatters to output `p·s + q·d − pad_lo`, and the
//! weight layouts agree (`[cin_T][cout_T/groups][k…]` is `[cout_D][cin_D/groups][k…]`).
//! So `T`'s forward pass is `D`'s input gradient, `T`'s input gradient is `D`'s forward
//! pass, and the weight gradients are the same sum with `x` and `δ` swapped.
//!
//! The sizes match when `output_padding < stride` on every axis: then `D`'s output has
//! `in_T` positions per axis. PyTorch also allows `stride ≤ output_padding < dilation`,
//! and there `D`'s output has `in_T + ⌊output_padding / stride⌋` positions: the
//! connections of `T` are those of `D`'s first `in_T` outputs, so `T`'s forward pass is
//! `D`'s input gradient with `δ` zero past them, and `T`'s input gradient is `D`'s forward
//! pass cut to them.

use alloc::vec::Vec;

use super::Spec;
use super::axis::{Axis, Padding};

impl Spec {
    /// For a transposed layer, the ordinary layer it transposes (its *dual*): the same
    /// kernel, stride, dilation, padding and groups, with this layer's output size as its
    /// input, `cin` and `cout` swapped, the same batch and no bias. `None` for an ordinary
    /// layer, or when the dual's output tensor would not fit in memory (possible only
    /// where `output_padding ≥ stride`).
    ///
    /// The dual's input gradient is this layer's forward pass (without the bias), its
    /// forward pass this layer's input gradient, its weight gradient this layer's with `x`
    /// and `δ` swapped; exactly so when `output_padding < stride` on every axis. Otherwise
    /// the dual has `⌊output_padding / stride⌋` more outputs on an axis than this layer has
    /// inputs, and the correspondence holds with `δ` of the dual zero on them and its forward
    /// pass cut to the first `in` (see the module's documentation).
    pub fn dual(&self) -> Option<Spec> {
        if !self.transposed {
            return None;
        }
        let dual = self.mirrored(|axis| {
            let span = axis.output + axis.pad_before + axis.pad_after - axis.effective_kernel();
            span / axis.stride + 1
        });
        let fits = dual
            .output_shape()
            .iter()
            .try_fold(1usize, |product, &size| product.checked_mul(size))
            .is_some();
        fits.then_some(dual)
    }

    /// The connections of a transposed layer as an ordinary layer's: the dual with each
    /// axis's output cut to this layer's input, so that its output `p`, tap `q` and input
    /// `p·s + q·d − pad_lo` are exactly this layer's input `p`, tap `q` and output. Its
    /// `output` may disagree with its other sizes (where `output_padding ≥ stride`), so it is
    /// never shown to a user: the derivation, the counts and `conv!`'s loop kernels read the
    /// index map from it. It equals [`Spec::dual`] where `output_padding < stride` on every
    /// axis.
    #[doc(hidden)]
    #[must_use]
    pub fn connections(&self) -> Spec {
        self.mirrored(|axis| axis.input)
    }

    /// The ordinary layer with this one's output as its input, the channels swapped, and
    /// `output(axis)` outputs on each axis.
    fn mirrored(&self, output: impl Fn(&Axis) -> usize) -> Spec {
        let axes: Vec<Axis> = self
            .axes
            .iter()
            .map(|axis| Axis {
                input: axis.output,
                output_padding: 0,
                output: output(axis),
                transposed: false,
                ..*axis
            })
            .collect();
        Spec {
            axes,
            in_channels: self.out_channels,
            out_channels: self.in_channels,
            groups: self.groups,
            batch: self.batch,
            bias: false,
            transposed: false,
            padding: Padding::Explicit,
        }
    }
}
