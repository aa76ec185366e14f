//! Rendering: equations and whole documents in every output format, and the picture.
//!
//! - `notation`: the one printer of expressions and equations; each [`Notation`] (plain
//!   text, LaTeX, MathML) only says how a variable, a product and a sum are spelled;
//! - [`document`] writes a layer's equations as text or LaTeX, and dispatches to [`sigma`]
//!   (one Σ formula per tensor) and [`json`] (one JSON document);
//! - `svg` (with the `engine` feature) draws which inputs each output reads.
//!
//! Documents are written to any [`fmt::Write`] one equation at a time, as
//! [`crate::symbolic::derive`] yields them, so their size never depends on memory. Rendering
//! depends on the specification and the symbolic core only.

pub mod json;
pub mod sigma;
#[cfg(feature = "engine")]
pub mod svg;

mod notation;

use core::fmt::{self, Write as _};

use crate::spec::Spec;
use crate::symbolic::derive::{self, Section};
pub use notation::{Display, Notation};

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
        Format::Text => notation::lines(out, equations(), |line, equation, _| {
            Notation::Text.equation(line, equation)?;
            line.write_str("\n")
        }),
        Format::Latex => {
            out.write_str("\\begin{align}\n")?;
            // `\\` separates rows: one after the last row would add an empty numbered row.
            let mut empty = true;
            notation::lines(out, equations(), |line, equation, first| {
                empty = false;
                line.write_str(if first { "" } else { " \\\\\n" })?;
                Notation::Latex.equation(line, equation)
            })?;
            out.write_str(if empty { "" } else { "\n" })?;
            out.write_str("\\end{align}\n")
        }
        Format::Sigma => sigma::write(out, spec, sections),
        Format::Json => json::write(out, spec, sections),
    }
}
