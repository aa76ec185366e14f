//! The equations of a layer by the chain rule, read straight off the index map
//! `z[n, o, p] ← w[o, c', q] · x[n, c, p·s + q·d − pad_lo]`.
//!
//! A transposed layer's connections are those of an ordinary layer read backwards (see
//! [`Spec::dual`]): its forward equations are that layer's input gradient, its input
//! gradient that layer's forward equations, with `x` and `δ` swapped.
//!
//! Each section is a stream: equations are built one at a time as the iterator is
//! advanced, so a layer with tens of millions of terms starts printing at once and never
//! holds more than one equation in memory.

use alloc::borrow::Cow;
use alloc::vec::Vec;

use super::expr::{Equation, Expr, Tensor, Term, Variable};
use super::layout::{Layout, MAX_DIMS, for_each_index, for_each_tap};
use crate::spec::{Axis, Spec, Taps};

/// The four groups of equations a layer has, in the order they are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Section {
    /// `z = …`, the forward pass.
    Forward,
    /// `dx = …`, the input gradient.
    GradInput,
    /// `dw = …`, the weight gradient.
    GradWeight,
    /// `db = …`, the bias gradient.
    GradBias,
}

impl Section {
    /// Every section, in printing order.
    pub const ALL: [Section; 4] = [
        Section::Forward,
        Section::GradInput,
        Section::GradWeight,
        Section::GradBias,
    ];

    /// The tensor whose elements the section's equations define.
    pub fn tensor(self) -> Tensor {
        match self {
            Section::Forward => Tensor::Output,
            Section::GradInput => Tensor::GradInput,
            Section::GradWeight => Tensor::GradWeight,
            Section::GradBias => Tensor::GradBias,
        }
    }

    /// The most terms one of the section's equations can have for `spec`, from the shapes
    /// alone (saturated at `usize::MAX`).
    pub fn max_terms(self, spec: &Spec) -> usize {
        if spec.transposed() && self != Section::GradBias {
            return self.on_connections(spec, Section::max_terms);
        }
        let product = |sizes: &mut dyn Iterator<Item = usize>| sizes.fold(1, usize::saturating_mul);
        let taps = product(&mut spec.axes().iter().map(Axis::kernel));
        let positions = product(&mut spec.axes().iter().map(Axis::output));
        match self {
            Section::Forward => spec
                .in_channels_per_group()
                .saturating_mul(taps)
                .saturating_add(usize::from(spec.bias())),
            Section::GradInput => spec.out_channels_per_group().saturating_mul(taps),
            // A layer without a bias has no `db` equation, however many outputs it has.
            Section::GradBias if !spec.bias() => 0,
            Section::GradWeight | Section::GradBias => spec.batch().saturating_mul(positions),
        }
    }

    /// How many terms equation `flat` (0-based) of the section has for `spec`, from the
    /// index map alone, without deriving it (saturated at `usize::MAX`); 0 past the last
    /// equation. A request can refuse one equation too long to hold before building it.
    pub fn terms(self, spec: &Spec, flat: usize) -> usize {
        if flat >= self.len(spec) {
            return 0;
        }
        if spec.transposed() && self != Section::GradBias {
            return self.on_connections(spec, |section, map| section.terms(map, flat));
        }
        let axes = spec.axes();
        let product =
            |counts: &mut dyn Iterator<Item = usize>| counts.fold(1, usize::saturating_mul);
        match self {
            Section::Forward => {
                let [_, _, position @ ..] = Layout::new(&spec.output_shape()).unravel(flat);
                let taps = product(
                    &mut axes
                        .iter()
                        .zip(position)
                        .map(|(axis, p)| axis.output_taps(p).count),
                );
                spec.in_channels_per_group()
                    .saturating_mul(taps)
                    .saturating_add(usize::from(spec.bias()))
            }
            Section::GradInput => {
                let [_, _, position @ ..] = Layout::new(&spec.input_shape()).unravel(flat);
                let taps = product(
                    &mut axes
                        .iter()
                        .zip(position)
                        .map(|(axis, i)| axis.input_taps(i).count),
                );
                spec.out_channels_per_group().saturating_mul(taps)
            }
            Section::GradWeight => {
                let [_, _, tap @ ..] = Layout::new(&spec.weight_shape()).unravel(flat);
                let positions = product(
                    &mut axes
                        .iter()
                        .zip(tap)
                        .map(|(axis, t)| axis.outputs_reading(t).len()),
                );
                spec.batch().saturating_mul(positions)
            }
            Section::GradBias => self.max_terms(spec),
        }
    }

    /// A count for a transposed layer, from `count` on the ordinary layer of the same
    /// connections: its forward and input-gradient sections swap, and the forward equations
    /// gain the bias.
    fn on_connections(self, spec: &Spec, count: impl Fn(Section, &Spec) -> usize) -> usize {
        let map = spec.connections();
        match self {
            Section::Forward => {
                count(Section::GradInput, &map).saturating_add(usize::from(spec.bias()))
            }
            Section::GradInput => count(Section::Forward, &map),
            Section::GradWeight | Section::GradBias => count(self, &map),
        }
    }

    /// The number of equations the section has for `spec`.
    pub fn len(self, spec: &Spec) -> usize {
        match self {
            Section::Forward => spec.output_len(),
            Section::GradInput => spec.input_len(),
            Section::GradWeight => spec.weight_len(),
            Section::GradBias => spec.bias_len(),
        }
    }
}

/// The forward equations, `z1 = w1*x1 + …`, one per output element.
pub fn forward(spec: &Spec) -> Equations<'_> {
    equations(spec, Section::Forward)
}

/// The input gradient, `dx1 = d1*w1 + …`, one equation per input element (an empty sum
/// for an input the forward pass never reads).
pub fn grad_input(spec: &Spec) -> Equations<'_> {
    equations(spec, Section::GradInput)
}

/// The weight gradient, `dw1 = d1*x1 + …`, one equation per weight element.
pub fn grad_weight(spec: &Spec) -> Equations<'_> {
    equations(spec, Section::GradWeight)
}

/// The bias gradient, `db1 = d1 + …`; empty when the layer has no bias.
pub fn grad_bias(spec: &Spec) -> Equations<'_> {
    equations(spec, Section::GradBias)
}

/// The equations of one section, built lazily.
pub fn equations(spec: &Spec, section: Section) -> Equations<'_> {
    Equations {
        deriver: Deriver::new(spec),
        section,
        next: 0,
        end: section.len(spec),
    }
}

/// A stream of equations; see [`equations`].
#[derive(Clone, Debug)]
pub struct Equations<'a> {
    deriver: Deriver<'a>,
    section: Section,
    next: usize,
    end: usize,
}

impl Iterator for Equations<'_> {
    type Item = Equation;

    fn next(&mut self) -> Option<Equation> {
        if self.next == self.end {
            return None;
        }
        let flat = self.next;
        self.next += 1;
        Some(self.deriver.equation(self.section, flat))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.end - self.next;
        (left, Some(left))
    }

    fn nth(&mut self, n: usize) -> Option<Equation> {
        self.next = self.next.saturating_add(n).min(self.end);
        self.next()
    }
}

impl ExactSizeIterator for Equations<'_> {}

/// The ordinary layer whose index map the equations read (the layer itself, or a
/// transposed layer's connections) and its layouts, computed once per stream.
#[derive(Clone, Debug)]
struct Deriver<'a> {
    spec: Cow<'a, Spec>,
    transposed: bool,
    bias: bool,
    input: Layout,
    weight: Layout,
    output: Layout,
}

impl<'a> Deriver<'a> {
    fn new(layer: &'a Spec) -> Self {
        let spec = if layer.transposed() {
            Cow::Owned(layer.connections())
        } else {
            Cow::Borrowed(layer)
        };
        Deriver {
            input: Layout::new(&spec.input_shape()),
            weight: Layout::new(&spec.weight_shape()),
            output: Layout::new(&spec.output_shape()),
            transposed: layer.transposed(),
            bias: layer.bias(),
            spec,
        }
    }

    fn equation(&self, section: Section, flat: usize) -> Equation {
        let rhs = match (self.transposed, section) {
            (false, Section::Forward) => self.forward(flat),
            (false, Section::GradInput) => self.grad_input(flat),
            (false, Section::GradWeight) => self.grad_weight(flat),
            (false, Section::GradBias) => self.grad_bias(&self.output, flat),
            // The transposed layer's output is the connections' input.
            (true, Section::Forward) => {
                let [_, out_channel, ..] = self.input.unravel(flat);
                let bias = Variable::new(Tensor::Bias, out_channel);
                let bias = self.bias.then(|| Term::new(1, [bias]));
                swap_input_and_delta(&self.grad_input(flat), bias)
            }
            (true, Section::GradInput) => swap_input_and_delta(&self.forward(flat), None),
            (true, Section::GradWeight) => swap_input_and_delta(&self.grad_weight(flat), None),
            (true, Section::GradBias) => self.grad_bias(&self.input, flat),
        };
        Equation {
            lhs: Variable::new(section.tensor(), flat),
            rhs,
        }
    }

    fn rank(&self) -> usize {
        self.spec.axes().len()
    }

    /// Each axis's taps, `taps(axis)`: those that join the equation's position to real
    /// data, the only ones its loops visit.
    fn taps(&self, taps: impl Fn(usize) -> Taps) -> [Taps; MAX_DIMS - 2] {
        core::array::from_fn(|axis| {
            if axis < self.rank() {
                taps(axis)
            } else {
                Taps::default()
            }
        })
    }

    fn output_dims(&self) -> &[usize] {
        &self.output.dims()[2..]
    }

    /// `z[n, o, p] = Σ_{c', q} w[o, c', q] · x[n, c, p·s + q·d − pad_lo] (+ b[o])`.
    fn forward(&self, flat: usize) -> Expr {
        let spec = &*self.spec;
        let [batch, out_channel, position @ ..] = self.output.unravel(flat);
        let group = spec.group_of_output(out_channel);
        let mut terms = Vec::new();
        let taps = self.taps(|axis| spec.axes()[axis].output_taps(position[axis]));
        for channel_in_group in 0..spec.in_channels_per_group() {
            let channel = group * spec.in_channels_per_group() + channel_in_group;
            for_each_tap(&taps[..self.rank()], |tap| {
                let mut input = [batch, channel, 0, 0, 0];
                for (axis, spec_axis) in spec.axes().iter().enumerate() {
                    match spec_axis.source(position[axis], tap[axis]) {
                        Some(source) => input[axis + 2] = source,
                        None => return,
                    }
                }
                let mut weight = [out_channel, channel_in_group, 0, 0, 0];
                weight[2..2 + tap.len()].copy_from_slice(tap);
                terms.push(Term::product(
                    Variable::new(
                        Tensor::Weight,
                        self.weight.ravel(&weight[..self.rank() + 2]),
                    ),
                    Variable::new(Tensor::Input, self.input.ravel(&input[..self.rank() + 2])),
                ));
            });
        }
        if spec.bias() {
            terms.push(Term::new(
                1,
                alloc::vec![Variable::new(Tensor::Bias, out_channel)],
            ));
        }
        Expr::from_terms(terms)
    }

    /// `dx[n, c, i] = Σ δ[n, o, p] · w[o, c', q]` over every `(o, q, p)` with
    /// `p·s + q·d − pad_lo = i`.
    fn grad_input(&self, flat: usize) -> Expr {
        let spec = &*self.spec;
        let [batch, channel, position @ ..] = self.input.unravel(flat);
        let group = channel / spec.in_channels_per_group();
        let channel_in_group = channel % spec.in_channels_per_group();
        let mut terms = Vec::new();
        let outputs = spec.out_channels_per_group();
        let taps = self.taps(|axis| spec.axes()[axis].input_taps(position[axis]));
        for out_channel in group * outputs..(group + 1) * outputs {
            let block = terms.len();
            for_each_tap(&taps[..self.rank()], |tap| {
                let mut output = [batch, out_channel, 0, 0, 0];
                for (axis, spec_axis) in spec.axes().iter().enumerate() {
                    match spec_axis.target(position[axis], tap[axis]) {
                        Some(target) => output[axis + 2] = target,
                        None => return,
                    }
                }
                let mut weight = [out_channel, channel_in_group, 0, 0, 0];
                weight[2..2 + tap.len()].copy_from_slice(tap);
                terms.push(Term::product(
                    Variable::new(Tensor::Delta, self.output.ravel(&output[..self.rank() + 2])),
                    Variable::new(
                        Tensor::Weight,
                        self.weight.ravel(&weight[..self.rank() + 2]),
                    ),
                ));
            });
            // Taps in ascending order reach outputs in descending order; reversed, the
            // block is already in canonical order and the sort below only confirms it.
            terms[block..].reverse();
        }
        Expr::from_terms(terms)
    }

    /// `dw[o, c', q] = Σ_{n, p} δ[n, o, p] · x[n, c, p·s + q·d − pad_lo]`.
    fn grad_weight(&self, flat: usize) -> Expr {
        let spec = &*self.spec;
        let [out_channel, channel_in_group, tap @ ..] = self.weight.unravel(flat);
        let channel =
            spec.group_of_output(out_channel) * spec.in_channels_per_group() + channel_in_group;
        let mut terms = Vec::new();
        for batch in 0..spec.batch() {
            for_each_index(self.output_dims(), |position| {
                let mut input = [batch, channel, 0, 0, 0];
                for (axis, spec_axis) in spec.axes().iter().enumerate() {
                    match spec_axis.source(position[axis], tap[axis]) {
                        Some(source) => input[axis + 2] = source,
                        None => return,
                    }
                }
                let mut output = [batch, out_channel, 0, 0, 0];
                output[2..2 + position.len()].copy_from_slice(position);
                terms.push(Term::product(
                    Variable::new(Tensor::Delta, self.output.ravel(&output[..self.rank() + 2])),
                    Variable::new(Tensor::Input, self.input.ravel(&input[..self.rank() + 2])),
                ));
            });
        }
        Expr::from_terms(terms)
    }

    /// `db[o] = Σ_{n, p} δ[n, o, p]`, `δ` laid out as `output` (`[batch][channel][…]`).
    fn grad_bias(&self, output: &Layout, out_channel: usize) -> Expr {
        let per_channel: usize = output.dims()[2..].iter().product();
        let channels = output.dims()[1];
        Expr::from_terms((0..self.spec.batch()).flat_map(|batch| {
            let first = (batch * channels + out_channel) * per_channel;
            (first..first + per_channel)
                .map(|delta| Term::new(1, [Variable::new(Tensor::Delta, delta)]))
        }))
    }
}

/// `expr` with every `x` read as `δ` and every `δ` as `x`, at the same indices, plus
/// `extra`.
fn swap_input_and_delta(expr: &Expr, extra: Option<Term>) -> Expr {
    let swap = |variable: Variable| match variable.tensor {
        Tensor::Input => Variable::new(Tensor::Delta, variable.index),
        Tensor::Delta => Variable::new(Tensor::Input, variable.index),
        _ => variable,
    };
    Expr::from_terms(
        expr.terms()
            .iter()
            .map(|term| Term::new(term.coefficient(), term.factors().iter().copied().map(swap)))
            .chain(extra),
    )
}

/// Keeps the array patterns above honest: the index arrays are sized for the deepest
/// layout.
const _: () = assert!(MAX_DIMS == 5);

#[cfg(test)]
mod tests {
    use super::*;

    /// The count from the index map is the length of every derived equation, across
    /// strides, dilations, paddings that leave taps on padding only, groups and bias.
    #[test]
    fn terms_counts_every_derived_equation() {
        for text in [
            "in=5 k=3 stride=2",
            "in=(9,) k=3 stride=2 dilation=2 pad=3",
            "in=(10,) k=4 stride=3 dilation=2 pad=((5,4),)",
            "in=(3,) k=3 pad=((7,5),) stride=4",
            "in=(4,) k=2 dilation=3 pad=((0,6),) stride=5",
            "in=(12,) k=5 stride=4 dilation=6 pad=((9,11),)",
            "in=(7,6) k=(3,2) stride=(2,3) dilation=(1,2) pad=same cin=4 cout=6 groups=2 bias batch=2",
            "in=(4,5,3) k=(2,3,2) stride=(1,2,1) pad=1 bias",
            "in=(5,) k=3 stride=2 transposed",
            "in=(4,3) k=(4,2) stride=(2,3) pad=((1,3),(2,0)) output_padding=(1,2) transposed bias",
            "in=(3,) k=2 dilation=3 output_padding=2 pad=((0,4),) transposed",
            "in=(3,4,2) k=(2,3,2) stride=(2,1,3) dilation=(1,2,1) cin=4 cout=2 groups=2 batch=2 transposed bias",
        ] {
            let spec = Spec::parse(text).unwrap();
            for section in Section::ALL {
                for equation in equations(&spec, section) {
                    let flat = equation.lhs.index;
                    assert_eq!(
                        section.terms(&spec, flat),
                        equation.rhs.terms().len(),
                        "{text}: {section:?} {flat}"
                    );
                    assert!(section.terms(&spec, flat) <= section.max_terms(&spec));
                }
                assert_eq!(section.terms(&spec, section.len(&spec)), 0);
            }
        }
    }

    /// Layers far too large to derive are counted at once: one `dw` equation of a
    /// four-billion-long axis, and a kernel of a trillion taps every millionth of which
    /// reaches an input.
    #[test]
    fn terms_counts_without_deriving() {
        let spec = Spec::parse("in=(4000000000,) k=1").unwrap();
        assert_eq!(Section::GradWeight.terms(&spec, 0), 4_000_000_000);
        assert_eq!(Section::Forward.terms(&spec, 3_999_999_999), 1);
        let spec =
            Spec::parse("in=(1000000000000,) k=1000000000000 stride=1000000 pad=999999999999")
                .unwrap();
        assert_eq!(spec.axes()[0].output(), 2_000_000);
        assert_eq!(Section::GradInput.terms(&spec, 0), 1_000_000);
    }

    #[test]
    fn multiply_adds_counts_the_forward_products() {
        for text in [
            "in=5 k=3 stride=2",
            "in=(7,6) k=(3,2) stride=2 pad=(2,1) cin=4 cout=6 groups=2 batch=2",
            "in=(4,5,3) k=(2,3,2) stride=(1,2,1) pad=1",
            "in=(4,3) k=(4,2) stride=(2,3) pad=((1,3),(2,0)) output_padding=(1,2) transposed",
            "in=(3,) k=2 dilation=3 output_padding=2 pad=((0,4),) cin=2 cout=4 transposed",
        ] {
            let spec = Spec::parse(text).unwrap();
            let products: usize = forward(&spec)
                .map(|equation| equation.rhs.terms().len())
                .sum();
            assert_eq!(spec.multiply_adds(), products as u128, "{text}");
        }
    }

    /// A transposed layer scatters each input through the kernel: worked by hand from
    /// `z[i·s + q] += x[i]·w[q]` for `in = 2, k = 3, s = 2` (out = 1·2 + 2 + 1 = 5), and
    /// from `dx[i] = Σ_q δ[i·s + q]·w[q]`, `dw[q] = Σ_i x[i]·δ[i·s + q]`.
    #[test]
    fn a_transposed_layer_scatters_its_input() {
        let spec = Spec::parse("in=(2,) k=3 stride=2 bias transposed").unwrap();
        let text = |section| -> Vec<String> {
            equations(&spec, section)
                .map(|equation| equation.to_string())
                .collect()
        };
        assert_eq!(
            text(Section::Forward),
            [
                "z1 = w1*x1 + b1",
                "z2 = w2*x1 + b1",
                "z3 = w1*x2 + w3*x1 + b1",
                "z4 = w2*x2 + b1",
                "z5 = w3*x2 + b1",
            ]
        );
        assert_eq!(
            text(Section::GradInput),
            ["dx1 = d1*w1 + d2*w2 + d3*w3", "dx2 = d3*w1 + d4*w2 + d5*w3"]
        );
        assert_eq!(
            text(Section::GradWeight),
            [
                "dw1 = d1*x1 + d3*x2",
                "dw2 = d2*x1 + d4*x2",
                "dw3 = d3*x1 + d5*x2"
            ]
        );
        assert_eq!(text(Section::GradBias), ["db1 = d1 + d2 + d3 + d4 + d5"]);
    }
}
