//! How the explanation words what it computes: axis names, counts with their plurals,
//! positions, shapes, lists of variables and slice labels, shared by every step.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use super::document::{Block, Inline};
use crate::symbolic::expr::Variable;

/// The names of the spatial axes of a layer of `rank` axes, singular and plural.
pub fn axis_names(rank: usize) -> &'static [(&'static str, &'static str)] {
    match rank {
        1 => &[("position", "positions")],
        2 => &[("row", "rows"), ("column", "columns")],
        _ => &[("plane", "planes"), ("row", "rows"), ("column", "columns")],
    }
}

/// A grid's shape as `(planes, rows, columns)`: a row is one plane of one row, a matrix
/// one plane.
pub(super) fn planes(shape: &[usize]) -> (usize, usize, usize) {
    match *shape {
        [columns] => (1, 1, columns),
        [rows, columns] => (1, rows, columns),
        [planes, rows, columns] => (planes, rows, columns),
        _ => (1, 1, shape.iter().product()),
    }
}

/// Values per axis as prose: `1 on every axis`, or `(2, 2) along the rows, (1, 3) along the
/// columns`.
pub(super) fn along(values: &[String]) -> String {
    match values {
        [first, rest @ ..] if !rest.is_empty() && rest.iter().all(|v| v == first) => {
            format!("{first} on every axis")
        }
        _ => {
            let parts: Vec<String> = values
                .iter()
                .zip(axis_names(values.len()))
                .map(|(v, (_, many))| format!("{v} along the {many}"))
                .collect();
            parts.join(", ")
        }
    }
}

/// `count` things, with the plural when it is not 1: `1 window`, `3 windows`.
pub(super) fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

/// `the dw equation` or `all 9 dw equations`.
pub(super) fn every(count: usize, name: &str) -> String {
    if count == 1 {
        format!("the {name} equation")
    } else {
        format!("all {count} {name} equations")
    }
}

/// Words as an inline.
pub(super) fn text(words: impl Into<String>) -> Inline {
    Inline::Text(words.into())
}

/// Words as a paragraph of their own.
pub(super) fn paragraph(words: impl Into<String>) -> Block {
    Block::Paragraph(vec![text(words)])
}

/// A list of variables as prose, `x6, x12 and x18`, cut to `limit` with the rest counted.
pub(super) fn variable_list(variables: &[Variable], limit: usize) -> Vec<Inline> {
    let mut inlines = Vec::new();
    let shown = variables.len().min(limit);
    for (i, &variable) in variables.iter().take(shown).enumerate() {
        if i > 0 {
            let last = i + 1 == shown && shown == variables.len();
            inlines.push(text(if last { " and " } else { ", " }));
        }
        inlines.push(Inline::Variable(variable));
    }
    if shown < variables.len() {
        inlines.push(text(format!(" and {} more", variables.len() - shown)));
    }
    inlines
}

/// Positions `first, first + step, …` (`count` of them), 1-based, as `1–3` or `1, 3, 5`.
pub(super) fn positions(first: usize, step: usize, count: usize) -> String {
    let first = first + 1;
    match count {
        0 => String::new(),
        1 => first.to_string(),
        _ if step == 1 => format!("{first}–{}", first + count - 1),
        _ => {
            let all: Vec<String> = (0..count).map(|i| (first + i * step).to_string()).collect();
            all.join(", ")
        }
    }
}

/// A padding amount, `(1, -1)`.
pub(super) fn signed_pair((before, after): (isize, isize)) -> String {
    format!("({before}, {after})")
}

/// A shape, `5×5`, or `length 5` for one axis.
pub(super) fn shape_text(shape: &[usize]) -> String {
    if let [length] = shape {
        return format!("length {length}");
    }
    let sizes: Vec<String> = shape.iter().map(ToString::to_string).collect();
    sizes.join("×")
}

/// `δ`, `δ (batch 2)`, `δ (batch 1, output channel 3)`: the slice's coordinates, where
/// there is more than one.
pub(super) fn slice_label(
    name: &str,
    first: (&str, usize, usize),
    second: (&str, usize, usize),
) -> String {
    let parts: Vec<String> = [first, second]
        .into_iter()
        .filter(|&(_, _, count)| count > 1)
        .map(|(what, index, _)| format!("{what} {}", index + 1))
        .collect();
    if parts.is_empty() {
        name.to_string()
    } else {
        format!("{name} ({})", parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_read_as_ranges_or_lists() {
        assert_eq!(positions(0, 1, 3), "1–3");
        assert_eq!(positions(2, 2, 3), "3, 5, 7");
        assert_eq!(positions(4, 1, 1), "5");
    }
}
