//! What a loop kernel needs to know about the index map `i = p·s + q·d − pad_lo`, per
//! axis and per kernel tap, so that its innermost loop runs branch-free over a row: which
//! output positions a tap reads real input at (not padding), and how much work a layer is.

use core::ops::Range;

use super::Spec;
use super::axis::Axis;

impl Axis {
    /// The output positions whose kernel tap `tap` reads a real input position rather than
    /// padding: a contiguous range, empty (`start == end`) when the tap only ever reads
    /// padding. Output `p` in the range reads input `source(p, tap)`.
    pub fn outputs_reading(&self, tap: usize) -> Range<usize> {
        let reach = tap * self.dilation();
        // First p with p·s + reach ≥ pad_lo.
        let start = self
            .pad_before()
            .saturating_sub(reach)
            .div_ceil(self.stride())
            .min(self.output());
        // One past the last p with p·s + reach − pad_lo ≤ in − 1.
        let end = (self.input() - 1 + self.pad_before())
            .checked_sub(reach)
            .map_or(0, |last| last / self.stride() + 1)
            .min(self.output());
        start..end.max(start)
    }

    /// The taps that read a real input position for at least one output: the others read
    /// only padding. A tap reaches `tap·d − pad_lo` past an output's window start, so it
    /// reads the input iff that reach lies in `[−(out − 1)·s, in − 1]`. Their number is at
    /// most `((out − 1)·s + in − 1) / d + 1` whatever the kernel's size, so a sum over
    /// them stays short when `pad = same` meets a kernel of billions of taps.
    pub fn taps_reading(&self) -> Range<usize> {
        let dilation = self.dilation();
        let last_start = (self.output() - 1).saturating_mul(self.stride());
        let first = self
            .pad_before()
            .saturating_sub(last_start)
            .div_ceil(dilation);
        let end = ((self.input() - 1).saturating_add(self.pad_before()) / dilation)
            .saturating_add(1)
            .min(self.kernel());
        first.min(end)..end
    }

    /// The outputs within `outputs` whose kernel tap `tap` reads a real input position
    /// within `inputs`: a contiguous range (the source is increasing in the output), empty
    /// when there are none. A kernel that works on a block of a row, of outputs or of
    /// inputs, takes its loop bounds from here.
    pub fn outputs_reading_within(
        &self,
        tap: usize,
        outputs: Range<usize>,
        inputs: Range<usize>,
    ) -> Range<usize> {
        let reading = self.outputs_reading(tap);
        let inputs = inputs.start..inputs.end.min(self.input());
        let reach = tap * self.dilation();
        // First p with p·s + reach − pad_lo ≥ inputs.start.
        let first = (inputs.start + self.pad_before())
            .saturating_sub(reach)
            .div_ceil(self.stride());
        // One past the last p with p·s + reach − pad_lo ≤ inputs.end − 1.
        let last = inputs
            .end
            .checked_sub(1)
            .and_then(|end| (end + self.pad_before()).checked_sub(reach))
            .map_or(0, |last| last / self.stride() + 1);
        let start = reading.start.max(outputs.start).max(first);
        let end = reading.end.min(outputs.end).min(last);
        start..end.max(start)
    }
}

impl Axis {
    /// The pairs of an output position and a tap that reads a real input position: the sum
    /// of [`outputs_reading`](Self::outputs_reading)'s lengths over the taps, in closed
    /// form. Summing tap by tap took minutes for 482 436 412 taps over 2^37 inputs (a
    /// `macro_parse` fuzzing finding), and the sum passes `usize` (12 taps over 2^61
    /// outputs), so it is counted in `u128`.
    ///
    /// Over the taps that read the input, output `p` of tap `t` reads it when
    /// `start(t) ≤ p < end(t)`, with `start(t) = ⌈max(0, pad_lo − t·d) / s⌉` and
    /// `end(t) = min(out, ⌊(in − 1 + pad_lo − t·d) / s⌋ + 1)`; each is a constant or the
    /// floor of a linear function of `t` on at most two runs of taps, and a sum of such
    /// floors is [`floor_sum`].
    pub(crate) fn pairs(&self) -> u128 {
        let taps = self.taps_reading();
        if taps.is_empty() {
            return 0;
        }
        let wide = |size: usize| size as u128;
        let (stride, dilation) = (wide(self.stride()), wide(self.dilation()));
        let (pad, output) = (wide(self.pad_before()), wide(self.output()));
        let (first, end) = (wide(taps.start), wide(taps.end));
        let reach_end = wide(self.input()) - 1 + pad;
        // Σ start(t): positive for the taps t < ⌈pad_lo / d⌉, counted from the last of them
        // (`j` taps before it), where `pad_lo − t·d` grows by `d` per step of `j`.
        let starts = {
            let last = end.min(pad.div_ceil(dilation));
            if last <= first {
                0
            } else {
                let slack = pad - (last - 1) * dilation;
                floor_sum(last - first, stride, dilation, slack + stride - 1)
            }
        };
        // Σ end(t): `out` for the taps whose reach leaves room for every output, then
        // `⌊(in − 1 + pad_lo − t·d) / s⌋ + 1`, counted from the last tap back.
        let ends = {
            let full = reach_end
                .checked_sub((output - 1) * stride)
                .map_or(0, |room| room / dilation + 1)
                .clamp(first, end);
            let clamped = (full - first).saturating_mul(output);
            let rest = end - full;
            let floors = if rest == 0 {
                0
            } else {
                let room = reach_end - (end - 1) * dilation;
                floor_sum(rest, stride, dilation, room).saturating_add(rest)
            };
            clamped.saturating_add(floors)
        };
        ends - starts
    }
}

/// `Σ_{j < n} ⌊(a·j + b) / m⌋`, in `O(log m)` steps by the Euclidean-like reduction
/// (swap the roles of `a` and `m` once `a < m` and `b < m`), saturating at `u128::MAX`.
fn floor_sum(mut n: u128, mut m: u128, mut a: u128, mut b: u128) -> u128 {
    let mut sum = 0u128;
    while n > 0 {
        if a >= m {
            let triangle = if n.is_multiple_of(2) {
                (n / 2).saturating_mul(n - 1)
            } else {
                n.saturating_mul((n - 1) / 2)
            };
            sum = sum.saturating_add(triangle.saturating_mul(a / m));
            a %= m;
        }
        if b >= m {
            sum = sum.saturating_add(n.saturating_mul(b / m));
            b %= m;
        }
        // a, b < m ≤ usize::MAX + 1 and n ≤ usize::MAX + 1: a·n + b fits u128.
        let top = a * n + b;
        if top < m {
            break;
        }
        (n, b, m, a) = (top / m, top % m, a, m);
    }
    sum
}

impl Spec {
    /// The multiply-adds one pass of the layer performs: the products in its forward
    /// equations, which is also the number in each of its two gradients. Exact for every
    /// valid layer, whose count can pass `u64::MAX`: an axis pairs each of its outputs with
    /// at most all of its taps, so the count is at most the output's elements times the
    /// weight's, below 2^128 since each fits `usize` (the saturation never happens).
    pub fn multiply_adds(&self) -> u128 {
        if self.transposed() {
            // The products of the ordinary layer of the same connections, one for one.
            return self.connections().multiply_adds();
        }
        let wide = |size: usize| size as u128;
        let per_position = self
            .axes()
            .iter()
            .fold(1u128, |product, axis| product.saturating_mul(axis.pairs()));
        [
            self.batch(),
            self.out_channels(),
            self.in_channels_per_group(),
        ]
        .into_iter()
        .fold(per_position, |product, size| {
            product.saturating_mul(wide(size))
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::spec::Spec;

    /// Every axis of a spread of layers: the range holds exactly the outputs whose tap reads
    /// real input.
    #[test]
    fn outputs_reading_matches_source() {
        for text in [
            "in=(5,) k=3 stride=2",
            "in=(6,) k=3 stride=2",
            "in=(7,) k=4 stride=2 pad=same",
            "in=(7,) k=4 stride=3 pad=same_lower dilation=2",
            "in=(9,) k=3 pad=((2,1),)",
            "in=(3,) k=3 pad=((7,5),) stride=4",
            "in=(10,) k=1 stride=4 pad=same",
            "in=(4,) k=2 dilation=3 pad=((0,6),) stride=5",
        ] {
            let spec = Spec::parse(text).unwrap();
            let axis = spec.axes()[0];
            for tap in 0..axis.kernel() {
                let range = axis.outputs_reading(tap);
                let expected: Vec<usize> = (0..axis.output())
                    .filter(|&p| axis.source(p, tap).is_some())
                    .collect();
                assert_eq!(
                    range.clone().collect::<Vec<_>>(),
                    expected,
                    "{text} tap {tap}"
                );
                assert!(range.start <= axis.output(), "{text} tap {tap}");
            }
        }
    }

    /// Every block of outputs and of inputs of a spread of axes: the range holds exactly the
    /// outputs in the block whose tap reads real input in the block.
    #[test]
    fn outputs_reading_within_matches_source() {
        for text in crate::spec::TEST_AXES {
            let spec = Spec::parse(text).unwrap();
            let axis = spec.axes()[0];
            for tap in 0..axis.kernel() {
                for (outputs, inputs) in [(0, 3), (1, 4), (2, 9), (0, 20), (5, 7)]
                    .into_iter()
                    .flat_map(|o| [(0, 2), (1, 5), (3, 11), (0, 30), (8, 9)].map(|i| (o, i)))
                {
                    let range =
                        axis.outputs_reading_within(tap, outputs.0..outputs.1, inputs.0..inputs.1);
                    let expected: Vec<usize> = (outputs.0..outputs.1.min(axis.output()))
                        .filter(|&p| {
                            axis.source(p, tap)
                                .is_some_and(|i| (inputs.0..inputs.1).contains(&i))
                        })
                        .collect();
                    assert_eq!(
                        range.clone().collect::<Vec<_>>(),
                        expected,
                        "{text} tap {tap} outputs {outputs:?} inputs {inputs:?}"
                    );
                }
            }
        }
    }

    /// The taps that read the input are exactly those with outputs reading it, and the
    /// count of multiply-adds no longer walks every tap: `pad = same` with billions of taps
    /// (a `macro_parse` fuzzing finding, 5.5·10⁹ iterations) is counted at once.
    #[test]
    fn only_the_taps_that_read_the_input_are_counted() {
        for text in [
            "in=(7,) k=3",
            "in=(6,) k=3 stride=2",
            "in=(9,) k=4 stride=3 dilation=2 pad=((5, 1),)",
            "in=(5,) k=7 pad=3",
            "in=(4,) k=9 pad=((8, 0),)",
            "in=(4,) k=9 pad=((0, 8),) dilation=1 stride=5",
            "in=(10,) k=5 dilation=3 pad=((7, 2),) stride=2",
            "in=(3,) k=40 pad=same",
        ] {
            let spec = Spec::parse(text).unwrap();
            for axis in spec.axes() {
                let reading: Vec<usize> = (0..axis.kernel())
                    .filter(|&tap| !axis.outputs_reading(tap).is_empty())
                    .collect();
                let range: Vec<usize> = axis.taps_reading().collect();
                assert_eq!(range, reading, "{text}");
            }
        }
        // Output p reads input i through tap i − p + pad_lo: i − p spans −63..=63.
        let spec = Spec::parse("in=(64,) k=5555555552 pad=same").unwrap();
        assert_eq!(spec.axes()[0].taps_reading().len(), 127);
        assert_eq!(spec.multiply_adds(), 64 * 64);
    }

    /// A layer whose every tensor fits `usize` but whose count does not fit `u64`: 4 096
    /// channels in and out, a 2^20 kernel over a 2^40 input, `4096² · 2^20 · (2^40 − 2^20 + 1)`
    /// multiply-adds. The count saturated at `u64::MAX`.
    #[test]
    fn multiply_adds_are_exact_past_u64() {
        let spec = Spec::parse("in=(1099511627776,) k=1048576 cin=4096 cout=4096").unwrap();
        let outputs = (1u128 << 40) - (1 << 20) + 1;
        assert_eq!(spec.multiply_adds(), (1u128 << 44) * outputs);
        assert!(spec.multiply_adds() > u128::from(u64::MAX));
    }

    /// The closed form of the pairs against the sum tap by tap, on every axis of small
    /// layers with every stride, dilation and padding.
    #[test]
    fn pairs_match_the_sum_over_taps() {
        let mut checked = 0;
        for input in 1..9 {
            for kernel in 1..6 {
                for stride in 1..4 {
                    for dilation in 1..4 {
                        for (before, after) in [(0, 0), (1, 0), (0, 2), (2, 1), (3, 3), (5, 0)] {
                            let text = format!(
                                "in=({input},) k={kernel} stride={stride} dilation={dilation} pad=(({before},{after}),)"
                            );
                            let Ok(spec) = Spec::parse(&text) else {
                                continue;
                            };
                            let axis = spec.axes()[0];
                            let brute: usize = (0..axis.kernel())
                                .map(|tap| axis.outputs_reading(tap).len())
                                .sum();
                            assert_eq!(axis.pairs(), brute as u128, "{text}");
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert!(checked > 1000, "{checked}");
    }

    /// `Σ ⌊(a·j + b) / m⌋` against the sum term by term.
    #[test]
    fn floor_sum_matches_the_terms() {
        for n in 0..20u128 {
            for m in 1..7 {
                for a in 0..9 {
                    for b in 0..9 {
                        let brute: u128 = (0..n).map(|j| (a * j + b) / m).sum();
                        assert_eq!(super::floor_sum(n, m, a, b), brute, "{n} {m} {a} {b}");
                    }
                }
            }
        }
    }

    /// 482 436 412 taps, every one reading every output (a `macro_parse` fuzzing finding:
    /// the sum tap by tap took 90 s there).
    #[test]
    fn pairs_of_a_long_kernel_at_once() {
        let spec = Spec::parse("in=(214748243648,) k=482436412").unwrap();
        let outputs = 214_748_243_648u128 - 482_436_412 + 1;
        assert_eq!(spec.multiply_adds(), outputs * 482_436_412);
    }

    /// One axis whose pairs of output and tap pass `usize` though its output fits: 12 taps
    /// over 2^61 outputs (a `macro_parse` fuzzing finding; the sum per axis overflowed
    /// `usize` and panicked in debug builds).
    #[test]
    fn multiply_adds_of_one_axis_past_usize() {
        let spec = Spec::parse("in=(2147147482448243648,) k=12").unwrap();
        let outputs = 2_147_147_482_448_243_648u128 - 11;
        assert_eq!(spec.multiply_adds(), 12 * outputs);
        assert!(spec.multiply_adds() > u128::from(u64::MAX));
    }
}
