//! im2col followed by a GEMM: how frameworks without a dedicated convolution kernel do it.
//!
//! Per batch entry and group, the input windows are copied into the columns of a matrix
//! `cols` of `(cin/groups · k_h · k_w)` rows by `(out_h · out_w)` columns (zeros where a
//! window covers padding), and then
//!
//! ```text
//! z_g  = w_g · cols              (cout/groups × positions)
//! dw_g = δ_g · colsᵀ             (cout/groups × cin/groups·k_h·k_w), summed over the batch
//! dx_g = col2im(w_gᵀ · δ_g)      the columns' gradients scattered back onto the input
//! ```
//!
//! The GEMM is matrixmultiply's `sgemm`, single-threaded, through ndarray's
//! `general_mat_mul`, which hands transposed views to it as strides without copying.
//! Shapes are known only at run time; the scratch matrix is allocated once, in [`Im2col::new`].
//!
//! A transposed layer runs as its dual layer's passes ([`for_layer`], `crate::transposed`):
//! its forward pass is `col2im(wᵀ·x)`, which is how PyTorch computes `conv_transpose` on
//! the CPU, its input gradient `w·im2col(δ)` and its weight gradient `x·im2col(δ)ᵀ`.

use core::ops::Range;

use conv_runtime::Spec;
use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2};

use crate::Kernels;
use crate::transposed::Transposed;

/// One spatial axis of the layer, as the column matrix sees it.
#[derive(Clone, Copy, Debug)]
struct Axis {
    input: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    pad_before: usize,
    output: usize,
}

impl Axis {
    /// The height of a 1-D layer: one row, one tap.
    const UNIT: Axis = Axis {
        input: 1,
        kernel: 1,
        stride: 1,
        dilation: 1,
        pad_before: 0,
        output: 1,
    };

    fn new(axis: &conv_runtime::Axis) -> Axis {
        Axis {
            input: axis.input(),
            kernel: axis.kernel(),
            stride: axis.stride(),
            dilation: axis.dilation(),
            pad_before: axis.pad_before(),
            output: axis.output(),
        }
    }

    /// The input position output `output` reads through tap `tap`, unless it is padding.
    #[inline]
    fn source(&self, output: usize, tap: usize) -> Option<usize> {
        (output * self.stride + tap * self.dilation)
            .checked_sub(self.pad_before)
            .filter(|&position| position < self.input)
    }
}

/// A 1-D or 2-D layer's passes by im2col and GEMM, with the column matrix as scratch.
#[derive(Clone, Debug)]
pub struct Im2col {
    height: Axis,
    width: Axis,
    in_per_group: usize,
    out_per_group: usize,
    groups: usize,
    /// `cin/groups · k_h · k_w` rows of `out_h · out_w` entries.
    cols: Vec<f32>,
}

impl Im2col {
    /// Plans the layer and allocates its column matrix.
    ///
    /// # Panics
    ///
    /// If the layer has 3 spatial axes (the benchmarks need only 1 and 2), or is
    /// transposed: [`for_layer`] takes those.
    pub fn new(spec: &Spec) -> Im2col {
        assert!(
            !spec.transposed(),
            "`Im2col::new` takes ordinary layers; `for_layer` takes `{spec}`"
        );
        let (height, width) = match spec.axes() {
            [width] => (Axis::UNIT, Axis::new(width)),
            [height, width] => (Axis::new(height), Axis::new(width)),
            axes => panic!("the im2col baseline handles 1-D and 2-D layers, not {axes:?}"),
        };
        let mut im2col = Im2col {
            height,
            width,
            in_per_group: spec.in_channels_per_group(),
            out_per_group: spec.out_channels_per_group(),
            groups: spec.groups(),
            cols: Vec::new(),
        };
        im2col.cols = vec![0.0; im2col.reduction() * im2col.positions()];
        im2col
    }

    /// Rows of the column matrix: one per (input channel in the group, tap).
    fn reduction(&self) -> usize {
        self.in_per_group * self.height.kernel * self.width.kernel
    }

    /// Columns of the column matrix: one per output position.
    fn positions(&self) -> usize {
        self.height.output * self.width.output
    }

    fn plane(&self) -> usize {
        self.height.input * self.width.input
    }

    /// One batch entry's input, weight, and one batch entry's output sizes.
    fn lens(&self) -> (usize, usize, usize) {
        let channels_in = self.in_per_group * self.groups;
        let channels_out = self.out_per_group * self.groups;
        (
            channels_in * self.plane(),
            channels_out * self.reduction(),
            channels_out * self.positions(),
        )
    }

    /// The batch size the slices describe.
    fn batch(&self, inputs: usize, weights: usize, outputs: usize) -> usize {
        let (input, weight, output) = self.lens();
        let batch = outputs / output;
        assert!(
            inputs == batch * input && outputs == batch * output && weights == weight,
            "slice lengths (input {inputs}, weight {weights}, output {outputs}) do not fit the layer"
        );
        batch
    }

    /// Copies one group's input planes into the column matrix.
    fn gather(&mut self, planes: &[f32]) {
        let (height, width) = (self.height, self.width);
        let (positions, plane) = (self.positions(), self.plane());
        let mut rows = self.cols.chunks_exact_mut(positions);
        for plane in planes.chunks_exact(plane) {
            for ky in 0..height.kernel {
                for kx in 0..width.kernel {
                    let Some(row) = rows.next() else { return };
                    for (oy, out) in row.chunks_exact_mut(width.output).enumerate() {
                        let Some(y) = height.source(oy, ky) else {
                            out.fill(0.0);
                            continue;
                        };
                        let line = &plane[y * width.input..][..width.input];
                        for (ox, value) in out.iter_mut().enumerate() {
                            *value = width.source(ox, kx).map_or(0.0, |x| line[x]);
                        }
                    }
                }
            }
        }
    }

    /// Adds the column matrix onto one group's input planes: the adjoint of [`Self::gather`].
    fn scatter(&self, planes: &mut [f32]) {
        let (height, width) = (self.height, self.width);
        let mut rows = self.cols.chunks_exact(self.positions());
        for plane in planes.chunks_exact_mut(self.plane()) {
            plane.fill(0.0);
            for ky in 0..height.kernel {
                for kx in 0..width.kernel {
                    let Some(row) = rows.next() else { return };
                    for (oy, out) in row.chunks_exact(width.output).enumerate() {
                        let Some(y) = height.source(oy, ky) else {
                            continue;
                        };
                        let line = &mut plane[y * width.input..][..width.input];
                        for (ox, value) in out.iter().enumerate() {
                            if let Some(x) = width.source(ox, kx) {
                                line[x] += value;
                            }
                        }
                    }
                }
            }
        }
    }

    /// Where one group's weight `(cout/groups × reduction)` lies in `w`, and its part of
    /// one batch entry's `z` or `δ` `(cout/groups × positions)`.
    fn group_ranges(&self, group: usize) -> (Range<usize>, Range<usize>) {
        let (weight, output) = (
            self.out_per_group * self.reduction(),
            self.out_per_group * self.positions(),
        );
        (
            group * weight..(group + 1) * weight,
            group * output..(group + 1) * output,
        )
    }

    /// Where one group's input planes lie in one batch entry's `x` or `∂L/∂x`.
    fn input_range(&self, group: usize) -> Range<usize> {
        let planes = self.in_per_group * self.plane();
        group * planes..(group + 1) * planes
    }
}

/// The im2col baseline of any layer: [`Im2col`] itself for an ordinary layer, its dual's
/// for a transposed one.
///
/// # Panics
///
/// If the layer has 3 spatial axes, or is a transposed layer without a dual of the same
/// sizes (`output_padding ≥ stride` on an axis): the suite has neither.
pub fn for_layer(spec: &Spec) -> Box<dyn Kernels> {
    if !spec.transposed() {
        return Box::new(Im2col::new(spec));
    }
    match spec.dual() {
        Some(dual) if dual == spec.connections() => Box::new(Transposed(Im2col::new(&dual))),
        _ => panic!("the im2col baseline needs `output_padding < stride` on every axis: `{spec}`"),
    }
}

/// A row-major view; the lengths were checked against the layer beforehand.
fn view(rows: usize, columns: usize, data: &[f32]) -> ArrayView2<'_, f32> {
    ArrayView2::from_shape((rows, columns), data).expect("the slice holds the matrix")
}

fn view_mut(rows: usize, columns: usize, data: &mut [f32]) -> ArrayViewMut2<'_, f32> {
    ArrayViewMut2::from_shape((rows, columns), data).expect("the slice holds the matrix")
}

impl Kernels for Im2col {
    fn forward_into(&mut self, input: &[f32], weight: &[f32], output: &mut [f32]) {
        self.batch(input.len(), weight.len(), output.len());
        let (input_len, _, output_len) = self.lens();
        let (m, k, n) = (self.out_per_group, self.reduction(), self.positions());
        for (x, z) in input
            .chunks_exact(input_len)
            .zip(output.chunks_exact_mut(output_len))
        {
            for group in 0..self.groups {
                let (weights, outputs) = self.group_ranges(group);
                self.gather(&x[self.input_range(group)]);
                general_mat_mul(
                    1.0,
                    &view(m, k, &weight[weights]),
                    &view(k, n, &self.cols),
                    0.0,
                    &mut view_mut(m, n, &mut z[outputs]),
                );
            }
        }
    }

    fn grad_input_into(&mut self, weight: &[f32], delta: &[f32], grad_input: &mut [f32]) {
        self.batch(grad_input.len(), weight.len(), delta.len());
        let (input_len, _, output_len) = self.lens();
        let (m, k, n) = (self.out_per_group, self.reduction(), self.positions());
        for (dx, delta) in grad_input
            .chunks_exact_mut(input_len)
            .zip(delta.chunks_exact(output_len))
        {
            for group in 0..self.groups {
                let (weights, outputs) = self.group_ranges(group);
                // cols = w_gᵀ · δ_g: the transpose is a view with swapped strides.
                general_mat_mul(
                    1.0,
                    &view(m, k, &weight[weights]).t(),
                    &view(m, n, &delta[outputs]),
                    0.0,
                    &mut view_mut(k, n, &mut self.cols),
                );
                let planes = self.input_range(group);
                self.scatter(&mut dx[planes]);
            }
        }
    }

    fn grad_weight_into(&mut self, input: &[f32], delta: &[f32], grad_weight: &mut [f32]) {
        if self.batch(input.len(), grad_weight.len(), delta.len()) == 0 {
            grad_weight.fill(0.0);
        }
        let (input_len, _, output_len) = self.lens();
        let (m, k, n) = (self.out_per_group, self.reduction(), self.positions());
        for (entry, (x, delta)) in input
            .chunks_exact(input_len)
            .zip(delta.chunks_exact(output_len))
            .enumerate()
        {
            // The first batch entry overwrites the gradient, the others add to it.
            let beta = if entry == 0 { 0.0 } else { 1.0 };
            for group in 0..self.groups {
                let (weights, outputs) = self.group_ranges(group);
                self.gather(&x[self.input_range(group)]);
                general_mat_mul(
                    1.0,
                    &view(m, n, &delta[outputs]),
                    &view(k, n, &self.cols).t(),
                    beta,
                    &mut view_mut(m, k, &mut grad_weight[weights]),
                );
            }
        }
    }
}
