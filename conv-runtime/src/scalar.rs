//! The arithmetic the numeric reference and the generated kernels are generic over.

use crate::Expr;

/// A number the kernels can compute with: `f32`, `f64`, `i32`, `i64`, or a symbolic
/// [`Expr`], which turns a kernel's arithmetic back into its equations.
///
/// Arguments are borrowed so that [`Expr`] need not be cloned for every term; for the
/// primitive types every method inlines to one instruction.
pub trait Scalar: Clone {
    /// The additive identity.
    fn zero() -> Self;
    /// An integer coefficient as this type.
    fn from_integer(value: i64) -> Self;
    /// `self · rhs`.
    #[must_use]
    fn times(&self, rhs: &Self) -> Self;
    /// `self += rhs`.
    fn accumulate(&mut self, rhs: &Self);
    /// `self += a · b`, the step every convolution is made of.
    #[inline]
    fn accumulate_product(&mut self, a: &Self, b: &Self) {
        self.accumulate(&a.times(b));
    }
}

macro_rules! primitive {
    ($($type:ty),*) => {$(
        impl Scalar for $type {
            #[inline]
            fn zero() -> Self {
                <$type>::default()
            }
            #[inline]
            #[allow(clippy::cast_precision_loss, reason = "coefficients are small integers")]
            fn from_integer(value: i64) -> Self {
                value as $type
            }
            #[inline]
            fn times(&self, rhs: &Self) -> Self {
                self * rhs
            }
            #[inline]
            fn accumulate(&mut self, rhs: &Self) {
                *self += rhs;
            }
            #[inline]
            fn accumulate_product(&mut self, a: &Self, b: &Self) {
                *self += a * b;
            }
        }
    )*};
}

primitive!(f32, f64, i32, i64);

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
