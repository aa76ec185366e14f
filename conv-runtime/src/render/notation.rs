//! The one printer: an expression, a variable or an equation in a [`Notation`], walked in
//! canonical order, each notation only saying how a variable, a product and a sum are
//! spelled. The documents of the other files write their equations through it.

use alloc::vec::Vec;
use core::fmt;

use crate::symbolic::expr::{Equation, Expr, Tensor, Term, Variable};

/// How to spell equations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Notation {
    /// The seed's ASCII notation: `z2 = w1*x3 + w2*x4`, `dw1 = d1*x1 + d2*x3`.
    Text,
    /// LaTeX for an `align` environment: `z_{2} &= w_{1} x_{3} + w_{2} x_{4}`.
    Latex,
    /// The content of a MathML `<math>` element, as browsers render it natively:
    /// `<msub><mi>z</mi><mn>2</mn></msub><mo>=</mo><msub><mi>w</mi><mn>1</mn></msub>…`.
    MathMl,
}

// The printer writes to a `Sink` rather than a `Formatter`, and spells numbers by hand:
// going through `write!` for every variable made formatting the larger part of a big layer's
// run time (measured with `perf` on `in=224 k=7 stride=2 pad=3 cin=3 cout=64`).
impl Notation {
    pub(super) fn variable<W: Sink + ?Sized>(self, out: &mut W, variable: Variable) -> fmt::Result {
        // Indices fit in memory, so `+ 1` cannot overflow a `u64`.
        let number = variable.index as u64 + 1;
        match (self, variable.tensor.differentiated()) {
            (Notation::Text, _) => {
                out.write_str(variable.tensor.name())?;
                decimal(out, number)
            }
            (Notation::Latex, Some(of)) => {
                out.write_str("\\frac{\\partial L}{\\partial ")?;
                out.write_str(of.name())?;
                out.write_str("_{")?;
                decimal(out, number)?;
                out.write_str("}}")
            }
            (Notation::Latex, None) => {
                out.write_str(match variable.tensor {
                    Tensor::Delta => "\\delta",
                    tensor => tensor.name(),
                })?;
                out.write_str("_{")?;
                decimal(out, number)?;
                out.write_str("}")
            }
            (Notation::MathMl, Some(of)) => {
                out.write_str(
                    "<mfrac><mrow><mi>∂</mi><mi>L</mi></mrow><mrow><mi>∂</mi><msub><mi>",
                )?;
                out.write_str(of.name())?;
                out.write_str("</mi><mn>")?;
                decimal(out, number)?;
                out.write_str("</mn></msub></mrow></mfrac>")
            }
            (Notation::MathMl, None) => {
                out.write_str("<msub><mi>")?;
                out.write_str(match variable.tensor {
                    Tensor::Delta => "δ",
                    tensor => tensor.name(),
                })?;
                out.write_str("</mi><mn>")?;
                decimal(out, number)?;
                out.write_str("</mn></msub>")
            }
        }
    }

    fn times(self) -> &'static str {
        match self {
            Notation::Text => "*",
            Notation::Latex => " ",
            // U+2062 INVISIBLE TIMES: juxtaposition, as in print, that a reader still parses.
            Notation::MathMl => "<mo>\u{2062}</mo>",
        }
    }

    fn equals(self) -> &'static str {
        match self {
            Notation::Text => " = ",
            Notation::Latex => " &= ",
            Notation::MathMl => "<mo>=</mo>",
        }
    }

    /// The sign before a term: a `first` term has none unless `negative`.
    fn sign(self, first: bool, negative: bool) -> &'static str {
        match (self, first, negative) {
            (Notation::MathMl, _, true) => "<mo>−</mo>",
            (Notation::MathMl, false, false) => "<mo>+</mo>",
            (_, true, true) => "-",
            (_, false, true) => " - ",
            (_, false, false) => " + ",
            (_, true, false) => "",
        }
    }

    /// Writes a coefficient.
    fn number<W: Sink + ?Sized>(self, out: &mut W, number: u64) -> fmt::Result {
        if self == Notation::MathMl {
            out.write_str("<mn>")?;
            decimal(out, number)?;
            return out.write_str("</mn>");
        }
        decimal(out, number)
    }

    fn term<W: Sink + ?Sized>(self, out: &mut W, term: &Term, first: bool) -> fmt::Result {
        let coefficient = term.coefficient();
        out.write_str(self.sign(first, coefficient < 0))?;
        let magnitude = coefficient.unsigned_abs();
        let mut separator = "";
        if magnitude != 1 || term.factors().is_empty() {
            self.number(out, magnitude)?;
            separator = self.times();
        }
        for &factor in term.factors() {
            out.write_str(separator)?;
            self.variable(out, factor)?;
            separator = self.times();
        }
        Ok(())
    }

    fn expr<W: Sink + ?Sized>(self, out: &mut W, expr: &Expr) -> fmt::Result {
        if expr.is_zero() {
            return self.number(out, 0);
        }
        for (i, term) in expr.terms().iter().enumerate() {
            self.term(out, term, i == 0)?;
        }
        Ok(())
    }

    pub(super) fn equation<W: Sink + ?Sized>(
        self,
        out: &mut W,
        equation: &Equation,
    ) -> fmt::Result {
        self.variable(out, equation.lhs)?;
        out.write_str(self.equals())?;
        self.expr(out, &equation.rhs)
    }
}

/// Writes `number` in decimal, with a `-` when negative.
pub(super) fn integer<W: Sink + ?Sized>(out: &mut W, number: i64) -> fmt::Result {
    if number < 0 {
        out.write_str("-")?;
    }
    decimal(out, number.unsigned_abs())
}

/// Writes `number` in decimal.
fn decimal<W: Sink + ?Sized>(out: &mut W, mut number: u64) -> fmt::Result {
    // 20 digits hold `u64::MAX`.
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (number % 10) as u8;
        number /= 10;
        if number == 0 {
            break;
        }
    }
    out.ascii(&digits[start..])
}

/// Where the printer writes: any [`fmt::Write`], and a [`Line`] faster.
pub(super) trait Sink: fmt::Write {
    /// Writes ASCII text, such as a number's digits.
    fn ascii(&mut self, text: &[u8]) -> fmt::Result {
        self.write_str(core::str::from_utf8(text).map_err(|_| fmt::Error)?)
    }
}

impl Sink for fmt::Formatter<'_> {}

/// One equation's text as it is built. Bytes rather than a `String`: the digits of every
/// index go in without a UTF-8 check each (measured: it was an eighth of a big layer's run
/// time), and the whole line is checked once when it is written out.
#[derive(Default)]
pub(super) struct Line(Vec<u8>);

impl fmt::Write for Line {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        self.0.extend_from_slice(text.as_bytes());
        Ok(())
    }
}

impl Sink for Line {
    fn ascii(&mut self, text: &[u8]) -> fmt::Result {
        self.0.extend_from_slice(text);
        Ok(())
    }
}

/// Writes each equation of `equations` into one reused [`Line`] with `write`, then the line
/// to `out`: a single write per equation, however many pieces it is printed in.
pub(super) fn lines<W: fmt::Write + ?Sized>(
    out: &mut W,
    equations: impl Iterator<Item = Equation>,
    mut write: impl FnMut(&mut Line, &Equation, bool) -> fmt::Result,
) -> fmt::Result {
    let mut line = Line::default();
    for (i, equation) in equations.enumerate() {
        line.0.clear();
        write(&mut line, &equation, i == 0)?;
        out.write_str(core::str::from_utf8(&line.0).map_err(|_| fmt::Error)?)?;
    }
    Ok(())
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
        self.notation.equation(f, self.value)
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

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn numbers_are_spelled_as_core_spells_them() {
        for number in [0, 1, 9, 10, 99, 100, 12_345, u64::MAX] {
            let mut out = Line::default();
            decimal(&mut out, number).unwrap();
            assert_eq!(out.0, number.to_string().as_bytes());
        }
        for number in [i64::MIN, -10, -1, 0, 7, i64::MAX] {
            let mut out = Line::default();
            integer(&mut out, number).unwrap();
            assert_eq!(out.0, number.to_string().as_bytes());
        }
    }

    #[test]
    fn coefficients_and_gradients_in_both_notations() {
        let w1 = Expr::variable(Variable::new(Tensor::Weight, 0));
        let d12 = Expr::variable(Variable::new(Tensor::Delta, 11));
        let equation = Equation {
            lhs: Variable::new(Tensor::GradInput, 2),
            rhs: &Expr::constant(-3) * &(&w1 * &d12) + Expr::constant(2) + w1,
        };
        assert_eq!(
            equation.display(Notation::Text).to_string(),
            "dx3 = 2 - 3*d12*w1 + w1"
        );
        assert_eq!(
            equation.display(Notation::Latex).to_string(),
            "\\frac{\\partial L}{\\partial x_{3}} &= 2 - 3 \\delta_{12} w_{1} + w_{1}"
        );
        assert_eq!(
            equation.display(Notation::MathMl).to_string(),
            concat!(
                "<mfrac><mrow><mi>∂</mi><mi>L</mi></mrow><mrow><mi>∂</mi><msub><mi>x</mi><mn>3</mn></msub></mrow></mfrac>",
                "<mo>=</mo><mn>2</mn><mo>−</mo><mn>3</mn><mo>\u{2062}</mo><msub><mi>δ</mi><mn>12</mn></msub>",
                "<mo>\u{2062}</mo><msub><mi>w</mi><mn>1</mn></msub><mo>+</mo><msub><mi>w</mi><mn>1</mn></msub>"
            )
        );
        assert_eq!(
            Expr::zero().display(Notation::MathMl).to_string(),
            "<mn>0</mn>"
        );
    }
}
