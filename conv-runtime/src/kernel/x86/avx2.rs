//! AVX2 with FMA: sixteen 32-byte registers of 8 `f32` lanes, and fused multiply-add.

use super::arch::__m256;
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
    |_avx2| Portable
);
