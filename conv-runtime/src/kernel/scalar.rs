//! The arithmetic the numeric reference and the generated kernels are generic over:
//! [`Scalar`], what a user implements or calls, and [`Wide`], the plumbing only the code
//! `conv!` generates calls.

use core::ops::{Add, Mul};

use super::build::{Build, Kernel};
use super::dispatch::{dispatch, dispatch_part};
use super::operands::{Block, Dots, Rows, Stencil, StencilDots};
use super::parallel::{self, Drivers};
use super::portable;

/// A number the kernels can compute with: `f32`, `f64`, `i32`, `i64`, or a symbolic
/// [`Expr`](crate::Expr), which turns a kernel's arithmetic back into its equations.
///
/// Arguments are borrowed so that `Expr` need not be cloned for every term; for the
/// primitive types every method inlines to one instruction.
///
/// Integer arithmetic wraps (two's complement, modulo 2³² or 2⁶⁴) in every build
/// profile, as integer tensors do in `NumPy` and `PyTorch`: a kernel or the reference
/// never panics on overflow, and debug and release builds give the same values.
///
/// A type of your own implements it and, with no methods, the kernels' hidden plumbing;
/// its kernels then run their portable build:
///
/// ```
/// use conv_runtime::{Scalar, __private::Wide};
///
/// #[derive(Clone, Debug, PartialEq)]
/// struct Count(u64);
///
/// impl Scalar for Count {
///     fn zero() -> Self {
///         Count(0)
///     }
///     fn from_integer(value: i64) -> Self {
///         Count(value.unsigned_abs())
///     }
///     fn times(&self, rhs: &Self) -> Self {
///         Count(self.0 * rhs.0)
///     }
///     fn accumulate(&mut self, rhs: &Self) {
///         self.0 += rhs.0;
///     }
/// }
/// impl Wide for Count {}
///
/// let mut sum = Count(1);
/// sum.accumulate_product(&Count(2), &Count(3));
/// assert_eq!(sum, Count(7));
/// ```
pub trait Scalar: Clone + Wide {
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

/// How the kernels `conv!` generates run on a [`Scalar`]: for `f32`, in the widest build
/// the processor has and its vectors; for the other types, in the portable build. Every
/// method has a default, the portable one; only the generated code calls them.
#[doc(hidden)]
pub trait Wide: Sized {
    /// A vector of room for `capacity` from the calling thread's spares, which only
    /// `f32`, the type the wide builds run, keeps (`scratch::Buffer`).
    #[cfg(feature = "std")]
    #[inline]
    fn take_spare(capacity: usize) -> Option<alloc::vec::Vec<Self>> {
        let _ = capacity;
        None
    }
    /// Gives `spare` to the calling thread's spares, or frees it.
    #[cfg(feature = "std")]
    #[inline]
    fn give_spare(spare: alloc::vec::Vec<Self>) {
        drop(spare);
    }
    /// Whether every value is finite: neither infinite nor NaN. Types without such values
    /// (the integers, `Expr`) always are. `dispatch` runs a kernel's wide builds only
    /// on finite operands (`Kernel::finite`).
    #[inline]
    fn all_finite(values: &[Self]) -> bool {
        let _ = values;
        true
    }
    /// Whether [`Wide::run`] runs a kernel's wide build where its operands are finite:
    /// for `f32` where the processor has one under `set_widest`'s cap, for the other types
    /// never.
    #[inline]
    fn runs_wide() -> bool {
        false
    }
    /// Whether the type has wide builds on this target at all: `f32` on x86. A parallel
    /// form's tasks are compiled for one kind of build alone, known from the type: calls
    /// of the layer's own (wide) builds where it has them, the portable loops of each
    /// task's layer where it has not ([`Wide::either`]). Compiling both for `f32` took
    /// 0.6–0.7 s more of `resnet-down`'s release build (3.2–3.4 s against 2.5–2.7 s).
    /// Where `f32` on x86 runs no wide build (no AVX2 and FMA, or `set_widest`'s cap),
    /// its forms call the one-thread kernel.
    const WIDE: bool = false;
    /// `wide(value)` where the type has wide builds ([`Wide::WIDE`]), else
    /// `portable(value)`. The other closure is never called, so never compiled for the
    /// type: a parallel form's task passes its call of the layer's wide builds and its
    /// portable loops, and each type compiles one.
    #[inline(always)]
    #[allow(clippy::inline_always, reason = "a choice made when the type is known")]
    fn either<A, R>(value: A, wide: impl FnOnce(A) -> R, portable: impl FnOnce(A) -> R) -> R {
        let _ = wide;
        portable(value)
    }
    /// [`Wide::run`] for a parallel form's task (`part_of_form`), which a cap lowered to
    /// the portable build after the form started leaves in a wide build
    /// (`dispatch::dispatch_part`).
    #[inline]
    fn run_part<K: Kernel>(kernel: K, part_of_form: bool) -> bool {
        let _ = part_of_form;
        Self::run(kernel)
    }
    /// Runs a kernel generic over the scalar: for `f32`, in the widest build of
    /// `dispatch`; for the other types, its portable build. Whether a wide build ran.
    #[inline]
    fn run<K: Kernel>(kernel: K) -> bool {
        kernel.portable();
        false
    }
    /// The parallel forms' driver for this type: compiled where it is called, except for
    /// `f32` and `f64`, whose drivers this crate compiles once (`parallel::Drivers`).
    #[inline]
    fn drivers() -> Drivers<Self>
    where
        Self: Scalar + Send + Sync,
    {
        Drivers::GENERIC
    }
    /// `portable::block` in a kernel's wide `build`: for `f32`, in the build's vectors.
    #[inline(always)]
    #[allow(clippy::inline_always, reason = "compiled into the caller's build")]
    fn block<B: Build, const MR: usize, const CB: usize>(
        _: B,
        sums: &mut [[Self; CB]; MR],
        operands: Block<'_, Self, CB>,
    ) where
        Self: Scalar,
    {
        portable::block(sums, operands, Self::accumulate_product);
    }
    /// `portable::store` in a kernel's wide `build`: for `f32`, in the build's vectors.
    #[inline(always)]
    #[allow(clippy::inline_always, reason = "compiled into the caller's build")]
    fn store<B: Build, const MR: usize, const CB: usize>(
        _: B,
        sums: &[[Self; CB]; MR],
        z: &mut [Self],
        plane: usize,
    ) where
        Self: Scalar,
    {
        portable::store(sums, z, plane);
    }
    /// `portable::transpose` in a kernel's wide `build`: for `f32`, in the build's
    /// vectors.
    #[inline(always)]
    #[allow(clippy::inline_always, reason = "compiled into the caller's build")]
    fn transpose<B: Build, const CB: usize>(
        _: B,
        source: &[Self],
        plane: usize,
        vectors: &mut [[Self; CB]],
    ) where
        Self: Scalar,
    {
        portable::transpose(source, plane, vectors);
    }
    /// `portable::rows` in a kernel's wide `build`: for `f32`, in the build's vectors.
    #[inline(always)]
    #[allow(clippy::inline_always, reason = "compiled into the caller's build")]
    fn rows<B: Build, const MR: usize, const NL: usize>(
        _: B,
        sums: &mut [[Self; NL]; MR],
        operands: Rows<'_, Self>,
    ) where
        Self: Scalar,
    {
        portable::rows(sums, operands, Self::accumulate_product);
    }
    /// `portable::dots` in a kernel's wide `build`: for `f32`, in the build's vectors.
    #[inline(always)]
    #[allow(clippy::inline_always, reason = "compiled into the caller's build")]
    fn dots<B: Build, const OB: usize, const MR: usize, const NL: usize>(
        _: B,
        sums: &mut [[[Self; NL]; MR]; OB],
        operands: Dots<'_, Self>,
    ) where
        Self: Scalar,
    {
        portable::dots(sums, operands, Self::accumulate_product);
    }
    /// `portable::stencil` in a kernel's wide `build`: for `f32`, in the build's vectors.
    #[inline(always)]
    #[allow(clippy::inline_always, reason = "compiled into the caller's build")]
    fn stencil<B: Build, const MR: usize, const KY: usize, const KX: usize, const NL: usize>(
        _: B,
        out: &mut [Self],
        operands: Stencil<'_, Self>,
    ) where
        Self: Scalar,
    {
        portable::stencil::<_, MR, KY, NL>(out, operands, Self::accumulate_product);
    }
    /// `portable::stencil_dots` in a kernel's wide `build`: for `f32`, in the build's
    /// vectors.
    #[inline(always)]
    #[allow(clippy::inline_always, reason = "compiled into the caller's build")]
    fn stencil_dots<B: Build, const KY: usize, const MT: usize, const NL: usize>(
        _: B,
        sums: &mut [[[Self; NL]; MT]; KY],
        operands: StencilDots<'_, Self>,
    ) where
        Self: Scalar,
    {
        portable::stencil_dots(sums, operands, Self::accumulate_product);
    }
}

/// `Scalar` for a primitive type whose product and sum are `$times` and `$add`, and
/// `Wide` with the methods in braces.
macro_rules! primitive {
    ($($type:ty: $times:ident, $add:ident $({ $($wide:tt)* })?);*) => {$(
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
        }

        impl Wide for $type {
            $($($wide)*)?
        }
    )*};
}

/// Whether every value of a float slice is finite, as one pass that vectorises, in the
/// widest build's vectors: an `or` over the whole slice rather than a loop that stops at
/// the first infinity or NaN, whose branch per element would cost more than the rare
/// early exit saves.
macro_rules! all_finite {
    () => {
        #[inline]
        fn all_finite(values: &[Self]) -> bool {
            super::dispatch::widest_check(values, |values: &[Self]| {
                !values
                    .iter()
                    .fold(false, |any, value| any | !value.is_finite())
            })
        }
    };
}

/// `Wide::drivers` as the static of the parallel driver this crate compiles for the type.
macro_rules! drivers {
    ($static:ident) => {
        #[inline]
        fn drivers() -> Drivers<Self> {
            parallel::$static
        }
    };
}

primitive!(
    f32: mul, add {
        all_finite!();
        drivers!(F32);
        #[cfg(feature = "std")]
        #[inline]
        fn take_spare(capacity: usize) -> Option<alloc::vec::Vec<Self>> {
            super::scratch::take_spare(&super::scratch::F32_SPARES, capacity)
        }
        #[cfg(feature = "std")]
        #[inline]
        fn give_spare(spare: alloc::vec::Vec<Self>) {
            super::scratch::give_spare(&super::scratch::F32_SPARES, spare);
        }
        #[inline]
        fn runs_wide() -> bool {
            super::dispatch::widest() != super::dispatch::Width::Portable
        }
        const WIDE: bool = cfg!(any(target_arch = "x86", target_arch = "x86_64"));
        #[inline(always)]
        #[allow(clippy::inline_always, reason = "a choice made when the type is known")]
        fn either<A, R>(
            value: A,
            wide: impl FnOnce(A) -> R,
            portable: impl FnOnce(A) -> R,
        ) -> R {
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            {
                let _ = portable;
                wide(value)
            }
            #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
            {
                let _ = wide;
                portable(value)
            }
        }
        #[inline]
        fn run<K: Kernel>(kernel: K) -> bool {
            dispatch(kernel)
        }
        #[inline]
        fn run_part<K: Kernel>(kernel: K, part_of_form: bool) -> bool {
            dispatch_part(kernel, part_of_form)
        }
        #[inline(always)]
        #[allow(clippy::inline_always, reason = "compiled into the caller's build")]
        fn block<B: Build, const MR: usize, const CB: usize>(
            build: B,
            sums: &mut [[Self; CB]; MR],
            operands: Block<'_, Self, CB>,
        ) {
            if !build.block(sums, operands) {
                portable::block(sums, operands, Self::accumulate_product);
            }
        }
        #[inline(always)]
        #[allow(clippy::inline_always, reason = "compiled into the caller's build")]
        fn store<B: Build, const MR: usize, const CB: usize>(
            build: B,
            sums: &[[Self; CB]; MR],
            z: &mut [Self],
            plane: usize,
        ) {
            if !build.store(sums, z, plane) {
                portable::store(sums, z, plane);
            }
        }
        #[inline(always)]
        #[allow(clippy::inline_always, reason = "compiled into the caller's build")]
        fn transpose<B: Build, const CB: usize>(
            build: B,
            source: &[Self],
            plane: usize,
            vectors: &mut [[Self; CB]],
        ) {
            if !build.transpose(source, plane, vectors) {
                portable::transpose(source, plane, vectors);
            }
        }
        #[inline(always)]
        #[allow(clippy::inline_always, reason = "compiled into the caller's build")]
        fn rows<B: Build, const MR: usize, const NL: usize>(
            build: B,
            sums: &mut [[Self; NL]; MR],
            operands: Rows<'_, Self>,
        ) {
            if !build.rows(sums, operands) {
                portable::rows(sums, operands, Self::accumulate_product);
            }
        }
        #[inline(always)]
        #[allow(clippy::inline_always, reason = "compiled into the caller's build")]
        fn dots<B: Build, const OB: usize, const MR: usize, const NL: usize>(
            build: B,
            sums: &mut [[[Self; NL]; MR]; OB],
            operands: Dots<'_, Self>,
        ) {
            if !build.dots(sums, operands) {
                portable::dots(sums, operands, Self::accumulate_product);
            }
        }
        #[inline(always)]
        #[allow(clippy::inline_always, reason = "compiled into the caller's build")]
        fn stencil<B: Build, const MR: usize, const KY: usize, const KX: usize, const NL: usize>(
            build: B,
            out: &mut [Self],
            operands: Stencil<'_, Self>,
        ) {
            if !build.stencil::<MR, KY, KX, NL>(out, operands) {
                portable::stencil::<_, MR, KY, NL>(out, operands, Self::accumulate_product);
            }
        }
        #[inline(always)]
        #[allow(clippy::inline_always, reason = "compiled into the caller's build")]
        fn stencil_dots<B: Build, const KY: usize, const MT: usize, const NL: usize>(
            build: B,
            sums: &mut [[[Self; NL]; MT]; KY],
            operands: StencilDots<'_, Self>,
        ) {
            if !build.stencil_dots(sums, operands) {
                portable::stencil_dots(sums, operands, Self::accumulate_product);
            }
        }
    };
    f64: mul, add {
        all_finite!();
        drivers!(F64);
    };
    // Wrapping in every profile: without it, debug builds panic where release builds wrap.
    i32: wrapping_mul, wrapping_add;
    i64: wrapping_mul, wrapping_add
);
