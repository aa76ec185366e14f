//! What a kernel and a build are: the [`Kernel`] `conv!` generates, the tokens that prove
//! a build's instructions are there, and the register blocks a build runs ([`Build`]).

use super::operands::{Block, Dots, Rows, Stencil, StencilDots};

/// Proof that the processor has AVX2 and FMA: only
/// [`dispatch`](super::dispatch::dispatch) makes one, after checking.
#[derive(Clone, Copy, Debug)]
pub struct Avx2(pub(super) ());

/// Proof that the processor has AVX-512F, AVX-512VL, AVX2 and FMA: only
/// [`dispatch`](super::dispatch::dispatch) makes one.
#[derive(Clone, Copy, Debug)]
pub struct Avx512(pub(super) ());

impl Avx512 {
    /// AVX-512 processors have AVX2 and FMA, and `dispatch` checked them too.
    pub fn avx2(self) -> Avx2 {
        Avx2(())
    }
}

/// A kernel in three builds; the wider ones default to the narrower.
///
/// The portable build forms exactly the terms of the layer's equations. The wide builds
/// may also multiply structural zeros (padding copied as zeros, δ padded and spread by
/// the stride, the spare lanes of a register block): `0 · x` is `±0` for a finite `x`
/// and changes no sum, but `0 · ∞` is NaN. So [`dispatch`](super::dispatch::dispatch)
/// runs a wide build only when [`Kernel::finite`] holds, and the portable one otherwise.
/// A kernel whose operands are larger than its output checks the output instead, after
/// a wide build ran (`dispatch` says whether one did): a finite sum had no infinite or
/// NaN product, so its structural products were zeros. Where an output is not finite and
/// neither is an operand, it runs [`rerun`](super::dispatch::rerun). Each output is then
/// the sum of exactly its equation's terms on any processor.
pub trait Kernel: Sized {
    /// For the baseline target (SSE2 on `x86_64`, or any other architecture).
    fn portable(self);
    /// Whether every operand the wide builds' zeros meet is finite (`Wide::all_finite`), so
    /// that the wide builds' products of structural zeros are zeros; by default `true`,
    /// for a kernel whose wide builds form only the terms of its equations. One pass over
    /// the operands, small beside a convolution's multiply-adds.
    fn finite(&self) -> bool {
        true
    }
    /// Run with AVX2 and FMA enabled: sixteen 32-byte registers.
    fn avx2(self, _: Avx2) {
        self.portable();
    }
    /// Run with AVX-512F and VL enabled: thirty-two 64-byte registers, and 32-byte
    /// vectors in all thirty-two.
    fn avx512(self, avx512: Avx512) {
        self.avx2(avx512.avx2());
    }
}

/// The part of a pass a kernel computes: the whole pass, or one task of a parallel form,
/// which a wide build that cuts its output into blocks of channels computes with the same
/// code (so the same bits) as the whole, compiled once for both.
///
/// A task's output is a run of whole blocks of `sample`'s channels (or groups), from unit
/// `first`: its output slice, whose length says how many. A row tile's is those channels'
/// output rows `rows[0]..rows[1]` along the first axis (the rows past the last are none),
/// one channel's after another. A weight gradient's run of input channels computes every
/// output channel's weights for input channels `inputs[0]..inputs[1]` alone, its output
/// slice the size of the whole weight gradient, the other weights written as zeros (its
/// caller keeps the run's). The whole pass is sample 0 from unit 0, every row and input
/// channel, its output slice all of the output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Part {
    /// The sample of a task; 0 for the whole pass, which runs every sample.
    pub sample: usize,
    /// The task's first unit (output channel, input channel or group); 0 for the whole.
    pub first: usize,
    /// The output rows along the first axis, from the first to past the last.
    pub rows: [usize; 2],
    /// A weight gradient's input channels (of a group), from the first to past the last.
    pub inputs: [usize; 2],
    /// Whether this is a task, whose caller checked the operands for the whole pass
    /// ([`Kernel::finite`] then holds).
    pub task: bool,
}

impl Part {
    /// The whole pass.
    pub const WHOLE: Part = Part {
        sample: 0,
        first: 0,
        rows: [0, usize::MAX],
        inputs: [0, usize::MAX],
        task: false,
    };

    /// The task of `sample`'s units from `first`.
    #[must_use]
    pub const fn task(sample: usize, first: usize) -> Part {
        Part {
            sample,
            first,
            task: true,
            ..Part::WHOLE
        }
    }

    /// This part with a weight gradient's input channels `inputs[0]..inputs[1]`: a task's
    /// run of them in its block of output channels.
    #[must_use]
    pub const fn with_inputs(self, inputs: [usize; 2]) -> Part {
        Part { inputs, ..self }
    }

    /// The part's rows along the first axis of a tensor of `rows` rows: `rows[0]..rows[1]`
    /// clamped to them (every row for the whole pass).
    #[must_use]
    pub const fn rows_of(self, rows: usize) -> [usize; 2] {
        let end = if self.rows[1] < rows {
            self.rows[1]
        } else {
            rows
        };
        [self.rows[0], end]
    }

    /// The rows of δ along the first axis, `from..to`, whose windows reach one of the
    /// input rows `rows` on an axis padded by `pad` before its input, whose kernel reaches
    /// `reach = (k − 1)·d` past a window's first row, strided by `stride` and `outputs`
    /// long: an input gradient's part reads those alone; none for no rows.
    #[must_use]
    pub fn delta_rows(rows: [usize; 2], [pad, reach, stride, outputs]: [usize; 4]) -> [usize; 2] {
        if rows[0] >= rows[1] {
            return [0, 0];
        }
        let from = (rows[0] + pad).saturating_sub(reach).div_ceil(stride);
        let last = rows[1] - 1 + pad;
        let to = last / stride + 1;
        [from.min(outputs), to.min(outputs)]
    }

    /// The task of `sample`'s units from `first`, in their output rows `rows` along the
    /// first axis.
    #[must_use]
    pub const fn tile(sample: usize, first: usize, rows: [usize; 2]) -> Part {
        Part {
            sample,
            first,
            rows,
            task: true,
            ..Part::WHOLE
        }
    }
}

/// A wide build's register blocks for `f32`, in its own vectors where the block's shape
/// fits them, else in a narrower build's. Each returns whether it ran: `false`, having
/// done nothing, where no vectors of the build fit (a build has none off x86), and the
/// caller runs the portable block. `Wide::block`, `Wide::rows`, `Wide::dots` and
/// `Wide::store` call these for `f32`.
#[allow(unused_variables, reason = "the defaults run nothing")]
pub trait Build: Copy {
    /// `block` in this build.
    #[inline(always)]
    #[allow(clippy::inline_always, reason = "compiled into the caller's build")]
    fn block<const MR: usize, const CB: usize>(
        self,
        sums: &mut [[f32; CB]; MR],
        operands: Block<'_, f32, CB>,
    ) -> bool {
        false
    }
    /// `rows` in this build.
    #[inline(always)]
    #[allow(clippy::inline_always, reason = "compiled into the caller's build")]
    fn rows<const MR: usize, const NL: usize>(
        self,
        sums: &mut [[f32; NL]; MR],
        operands: Rows<'_, f32>,
    ) -> bool {
        false
    }
    /// `store` in this build.
    #[inline(always)]
    #[allow(clippy::inline_always, reason = "compiled into the caller's build")]
    fn store<const MR: usize, const CB: usize>(
        self,
        sums: &[[f32; CB]; MR],
        z: &mut [f32],
        plane: usize,
    ) -> bool {
        false
    }
    /// `transpose` in this build.
    #[inline(always)]
    #[allow(clippy::inline_always, reason = "compiled into the caller's build")]
    fn transpose<const CB: usize>(
        self,
        source: &[f32],
        plane: usize,
        vectors: &mut [[f32; CB]],
    ) -> bool {
        false
    }
    /// `dots` in this build.
    #[inline(always)]
    #[allow(clippy::inline_always, reason = "compiled into the caller's build")]
    fn dots<const OB: usize, const MR: usize, const NL: usize>(
        self,
        sums: &mut [[[f32; NL]; MR]; OB],
        operands: Dots<'_, f32>,
    ) -> bool {
        false
    }
    /// `stencil` in this build.
    #[inline(always)]
    #[allow(clippy::inline_always, reason = "compiled into the caller's build")]
    fn stencil<const MR: usize, const KY: usize, const KX: usize, const NL: usize>(
        self,
        out: &mut [f32],
        operands: Stencil<'_, f32>,
    ) -> bool {
        false
    }
    /// `stencil_dots` in this build.
    #[inline(always)]
    #[allow(clippy::inline_always, reason = "compiled into the caller's build")]
    fn stencil_dots<const KY: usize, const MT: usize, const NL: usize>(
        self,
        sums: &mut [[[f32; NL]; MT]; KY],
        operands: StencilDots<'_, f32>,
    ) -> bool {
        false
    }
}

/// Elsewhere no token is ever made, and the builds have no vectors of their own.
#[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
impl Build for Avx2 {}
#[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
impl Build for Avx512 {}

#[cfg(test)]
mod tests {
    use super::Part;
    use crate::spec::Spec;

    /// The rows of δ a run of input rows reads hold every output some tap joins to one of
    /// them, found one by one: on axes strided, dilated, padded past the kernel and with
    /// remainders, for every run of up to 40 rows; none for a run of none.
    #[test]
    fn delta_rows_are_the_outputs_that_reach_the_rows() {
        for text in [
            "in=(11,) k=3 stride=2",
            "in=(224,) k=7 stride=2 pad=3",
            "in=(9,) k=4 stride=3 pad=same_lower dilation=2",
            "in=(3,) k=3 pad=((7,5),) stride=4",
            "in=(15,) k=5 stride=4 dilation=6 pad=((9,2),)",
        ] {
            let axis = Spec::parse(text).unwrap().axes()[0];
            let geometry = [
                axis.pad_before(),
                (axis.kernel() - 1) * axis.dilation(),
                axis.stride(),
                axis.output(),
            ];
            for first in 0..axis.input() {
                // No rows read no δ.
                assert_eq!(Part::delta_rows([first, first], geometry), [0, 0]);
                for end in first + 1..=axis.input().min(first + 40) {
                    let reached = (first..end).flat_map(|row| {
                        (0..axis.kernel()).filter_map(move |tap| axis.target(row, tap))
                    });
                    let (low, high) = reached.fold((usize::MAX, 0), |(low, high), output| {
                        (low.min(output), high.max(output + 1))
                    });
                    let [from, to] = Part::delta_rows([first, end], geometry);
                    // Rows no output reaches (the remainder) read nothing.
                    if low < high {
                        assert!(
                            from <= low && high <= to,
                            "{text}: {first}..{end}: {from}..{to} misses {low}..{high}"
                        );
                    }
                }
            }
        }
    }
}
