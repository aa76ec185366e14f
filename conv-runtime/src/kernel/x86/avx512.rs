//! AVX-512F and VL: thirty-two 64-byte registers of 16 `f32` lanes; a block whose shape
//! does not fit them runs in AVX2's 32-byte vectors, which AVX-512VL has in all
//! thirty-two.

use super::arch::__m512;

/// Whether the processor has AVX-512F, AVX-512VL, AVX2 and FMA: at run time with `std`,
/// else as compiled.
pub(in crate::kernel) fn detected() -> bool {
    #[cfg(feature = "std")]
    {
        super::avx2::detected()
            && (cfg!(target_feature = "avx512f") || std::is_x86_feature_detected!("avx512f"))
            && (cfg!(target_feature = "avx512vl") || std::is_x86_feature_detected!("avx512vl"))
    }
    #[cfg(not(feature = "std"))]
    {
        cfg!(all(
            target_feature = "avx512f",
            target_feature = "avx512vl",
            target_feature = "avx2",
            target_feature = "fma"
        ))
    }
}

vectors!(
    Avx512,
    avx512,
    "avx512f,avx512vl,avx2,fma",
    __m512,
    16,
    _mm512_setzero_ps,
    _mm512_loadu_ps,
    _mm512_storeu_ps,
    _mm512_set1_ps,
    _mm512_fmadd_ps,
    store_first,
    load_first,
    load_lanes,
    |avx512| avx512.avx2()
);

/// Stores the first `to.len()` lanes of `vector`, fewer than 16, into `to`.
///
/// # Safety
///
/// The processor has the build's features.
#[inline(always)]
#[allow(clippy::inline_always, reason = "inlined into the build's code")]
unsafe fn store_first(to: &mut [f32], vector: __m512) {
    let lanes = to.len().min(15);
    let mask = (1_u16 << lanes) - 1;
    // SAFETY: the mask's lanes are the first `lanes` floats, all within `to`; the masked
    // store touches no others.
    unsafe { arch::_mm512_mask_storeu_ps(to.as_mut_ptr(), mask, vector) };
}

/// The first `from.len()` lanes (fewer than 16) loaded from `from`, zeros in the rest.
///
/// # Safety
///
/// The processor has the build's features.
#[inline(always)]
#[allow(clippy::inline_always, reason = "inlined into the build's code")]
unsafe fn load_first(from: &[f32]) -> __m512 {
    let lanes = from.len().min(15);
    let mask = (1_u16 << lanes) - 1;
    // SAFETY: the mask's lanes are the first `lanes` floats, all within `from`; the
    // masked load reads no others.
    unsafe { arch::_mm512_maskz_loadu_ps(mask, from.as_ptr()) }
}

/// Lanes `first..first + from.len()` (within the 16) loaded from `from`, zeros in the
/// others.
///
/// # Safety
///
/// The processor has the build's features.
#[inline(always)]
#[allow(clippy::inline_always, reason = "inlined into the build's code")]
unsafe fn load_lanes(from: &[f32], first: usize) -> __m512 {
    let first = first.min(16);
    let lanes = from.len().min(16 - first);
    let mask = u16::try_from(((1_u32 << lanes) - 1) << first).unwrap_or(u16::MAX);
    // SAFETY: the masked load reads lane `l` at `from[l − first]`, for the mask's lanes
    // alone, all within `from`; the others are not read (nor is the address they would
    // have, which may lie before `from`).
    unsafe { arch::_mm512_maskz_loadu_ps(mask, from.as_ptr().wrapping_sub(first)) }
}
