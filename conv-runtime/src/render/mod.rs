//! Printing expressions and equations. One printer walks the canonical form; each
//! notation only says how a variable, a product and a sum are spelled.
//!
//! Whole documents ([`document`]) are written to any [`fmt::Write`] one equation at a
//! time, as [`crate::derive`] yields them, so their size never depends on memory.

pub mod json;
pub mod sigma;

use core::fmt;

use crate::derive::{self, Section};
use crate::{Equation, Expr, Spec, Tensor, Term, Variable};

/// The documents the command-line tool prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// One equation per line in the seed's notation, [`Notation::Text`].
    Text,
    /// A LaTeX `align` environment, one equation per line, [`Notation::Latex`].
    Latex,
    /// One formula per tensor with the index arithmetic written out; see [`sigma`].
    Sigma,
    /// One JSON document with the resolved specification and every equation; see [`json`].
    Json,
}

/// Writes the equations of `sections` (in that order) for `spec` to `out` in `format`,
/// each equation as soon as it is derived.
///
/// # Errors
///
/// The first error `out` returns.
pub fn document<W: fmt::Write + ?Sized>(
    out: &mut W,
    spec: &Spec,
    format: Format,
    sections: &[Section],
) -> fmt::Result {
    let equations = || {
        sections
            .iter()
            .flat_map(|&section| derive::equations(spec, section))
    };
    match format {
        Format::Text => {
            for equation in equations() {
                writeln!(out, "{}", equation.display(Notation::Text))?;
            }
            Ok(())
        }
        Format::Latex => {
            out.write_str("\\begin{align}\n")?;
            // `\\` separates lines: one after the last line would add an empty numbered row.
            let mut separator = "";
            for equation in equations() {
                write!(out, "{separator}{}", equation.display(Notation::Latex))?;
                separator = " \\\\\n";
            }
            if !separator.is_empty() {
                out.write_str("\n")?;
            }
            out.write_str("\\end{align}\n")
        }
        Format::Sigma => sigma::write(out, spec, sections),
        Format::Json => json::write(out, spec, sections),
    }
}

/// How to spell equations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Notation {
    /// The seed's ASCII notation: `z2 = w1*x3 + w2*x4`, `dw1 = d1*x1 + d2*x3`.
    Text,
    /// LaTeX for an `align` environment: `z_{2} &= w_{1} x_{3} + w_{2} x_{4}`.
    Latex,
}

impl Notation {
    fn variable(self, f: &mut fmt::Formatter<'_>, variable: Variable) -> fmt::Result {
        let number = variable.index + 1;
        match (self, variable.tensor.differentiated()) {
            (Notation::Text, _) => write!(f, "{}{number}", variable.tensor.name()),
            (Notation::Latex, Some(of)) => {
                write!(
                    f,
                    "\\frac{{\\partial L}}{{\\partial {}_{{{number}}}}}",
                    of.name()
                )
            }
            (Notation::Latex, None) if variable.tensor == Tensor::Delta => {
                write!(f, "\\delta_{{{number}}}")
            }
            (Notation::Latex, None) => write!(f, "{}_{{{number}}}", variable.tensor.name()),
        }
    }

    fn times(self) -> &'static str {
        match self {
            Notation::Text => "*",
            Notation::Latex => " ",
        }
    }

    fn equals(self) -> &'static str {
        match self {
            Notation::Text => " = ",
            Notation::Latex => " &= ",
        }
    }

    fn term(self, f: &mut fmt::Formatter<'_>, term: &Term, first: bool) -> fmt::Result {
        let coefficient = term.coefficient();
        match (first, coefficient < 0) {
            (true, true) => f.write_str("-")?,
            (false, true) => f.write_str(" - ")?,
            (false, false) => f.write_str(" + ")?,
            (true, false) => {}
        }
        let magnitude = coefficient.unsigned_abs();
        let mut separator = "";
        if magnitude != 1 || term.factors().is_empty() {
            write!(f, "{magnitude}")?;
            separator = self.times();
        }
        for &factor in term.factors() {
            f.write_str(separator)?;
            self.variable(f, factor)?;
            separator = self.times();
        }
        Ok(())
    }

    fn expr(self, f: &mut fmt::Formatter<'_>, expr: &Expr) -> fmt::Result {
        if expr.is_zero() {
            return f.write_str("0");
        }
        for (i, term) in expr.terms().iter().enumerate() {
            self.term(f, term, i == 0)?;
        }
        Ok(())
    }
}

/// Displays a value in a notation; made by the `display` methods.
#[derive(Clone, Copy, Debug)]
pub struct Display<'a, T: ?Sized> {
    value: &'a T,
    notation: Notation,
}

impl Expr {
    /// This expression, printed in `notation`.
    pub fn display(&self, notation: Notation) -> Display<'_, Expr> {
        Display {
            value: self,
            notation,
        }
    }
}

impl Equation {
    /// This equation, printed in `notation`.
    pub fn display(&self, notation: Notation) -> Display<'_, Equation> {
        Display {
            value: self,
            notation,
        }
    }
}

impl Variable {
    /// This variable, printed in `notation`.
    pub fn display(&self, notation: Notation) -> Display<'_, Variable> {
        Display {
            value: self,
            notation,
        }
    }
}

impl fmt::Display for Display<'_, Expr> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.notation.expr(f, self.value)
    }
}

impl fmt::Display for Display<'_, Variable> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.notation.variable(f, *self.value)
    }
}

impl fmt::Display for Display<'_, Equation> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.notation.variable(f, self.value.lhs)?;
        f.write_str(self.notation.equals())?;
        self.notation.expr(f, &self.value.rhs)
    }
}

/// `Display` for the seed's text notation.
impl fmt::Display for Equation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.display(Notation::Text).fmt(f)
    }
}

/// `Display` for the seed's text notation.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.display(Notation::Text).fmt(f)
    }
}
