//! The portable build of the register blocks, in plain Rust: what every scalar type runs,
//! and `f32` where a wide build's vectors do not fit a block's shape.
//!
//! Each block adds `multiply_add(sum, a, b)`, `sum += a · b` in the scalar's arithmetic
//! ([`Scalar::accumulate_product`](super::Scalar::accumulate_product)), for its terms in
//! the order each block's documentation gives.

use super::Scalar;
use super::build::Build;
use super::operands::{Block, Dots, Rows, Stencil, StencilDots};

/// The portable build as a [`Build`]: no vectors of its own, so that it leaves every
/// block to the caller's portable code. The narrowest wide build falls back to it.
#[derive(Clone, Copy, Debug)]
pub struct Portable;

impl Build for Portable {}

/// The register block every wide kernel is made of, in plain Rust: `MR` sums of `CB`
/// channels each, with the [`Block`]'s operands,
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
pub fn block<T, const MR: usize, const CB: usize>(
    sums: &mut [[T; CB]; MR],
    operands: Block<'_, T, CB>,
    multiply_add: impl Fn(&mut T, &T, &T),
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
    let span = (MR - 1) * step + (taps - 1) * reach + 1;
    for (&row, vectors) in rows.iter().zip(vectors.chunks_exact(taps)) {
        let row = &source[row + shift..][..span];
        for (tap, vector) in vectors.iter().enumerate() {
            for (m, sums) in sums.iter_mut().enumerate() {
                let value = &row[m * step + tap * reach];
                for (sum, weight) in sums.iter_mut().zip(vector) {
                    multiply_add(sum, value, weight);
                }
            }
        }
    }
}

/// The other register block, whose vectors run along a row of the source rather than
/// over channels: `MR` runs of `NL` sums, with the [`Rows`]' operands,
///
/// ```text
/// sums[m][l] += weights[r·weight_row + m·weight_step] · source[rows[r] + shift + m·step + l]
/// ```
///
/// over the rows `r` in order. Each weight is read
/// once and multiplied into a contiguous run of `NL` source values: this suits layers
/// with few channels and long rows at stride 1, where `m` runs over channels (`step` 0)
/// or over neighbouring runs of one row (`weight_step` 0).
#[inline(always)]
#[allow(
    clippy::inline_always,
    reason = "the block must be compiled into each build"
)]
pub fn rows<T, const MR: usize, const NL: usize>(
    sums: &mut [[T; NL]; MR],
    operands: Rows<'_, T>,
    multiply_add: impl Fn(&mut T, &T, &T),
) {
    let Rows {
        source,
        rows,
        shift,
        step,
        weights,
        weight_row,
        weight_step,
    } = operands;
    for (r, &row) in rows.iter().enumerate() {
        let row = &source[row + shift..][..(MR - 1) * step + NL];
        let weights = &weights[r * weight_row..][..=(MR - 1) * weight_step];
        for (m, sums) in sums.iter_mut().enumerate() {
            let weight = &weights[m * weight_step];
            for (sum, value) in sums.iter_mut().zip(&row[m * step..]) {
                multiply_add(sum, weight, value);
            }
        }
    }
}

/// The third register block, for sums of products of two rows: `OB × MR` runs of `NL`
/// partial sums, with the [`Dots`]' operands,
///
/// ```text
/// sums[o][m][l] += a[a_rows[r] + a_shift + o·a_step + t·NL + l]
///                · b[b_rows[r] + b_shift + o·b_step + m·step + t·NL + l]
/// ```
///
/// over the rows `r`, then the `runs` runs `t` along a row, in that order. The weight
/// gradient of a layer with few channels is made of it: `a` is δ, `b` the input, `m` runs
/// over the taps along the last axis (`step` the dilation) and `o` over output channels
/// that read the same input (`b_step` 0) or over the taps along the axis before
/// (`a_step` 0); each `sums[o][m]` then adds up to one weight's gradient.
#[inline(always)]
#[allow(
    clippy::inline_always,
    reason = "the block must be compiled into each build"
)]
pub fn dots<T, const OB: usize, const MR: usize, const NL: usize>(
    sums: &mut [[[T; NL]; MR]; OB],
    operands: Dots<'_, T>,
    multiply_add: impl Fn(&mut T, &T, &T),
) {
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
    for (&a_row, &b_row) in a_rows.iter().zip(b_rows) {
        for run in 0..runs {
            for (o, sums) in sums.iter_mut().enumerate() {
                let a_run = &a[a_row + a_shift + o * a_step + run * NL..][..NL];
                let b_row = &b[b_row + b_shift + o * b_step..][..(MR - 1) * step + runs * NL];
                for (m, sums) in sums.iter_mut().enumerate() {
                    let b_run = &b_row[m * step + run * NL..][..NL];
                    for ((sum, a), b) in sums.iter_mut().zip(a_run).zip(b_run) {
                        multiply_add(sum, a, b);
                    }
                }
            }
        }
    }
}

/// The fourth register block, for depthwise layers, which writes its outputs: with the
/// [`Stencil`]'s operands, for each of the `rows` rows `m` and the `width` outputs `j`
/// along it,
///
/// ```text
/// out[m·out_step + j] = start
///     + Σ weights[(p·KY + y)·taps.len() + t] · input(p, m + y, taps[t] + j − left)
/// ```
///
/// the terms added over the planes `p`, then the taps `t` along a row, then the rows of
/// taps `y`, in that order; no term is formed with a row of the padding, and its columns
/// read zeros. Row `m + y` of the source feeds output row `m` with the
/// weights of row `y`: the vector builds read it once for all of them. `MR` and `NL`,
/// the rows and outputs along a row the vector builds keep in registers, change nothing
/// here.
#[inline(always)]
#[allow(
    clippy::inline_always,
    reason = "the block must be compiled into each build"
)]
pub fn stencil<T: Scalar, const MR: usize, const KY: usize, const NL: usize>(
    out: &mut [T],
    operands: Stencil<'_, T>,
    multiply_add: impl Fn(&mut T, &T, &T),
) {
    let Stencil {
        source,
        planes,
        shift,
        step,
        taps,
        weights,
        start,
        rows,
        width,
        out_step,
        present: (first, end),
        left,
        columns,
    } = operands;
    let zero = T::zero();
    for m in 0..rows {
        for (j, sum) in out[m * out_step..][..width].iter_mut().enumerate() {
            sum.clone_from(start);
            for (&plane, weights) in planes.iter().zip(weights.chunks_exact(KY * taps.len())) {
                for (t, &tap) in taps.iter().enumerate() {
                    for y in (0..KY).filter(|y| (first..end).contains(&(m + y))) {
                        let row = &source[plane + shift + (m + y - first) * step..][..columns];
                        let column = (tap + j).checked_sub(left);
                        let value = column.and_then(|column| row.get(column)).unwrap_or(&zero);
                        multiply_add(sum, &weights[y * taps.len() + t], value);
                    }
                }
            }
        }
    }
}

/// The fifth register block, the weight gradient of a depthwise layer's channel: `KY × MT`
/// runs of `NL` partial sums, with the [`StencilDots`]' operands,
///
/// ```text
/// sums[y][t][l] += delta[m·width + r·NL + l] · input(m + y, taps[t] + r·NL + l − left)
/// ```
///
/// over the rows `m` of δ, then the runs `r` along a row, in that order; δ reads zero
/// where `r·NL + l` is past the row's `width`, the input zero in its padding's columns,
/// and no product is formed with a row of its padding.
#[inline(always)]
#[allow(
    clippy::inline_always,
    reason = "the block must be compiled into each build"
)]
pub fn stencil_dots<T: Scalar, const KY: usize, const MT: usize, const NL: usize>(
    sums: &mut [[[T; NL]; MT]; KY],
    operands: StencilDots<'_, T>,
    multiply_add: impl Fn(&mut T, &T, &T),
) {
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
    let zero = T::zero();
    for m in 0..rows {
        for r in 0..runs {
            let delta_run: [T; NL] = core::array::from_fn(|l| {
                let at = r * NL + l;
                if at < width {
                    delta[m * width + at].clone()
                } else {
                    T::zero()
                }
            });
            for (y, sums) in sums.iter_mut().enumerate() {
                let i = m + y;
                if i < first || i >= end {
                    continue;
                }
                let row = &source[shift + (i - first) * step..][..columns];
                for (sums, &tap) in sums.iter_mut().zip(taps) {
                    for (l, (sum, a)) in sums.iter_mut().zip(&delta_run).enumerate() {
                        let column = (tap + r * NL + l).checked_sub(left);
                        let b = column.and_then(|column| row.get(column)).unwrap_or(&zero);
                        multiply_add(sum, a, b);
                    }
                }
            }
        }
    }
}

/// The store after a channel block, in plain Rust: its `MR` sums of `CB` channels into
/// `z`, where each channel's outputs are contiguous and one channel's start `plane`
/// after the one before,
///
/// ```text
/// z[c·plane + m] = sums[m][c]
/// ```
///
/// A transposition: the block holds each output position's channels together, the
/// layout each channel's positions.
#[inline(always)]
#[allow(
    clippy::inline_always,
    reason = "the store must be compiled into each build"
)]
pub fn store<T: Clone, const MR: usize, const CB: usize>(
    sums: &[[T; CB]; MR],
    z: &mut [T],
    plane: usize,
) {
    for c in 0..CB {
        let run = &mut z[c * plane..][..MR];
        for (value, sums) in run.iter_mut().zip(sums) {
            value.clone_from(&sums[c]);
        }
    }
}

/// Runs of `CB` channels' values at each position, the reverse of [`store`]'s
/// transposition:
///
/// ```text
/// vectors[p][c] = source[c·plane + p]
/// ```
///
/// for every position `p` of `vectors`: the weight gradient's δ, packed so that its
/// channels at one position load as vectors, and the forward pass's filters, a block's
/// channels at one tap.
#[inline(always)]
#[allow(
    clippy::inline_always,
    reason = "the transposition must be compiled into each build"
)]
pub fn transpose<T: Clone, const CB: usize>(source: &[T], plane: usize, vectors: &mut [[T; CB]]) {
    for (p, vector) in vectors.iter_mut().enumerate() {
        for (c, value) in vector.iter_mut().enumerate() {
            value.clone_from(&source[c * plane + p]);
        }
    }
}
