//! A transposed layer's passes as the passes of the ordinary layer it transposes.
//!
//! A transposed layer and its dual (`conv_runtime::Spec::dual`: the same kernel, stride,
//! dilation, padding and groups, the transposed layer's output as its input, the channels
//! swapped) share one index map: the transposed layer's input `p` scatters through tap `q`
//! to output `p·s + q·d − pad` exactly where the dual's output `p` reads input
//! `p·s + q·d − pad`, and their weight layouts are the same memory (`[cin][cout/groups][k…]`
//! is the dual's `[cout][cin/groups][k…]`). Where `output_padding < stride` on every axis,
//! as on the suite's transposed layers, the sizes agree too, so
//!
//! ```text
//! transposed forward   z  = the dual's input gradient, δ := x   (a scatter of x through w)
//! transposed dx        dx = the dual's forward pass, x := δ
//! transposed dw        dw = the dual's weight gradient, x and δ swapped
//! ```
//!
//! This is how frameworks compute a transposed convolution from their ordinary kernels
//! (PyTorch's `conv_transpose` on the CPU is `col2im` of `wᵀ·x`, the dual's input
//! gradient), so [`Transposed`] turns the direct loops and im2col+gemm into the transposed
//! layer's baselines without a second copy of their loops.

use crate::Kernels;

/// The passes of a transposed layer, by the kernels of its dual layer (see the module).
#[derive(Clone, Copy, Debug, Default)]
pub struct Transposed<K>(pub K);

impl<K: Kernels> Kernels for Transposed<K> {
    fn forward_into(&mut self, input: &[f32], weight: &[f32], output: &mut [f32]) {
        self.0.grad_input_into(weight, input, output);
    }
    fn grad_input_into(&mut self, weight: &[f32], delta: &[f32], grad_input: &mut [f32]) {
        self.0.forward_into(delta, weight, grad_input);
    }
    fn grad_weight_into(&mut self, input: &[f32], delta: &[f32], grad_weight: &mut [f32]) {
        self.0.grad_weight_into(delta, input, grad_weight);
    }
}
