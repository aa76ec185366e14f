//! What a formula was found to be, and its lines in the report.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use super::{Base, Correction, Difference};
use crate::render::Notation;
use crate::symbolic::expr::{Tensor, Variable};

/// What a formula was found to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every element's expansion is the chain rule's equation.
    Correct {
        /// The tensor the formula defines.
        tensor: Tensor,
        /// Its equations, all checked.
        equations: usize,
        /// The base the indices were read in.
        base: Base,
        /// Whether the base was found rather than given.
        detected: bool,
    },
    /// Some element's expansion differs.
    Wrong {
        /// The tensor the formula defines.
        tensor: Tensor,
        /// How many of its equations differ.
        wrong: usize,
        /// Its equations.
        equations: usize,
        /// The base the indices were read in.
        base: Base,
        /// Whether the base was found rather than given.
        detected: bool,
        /// The first element that differs.
        first: Option<Difference>,
        /// What the expansion ran into: an index outside a tensor, a division that is not
        /// exact, the remainder.
        notes: Vec<String>,
        /// The changes that make the formula right, found by the search; empty when none
        /// was found.
        corrections: Vec<Correction>,
    },
    /// A formula that cannot be expanded for this layer: why.
    Unusable(String),
    /// A formula whose expansion would pass the check's budget.
    TooLarge {
        /// The terms its expansion walks.
        cost: usize,
        /// What is left of the budget.
        budget: usize,
    },
}

impl Verdict {
    /// The verdict's text in the report: the rest of its first line, then its indented
    /// lines, each ending in a line break.
    pub fn render(&self) -> String {
        let mut out = String::new();
        match self {
            Verdict::Correct {
                tensor,
                equations,
                base,
                detected,
            } => {
                let _ = writeln!(
                    out,
                    "all {equations} `{}` equations, {}: correct",
                    tensor.name(),
                    reading(*base, *detected)
                );
            }
            Verdict::Wrong {
                tensor,
                wrong,
                equations,
                base,
                detected,
                first,
                notes,
                corrections,
            } => {
                let _ = writeln!(
                    out,
                    "wrong for {wrong} of the {equations} `{}` equations, {}",
                    tensor.name(),
                    match (base, detected) {
                        (Base::One, true) => "indices read 1-based, the reading a correction fits",
                        _ => reading(*base, *detected),
                    }
                );
                for correction in corrections {
                    let _ = writeln!(
                        out,
                        "    `{}` should be `{}`: {}",
                        correction.written, correction.right, correction.reason
                    );
                }
                for note in notes {
                    let _ = writeln!(out, "    {note}");
                }
                if let Some(first) = first {
                    let _ = writeln!(out, "    {}", difference(*tensor, first));
                }
            }
            Verdict::Unusable(why) => {
                let _ = writeln!(out, "cannot expand the formula: {why}");
            }
            Verdict::TooLarge { cost, budget } => {
                let _ = writeln!(
                    out,
                    "not checked: expanding it walks {cost} terms, past the {budget} `check` has left for the input so far"
                );
            }
        }
        out
    }
}

/// `indices read 0-based`, and how the base was chosen.
fn reading(base: Base, detected: bool) -> &'static str {
    match (base, detected) {
        (Base::Zero, false) => "indices read 0-based, as declared",
        (Base::One, false) => "indices read 1-based, as declared",
        (Base::Zero, true) => "indices read 0-based",
        (Base::One, true) => "indices read 1-based (found: the 0-based reading is wrong)",
    }
}

/// `first difference at dw[0, 1] (dw2): the formula gives …, the chain rule …`.
fn difference(tensor: Tensor, first: &Difference) -> String {
    let element: Vec<String> = first.element.iter().map(|v| format!("{v}")).collect();
    let variable = Variable::new(tensor, first.flat);
    let name = variable.display(Notation::Text);
    let written = first.written.as_ref().map_or_else(
        || String::from("the formula has no value there"),
        |written| format!("the formula gives {written}"),
    );
    format!(
        "first difference at {}[{}] ({name}): {written}, the chain rule {}",
        tensor.name(),
        element.join(", "),
        first.right
    )
}
