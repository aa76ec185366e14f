//! The equations of a layer by the chain rule, read straight off the index map
//! `z[n, o, p] ← w[o, c', q] · x[n, c, p·s + q·d − pad_lo]`.
//!
//! Each section is a stream: equations are built one at a time as the iterator is
//! advanced, so a layer with tens of millions of terms starts printing at once and never
//! holds more than one equation in memory.

use alloc::vec::Vec;

use crate::layout::{Layout, MAX_DIMS, for_each_index};
use crate::{Axis, Equation, Expr, Spec, Tensor, Term, Variable};

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
        let product = |sizes: &mut dyn Iterator<Item = usize>| sizes.fold(1, usize::saturating_mul);
        let taps = product(&mut spec.axes().iter().map(Axis::kernel));
        let positions = product(&mut spec.axes().iter().map(Axis::output));
        match self {
            Section::Forward => spec
                .in_channels_per_group()
                .saturating_mul(taps)
                .saturating_add(usize::from(spec.bias())),
            Section::GradInput => spec.out_channels_per_group().saturating_mul(taps),
            Section::GradWeight | Section::GradBias => spec.batch().saturating_mul(positions),
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

/// The layer's layouts, computed once per stream.
#[derive(Clone, Debug)]
struct Deriver<'a> {
    spec: &'a Spec,
    input: Layout,
    weight: Layout,
    output: Layout,
}

impl<'a> Deriver<'a> {
    fn new(spec: &'a Spec) -> Self {
        Deriver {
            spec,
            input: Layout::new(&spec.input_shape()),
            weight: Layout::new(&spec.weight_shape()),
            output: Layout::new(&spec.output_shape()),
        }
    }

    fn equation(&self, section: Section, flat: usize) -> Equation {
        let rhs = match section {
            Section::Forward => self.forward(flat),
            Section::GradInput => self.grad_input(flat),
            Section::GradWeight => self.grad_weight(flat),
            Section::GradBias => self.grad_bias(flat),
        };
        Equation {
            lhs: Variable::new(section.tensor(), flat),
            rhs,
        }
    }

    fn rank(&self) -> usize {
        self.spec.axes().len()
    }

    fn kernel_dims(&self) -> &[usize] {
        &self.weight.dims()[2..]
    }

    fn output_dims(&self) -> &[usize] {
        &self.output.dims()[2..]
    }

    /// `z[n, o, p] = Σ_{c', q} w[o, c', q] · x[n, c, p·s + q·d − pad_lo] (+ b[o])`.
    fn forward(&self, flat: usize) -> Expr {
        let spec = self.spec;
        let [batch, out_channel, position @ ..] = self.output.unravel(flat);
        let group = spec.group_of_output(out_channel);
        let mut terms = Vec::new();
        for channel_in_group in 0..spec.in_channels_per_group() {
            let channel = group * spec.in_channels_per_group() + channel_in_group;
            for_each_index(self.kernel_dims(), |tap| {
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
        let spec = self.spec;
        let [batch, channel, position @ ..] = self.input.unravel(flat);
        let group = channel / spec.in_channels_per_group();
        let channel_in_group = channel % spec.in_channels_per_group();
        let mut terms = Vec::new();
        let outputs = spec.out_channels_per_group();
        for out_channel in group * outputs..(group + 1) * outputs {
            let block = terms.len();
            for_each_index(self.kernel_dims(), |tap| {
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
        let spec = self.spec;
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

    /// `db[o] = Σ_{n, p} δ[n, o, p]`.
    fn grad_bias(&self, out_channel: usize) -> Expr {
        let per_channel: usize = self.output_dims().iter().product();
        let channels = self.spec.out_channels();
        Expr::from_terms((0..self.spec.batch()).flat_map(|batch| {
            let first = (batch * channels + out_channel) * per_channel;
            (first..first + per_channel)
                .map(|delta| Term::new(1, [Variable::new(Tensor::Delta, delta)]))
        }))
    }
}

/// Keeps the array patterns above honest: the index arrays are sized for the deepest
/// layout.
const _: () = assert!(MAX_DIMS == 5);
