//! The wide builds of the loop kernels (`convsym::kernel`) on layers that take each of their
//! paths (channel blocks and runs along a row), run in every build this processor has, capped with
//! `kernel::set_widest`. On integer data every build must equal the numeric reference
//! exactly. On any data the two wide builds must equal each other bit for bit (the same
//! terms in the same order, each by a fused multiply-add); the portable build rounds each
//! product and sums in another order, so its last bits may differ. With infinities
//! and NaN among the data, every build of every pass (and the unrolled kernels) must give
//! each output the value of its printed equation: the sum of exactly its terms. The other
//! kernel tests run only the widest build.

mod common;

use std::sync::Mutex;

use common::{array, array_mut};
use convsym::derive::{self, Section};
use convsym::kernel::{self, Width};
use convsym::{Equation, Spec, Tensor, Variable, reference};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestRunner};

/// The cap is global: tests that set it take turns.
static CAP: Mutex<()> = Mutex::new(());

type Forward = fn(&[f32], &[f32], &[f32]) -> Vec<f32>;

struct Kernels {
    spec: Spec,
    forward: Forward,
    grad_input: fn(&[f32], &[f32]) -> Vec<f32>,
    grad_weight: fn(&[f32], &[f32]) -> Vec<f32>,
    /// Empty without a bias.
    grad_bias: fn(&[f32]) -> Vec<f32>,
}

/// Each layer's kernels, in their `_into` forms: a layer's outputs may be larger than a
/// test thread's stack.
macro_rules! layers {
    ($($name:ident [$($bias:ident)?] { $($arguments:tt)* })*) => {
        $(
            convsym::conv!(
                /// A layer with channel blocks.
                struct $name; $($arguments)*
            );
        )*

        fn each(mut visit: impl FnMut(&'static str, Kernels)) {
            $(
                visit(stringify!($name), Kernels {
                    spec: $name.spec(),
                    forward: |x, w, _b| {
                        let mut z = vec![0.0; $name::OUTPUT_LEN];
                        $name.forward_into(array(x), array(w) $(, array(layers!(@$bias _b)))?, array_mut(&mut z));
                        z
                    },
                    grad_input: |w, dz| {
                        let mut dx = vec![0.0; $name::INPUT_LEN];
                        $name.grad_input_into(array(w), array(dz), array_mut(&mut dx));
                        dx
                    },
                    grad_weight: |x, dz| {
                        let mut dw = vec![0.0; $name::WEIGHT_LEN];
                        $name.grad_weight_into(array(x), array(dz), array_mut(&mut dw));
                        dw
                    },
                    grad_bias: layers!(@grad_bias $name $($bias)?),
                });
            )*
        }
    };
    (@bias $b:ident) => { $b };
    (@grad_bias $name:ident) => { |_| Vec::new() };
    (@grad_bias $name:ident bias) => { |dz| $name.grad_bias(array(dz)).to_vec() };
}

layers! {
    // Output rows of 10: one block of 10 sums (one vector of 16 channels, AVX-512), or
    // blocks of 4, 3 and 3 (two vectors, AVX2).
    LenetC3 [] { in = 14, k = 5, cin = 6, cout = 16, unroll = loops }
    // Rows of 21: blocks of 11 and 10 sums (AVX-512), of 4, 4, 4, 3, 3 and 3 (AVX2).
    Rows21 [] { in = (6, 25), k = 5, cin = 2, cout = 16, unroll = loops }
    // Padded and strided, with a bias and two samples.
    StridedPadded [bias] { in = (11, 13), k = 3, stride = 2, pad = 1, cin = 3, cout = 16, bias, batch = 2, unroll = loops }
    // One axis, dilated, padded unevenly; r = 2 leaves inputs unread.
    Audio [] { in = (103,), k = 9, stride = 4, dilation = 2, pad = ((3, 1),), cout = 8, unroll = loops }
    // One long padded axis: the forward pass reads the input in place and only the
    // blocks at either end read a copy of the row's ends (blocks of 16 and 15 outputs
    // in AVX-512, of 4 and 3 in AVX2); the last input is read by no window.
    LineEdges [bias] { in = (301,), k = 5, stride = 2, pad = ((2, 3),), cin = 3, cout = 16, bias, batch = 2, unroll = loops }
    // Padded after the row alone, where the stride's remainder leaves that padding unread:
    // the input is read in place with no copy at all (the block's choice between the
    // copy and the input was an `if` without a condition, which did not compile).
    LineUnreadPad [] { in = (60,), k = 5, stride = 3, pad = ((0, 1),), cin = 4, cout = 8, unroll = loops }
    // Padding wider than a block: two blocks at the start read the copy, dilated.
    LineWidePad [] { in = (200,), k = 3, dilation = 2, pad = ((14, 9),), cin = 2, cout = 8, unroll = loops }
    // Padded on two axes, the input read in place: the top and bottom output rows read
    // a padded copy of their input rows, the blocks at either end of the others a copy of
    // each row's ends. Then strided, dilated, padded unevenly, with two bands of rows at
    // the top, a bias and two samples.
    PlaneEdges [] { in = (20, 120), k = 3, pad = 1, cin = 2, cout = 16, unroll = loops }
    // Read in place with no padding along the first axis: no output row reads a band of
    // padded rows (the band copy was a loop over chunks of none, which panicked).
    PlaneNoBands [] { in = (6, 40), k = 3, pad = ((0, 0), (1, 1)), cin = 2, cout = 8, unroll = loops }
    PlaneBands [bias] {
        in = (61, 200), k = (3, 5), stride = 2, dilation = (2, 1), pad = ((3, 2), (2, 4)),
        cin = 2, cout = 8, bias, batch = 2, unroll = loops
    }
    // Two groups of 16 output channels, a rectangular dilated kernel.
    Groups [bias] { in = (9, 10), k = (3, 2), dilation = (1, 2), cin = 4, cout = 32, groups = 2, bias, unroll = loops }
    // Three axes, padded on two of them.
    ThreeAxes [] { in = (4, 5, 9), k = (2, 2, 3), stride = (1, 1, 2), pad = (0, 1, 1), cin = 2, cout = 8, unroll = loops }
    // 24 channels: a multiple of 8, not of 16.
    TwentyFour [] { in = 7, k = 3, cin = 2, cout = 24, pad = same, unroll = loops }
    // The layer whose expansion the macro crate's snapshot pins: two input channels per
    // group, strided and padded on both axes, two phases per row.
    Snapshot [bias] {
        in = (30, 28), k = (3, 2), stride = 2, pad = (2, 1), cin = 4, cout = 6, groups = 2,
        bias, batch = 2, unroll = loops
    }
    // One input and one output channel per group: the input gradient's runs along a row.
    Depthwise [] { in = (6, 37), k = 3, pad = 1, cin = 3, cout = 3, groups = 3, unroll = loops }
    // Depthwise layers, each channel's plane copied on its own (issue 9): rows of 17, 31
    // and 57 outputs (a run and a remainder in both builds), with a bias and two samples;
    // dilated and padded unevenly on every side; strided along the axis before the last
    // (the input gradient then by phase); three axes; one axis; two output channels per
    // input channel.
    DepthwiseBias [bias] { in = (5, 17), k = 3, pad = 1, cin = 3, cout = 3, groups = 3, bias, batch = 2, unroll = loops }
    DepthwiseDilated [] {
        in = (6, 31), k = (2, 3), dilation = (2, 3), pad = ((2, 1), (0, 5)), cin = 2, cout = 2,
        groups = 2, unroll = loops
    }
    DepthwiseStrided [] { in = (9, 57), k = 3, stride = (2, 1), pad = 1, cin = 2, cout = 2, groups = 2, batch = 2, unroll = loops }
    DepthwiseCube [] { in = (3, 4, 57), k = (2, 3, 3), pad = (1, 0, 2), cin = 2, cout = 2, groups = 2, unroll = loops }
    DepthwiseLine [bias] { in = (70,), k = 5, dilation = 2, pad = ((3, 1),), cin = 4, cout = 4, groups = 4, bias, batch = 2, unroll = loops }
    DepthwiseMultiplier [bias] { in = (6, 19), k = 3, pad = 1, cin = 3, cout = 6, groups = 3, bias, unroll = loops }
    // Six output channels: the forward pass's runs along a row, over blocks of channels.
    LenetC1 [bias] { in = (12, 28), k = 5, cout = 6, bias, unroll = loops }
    // Three output channels, dilated and padded, one axis.
    Rows [] { in = (50,), k = 4, dilation = 2, pad = 3, cin = 2, cout = 3, unroll = loops }
    // One input channel per group at stride 1: the input gradient as the dual layer's
    // forward pass (δ padded, the kernel flipped), dilated and padded unevenly.
    Dual [] {
        in = (7, 19), k = (2, 3), dilation = (2, 1), pad = ((1, 0), (2, 1)), cin = 2, cout = 4,
        groups = 2, batch = 2, unroll = loops
    }
    // 64 channels: two 16-lane vectors per sum in the AVX-512 build; remainder r = 1.
    SixtyFour [] { in = (6, 9), k = 2, stride = (1, 2), cin = 3, cout = 64, unroll = loops }
    // 64 channels per group and a 1×1 kernel: the AVX-512 forward pass's widest block
    // (four vectors), over rows of 15 outputs in blocks of 4, 4, 4 and 3; strided,
    // padded, two groups.
    Wide64 [] { in = (3, 27), k = 1, stride = (1, 2), pad = 1, cin = 2, cout = 128, groups = 2, unroll = loops }
    // A 1×1 kernel at stride 1, unpadded: the pointwise product, blocks of 8 output
    // channels (4 in AVX2) by two vectors of the plane, 38 positions in one whole run and
    // a tail of 6 (AVX-512) or two runs and a tail of 6 (AVX2), with a bias; its input
    // gradient the same with 3 channels in a block.
    Line64 [bias] { in = (38,), k = 1, cin = 3, cout = 64, bias, unroll = loops }
    // Pointwise on two axes, a plane of 77 (runs of 32 and a tail of 13, or of 16 and 13),
    // two groups of 16 output channels, a bias, two samples; on three axes, a plane of
    // 30, shorter than a run; with 7 output channels (blocks of 7, or of 1 in AVX2) and
    // 7 input channels (the input gradient's blocks).
    Pointwise [bias] {
        in = (7, 11), k = 1, cin = 6, cout = 32, groups = 2, bias, batch = 2, unroll = loops
    }
    PointwiseCube [] { in = (2, 3, 5), k = 1, cin = 4, cout = 8, unroll = loops }
    PointwisePrime [] { in = (5, 9), k = 1, dilation = 2, cin = 7, cout = 7, batch = 2, unroll = loops }
    // Planes longer than the runs copied at once: 600 positions in spans of 256 (two) and
    // a last of 88 (AVX-512; 128 and 88 in AVX2); and 1100 input channels, whose spans are
    // one run each (40 positions: one run and 8).
    PointwiseLong [bias] { in = (20, 30), k = 1, cin = 3, cout = 16, bias, unroll = loops }
    PointwiseDeep [] { in = (40,), k = 1, cin = 1100, cout = 4, unroll = loops }
    // More positions than the weight gradient packs in one tile (261 rows of 32, over
    // 1 MB of δ in 32-channel vectors): in the AVX-512 build, blocks of 64 channels in
    // tiles of 2 rows, the last of 1; AVX2's 16-channel vectors stay in one tile.
    PointwiseTall [] { in = (261, 32), k = 1, cout = 64, unroll = loops }
    // Unpadded with two taps, two samples of 16 399 outputs (1.05 MB of δ a sample in the
    // AVX-512 build's 16-channel vectors): the weight gradient reads the input in place in
    // tiles of one row, where it had packed all of δ in one tile.
    LongUnpadded [] { in = (16400,), k = 2, cout = 16, batch = 2, unroll = loops }
    // And on three axes, padded: rows of 13 in blocks of 4, 3, 3 and 3.
    Cube64 [] { in = (3, 4, 11), k = 1, pad = (0, 1, 1), cin = 2, cout = 64, unroll = loops }
    // Wider kernels keep two vectors (32 channels) and 8 sums: rows of 14 in blocks of 7.
    Wide64Taps [] { in = (3, 27), k = 3, stride = (1, 2), pad = 1, cin = 2, cout = 128, groups = 2, unroll = loops }
    // More input channels per group than taps along a row: the weight gradient's block
    // of input channels, 11 per group cut into blocks of 6 and 5, strided and padded.
    ManyInputs [bias] {
        in = (5, 7), k = (2, 3), stride = (2, 1), pad = 1, cin = 22, cout = 32, groups = 2,
        bias, batch = 2, unroll = loops
    }
    // The same block on one axis (13 input channels, a kernel of 3) and on three.
    ManyInputsRow [] { in = (40,), k = 3, pad = 1, dilation = 2, cin = 13, cout = 8, unroll = loops }
    ManyInputsThreeAxes [] {
        in = (3, 4, 5), k = (2, 1, 2), stride = (1, 2, 1), pad = (0, 0, 1), cin = 5, cout = 8,
        unroll = loops
    }
    // Eight input channels per group at stride 1: the input gradient as the dual layer's
    // channel block over the flipped, transposed weights, padded unevenly and dilated,
    // on two axes, one and three.
    DualChannels [bias] {
        in = (6, 11), k = (3, 2), dilation = (1, 2), pad = ((2, 0), (1, 2)), cin = 16,
        cout = 6, groups = 2, bias, batch = 2, unroll = loops
    }
    DualChannelsRow [] { in = (30,), k = 5, pad = (2,), cin = 16, cout = 4, unroll = loops }
    DualChannelsThreeAxes [] {
        in = (3, 4, 6), k = (2, 2, 3), pad = (1, 0, 1), cin = 8, cout = 2, batch = 2,
        unroll = loops
    }
    // A multiple of 16 input channels per group past stride 1: the input gradient's channel
    // block on each phase of the stride. k = 3 at stride 2 (sub-kernels of 2 and 1 taps
    // per axis), padded, remainders r = 0 and 1, a bias and two samples.
    StridedChannels [bias] {
        in = (9, 10), k = 3, stride = 2, pad = 1, cin = 16, cout = 6, bias, batch = 2,
        unroll = loops
    }
    // Stride 3 with dilation 2 (a phase's taps 3 apart, reading δ 2 apart) and stride 2
    // with k = 2, padded unevenly on every side, two groups of 16 input channels.
    StridedDilated [] {
        in = (8, 9), k = (3, 2), stride = (3, 2), dilation = (2, 1), pad = ((2, 0), (1, 3)),
        cin = 32, cout = 6, groups = 2, unroll = loops
    }
    // Strides sharing a factor with the dilation: half the phases (or more) no tap
    // reaches, whose inputs are zeros.
    StridedEvenDilation [] {
        in = (9, 14), k = 3, stride = (2, 4), dilation = 2, pad = ((1, 1), (3, 0)), cin = 16,
        cout = 4, unroll = loops
    }
    // One axis at stride 3, k = 5 (sub-kernels of 2, 2 and 1 taps), remainder r = 2, 32
    // input channels.
    StridedRow [] { in = (40,), k = 5, stride = 3, pad = ((1, 2),), cin = 32, cout = 3, unroll = loops }
    // Three axes at stride 2, padded on two of them, two samples.
    StridedThreeAxes [] {
        in = (3, 4, 5), k = (2, 3, 3), stride = 2, pad = ((0, 0), (1, 1), (0, 2)), cin = 16,
        cout = 3, batch = 2, unroll = loops
    }
    // A 1×1 kernel at strides 3 and 2, the first past the input (one phase unreached on
    // each axis), 32 input channels.
    StridedOneByOne [] { in = (2, 9), k = 1, stride = (3, 2), cin = 32, cout = 8, unroll = loops }
    // An even kernel at stride 2 (sub-kernels of 2 taps), 48 input channels: three blocks.
    StridedEvenKernel [bias] { in = (8, 7), k = 4, stride = 2, pad = 1, cin = 48, cout = 2, bias, unroll = loops }
    // Stride 1 with padding past the kernel's reach, which the dual layer does not take.
    PaddedPastReach [] { in = (6, 5), k = 2, pad = ((3, 0), (0, 2)), cin = 16, cout = 2, unroll = loops }
    // The forward channel block's sums stored four outputs at a time (`Wide::store`):
    // AVX-512's 32 channels by 8 outputs, two groups, two samples, a bias.
    StoreGroups [bias] {
        in = (3, 16), k = 3, pad = 1, cin = 4, cout = 64, groups = 2, bias, batch = 2,
        unroll = loops
    }
    // 64 channels by 4 outputs on one axis, padded; 8 by 12 (AVX-512) or 8 (AVX2), and
    // the dual layer's 16 by 8, in the forward pass and the input gradient of the next.
    StoreLine [] { in = (24,), k = 1, pad = 1, cin = 5, cout = 64, batch = 2, unroll = loops }
    StoreDual [] { in = (24,), k = 3, pad = 1, cin = 16, cout = 8, batch = 2, unroll = loops }
    // The weight gradient's rows in tiles, each block's sums carried from tile to tile:
    // rows of 40 outputs, 32 channels, 3 rows a tile in AVX-512 (6 in AVX2), 14 rows over
    // two samples, so that a tile holds rows of both and the last is shorter; over taps,
    // and over 4 input channels with a strided axis (8 rows: tiles of 3, 3 and 2).
    TiledRows [bias] { in = (7, 40), k = 3, pad = 1, cin = 1, cout = 32, bias, batch = 2, unroll = loops }
    TiledChannels [] {
        in = (7, 40), k = (3, 2), stride = (2, 1), pad = 1, cin = 4, cout = 32, batch = 2,
        unroll = loops
    }
    // Three axes: 16 channels by 8 outputs (AVX-512), or by 4 and 4 (AVX2).
    StoreCube [] { in = (2, 3, 8), k = (1, 2, 1), cin = 2, cout = 16, unroll = loops }
    // The layers: padding next to an infinite weight, and dx5 = d2*w3 past the
    // zeros a stride puts between δ's entries.
    Padded [] { in = 12, k = 3, pad = 1, unroll = loops }
    Seed [] { in = 5, k = 3, stride = 2, unroll = loops }
    // One axis at stride 1, rows of 520 and 530 outputs: `rows` blocks over output
    // channels (two blocks of 8) in the forward pass and the input gradient's dual layer,
    // where shorter rows take the channel block; a bias and two samples, and dilated,
    // padded unevenly.
    LongRowChannels [bias] { in = (520,), k = 3, pad = 1, cin = 4, cout = 16, bias, batch = 2, unroll = loops }
    LongRowDilated [] { in = (530,), k = 3, dilation = 3, pad = ((4, 2),), cin = 2, cout = 8, unroll = loops }
    // Rows cut into blocks, the forward pass's input rows split by phase: portable paths.
    LongRow [] { in = (600,), k = 5, stride = 2, pad = 2, cin = 2, cout = 2, unroll = loops }
    // A kernel longer than the 16 taps whose sums the portable weight gradient keeps at
    // once: two blocks of taps, the second of 3.
    LongKernel [] { in = (40,), k = 19, pad = 2, cin = 2, cout = 3, unroll = loops }
    // Straight-line code: padded, strided with remainder r = 1, a bias.
    SeedUnrolled [bias] { in = 6, k = 3, stride = 2, pad = 1, bias, unroll = full }
    // Straight-line code: dilated, grouped, two samples.
    GroupsUnrolled [bias] {
        in = (5, 4), k = 2, dilation = (2, 1), cin = 2, cout = 4, groups = 2, bias, batch = 2,
        unroll = full
    }
}

/// Integers in `-3..=4`: every sum in these layers is exact in `f32`, in any order.
fn integers(len: usize, seed: u64) -> Vec<f32> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            f32::from(u8::try_from(state >> 61).unwrap_or(0)) - 3.0
        })
        .collect()
}

/// The builds this processor has, narrowest first.
fn builds() -> Vec<Width> {
    let mut builds = Vec::new();
    for width in [Width::Portable, Width::Avx2, Width::Avx512] {
        kernel::set_widest(width);
        if kernel::widest() == width {
            builds.push(width);
        }
    }
    kernel::set_widest(Width::Avx512);
    builds
}

#[test]
fn every_build_gives_the_reference_exactly() {
    let _turn = CAP
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let builds = builds();
    eprintln!("builds on this processor: {builds:?}");
    each(|name, kernels| {
        let spec = &kernels.spec;
        let (x, w, b, dz) = (
            integers(spec.input_len(), 1),
            integers(spec.weight_len(), 2),
            integers(spec.bias_len(), 3),
            integers(spec.output_len(), 4),
        );
        let expected = [
            reference::forward(spec, &x, &w, &b),
            reference::grad_input(spec, &w, &dz),
            reference::grad_weight(spec, &x, &dz),
        ];
        for &width in &builds {
            kernel::set_widest(width);
            let actual = [
                (kernels.forward)(&x, &w, &b),
                (kernels.grad_input)(&w, &dz),
                (kernels.grad_weight)(&x, &dz),
            ];
            for (pass, (actual, expected)) in ["forward", "dx", "dw"]
                .iter()
                .zip(actual.iter().zip(&expected))
            {
                assert_eq!(actual, expected, "{name} {pass} in the {width:?} build");
            }
        }
        kernel::set_widest(Width::Avx512);
    });
}

#[test]
fn the_wide_builds_round_the_same() {
    let _turn = CAP
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let builds = builds();
    each(|name, kernels| {
        let spec = &kernels.spec;
        // Values whose products and sums round: the builds must still agree bit for bit.
        let noisy = |len: usize, seed: u64| -> Vec<f32> {
            integers(len, seed)
                .iter()
                .enumerate()
                .map(|(index, value)| {
                    value / 7.0 + f32::from(u16::try_from(index % 1000).unwrap_or(0)).sqrt() / 3.0
                })
                .collect()
        };
        let (x, w, b, dz) = (
            noisy(spec.input_len(), 5),
            noisy(spec.weight_len(), 6),
            noisy(spec.bias_len(), 7),
            noisy(spec.output_len(), 8),
        );
        let runs: Vec<(Width, [Vec<u32>; 3])> = builds
            .iter()
            .map(|&width| {
                kernel::set_widest(width);
                let bits = [
                    (kernels.forward)(&x, &w, &b),
                    (kernels.grad_input)(&w, &dz),
                    (kernels.grad_weight)(&x, &dz),
                ]
                .map(|values| {
                    values
                        .iter()
                        .map(|value| value.to_bits())
                        .collect::<Vec<_>>()
                });
                (width, bits)
            })
            .collect();
        for pair in runs.windows(2) {
            let [(narrow, narrow_bits), (wide, wide_bits)] = pair else {
                unreachable!("windows of two")
            };
            // The portable build rounds products the wide builds fuse.
            let passes = if *narrow == Width::Portable { 0 } else { 3 };
            for (pass, (narrow_bits, wide_bits)) in ["forward", "dx", "dw"]
                .iter()
                .zip(narrow_bits.iter().zip(wide_bits))
                .take(passes)
            {
                assert!(
                    narrow_bits == wide_bits,
                    "{name} {pass}: the {wide:?} build rounds differently from {narrow:?}"
                );
            }
        }
        kernel::set_widest(Width::Avx512);
    });
}

/// A layer's equations, derived once: the value every build must give.
struct Equations {
    sections: Vec<(&'static str, Vec<Equation>)>,
}

impl Equations {
    fn of(spec: &Spec) -> Self {
        let sections = [
            ("forward", Section::Forward),
            ("dx", Section::GradInput),
            ("dw", Section::GradWeight),
            ("db", Section::GradBias),
        ]
        .into_iter()
        .map(|(pass, section)| (pass, derive::equations(spec, section).collect()))
        .collect();
        Equations { sections }
    }
}

/// The layer's tensors: `x`, `w`, `b`, `dz`.
type Data = [Vec<f32>; 4];

/// The value of an equation's right-hand side on `data`: in `f32`, the sum of its terms.
fn value(equation: &Equation, [x, w, b, dz]: &Data) -> f32 {
    equation
        .rhs
        .evaluate(|Variable { tensor, index }| match tensor {
            Tensor::Input => x[index],
            Tensor::Weight => w[index],
            Tensor::Bias => b[index],
            Tensor::Delta => dz[index],
            other => unreachable!("no equation reads {other:?}"),
        })
}

/// Whether `actual` is what the equation gives: NaN for NaN, the same infinity, and on
/// the integer data of these tests the same finite value (the sign of a zero may differ).
#[allow(
    clippy::float_cmp,
    reason = "exact: the data are small integers and infinities"
)]
fn same(actual: f32, expected: f32) -> bool {
    actual == expected || actual.is_nan() && expected.is_nan()
}

/// Integers in `-3..=4`, with up to `specials` of them replaced by an infinity or NaN.
fn tensor(len: usize, specials: usize) -> impl Strategy<Value = Vec<f32>> {
    let special = prop_oneof![Just(f32::INFINITY), Just(f32::NEG_INFINITY), Just(f32::NAN)];
    (
        vec((-3_i8..=4).prop_map(f32::from), len),
        vec((any::<Index>(), special), 0..=specials),
    )
        .prop_map(move |(mut values, specials)| {
            if len > 0 {
                for (at, special) in specials {
                    values[at.index(len)] = special;
                }
            }
            values
        })
}

/// Every pass of `kernels` in every build against the equations, on data with at most
/// `specials` non-finite values per tensor: the first disagreement found, shrunk.
fn agree_with_equations(
    name: &str,
    kernels: &Kernels,
    builds: &[Width],
    specials: usize,
) -> Result<(), String> {
    let spec = &kernels.spec;
    let equations = Equations::of(spec);
    let data = (
        tensor(spec.input_len(), specials),
        tensor(spec.weight_len(), specials),
        tensor(spec.bias_len(), specials),
        tensor(spec.output_len(), specials),
    )
        .prop_map(|(x, w, b, dz)| [x, w, b, dz]);
    let config = Config {
        cases: 12,
        failure_persistence: None,
        ..Config::default()
    };
    let result = TestRunner::new(config).run(&data, |data| {
        let [x, w, b, dz] = &data;
        for &width in builds {
            kernel::set_widest(width);
            let actual = [
                (kernels.forward)(x, w, b),
                (kernels.grad_input)(w, dz),
                (kernels.grad_weight)(x, dz),
                (kernels.grad_bias)(dz),
            ];
            for ((pass, equations), actual) in equations.sections.iter().zip(&actual) {
                prop_assert_eq!(actual.len(), equations.len());
                for (equation, &actual) in equations.iter().zip(actual) {
                    let expected = value(equation, &data);
                    prop_assert!(
                        same(actual, expected),
                        "{} {} in the {:?} build: {} gives {}, the kernel {}",
                        name,
                        pass,
                        width,
                        equation,
                        expected,
                        actual
                    );
                }
            }
        }
        Ok(())
    });
    kernel::set_widest(Width::Avx512);
    result.map_err(|failure| format!("{name}: {failure}"))
}

/// Runs [`agree_with_equations`] on every layer and reports every layer that disagrees.
fn every_layer_agrees(specials: usize) {
    let _turn = CAP
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let builds = builds();
    let mut failures = Vec::new();
    each(|name, kernels| {
        if let Err(failure) = agree_with_equations(name, &kernels, &builds, specials) {
            failures.push(failure);
        }
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_build_gives_the_printed_equations_on_integers() {
    every_layer_agrees(0);
}

/// Padding, the zeros between a stride's taps and a register block's spare lanes
/// contribute no term: an infinity reaches only the outputs whose equations name it.
#[test]
fn every_build_gives_the_printed_equations_on_infinities_and_nan() {
    every_layer_agrees(3);
}
