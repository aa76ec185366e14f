//! A numeric reference: the layer and its gradients as plain loops over every connection
//! `(output element, weight element, input element)`, for shapes known only at run time.
//!
//! The forward pass gathers along the connections and the gradients scatter back along
//! them: the adjoint of the forward map, written without the index inversions that
//! [`super::derive`] performs, so the two check each other. [`Expr::evaluate`] is here too:
//! the one place the symbolic core meets the scalar trait.

use alloc::vec;
use alloc::vec::Vec;

use super::expr::{Expr, Variable};
use super::layout::{Layout, for_each_index};
use crate::kernel::Scalar;
use crate::spec::Spec;

impl Expr {
    /// The value of the expression with every variable replaced by `value(variable)`.
    pub fn evaluate<T: Scalar>(&self, mut value: impl FnMut(Variable) -> T) -> T {
        let mut sum = T::zero();
        for term in self.terms() {
            let mut product = T::from_integer(term.coefficient());
            for &factor in term.factors() {
                product = product.times(&value(factor));
            }
            sum.accumulate(&product);
        }
        sum
    }
}

/// Calls `visit(output, weight, input)` with the flat indices of every product the
/// forward pass computes, skipping taps that land on padding (on a transposed layer, taps
/// that scatter into the cropped ends).
fn for_each_connection(spec: &Spec, mut visit: impl FnMut(usize, usize, usize)) {
    if spec.transposed() {
        // The ordinary layer of the same connections reads its input where this one
        // writes its output: its output is this layer's input.
        return for_each_ordinary_connection(&spec.connections(), |x, w, z| visit(z, w, x));
    }
    for_each_ordinary_connection(spec, visit);
}

/// [`for_each_connection`] of an ordinary layer.
fn for_each_ordinary_connection(spec: &Spec, mut visit: impl FnMut(usize, usize, usize)) {
    let input = Layout::new(&spec.input_shape());
    let weight = Layout::new(&spec.weight_shape());
    let output = Layout::new(&spec.output_shape());
    let rank = spec.axes().len();
    let (groups_in, groups_out) = (spec.in_channels_per_group(), spec.out_channels_per_group());
    for batch in 0..spec.batch() {
        for out_channel in 0..spec.out_channels() {
            let group = out_channel / groups_out;
            for channel_in_group in 0..groups_in {
                let channel = group * groups_in + channel_in_group;
                for_each_index(&output.dims()[2..], |position| {
                    for_each_index(&weight.dims()[2..], |tap| {
                        let mut source = [batch, channel, 0, 0, 0];
                        for (axis, geometry) in spec.axes().iter().enumerate() {
                            // x̃[p·s + q·d − pad_lo], zero outside the input.
                            let padded = position[axis] * geometry.stride()
                                + tap[axis] * geometry.dilation();
                            match padded.checked_sub(geometry.pad_before()) {
                                Some(i) if i < geometry.input() => source[axis + 2] = i,
                                _ => return,
                            }
                        }
                        let mut at_weight = [out_channel, channel_in_group, 0, 0, 0];
                        at_weight[2..2 + rank].copy_from_slice(tap);
                        let mut at_output = [batch, out_channel, 0, 0, 0];
                        at_output[2..2 + rank].copy_from_slice(position);
                        visit(
                            output.ravel(&at_output[..rank + 2]),
                            weight.ravel(&at_weight[..rank + 2]),
                            input.ravel(&source[..rank + 2]),
                        );
                    });
                });
            }
        }
    }
}

fn check_len(what: &str, actual: usize, expected: usize) {
    assert_eq!(
        actual, expected,
        "{what} has {actual} elements; the layer needs {expected}"
    );
}

/// `z = conv(x, w) + b`; `bias` is ignored (and may be empty) when the layer has none.
///
/// # Panics
///
/// If a slice's length differs from the layer's tensor size.
pub fn forward<T: Scalar>(spec: &Spec, input: &[T], weight: &[T], bias: &[T]) -> Vec<T> {
    check_len("input", input.len(), spec.input_len());
    check_len("weight", weight.len(), spec.weight_len());
    let mut output = vec![T::zero(); spec.output_len()];
    for_each_connection(spec, |z, w, x| {
        output[z].accumulate_product(&weight[w], &input[x]);
    });
    if spec.bias() {
        check_len("bias", bias.len(), spec.bias_len());
        let per_channel = spec.output_len() / (spec.batch() * spec.out_channels());
        for (index, value) in output.iter_mut().enumerate() {
            value.accumulate(&bias[index / per_channel % spec.out_channels()]);
        }
    }
    output
}

/// `∂L/∂x` from the weight and `δ = ∂L/∂z`.
///
/// # Panics
///
/// If a slice's length differs from the layer's tensor size.
pub fn grad_input<T: Scalar>(spec: &Spec, weight: &[T], delta: &[T]) -> Vec<T> {
    check_len("weight", weight.len(), spec.weight_len());
    check_len("delta", delta.len(), spec.output_len());
    let mut grad = vec![T::zero(); spec.input_len()];
    for_each_connection(spec, |z, w, x| {
        grad[x].accumulate_product(&delta[z], &weight[w]);
    });
    grad
}

/// `∂L/∂w` from the input and `δ = ∂L/∂z`.
///
/// # Panics
///
/// If a slice's length differs from the layer's tensor size.
pub fn grad_weight<T: Scalar>(spec: &Spec, input: &[T], delta: &[T]) -> Vec<T> {
    check_len("input", input.len(), spec.input_len());
    check_len("delta", delta.len(), spec.output_len());
    let mut grad = vec![T::zero(); spec.weight_len()];
    for_each_connection(spec, |z, w, x| {
        grad[w].accumulate_product(&delta[z], &input[x]);
    });
    grad
}

/// `∂L/∂b` from `δ = ∂L/∂z`; empty when the layer has no bias.
///
/// # Panics
///
/// If `delta`'s length differs from the layer's output size.
pub fn grad_bias<T: Scalar>(spec: &Spec, delta: &[T]) -> Vec<T> {
    check_len("delta", delta.len(), spec.output_len());
    let mut grad = vec![T::zero(); spec.bias_len()];
    if spec.bias() {
        let per_channel = spec.output_len() / (spec.batch() * spec.out_channels());
        for (index, value) in delta.iter().enumerate() {
            grad[index / per_channel % spec.out_channels()].accumulate(value);
        }
    }
    grad
}
