//! The gradients by the seed's construction, independent of [`super::derive`]: dilate δ by
//! the stride, pad it with the remainder, and cross-correlate.
//!
//! - weight gradient: the input, padded by `(pad_lo, pad_hi − r)`, correlated with the
//!   dilated δ at window stride `d` (the stride and the dilation swap roles);
//! - input gradient: the dilated δ, padded by `(k_eff − 1 − pad_lo, k_eff − 1 − pad_hi + r)`,
//!   correlated with the kernel rotated by 180° at kernel dilation `d`, stride 1.
//!
//! A transposed layer's forward pass is the seed's construction itself, and its gradients
//! are plain correlations of δ:
//!
//! - forward pass: the input dilated by the stride, padded by
//!   `(k_eff − 1 − pad_lo, k_eff − 1 − pad_hi + output_padding)`, correlated with the kernel
//!   rotated by 180° (channel roles swapped) at kernel dilation `d`, stride 1;
//! - input gradient: δ, padded by `(pad_lo, pad_hi − output_padding)`, correlated with the
//!   kernel at dilation `d` and stride `s`;
//! - weight gradient: the same padded δ correlated with the input dilated by the stride,
//!   at window stride `d`.
//!
//! Tests hold these equations against the chain rule's, term for term.

use alloc::vec::Vec;

use super::expr::{Equation, Expr, Tensor, Variable};
use super::grid::Grid;
use crate::spec::{Axis, Spec};

/// The spatial slice `[first, second, …]` of a tensor of shape `dims`, as a grid of its
/// variables: `δ[n, o]`, `x[n, c]` or `w[o, c']`.
pub fn slice(
    tensor: Tensor,
    dims: &[usize],
    first: usize,
    second: usize,
) -> Grid<Option<Variable>> {
    let spatial = &dims[2..];
    let size: usize = spatial.iter().product();
    let base = (first * dims[1] + second) * size;
    let mut next = base;
    Grid::from_fn(spatial, |_| {
        next += 1;
        Some(Variable::new(tensor, next - 1))
    })
}

fn signed(value: usize) -> isize {
    value.cast_signed()
}

fn per_axis<T>(spec: &Spec, f: impl Fn(&Axis) -> T) -> Vec<T> {
    spec.axes().iter().map(f).collect()
}

fn equations(tensor: Tensor, grids: impl IntoIterator<Item = Grid<Expr>>) -> Vec<Equation> {
    grids
        .into_iter()
        .flat_map(|grid| grid.cells().to_vec())
        .enumerate()
        .map(|(index, rhs)| Equation {
            lhs: Variable::new(tensor, index),
            rhs,
        })
        .collect()
}

/// Per axis, how the weight gradient pads the input: `(pad_lo, pad_hi − r)`; a negative
/// amount crops.
pub fn input_padding(spec: &Spec) -> Vec<(isize, isize)> {
    per_axis(spec, |a| {
        (
            signed(a.pad_before()),
            signed(a.pad_after()) - signed(a.remainder()),
        )
    })
}

/// Per axis, how the input gradient pads the dilated δ:
/// `(k_eff − 1 − pad_lo, k_eff − 1 − pad_hi + r)`.
pub fn delta_padding(spec: &Spec) -> Vec<(isize, isize)> {
    per_axis(spec, |a| {
        let reach = signed(a.effective_kernel()) - 1;
        (
            reach - signed(a.pad_before()),
            reach - signed(a.pad_after()) + signed(a.remainder()),
        )
    })
}

/// Per axis, how a transposed layer's forward pass pads its dilated input:
/// `(k_eff − 1 − pad_lo, k_eff − 1 − pad_hi + output_padding)`.
pub fn transposed_input_padding(spec: &Spec) -> Vec<(isize, isize)> {
    per_axis(spec, |a| {
        let reach = signed(a.effective_kernel()) - 1;
        (
            reach - signed(a.pad_before()),
            reach - signed(a.pad_after()) + signed(a.output_padding()),
        )
    })
}

/// Per axis, how a transposed layer's gradients pad δ: `(pad_lo, pad_hi − output_padding)`,
/// which leaves `(in − 1)·s + k_eff` positions, the span the input's scatter covers.
pub fn transposed_delta_padding(spec: &Spec) -> Vec<(isize, isize)> {
    per_axis(spec, |a| {
        (
            signed(a.pad_before()),
            signed(a.pad_after()) - signed(a.output_padding()),
        )
    })
}

/// The forward pass by the construction, one equation per output element in layout order:
/// for a transposed layer only (an ordinary layer's forward pass is its definition).
pub fn forward(spec: &Spec) -> Option<Vec<Equation>> {
    if !spec.transposed() {
        return None;
    }
    let (input, weight) = (spec.input_shape(), spec.weight_shape());
    let strides = per_axis(spec, Axis::stride);
    let dilations = per_axis(spec, Axis::dilation);
    let padding = transposed_input_padding(spec);
    let ones = alloc::vec![1; spec.axes().len()];
    let (groups_in, groups_out) = (spec.in_channels_per_group(), spec.out_channels_per_group());
    let mut grids = Vec::new();
    for batch in 0..spec.batch() {
        for out_channel in 0..spec.out_channels() {
            let group = spec.group_of_output(out_channel);
            let sum = (group * groups_in..(group + 1) * groups_in)
                .map(|channel| {
                    let x = slice(Tensor::Input, &input, batch, channel)
                        .dilate(&strides)
                        .pad(&padding);
                    let kernel =
                        slice(Tensor::Weight, &weight, channel, out_channel % groups_out).rotate();
                    x.correlate(&kernel, &dilations, &ones)
                })
                .reduce(Grid::plus)
                .map(|sum| {
                    if !spec.bias() {
                        return sum;
                    }
                    let bias = Expr::variable(Variable::new(Tensor::Bias, out_channel));
                    let shape = sum.shape().to_vec();
                    sum.plus(Grid::from_fn(&shape, |_| bias.clone()))
                });
            grids.extend(sum);
        }
    }
    Some(equations(Tensor::Output, grids))
}

/// A transposed layer's input gradient: `dx[n, c]` is the sum over the group's output
/// channels `o` of δ[n, o], padded, correlated with `w[c, o']` at stride `s`.
fn transposed_grad_input(spec: &Spec) -> Vec<Equation> {
    let (weight, output) = (spec.weight_shape(), spec.output_shape());
    let strides = per_axis(spec, Axis::stride);
    let dilations = per_axis(spec, Axis::dilation);
    let padding = transposed_delta_padding(spec);
    let groups_out = spec.out_channels_per_group();
    let mut grids = Vec::new();
    for batch in 0..spec.batch() {
        for channel in 0..spec.in_channels() {
            let group = channel / spec.in_channels_per_group();
            let sum = (group * groups_out..(group + 1) * groups_out)
                .map(|out_channel| {
                    let delta = slice(Tensor::Delta, &output, batch, out_channel).pad(&padding);
                    let kernel = slice(Tensor::Weight, &weight, channel, out_channel % groups_out);
                    delta.correlate(&kernel, &dilations, &strides)
                })
                .reduce(Grid::plus);
            grids.extend(sum);
        }
    }
    equations(Tensor::GradInput, grids)
}

/// A transposed layer's weight gradient: `dw[c, o']` is the sum over the batch of δ[n, o],
/// padded, correlated with the input dilated by the stride, at window stride `d`.
fn transposed_grad_weight(spec: &Spec) -> Vec<Equation> {
    let (input, output) = (spec.input_shape(), spec.output_shape());
    let strides = per_axis(spec, Axis::stride);
    let dilations = per_axis(spec, Axis::dilation);
    let padding = transposed_delta_padding(spec);
    let ones = alloc::vec![1; spec.axes().len()];
    let groups_out = spec.out_channels_per_group();
    let grids = (0..spec.in_channels()).flat_map(|channel| {
        let group = channel / spec.in_channels_per_group();
        let (input, output, strides, dilations, padding, ones) =
            (&input, &output, &strides, &dilations, &padding, &ones);
        (0..groups_out).filter_map(move |out_in_group| {
            let out_channel = group * groups_out + out_in_group;
            (0..spec.batch())
                .map(|batch| {
                    let delta = slice(Tensor::Delta, output, batch, out_channel).pad(padding);
                    let x = slice(Tensor::Input, input, batch, channel).dilate(strides);
                    delta.correlate(&x, ones, dilations)
                })
                .reduce(Grid::plus)
        })
    });
    equations(Tensor::GradWeight, grids)
}

/// The weight gradient, one equation per weight element in layout order.
pub fn grad_weight(spec: &Spec) -> Vec<Equation> {
    if spec.transposed() {
        return transposed_grad_weight(spec);
    }
    let (input, output) = (spec.input_shape(), spec.output_shape());
    let strides = per_axis(spec, Axis::stride);
    let dilations = per_axis(spec, Axis::dilation);
    let crop = input_padding(spec);
    let ones = alloc::vec![1; spec.axes().len()];
    let groups_in = spec.in_channels_per_group();
    let grids = (0..spec.out_channels()).flat_map(|out_channel| {
        let group = spec.group_of_output(out_channel);
        let (input, output, strides, dilations, crop, ones) =
            (&input, &output, &strides, &dilations, &crop, &ones);
        (0..groups_in).filter_map(move |channel_in_group| {
            let channel = group * groups_in + channel_in_group;
            (0..spec.batch())
                .map(|batch| {
                    let x = slice(Tensor::Input, input, batch, channel).pad(crop);
                    let delta = slice(Tensor::Delta, output, batch, out_channel).dilate(strides);
                    x.correlate(&delta, ones, dilations)
                })
                .reduce(Grid::plus)
        })
    });
    equations(Tensor::GradWeight, grids)
}

/// The input gradient, one equation per input element in layout order.
pub fn grad_input(spec: &Spec) -> Vec<Equation> {
    if spec.transposed() {
        return transposed_grad_input(spec);
    }
    let (weight, output) = (spec.weight_shape(), spec.output_shape());
    let strides = per_axis(spec, Axis::stride);
    let dilations = per_axis(spec, Axis::dilation);
    let padding = delta_padding(spec);
    let ones = alloc::vec![1; spec.axes().len()];
    let outputs_per_group = spec.out_channels_per_group();
    let mut grids = Vec::new();
    for batch in 0..spec.batch() {
        for channel in 0..spec.in_channels() {
            let group = channel / spec.in_channels_per_group();
            let channel_in_group = channel % spec.in_channels_per_group();
            let sum = (group * outputs_per_group..(group + 1) * outputs_per_group)
                .map(|out_channel| {
                    let delta = slice(Tensor::Delta, &output, batch, out_channel)
                        .dilate(&strides)
                        .pad(&padding);
                    let kernel =
                        slice(Tensor::Weight, &weight, out_channel, channel_in_group).rotate();
                    delta.correlate(&kernel, &dilations, &ones)
                })
                .reduce(Grid::plus);
            grids.extend(sum);
        }
    }
    equations(Tensor::GradInput, grids)
}
