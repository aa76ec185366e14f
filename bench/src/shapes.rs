//! The layers issue 4 benchmarks, each with its const-generic direct loops, and the data
//! the benchmarks feed them; since issue 10, two transposed layers among them, whose direct
//! loops are their dual layers' (`crate::transposed`).

use conv_runtime::Spec;

use crate::Kernels;
use crate::direct::{Conv1d, Conv2d, Rows};
use crate::transposed::Transposed;

/// The generated kernels of the suite's layers, written as a user writes them.
mod generated {
    use convsym::conv;

    use crate::{Kernels, array, array_mut};

    macro_rules! layers {
        ($($name:ident { $($spec:tt)* })*) => {$(
            conv!(
                /// One of the suite's layers.
                pub struct $name; $($spec)*
            );

            impl Kernels for $name {
                fn forward_into(&mut self, input: &[f32], weight: &[f32], output: &mut [f32]) {
                    $name.forward_into(array(input), array(weight), array_mut(output));
                }
                fn grad_input_into(&mut self, weight: &[f32], delta: &[f32], grad: &mut [f32]) {
                    $name.grad_input_into(array(weight), array(delta), array_mut(grad));
                }
                fn grad_weight_into(&mut self, input: &[f32], delta: &[f32], grad: &mut [f32]) {
                    $name.grad_weight_into(array(input), array(delta), array_mut(grad));
                }
            }
        )*};
    }

    layers! {
        Seed { in = 5, k = 3, stride = 2 }
        Remainder { in = 6, k = 3, stride = 2 }
        LenetC1 { in = 28, k = 5, cin = 1, cout = 6 }
        LenetC3 { in = 14, k = 5, cin = 6, cout = 16 }
        StridedPadded { in = 32, k = 3, stride = 2, pad = 1, cin = 8, cout = 16 }
        Depthwise { in = 16, k = 3, pad = 1, cin = 32, cout = 32, groups = 32 }
        Audio1d { in = (1024,), k = 9, stride = 4, cin = 1, cout = 8 }
        ResnetStem { in = 224, k = 7, stride = 2, pad = 3, cin = 3, cout = 64 }
        Resnet3x3 { in = 56, k = 3, pad = 1, cin = 64, cout = 64 }
        Resnet1x1 { in = 56, k = 1, cin = 256, cout = 64 }
        ResnetDown { in = 56, k = 3, stride = 2, pad = 1, cin = 128, cout = 128 }
        MobilenetDw { in = 56, k = 3, pad = 1, cin = 144, cout = 144, groups = 144 }
        Speech1d { in = (8000,), k = 11, pad = 5, cin = 32, cout = 32 }
        DcganUp { in = 28, k = 4, stride = 2, pad = 1, cin = 64, cout = 32, transposed }
        Upsample1d { in = (2000,), k = 8, stride = 4, pad = 2, cin = 16, cout = 8, transposed }
    }
}

/// Makes a fresh set of kernels for one layer.
pub type Make = fn() -> Box<dyn Kernels>;

/// A layer's two direct-loop baselines: gathering one output element at a time, and one
/// kernel tap at a time over whole rows (`direct::Rows`). Which is faster depends on the
/// layer and the pass, so the suite runs both.
#[derive(Clone, Copy)]
pub struct Direct {
    /// The gathers (`direct::Conv2d`).
    pub gather: Make,
    /// The row-at-a-time order.
    pub rows: Make,
}

/// Both direct baselines of the const-generic layer type `$layer`.
macro_rules! direct {
    ($layer:ty) => {
        Direct {
            gather: || Box::new(<$layer>::default()),
            rows: || Box::new(Rows(<$layer>::default())),
        }
    };
}

/// Both direct baselines of a transposed layer, from `$dual`, the const-generic type of the
/// ordinary layer it transposes (`conv_runtime::Spec::dual`): `gather` collects each output
/// from the inputs that scatter into it (the dual's input-gradient gather), `rows` scatters
/// the input one kernel tap at a time over whole rows (the dual's `grad_input_rows`).
macro_rules! transposed {
    ($dual:ty) => {
        Direct {
            gather: || Box::new(Transposed(<$dual>::default())),
            rows: || Box::new(Transposed(Rows(<$dual>::default()))),
        }
    };
}

/// One benchmarked layer.
#[derive(Clone, Copy)]
pub struct Shape {
    /// A short name, used in benchmark ids: `seed`, `lenet-c1`, ….
    pub name: &'static str,
    /// The specification, as `conv_runtime::Spec::parse` reads it.
    pub spec: &'static str,
    /// Why the issue picked it.
    pub why: &'static str,
    /// The direct loops, with this layer's sizes as const generics, in both orders (a
    /// transposed layer's: its dual layer's sizes).
    pub direct: Direct,
    /// The kernels `conv!` generates for this layer (`auto` unrolling, as a user gets them).
    pub generated: Make,
}

impl Shape {
    /// The validated specification.
    ///
    /// # Panics
    ///
    /// If the text does not parse: the table below is fixed, so that is a bug here.
    pub fn spec(&self) -> Spec {
        Spec::parse(self.spec)
            .unwrap_or_else(|errors| panic!("`{}` is not a valid layer: {errors:?}", self.spec))
    }
}

/// The layers of the suite: issue 4's seven, smallest first within each kind, then the six
/// of real networks the performance issue added (layers of ResNet-50 and of `MobileNet` v2 at
/// 224×224, and a speech front end), each a hundred to two thousand times `lenet-c3`'s work
/// (except `mobilenet-dw`'s); then the two transposed layers of issue 10.
pub const SHAPES: [Shape; 15] = [
    Shape {
        name: "seed",
        spec: "in=5 k=3 stride=2",
        why: "the design's example",
        direct: direct!(Conv2d<1, 1, 1, 5, 5, 3, 3, 2, 2, 0, 0>),
        generated: || Box::new(generated::Seed),
    },
    Shape {
        name: "remainder",
        spec: "in=6 k=3 stride=2",
        why: "remainder r = 1",
        direct: direct!(Conv2d<1, 1, 1, 6, 6, 3, 3, 2, 2, 0, 0>),
        generated: || Box::new(generated::Remainder),
    },
    Shape {
        name: "lenet-c1",
        spec: "in=28 k=5 cin=1 cout=6",
        why: "a classic small layer (LeNet C1)",
        direct: direct!(Conv2d<1, 6, 1, 28, 28, 5, 5, 1, 1, 0, 0>),
        generated: || Box::new(generated::LenetC1),
    },
    Shape {
        name: "lenet-c3",
        spec: "in=14 k=5 cin=6 cout=16",
        why: "multi-channel (LeNet C3)",
        direct: direct!(Conv2d<6, 16, 1, 14, 14, 5, 5, 1, 1, 0, 0>),
        generated: || Box::new(generated::LenetC3),
    },
    Shape {
        name: "strided-padded",
        spec: "in=32 k=3 stride=2 pad=1 cin=8 cout=16",
        why: "strided, padded",
        direct: direct!(Conv2d<8, 16, 1, 32, 32, 3, 3, 2, 2, 1, 1>),
        generated: || Box::new(generated::StridedPadded),
    },
    Shape {
        name: "depthwise",
        spec: "in=16 k=3 pad=1 cin=32 cout=32 groups=32",
        why: "depthwise",
        direct: direct!(Conv2d<32, 32, 32, 16, 16, 3, 3, 1, 1, 1, 1>),
        generated: || Box::new(generated::Depthwise),
    },
    Shape {
        name: "audio-1d",
        spec: "in=(1024,) k=9 stride=4 cin=1 cout=8",
        why: "audio-style 1-D",
        direct: direct!(Conv1d<1, 8, 1, 1024, 9, 4, 0>),
        generated: || Box::new(generated::Audio1d),
    },
    Shape {
        name: "resnet-stem",
        spec: "in=224 k=7 stride=2 pad=3 cin=3 cout=64",
        why: "ResNet's first layer",
        direct: direct!(Conv2d<3, 64, 1, 224, 224, 7, 7, 2, 2, 3, 3>),
        generated: || Box::new(generated::ResnetStem),
    },
    Shape {
        name: "resnet-3x3",
        spec: "in=56 k=3 pad=1 cin=64 cout=64",
        why: "ResNet's 3×3 bottleneck layer",
        direct: direct!(Conv2d<64, 64, 1, 56, 56, 3, 3, 1, 1, 1, 1>),
        generated: || Box::new(generated::Resnet3x3),
    },
    Shape {
        name: "resnet-1x1",
        spec: "in=56 k=1 cin=256 cout=64",
        why: "ResNet's 1×1 channel reduction",
        direct: direct!(Conv2d<256, 64, 1, 56, 56, 1, 1, 1, 1, 0, 0>),
        generated: || Box::new(generated::Resnet1x1),
    },
    Shape {
        name: "resnet-down",
        spec: "in=56 k=3 stride=2 pad=1 cin=128 cout=128",
        why: "ResNet's strided downsampling layer",
        direct: direct!(Conv2d<128, 128, 1, 56, 56, 3, 3, 2, 2, 1, 1>),
        generated: || Box::new(generated::ResnetDown),
    },
    Shape {
        name: "mobilenet-dw",
        spec: "in=56 k=3 pad=1 cin=144 cout=144 groups=144",
        why: "MobileNetV2's depthwise layer",
        direct: direct!(Conv2d<144, 144, 144, 56, 56, 3, 3, 1, 1, 1, 1>),
        generated: || Box::new(generated::MobilenetDw),
    },
    Shape {
        name: "speech-1d",
        spec: "in=(8000,) k=11 pad=5 cin=32 cout=32",
        why: "a speech model's 1-D layer (half a second at 16 kHz)",
        direct: direct!(Conv1d<32, 32, 1, 8000, 11, 1, 5>),
        generated: || Box::new(generated::Speech1d),
    },
    Shape {
        name: "dcgan-up",
        spec: "in=28 k=4 stride=2 pad=1 cin=64 cout=32 transposed",
        why: "a DCGAN/U-Net upsampling step (28×28 to 56×56)",
        // The dual: 56×56 input, 32 channels in, 64 out.
        direct: transposed!(Conv2d<32, 64, 1, 56, 56, 4, 4, 2, 2, 1, 1>),
        generated: || Box::new(generated::DcganUp),
    },
    Shape {
        name: "upsample-1d",
        spec: "in=(2000,) k=8 stride=4 pad=2 cin=16 cout=8 transposed",
        why: "1-D upsampling by 4 (2000 to 8000 positions)",
        // The dual: 8000 positions, 8 channels in, 16 out.
        direct: transposed!(Conv1d<8, 16, 1, 8000, 8, 4, 2>),
        generated: || Box::new(generated::Upsample1d),
    },
];

/// The multiply-adds one pass performs: one per connection (output, weight, input) that
/// does not land on padding. The forward pass and both gradients perform the same number.
///
/// A transposed layer's connections are counted on the ordinary layer with the same ones
/// (`Spec::connections`, its dual where `output_padding < stride`): that layer's output `p`,
/// tap `q` and input `p·s + q·d − pad` are the transposed layer's input, tap and output.
/// The transposed layer's own axes have no windows over its input to count.
pub fn multiply_adds(spec: &Spec) -> u64 {
    let spec = if spec.transposed() {
        spec.connections()
    } else {
        spec.clone()
    };
    // Connections factor over the axes: per axis, the (output, tap) pairs that read input.
    let per_axis = spec.axes().iter().map(|axis| {
        let mut pairs = 0;
        for output in 0..axis.output() {
            for tap in 0..axis.kernel() {
                pairs += u64::from(axis.source(output, tap).is_some());
            }
        }
        pairs
    });
    let channels = spec.batch() * spec.out_channels() * spec.in_channels_per_group();
    per_axis.product::<u64>() * channels as u64
}

/// A layer's inputs: the input `x`, the weight `w` and `δ = ∂L/∂z`.
#[derive(Clone, Debug)]
pub struct Data {
    /// `x`, `[batch][cin][in…]`.
    pub input: Vec<f32>,
    /// `w`, `[cout][cin/groups][k…]`, or `[cin][cout/groups][k…]` for a transposed layer.
    pub weight: Vec<f32>,
    /// `δ`, `[batch][cout][out…]`.
    pub delta: Vec<f32>,
}

impl Data {
    /// Integers in `-2..=2` from a fixed pseudo-random sequence.
    ///
    /// Every product is then an integer of magnitude at most 4 and every sum in these
    /// layers has at most 12,544 terms (`resnet-stem`'s weight gradient: 112 × 112 outputs),
    /// so every partial sum, in any order and with or without fused multiply-adds, is an
    /// integer of magnitude at most 50,176, below 2^24, and exact in `f32`: the baselines
    /// must agree with the reference
    /// exactly. The timings do not depend on the values (no subnormals, no special cases).
    pub fn small_integers(spec: &Spec) -> Data {
        Data::from_sequence(spec, 0x9E37_79B9_7F4A_7C15, |state| {
            f32::from(((state >> 32) % 5) as u8) - 2.0
        })
    }

    /// Fractions of 2^15 in `[-1, 1)` from a fixed pseudo-random sequence: their sums'
    /// last bits change with the order of the additions, which the `threads` bench's check
    /// of the parallel forms needs.
    pub fn fractions(spec: &Spec) -> Data {
        Data::from_sequence(spec, 0x2545_F491_4F6C_DD1D, |state| {
            f32::from(u16::try_from(state >> 48).unwrap_or(0)) / 32_768.0 - 1.0
        })
    }

    /// The layer's operands, each element `value(state)` of the xorshift64 sequence from
    /// `seed`: deterministic, and enough to avoid structured data.
    fn from_sequence(spec: &Spec, seed: u64, mut value: impl FnMut(u64) -> f32) -> Data {
        let mut state = seed;
        let mut values = |len: usize| -> Vec<f32> {
            (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    value(state)
                })
                .collect()
        };
        Data {
            input: values(spec.input_len()),
            weight: values(spec.weight_len()),
            delta: values(spec.output_len()),
        }
    }
}
