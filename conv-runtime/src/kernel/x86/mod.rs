//! The x86 builds: the register blocks written once for a build's vectors, and the entry
//! into a build, compiled with the build's instructions enabled. The blocks are `unsafe`
//! functions inlined into that entry (Rust does not let a `#[target_feature]` function be
//! `#[inline(always)]`, and a block left as a call cannot see the layer's constants). The
//! only unsafe code of the crate: vector loads and stores within checked arrays, and calls
//! into code that needs the features `dispatch` or a token proves the processor has.

#[cfg(target_arch = "x86")]
use core::arch::x86 as arch;
#[cfg(target_arch = "x86_64")]
use core::arch::x86_64 as arch;

/// One build's module body from its vectors: `$token` and the `Kernel` method that runs
/// with it, the target features, the vector type and its `f32` lanes, how to zero, load,
/// store, broadcast and fused-multiply-add (`a · b + c` rounded once), how to store a
/// vector's first lanes and to load them with zeros in the rest (fewer than all), how to
/// make a mask of some lanes and load those lanes alone, zeros in the others, and the
/// narrower build a block falls back to where its shape does not fit the vectors.
macro_rules! vectors {
    ($token:ident, $method:ident, $feature:literal, $vector:ty, $lanes:literal,
     $zero:ident, $load:ident, $store:ident, $splat:ident, $fmadd:ident,
     $store_first:ident, $load_first:ident, $mask:ty, $lanes_mask:ident, $load_masked:ident,
     |$this:ident| $narrower:expr) => {
        use super::{Within, arch};
        use crate::kernel::build::{Build, Kernel, $token};
        use crate::kernel::operands::{Block, Dots, Rows, Stencil, StencilDots};

        /// Runs `kernel` in this build; `dispatch` calls it only where [`detected`] holds.
        #[inline]
        pub(in crate::kernel) fn run<K: Kernel>(kernel: K) {
            #[target_feature(enable = $feature)]
            fn build<K: Kernel>(kernel: K) {
                kernel.$method($token(()));
            }
            // SAFETY: `dispatch` calls `run` only where `detected` found the features.
            unsafe { build(kernel) }
        }

        /// `check(values)` compiled with this build's instructions, so that a pass over
        /// the values vectorises to its width; `widest_check` calls it only where
        /// [`detected`] holds.
        #[inline]
        pub(in crate::kernel) fn check<T, F: Fn(&[T]) -> bool>(values: &[T], check: F) -> bool {
            #[target_feature(enable = $feature)]
            fn build<T, F: Fn(&[T]) -> bool>(values: &[T], check: F) -> bool {
                check(values)
            }
            // SAFETY: `widest_check` calls `check` only where `detected` found the
            // features.
            unsafe { build(values, check) }
        }

        #[allow(clippy::inline_always, reason = "compiled into the caller's build")]
        impl Build for $token {
            /// [`vector_block`] where `CB` is one to four of the vectors.
            #[inline(always)]
            fn block<const MR: usize, const CB: usize>(
                self,
                sums: &mut [[f32; CB]; MR],
                operands: Block<'_, f32, CB>,
            ) -> bool {
                if CB % $lanes != 0 || CB > 4 * $lanes {
                    let $this = self;
                    return $narrower.block(sums, operands);
                }
                // SAFETY: the token proves the processor has the features.
                unsafe { vector_block(sums, operands) };
                true
            }
            /// [`vector_rows`] where `NL` fits the vectors.
            #[inline(always)]
            fn rows<const MR: usize, const NL: usize>(
                self,
                sums: &mut [[f32; NL]; MR],
                operands: Rows<'_, f32>,
            ) -> bool {
                if NL % $lanes != 0 || NL > 4 * $lanes {
                    let $this = self;
                    return $narrower.rows(sums, operands);
                }
                // SAFETY: the token proves the processor has the features.
                unsafe { vector_rows(sums, operands) };
                true
            }
            /// [`super::squares::store`] where the sums are whole groups of 4 outputs by 8 channels.
            #[inline(always)]
            fn store<const MR: usize, const CB: usize>(
                self,
                sums: &[[f32; CB]; MR],
                z: &mut [f32],
                plane: usize,
            ) -> bool {
                if MR % 4 != 0 || CB % 8 != 0 {
                    return false;
                }
                // SAFETY: the token proves the processor has the features, AVX among them.
                unsafe { super::squares::store(sums, z, plane) };
                true
            }
            /// [`super::squares::transpose`] where the channels are groups of 8.
            #[inline(always)]
            fn transpose<const CB: usize>(
                self,
                source: &[f32],
                plane: usize,
                vectors: &mut [[f32; CB]],
            ) -> bool {
                if CB % 8 != 0 {
                    return false;
                }
                // SAFETY: the token proves the processor has the features, AVX among them.
                unsafe { super::squares::transpose(source, plane, vectors) };
                true
            }
            /// [`vector_dots`] where `NL` is one or two of the vectors.
            #[inline(always)]
            fn dots<const OB: usize, const MR: usize, const NL: usize>(
                self,
                sums: &mut [[[f32; NL]; MR]; OB],
                operands: Dots<'_, f32>,
            ) -> bool {
                if NL % $lanes != 0 || NL > 2 * $lanes {
                    let $this = self;
                    return $narrower.dots(sums, operands);
                }
                // SAFETY: the token proves the processor has the features.
                unsafe { vector_dots::<OB, MR, NL>(sums, operands) };
                true
            }
            /// [`vector_stencil`] where `NL` fits the vectors and there are `KX` taps.
            #[inline(always)]
            fn stencil<const MR: usize, const KY: usize, const KX: usize, const NL: usize>(
                self,
                out: &mut [f32],
                operands: Stencil<'_, f32>,
            ) -> bool {
                let Ok(&taps) = <&[usize; KX]>::try_from(operands.taps) else {
                    return false;
                };
                if NL % $lanes != 0 || NL > 4 * $lanes {
                    let $this = self;
                    return $narrower.stencil::<MR, KY, KX, NL>(out, operands);
                }
                // SAFETY: the token proves the processor has the features.
                unsafe { vector_stencil::<MR, KY, KX>(out, operands, taps) };
                true
            }
            /// [`vector_stencil_dots`] where `NL` is one or two of the vectors.
            #[inline(always)]
            fn stencil_dots<const KY: usize, const MT: usize, const NL: usize>(
                self,
                sums: &mut [[[f32; NL]; MT]; KY],
                operands: StencilDots<'_, f32>,
            ) -> bool {
                if NL % $lanes != 0 || NL > 2 * $lanes {
                    let $this = self;
                    return $narrower.stencil_dots(sums, operands);
                }
                // SAFETY: the token proves the processor has the features.
                unsafe { vector_stencil_dots::<KY, MT, NL>(sums, operands) };
                true
            }
        }

        /// # Safety
        ///
        /// The processor has the build's features. Not compiled for them itself, so that
        /// it can be inlined into the build's blocks, which are, and see their constants.
        #[inline(always)]
        #[allow(clippy::inline_always, reason = "inlined into the build's code")]
        unsafe fn vector_block<const MR: usize, const CB: usize>(
            sums: &mut [[f32; CB]; MR],
            operands: Block<'_, f32, CB>,
        ) {
            let Block {
                source,
                rows,
                shift,
                taps,
                step,
                reach,
                vectors,
            } = operands;
            let count = CB / $lanes;
            // SAFETY (here and below): the caller's build has the features.
            let mut vector_sums: [[$vector; 4]; MR] = [[unsafe { arch::$zero() }; 4]; MR];
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
                    let mut weights = [unsafe { arch::$zero() }; 4];
                    for (part, weight) in vector.chunks_exact($lanes).zip(weights.iter_mut()) {
                        // SAFETY: as above.
                        *weight = unsafe { arch::$load(part.as_ptr()) };
                    }
                    for (m, vector_sums) in vector_sums.iter_mut().enumerate() {
                        let value = unsafe { arch::$splat(row[m * step + tap * reach]) };
                        for (sum, weight) in vector_sums.iter_mut().zip(&weights).take(count) {
                            *sum = unsafe { arch::$fmadd(value, *weight, *sum) };
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

        /// # Safety
        ///
        /// The processor has the build's features (see [`vector_block`]).
        #[inline(always)]
        #[allow(clippy::inline_always, reason = "inlined into the build's code")]
        unsafe fn vector_rows<const MR: usize, const NL: usize>(
            sums: &mut [[f32; NL]; MR],
            operands: Rows<'_, f32>,
        ) {
            // SAFETY (every intrinsic below): the caller's build has the features.
            let Rows {
                source,
                rows,
                shift,
                step,
                weights,
                weight_row,
                weight_step,
            } = operands;
            let count = NL / $lanes;
            let mut vector_sums: [[$vector; 4]; MR] = [[unsafe { arch::$zero() }; 4]; MR];
            for (sums, vector_sums) in sums.iter().zip(&mut vector_sums) {
                for (part, sum) in sums.chunks_exact($lanes).zip(vector_sums.iter_mut()) {
                    // SAFETY: `part` is `$lanes` floats, an unaligned load's width.
                    *sum = unsafe { arch::$load(part.as_ptr()) };
                }
            }
            for (r, &row) in rows.iter().enumerate() {
                let row = &source[row + shift..][..(MR - 1) * step + NL];
                let weights = &weights[r * weight_row..][..=(MR - 1) * weight_step];
                for (m, vector_sums) in vector_sums.iter_mut().enumerate() {
                    let weight = unsafe { arch::$splat(weights[m * weight_step]) };
                    let run = &row[m * step..][..NL];
                    for (sum, part) in vector_sums
                        .iter_mut()
                        .zip(run.chunks_exact($lanes))
                        .take(count)
                    {
                        // SAFETY: as above.
                        let values = unsafe { arch::$load(part.as_ptr()) };
                        *sum = unsafe { arch::$fmadd(weight, values, *sum) };
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

        /// # Safety
        ///
        /// The processor has the build's features (see [`vector_block`]).
        #[inline(always)]
        #[allow(clippy::inline_always, reason = "inlined into the build's code")]
        unsafe fn vector_dots<const OB: usize, const MR: usize, const NL: usize>(
            sums: &mut [[[f32; NL]; MR]; OB],
            operands: Dots<'_, f32>,
        ) {
            // SAFETY (every intrinsic below): the caller's build has the features.
            let Dots {
                a,
                a_rows,
                a_shift,
                a_step,
                b,
                b_rows,
                b_shift,
                b_step,
                step,
                runs,
            } = operands;
            let count = NL / $lanes;
            let mut vector_sums = [[[unsafe { arch::$zero() }; 2]; MR]; OB];
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
                    let mut a_vectors = [[unsafe { arch::$zero() }; 2]; OB];
                    for (o, a_vectors) in a_vectors.iter_mut().enumerate() {
                        for part in 0..count {
                            let a_part = &a_row[o * a_step + run * NL + part * $lanes..][..$lanes];
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
                                *sum = unsafe { arch::$fmadd(a_vectors[part], b_vector, *sum) };
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

        /// The block of `portable::stencil`, in blocks of `MR` rows by one vector of
        /// outputs along them: each row of the input a block reads is loaded once for
        /// each tap along the row and multiplied into the sums of every row of taps that
        /// reads it, rather than once per sum. Within a tap the loops are as long as the
        /// constants `MR` and `KY`, so that they unroll and the sums and the tap's `KY`
        /// weights stay in registers. A vector reaching into the padding on either side of
        /// a row loads the lanes within the row alone ([`Within`]), zeros in the rest,
        /// through a mask made once for all the rows; the rows of the padding are not
        /// read.
        ///
        /// # Safety
        ///
        /// The processor has the build's features (see [`vector_block`]).
        #[inline(always)]
        #[allow(clippy::inline_always, reason = "inlined into the build's code")]
        unsafe fn vector_stencil<const MR: usize, const KY: usize, const KX: usize>(
            out: &mut [f32],
            operands: Stencil<'_, f32>,
            taps: [usize; KX],
        ) {
            // SAFETY (every intrinsic below): the caller's build has the features.
            let Stencil {
                source,
                planes,
                shift,
                step,
                weights,
                start,
                rows,
                width,
                out_step,
                present: (present, end),
                left,
                columns,
                ..
            } = operands;
            let start = unsafe { arch::$splat(*start) };
            for first in (0..rows).step_by(MR) {
                // The block's rows of the input, `first + low..first + high`.
                let low = present.saturating_sub(first);
                let high = end.saturating_sub(first).min(MR + KY - 1);
                // Past the first, the vectors of a run start every `$lanes` outputs.
                for at in (0..width).step_by($lanes) {
                    let mut sums = [start; MR];
                    // A block whose rows all lie in the padding keeps its first terms.
                    let planes = if low < high { planes } else { &[] };
                    for (&plane, weights) in planes.iter().zip(weights.chunks_exact(KY * KX)) {
                        // The rows the block reads, each as long as the input's: checked
                        // once, and read below within them by arithmetic alone.
                        let block = &source[plane + shift + (first + low - present) * step..]
                            [..(high - low - 1) * step + columns];
                        for (t, &tap) in taps.iter().enumerate() {
                            let tap_weights: [$vector; KY] = ::core::array::from_fn(|y| unsafe {
                                arch::$splat(weights[y * KX + t])
                            });
                            let within = Within::of(tap + at, left, columns, $lanes);
                            let mask: Option<$mask> = match within {
                                Within::Some { lowest, past, .. } => {
                                    Some(unsafe { $lanes_mask(lowest, past) })
                                }
                                _ => None,
                            };
                            // A loop of constant length, unrolled with the sums in
                            // registers; the rows of the padding are passed over.
                            for row in 0..MR + KY - 1 {
                                if row < low || row >= high {
                                    continue;
                                }
                                let row_start = (row - low) * step;
                                let values = match (within, mask) {
                                    // SAFETY: the `$lanes` floats from `column` lie within
                                    // the row's `columns`, which lie within `block`.
                                    (Within::All { column }, _) => unsafe {
                                        arch::$load(block.as_ptr().add(row_start + column))
                                    },
                                    // SAFETY: the caller's build has the features; lane
                                    // `l` of the mask's `lowest..past` reads the row's
                                    // column `column + l − lowest`, within its `columns`
                                    // and so within `block`.
                                    (Within::Some { lowest, column, .. }, Some(mask)) => unsafe {
                                        $load_masked(
                                            block
                                                .as_ptr()
                                                .add(row_start + column)
                                                .wrapping_sub(lowest),
                                            mask,
                                        )
                                    },
                                    // Zeros still: the sums of either build add the same
                                    // terms, whichever of its vectors a column falls in.
                                    _ => unsafe { arch::$zero() },
                                };
                                for (y, weight) in tap_weights.iter().enumerate() {
                                    // Row `row` is row `y` of the taps of sum `row − y`.
                                    if row >= y && row - y < MR {
                                        let sum = &mut sums[row - y];
                                        *sum = unsafe { arch::$fmadd(*weight, values, *sum) };
                                    }
                                }
                            }
                        }
                    }
                    for (m, sum) in sums.iter().enumerate().take(rows - first) {
                        let row = &mut out[(first + m) * out_step + at..][..width - at];
                        if let Some(whole) = row.get_mut(..$lanes) {
                            // SAFETY: `whole` is `$lanes` floats, an unaligned store's
                            // width.
                            unsafe { arch::$store(whole.as_mut_ptr(), *sum) };
                        } else {
                            // SAFETY: the caller's build has the features; `row` is
                            // shorter than a vector, and only its floats are stored.
                            unsafe { $store_first(row, *sum) };
                        }
                    }
                }
            }
        }

        /// The block of `portable::stencil_dots`: for each row of the input it reads, its
        /// runs at every tap along the row are loaded once and multiplied into the sums
        /// of every row of taps, each with the row of δ that reads the input there. A run
        /// past δ's `width` loads its first lanes alone (`$load_first`), zeros in the
        /// rest; a run reaching past either end of an input row loads the lanes within it
        /// alone ([`Within`]), and a run whose every tap lies within the row loads without
        /// a check per tap. A run of two vectors is summed one vector at a time, each in a
        /// pass over the rows of its own: every lane adds its terms in the order of the
        /// one-vector build, and the AVX2 build holds as many sums as the AVX-512 build
        /// (on an AMD Zen 4, `mobilenet-dw`'s weight gradient in the AVX2 build went from
        /// 152–162 to 123–125 µs, `BENCHMARKS.md`, "The AVX2 depthwise weight gradient").
        ///
        /// # Safety
        ///
        /// The processor has the build's features (see [`vector_block`]).
        #[inline(always)]
        #[allow(clippy::inline_always, reason = "inlined into the build's code")]
        unsafe fn vector_stencil_dots<const KY: usize, const MT: usize, const NL: usize>(
            sums: &mut [[[f32; NL]; MT]; KY],
            operands: StencilDots<'_, f32>,
        ) {
            // SAFETY (every intrinsic below): the caller's build has the features.
            let StencilDots {
                delta,
                width,
                source,
                shift,
                step,
                present: (first, end),
                left,
                columns,
                taps,
                rows,
                runs,
            } = operands;
            // δ, checked once: the loop below indexes within it by arithmetic alone.
            let delta = &delta[..rows * width];
            // Each vector of a run's lanes in a pass of its own, the other's sums in
            // memory meanwhile.
            for part in 0..NL / $lanes {
                let mut vector_sums = [[unsafe { arch::$zero() }; MT]; KY];
                for (vector_sums, sums) in vector_sums.iter_mut().zip(sums.iter()) {
                    for (sum, sums) in vector_sums.iter_mut().zip(sums) {
                        let lanes = &sums[part * $lanes..][..$lanes];
                        // SAFETY: `lanes` is `$lanes` floats, an unaligned load's width.
                        *sum = unsafe { arch::$load(lanes.as_ptr()) };
                    }
                }
                // Input row `i` meets δ row `i − y` at taps of row `y`.
                for i in first..end.min(rows + KY - 1) {
                    let row = &source[shift + (i - first) * step..][..columns];
                    for r in 0..runs {
                        let at = r * NL + part * $lanes;
                        let mut values = [unsafe { arch::$zero() }; MT];
                        // The taps ascend: where the first and the last vector lie
                        // within the row every one does, and none is checked alone.
                        let inside = taps.first().is_some_and(|&tap| tap + at >= left)
                            && taps
                                .last()
                                .is_some_and(|&tap| tap + at + $lanes <= left + columns);
                        if inside {
                            for (value, &tap) in values.iter_mut().zip(taps) {
                                let lanes = &row[tap + at - left..][..$lanes];
                                // SAFETY: `lanes` is `$lanes` floats, an unaligned load's
                                // width.
                                *value = unsafe { arch::$load(lanes.as_ptr()) };
                            }
                        } else {
                            for (value, &tap) in values.iter_mut().zip(taps) {
                                *value = match Within::of(tap + at, left, columns, $lanes) {
                                    // SAFETY: the `$lanes` floats from `column` lie within
                                    // `row`.
                                    Within::All { column } => unsafe {
                                        arch::$load(row.as_ptr().add(column))
                                    },
                                    // SAFETY: the caller's build has the features; lane
                                    // `l` of the mask's `lowest..past` reads
                                    // `row[column + l − lowest]`, within `row`.
                                    Within::Some {
                                        lowest,
                                        past,
                                        column,
                                    } => unsafe {
                                        $load_masked(
                                            row.as_ptr().add(column).wrapping_sub(lowest),
                                            $lanes_mask(lowest, past),
                                        )
                                    },
                                    Within::None => unsafe { arch::$zero() },
                                };
                            }
                        }
                        // The lanes of δ's row within its `width`: all, or the first
                        // (the rest read zeros), or none past the row's end.
                        let valid = width.saturating_sub(at).min($lanes);
                        for (y, vector_sums) in vector_sums.iter_mut().enumerate() {
                            if i >= y && i - y < rows {
                                let start = (i - y) * width + at;
                                let a = if valid == $lanes {
                                    // SAFETY: `start + $lanes` is at most
                                    // `rows·width`, `delta`'s length.
                                    unsafe { arch::$load(delta.as_ptr().add(start)) }
                                } else if valid == 0 {
                                    unsafe { arch::$zero() }
                                } else {
                                    // SAFETY: the caller's build has the features; only
                                    // the `valid` floats of the slice are loaded.
                                    unsafe { $load_first(&delta[start..][..valid]) }
                                };
                                for (sum, value) in vector_sums.iter_mut().zip(&values) {
                                    *sum = unsafe { arch::$fmadd(a, *value, *sum) };
                                }
                            }
                        }
                    }
                }
                for (sums, vector_sums) in sums.iter_mut().zip(&vector_sums) {
                    for (sums, sum) in sums.iter_mut().zip(vector_sums) {
                        let lanes = &mut sums[part * $lanes..][..$lanes];
                        // SAFETY: `lanes` is `$lanes` floats, an unaligned store's width.
                        unsafe { arch::$store(lanes.as_mut_ptr(), *sum) };
                    }
                }
            }
        }
    };
}

pub(super) mod avx2;
pub(super) mod avx512;
mod squares;
mod within;

use within::Within;
