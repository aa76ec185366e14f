//! What a loop kernel needs to know about the index map `i = p·s + q·d − pad_lo`, per
//! axis and per kernel tap, so that its innermost loop runs branch-free over a row: which
//! output positions a tap reads real input at (not padding), and how much work a layer is.

use core::ops::Range;

use crate::{Axis, Spec};

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
}

impl Spec {
    /// The multiply-adds one pass of the layer performs: the products in its forward
    /// equations, which is also the number in each of its two gradients. Saturates at
    /// `usize::MAX` for layers too large to count.
    pub fn multiply_adds(&self) -> usize {
        let per_position = self.axes().iter().fold(1usize, |product, axis| {
            let pairs: usize = (0..axis.kernel())
                .map(|tap| axis.outputs_reading(tap).len())
                .sum();
            product.saturating_mul(pairs)
        });
        [
            self.batch(),
            self.out_channels(),
            self.in_channels_per_group(),
        ]
        .into_iter()
        .fold(per_position, usize::saturating_mul)
    }
}

#[cfg(test)]
mod tests {
    use crate::{Spec, derive};

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

    #[test]
    fn multiply_adds_counts_the_forward_products() {
        for text in [
            "in=5 k=3 stride=2",
            "in=(7,6) k=(3,2) stride=2 pad=(2,1) cin=4 cout=6 groups=2 batch=2",
            "in=(4,5,3) k=(2,3,2) stride=(1,2,1) pad=1",
        ] {
            let spec = Spec::parse(text).unwrap();
            let products: usize = derive::forward(&spec)
                .map(|equation| equation.rhs.terms().len())
                .sum();
            assert_eq!(spec.multiply_adds(), products, "{text}");
        }
    }
}
