//! The arithmetic the numeric reference and the generated kernels are generic over.

use core::ops::{Add, Mul};

use crate::Expr;
use crate::simd::{self, Build, Geometry, Kernel, Operand, Steps};

/// A number the kernels can compute with: `f32`, `f64`, `i32`, `i64`, or a symbolic
/// [`Expr`], which turns a kernel's arithmetic back into its equations.
///
/// Arguments are borrowed so that [`Expr`] need not be cloned for every term; for the
/// primitive types every method inlines to one instruction.
///
/// Integer arithmetic wraps (two's complement, modulo 2³² or 2⁶⁴) in every build
/// profile, as integer tensors do in `NumPy` and `PyTorch`: a kernel or the reference
/// never panics on overflow, and debug and release builds give the same values.
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
    /// Whether every value is finite: neither infinite nor NaN. Types without such values
    /// (the integers, [`Expr`]) always are. [`simd::dispatch`] runs a kernel's wide builds
    /// only on finite operands ([`Kernel::finite`]).
    #[inline]
    fn all_finite(values: &[Self]) -> bool {
        let _ = values;
        true
    }
    /// Runs a kernel generic over the scalar: for `f32`, in the widest build of
    /// [`simd::dispatch`]; for the other types, its portable build.
    #[inline]
    fn run<K: Kernel>(kernel: K) {
        kernel.portable();
    }
    /// [`simd::block`] in a kernel's wide `build`: for `f32`, in the build's vectors.
    #[inline(always)]
    #[allow(clippy::inline_always, reason = "compiled into the caller's build")]
    fn block<B: Build, const MR: usize, const CB: usize>(
        _: B,
        sums: &mut [[Self; CB]; MR],
        source: &[Self],
        rows: (&[usize], usize),
        geometry: Geometry,
        vectors: &[[Self; CB]],
    ) {
        simd::block(sums, source, rows, geometry, vectors);
    }
    /// [`simd::rows`] in a kernel's wide `build`: for `f32`, in the build's vectors.
    #[inline(always)]
    #[allow(clippy::inline_always, reason = "compiled into the caller's build")]
    fn rows<B: Build, const MR: usize, const NL: usize>(
        _: B,
        sums: &mut [[Self; NL]; MR],
        source: &[Self],
        rows: (&[usize], usize),
        steps: Steps,
        weights: (&[Self], usize),
    ) {
        simd::rows(sums, source, rows, steps, weights);
    }
    /// [`simd::dots`] in a kernel's wide `build`: for `f32`, in the build's vectors.
    #[inline(always)]
    #[allow(clippy::inline_always, reason = "compiled into the caller's build")]
    fn dots<B: Build, const OB: usize, const MR: usize, const NL: usize>(
        _: B,
        sums: &mut [[[Self; NL]; MR]; OB],
        a: Operand<'_, Self>,
        b: Operand<'_, Self>,
        runs: (usize, usize, usize, usize),
    ) {
        simd::dots(sums, a, b, runs);
    }
}

/// `Scalar` for a primitive type whose product and sum are `$times` and `$add`.
macro_rules! primitive {
    ($($type:ty: $times:ident, $add:ident $({ $($run:tt)* })?);*) => {$(
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
                <$type>::$times(*self, *rhs)
            }
            #[inline]
            fn accumulate(&mut self, rhs: &Self) {
                *self = <$type>::$add(*self, *rhs);
            }
            #[inline]
            fn accumulate_product(&mut self, a: &Self, b: &Self) {
                *self = <$type>::$add(*self, <$type>::$times(*a, *b));
            }
            $($($run)*)?
        }
    )*};
}

/// Whether every value of a float slice is finite, as one pass that vectorises: an `or`
/// over the whole slice rather than a loop that stops at the first infinity or NaN,
/// whose branch per element would cost more than the rare early exit saves.
macro_rules! all_finite {
    () => {
        #[inline]
        fn all_finite(values: &[Self]) -> bool {
            !values
                .iter()
                .fold(false, |any, value| any | !value.is_finite())
        }
    };
}

primitive!(
    f32: mul, add {
        all_finite!();
        #[inline]
        fn run<K: Kernel>(kernel: K) {
            simd::dispatch(kernel);
        }
        #[inline(always)]
        #[allow(clippy::inline_always, reason = "compiled into the caller's build")]
        fn block<B: Build, const MR: usize, const CB: usize>(
            build: B,
            sums: &mut [[Self; CB]; MR],
            source: &[Self],
            rows: (&[usize], usize),
            geometry: Geometry,
            vectors: &[[Self; CB]],
        ) {
            build.block(sums, source, rows, geometry, vectors);
        }
        #[inline(always)]
        #[allow(clippy::inline_always, reason = "compiled into the caller's build")]
        fn rows<B: Build, const MR: usize, const NL: usize>(
            build: B,
            sums: &mut [[Self; NL]; MR],
            source: &[Self],
            rows: (&[usize], usize),
            steps: Steps,
            weights: (&[Self], usize),
        ) {
            build.rows(sums, source, rows, steps, weights);
        }
        #[inline(always)]
        #[allow(clippy::inline_always, reason = "compiled into the caller's build")]
        fn dots<B: Build, const OB: usize, const MR: usize, const NL: usize>(
            build: B,
            sums: &mut [[[Self; NL]; MR]; OB],
            a: Operand<'_, Self>,
            b: Operand<'_, Self>,
            runs: (usize, usize, usize, usize),
        ) {
            build.dots(sums, a, b, runs);
        }
    };
    f64: mul, add {
        all_finite!();
    };
    // Wrapping in every profile: without it, debug builds panic where release builds wrap.
    i32: wrapping_mul, wrapping_add;
    i64: wrapping_mul, wrapping_add
);

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
