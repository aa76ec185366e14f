//! candle-core's CPU convolutions, forward and backward, on one thread.
//!
//! The forward pass is `Tensor::conv1d`/`conv2d`. The gradients are the ops candle's own
//! autograd runs for a convolution (`candle_core::backprop`, `Op::Conv1D`/`Op::Conv2D`),
//! called directly so that each gradient can be timed alone: autograd always computes
//! both. The input gradient is a transposed convolution of `δ` with the weight, with the
//! output padding that restores the remainder `r`; the weight gradient a convolution of
//! the input with `δ` (batch and channel axes swapped, stride and dilation swapped),
//! cropped to the kernel. Grouped layers go group by group, as candle's `conv2d` does
//! itself (it chunks the channels and concatenates the results). [`Candle::autograd`]
//! runs the real `backward()` so that the checks can confirm the two agree.
//!
//! A transposed layer's forward pass is `Tensor::conv_transpose1d`/`conv_transpose2d`, and
//! its gradients the ops candle's autograd runs for `Op::ConvTranspose2D`: the input
//! gradient a convolution of `δ` with the weight, the weight gradient a convolution of `δ`
//! with the input (batch and channel axes swapped, stride and dilation swapped), cropped to
//! the kernel. candle 0.11's autograd has no backward pass for `Op::ConvTranspose1D` (its
//! `backward()` fails with `BackwardNotSupported`), so the 1-D layer's gradients are the
//! same ops in 1-D, `conv1d` where the 2-D layer's have `conv2d`, and there is no
//! `backward()` to check them against: only the reference checks them.
//!
//! Threads: candle's CPU backend runs on rayon's global pool, a pool of its own and a
//! barrier pool, all sized from `RAYON_NUM_THREADS` (`CANDLE_NUM_THREADS` overrides the
//! barrier pool's); its GEMM splits work across `candle_core::utils::get_num_threads()`,
//! which reads `RAYON_NUM_THREADS` too. Those are read from the environment, which a
//! program cannot set for itself without `unsafe` (edition 2024), so
//! [`run_single_threaded`] starts the program again with both variables (and OpenMP's, for
//! oneDNN) set to 1.

use std::process::Command;

use candle_core::{Device, Result, Tensor, Var};
use conv_runtime::Spec;

/// The environment variables the baselines size their thread pools from: candle and rayon
/// read the first two, and OpenMP, oneDNN's runtime (feature `onednn`), the third when it
/// starts. Set whether or not the oneDNN baseline is built, so that one run of the suite
/// has the same environment either way.
const THREAD_VARIABLES: [&str; 3] = ["RAYON_NUM_THREADS", "CANDLE_NUM_THREADS", "OMP_NUM_THREADS"];

/// Unless `RAYON_NUM_THREADS`, `CANDLE_NUM_THREADS` and `OMP_NUM_THREADS` are all `1`, runs
/// this program again, with the same arguments and all three set to `1`, and returns its
/// exit code.
///
/// # Panics
///
/// If the program cannot be started again.
pub fn run_single_threaded() -> Option<i32> {
    let single = |name| std::env::var(name).is_ok_and(|value| value == "1");
    if THREAD_VARIABLES.into_iter().all(single) {
        return None;
    }
    let program = std::env::current_exe().expect("the running program's path");
    let mut command = Command::new(program);
    command.args(std::env::args_os().skip(1));
    for name in THREAD_VARIABLES {
        command.env(name, "1");
    }
    let status = command.status().expect("the program starts again");
    Some(status.code().unwrap_or(1))
}

/// How many threads each party would use, as each reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Threads {
    /// `candle_core::utils::get_num_threads()`: how many ways candle splits a GEMM.
    pub candle: usize,
    /// `rayon::current_num_threads()`: the global pool candle's convolutions run on.
    pub rayon: usize,
    /// The threads this process has now (`/proc/self/task`), the main thread included;
    /// `None` where that cannot be read.
    pub process: Option<usize>,
}

/// The thread counts now.
pub fn threads() -> Threads {
    Threads {
        candle: candle_core::utils::get_num_threads(),
        rayon: rayon::current_num_threads(),
        process: std::fs::read_dir("/proc/self/task")
            .ok()
            .map(Iterator::count),
    }
}

/// A layer as candle sees it: the same padding, stride, kernel and dilation on every axis.
#[derive(Clone, Debug)]
pub struct Candle {
    rank: usize,
    input: usize,
    kernel: usize,
    padding: usize,
    stride: usize,
    dilation: usize,
    output: usize,
    /// A transposed layer's output padding; `None` for an ordinary layer.
    transposed: Option<usize>,
    groups: usize,
    in_per_group: usize,
    out_per_group: usize,
    input_shape: Vec<usize>,
    weight_shape: Vec<usize>,
    output_shape: Vec<usize>,
}

impl Candle {
    /// The layer, if candle can express it.
    ///
    /// # Errors
    ///
    /// If the layer has 3 axes, or axes that differ in size, kernel, stride, padding or
    /// dilation, or padding that differs before and after: candle's convolutions take
    /// one number for each. Also a transposed layer with groups (`conv_transpose2d` takes
    /// none; the suite has no such layer).
    pub fn new(spec: &Spec) -> core::result::Result<Candle, String> {
        let axes = spec.axes();
        let first = axes[0];
        if axes.len() > 2 || axes.iter().any(|axis| *axis != first) {
            return Err(format!(
                "candle takes 1-D or square 2-D layers, not `{spec}`"
            ));
        }
        if first.pad_before() != first.pad_after() {
            return Err(format!("candle takes symmetric padding, not `{spec}`"));
        }
        if spec.transposed() && spec.groups() > 1 {
            return Err(format!(
                "the candle baseline takes transposed layers without groups, not `{spec}`"
            ));
        }
        Ok(Candle {
            rank: axes.len(),
            input: first.input(),
            kernel: first.kernel(),
            padding: first.pad_before(),
            stride: first.stride(),
            dilation: first.dilation(),
            output: first.output(),
            transposed: spec.transposed().then_some(first.output_padding()),
            groups: spec.groups(),
            in_per_group: spec.in_channels_per_group(),
            out_per_group: spec.out_channels_per_group(),
            input_shape: spec.input_shape(),
            weight_shape: spec.weight_shape(),
            output_shape: spec.output_shape(),
        })
    }

    /// The input `x` as a tensor `[batch, cin, in…]`.
    ///
    /// # Errors
    ///
    /// If `data` does not hold the input.
    pub fn input(&self, data: &[f32]) -> Result<Tensor> {
        Tensor::from_slice(data, self.input_shape.as_slice(), &Device::Cpu)
    }

    /// The weight `w` as a tensor `[cout, cin/groups, k…]` (`[cin, cout/groups, k…]` for a
    /// transposed layer).
    ///
    /// # Errors
    ///
    /// If `data` does not hold the weight.
    pub fn weight(&self, data: &[f32]) -> Result<Tensor> {
        Tensor::from_slice(data, self.weight_shape.as_slice(), &Device::Cpu)
    }

    /// `δ = ∂L/∂z` as a tensor `[batch, cout, out…]`.
    ///
    /// # Errors
    ///
    /// If `data` does not hold an output.
    pub fn delta(&self, data: &[f32]) -> Result<Tensor> {
        Tensor::from_slice(data, self.output_shape.as_slice(), &Device::Cpu)
    }

    fn conv(&self, x: &Tensor, kernel: &Tensor, stride: usize, dilation: usize) -> Result<Tensor> {
        if self.rank == 1 {
            x.conv1d(kernel, self.padding, stride, dilation, 1)
        } else {
            x.conv2d(kernel, self.padding, stride, dilation, 1)
        }
    }

    /// `z = conv(x, w)`.
    ///
    /// # Errors
    ///
    /// Whatever candle reports.
    pub fn forward(&self, input: &Tensor, weight: &Tensor) -> Result<Tensor> {
        if let Some(output_padding) = self.transposed {
            let (padding, stride, dilation) = (self.padding, self.stride, self.dilation);
            return if self.rank == 1 {
                input.conv_transpose1d(weight, padding, output_padding, stride, dilation, 1)
            } else {
                input.conv_transpose2d(weight, padding, output_padding, stride, dilation)
            };
        }
        if self.rank == 1 {
            input.conv1d(
                weight,
                self.padding,
                self.stride,
                self.dilation,
                self.groups,
            )
        } else {
            input.conv2d(
                weight,
                self.padding,
                self.stride,
                self.dilation,
                self.groups,
            )
        }
    }

    /// `∂L/∂x`: the transposed convolution candle's autograd runs.
    ///
    /// # Errors
    ///
    /// Whatever candle reports.
    pub fn grad_input(&self, weight: &Tensor, delta: &Tensor) -> Result<Tensor> {
        if self.transposed.is_some() {
            // `Op::ConvTranspose2D`'s: δ convolved with the weight, as the dual's forward pass.
            return self.conv(delta, weight, self.stride, self.dilation);
        }
        // As in candle's backprop: the output padding restores the `r` unread positions.
        let reached = (self.output - 1) * self.stride + self.dilation * (self.kernel - 1) + 1
            - 2 * self.padding;
        let output_padding = self.input - reached;
        let transpose = |delta: &Tensor, weight: &Tensor| {
            let (padding, stride, dilation) = (self.padding, self.stride, self.dilation);
            if self.rank == 1 {
                delta.conv_transpose1d(weight, padding, output_padding, stride, dilation, 1)
            } else {
                delta.conv_transpose2d(weight, padding, output_padding, stride, dilation)
            }
        };
        self.by_group(1, |group| {
            let outputs = group * self.out_per_group;
            transpose(
                &delta.narrow(1, outputs, self.out_per_group)?,
                &weight.narrow(0, outputs, self.out_per_group)?,
            )
        })
    }

    /// `∂L/∂w`: the convolution of the input with `δ` candle's autograd runs.
    ///
    /// # Errors
    ///
    /// Whatever candle reports.
    pub fn grad_weight(&self, input: &Tensor, delta: &Tensor) -> Result<Tensor> {
        if self.transposed.is_some() {
            // `Op::ConvTranspose2D`'s: the ordinary layer's weight gradient with the input
            // and δ swapped.
            return self.correlate(delta, input)?.contiguous();
        }
        let gradient = self.by_group(0, |group| {
            let input = input.narrow(1, group * self.in_per_group, self.in_per_group)?;
            let delta = delta.narrow(1, group * self.out_per_group, self.out_per_group)?;
            self.correlate(&input, &delta)
        })?;
        // The other baselines hand back a row-major gradient; so does autograd's `add`.
        gradient.contiguous()
    }

    /// The weight gradient of an ordinary layer of this geometry with input `input` and
    /// output gradient `delta`, without groups: their correlation, as candle's autograd
    /// computes it.
    fn correlate(&self, input: &Tensor, delta: &Tensor) -> Result<Tensor> {
        // Batch and channels swap places, and so do stride and dilation.
        let mut gradient = self
            .conv(
                &input.transpose(0, 1)?,
                &delta.transpose(0, 1)?,
                self.dilation,
                self.stride,
            )?
            .transpose(0, 1)?;
        // With a remainder the correlation reaches past the kernel: crop, as candle does.
        for axis in 2..2 + self.rank {
            if gradient.dim(axis)? != self.kernel {
                gradient = gradient.narrow(axis, 0, self.kernel)?;
            }
        }
        Ok(gradient)
    }

    /// Runs `pass` per group and concatenates the results along `axis`.
    fn by_group(&self, axis: usize, pass: impl Fn(usize) -> Result<Tensor>) -> Result<Tensor> {
        if self.groups == 1 {
            return pass(0);
        }
        let parts = (0..self.groups).map(pass).collect::<Result<Vec<_>>>()?;
        Tensor::cat(&parts, axis)
    }

    /// `(∂L/∂x, ∂L/∂w)` by candle's autograd: `backward()` of `Σ z ⊙ δ`; `None` for a 1-D
    /// transposed layer, which candle's autograd does not differentiate.
    ///
    /// # Errors
    ///
    /// Whatever candle reports, or a missing gradient.
    pub fn autograd(
        &self,
        input: &Tensor,
        weight: &Tensor,
        delta: &Tensor,
    ) -> Result<Option<(Tensor, Tensor)>> {
        if self.transposed.is_some() && self.rank == 1 {
            return Ok(None);
        }
        let input = Var::from_tensor(input)?;
        let weight = Var::from_tensor(weight)?;
        let output = self.forward(input.as_tensor(), weight.as_tensor())?;
        let gradients = output.mul(delta)?.sum_all()?.backward()?;
        let gradient = |var: &Var| {
            gradients
                .get(var.as_tensor())
                .cloned()
                .ok_or_else(|| candle_core::Error::Msg("autograd gave no gradient".to_owned()))
        };
        Ok(Some((gradient(&input)?, gradient(&weight)?)))
    }
}

/// A tensor's elements in row-major order.
///
/// # Errors
///
/// Whatever candle reports.
pub fn values(tensor: &Tensor) -> Result<Vec<f32>> {
    tensor.flatten_all()?.to_vec1()
}
