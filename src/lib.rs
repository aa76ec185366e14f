//! convsym: a convolution layer's shape turned into exact equations, gradients and kernels.
//!
//! ```
//! let spec = convsym::Spec::parse("in=5 k=3 stride=2").unwrap();
//! let dx3 = convsym::derive::grad_input(&spec).nth(2).unwrap();
//! assert_eq!(dx3.to_string(), "dx3 = d1*w3 + d2*w1");
//! ```

pub use conv_macros::conv;
pub use conv_runtime::*;
