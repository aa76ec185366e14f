//! The register blocks against the formulas their operands state, on integers, where no
//! sum rounds: the portable block, and each wide build the processor has.

use alloc::vec::Vec;

use super::build::Build;
use super::operands::StencilDots;
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
