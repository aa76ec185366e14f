//! The mathematics of convsym: a convolution layer's specification, symbolic expressions,
//! the derivation of its forward equations and gradients, renderers and a numeric reference.
//!
//! ```
//! use conv_runtime::{Notation, Spec, derive};
//!
//! let spec = Spec::parse("in=5 k=3 stride=2").unwrap();
//! let dw1 = derive::grad_weight(&spec).next().unwrap();
//! assert_eq!(dw1.display(Notation::Text).to_string(), "dw1 = d1*x1 + d2*x3 + d3*x11 + d4*x13");
//! ```
//!
//! # Organisation
//!
//! One folder per job, each depending only on those before it: [`kernel`] (the kernel
//! runtime: the [`Scalar`] arithmetic the code `conv!` generates is generic over, and the
//! builds it runs in, its plumbing reached through the hidden `__private`), [`spec`] (what
//! a user writes, parsed and validated), [`symbolic`] (expressions, the two derivations,
//! the numeric reference), [`limits`] (every size limit and the one `TooLarge` error),
//! [`render`] (text, LaTeX, MathML, Σ, JSON, SVG), then `explain` and `check`. Code inside the
//! crate imports by these paths; the re-exports at the root (`derive`, `expr`, `Spec`, …)
//! are for users.
//!
//! # Features
//!
//! - `std` (default): `std::error::Error` for the errors, and `itertools` with `std`;
//!   without it the crate is `no_std` with `alloc`, all the generated kernels need.
//! - `engine` (default): `explain`, `check` and the picture, `render::svg`, the
//!   command-line tool's engine. A user of the kernels or the macro alone leaves it out.
//! - `parallel` (default, needs `std`): the kernels' `…_par_into` forms run their tasks on
//!   rayon's current pool; without it they run them on the calling thread.
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod spec;
pub mod symbolic;

pub mod limits;
pub mod render;

#[cfg(feature = "engine")]
pub mod check;
#[cfg(feature = "engine")]
pub mod explain;

pub mod kernel;

pub use spec::parse;
pub use symbolic::{construction, derive, expr, grid, reference};

pub use expr::{Equation, Expr, Tensor, Term, Variable};
pub use kernel::Scalar;
pub use render::{Format, Notation};
pub use spec::{Argument, Axis, Error, Padding, Spec, Value};

/// The kernel plumbing the code `conv!` generates names by this path: not an API, and
/// free to change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::__wide_scratch as wide_scratch;
    pub use crate::kernel::build::{Avx2, Avx512, Build, Kernel, Part};
    pub use crate::kernel::dispatch::{dispatch, rerun};
    pub use crate::kernel::operands::{Block, Dots, Rows, Stencil, StencilDots};
    pub use crate::kernel::scalar::Wide;
    pub use crate::kernel::scratch::STACK_SCRATCH;
    #[cfg(feature = "std")]
    pub use crate::kernel::scratch::zeroed;
    /// The parallel forms' driver.
    pub mod par {
        pub use crate::kernel::parallel::*;
    }
}
