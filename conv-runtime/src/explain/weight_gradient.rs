//! Step 4, the weight gradient: the input correlated with the dilated δ, window by window,
//! then its equations and the bias gradient's.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use super::builder::Builder;
use super::correlation::Correlation;
use super::document::Step;
use super::wording::{along, paragraph, shape_text, signed_pair, slice_label};
use crate::spec::Axis;
use crate::symbolic::expr::{Equation, Tensor};
use crate::symbolic::{construction, derive};

impl Builder<'_> {
    /// Step 4: the weight gradient, from the construction's `equations`.
    pub(super) fn weight_gradient(&self, equations: &[Equation]) -> Step {
        let spec = self.spec;
        let strides = self.per_axis(Axis::stride);
        let dilations = self.per_axis(Axis::dilation);
        let crop = construction::input_padding(spec);
        let ones = vec![1; self.rank()];
        let (input_shape, output_shape) = (spec.input_shape(), spec.output_shape());
        let dilation_text: Vec<String> = dilations.iter().map(ToString::to_string).collect();
        let crop_text: Vec<String> = crop.iter().copied().map(signed_pair).collect();
        let kernel_size: usize = spec.axes().iter().map(Axis::kernel).product();
        let mut blocks = vec![paragraph(format!(
            "∂L/∂w[o, c', q] = Σ_{{n, p}} δ[n, o, p] · x[n, c, p·s + q·d − pad_lo] is a correlation with the roles of the stride and the dilation swapped: the dilated δ slides over the input as a kernel, in steps of the dilation d ({}), with stride 1 inside the window. The input is first padded by (pad_lo, pad_hi − r): {} (a negative amount crops the positions the forward pass never read). Each window gives one weight gradient element.",
            along(&dilation_text),
            along(&crop_text)
        ))];
        let (groups_in, batch) = (spec.in_channels_per_group(), spec.batch());
        let slices = spec.out_channels() * groups_in * batch;
        let mut shown = 0;
        'slices: for out_channel in 0..spec.out_channels() {
            for channel_in_group in 0..groups_in {
                let channel = spec.group_of_output(out_channel) * groups_in + channel_in_group;
                for n in 0..batch {
                    if shown == self.limits.slices {
                        break 'slices;
                    }
                    shown += 1;
                    let x_label = slice_label(
                        "x",
                        ("batch", n, batch),
                        ("channel", channel, spec.in_channels()),
                    );
                    let x = construction::slice(Tensor::Input, &input_shape, n, channel);
                    let padded = x.pad(&crop);
                    let delta = construction::slice(Tensor::Delta, &output_shape, n, out_channel)
                        .dilate(&strides);
                    let (label, of) = if crop.iter().all(|&amount| amount == (0, 0)) {
                        (format!("{x_label}, {}", shape_text(x.shape())), x_label)
                    } else {
                        (
                            format!(
                                "{x_label} padded by {}, {}",
                                along(&crop_text),
                                shape_text(padded.shape())
                            ),
                            format!("{x_label} (padded)"),
                        )
                    };
                    blocks.push(self.matrix(label, padded.clone()));
                    self.windows(
                        &mut blocks,
                        &Correlation {
                            grid: &padded,
                            of: &of,
                            kernel: &delta,
                            dilation: &ones,
                            stride: &dilations,
                            target: Tensor::GradWeight,
                            first: (out_channel * groups_in + channel_in_group) * kernel_size,
                            partial: batch > 1,
                        },
                    );
                }
            }
        }
        self.omitted_slices(
            &mut blocks,
            slices,
            ("pair of input and δ slices", "pairs of input and δ slices"),
        );
        blocks.extend(self.sums("weight gradient", (batch, "batch elements"), equations));
        if spec.bias() {
            blocks.push(paragraph(
                "The bias gradient sums δ over each output channel:",
            ));
            blocks.push(self.equations_block(derive::grad_bias(spec)));
        }
        Step {
            title: "Weight gradient: the input correlated with the dilated δ".into(),
            blocks,
        }
    }
}
