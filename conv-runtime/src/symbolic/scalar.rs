//! [`Scalar`] for the symbolic [`Expr`]: a kernel run on expressions gives back its
//! layer's equations, term for term. It lives here, not in the kernel runtime, so that
//! the kernel runtime depends on nothing of the symbolic core.

use super::expr::Expr;
use crate::kernel::scalar::{Scalar, Wide};

impl Scalar for Expr {
    fn zero() -> Self {
        Expr::zero()
    }
    fn from_integer(value: i64) -> Self {
        Expr::constant(value)
    }
    fn times(&self, rhs: &Self) -> Self {
        self * rhs
    }
    fn accumulate(&mut self, rhs: &Self) {
        *self += rhs.clone();
    }
}

impl Wide for Expr {}
