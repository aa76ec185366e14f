//! The two transpositions between a block's channels and a layout of channel planes,
//! 8 lanes wide, the same in both x86 builds (both have AVX): a forward block's sums
//! stored into the output's planes, and δ's planes (or a block's filters) packed as
//! vectors over channels for the weight gradient's block (or the forward pass's).

#[cfg(target_arch = "x86")]
use core::arch::x86 as arch;
#[cfg(target_arch = "x86_64")]
use core::arch::x86_64 as arch;

/// `portable::store` for groups of 4 outputs by 8 channels: each group's four
/// 8-lane vectors (one per output) transposed in registers into four vectors of
/// two channels' 4 outputs, each half stored whole, rather than a lane at a time.
/// Inlined into the build's code, whose features it takes.
/// # Safety
///
/// The processor has AVX, and `MR` and `CB` are multiples of 4 and 8.
#[inline(always)]
#[allow(clippy::inline_always, reason = "inlined into the build's code")]
pub(super) unsafe fn store<const MR: usize, const CB: usize>(
    sums: &[[f32; CB]; MR],
    z: &mut [f32],
    plane: usize,
) {
    // Every run stored lies in the first `(CB − 1) · plane + MR` floats: one check of the
    // length here, where a check per run cost 1% of `resnet-stem`'s forward pass once
    // `plane` was no longer a constant (a row tile's, `Part::rows`). Saturated, a `plane`
    // too large for `usize` fails the check rather than wrapping past it.
    let z = &mut z[..(CB - 1).saturating_mul(plane).saturating_add(MR)];
    let base = z.as_mut_ptr();
    // SAFETY (every intrinsic below): the caller's processor has AVX.
    for m in (0..MR).step_by(4) {
        for part in (0..CB).step_by(8) {
            // Four loads written out, not through `array::from_fn` or `map`: in a large
            // body the compiler left those closures, and the loads in them, out of line
            // (`resnet-down`'s input gradient, 7% of its samples in them).
            let (s0, s1, s2, s3) = (
                &sums[m][part..][..8],
                &sums[m + 1][part..][..8],
                &sums[m + 2][part..][..8],
                &sums[m + 3][part..][..8],
            );
            // SAFETY: each is 8 floats, an unaligned load's width.
            let (r0, r1, r2, r3) = unsafe {
                (
                    arch::_mm256_loadu_ps(s0.as_ptr()),
                    arch::_mm256_loadu_ps(s1.as_ptr()),
                    arch::_mm256_loadu_ps(s2.as_ptr()),
                    arch::_mm256_loadu_ps(s3.as_ptr()),
                )
            };
            // Per 128-bit half: `(r0[0], r1[0], r0[1], r1[1])`, and so on.
            let (low01, high01) = (unsafe { arch::_mm256_unpacklo_ps(r0, r1) }, unsafe {
                arch::_mm256_unpackhi_ps(r0, r1)
            });
            let (low23, high23) = (unsafe { arch::_mm256_unpacklo_ps(r2, r3) }, unsafe {
                arch::_mm256_unpackhi_ps(r2, r3)
            });
            // Channel `k` of the group's four outputs in the lower half of
            // `channels[k]`, channel `k + 4`'s in the upper.
            let channels = [
                unsafe { arch::_mm256_shuffle_ps::<0x44>(low01, low23) },
                unsafe { arch::_mm256_shuffle_ps::<0xEE>(low01, low23) },
                unsafe { arch::_mm256_shuffle_ps::<0x44>(high01, high23) },
                unsafe { arch::_mm256_shuffle_ps::<0xEE>(high01, high23) },
            ];
            for (k, pair) in channels.into_iter().enumerate() {
                let halves = [unsafe { arch::_mm256_castps256_ps128(pair) }, unsafe {
                    arch::_mm256_extractf128_ps::<1>(pair)
                }];
                for (half, outputs) in halves.into_iter().enumerate() {
                    let channel = part + k + 4 * half;
                    // SAFETY: `channel < CB` and `m + 4 <= MR`, so the run's 4 floats, an
                    // unaligned store's width, end within `z`'s first
                    // `(CB − 1) · plane + MR`, which `z` holds.
                    unsafe { arch::_mm_storeu_ps(base.add(channel * plane + m), outputs) };
                }
            }
        }
    }
}

/// `portable::transpose` for groups of 8 channels: 8 positions of each of a
/// group's channels loaded as one vector, the 8×8 square transposed in registers,
/// each position's 8 channels stored whole; the last positions short of 8 a
/// value at a time. Element by element, the compiler wrote this loop with
/// scatters, which took 9% of `resnet-1x1`'s weight gradient on an AMD Zen 4.
/// Not inlined: it runs once per row of δ, and inlined into a weight gradient's
/// body it made the compiler stop inlining that body's own small closures.
/// # Safety
///
/// The processor has AVX, and `CB` is a multiple of 8.
#[target_feature(enable = "avx")]
#[inline(never)]
pub(super) unsafe fn transpose<const CB: usize>(
    source: &[f32],
    plane: usize,
    vectors: &mut [[f32; CB]],
) {
    // The intrinsics on registers are safe in a function with the features; the
    // loads and stores take pointers.
    let whole = vectors.len() - vectors.len() % 8;
    for p in (0..whole).step_by(8) {
        for part in (0..CB).step_by(8) {
            let rows: [arch::__m256; 8] = ::core::array::from_fn(|i| {
                let run = &source[(part + i) * plane + p..][..8];
                // SAFETY: `run` is 8 floats, an unaligned load's width.
                unsafe { arch::_mm256_loadu_ps(run.as_ptr()) }
            });
            // Pairs of channels interleaved, then fours (`fours[i]`: positions
            // `p + i % 4` and `p + i % 4 + 4` of channels `i / 4 * 4..`, one a
            // 128-bit half), then the halves joined: position `p + j`'s 8.
            let pairs: [arch::__m256; 8] = ::core::array::from_fn(|i| {
                let (a, b) = (rows[i / 2 * 2], rows[i / 2 * 2 + 1]);
                if i % 2 == 0 {
                    arch::_mm256_unpacklo_ps(a, b)
                } else {
                    arch::_mm256_unpackhi_ps(a, b)
                }
            });
            let fours: [arch::__m256; 8] = ::core::array::from_fn(|i| {
                let first = i / 4 * 4 + i % 4 / 2;
                let (a, b) = (pairs[first], pairs[first + 2]);
                if i % 2 == 0 {
                    arch::_mm256_shuffle_ps::<0x44>(a, b)
                } else {
                    arch::_mm256_shuffle_ps::<0xEE>(a, b)
                }
            });
            for j in 0..8 {
                let (low, high) = (fours[j % 4], fours[j % 4 + 4]);
                let column = if j < 4 {
                    arch::_mm256_permute2f128_ps::<0x20>(low, high)
                } else {
                    arch::_mm256_permute2f128_ps::<0x31>(low, high)
                };
                let to = &mut vectors[p + j][part..][..8];
                // SAFETY: `to` is 8 floats, an unaligned store's width.
                unsafe { arch::_mm256_storeu_ps(to.as_mut_ptr(), column) };
            }
        }
    }
    for (p, vector) in vectors.iter_mut().enumerate().skip(whole) {
        for (c, value) in vector.iter_mut().enumerate() {
            *value = source[c * plane + p];
        }
    }
}
