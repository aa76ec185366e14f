//! The symbolic core: expressions and the equations of a layer, derived two independent
//! ways, and the numeric reference they are checked against.
//!
//! - [`expr`]: variables, terms, sums and equations, in canonical form;
//! - [`derive`](mod@derive): the forward equations and the gradients by the chain rule, streamed;
//! - [`construction`]: the gradients by the seed's construction, on [`grid`]s;
//! - [`reference`](mod@reference): the numeric forward pass and gradients, for any [`crate::kernel::Scalar`];
//! - `layout`: row-major flat indices, shared by the derivation and the reference;
//! - `scalar`: the kernels' [`Scalar`](crate::kernel::Scalar) for [`Expr`](expr::Expr), so a
//!   kernel run on symbols prints its equations.
//!
//! Everything here starts from a [`Spec`](crate::spec::Spec) and depends on nothing else
//! of the crate but the scalar trait; the renderers, the explanation and the check build
//! on it.

pub mod construction;
pub mod derive;
pub mod expr;
pub mod grid;
pub mod reference;

mod layout;
mod scalar;
