//! The kernel runtime: the arithmetic the generated kernels are generic over
//! ([`Scalar`]), and the builds they run in. A kernel is written once, compiled for the
//! baseline target and again for AVX2 and AVX-512, and run in the widest form the
//! processor has; [`set_widest`] caps the choice and [`widest`] tells it.
//!
//! A kernel `conv!` generates implements `Kernel`, whose three methods are its loops with
//! register blocks sized for 16-, 32- and 64-byte vectors, and the scalar's `run` picks
//! one: for `f32`, the widest the processor has (`dispatch`); for the other types, the
//! portable one. The wide builds spend their time in register blocks, `block`, `rows`
//! and `dots` (and `store`, which writes a forward `block`'s sums out), and for depthwise
//! layers `stencil` (which writes its outputs itself) and `stencil_dots`, reached through
//! the scalar with the build's token; for `f32` the
//! token's `Build` runs them in explicit vector instructions (left to itself, the
//! compiler vectorises such a block along the wrong dimension, with gathers, and runs 5 to
//! 25 times slower). That plumbing is hidden: only the generated code names it, as
//! `convsym::__private`.
//!
//! The two wide builds do the same arithmetic in the same order: for each sum, the same
//! terms added one after another, each by a fused multiply-add (`sum + a · b` rounded
//! once), or, in a block whose shape fits neither build's vectors, by the portable
//! block's multiply and then add, in both. So their results are bitwise the same,
//! whichever of them a machine runs. The portable build multiplies and adds with two
//! roundings, and adds the terms in another order, so its last bits may differ from the
//! wide builds'; on integer data, where no product or partial sum rounds, all three agree
//! exactly. On operands with an infinity or a NaN that meet a wide build's structural
//! zeros, or where a wide build's outputs are not all finite, the portable build runs,
//! which forms exactly the terms of the equations (see [`build::Kernel`]). Only the
//! speed depends on the machine.
//!
//! With `std` the choice is made at run time (`is_x86_feature_detected!`, a cached
//! load); without it, at compile time (`-C target-cpu=…` or `-C target-feature=…`).
//!
//! The modules: `scalar` (the traits the kernels are generic over; the symbolic core
//! implements them for `Expr`), `build` (what a kernel and a build are), `dispatch` (which
//! build runs), `operands` (what each block reads, one struct per block), `scratch` (the
//! wide builds' copies), `portable` (the blocks in plain Rust), and `x86::avx2` and
//! `x86::avx512` (the blocks in each build's vectors, and all the crate's unsafe code).

pub(crate) mod build;
pub(crate) mod dispatch;
pub(crate) mod operands;
pub(crate) mod parallel;
pub(crate) mod portable;
pub(crate) mod scalar;
pub(crate) mod scratch;
#[cfg(test)]
mod tests;
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
#[allow(
    unsafe_code,
    reason = "vector loads and stores within checked arrays, and calls into builds whose \
              features were detected"
)]
mod x86;

pub use dispatch::{Width, set_widest, widest};
pub use parallel::{THRESHOLD as PARALLEL_THRESHOLD, set_threshold as set_parallel_threshold};
pub use scalar::Scalar;
pub use scratch::free_scratch;
