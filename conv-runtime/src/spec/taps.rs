//! Which kernel taps of an axis join an output to a real input, found without a loop over
//! the kernel: for a fixed output (or input) position, the taps `q` that qualify satisfy
//! a bound on `q·d` and, for the input gradient, a congruence modulo the stride, so they
//! form an arithmetic progression. The derivation walks only those taps, so an equation
//! costs its terms, not the kernel's size (`in=(1048576,) k=1048576` once walked 2^40 taps
//! to print a million one-term `dx` equations).

use super::axis::Axis;

/// The taps `first, first + step, …`, `count` of them, in ascending order; none by
/// default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Taps {
    /// The first tap.
    pub first: usize,
    /// How many taps.
    pub count: usize,
    /// From one tap to the next.
    pub step: usize,
}

impl Taps {
    /// The taps, in ascending order.
    pub fn iter(self) -> impl DoubleEndedIterator<Item = usize> + ExactSizeIterator {
        (0..self.count).map(move |index| self.first + index * self.step)
    }
}

impl Axis {
    /// The taps through which output `output` reads a real input rather than padding:
    /// `0 ≤ p·s + q·d − pad_lo < in`.
    pub fn output_taps(&self, output: usize) -> Taps {
        let low = wide(self.pad_before()) - wide(output) * wide(self.stride());
        self.taps_between(low, low + wide(self.input()) - 1, 1, 0)
    }

    /// The taps through which some output reaches input `position`: `q·d = i + pad_lo − p·s`
    /// for an output `p` in `0..out`.
    pub fn input_taps(&self, position: usize) -> Taps {
        let reach = wide(position) + wide(self.pad_before());
        let farthest = (wide(self.output()) - 1) * wide(self.stride());
        let residue =
            ((position % self.stride()) + (self.pad_before() % self.stride())) % self.stride();
        self.taps_between(reach - farthest, reach, self.stride(), residue)
    }

    /// The taps `q` of the kernel with `low ≤ q·d ≤ high` and `q·d ≡ residue (mod
    /// modulus)`, `d` the dilation: a range of taps, of which every
    /// `modulus / gcd(d, modulus)`-th one solves the congruence.
    fn taps_between(&self, low: i128, high: i128, modulus: usize, residue: usize) -> Taps {
        let dilation = wide(self.dilation());
        let first = (-(-low).div_euclid(dilation)).max(0);
        let last = high.div_euclid(dilation).min(wide(self.kernel()) - 1);
        if high < 0 || first > last {
            return Taps::default();
        }
        let common = gcd(self.dilation(), modulus);
        if !residue.is_multiple_of(common) {
            return Taps::default();
        }
        let period = modulus / common;
        // The first solution t0 of (d / g)·t ≡ residue / g (mod period); period = 1 when
        // the stride is 1 or the dilation a multiple of it, and every tap solves it.
        let solution = match inverse(self.dilation() / common % period, period) {
            Some(inverse) => {
                let product = (residue / common % period) as u128 * inverse as u128;
                wide((product % period as u128) as usize)
            }
            None => 0,
        };
        let step = wide(period);
        let start = first + (solution - first).rem_euclid(step);
        if start > last {
            return Taps::default();
        }
        // Taps lie in `0..k`, so every value here fits `usize`.
        let narrow = |value: i128| usize::try_from(value).unwrap_or(usize::MAX);
        Taps {
            first: narrow(start),
            count: narrow((last - start) / step + 1),
            step: period,
        }
    }
}

/// A size in signed arithmetic wide enough for any difference of two sizes or product of
/// two.
fn wide(size: usize) -> i128 {
    i128::try_from(size).unwrap_or(i128::MAX)
}

/// The greatest common divisor of `a` and `b`.
pub(super) fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The inverse of `value` modulo `modulus`, for coprime values and a modulus above 1.
fn inverse(value: usize, modulus: usize) -> Option<usize> {
    if modulus <= 1 {
        return None;
    }
    // The extended Euclidean algorithm: old_s · value ≡ old_r (mod modulus) throughout.
    let (mut old_r, mut r) = (wide(value), wide(modulus));
    let (mut old_s, mut s) = (1i128, 0i128);
    while r != 0 {
        let quotient = old_r / r;
        (old_r, r) = (r, old_r - quotient * r);
        (old_s, s) = (s, old_s - quotient * s);
    }
    (old_r == 1).then(|| old_s.rem_euclid(wide(modulus)) as usize)
}

#[cfg(test)]
mod tests {
    use alloc::format;
    use alloc::vec::Vec;

    use crate::spec::Spec;

    /// The unread positions skip the run every window of which lies inside the layer, and
    /// are still exactly those `why_unread` names, position by position.
    #[test]
    fn unread_skips_only_positions_that_are_read() {
        let mut layers = 0;
        for input in [1, 2, 5, 9, 16] {
            for kernel in [1, 2, 3, 5] {
                for stride in [1, 2, 3, 4] {
                    for dilation in [1, 2, 3] {
                        for pad in [(0, 0), (1, 0), (2, 3), (4, 1)] {
                            for transposed in ["", "transposed"] {
                                let text = format!(
                                    "in=({input},) k={kernel} stride={stride} dilation={dilation} pad=(({}, {}),) {transposed}",
                                    pad.0, pad.1
                                );
                                let Ok(spec) = Spec::parse(&text) else {
                                    continue;
                                };
                                layers += 1;
                                let axis = spec.axes()[0];
                                let unread: Vec<_> = axis.unread().collect();
                                let every: Vec<_> = (0..axis.input())
                                    .filter_map(|position| {
                                        Some((position, axis.why_unread(position)?))
                                    })
                                    .collect();
                                assert_eq!(unread, every, "{text}");
                            }
                        }
                    }
                }
            }
        }
        assert!(layers > 1000, "{layers} layers");
    }

    /// The progressions hold exactly the taps `source` and `target` accept, on axes with
    /// strides, dilations, paddings and remainders of every kind.
    #[test]
    fn the_progressions_are_the_taps_source_and_target_accept() {
        for text in crate::spec::TEST_AXES {
            let axis = Spec::parse(text).unwrap().axes()[0];
            // The progression against the kernel's taps that `accepts`, one by one.
            let same = |taps: super::Taps, accepts: &dyn Fn(usize) -> bool, at: &str| {
                let found: Vec<usize> = taps.iter().collect();
                let expected: Vec<usize> = (0..axis.kernel()).filter(|&tap| accepts(tap)).collect();
                assert_eq!(found, expected, "{text}: {at}");
            };
            for output in 0..axis.output() {
                let reads = |tap| axis.source(output, tap).is_some();
                same(
                    axis.output_taps(output),
                    &reads,
                    &format!("output {output}"),
                );
            }
            for position in 0..axis.input() {
                let reaches = |tap| axis.target(position, tap).is_some();
                same(
                    axis.input_taps(position),
                    &reaches,
                    &format!("input {position}"),
                );
            }
        }
    }
}
