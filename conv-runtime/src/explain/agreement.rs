//! Step 6, the check: both constructions held against the chain rule's equations, term
//! for term, every difference listed as a bug.

use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

use super::builder::Builder;
use super::document::{Block, Inline, Step};
use super::wording::{every, paragraph, plural, text};
use crate::symbolic::derive::{self, Section};
use crate::symbolic::expr::Equation;

impl Builder<'_> {
    /// Step 6: whether the constructions agree with the chain rule, and the step saying so.
    pub(super) fn agreement(
        &self,
        weight_gradient: &[Equation],
        input_gradient: &[Equation],
    ) -> (Step, bool) {
        let agreeing = format!(
            "Both constructions equal the chain rule's equations term for term: {} of step 4 and {} of step 5 are exactly those of ∂L/∂w[o, c', q] = Σ δ[n, o, p] · x[n, c, p·s + q·d − pad_lo] and ∂L/∂x[n, c, i] = Σ δ[n, o, p] · w[o, c', q], each compared in full.",
            every(weight_gradient.len(), "dw"),
            every(input_gradient.len(), "dx")
        );
        self.check(
            &[
                ("dw", weight_gradient, Section::GradWeight),
                ("dx", input_gradient, Section::GradInput),
            ],
            agreeing,
        )
    }

    /// The check step: each construction's equations (named, with the section of the chain
    /// rule they stand for) compared with the chain rule's; `agreeing` says so when all
    /// agree.
    pub(super) fn check(
        &self,
        compared: &[(&str, &[Equation], Section)],
        agreeing: String,
    ) -> (Step, bool) {
        let spec = self.spec;
        let mut differences = Vec::new();
        let mut compare = |name: &str, construction: &[Equation], chain: derive::Equations<'_>| {
            let count = chain.len();
            if construction.len() != count {
                differences.push(vec![text(format!(
                    "the construction gives {} {name} equations, the chain rule {count}",
                    construction.len()
                ))]);
            }
            for (built, derived) in construction.iter().zip(chain) {
                if built != &derived {
                    differences.push(vec![
                        Inline::Variable(derived.lhs),
                        text(format!(
                            ": the construction gives {}, the chain rule {}",
                            built.rhs, derived.rhs
                        )),
                    ]);
                }
            }
        };
        for &(name, construction, section) in compared {
            compare(name, construction, derive::equations(spec, section));
        }
        let agrees = differences.is_empty();
        let mut blocks = Vec::new();
        if agrees {
            blocks.push(paragraph(agreeing));
        } else {
            blocks.push(paragraph(format!(
                "The constructions differ from the chain rule in {}; this is a bug in convsym:",
                plural(differences.len(), "place", "places")
            )));
            let total = differences.len();
            for difference in differences.into_iter().take(self.limits.equations) {
                blocks.push(Block::Paragraph(difference));
            }
            if total > self.limits.equations {
                blocks.push(paragraph(format!(
                    "and {} more.",
                    total - self.limits.equations
                )));
            }
        }
        (
            Step {
                title: "Check".into(),
                blocks,
            },
            agrees,
        )
    }
}
