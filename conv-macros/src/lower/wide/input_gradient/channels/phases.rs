//! The phases of the stride the channel block's input gradient runs one by one: on each
//! axis, the inputs at one position modulo the stride, the taps that reach them and where
//! those taps read δ, and the zero-padded δ every phase reads.

use conv_runtime::{Axis, Spec};

/// One phase of one axis: the inputs `phase + s·j` for `j < inputs`, and the taps that
/// reach them.
#[derive(Clone)]
pub(super) struct AxisPhase {
    pub(super) phase: usize,
    pub(super) inputs: usize,
    /// The layer's taps in the order the sub-kernel reads δ: descending, δ ascending.
    pub(super) taps: Vec<usize>,
    /// Where the first tap reads for `j = 0` in δ padded by the axis's `before` zeros.
    pub(super) first: usize,
    /// The distance in δ from one tap's read to the next (`d / gcd(s, d)`).
    pub(super) reach: usize,
}

/// An axis's phases, one per position modulo the stride that some input has, and the
/// zeros they read before and after δ.
pub(super) struct AxisPhases {
    pub(super) phases: Vec<AxisPhase>,
    pub(super) before: usize,
    pub(super) after: usize,
}

impl AxisPhases {
    /// `None` where an index would not fit `usize`. In `i128`, where no sum or product of
    /// the axis's sizes overflows.
    pub(super) fn of(axis: &Axis) -> Option<Self> {
        let wide = |value: usize| value as i128;
        let (stride, dilation, pad) = (
            wide(axis.stride()),
            wide(axis.dilation()),
            wide(axis.pad_before()),
        );
        // Per phase: its inputs, `(tap, δ index for j = 0)` with δ ascending.
        let mut reads_of = Vec::new();
        let (mut lowest, mut highest) = (0, wide(axis.output()) - 1);
        for phase in 0..axis.stride().min(axis.input()) {
            let inputs = (axis.input() - phase).div_ceil(axis.stride());
            let reads: Vec<(usize, i128)> = (0..axis.kernel())
                .rev()
                .filter_map(|tap| {
                    let reached = wide(phase) + pad - wide(tap) * dilation;
                    (reached.rem_euclid(stride) == 0).then(|| (tap, reached.div_euclid(stride)))
                })
                .collect();
            if let (Some((_, first)), Some((_, last))) = (reads.first(), reads.last()) {
                lowest = lowest.min(*first);
                highest = highest.max(last + wide(inputs) - 1);
            }
            reads_of.push((phase, inputs, reads));
        }
        let mut phases = Vec::new();
        for (phase, inputs, reads) in reads_of {
            let (first, reach) = match reads.as_slice() {
                [] => (0, 1),
                [(_, first)] => (first - lowest, 1),
                [(_, first), (_, second), ..] => (first - lowest, second - first),
            };
            phases.push(AxisPhase {
                phase,
                inputs,
                taps: reads.iter().map(|&(tap, _)| tap).collect(),
                first: usize::try_from(first).ok()?,
                reach: usize::try_from(reach).ok()?,
            });
        }
        Some(AxisPhases {
            phases,
            before: usize::try_from(-lowest).ok()?,
            after: usize::try_from(highest - wide(axis.output()) + 1).ok()?,
        })
    }
}

/// Every phase of the layer: one phase per axis, the last axis's fastest.
pub(super) fn combinations(per_axis: &[AxisPhases]) -> Vec<Vec<AxisPhase>> {
    let mut combinations = vec![Vec::new()];
    for axis in per_axis {
        combinations = combinations
            .iter()
            .flat_map(|combination: &Vec<AxisPhase>| {
                axis.phases.iter().map(move |phase| {
                    let mut longer = combination.clone();
                    longer.push(phase.clone());
                    longer
                })
            })
            .collect();
    }
    combinations
}

/// The layer δ is the input of as the blocks read it: δ's sizes, padded by the most zeros
/// any phase reads before and after it on each axis, channels as the layer's outputs.
pub(super) fn delta_layer(spec: &Spec, per_axis: &[AxisPhases]) -> Option<Spec> {
    let mut ins = Vec::new();
    let mut pads = Vec::new();
    for (axis, phases) in spec.axes().iter().zip(per_axis) {
        ins.push(axis.output().to_string());
        pads.push(format!("({}, {})", phases.before, phases.after));
    }
    let layer = format!(
        "in=({},) k=1 pad=({},) cin={} cout={} groups={} batch={}",
        ins.join(", "),
        pads.join(", "),
        spec.out_channels(),
        spec.in_channels(),
        spec.groups(),
        spec.batch(),
    );
    Spec::parse(&layer).ok()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use conv_runtime::Spec;

    use super::AxisPhases;

    /// For every input of a one-axis layer, the `(tap, output)` pairs the chain rule sums
    /// (`p·s + q·d − pad = i`, `0 ≤ p < out`) are those the phase's sub-kernel reads inside
    /// δ, and every read stays within δ's zeros.
    #[test]
    fn each_phase_reads_exactly_the_chain_rules_terms() {
        for text in [
            "in=(56,) k=3 stride=2 pad=1",
            "in=(9,) k=3 stride=2",
            "in=(10,) k=3 stride=2 pad=1",
            "in=(11,) k=3 stride=3 dilation=2 pad=((2, 0),)",
            "in=(14,) k=3 stride=4 dilation=2 pad=((3, 0),)",
            "in=(9,) k=3 stride=2 dilation=2 pad=1",
            "in=(40,) k=5 stride=3 pad=((1, 2),)",
            "in=(2,) k=1 stride=3",
            "in=(8,) k=4 stride=2 pad=1",
            "in=(6,) k=2 pad=((3, 0),)",
            "in=(7,) k=2 stride=2 pad=((5, 4),)",
            "in=(12,) k=4 stride=6 dilation=3 pad=((4, 7),)",
        ] {
            let spec = Spec::parse(text).expect("a valid layer");
            let axis = &spec.axes()[0];
            let phases = AxisPhases::of(axis).expect("sizes fit");
            let padded = phases.before + axis.output() + phases.after;
            let (stride, dilation, pad) = (axis.stride(), axis.dilation(), axis.pad_before());
            let mut inputs = 0;
            for phase in &phases.phases {
                for j in 0..phase.inputs {
                    let input = phase.phase + stride * j;
                    let expected: BTreeSet<(usize, usize)> = (0..axis.kernel())
                        .flat_map(|tap| (0..axis.output()).map(move |output| (tap, output)))
                        .filter(|&(tap, output)| output * stride + tap * dilation == input + pad)
                        .collect();
                    let mut read = BTreeSet::new();
                    for (index, &tap) in phase.taps.iter().enumerate() {
                        let at = phase.first + j + phase.reach * index;
                        assert!(at < padded, "{text}: input {input} reads past δ's zeros");
                        if let Some(output) = at
                            .checked_sub(phases.before)
                            .filter(|&output| output < axis.output())
                        {
                            read.insert((tap, output));
                        }
                    }
                    assert_eq!(read, expected, "{text}: input {input}");
                    inputs += 1;
                }
            }
            assert_eq!(inputs, axis.input(), "{text}: every input in one phase");
        }
    }
}
