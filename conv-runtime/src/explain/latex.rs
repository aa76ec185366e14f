//! The LaTeX printer: a complete `article` that compiles with `pdflatex` and the packages of
//! a basic TeX installation (`amsmath`), matrices as `pmatrix`, equations in `align*`.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt::Write;

use super::document::{Block, Explanation, Table, Window};
use super::prose::prose;
use super::wording::{axis_names, planes};
use crate::render::Notation;
use crate::symbolic::expr::Variable;
use crate::symbolic::grid::Grid;

const PREAMBLE: &str = r"\documentclass[10pt]{article}
\usepackage{amsmath}
% Wide layers make wide matrices: give them the page, and as many columns as they need.
\setlength{\textwidth}{16.5cm}
\setlength{\oddsidemargin}{-0.2cm}
\setlength{\evensidemargin}{-0.2cm}
\setcounter{MaxMatrixCols}{1000}
\allowdisplaybreaks
\setlength{\parindent}{0pt}
\setlength{\parskip}{0.6em}
";

/// The explanation as a LaTeX document.
pub fn render(explanation: &Explanation) -> String {
    let mut out = String::from(PREAMBLE);
    out.push_str("\\begin{document}\n");
    let _ = write!(
        out,
        "\\section*{{convsym explain}}\n{{\\raggedright\\texttt{{{}}}\\par}}\n",
        escape(&explanation.spec)
    );
    for (number, step) in explanation.steps.iter().enumerate() {
        let _ = write!(
            out,
            "\n\\subsection*{{{}. {}}}\n",
            number + 1,
            escape(&step.title)
        );
        for block in &step.blocks {
            out.push('\n');
            block_latex(&mut out, block);
        }
    }
    out.push_str("\n\\end{document}\n");
    out
}

fn block_latex(out: &mut String, block: &Block) {
    match block {
        Block::Paragraph(inlines) => {
            out.push_str(&prose(inlines, escape, Notation::Latex, ("$", "$")));
            out.push('\n');
        }
        Block::Table(table) => table_latex(out, table),
        Block::Formulas(formulas) => {
            out.push_str("\\begin{gather*}\n");
            let lines: Vec<&str> = formulas.iter().map(|f| f.latex.as_str()).collect();
            out.push_str(&lines.join(" \\\\\n"));
            out.push_str("\n\\end{gather*}\n");
        }
        Block::Matrix(matrix) => {
            let _ = write!(
                out,
                "{}:\n\\[ {} \\]\n",
                escape(&matrix.label),
                grid_latex(&matrix.grid)
            );
        }
        Block::Window(window) => window_latex(out, window),
        Block::Equations { equations, omitted } => {
            out.push_str("\\begin{align*}\n");
            let lines: Vec<String> = equations
                .iter()
                .map(|e| e.display(Notation::Latex).to_string())
                .collect();
            out.push_str(&lines.join(" \\\\\n"));
            out.push_str("\n\\end{align*}\n");
            if *omitted > 0 {
                let _ = writeln!(out, "\\dots{{}} and {omitted} more.");
            }
        }
    }
}

fn table_latex(out: &mut String, table: &Table) {
    let columns = "l".repeat(table.header.len());
    let _ = writeln!(
        out,
        "\\begin{{center}}\n\\begin{{tabular}}{{{columns}}}\n\\hline"
    );
    let row = |cells: &[String]| {
        let cells: Vec<String> = cells.iter().map(|cell| escape(cell)).collect();
        format!("{} \\\\\n", cells.join(" & "))
    };
    out.push_str(&row(&table.header));
    out.push_str("\\hline\n");
    for cells in &table.rows {
        out.push_str(&row(cells));
    }
    out.push_str("\\hline\n\\end{tabular}\n\\end{center}\n");
}

fn cell_latex(cell: Option<Variable>) -> String {
    cell.map_or_else(
        || "0".to_string(),
        |v| v.display(Notation::Latex).to_string(),
    )
}

/// A grid as `pmatrix`; three axes as one labelled matrix per plane.
pub fn grid_latex(grid: &Grid<Option<Variable>>) -> String {
    let cells: Vec<String> = grid.cells().iter().map(|&cell| cell_latex(cell)).collect();
    let (planes, rows, columns) = planes(grid.shape());
    let (plane_name, _) = axis_names(3)
        .first()
        .copied()
        .unwrap_or(("plane", "planes"));
    let matrices: Vec<String> = (0..planes)
        .map(|plane| {
            let lines: Vec<String> = (0..rows)
                .map(|row| {
                    let start = (plane * rows + row) * columns;
                    cells
                        .get(start..start + columns)
                        .unwrap_or_default()
                        .join(" & ")
                })
                .collect();
            let matrix = format!(
                "\\begin{{pmatrix}} {} \\end{{pmatrix}}",
                lines.join(" \\\\ ")
            );
            if grid.shape().len() == 3 {
                format!("\\text{{{plane_name} {}: }} {matrix}", plane + 1)
            } else {
                matrix
            }
        })
        .collect();
    matrices.join(" \\quad ")
}

fn window_latex(out: &mut String, window: &Window) {
    let relation = if window.partial { "\\mathrel{+}=" } else { "=" };
    let _ = write!(
        out,
        "{}:\n\\[ {} \\odot {} \\;\\longrightarrow\\; {} {relation} {} \\]\n",
        escape(&window.label),
        grid_latex(&window.cells),
        grid_latex(&window.kernel),
        window.target.display(Notation::Latex),
        window.sum.display(Notation::Latex),
    );
}

/// Text for LaTeX's text mode: its special characters escaped, and the symbols the
/// explanation's prose uses set in math mode, so `pdflatex` needs no Unicode set-up.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let replacement = match c {
            '\\' => "\\textbackslash{}",
            '{' => "\\{",
            '}' => "\\}",
            '_' => "\\_",
            '%' => "\\%",
            '&' => "\\&",
            '#' => "\\#",
            '$' => "\\$",
            '^' => "\\^{}",
            '~' => "\\~{}",
            'δ' => "$\\delta$",
            'Σ' => "$\\Sigma$",
            '∂' => "$\\partial$",
            '⌊' => "$\\lfloor$",
            '⌋' => "$\\rfloor$",
            '⌈' => "$\\lceil$",
            '⌉' => "$\\rceil$",
            '−' => "$-$",
            '·' => "$\\cdot$",
            '×' => "$\\times$",
            '⊙' => "$\\odot$",
            '→' => "$\\to$",
            '≠' => "$\\neq$",
            '°' => "$^\\circ$",
            '…' => "\\dots{}",
            '–' => "--",
            '—' => "---",
            c if c.is_ascii() => {
                out.push(c);
                continue;
            }
            _ => "?",
        };
        out.push_str(replacement);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_specials_and_sets_symbols_in_math() {
        assert_eq!(escape("k_eff = d·(k − 1)"), "k\\_eff = d$\\cdot$(k $-$ 1)");
        assert_eq!(escape("100% & #1"), "100\\% \\& \\#1");
    }
}
