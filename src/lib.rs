//! convsym: a convolution layer's shape turned into exact equations, gradients and kernels.
//!
//! ```
//! let spec = convsym::Spec::parse("in=5 k=3 stride=2").unwrap();
//! let dx3 = convsym::derive::grad_input(&spec).nth(2).unwrap();
//! assert_eq!(dx3.to_string(), "dx3 = d1*w3 + d2*w1");
//! ```
//!
//! [`conv!`] does the same at compile time and adds kernels specialised to the shape, with
//! fixed-size arrays, generic over [`Scalar`] (`f32`, `f64`, `i32`, `i64`, or the symbolic
//! [`Expr`]); [`docs`] is its reference:
//!
//! ```
//! use convsym::conv;
//!
//! conv!(
//!     /// The seed's layer: a 5×5 input, a 3×3 kernel, stride 2.
//!     pub struct Seed; in = 5, k = 3, stride = 2
//! );
//!
//! assert_eq!(Seed::GRAD_WEIGHT[0], "dw1 = d1*x1 + d2*x3 + d3*x11 + d4*x13");
//! let x: [f64; Seed::INPUT_LEN] = core::array::from_fn(|i| f64::from(i as u8));
//! let w = [1.0, 0.0, -1.0, 2.0, 0.0, -2.0, 1.0, 0.0, -1.0];
//! let z = Seed.forward(&x, &w);
//! assert_eq!(z, [-8.0, -8.0, -8.0, -8.0]);
//! let (dx, dw) = Seed.backward(&x, &w, &[1.0, 0.0, 0.0, 0.0]);
//! assert_eq!((dx[2], dw[0]), (-1.0, 0.0));
//!
//! // The expression form gives a value of an unnamed type.
//! let layer = conv!(in = (8,), k = 3, pad = same, unroll = loops);
//! assert_eq!(layer.forward(&[1.0f32; 8], &[1.0; 3]), [2.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 2.0]);
//! ```
//!
//! # Numbers
//!
//! Every output of a kernel is the sum, in the scalar's arithmetic, of exactly the terms
//! of its printed equation. Padding and the zeros a stride puts between taps contribute no
//! term, so an infinity or a NaN reaches only the outputs whose equations name it, in
//! every build on every processor. Builds may add the terms in different orders, and the
//! wide builds fuse each multiply with its add, so in floating point the rounding of a
//! sum, the overflow of a finite partial sum and the sign of a zero result may differ
//! between them. Integers wrap on overflow (modulo 2³²
//! or 2⁶⁴), in debug and release builds alike, as integer tensors do in `NumPy` and
//! `PyTorch`.
//!
//! ```
//! use convsym::conv;
//!
//! let layer = conv!(in = 12, k = 3, pad = 1);
//! let mut w = [1.0f32; 9];
//! w[0] = f32::INFINITY;
//! let z = layer.forward(&[1.0; 144], &w);
//! // z1 = w5*x1 + w6*x2 + w8*x13 + w9*x14: the padding beside x1 meets w1 in no term.
//! assert_eq!(z[0], 4.0);
//! // z14 = w1*x1 + …
//! assert_eq!(z[13], f32::INFINITY);
//!
//! assert_eq!(conv!(in = (1,), k = 1).forward(&[i32::MAX], &[2]), [-2]);
//! ```

//!
//! # The mathematics at run time
//!
//! Everything the command prints is a library call away. A [`Spec`] is a layer, parsed from
//! the same keys as [`conv!`] takes (without `unroll`), with its sizes per axis:
//!
//! ```
//! let spec = convsym::Spec::parse("in=6 k=3 stride=2").unwrap();
//! let rows = &spec.axes()[0];
//! assert_eq!((rows.output(), rows.remainder()), (2, 1)); // r = (6 − 3) mod 2
//! assert_eq!(spec.output_len(), 4);
//! ```
//!
//! [`derive`](mod@derive) streams the equations of each tensor ([`derive::Section`]) as
//! the chain rule gives them, [`render::document`] prints them in a [`Format`], and
//! [`reference`](mod@reference) computes the same layer numerically on any [`Scalar`]:
//!
//! ```
//! use convsym::derive::{self, Section};
//! use convsym::{Format, Spec, reference, render};
//!
//! let spec = Spec::parse("in=6 k=3 stride=2").unwrap();
//! let dx: Vec<String> = derive::equations(&spec, Section::GradInput).map(|e| e.to_string()).collect();
//! assert_eq!(dx[5], "dx6 = 0"); // column 6 is never read: the remainder
//!
//! let mut latex = String::new();
//! render::document(&mut latex, &spec, Format::Latex, &[Section::Forward]).unwrap();
//! assert!(latex.contains("z_{1} &= w_{1} x_{1} + w_{2} x_{2}"));
//!
//! let z = reference::forward(&spec, &[1.0f64; 36], &[1.0; 9], &[]);
//! assert_eq!(z, [9.0; 4]);
//! ```
//!
//! With the default `engine` feature, [`explain`] writes the derivation step by step (as
//! text, LaTeX, Markdown or one HTML page) and [`check`] reads equations written by hand:
//!
//! ```
//! use convsym::{Spec, check, explain};
//!
//! let spec = Spec::parse("in=5 k=3 stride=2").unwrap();
//! let explanation = explain::explain(&spec, explain::Limits::default()).unwrap();
//! assert!(explanation.agrees()); // both constructions gave the chain rule's equations
//! let page = explain::html::render(&explanation, None);
//! assert!(page.starts_with("<!DOCTYPE html>") && page.contains("<math"));
//!
//! let report = check::check(&spec, "dx3 = d1*w3 + d2*w2", check::Options::default());
//! assert!(report.render("mine.txt").contains("dx3: d2*w2 should be d2*w1"));
//! ```
//!
//! # Features
//!
//! - `std` (default): run-time choice of the widest vector build for loop kernels, and
//!   `std::error::Error` for the errors. Without it the crate is `no_std` with `alloc`; see
//!   [the reference](docs#without-std).
//! - `engine` (default): [`explain`], [`check`] and the SVG picture ([`render::svg`]).
//! - `cli` (default): the `convsym` command and its dependency on `clap`.

#![cfg_attr(not(feature = "std"), no_std)]

pub mod docs;

/// A convolution layer's shape, as `key = value` arguments, expanded at compile time into a
/// type whose methods are the layer's kernels, specialised to that shape, and whose
/// constants are its shapes and its equations. [`docs`] documents every key, what the
/// type offers, the scalar types, unrolling, memory, `no_std` use and the errors.
///
/// ```
/// convsym::conv!(struct Seed; in = 5, k = 3, stride = 2);
///
/// assert_eq!(Seed::FORWARD[0], "z1 = w1*x1 + w2*x2 + w3*x3 + w4*x6 + w5*x7 + w6*x8 + w7*x11 + w8*x12 + w9*x13");
/// assert_eq!(Seed.forward(&[1.0f32; 25], &[1.0; 9]), [9.0; 4]);
/// ```
#[doc(inline)]
pub use conv_macros::conv;
pub use conv_runtime::*;
