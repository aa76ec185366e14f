//! The HTML printer: one self-contained page (no script, no font and no request to anywhere
//! else) with the equations as MathML, which browsers render natively, the grids as tables,
//! the picture of the reads as inline SVG, and a style sheet for phones and for print.
//!
//! The page is well-formed XML as well as HTML (every element closed, text escaped, no
//! named entity but XML's own), so it can be read back with any XML parser.

use alloc::format;
use alloc::string::{String, ToString};
use core::fmt::Write;

use super::document::{Block, Explanation, Inline, Matrix, Table, Window};
use super::prose::prose;
use super::wording::{axis_names, planes};
use crate::render::Notation;
use crate::render::svg::escape;
use crate::symbolic::expr::Variable;
use crate::symbolic::grid::Grid;

/// Readable from a phone's width up, the blocks that can be wide scrolling on their own;
/// in print, nothing scrolls and no drawing is cut across pages.
const STYLE: &str = "
:root { color-scheme: light; }
body { margin: 0; color: #1d1d1f; background: #fff;
  font: 17px/1.55 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; }
main { max-width: 52rem; margin: 0 auto; padding: 1rem 1.25rem 3rem; }
h1 { font-size: 1.7rem; margin: 0.5rem 0 0.25rem; }
h2 { font-size: 1.3rem; margin: 2.25rem 0 0.5rem; padding-bottom: 0.2rem;
  border-bottom: 1px solid #d0d0d5; }
code, .spec { font-family: ui-monospace, 'DejaVu Sans Mono', Menlo, monospace; font-size: 0.9em; }
.spec { overflow-wrap: anywhere; color: #444; }
math { font-family: 'STIX Two Math', 'Latin Modern Math', 'DejaVu Math TeX Gyre', math, serif; }
.formula { margin: 0.45rem 0; white-space: nowrap; }
/* A chain of equalities wraps between its sides, the later lines indented. */
.chain { display: flex; flex-wrap: wrap; align-items: baseline; row-gap: 0.2rem;
  padding-left: 1.5em; }
.chain > :first-child { margin-left: -1.5em; }
.scroll, .formulas, .equations, figure { overflow-x: auto; }
.scroll { margin: 0.75rem 0; }
figure { margin: 1rem 0; }
figcaption { font-size: 0.95rem; color: #333; margin-bottom: 0.3rem; }
table { border-collapse: collapse; }
table.data th, table.data td { border: 1px solid #d0d0d5; padding: 0.2rem 0.6rem;
  text-align: left; white-space: nowrap; }
table.data th { background: #f3f3f6; }
.cells { display: inline-flex; flex-wrap: wrap; align-items: flex-end; gap: 0.3rem 0.9rem;
  vertical-align: middle; margin: 0.15rem 0; }
/* Square brackets: the sides as borders, the serifs as four short strokes. */
.cells table { border-left: 2px solid #555; border-right: 2px solid #555;
  print-color-adjust: exact; -webkit-print-color-adjust: exact;
  background: linear-gradient(#555, #555) left top / 6px 2px no-repeat,
    linear-gradient(#555, #555) left bottom / 6px 2px no-repeat,
    linear-gradient(#555, #555) right top / 6px 2px no-repeat,
    linear-gradient(#555, #555) right bottom / 6px 2px no-repeat; }
.cells td { padding: 0.1rem 0.45rem; text-align: center; }
.cells td.zero { color: #9a9aa0; }
.cells caption { font-size: 0.85rem; color: #555; text-align: left; }
.correlation .terms { display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem; }
.operator { font-size: 1.2rem; }
.picture svg { max-width: 100%; height: auto; }
@media (max-width: 36rem) {
  body { font-size: 16px; }
  table.data th, table.data td { white-space: normal; padding: 0.2rem 0.35rem; }
  main { padding: 0.5rem 0.75rem 2rem; }
  h1 { font-size: 1.4rem; }
}
@media print {
  body { font-size: 10.5pt; }
  main { max-width: none; padding: 0; }
  .scroll, .formulas, .equations, figure { overflow: visible; }
  h2 { break-after: avoid; }
  figure, table, .correlation { break-inside: avoid; }
}
";

/// The explanation as one HTML page; `picture` is the SVG of which inputs each output
/// reads ([`crate::render::svg::render`]), shown after the sizes when there is one.
pub fn render(explanation: &Explanation, picture: Option<&str>) -> String {
    let spec = escape(&explanation.spec);
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n\
         <title>convsym explain: {spec}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n\
         <h1>convsym explain</h1>\n<p class=\"spec\">{spec}</p>\n"
    );
    for (number, step) in explanation.steps.iter().enumerate() {
        let _ = write!(
            out,
            "<section id=\"step-{0}\">\n<h2>{0}. {1}</h2>\n",
            number + 1,
            escape(&step.title)
        );
        for block in &step.blocks {
            block_html(&mut out, block);
        }
        if let (0, Some(picture)) = (number, picture) {
            let _ = write!(
                out,
                "<figure class=\"picture\">\n<figcaption>Which inputs each output reads: \
                 one cell per element of the padded input, a dot for every output that reads \
                 it, each output's window outlined.</figcaption>\n{picture}</figure>\n"
            );
        }
        out.push_str("</section>\n");
    }
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

fn block_html(out: &mut String, block: &Block) {
    match block {
        Block::Paragraph(inlines) => {
            let _ = writeln!(out, "<p>{}</p>", prose_html(inlines));
        }
        Block::Table(table) => table_html(out, table),
        Block::Formulas(formulas) => {
            out.push_str("<div class=\"formulas\">\n");
            for formula in formulas {
                let _ = writeln!(out, "{}", chain(&formula.text));
            }
            out.push_str("</div>\n");
        }
        Block::Matrix(matrix) => matrix_html(out, matrix),
        Block::Window(window) => window_html(out, window),
        Block::Equations { equations, omitted } => {
            out.push_str("<div class=\"equations\">\n");
            for equation in equations {
                let _ = writeln!(
                    out,
                    "{}",
                    displayed(&equation.display(Notation::MathMl).to_string())
                );
            }
            if *omitted > 0 {
                let _ = writeln!(out, "<p>… and {omitted} more.</p>");
            }
            out.push_str("</div>\n");
        }
    }
}

/// A formula on a line of its own, set as display math but left-aligned (browsers centre
/// `display="block"` math, whatever the style sheet says).
fn displayed(mathml: &str) -> String {
    format!("<div class=\"formula\"><math displaystyle=\"true\">{mathml}</math></div>")
}

/// A formula `a = b = c` as one piece of math per side, `a`, `= b`, `= c`, that wrap
/// onto the next line where the width ends (browsers do not break a MathML formula).
fn chain(text: &str) -> String {
    let mut out = String::from("<div class=\"formula chain\">");
    for (i, side) in text.split(" = ").enumerate() {
        let equals = if i == 0 { "" } else { "<mo>=</mo>" };
        let _ = write!(
            out,
            "<math displaystyle=\"true\">{equals}{}</math>",
            formula_mathml(side)
        );
    }
    out.push_str("</div>");
    out
}

/// Prose with each variable as inline MathML.
fn prose_html(inlines: &[Inline]) -> String {
    prose(inlines, escape, Notation::MathMl, ("<math>", "</math>"))
}

fn table_html(out: &mut String, table: &Table) {
    out.push_str("<div class=\"scroll\"><table class=\"data\">\n<thead><tr>");
    for heading in &table.header {
        let _ = write!(out, "<th>{}</th>", escape(heading));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in &table.rows {
        out.push_str("<tr>");
        for cell in row {
            let _ = write!(out, "<td>{}</td>", escape(cell));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table></div>\n");
}

fn matrix_html(out: &mut String, matrix: &Matrix) {
    let _ = writeln!(
        out,
        "<figure>\n<figcaption>{}</figcaption>\n{}</figure>",
        escape(&matrix.label),
        grid_html(&matrix.grid)
    );
}

fn window_html(out: &mut String, window: &Window) {
    let relation = if window.partial {
        "<mo>+=</mo>"
    } else {
        "<mo>=</mo>"
    };
    let _ = writeln!(
        out,
        "<figure class=\"correlation\">\n<figcaption>{}</figcaption>\n<div class=\"terms\">\n\
         {}<span class=\"operator\">⊙</span>\n{}<span class=\"operator\">→</span>\n\
         <math displaystyle=\"true\">{}{relation}{}</math>\n</div>\n</figure>",
        escape(&window.label),
        grid_html(&window.cells),
        grid_html(&window.kernel),
        window.target.display(Notation::MathMl),
        window.sum.display(Notation::MathMl),
    );
}

/// A grid as a bracketed table of cells, or for three axes one table per plane, captioned.
fn grid_html(grid: &Grid<Option<Variable>>) -> String {
    let (count, rows, columns) = planes(grid.shape());
    let (plane_name, _) = axis_names(3)
        .first()
        .copied()
        .unwrap_or(("plane", "planes"));
    let mut out = String::from("<div class=\"cells\">\n");
    for plane in 0..count {
        out.push_str("<table>\n");
        if grid.shape().len() == 3 {
            let _ = writeln!(out, "<caption>{plane_name} {}</caption>", plane + 1);
        }
        for row in 0..rows {
            out.push_str("<tr>");
            let start = (plane * rows + row) * columns;
            for cell in grid.cells().get(start..start + columns).unwrap_or_default() {
                match cell {
                    Some(variable) => {
                        let _ = write!(
                            out,
                            "<td><math>{}</math></td>",
                            variable.display(Notation::MathMl)
                        );
                    }
                    None => out.push_str("<td class=\"zero\">0</td>"),
                }
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</table>\n");
    }
    out.push_str("</div>\n");
    out
}

/// A formula's plain text as MathML tokens: numbers as `<mn>`, names as `<mi>` (with
/// `k_eff` as `k` subscript `eff`), `mod` as an operator word, `Σ_{c, q}` as a sum with its
/// indices below, and every other symbol as an operator, brackets at their own size.
fn formula_mathml(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c.is_whitespace() {
            rest = &rest[c.len_utf8()..];
        } else if let Some(under) = rest.strip_prefix("Σ_{") {
            let (indices, after) = under.split_once('}').unwrap_or((under, ""));
            let _ = write!(
                out,
                "<munder><mo>∑</mo><mrow>{}</mrow></munder>",
                formula_mathml(indices)
            );
            rest = after;
        } else if c.is_ascii_digit() {
            let end = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            let _ = write!(out, "<mn>{}</mn>", &rest[..end]);
            rest = &rest[end..];
        } else if c.is_alphabetic() {
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '\''))
                .unwrap_or(rest.len());
            let name = &rest[..end];
            match name.split_once('_') {
                _ if name == "mod" => {
                    out.push_str("<mo form=\"infix\" lspace=\"0.28em\" rspace=\"0.28em\">mod</mo>");
                }
                Some((base, subscript)) => {
                    let _ = write!(
                        out,
                        "<msub><mi>{}</mi><mi>{}</mi></msub>",
                        escape(base),
                        escape(subscript)
                    );
                }
                None => {
                    let _ = write!(out, "<mi>{}</mi>", escape(name));
                }
            }
            rest = &rest[end..];
        } else if matches!(c, '(' | ')' | '[' | ']' | '⌊' | '⌋' | '⌈' | '⌉') {
            let _ = write!(out, "<mo stretchy=\"false\">{c}</mo>");
            rest = &rest[c.len_utf8()..];
        } else {
            let _ = write!(out, "<mo>{}</mo>", escape(&c.to_string()));
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_drops_control_characters() {
        assert_eq!(
            escape("a < b & c > \"d\" 'e'\u{1}"),
            "a &lt; b &amp; c &gt; &quot;d&quot; &apos;e&apos;"
        );
    }

    #[test]
    fn formulas_become_tokens() {
        assert_eq!(
            formula_mathml("k_eff = 2·(3 − 1)"),
            "<msub><mi>k</mi><mi>eff</mi></msub><mo>=</mo><mn>2</mn><mo>·</mo>\
             <mo stretchy=\"false\">(</mo><mn>3</mn><mo>−</mo><mn>1</mn><mo stretchy=\"false\">)</mo>"
        );
        assert_eq!(
            formula_mathml("Σ_{c, q} w"),
            "<munder><mo>∑</mo><mrow><mi>c</mi><mo>,</mo><mi>q</mi></mrow></munder><mi>w</mi>"
        );
    }

    #[test]
    fn a_chain_of_equalities_is_one_piece_per_side() {
        assert_eq!(
            chain("r = 3 mod 2 = 1"),
            "<div class=\"formula chain\"><math displaystyle=\"true\"><mi>r</mi></math>\
             <math displaystyle=\"true\"><mo>=</mo><mn>3</mn>\
             <mo form=\"infix\" lspace=\"0.28em\" rspace=\"0.28em\">mod</mo><mn>2</mn></math>\
             <math displaystyle=\"true\"><mo>=</mo><mn>1</mn></math></div>"
        );
    }
}
