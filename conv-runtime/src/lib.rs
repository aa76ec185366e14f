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
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod check;
pub mod construction;
pub mod derive;
pub mod explain;
pub mod expr;
mod geometry;
pub mod grid;
pub mod kernel;
mod layout;
pub mod parse;
pub mod reference;
pub mod render;
pub mod spec;

pub use expr::{Equation, Expr, Tensor, Term, Variable};
pub use kernel::Scalar;
pub use render::{Format, Notation};
pub use spec::{Argument, Axis, Error, Padding, Spec, Value};

/// The kernel plumbing the code `conv!` generates names by this path: not an API, and
/// free to change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::kernel::build::{Avx2, Avx512, Build, Geometry, Kernel, Operand, Steps};
    pub use crate::kernel::dispatch::dispatch;
    pub use crate::kernel::scalar::Wide;
}
