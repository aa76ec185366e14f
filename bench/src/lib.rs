//! convsym's benchmarks and the baselines they measure against.
//!
//! A separate package, so that `cargo test --workspace` never compiles criterion or the
//! heavy peers (candle, ndarray): its library has `test = false` and it declares no test
//! that `cargo test` runs by default. The benchmarks live in `benches/`:
//!
//! ```text
//! cargo bench -p convsym-bench --bench kernels   # issue 4: conv! and five baselines, ~6 minutes
//! cargo bench -p convsym-bench --bench derive    # the symbolic derivation's throughput
//! ```
//!
//! Every baseline here computes the forward pass and both gradients of a layer in `f32`
//! on one thread, and is checked against `conv_runtime::reference` ([`verify`]) before any
//! benchmark times it.

pub mod candle;
pub mod direct;
pub mod im2col;
#[cfg(feature = "onednn")]
pub mod onednn;
pub mod shapes;
pub mod threads;
pub mod transposed;
pub mod verify;

/// One layer's three passes on flat, row-major slices, as `conv_runtime::reference`
/// lays them out: input `[batch][cin][in…]`, weight `[cout][cin/groups][k…]` (a transposed
/// layer's `[cin][cout/groups][k…]`), output and `δ = ∂L/∂z` `[batch][cout][out…]`.
///
/// Each method overwrites its output. The generated `conv!` kernels will be benchmarked
/// through this trait too (see [`shapes::Shape::generated`]).
pub trait Kernels {
    /// `z = conv(x, w)`.
    fn forward_into(&mut self, input: &[f32], weight: &[f32], output: &mut [f32]);
    /// `∂L/∂x` from the weight and `δ`.
    fn grad_input_into(&mut self, weight: &[f32], delta: &[f32], grad_input: &mut [f32]);
    /// `∂L/∂w` from the input and `δ`, summed over the batch.
    fn grad_weight_into(&mut self, input: &[f32], delta: &[f32], grad_weight: &mut [f32]);
}

/// The flat slices the suite passes, as the fixed-size arrays the kernels take; the suite
/// sizes its buffers from the same layer, so a mismatch is a bug here.
fn array<const N: usize>(slice: &[f32]) -> &[f32; N] {
    slice
        .try_into()
        .expect("the suite's buffers match the layer")
}

/// [`array`] for an output.
fn array_mut<const N: usize>(slice: &mut [f32]) -> &mut [f32; N] {
    slice
        .try_into()
        .expect("the suite's buffers match the layer")
}
