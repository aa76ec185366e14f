//! Prose as the printers spell it: one walk over a paragraph's inlines, each printer giving
//! how its words are escaped and how its variables are set off.

use alloc::string::String;
use core::fmt::Write;

use super::document::Inline;
use crate::render::Notation;

/// `inlines` with the words passed through `escape` and each variable spelled in
/// `notation` between the `(open, close)` quotes: `` `x1` `` in Markdown, `$x_{1}$` in
/// LaTeX, `<math>…</math>` in HTML.
pub(super) fn prose(
    inlines: &[Inline],
    escape: impl Fn(&str) -> String,
    notation: Notation,
    (open, close): (&str, &str),
) -> String {
    let mut out = String::new();
    for inline in inlines {
        match inline {
            Inline::Text(words) => out.push_str(&escape(words)),
            Inline::Variable(variable) => {
                let _ = write!(out, "{open}{}{close}", variable.display(notation));
            }
        }
    }
    out
}
