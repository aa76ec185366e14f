//! convsym: a convolution layer's shape turned into exact equations, gradients and kernels.
//!
//! ```
//! let spec = convsym::Spec::parse("in=5 k=3 stride=2").unwrap();
//! let dx3 = convsym::derive::grad_input(&spec).nth(2).unwrap();
//! assert_eq!(dx3.to_string(), "dx3 = d1*w3 + d2*w1");
//! ```
//!
//! [`conv!`] does the same at compile time and adds kernels specialised to the shape, with
//! fixed-size arrays, generic over [`Scalar`] (`f32`, `f64`, or the symbolic [`Expr`]):
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

#![cfg_attr(not(feature = "std"), no_std)]

pub use conv_macros::conv;
pub use conv_runtime::*;
