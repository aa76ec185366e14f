//! The register blocks against the formulas their operands state, on integers, where no
//! sum rounds: the portable block, and each wide build the processor has.

use alloc::vec::Vec;

use super::build::Build;
use super::operands::{Stencil, StencilDots};
use super::portable;

/// Small integers, some negative, from a seed: exact in `f32`, products and sums too.
fn values(count: usize, seed: usize) -> Vec<f32> {
    (0..count)
        .map(|index| {
            let value = (index * 7 + seed * 13) % 11;
            f32::from(u8::try_from(value).unwrap_or(0)) - 5.0
        })
        .collect()
}

/// `StencilDots`' formula, term by term, added to `start`.
fn stencil_dots_formula<const KY: usize, const MT: usize, const NL: usize>(
    start: &[[[f32; NL]; MT]; KY],
    operands: &StencilDots<'_, f32>,
) -> [[[f32; NL]; MT]; KY] {
    let mut sums = *start;
    let (first, end) = operands.present;
    for m in 0..operands.rows {
        for r in 0..operands.runs {
            for (y, sums) in sums.iter_mut().enumerate() {
                for (t, sums) in sums.iter_mut().enumerate() {
                    for (l, sum) in sums.iter_mut().enumerate() {
                        let at = r * NL + l;
                        let delta = if at < operands.width {
                            operands.delta[m * operands.width + at]
                        } else {
                            0.0
                        };
                        let (row, column) =
                            (m + y, (operands.taps[t] + at).checked_sub(operands.left));
                        let input = match column {
                            Some(column)
                                if (first..end).contains(&row) && column < operands.columns =>
                            {
                                operands.source
                                    [operands.shift + (row - first) * operands.step + column]
                            }
                            _ => 0.0,
                        };
                        *sum += delta * input;
                    }
                }
            }
        }
    }
    sums
}

/// A block whose rows of δ end inside a run, whose taps reach past both ends of the
/// input's rows, and whose first and last rows lie in the padding; the input's rows lie
/// apart, with other values between them, which no term may read.
fn stencil_dots_case<const KY: usize, const NL: usize>(
    check: impl Fn(&[[[f32; NL]; 3]; KY], StencilDots<'_, f32>),
) {
    let (rows, width, columns, left) = (3, NL + 5, NL + 3, 2);
    let step = columns + 4;
    let delta = values(rows * width, 1);
    let source = values(step * (rows + KY) + 6, 2);
    let sums = values(KY * 3 * NL, 3);
    let start: [[[f32; NL]; 3]; KY] = core::array::from_fn(|y| {
        core::array::from_fn(|t| core::array::from_fn(|l| sums[(y * 3 + t) * NL + l]))
    });
    let operands = StencilDots {
        delta: &delta,
        width,
        source: &source,
        shift: 3,
        step,
        present: (1, rows + KY - 2),
        left,
        columns,
        taps: &[0, 3, NL + 4],
        rows,
        runs: 2,
    };
    check(&start, operands);
}

#[test]
fn the_portable_stencil_dots_follow_their_formula() {
    fn check<const KY: usize, const NL: usize>() {
        stencil_dots_case::<KY, NL>(|start, operands| {
            let mut sums = *start;
            portable::stencil_dots(&mut sums, operands, |sum, a, b| *sum += a * b);
            assert_eq!(
                sums,
                stencil_dots_formula(start, &operands),
                "KY = {KY}, NL = {NL}"
            );
        });
    }
    check::<1, 8>();
    check::<3, 8>();
    check::<2, 16>();
}

#[cfg(all(feature = "std", any(target_arch = "x86", target_arch = "x86_64")))]
#[test]
fn the_wide_stencil_dots_follow_their_formula() {
    fn check<B: Build, const KY: usize, const NL: usize>(build: B) {
        stencil_dots_case::<KY, NL>(|start, operands| {
            let mut sums = *start;
            assert!(
                build.stencil_dots(&mut sums, operands),
                "the build runs the block"
            );
            assert_eq!(
                sums,
                stencil_dots_formula(start, &operands),
                "KY = {KY}, NL = {NL}"
            );
        });
    }
    if super::x86::avx2::detected() {
        let avx2 = super::build::Avx2(());
        check::<_, 1, 8>(avx2);
        check::<_, 3, 8>(avx2);
        check::<_, 2, 16>(avx2);
    }
    if super::x86::avx512::detected() {
        let avx512 = super::build::Avx512(());
        check::<_, 1, 8>(avx512);
        check::<_, 3, 16>(avx512);
    }
}

/// `Stencil`'s formula, term by term, for `rows` rows of `width` outputs.
fn stencil_formula<const KY: usize>(operands: &Stencil<'_, f32>) -> Vec<f32> {
    let (first, end) = operands.present;
    let taps = operands.taps.len();
    let mut out = Vec::new();
    for m in 0..operands.rows {
        for j in 0..operands.width {
            let mut sum = *operands.start;
            for (&plane, weights) in operands
                .planes
                .iter()
                .zip(operands.weights.chunks_exact(KY * taps))
            {
                for (t, &tap) in operands.taps.iter().enumerate() {
                    for y in 0..KY {
                        let (row, column) = (m + y, (tap + j).checked_sub(operands.left));
                        let input = match column {
                            Some(column)
                                if (first..end).contains(&row) && column < operands.columns =>
                            {
                                operands.source[plane
                                    + operands.shift
                                    + (row - first) * operands.step
                                    + column]
                            }
                            _ => 0.0,
                        };
                        sum += weights[y * taps + t] * input;
                    }
                }
            }
            out.push(sum);
        }
    }
    out
}

/// Two planes of rows whose taps reach past both ends of the input's rows, a last run
/// shorter than a vector, and rows of the padding before and after the input's; other
/// values lie between the rows, which no term may read.
fn stencil_case<const KY: usize>(check: impl Fn(Stencil<'_, f32>)) {
    let (rows, width, columns, left) = (5, 21, 19, 2);
    let step = columns + 3;
    let source = values(2 * step * (rows + KY) + 40, 4);
    let weights = values(2 * KY * 3, 5);
    let operands = Stencil {
        source: &source,
        planes: &[0, step * (rows + KY) + 7],
        shift: 4,
        step,
        taps: &[0, 2, 5],
        weights: &weights,
        start: &1.0,
        rows,
        width,
        out_step: width,
        present: (1, rows + KY - 2),
        left,
        columns,
    };
    check(operands);
}

/// The block's output, rows of `width` one after another.
fn stencil_output(operands: &Stencil<'_, f32>, block: impl FnOnce(&mut [f32])) -> Vec<f32> {
    let mut out = alloc::vec![f32::NAN; operands.rows * operands.width];
    block(&mut out);
    out
}

#[test]
fn the_portable_stencil_follows_its_formula() {
    fn check<const KY: usize>() {
        stencil_case::<KY>(|operands| {
            let out = stencil_output(&operands, |out| {
                portable::stencil::<_, 4, KY, 16>(out, operands, |sum, a, b| *sum += a * b);
            });
            assert_eq!(out, stencil_formula::<KY>(&operands), "KY = {KY}");
        });
    }
    check::<1>();
    check::<3>();
}

#[cfg(all(feature = "std", any(target_arch = "x86", target_arch = "x86_64")))]
#[test]
fn the_wide_stencils_follow_their_formula() {
    fn check<B: Build, const KY: usize>(build: B) {
        stencil_case::<KY>(|operands| {
            let out = stencil_output(&operands, |out| {
                assert!(
                    build.stencil::<4, KY, 3, 16>(out, operands),
                    "the build runs the block"
                );
            });
            assert_eq!(out, stencil_formula::<KY>(&operands), "KY = {KY}");
        });
    }
    if super::x86::avx2::detected() {
        check::<_, 1>(super::build::Avx2(()));
        check::<_, 3>(super::build::Avx2(()));
    }
    if super::x86::avx512::detected() {
        check::<_, 1>(super::build::Avx512(()));
        check::<_, 3>(super::build::Avx512(()));
    }
}

#[cfg(all(feature = "std", any(target_arch = "x86", target_arch = "x86_64")))]
#[test]
fn the_wide_transpositions_write_what_the_portable_one_writes() {
    /// `positions` positions of `CB` channels `plane` apart, whose runs end short of the
    /// next channel's: values between them that no vector may take.
    fn check<B: Build, const CB: usize>(build: B, positions: usize) {
        let plane = positions + 5;
        let source = values(CB * plane, 5);
        let mut expected = alloc::vec![[0.0; CB]; positions];
        portable::transpose(&source, plane, &mut expected);
        let mut vectors = alloc::vec![[0.0; CB]; positions];
        assert!(
            build.transpose(&source, plane, &mut vectors),
            "the build runs the transposition"
        );
        assert_eq!(vectors, expected, "CB = {CB}, {positions} positions");
    }
    fn each<B: Build>(build: B) {
        for positions in [1, 7, 8, 9, 16, 21] {
            check::<_, 8>(build, positions);
            check::<_, 16>(build, positions);
            check::<_, 32>(build, positions);
        }
    }
    if super::x86::avx2::detected() {
        each(super::build::Avx2(()));
    }
    if super::x86::avx512::detected() {
        each(super::build::Avx512(()));
    }
}

/// `Wide::either` calls the wide closure for a type with wide builds on this target
/// (`f32` on x86), the portable one for every other type.
#[test]
fn either_takes_the_types_builds() {
    use super::scalar::Wide;
    let pick = |wide: bool| if wide { "wide" } else { "portable" };
    let x86 = cfg!(any(target_arch = "x86", target_arch = "x86_64"));
    assert_eq!(
        <f32 as Wide>::either((), |()| "wide", |()| "portable"),
        pick(x86)
    );
    assert_eq!(<f32 as Wide>::WIDE, x86);
    assert_eq!(
        <f64 as Wide>::either((), |()| "wide", |()| "portable"),
        "portable"
    );
    const { assert!(!<f64 as Wide>::WIDE) };
}
