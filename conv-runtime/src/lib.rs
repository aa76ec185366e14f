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
mod layout;
pub mod parse;
pub mod reference;
pub mod render;
pub mod scalar;
pub mod simd;
pub mod spec;

pub use expr::{Equation, Expr, Tensor, Term, Variable};
pub use render::{Format, Notation};
pub use scalar::Scalar;
pub use spec::{Argument, Axis, Error, Padding, Spec, Value};
