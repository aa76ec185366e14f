//! Wide vectors for the generated kernels: a kernel written once, compiled for the
//! baseline target and again for AVX2 and AVX-512, run in the widest form the processor
//! has.
//!
//! A kernel `conv!` generates implements [`Kernel`], whose three methods are its loops
//! with register blocks sized for 16-, 32- and 64-byte vectors, and [`Scalar::run`] picks
//! one: for `f32`, the widest the processor has ([`dispatch`]); for the other types, the
//! portable one. The wide builds spend their time in three register blocks, [`block`],
//! [`rows`] and [`dots`], reached through [`Scalar::block`], [`Scalar::rows`] and
//! [`Scalar::dots`] with the build's token; for `f32` the token's [`Build`] runs them in
//! explicit vector instructions (left to itself, the compiler vectorises such a block
//! along the wrong dimension, with gathers, and runs 5 to 25 times slower).
//!
//! The two wide builds do the same arithmetic in the same order: for each sum, the same
//! terms added one after another, each a separate multiply and add, never a fused one. So
//! their results are bitwise the same, whichever of them a machine runs. The portable
//! build adds the same terms in another order, so its last bits may differ; on integer
//! data all three agree exactly. On operands with an infinity or a NaN, [`dispatch`] runs
//! the portable build, which forms exactly the terms of the equations, where the wide
//! builds would also multiply structural zeros (see [`Kernel`]). Only the speed depends
//! on the machine.
//!
//! With `std` the choice is made at run time (`is_x86_feature_detected!`, a cached
//! load); without it, at compile time (`-C target-cpu=…` or `-C target-feature=…`).
//! [`set_widest`] caps it.
//!
//! [`Scalar::run`]: crate::Scalar::run
//! [`Scalar::block`]: crate::Scalar::block
//! [`Scalar::rows`]: crate::Scalar::rows
//! [`Scalar::dots`]: crate::Scalar::dots

use crate::Scalar;

/// Proof that the processor has AVX2: only [`dispatch`] makes one, after checking.
#[derive(Clone, Copy, Debug)]
pub struct Avx2(());

/// Proof that the processor has AVX-512F, AVX-512VL and AVX2: only [`dispatch`] makes
/// one.
#[derive(Clone, Copy, Debug)]
pub struct Avx512(());

impl Avx512 {
    /// AVX-512 processors have AVX2, and [`dispatch`] checked it too.
    pub fn avx2(self) -> Avx2 {
        Avx2(())
    }
}

/// A kernel in three builds; the wider ones default to the narrower.
///
/// The portable build forms exactly the terms of the layer's equations. The wide builds
/// may also multiply structural zeros (padding copied as zeros, δ padded and spread by
/// the stride, the spare lanes of a register block): `0 · x` is `±0` for a finite `x`
/// and changes no sum, but `0 · ∞` is NaN. So [`dispatch`] runs a wide build only when
/// [`Kernel::finite`] holds, and the portable one otherwise: each output is then the sum
/// of exactly its equation's terms on any processor.
pub trait Kernel: Sized {
    /// For the baseline target (SSE2 on `x86_64`, or any other architecture).
    fn portable(self);
    /// Whether every operand is finite ([`Scalar::all_finite`]), so that the wide builds'
    /// products of structural zeros are zeros; by default `true`, for a kernel whose wide
    /// builds form only the terms of its equations. One pass over the operands, small
    /// beside a convolution's multiply-adds.
    fn finite(&self) -> bool {
        true
    }
    /// Run with AVX2 enabled: sixteen 32-byte registers.
    fn avx2(self, _: Avx2) {
        self.portable();
    }
    /// Run with AVX-512F and VL enabled: thirty-two 64-byte registers, and 32-byte
    /// vectors in all thirty-two.
    fn avx512(self, avx512: Avx512) {
        self.avx2(avx512.avx2());
    }
}

/// A kernel build, narrowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Width {
    /// The baseline target's vectors.
    Portable,
    /// 32-byte vectors.
    Avx2,
    /// 64-byte vectors.
    Avx512,
}

#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
static WIDEST: core::sync::atomic::AtomicU8 =
    core::sync::atomic::AtomicU8::new(Width::Avx512 as u8);

/// Caps the builds [`dispatch`] may pick, for every thread, until the next call: to run
/// each build on one machine (the tests do), or to compare their speed. The results do
/// not depend on it.
pub fn set_widest(width: Width) {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    WIDEST.store(width as u8, core::sync::atomic::Ordering::Relaxed);
    #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
    let _ = width;
}

/// The widest build [`dispatch`] picks on this processor, under [`set_widest`]'s cap.
pub fn widest() -> Width {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    {
        let cap = WIDEST.load(core::sync::atomic::Ordering::Relaxed);
        let width = if cap >= Width::Avx512 as u8 && has_avx512() {
            Width::Avx512
        } else if cap >= Width::Avx2 as u8 && has_avx2() {
            Width::Avx2
        } else {
            Width::Portable
        };
        return width;
    }
    #[allow(unreachable_code, reason = "other architectures have one build")]
    Width::Portable
}

#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
fn has_avx2() -> bool {
    #[cfg(feature = "std")]
    {
        cfg!(target_feature = "avx2") || std::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(feature = "std"))]
    {
        cfg!(target_feature = "avx2")
    }
}

#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
fn has_avx512() -> bool {
    #[cfg(feature = "std")]
    {
        has_avx2()
            && (cfg!(target_feature = "avx512f") || std::is_x86_feature_detected!("avx512f"))
            && (cfg!(target_feature = "avx512vl") || std::is_x86_feature_detected!("avx512vl"))
    }
    #[cfg(not(feature = "std"))]
    {
        cfg!(all(
            target_feature = "avx512f",
            target_feature = "avx512vl",
            target_feature = "avx2"
        ))
    }
}

/// Runs `kernel` in the widest build this processor supports ([`widest`]), or in the
/// portable build when an operand is infinite or NaN ([`Kernel::finite`]).
#[inline]
pub fn dispatch<K: Kernel>(kernel: K) {
    match widest() {
        Width::Portable => kernel.portable(),
        _ if !kernel.finite() => kernel.portable(),
        Width::Avx2 => avx2(kernel),
        Width::Avx512 => avx512(kernel),
    }
}

/// The AVX2 build, called only where [`widest`] found AVX2.
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
#[allow(
    unsafe_code,
    reason = "calls into a build with the features just detected"
)]
fn avx2<K: Kernel>(kernel: K) {
    #[target_feature(enable = "avx2")]
    fn build<K: Kernel>(kernel: K) {
        kernel.avx2(Avx2(()));
    }
    // SAFETY: `widest` returns `Avx2` or `Avx512` only where the processor has AVX2.
    unsafe { build(kernel) }
}

/// The AVX-512 build, called only where [`widest`] found AVX-512F, AVX-512VL and AVX2.
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
#[allow(
    unsafe_code,
    reason = "calls into a build with the features just detected"
)]
fn avx512<K: Kernel>(kernel: K) {
    #[target_feature(enable = "avx512f,avx512vl,avx2")]
    fn build<K: Kernel>(kernel: K) {
        kernel.avx512(Avx512(()));
    }
    // SAFETY: `widest` returns `Avx512` only where the processor has all three features.
    unsafe { build(kernel) }
}

#[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
fn avx2<K: Kernel>(kernel: K) {
    kernel.portable();
}

#[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
fn avx512<K: Kernel>(kernel: K) {
    kernel.portable();
}

/// A wide build's register blocks for `f32`, in its own vectors where the block's shape
/// fits them, and otherwise in a narrower build's or in plain Rust. `Scalar::block`,
/// `Scalar::rows` and `Scalar::dots` call these for `f32`.
pub trait Build: Copy {
    /// [`block`] in this build.
    fn block<const MR: usize, const CB: usize>(
        self,
        sums: &mut [[f32; CB]; MR],
        source: &[f32],
        rows: (&[usize], usize),
        geometry: Geometry,
        vectors: &[[f32; CB]],
    );
    /// [`rows`] in this build.
    fn rows<const MR: usize, const NL: usize>(
        self,
        sums: &mut [[f32; NL]; MR],
        source: &[f32],
        rows: (&[usize], usize),
        steps: Steps,
        weights: (&[f32], usize),
    );
    /// [`dots`] in this build.
    fn dots<const OB: usize, const MR: usize, const NL: usize>(
        self,
        sums: &mut [[[f32; NL]; MR]; OB],
        a: Operand<'_, f32>,
        b: Operand<'_, f32>,
        runs: (usize, usize, usize, usize),
    );
}

/// `Build` for a token: each block in the build's explicit vectors where `$block`, `$rows`
/// or `$dots` takes it (returns `true`), else in `$narrower`.
macro_rules! build {
    ($token:ty, $block:path, $rows:path, $dots:path, |$this:ident| $narrower:expr) => {
        #[allow(clippy::inline_always, reason = "compiled into the caller's build")]
        impl Build for $token {
            #[inline(always)]
            fn block<const MR: usize, const CB: usize>(
                self,
                sums: &mut [[f32; CB]; MR],
                source: &[f32],
                rows: (&[usize], usize),
                geometry: Geometry,
                vectors: &[[f32; CB]],
            ) {
                if !$block(self, &mut *sums, source, rows, geometry, vectors) {
                    let $this = self;
                    $narrower.block(sums, source, rows, geometry, vectors);
                }
            }
            #[inline(always)]
            fn rows<const MR: usize, const NL: usize>(
                self,
                sums: &mut [[f32; NL]; MR],
                source: &[f32],
                rows: (&[usize], usize),
                steps: Steps,
                weights: (&[f32], usize),
            ) {
                if !$rows(self, &mut *sums, source, rows, steps, weights) {
                    let $this = self;
                    $narrower.rows(sums, source, rows, steps, weights);
                }
            }
            #[inline(always)]
            fn dots<const OB: usize, const MR: usize, const NL: usize>(
                self,
                sums: &mut [[[f32; NL]; MR]; OB],
                a: Operand<'_, f32>,
                b: Operand<'_, f32>,
                runs: (usize, usize, usize, usize),
            ) {
                if !$dots(self, &mut *sums, a, b, runs) {
                    let $this = self;
                    $narrower.dots(sums, a, b, runs);
                }
            }
        }
    };
}

/// Plain Rust: the last resort of every build.
#[derive(Clone, Copy, Debug)]
struct Generic;

#[allow(clippy::inline_always, reason = "compiled into the caller's build")]
impl Build for Generic {
    #[inline(always)]
    fn block<const MR: usize, const CB: usize>(
        self,
        sums: &mut [[f32; CB]; MR],
        source: &[f32],
        rows: (&[usize], usize),
        geometry: Geometry,
        vectors: &[[f32; CB]],
    ) {
        block(sums, source, rows, geometry, vectors);
    }
    #[inline(always)]
    fn rows<const MR: usize, const NL: usize>(
        self,
        sums: &mut [[f32; NL]; MR],
        source: &[f32],
        rows_: (&[usize], usize),
        steps: Steps,
        weights: (&[f32], usize),
    ) {
        rows(sums, source, rows_, steps, weights);
    }
    #[inline(always)]
    fn dots<const OB: usize, const MR: usize, const NL: usize>(
        self,
        sums: &mut [[[f32; NL]; MR]; OB],
        a: Operand<'_, f32>,
        b: Operand<'_, f32>,
        runs: (usize, usize, usize, usize),
    ) {
        dots(sums, a, b, runs);
    }
}

#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
build!(Avx2, x86::avx2, x86::avx2_rows, x86::avx2_dots, |_avx2| {
    Generic
});
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
build!(
    Avx512,
    x86::avx512,
    x86::avx512_rows,
    x86::avx512_dots,
    |avx512| avx512.avx2()
);

/// Elsewhere no token is ever made; the builds would fall back to plain Rust.
#[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
mod elsewhere {
    pub(super) fn never<A, B, C, D, E, F>(_: A, _: B, _: C, _: D, _: E, _: F) -> bool {
        false
    }
    pub(super) fn never_dots<A, B, C, D, E>(_: A, _: B, _: C, _: D, _: E) -> bool {
        false
    }
}
#[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
build!(
    Avx2,
    elsewhere::never,
    elsewhere::never,
    elsewhere::never_dots,
    |_avx2| Generic
);
#[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
build!(
    Avx512,
    elsewhere::never,
    elsewhere::never,
    elsewhere::never_dots,
    |_avx512| Generic
);

/// The geometry of a register block: `(taps, step, reach)`, the taps along a row, the
/// distance in the source between neighbouring sums, and between neighbouring taps.
pub type Geometry = (usize, usize, usize);

/// The register block every wide kernel is made of, in plain Rust: `MR` sums of `CB`
/// channels each,
///
/// ```text
/// sums[m][c] += source[rows[r] + shift + m·step + t·reach] · vectors[r·taps + t][c]
/// ```
///
/// over the rows `r` and then the `taps` along a row, in that order. Each source value is
/// read once and multiplied into all `CB` channels. In the forward pass `m` runs over
/// output positions along a row, `t` over the kernel's taps along it and `c` over output
/// channels, so `step` and `reach` are the stride and the dilation.
#[inline(always)]
#[allow(
    clippy::inline_always,
    reason = "the block must be compiled into each build"
)]
pub fn block<T: Scalar, const MR: usize, const CB: usize>(
    sums: &mut [[T; CB]; MR],
    source: &[T],
    (rows, shift): (&[usize], usize),
    (taps, step, reach): Geometry,
    vectors: &[[T; CB]],
) {
    let span = (MR - 1) * step + (taps - 1) * reach + 1;
    for (&row, vectors) in rows.iter().zip(vectors.chunks_exact(taps)) {
        let row = &source[row + shift..][..span];
        for (tap, vector) in vectors.iter().enumerate() {
            for (m, sums) in sums.iter_mut().enumerate() {
                let value = &row[m * step + tap * reach];
                for (sum, weight) in sums.iter_mut().zip(vector) {
                    sum.accumulate_product(value, weight);
                }
            }
        }
    }
}

/// How a [`rows`] block steps from one of its `MR` sums to the next: `(source, weight)`,
/// the distance in the source and in a row's weights.
pub type Steps = (usize, usize);

/// The other register block, whose vectors run along a row of the source rather than
/// over channels: `MR` runs of `NL` sums,
///
/// ```text
/// sums[m][l] += weights[r·wrow + m·wstep] · source[rows[r] + shift + m·step + l]
/// ```
///
/// over the rows `r` in order, where `(step, wstep)` are the [`Steps`]. Each weight is read
/// once and multiplied into a contiguous run of `NL` source values: this suits layers
/// with few channels and long rows at stride 1, where `m` runs over channels (`step` 0)
/// or over neighbouring runs of one row (`wstep` 0).
#[inline(always)]
#[allow(
    clippy::inline_always,
    reason = "the block must be compiled into each build"
)]
pub fn rows<T: Scalar, const MR: usize, const NL: usize>(
    sums: &mut [[T; NL]; MR],
    source: &[T],
    (rows, shift): (&[usize], usize),
    (step, wstep): Steps,
    (weights, wrow): (&[T], usize),
) {
    for (r, &row) in rows.iter().enumerate() {
        let row = &source[row + shift..][..(MR - 1) * step + NL];
        let weights = &weights[r * wrow..][..=(MR - 1) * wstep];
        for (m, sums) in sums.iter_mut().enumerate() {
            let weight = &weights[m * wstep];
            for (sum, value) in sums.iter_mut().zip(&row[m * step..]) {
                sum.accumulate_product(weight, value);
            }
        }
    }
}

/// Where a [`dots`] block reads one of its two operands: the slice, the offset of each
/// row, and a shift added to every row.
pub type Operand<'a, T> = (&'a [T], &'a [usize], usize);

/// The third register block, for sums of products of two rows: `OB × MR` runs of `NL`
/// partial sums,
///
/// ```text
/// sums[o][m][l] += a[a_rows[r] + a_shift + o·a_step + t·NL + l]
///                · b[b_rows[r] + b_shift + o·b_step + m·step + t·NL + l]
/// ```
///
/// over the rows `r`, then the `runs` runs `t` along a row, in that order, where
/// `(runs, step, a_step, b_step)` is the last argument. The weight gradient of a layer
/// with few channels is made of it: `a` is δ, `b` the input, `m` runs over the taps along
/// the last axis (`step` the dilation) and `o` over output channels that read the same
/// input (`b_step` 0) or over the taps along the axis before (`a_step` 0); each
/// `sums[o][m]` then adds up to one weight's gradient.
#[inline(always)]
#[allow(
    clippy::inline_always,
    reason = "the block must be compiled into each build"
)]
pub fn dots<T: Scalar, const OB: usize, const MR: usize, const NL: usize>(
    sums: &mut [[[T; NL]; MR]; OB],
    (a, a_rows, a_shift): Operand<'_, T>,
    (b, b_rows, b_shift): Operand<'_, T>,
    (runs, step, a_step, b_step): (usize, usize, usize, usize),
) {
    for (&a_row, &b_row) in a_rows.iter().zip(b_rows) {
        for run in 0..runs {
            for (o, sums) in sums.iter_mut().enumerate() {
                let a_run = &a[a_row + a_shift + o * a_step + run * NL..][..NL];
                let b_row = &b[b_row + b_shift + o * b_step..][..(MR - 1) * step + runs * NL];
                for (m, sums) in sums.iter_mut().enumerate() {
                    let b_run = &b_row[m * step + run * NL..][..NL];
                    for ((sum, a), b) in sums.iter_mut().zip(a_run).zip(b_run) {
                        sum.accumulate_product(a, b);
                    }
                }
            }
        }
    }
}

/// [`block`] for `f32` in explicit vectors of `LANES` lanes, for `CB` a multiple of
/// `LANES` up to `2 · LANES`.
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
#[allow(unsafe_code, reason = "vector loads and stores within checked arrays")]
pub(crate) mod x86 {
    #[cfg(target_arch = "x86")]
    use core::arch::x86 as arch;
    #[cfg(target_arch = "x86_64")]
    use core::arch::x86_64 as arch;

    use arch::{__m256, __m512};

    use super::{Avx2, Avx512, Geometry, Operand, Steps};

    /// One build's vector: its lanes, and how to load, store, broadcast and
    /// multiply-then-add (two roundings, as in the scalar code).
    macro_rules! block {
        ($name:ident, $checked:ident, $rows_name:ident, $rows_checked:ident,
         $dots_name:ident, $dots_checked:ident,
         $feature:literal, $token:ty, $vector:ty, $lanes:literal,
         $zero:ident, $load:ident, $store:ident, $splat:ident, $mul:ident, $add:ident) => {
            #[inline]
            #[target_feature(enable = $feature)]
            fn $name<const MR: usize, const CB: usize>(
                sums: &mut [[f32; CB]; MR],
                source: &[f32],
                (rows, shift): (&[usize], usize),
                (taps, step, reach): Geometry,
                vectors: &[[f32; CB]],
            ) {
                let count = CB / $lanes;
                let mut vector_sums: [[$vector; 2]; MR] = [[arch::$zero(); 2]; MR];
                for (sums, vector_sums) in sums.iter().zip(&mut vector_sums) {
                    for (part, sum) in sums.chunks_exact($lanes).zip(vector_sums.iter_mut()) {
                        // SAFETY: `part` is `$lanes` floats, an unaligned load's width.
                        *sum = unsafe { arch::$load(part.as_ptr()) };
                    }
                }
                let span = (MR - 1) * step + (taps - 1) * reach + 1;
                for (&row, vectors) in rows.iter().zip(vectors.chunks_exact(taps)) {
                    let row = &source[row + shift..][..span];
                    for (tap, vector) in vectors.iter().enumerate() {
                        let mut weights = [arch::$zero(); 2];
                        for (part, weight) in vector.chunks_exact($lanes).zip(weights.iter_mut()) {
                            // SAFETY: as above.
                            *weight = unsafe { arch::$load(part.as_ptr()) };
                        }
                        for (m, vector_sums) in vector_sums.iter_mut().enumerate() {
                            let value = arch::$splat(row[m * step + tap * reach]);
                            for (sum, weight) in vector_sums.iter_mut().zip(&weights).take(count) {
                                *sum = arch::$add(*sum, arch::$mul(value, *weight));
                            }
                        }
                    }
                }
                for (sums, vector_sums) in sums.iter_mut().zip(&vector_sums) {
                    for (part, sum) in sums.chunks_exact_mut($lanes).zip(vector_sums) {
                        // SAFETY: `part` is `$lanes` floats, an unaligned store's width.
                        unsafe { arch::$store(part.as_mut_ptr(), *sum) };
                    }
                }
            }

            #[inline]
            #[target_feature(enable = $feature)]
            fn $rows_name<const MR: usize, const NL: usize>(
                sums: &mut [[f32; NL]; MR],
                source: &[f32],
                (rows, shift): (&[usize], usize),
                (step, wstep): Steps,
                (weights, wrow): (&[f32], usize),
            ) {
                let count = NL / $lanes;
                let mut vector_sums: [[$vector; 4]; MR] = [[arch::$zero(); 4]; MR];
                for (sums, vector_sums) in sums.iter().zip(&mut vector_sums) {
                    for (part, sum) in sums.chunks_exact($lanes).zip(vector_sums.iter_mut()) {
                        // SAFETY: `part` is `$lanes` floats, an unaligned load's width.
                        *sum = unsafe { arch::$load(part.as_ptr()) };
                    }
                }
                for (r, &row) in rows.iter().enumerate() {
                    let row = &source[row + shift..][..(MR - 1) * step + NL];
                    let weights = &weights[r * wrow..][..=(MR - 1) * wstep];
                    for (m, vector_sums) in vector_sums.iter_mut().enumerate() {
                        let weight = arch::$splat(weights[m * wstep]);
                        let run = &row[m * step..][..NL];
                        for (sum, part) in vector_sums
                            .iter_mut()
                            .zip(run.chunks_exact($lanes))
                            .take(count)
                        {
                            // SAFETY: as above.
                            let values = unsafe { arch::$load(part.as_ptr()) };
                            *sum = arch::$add(*sum, arch::$mul(weight, values));
                        }
                    }
                }
                for (sums, vector_sums) in sums.iter_mut().zip(&vector_sums) {
                    for (part, sum) in sums.chunks_exact_mut($lanes).zip(vector_sums) {
                        // SAFETY: `part` is `$lanes` floats, an unaligned store's width.
                        unsafe { arch::$store(part.as_mut_ptr(), *sum) };
                    }
                }
            }

            /// [`super::rows`] with the build's vectors, where `NL` fits them; `false`
            /// (and nothing done) where it does not.
            #[inline(always)]
            #[allow(clippy::inline_always, reason = "compiled into the caller's build")]
            pub(crate) fn $rows_checked<const MR: usize, const NL: usize>(
                _: $token,
                sums: &mut [[f32; NL]; MR],
                source: &[f32],
                rows: (&[usize], usize),
                steps: Steps,
                weights: (&[f32], usize),
            ) -> bool {
                if NL % $lanes != 0 || NL > 4 * $lanes {
                    return false;
                }
                // SAFETY: the token proves the processor has the features.
                unsafe { $rows_name(sums, source, rows, steps, weights) };
                true
            }

            #[inline]
            #[target_feature(enable = $feature)]
            fn $dots_name<const OB: usize, const MR: usize, const NL: usize>(
                sums: &mut [[[f32; NL]; MR]; OB],
                (a, a_rows, a_shift): Operand<'_, f32>,
                (b, b_rows, b_shift): Operand<'_, f32>,
                (runs, step, a_step, b_step): (usize, usize, usize, usize),
            ) {
                let count = NL / $lanes;
                let mut vector_sums = [[[arch::$zero(); 2]; MR]; OB];
                for (vector_sums, sums) in vector_sums.iter_mut().zip(sums.iter()) {
                    for (vector_sums, sums) in vector_sums.iter_mut().zip(sums) {
                        for (sum, part) in vector_sums.iter_mut().zip(sums.chunks_exact($lanes)) {
                            // SAFETY: `part` is `$lanes` floats, an unaligned load's width.
                            *sum = unsafe { arch::$load(part.as_ptr()) };
                        }
                    }
                }
                for (&a_row, &b_row) in a_rows.iter().zip(b_rows) {
                    let a_row = &a[a_row + a_shift..][..(OB - 1) * a_step + runs * NL];
                    let b_row =
                        &b[b_row + b_shift..][..(OB - 1) * b_step + (MR - 1) * step + runs * NL];
                    for run in 0..runs {
                        let mut a_vectors = [[arch::$zero(); 2]; OB];
                        for (o, a_vectors) in a_vectors.iter_mut().enumerate() {
                            for part in 0..count {
                                let a_part =
                                    &a_row[o * a_step + run * NL + part * $lanes..][..$lanes];
                                // SAFETY: `a_part` is `$lanes` floats.
                                a_vectors[part] = unsafe { arch::$load(a_part.as_ptr()) };
                            }
                        }
                        for m in 0..MR {
                            for part in 0..count {
                                let at = m * step + run * NL + part * $lanes;
                                for (o, (vector_sums, a_vectors)) in
                                    vector_sums.iter_mut().zip(&a_vectors).enumerate()
                                {
                                    let b_part = &b_row[o * b_step + at..][..$lanes];
                                    // SAFETY: `b_part` is `$lanes` floats.
                                    let b_vector = unsafe { arch::$load(b_part.as_ptr()) };
                                    let sum = &mut vector_sums[m][part];
                                    *sum = arch::$add(*sum, arch::$mul(a_vectors[part], b_vector));
                                }
                            }
                        }
                    }
                }
                for (sums, vector_sums) in sums.iter_mut().zip(&vector_sums) {
                    for (sums, vector_sums) in sums.iter_mut().zip(vector_sums) {
                        for (part, sum) in sums.chunks_exact_mut($lanes).zip(vector_sums) {
                            // SAFETY: `part` is `$lanes` floats, an unaligned store's width.
                            unsafe { arch::$store(part.as_mut_ptr(), *sum) };
                        }
                    }
                }
            }

            /// [`super::dots`] with the build's vectors, where `NL` is one or two of
            /// them; `false` (and nothing done) where it is not.
            #[inline(always)]
            #[allow(clippy::inline_always, reason = "compiled into the caller's build")]
            pub(crate) fn $dots_checked<const OB: usize, const MR: usize, const NL: usize>(
                _: $token,
                sums: &mut [[[f32; NL]; MR]; OB],
                a: Operand<'_, f32>,
                b: Operand<'_, f32>,
                runs: (usize, usize, usize, usize),
            ) -> bool {
                if NL % $lanes != 0 || NL > 2 * $lanes {
                    return false;
                }
                // SAFETY: the token proves the processor has the features.
                unsafe { $dots_name::<OB, MR, NL>(sums, a, b, runs) };
                true
            }

            /// [`super::block`] with the build's vectors, where `CB` fits them; `false`
            /// (and nothing done) where it does not.
            #[inline(always)]
            #[allow(clippy::inline_always, reason = "compiled into the caller's build")]
            pub(crate) fn $checked<const MR: usize, const CB: usize>(
                _: $token,
                sums: &mut [[f32; CB]; MR],
                source: &[f32],
                rows: (&[usize], usize),
                geometry: Geometry,
                vectors: &[[f32; CB]],
            ) -> bool {
                if CB % $lanes != 0 || CB > 2 * $lanes {
                    return false;
                }
                // SAFETY: the token proves the processor has the features.
                unsafe { $name(sums, source, rows, geometry, vectors) };
                true
            }
        };
    }
    block!(
        avx2_block,
        avx2,
        avx2_rows_block,
        avx2_rows,
        avx2_dots_block,
        avx2_dots,
        "avx2",
        Avx2,
        __m256,
        8,
        _mm256_setzero_ps,
        _mm256_loadu_ps,
        _mm256_storeu_ps,
        _mm256_set1_ps,
        _mm256_mul_ps,
        _mm256_add_ps
    );
    block!(
        avx512_block,
        avx512,
        avx512_rows_block,
        avx512_rows,
        avx512_dots_block,
        avx512_dots,
        "avx512f,avx512vl,avx2",
        Avx512,
        __m512,
        16,
        _mm512_setzero_ps,
        _mm512_loadu_ps,
        _mm512_storeu_ps,
        _mm512_set1_ps,
        _mm512_mul_ps,
        _mm512_add_ps
    );
}
