//! The real layers of the `threads` bench at batch 1 and 8: each pass one-thread
//! (`…_into`) and parallel (`…_par_into`) on flat slices.

use conv_runtime::Spec;
use convsym::conv;

use crate::{array, array_mut};

/// One of the three passes.
#[derive(Clone, Copy, Debug)]
pub enum Pass {
    /// `z = conv(x, w)`.
    Forward,
    /// `∂L/∂x`.
    GradInput,
    /// `∂L/∂w`.
    GradWeight,
}

impl Pass {
    /// The three, in the suite's order.
    pub const ALL: [Pass; 3] = [Pass::Forward, Pass::GradInput, Pass::GradWeight];

    /// The suite's name for the pass.
    pub fn name(self) -> &'static str {
        match self {
            Pass::Forward => "forward",
            Pass::GradInput => "dx",
            Pass::GradWeight => "dw",
        }
    }

    /// Elements in the pass's output.
    pub fn output_len(self, spec: &Spec) -> usize {
        match self {
            Pass::Forward => spec.output_len(),
            Pass::GradInput => spec.input_len(),
            Pass::GradWeight => spec.weight_len(),
        }
    }
}

/// A layer's kernels, one-thread or parallel, on flat row-major slices.
pub trait Layer: Sync {
    /// The layer's specification.
    fn spec(&self) -> Spec;
    /// Runs `pass` from `x`, `w` and `δ` into `output`, by `…_par_into` when `parallel`.
    fn run(&self, pass: Pass, parallel: bool, operands: [&[f32]; 3], output: &mut [f32]);
}

macro_rules! layers {
    ($($name:ident $label:literal { $($spec:tt)* })*) => {
        $(
            conv!(
                /// One of the bench's layers.
                pub struct $name; $($spec)*
            );

            impl Layer for $name {
                fn spec(&self) -> Spec {
                    $name.spec()
                }

                fn run(&self, pass: Pass, parallel: bool, [x, w, dz]: [&[f32]; 3], output: &mut [f32]) {
                    match (pass, parallel) {
                        (Pass::Forward, false) => $name.forward_into(array(x), array(w), array_mut(output)),
                        (Pass::Forward, true) => $name.forward_par_into(array(x), array(w), array_mut(output)),
                        (Pass::GradInput, false) => $name.grad_input_into(array(w), array(dz), array_mut(output)),
                        (Pass::GradInput, true) => $name.grad_input_par_into(array(w), array(dz), array_mut(output)),
                        (Pass::GradWeight, false) => $name.grad_weight_into(array(x), array(dz), array_mut(output)),
                        (Pass::GradWeight, true) => $name.grad_weight_par_into(array(x), array(dz), array_mut(output)),
                    }
                }
            }
        )*

        /// Every layer, named `layer-b{batch}`.
        pub const LAYERS: &[(&str, &dyn Layer)] = &[$(($label, &$name)),*];
    };
}

layers! {
    StemB1 "resnet-stem-b1" { in = 224, k = 7, stride = 2, pad = 3, cin = 3, cout = 64 }
    StemB8 "resnet-stem-b8" { in = 224, k = 7, stride = 2, pad = 3, cin = 3, cout = 64, batch = 8 }
    R3x3B1 "resnet-3x3-b1" { in = 56, k = 3, pad = 1, cin = 64, cout = 64 }
    R3x3B8 "resnet-3x3-b8" { in = 56, k = 3, pad = 1, cin = 64, cout = 64, batch = 8 }
    R1x1B1 "resnet-1x1-b1" { in = 56, k = 1, cin = 256, cout = 64 }
    R1x1B8 "resnet-1x1-b8" { in = 56, k = 1, cin = 256, cout = 64, batch = 8 }
    DownB1 "resnet-down-b1" { in = 56, k = 3, stride = 2, pad = 1, cin = 128, cout = 128 }
    DownB8 "resnet-down-b8" { in = 56, k = 3, stride = 2, pad = 1, cin = 128, cout = 128, batch = 8 }
    DwB1 "mobilenet-dw-b1" { in = 56, k = 3, pad = 1, cin = 144, cout = 144, groups = 144 }
    DwB8 "mobilenet-dw-b8" { in = 56, k = 3, pad = 1, cin = 144, cout = 144, groups = 144, batch = 8 }
    SpeechB1 "speech-1d-b1" { in = (8000,), k = 11, pad = 5, cin = 32, cout = 32 }
    SpeechB8 "speech-1d-b8" { in = (8000,), k = 11, pad = 5, cin = 32, cout = 32, batch = 8 }
    DcganB1 "dcgan-up-b1" { in = 28, k = 4, stride = 2, pad = 1, cin = 64, cout = 32, transposed }
    DcganB8 "dcgan-up-b8" { in = 28, k = 4, stride = 2, pad = 1, cin = 64, cout = 32, transposed, batch = 8 }
    UpsampleB1 "upsample-1d-b1" { in = (2000,), k = 8, stride = 4, pad = 2, cin = 16, cout = 8, transposed }
    UpsampleB8 "upsample-1d-b8" { in = (2000,), k = 8, stride = 4, pad = 2, cin = 16, cout = 8, transposed, batch = 8 }
    // Small layers, under the threshold (`THRESHOLD`, 2^21, which is also `SPLIT_FROM` in
    // the runtime, under which `conv!` writes no tasks): their parallel forms are their
    // one-thread kernels.
    Small147k "threshold-147k" { in = 16, k = 3, pad = 1, cin = 4, cout = 16 }
    Small295k "threshold-295k" { in = 16, k = 3, pad = 1, cin = 8, cout = 16 }
    Small1m "threshold-1.2m" { in = 16, k = 3, pad = 1, cin = 16, cout = 32 }
}
