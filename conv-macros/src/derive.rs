//! What the kernels and the constants are made of, asked of the runtime: the equations of
//! every section when the kernels are unrolled or the formulas are small enough to embed
//! (as [`crate::unroll`] decides), and nothing more for loop kernels, which read the
//! geometry straight off the [`Spec`].

use conv_runtime::derive::{self, Section};
use conv_runtime::{Equation, Notation};

use crate::spec::Layer;

/// The equations of the four sections, in [`Section::ALL`] order.
pub(crate) struct Sections {
    /// The forward equations.
    pub(crate) forward: Vec<Equation>,
    /// The input gradient.
    pub(crate) grad_input: Vec<Equation>,
    /// The weight gradient.
    pub(crate) grad_weight: Vec<Equation>,
    /// The bias gradient (empty without a bias).
    pub(crate) grad_bias: Vec<Equation>,
}

impl Sections {
    fn of(layer: &Layer) -> Self {
        let section = |section| derive::equations(&layer.spec, section).collect();
        Sections {
            forward: section(Section::Forward),
            grad_input: section(Section::GradInput),
            grad_weight: section(Section::GradWeight),
            grad_bias: section(Section::GradBias),
        }
    }

    /// Every section with its equations.
    pub(crate) fn each(&self) -> [(Section, &[Equation]); 4] {
        [
            (Section::Forward, &self.forward),
            (Section::GradInput, &self.grad_input),
            (Section::GradWeight, &self.grad_weight),
            (Section::GradBias, &self.grad_bias),
        ]
    }

    /// A section's equations in the seed's text notation.
    pub(crate) fn text(equations: &[Equation]) -> Vec<String> {
        equations
            .iter()
            .map(|equation| equation.display(Notation::Text).to_string())
            .collect()
    }
}

/// The equations the expansion needs, if any.
pub(crate) struct Derivation {
    /// Present where [`Unroll::needs_equations`](crate::unroll::Unroll::needs_equations):
    /// the kernels are unrolled, or the formulas are embedded as constants.
    pub(crate) sections: Option<Sections>,
}

impl Derivation {
    /// Derives what `layer`'s expansion needs.
    pub(crate) fn of(layer: &Layer) -> Self {
        Derivation {
            sections: layer
                .unroll
                .needs_equations(&layer.spec)
                .then(|| Sections::of(layer)),
        }
    }
}
