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
    u16,
    lanes_mask,
    load_masked,
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

/// The mask of lanes `first..end` (within the 16), for [`load_masked`].
///
/// # Safety
///
/// The processor has the build's features.
#[inline(always)]
#[allow(clippy::inline_always, reason = "inlined into the build's code")]
unsafe fn lanes_mask(first: usize, end: usize) -> u16 {
    let (first, end) = (first.min(16), end.min(16));
    let below = |lanes: usize| (1_u32 << lanes) - 1;
    u16::try_from(below(end) & !below(first)).unwrap_or(u16::MAX)
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
unsafe fn load_masked(from: *const f32, mask: u16) -> __m512 {
    // SAFETY: the caller's guarantees; a masked load reads the mask's lanes alone.
    unsafe { arch::_mm512_maskz_loadu_ps(mask, from) }
}
