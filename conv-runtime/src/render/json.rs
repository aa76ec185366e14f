//! The layer as one JSON document, written while the equations are derived:
//!
//! ```text
//! {
//!   "spec": {"in": [5, 5], "k": [3, 3], …, "out": [2, 2], "remainder": [0, 0]},
//!   "forward": [
//!     {"lhs": "z1", "terms": [[1, "w1", "x1"], [1, "w2", "x2"], …]},
//!     …
//!   ],
//!   "grad_input": […],
//!   "grad_weight": […],
//!   "grad_bias": []
//! }
//! ```
//!
//! Each term is `[coefficient, factor, factor…]`; a zero is an empty `terms`. Names and
//! numbers never need escaping, so the writer is a few `write!`s rather than a serializer.

use core::fmt::{self, Write as _};

use super::notation::Notation;
use super::notation::{self, Line};
use crate::spec::{Axis, Spec};
use crate::symbolic::derive::{self, Section};
use crate::symbolic::expr::Equation;

/// The key of a section's array in the document.
pub fn key(section: Section) -> &'static str {
    match section {
        Section::Forward => "forward",
        Section::GradInput => "grad_input",
        Section::GradWeight => "grad_weight",
        Section::GradBias => "grad_bias",
    }
}

/// Writes the document with the arrays of `sections`, in that order; the arrays of the
/// other sections are left out.
///
/// # Errors
///
/// The first error `out` returns.
pub fn write<W: fmt::Write + ?Sized>(
    out: &mut W,
    spec: &Spec,
    sections: &[Section],
) -> fmt::Result {
    out.write_str("{\n  \"spec\": ")?;
    write_spec(out, spec)?;
    for &section in sections {
        write!(out, ",\n  \"{}\": [", key(section))?;
        let mut empty = true;
        notation::lines(
            out,
            derive::equations(spec, section),
            |line, equation, first| {
                empty = false;
                line.write_str(if first { "\n    " } else { ",\n    " })?;
                write_equation(line, equation)
            },
        )?;
        out.write_str(if empty { "]" } else { "\n  ]" })?;
    }
    out.write_str("\n}\n")
}

/// `{"lhs": "z1", "terms": [[1, "w1", "x1"], …]}`.
fn write_equation(out: &mut Line, equation: &Equation) -> fmt::Result {
    out.write_str("{\"lhs\": \"")?;
    Notation::Text.variable(out, equation.lhs)?;
    out.write_str("\", \"terms\": [")?;
    for (i, term) in equation.rhs.terms().iter().enumerate() {
        out.write_str(if i > 0 { ", [" } else { "[" })?;
        notation::integer(out, term.coefficient())?;
        for &factor in term.factors() {
            out.write_str(", \"")?;
            Notation::Text.variable(out, factor)?;
            out.write_str("\"")?;
        }
        out.write_str("]")?;
    }
    out.write_str("]}")
}

/// Every key resolved, the padding's mode, and the sizes the layer implies.
fn write_spec<W: fmt::Write + ?Sized>(out: &mut W, spec: &Spec) -> fmt::Result {
    let axes = spec.axes();
    write!(
        out,
        "{{\"in\": {}, \"k\": {}, \"stride\": {}, \"pad\": {}, \"dilation\": {}, \
         \"cin\": {}, \"cout\": {}, \"groups\": {}, \"bias\": {}, \"batch\": {}, \
         \"padding\": \"{}\", \"out\": {}, \"remainder\": {}",
        PerAxis(axes, Axis::input),
        PerAxis(axes, Axis::kernel),
        PerAxis(axes, Axis::stride),
        PerAxis(axes, |axis| Pair(axis.pad_before(), axis.pad_after())),
        PerAxis(axes, Axis::dilation),
        spec.in_channels(),
        spec.out_channels(),
        spec.groups(),
        spec.bias(),
        spec.batch(),
        spec.padding().word().unwrap_or("explicit"),
        PerAxis(axes, Axis::output),
        PerAxis(axes, Axis::remainder),
    )?;
    // Only a transposed layer has the two keys, so an ordinary layer's document is as
    // before they existed.
    if spec.transposed() {
        write!(
            out,
            ", \"transposed\": true, \"output_padding\": {}",
            PerAxis(axes, Axis::output_padding)
        )?;
    }
    out.write_str("}")
}

/// `[v, v, …]`: one value per axis.
struct PerAxis<'a, T>(&'a [Axis], fn(&Axis) -> T);

impl<T: fmt::Display> fmt::Display for PerAxis<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, axis) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}", (self.1)(axis))?;
        }
        f.write_str("]")
    }
}

/// `[before, after]`.
struct Pair(usize, usize);

impl fmt::Display for Pair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}, {}]", self.0, self.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;

    #[test]
    fn the_seed_document_opens_with_the_resolved_spec() {
        let spec = Spec::parse("in=5 k=3 stride=2").unwrap();
        let mut text = String::new();
        write(&mut text, &spec, &[Section::GradBias]).unwrap();
        assert_eq!(
            text,
            "{\n  \"spec\": {\"in\": [5, 5], \"k\": [3, 3], \"stride\": [2, 2], \"pad\": [[0, 0], [0, 0]], \
             \"dilation\": [1, 1], \"cin\": 1, \"cout\": 1, \"groups\": 1, \"bias\": false, \"batch\": 1, \
             \"padding\": \"explicit\", \"out\": [2, 2], \"remainder\": [0, 0]},\n  \"grad_bias\": []\n}\n"
        );
    }
}
