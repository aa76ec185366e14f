//! A transposed layer's explanation: its sizes and the ordinary layer it transposes, its
//! forward pass as the seed's construction (the input dilated by the stride, padded,
//! correlated with the rotated kernel window by window), its gradients, and the check that
//! the construction gives the chain rule's equations.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use super::builder::Builder;
use super::correlation::Correlation;
use super::document::{Block, Formula, Step, Table};
use super::wording::{along, axis_names, every, paragraph, shape_text, signed_pair, slice_label};
use crate::spec::{Axis, Unread};
use crate::symbolic::construction;
use crate::symbolic::derive::{self, Section};
use crate::symbolic::expr::{Equation, Tensor};

impl Builder<'_> {
    /// Every step of a transposed layer's explanation, and whether its construction agrees
    /// with the chain rule.
    pub(super) fn transposed(&self) -> (Vec<Step>, bool) {
        let forward = construction::forward(self.spec).unwrap_or_default();
        let input_gradient = construction::grad_input(self.spec);
        let weight_gradient = construction::grad_weight(self.spec);
        let agreeing = format!(
            "The construction equals the chain rule's equations term for term: {} of step 2, and {} and {} of step 3 (δ padded by (pad_lo, pad_hi − output_padding) and correlated with the kernel, and with the dilated input), each compared in full with z[n, o, i·s + q·d − pad_lo] += x[n, c, i] · w[c, o', q] and its derivatives.",
            every(forward.len(), "z"),
            every(input_gradient.len(), "dx"),
            every(weight_gradient.len(), "dw"),
        );
        let (check, agrees) = self.check(
            &[
                ("z", &forward, Section::Forward),
                ("dx", &input_gradient, Section::GradInput),
                ("dw", &weight_gradient, Section::GradWeight),
            ],
            agreeing,
        );
        let steps = vec![
            self.transposed_sizes(),
            self.scattered_forward(&forward),
            self.transposed_gradients(),
            check,
        ];
        (steps, agrees)
    }

    /// Step 1: the tensors, each axis's output size, the dual layer and the inputs cropped
    /// away.
    fn transposed_sizes(&self) -> Step {
        let spec = self.spec;
        let mut blocks = vec![
            paragraph(format!(
                "The layer: {spec}. A transposed convolution scatters each input element through the kernel: z[n, o, i·s + q·d − pad_lo] += x[n, c, i] · w[c, o', q], for the output channels o of c's group (o' counts them within it); pad crops the output at both ends and output_padding lengthens it at the end. Tensors are row-major, each element named by its tensor's letter and its 1-based position."
            )),
            Block::Table(Table {
                header: vec!["tensor".into(), "shape".into(), "elements".into()],
                rows: vec![
                    tensor_row("x (input)", "[batch, cin, in…]", &spec.input_shape()),
                    tensor_row("w (weight)", "[cin, cout/groups, k…]", &spec.weight_shape()),
                    tensor_row("z (output)", "[batch, cout, out…]", &spec.output_shape()),
                ],
            }),
        ];
        for (axis, &(_, name)) in spec.axes().iter().zip(axis_names(self.rank())) {
            blocks.push(paragraph(format!("Along the {name}:")));
            blocks.push(Block::Formulas(vec![output_formula(axis)]));
        }
        if let Some(dual) = spec.dual() {
            blocks.push(paragraph(format!(
                "This layer is the input gradient of the ordinary layer {dual}: the same kernel, stride, dilation, padding and groups, this layer's output size as its input, the channels swapped. Its input gradient is this layer's forward pass, its forward pass this layer's input gradient, and its weight gradient this layer's with x and δ swapped."
            )));
        }
        for (number, axis) in spec.axes().iter().enumerate() {
            let extra = axis.output_padding() / axis.stride();
            if extra > 0 {
                blocks.push(paragraph(format!(
                    "On axis {}, output_padding ({}) reaches the stride ({}), so that layer has {extra} more output position{} than this layer has inputs: the correspondence holds with δ = 0 there.",
                    number + 1,
                    axis.output_padding(),
                    axis.stride(),
                    if extra == 1 { "" } else { "s" },
                )));
            }
            let cropped: Vec<String> = axis
                .unread()
                .filter(|&(_, reason)| reason == Unread::Cropped)
                .map(|(position, _)| (position + 1).to_string())
                .collect();
            if !cropped.is_empty() {
                blocks.push(paragraph(format!(
                    "On axis {}, pad crops every output that input position{} {} scatter{} to: no output reads {}, so its dx is 0.",
                    number + 1,
                    if cropped.len() == 1 { "" } else { "s" },
                    along(&cropped),
                    if cropped.len() == 1 { "s" } else { "" },
                    if cropped.len() == 1 { "it" } else { "them" },
                )));
            }
        }
        Step {
            title: "Sizes".into(),
            blocks,
        }
    }

    /// Step 2: the forward pass as the construction, slice by slice and window by window.
    fn scattered_forward(&self, forward: &[Equation]) -> Step {
        let spec = self.spec;
        let strides = self.per_axis(Axis::stride);
        let dilations = self.per_axis(Axis::dilation);
        let padding = construction::transposed_input_padding(spec);
        let zeros: Vec<String> = strides.iter().map(|s| (s - 1).to_string()).collect();
        let amounts: Vec<String> = padding.iter().copied().map(signed_pair).collect();
        let mut blocks = vec![paragraph(format!(
            "The scatter is a correlation. Dilate x by the stride, s − 1 zeros between neighbours: {}. Pad it by (k_eff − 1 − pad_lo, k_eff − 1 − pad_hi + output_padding): {}; a negative amount crops. Correlate it with the kernel rotated by 180°, the taps d apart, stride 1: each window gives one output element.",
            along(&zeros),
            along(&amounts),
        ))];
        let (input_shape, weight_shape) = (spec.input_shape(), spec.weight_shape());
        let output_slice: usize = spec.axes().iter().map(Axis::output).product();
        let (groups_in, groups_out) = (spec.in_channels_per_group(), spec.out_channels_per_group());
        let ones = vec![1; self.rank()];
        let slices = spec.batch() * spec.out_channels() * groups_in;
        let pairs = (0..spec.batch()).flat_map(|n| {
            (0..spec.out_channels()).flat_map(move |o| {
                let group = o / groups_out;
                (group * groups_in..(group + 1) * groups_in).map(move |c| (n, o, c))
            })
        });
        for (n, out_channel, channel) in pairs.take(self.limits.slices) {
            let x_label = slice_label(
                "x",
                ("batch", n, spec.batch()),
                ("input channel", channel, spec.in_channels()),
            );
            let w_label = slice_label(
                "w",
                ("input channel", channel, spec.in_channels()),
                ("output channel", out_channel % groups_out, groups_out),
            );
            let x = construction::slice(Tensor::Input, &input_shape, n, channel);
            let dilated = x.dilate(&strides);
            let padded = dilated.pad(&padding);
            let kernel = construction::slice(
                Tensor::Weight,
                &weight_shape,
                channel,
                out_channel % groups_out,
            );
            let rotated = kernel.rotate();
            blocks.push(self.matrix(format!("{x_label}, {}", shape_text(x.shape())), x));
            blocks.push(self.matrix(
                format!(
                    "{x_label} dilated by the stride, {}",
                    shape_text(dilated.shape())
                ),
                dilated,
            ));
            blocks.push(self.matrix(
                format!(
                    "{x_label} dilated and padded, {}",
                    shape_text(padded.shape())
                ),
                padded.clone(),
            ));
            blocks.push(self.matrix(format!("{w_label}, {}", shape_text(kernel.shape())), kernel));
            blocks.push(self.matrix(format!("{w_label} rotated by 180°"), rotated.clone()));
            self.windows(
                &mut blocks,
                &Correlation {
                    grid: &padded,
                    of: &format!("{x_label} (dilated, padded)"),
                    kernel: &rotated,
                    dilation: &dilations,
                    stride: &ones,
                    target: Tensor::Output,
                    first: (n * spec.out_channels() + out_channel) * output_slice,
                    partial: groups_in > 1 || spec.bias(),
                },
            );
        }
        self.omitted_slices(
            &mut blocks,
            slices,
            (
                "pair of input and kernel slices",
                "pairs of input and kernel slices",
            ),
        );
        if spec.bias() {
            blocks.push(paragraph("Each output adds the bias b[o] of its channel."));
        }
        blocks.extend(self.sums(
            "output",
            (groups_in, "input channels of its group"),
            forward,
        ));
        Step {
            title: "Forward pass: the dilated, padded input correlated with the rotated kernel"
                .into(),
            blocks,
        }
    }

    /// Step 3: the gradients, by the chain rule.
    fn transposed_gradients(&self) -> Step {
        let spec = self.spec;
        let mut blocks = vec![
            paragraph(
                "Differentiating the scatter term by term, with δ = ∂L/∂z (d in equations): ∂L/∂x[n, c, i] = Σ δ[n, o, i·s + q·d − pad_lo] · w[c, o', q], an ordinary strided convolution of δ; ∂L/∂w[c, o', q] = Σ x[n, c, i] · δ[n, o, i·s + q·d − pad_lo]; both over the taps and positions whose output survives the cropping.",
            ),
            paragraph("The input gradient:"),
            self.equations_block(derive::grad_input(spec)),
            paragraph("The weight gradient:"),
            self.equations_block(derive::grad_weight(spec)),
        ];
        if spec.bias() {
            blocks.push(paragraph("The bias gradient, ∂L/∂b[o] = Σ δ[n, o, t]:"));
            blocks.push(self.equations_block(derive::grad_bias(spec)));
        }
        Step {
            title: "Gradients".into(),
            blocks,
        }
    }
}

/// A row of the tensor table: name, layout and shape, element count.
fn tensor_row(name: &str, layout: &str, shape: &[usize]) -> Vec<String> {
    vec![
        name.into(),
        format!("{layout} = {}", shape_text(shape)),
        shape.iter().product::<usize>().to_string(),
    ]
}

/// `out = (in − 1)·s − pad_lo − pad_hi + d·(k − 1) + output_padding + 1`, with the axis's
/// numbers.
fn output_formula(axis: &Axis) -> Formula {
    let numbers = [
        axis.input(),
        axis.stride(),
        axis.pad_before(),
        axis.pad_after(),
        axis.dilation(),
        axis.kernel(),
        axis.output_padding(),
        axis.output(),
    ];
    let [
        input,
        stride,
        before,
        after,
        dilation,
        kernel,
        padding,
        output,
    ] = numbers;
    Formula {
        text: format!(
            "out = (in − 1)·s − pad_lo − pad_hi + d·(k − 1) + output_padding + 1 = ({input} − 1)·{stride} − {before} − {after} + {dilation}·({kernel} − 1) + {padding} + 1 = {output}"
        ),
        latex: format!(
            "\\mathit{{out}} = (\\mathit{{in}} - 1)\\,s - \\mathit{{pad}}_{{\\mathrm{{lo}}}} - \\mathit{{pad}}_{{\\mathrm{{hi}}}} + d\\,(k - 1) + \\mathit{{output\\_padding}} + 1 = ({input} - 1)\\cdot{stride} - {before} - {after} + {dilation}\\cdot({kernel} - 1) + {padding} + 1 = {output}"
        ),
    }
}
