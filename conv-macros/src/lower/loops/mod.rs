//! Loop kernels: nested loops whose bounds and offsets are constants read off the runtime's
//! [`Spec`]. Every kernel works on rows of the last axis and keeps its sums in a local array
//! (registers, or the top of the stack) until they are complete, so memory sees each output
//! once, and each innermost loop zips two contiguous rows, so it has no branch, no bounds
//! check and, at stride 1, vectorises:
//!
//! ```text
//! for (tap, &(lo, hi, first)) in w_row.iter().zip(rows) {
//!     for (sum, x) in sums[lo..hi].iter_mut().zip(x_row[first..].iter()) {
//!         sum.accumulate_product(tap, x);
//!     }
//! }
//! ```
//!
//! - The forward pass gathers an output row (a block of [`BLOCK`](blocks::BLOCK) outputs at a time) over
//!   the input channels and the taps; past stride 1, a long input row is first split by
//!   phase, so every tap reads a contiguous run, once for a block of output channels.
//! - The input gradient gathers an input row the same way, over the output channels and
//!   the taps (the correlation of δ with the flipped kernel), instead of scattering every
//!   product into memory.
//! - The weight gradient sums each tap over a row of δ and a row of the input in [`LANES`](weight_gradient::LANES)
//!   independent partial sums, which vectorise where one running sum would not (a float
//!   sum is sequential): the order of the additions changes, the terms do not.
//!
//! `lo..hi` are the outputs whose tap reads real input and `first` the input the first of
//! them reads: for the blocks at either end of a row, from
//! [`conv_runtime::Axis::outputs_reading_within`] (or the same formula in the loop when a
//! table would be large); for the blocks between, from where the block starts
//! ([`Blocks`](blocks::Blocks)), so the code does not grow with the row. The other axes skip a tap that
//! lands on padding once per row.

mod blocks;
mod forward;
mod input_gradient;
mod layout;
mod weight_gradient;

pub(super) use forward::forward;
pub(super) use input_gradient::grad_input;
pub(super) use weight_gradient::{grad_bias, grad_weight};
