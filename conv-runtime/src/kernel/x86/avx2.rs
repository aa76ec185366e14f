//! AVX2 with FMA: sixteen 32-byte registers of 8 `f32` lanes, and fused multiply-add.

use super::arch::{__m256, __m256i};
use crate::kernel::portable::Portable;

/// Whether the processor has AVX2 and FMA: at run time with `std`, else as compiled.
pub(in crate::kernel) fn detected() -> bool {
    #[cfg(feature = "std")]
    {
        (cfg!(target_feature = "avx2") || std::is_x86_feature_detected!("avx2"))
            && (cfg!(target_feature = "fma") || std::is_x86_feature_detected!("fma"))
    }
    #[cfg(not(feature = "std"))]
    {
        cfg!(all(target_feature = "avx2", target_feature = "fma"))
    }
}

vectors!(
    Avx2,
    avx2,
    "avx2,fma",
    __m256,
    8,
    _mm256_setzero_ps,
    _mm256_loadu_ps,
    _mm256_storeu_ps,
    _mm256_set1_ps,
    _mm256_fmadd_ps,
    store_first,
    load_first,
    __m256i,
    lanes_mask,
    load_masked,
    |_avx2| Portable
);

/// Stores the first `to.len()` lanes of `vector`, fewer than 8, into `to`.
///
/// # Safety
///
/// The processor has the build's features.
#[inline(always)]
#[allow(clippy::inline_always, reason = "inlined into the build's code")]
unsafe fn store_first(to: &mut [f32], vector: __m256) {
    // SAFETY: the caller's build has the features; the mask's set lanes are the first
    // floats of `to`, and the masked store touches no others.
    unsafe { arch::_mm256_maskstore_ps(to.as_mut_ptr(), first_lanes(to.len()), vector) };
}

/// The lanes below `lanes` set in a mask (its sign bits), for `maskload`/`maskstore`.
///
/// # Safety
///
/// The processor has the build's features.
#[inline(always)]
#[allow(clippy::inline_always, reason = "inlined into the build's code")]
unsafe fn first_lanes(lanes: usize) -> __m256i {
    let lanes = i32::try_from(lanes.min(7)).unwrap_or(7);
    // SAFETY: the caller's build has the features.
    unsafe {
        arch::_mm256_cmpgt_epi32(
            arch::_mm256_set1_epi32(lanes),
            arch::_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
        )
    }
}

/// The first `from.len()` lanes (fewer than 8) loaded from `from`, zeros in the rest.
///
/// # Safety
///
/// The processor has the build's features.
#[inline(always)]
#[allow(clippy::inline_always, reason = "inlined into the build's code")]
unsafe fn load_first(from: &[f32]) -> __m256 {
    // SAFETY: the caller's build has the features; the mask's set lanes are the first
    // floats of `from`, and the masked load reads no others.
    unsafe { arch::_mm256_maskload_ps(from.as_ptr(), first_lanes(from.len())) }
}

/// The mask of lanes `first..end` (within the 8; their sign bits), for [`load_masked`].
///
/// # Safety
///
/// The processor has the build's features.
#[inline(always)]
#[allow(clippy::inline_always, reason = "inlined into the build's code")]
unsafe fn lanes_mask(first: usize, end: usize) -> __m256i {
    let [first, end] = [first, end].map(|lane| i32::try_from(lane.min(8)).unwrap_or(8));
    // SAFETY: the caller's build has the features.
    unsafe {
        let lanes = arch::_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        arch::_mm256_andnot_si256(
            arch::_mm256_cmpgt_epi32(arch::_mm256_set1_epi32(first), lanes),
            arch::_mm256_cmpgt_epi32(arch::_mm256_set1_epi32(end), lanes),
        )
    }
}

/// The lanes of `mask` loaded from `from` on (lane `l` from `from + l`), zeros in the
/// others.
///
/// # Safety
///
/// The processor has the build's features, and the floats of the mask's lanes lie within
/// one slice; the others are not read (nor need their addresses be).
#[inline(always)]
#[allow(clippy::inline_always, reason = "inlined into the build's code")]
unsafe fn load_masked(from: *const f32, mask: __m256i) -> __m256 {
    // SAFETY: the caller's guarantees; a masked load reads the mask's lanes alone.
    unsafe { arch::_mm256_maskload_ps(from, mask) }
}
