//! The Markdown printer: headings and prose for the reader of a rendered page, the
//! matrices, windows and equations in fenced `text` blocks drawn by [`super::text`].

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use super::document::{Block, Explanation, Table};
use super::prose::prose;
use super::text;
use crate::render::Notation;

/// The explanation as Markdown.
pub fn render(explanation: &Explanation) -> String {
    let mut out = String::from("# convsym explain\n\n");
    let _ = writeln!(out, "`{}`", explanation.spec);
    for (number, step) in explanation.steps.iter().enumerate() {
        let _ = write!(out, "\n## {}. {}\n", number + 1, escape(&step.title));
        // Consecutive drawn blocks share one fence.
        let mut fenced = false;
        for block in &step.blocks {
            let drawn = !matches!(block, Block::Paragraph(_) | Block::Table(_));
            match (fenced, drawn) {
                (false, true) => out.push_str("\n```text\n"),
                (true, false) => out.push_str("```\n"),
                (true, true) => out.push('\n'),
                (false, false) => {}
            }
            fenced = drawn;
            match block {
                Block::Paragraph(inlines) => {
                    let _ = write!(
                        out,
                        "\n{}\n",
                        prose(inlines, escape, Notation::Text, ("`", "`"))
                    );
                }
                Block::Table(table) => table_markdown(&mut out, table),
                _ => out.push_str(&text::render_block(block)),
            }
        }
        if fenced {
            out.push_str("```\n");
        }
    }
    out
}

fn table_markdown(out: &mut String, table: &Table) {
    let row = |cells: &[String]| {
        let cells: Vec<String> = cells
            .iter()
            .map(|cell| escape(cell).replace('|', "\\|"))
            .collect();
        format!("| {} |\n", cells.join(" | "))
    };
    out.push('\n');
    out.push_str(&row(&table.header));
    let rule: Vec<&str> = table.header.iter().map(|_| "---").collect();
    let _ = writeln!(out, "|{}|", rule.join("|"));
    for cells in &table.rows {
        out.push_str(&row(cells));
    }
}

/// Prose for Markdown: the characters that would start emphasis or code escaped.
pub fn escape(words: &str) -> String {
    let mut out = String::with_capacity(words.len());
    for c in words.chars() {
        if matches!(c, '\\' | '*' | '_' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
