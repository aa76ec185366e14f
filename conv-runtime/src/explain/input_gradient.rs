//! Step 5, the input gradient: the padded, dilated δ correlated with the rotated kernel,
//! window by window, then its equations and why the zero ones are zero
//! (see [`super::never_read`]).

use alloc::format;
use alloc::vec;

use super::builder::Builder;
use super::correlation::Correlation;
use super::document::Step;
use super::wording::{paragraph, shape_text, slice_label};
use crate::spec::Axis;
use crate::symbolic::construction;
use crate::symbolic::expr::{Equation, Tensor};

impl Builder<'_> {
    /// Step 5: the input gradient, from the construction's `equations`.
    pub(super) fn input_gradient(&self, equations: &[Equation]) -> Step {
        let spec = self.spec;
        let mut blocks = vec![paragraph(
            "∂L/∂x[n, c, i] = Σ δ[n, o, p] · w[o, c', q] over p·s + q·d − pad_lo = i is the full correlation of the padded, dilated δ with the kernel rotated by 180° (flipped along every axis), the kernel's taps d apart, stride 1. Each window gives one input gradient element.",
        )];
        let strides = self.per_axis(Axis::stride);
        let dilations = self.per_axis(Axis::dilation);
        let padding = construction::delta_padding(spec);
        let ones = vec![1; self.rank()];
        let (weight_shape, output_shape) = (spec.weight_shape(), spec.output_shape());
        let input_slice: usize = spec.axes().iter().map(Axis::input).product();
        let outputs_per_group = spec.out_channels_per_group();
        let slices = spec.batch() * spec.in_channels() * outputs_per_group;
        let mut shown = 0;
        'slices: for n in 0..spec.batch() {
            for channel in 0..spec.in_channels() {
                let group = channel / spec.in_channels_per_group();
                let channel_in_group = channel % spec.in_channels_per_group();
                for out_channel in group * outputs_per_group..(group + 1) * outputs_per_group {
                    if shown == self.limits.slices {
                        break 'slices;
                    }
                    shown += 1;
                    let delta_label = slice_label(
                        "δ",
                        ("batch", n, spec.batch()),
                        ("output channel", out_channel, spec.out_channels()),
                    );
                    let w_label = slice_label(
                        "w",
                        ("output channel", out_channel, spec.out_channels()),
                        (
                            "input channel",
                            channel_in_group,
                            spec.in_channels_per_group(),
                        ),
                    );
                    let kernel = construction::slice(
                        Tensor::Weight,
                        &weight_shape,
                        out_channel,
                        channel_in_group,
                    );
                    let rotated = kernel.rotate();
                    let delta = construction::slice(Tensor::Delta, &output_shape, n, out_channel)
                        .dilate(&strides)
                        .pad(&padding);
                    blocks.push(
                        self.matrix(format!("{w_label}, {}", shape_text(kernel.shape())), kernel),
                    );
                    blocks.push(self.matrix(format!("{w_label} rotated by 180°"), rotated.clone()));
                    self.windows(
                        &mut blocks,
                        &Correlation {
                            grid: &delta,
                            of: &format!("{delta_label} (dilated, padded)"),
                            kernel: &rotated,
                            dilation: &dilations,
                            stride: &ones,
                            target: Tensor::GradInput,
                            first: (n * spec.in_channels() + channel) * input_slice,
                            partial: outputs_per_group > 1,
                        },
                    );
                }
            }
        }
        self.omitted_slices(
            &mut blocks,
            slices,
            (
                "pair of δ and kernel slices",
                "pairs of δ and kernel slices",
            ),
        );
        blocks.extend(self.sums(
            "input gradient",
            (outputs_per_group, "output channels that read its channel"),
            equations,
        ));
        blocks.extend(self.zero_rows(equations));
        Step {
            title: "Input gradient: the padded, dilated δ correlated with the rotated kernel"
                .into(),
            blocks,
        }
    }
}
