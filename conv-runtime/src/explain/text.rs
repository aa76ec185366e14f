//! The plain-text printer: prose wrapped to the terminal, matrices drawn with aligned
//! columns, three-axis grids as labelled planes, windows beside their kernels.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt::Write;

use super::document::{Block, Explanation, Formula, Inline, Matrix, Table, Window};
use super::wording::{axis_names, planes};
use crate::render::Notation;
use crate::symbolic::expr::Variable;
use crate::symbolic::grid::Grid;

/// Prose is wrapped to this many characters.
const WIDTH: usize = 88;

/// Blocks other than prose are indented this much.
const INDENT: &str = "    ";

/// The explanation as plain text.
pub fn render(explanation: &Explanation) -> String {
    let mut out = String::new();
    out.push_str(&wrap(&format!("convsym explain: {}", explanation.spec), ""));
    for (number, step) in explanation.steps.iter().enumerate() {
        let heading = format!("{}. {}", number + 1, step.title);
        let _ = write!(
            out,
            "\n{heading}\n{}\n",
            "=".repeat(heading.chars().count())
        );
        for block in &step.blocks {
            out.push('\n');
            out.push_str(&render_block(block));
        }
    }
    out
}

/// One block as plain text, ending in a newline; the Markdown printer uses it inside its
/// fences.
pub fn render_block(block: &Block) -> String {
    match block {
        Block::Paragraph(inlines) => wrap(&prose(inlines), ""),
        Block::Table(table) => indent(&table_lines(table)),
        Block::Formulas(formulas) => indent(
            &formulas
                .iter()
                .map(|f: &Formula| f.text.clone())
                .collect::<Vec<_>>(),
        ),
        Block::Matrix(matrix) => matrix_text(matrix),
        Block::Window(window) => window_text(window),
        Block::Equations { equations, omitted } => {
            let mut lines: Vec<String> = equations
                .iter()
                .map(|e| e.display(Notation::Text).to_string())
                .collect();
            if *omitted > 0 {
                lines.push(format!("… and {omitted} more"));
            }
            indent(&lines)
        }
    }
}

/// Prose with variables spelled in the text notation.
pub fn prose(inlines: &[Inline]) -> String {
    super::prose::prose(inlines, ToString::to_string, Notation::Text, ("", ""))
}

fn indent(lines: &[String]) -> String {
    let mut out = String::new();
    for line in lines {
        let _ = writeln!(out, "{INDENT}{line}");
    }
    out
}

/// Greedy word wrap at [`WIDTH`], each line after `prefix`.
fn wrap(words: &str, prefix: &str) -> String {
    let mut out = String::new();
    let mut line = String::from(prefix);
    let mut empty = true;
    for word in words.split(' ').filter(|word| !word.is_empty()) {
        let length = line.chars().count() + 1 + word.chars().count();
        if !empty && length > WIDTH {
            let _ = writeln!(out, "{line}");
            line = String::from(prefix);
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    let _ = writeln!(out, "{line}");
    out
}

fn width(text: &str) -> usize {
    text.chars().count()
}

fn pad(text: &str, to: usize) -> String {
    format!("{text}{}", " ".repeat(to.saturating_sub(width(text))))
}

fn table_lines(table: &Table) -> Vec<String> {
    let columns = table.header.len();
    let widths: Vec<usize> = (0..columns)
        .map(|column| {
            core::iter::once(&table.header)
                .chain(&table.rows)
                .filter_map(|row| row.get(column))
                .map(|cell| width(cell))
                .max()
                .unwrap_or(0)
        })
        .collect();
    core::iter::once(&table.header)
        .chain(&table.rows)
        .map(|row| {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(cell, &w)| pad(cell, w))
                .collect();
            cells.join("  ").trim_end().to_string()
        })
        .collect()
}

fn cell_text(cell: Option<Variable>) -> String {
    cell.map_or_else(
        || "0".to_string(),
        |v| v.display(Notation::Text).to_string(),
    )
}

/// A grid as lines of text: a bracketed row or matrix, or for three axes one labelled
/// matrix per plane, all with the same column widths.
pub fn grid_lines(grid: &Grid<Option<Variable>>) -> Vec<String> {
    let cells: Vec<String> = grid.cells().iter().map(|&cell| cell_text(cell)).collect();
    let shape = grid.shape();
    let (planes, rows, columns) = planes(shape);
    let widths: Vec<usize> = (0..columns)
        .map(|column| {
            cells
                .iter()
                .skip(column)
                .step_by(columns.max(1))
                .map(|cell| width(cell))
                .max()
                .unwrap_or(1)
        })
        .collect();
    let mut lines = Vec::new();
    let (plane_name, _) = axis_names(3)
        .first()
        .copied()
        .unwrap_or(("plane", "planes"));
    for plane in 0..planes {
        if planes > 1 || shape.len() == 3 {
            lines.push(format!("{plane_name} {}:", plane + 1));
        }
        for row in 0..rows {
            let start = (plane * rows + row) * columns;
            let entries: Vec<String> = cells
                .get(start..start + columns)
                .unwrap_or_default()
                .iter()
                .zip(&widths)
                .map(|(cell, &w)| pad(cell, w))
                .collect();
            let (open, close) = match (rows, row) {
                (1, _) => ('[', ']'),
                (_, 0) => ('⎡', '⎤'),
                (_, last) if last + 1 == rows => ('⎣', '⎦'),
                _ => ('⎢', '⎥'),
            };
            lines.push(format!("{open} {} {close}", entries.join("  ")));
        }
    }
    lines
}

fn matrix_text(matrix: &Matrix) -> String {
    let mut out = wrap(&format!("{}:", matrix.label), "");
    out.push_str(&indent(&grid_lines(&matrix.grid)));
    out
}

/// Blocks of lines side by side, `separators[i]` between block `i` and `i + 1` on the
/// middle line of the tallest block.
fn beside(blocks: &[Vec<String>], separators: &[&str]) -> Vec<String> {
    let height = blocks.iter().map(Vec::len).max().unwrap_or(0);
    let middle = height.saturating_sub(1) / 2;
    (0..height)
        .map(|row| {
            let mut line = String::new();
            for (i, block) in blocks.iter().enumerate() {
                let block_width = block.iter().map(|l| width(l)).max().unwrap_or(0);
                // Shorter blocks are centred on the middle line.
                let top = middle.saturating_sub(block.len().saturating_sub(1) / 2);
                let text = row
                    .checked_sub(top)
                    .and_then(|r| block.get(r))
                    .map_or("", String::as_str);
                line.push_str(&pad(text, block_width));
                if let Some(separator) = separators.get(i) {
                    if row == middle {
                        line.push_str(separator);
                    } else {
                        line.push_str(&" ".repeat(width(separator)));
                    }
                }
            }
            line.trim_end().to_string()
        })
        .collect()
}

fn window_text(window: &Window) -> String {
    let mut out = wrap(&format!("{}:", window.label), "");
    let target = window.target.display(Notation::Text);
    let sum = window.sum.display(Notation::Text);
    let result = if window.partial {
        format!("{target} += {sum}")
    } else {
        format!("{target} = {sum}")
    };
    let lines = beside(
        &[
            grid_lines(&window.cells),
            grid_lines(&window.kernel),
            alloc::vec![result],
        ],
        &[" ⊙ ", "  →  "],
    );
    out.push_str(&indent(&lines));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::symbolic::expr::Tensor;

    #[test]
    fn matrices_align_their_columns() {
        let grid = Grid::from_fn(&[2, 3], |i| {
            (i[1] != 1).then(|| Variable::new(Tensor::Input, i[0] * 10 + i[1]))
        });
        assert_eq!(grid_lines(&grid), ["⎡ x1   0  x3  ⎤", "⎣ x11  0  x13 ⎦"]);
        let row = Grid::from_fn(&[3], |i| Some(Variable::new(Tensor::Delta, i[0])));
        assert_eq!(grid_lines(&row), ["[ d1  d2  d3 ]"]);
    }

    #[test]
    fn operators_sit_on_the_middle_line() {
        let lines = beside(
            &[
                alloc::vec!["a".into(), "b".into(), "c".into()],
                alloc::vec!["x".into()],
            ],
            &[" = "],
        );
        assert_eq!(lines, ["a", "b = x", "c"]);
    }

    #[test]
    fn prose_wraps_at_the_width() {
        let long = "word ".repeat(40);
        assert!(
            wrap(&long, "")
                .lines()
                .all(|line| line.chars().count() <= WIDTH)
        );
    }
}
