//! Why a correction is right, in the words of the layer: which index counts what, and
//! which stride, dilation, padding or group the corrected index applies.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use super::expand::{Layout, axes, shape};
use super::search::to_i64;
use super::{Atom, Base, Correction, Formula, Index, Product, signed};
use crate::symbolic::expr::{Expr, Tensor};

/// `Σ_{a,b : 2 | i−a}`: a product's sum as written.
fn subscript(product: &Product) -> String {
    let limited = |letter: &char| product.limits.iter().any(|(l, ..)| l == letter);
    let letters: Vec<String> = product
        .summed
        .iter()
        .filter(|letter| !limited(letter))
        .map(|l| format!("{l}"))
        .collect();
    let ranges: String = product
        .limits
        .iter()
        .map(|(letter, first, last)| {
            format!("Σ_{{{letter}={}}}^{{{}}}", signed(*first), signed(*last))
        })
        .collect::<Vec<String>>()
        .join(" ");
    let conditions: Vec<String> = product.conditions.iter().map(|c| format!("{c}")).collect();
    let sum = match (letters.is_empty(), conditions.is_empty()) {
        (true, true) => return ranges,
        (_, true) => format!("Σ_{{{}}}", letters.join(",")),
        _ => format!("Σ_{{{} : {}}}", letters.join(","), conditions.join(", ")),
    };
    if ranges.is_empty() {
        sum
    } else {
        format!("{ranges} {sum}")
    }
}

/// `Σ_{i,j} d[i, j]·x[2i+a, 2j+b]`: a product as written.
fn product_text(product: &Product) -> String {
    let factors: Vec<String> = product.factors.iter().map(|f| format!("{f}")).collect();
    let sum = subscript(product);
    let factors = factors.join("·");
    if sum.is_empty() {
        factors
    } else {
        format!("{sum} {factors}")
    }
}

/// Where `formula` writes one sum more than once and is right with each written once,
/// the note that says so: the search would correct a copy into one that reads only the
/// padding's zeros (`x̃[−3i+a−3, 2j+b]`), a formula right but not the one meant.
pub(super) fn repeated_sum(layout: &Layout, formula: &Formula, rights: &[Expr]) -> Option<String> {
    let mut once: Vec<Product> = Vec::new();
    for product in &formula.products {
        if !once.contains(product) {
            once.push(product.clone());
        }
    }
    if once.len() == formula.products.len() {
        return None;
    }
    let once = Formula {
        lhs: formula.lhs.clone(),
        products: once,
    };
    if !layout.with(&once)?.agrees(&once, rights) {
        return None;
    }
    let (repeated, times) = formula
        .products
        .iter()
        .map(|product| {
            (
                product,
                formula
                    .products
                    .iter()
                    .filter(|other| *other == product)
                    .count(),
            )
        })
        .find(|(_, times)| *times > 1)?;
    let times = if times == 2 {
        String::from("twice")
    } else {
        format!("{times} times")
    };
    Some(format!(
        "`{}` is written {times}, so each of its terms counts {times}: written once, the formula is right",
        product_text(repeated)
    ))
}

/// The changes from `formula` to `fixed`, each with why it is right.
pub(super) fn describe(layout: &Layout, formula: &Formula, fixed: &Formula) -> Vec<Correction> {
    let mut corrections = Vec::new();
    for (p, (before, after)) in formula.products.iter().zip(&fixed.products).enumerate() {
        if before.conditions != after.conditions || before.limits != after.limits {
            let added = after.conditions.len() > before.conditions.len();
            let mut reason = String::from(if added {
                "a condition is missing: the division is an index only where it is exact"
            } else {
                "the sum runs over the wrong range"
            });
            let mut ranges: Vec<(String, Vec<char>)> = Vec::new();
            for (written, right) in before.limits.iter().zip(&after.limits) {
                let Some(text) = (written != right)
                    .then(|| range_reason(layout, after, *right))
                    .flatten()
                else {
                    continue;
                };
                match ranges.iter_mut().find(|(known, _)| *known == text) {
                    Some((_, letters)) => letters.push(right.0),
                    None => ranges.push((text, alloc::vec![right.0])),
                }
            }
            for (text, letters) in ranges {
                reason.push_str(&with_letters(&text, &letters));
            }
            corrections.push(Correction {
                written: subscript(before),
                right: subscript(after),
                reason,
            });
        }
        for (f, (old, new)) in before.factors.iter().zip(&after.factors).enumerate() {
            if old == new {
                continue;
            }
            // Each reason once, with the letters it applies to.
            let mut reasons: Vec<(String, Vec<char>)> = Vec::new();
            if old.padded != new.padded {
                let reason = format!(
                    "it reads outside `{}`, where the padding is zeros (`x̃`)",
                    old.tensor.name()
                );
                reasons.push((reason, Vec::new()));
            }
            for (q, (a, b)) in old.indices.iter().zip(&new.indices).enumerate() {
                if a == b {
                    continue;
                }
                for (reason, letter) in index_reasons(layout, formula, (p, f, q), a, b) {
                    match reasons.iter_mut().find(|(known, _)| *known == reason) {
                        Some((_, letters)) => letters.extend(letter),
                        None => reasons.push((reason, letter.into_iter().collect())),
                    }
                }
            }
            let reasons: Vec<String> = reasons
                .into_iter()
                .map(|(reason, letters)| with_letters(&reason, &letters))
                .collect();
            corrections.push(Correction {
                written: format!("{old}"),
                right: format!("{new}"),
                reason: reasons.join("; "),
            });
        }
    }
    corrections
}

/// What the range of a letter written out counts, `: i takes the 2 positions of the
/// output…`, with the remainder when the output's last position is the one miscounted.
fn range_reason(
    layout: &Layout,
    product: &Product,
    (letter, first, last): (char, i64, i64),
) -> Option<String> {
    let spec = layout.spec;
    let alone = Index::letter(letter);
    let place = product.factors.iter().find_map(|factor| {
        let shape = shape(spec, factor.tensor);
        let axes = axes(&shape, factor.indices.len())?;
        let position = factor.indices.iter().position(|index| *index == alone)?;
        Some((factor.tensor, *axes.get(position)?))
    });
    let (tensor, axis) = place?;
    let count = last.saturating_sub(first).saturating_add(1);
    let what = match tensor {
        Tensor::Output | Tensor::Delta => "output",
        Tensor::Weight | Tensor::GradWeight => "kernel",
        _ => "input",
    };
    let mut reason = format!("; INDEX: the {count} positions of the {what} axis");
    let spatial = axis
        .checked_sub(2)
        .and_then(|spatial| spec.axes().get(spatial));
    if let Some(axis) = spatial.filter(|axis| what == "output" && axis.remainder() > 0) {
        let _ = write!(
            reason,
            ", ⌊({} + {} − {}) / {}⌋ + 1, for the remainder r = {} starts no window",
            axis.input(),
            axis.pad_before() + axis.pad_after(),
            axis.effective_kernel(),
            axis.stride(),
            axis.remainder()
        );
    }
    Some(reason)
}

/// A reason with its letters in place of `INDEX`: "index `i`", "indices `i`, `j`".
fn with_letters(reason: &str, letters: &[char]) -> String {
    let names: Vec<String> = letters.iter().map(|l| format!("`{l}`")).collect();
    let noun = if letters.len() > 1 {
        "indices"
    } else {
        "index"
    };
    reason.replace("INDEX", &format!("{noun} {}", names.join(", ")))
}

/// What a letter counts: positions of the output, taps of the kernel, positions of the
/// input, or another axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Output,
    Kernel,
    Input,
    Other,
}

fn role(formula: &Formula, product: usize, letter: char) -> Role {
    let alone = Index::letter(letter);
    let mut references = core::iter::once(&formula.lhs).chain(
        formula
            .products
            .get(product)
            .into_iter()
            .flat_map(|p| &p.factors),
    );
    let tensor = references.find_map(|reference| {
        reference
            .indices
            .contains(&alone)
            .then_some(reference.tensor)
    });
    match tensor {
        Some(Tensor::Output | Tensor::Delta) => Role::Output,
        Some(Tensor::Weight | Tensor::GradWeight) => Role::Kernel,
        Some(Tensor::Input | Tensor::GradInput) => Role::Input,
        _ => Role::Other,
    }
}

fn coefficient(index: &Index, letter: char) -> i64 {
    index
        .parts
        .iter()
        .filter(|(_, atom)| *atom == Atom::Letter(letter))
        .map(|(c, _)| *c)
        .sum()
}

/// A reason, and the letter it is about (merged with others' into "indices `i`, `j`").
type Reason = (String, Option<char>);

/// Why index `right` is right where `written` was, at `(product, factor, position)`.
fn index_reasons(
    layout: &Layout,
    formula: &Formula,
    (product, factor, position): (usize, usize, usize),
    written: &Index,
    right: &Index,
) -> Vec<Reason> {
    let spec = layout.spec;
    let read = formula
        .products
        .get(product)
        .and_then(|terms| terms.factors.get(factor));
    let spatial = read.and_then(|read| {
        let shape = shape(spec, read.tensor);
        let axis = *axes(&shape, read.indices.len())?.get(position)?;
        axis.checked_sub(2)
    });
    let Some(axis) = spatial.and_then(|spatial| spec.axes().get(spatial)) else {
        return alloc::vec![(group_reason(layout, written, right), None)];
    };
    let stride = to_i64(axis.stride());
    let dilation = to_i64(axis.dilation());
    let pad = to_i64(axis.pad_before());
    let mut reasons = coefficient_reasons(formula, product, written, right, (stride, dilation));
    let (old, new) = (written.constant, right.constant);
    if old != new {
        let reason = if new == -pad && pad != 0 {
            format!("the padding before ({pad}) shifts the index by −{pad}")
        } else if layout.base == Base::One && old.abs_diff(new) == 1 {
            format!(
                "off by one: read 1-based, the offset is {}, not {}",
                signed(new),
                signed(old)
            )
        } else {
            format!("the offset is {}, not {}", signed(new), signed(old))
        };
        reasons.push((reason, None));
    }
    if written.divisor != right.divisor {
        let reason = format!(
            "the division is by {}, not {}",
            right.divisor, written.divisor
        );
        reasons.push((reason, None));
    }
    reasons
}

/// Why a channel index is right: the group it reads.
fn group_reason(layout: &Layout, written: &Index, right: &Index) -> String {
    let group = right.parts.iter().find_map(|(_, atom)| match atom {
        Atom::Floor(letter, divisor) => Some((*letter, *divisor)),
        Atom::Letter(_) | Atom::Modulo(..) => None,
    });
    match group {
        Some((letter, divisor)) if !written.parts.contains(&(1, Atom::Floor(letter, divisor))) => {
            format!(
                "with {} groups, output channel `{letter}` reads the input channels of its group, ⌊{letter}/{divisor}⌋",
                layout.spec.groups()
            )
        }
        _ => format!("the index is {right}, not {written}"),
    }
}

/// Why each letter's coefficient in `right` is right where `written` has another.
fn coefficient_reasons(
    formula: &Formula,
    product: usize,
    written: &Index,
    right: &Index,
    (stride, dilation): (i64, i64),
) -> Vec<Reason> {
    let mut letters: Vec<char> = written
        .parts
        .iter()
        .chain(&right.parts)
        .filter_map(|(_, atom)| match atom {
            Atom::Letter(letter) => Some(*letter),
            Atom::Floor(..) | Atom::Modulo(..) => None,
        })
        .collect();
    letters.sort_unstable();
    letters.dedup();
    let changed: Vec<(char, Role, i64, i64)> = letters
        .into_iter()
        .map(|letter| {
            let role = role(formula, product, letter);
            (
                letter,
                role,
                coefficient(written, letter),
                coefficient(right, letter),
            )
        })
        .filter(|(_, _, old, new)| old != new)
        .collect();
    let output_fixed = changed
        .iter()
        .any(|&(_, role, old, new)| role == Role::Output && new == stride && old == dilation);
    let kernel_fixed = changed
        .iter()
        .any(|&(_, role, old, new)| role == Role::Kernel && new == dilation && old == stride);
    if changed.len() == 2 && output_fixed && kernel_fixed {
        let reason = format!(
            "the stride and the dilation are swapped: the stride ({stride}) multiplies the output index, the dilation ({dilation}) the kernel index"
        );
        return alloc::vec![(reason, None)];
    }
    let flipped = formula.lhs.tensor == Tensor::GradInput;
    changed
        .into_iter()
        .map(|(letter, role, old, new)| {
            let reason = match role {
                Role::Output if new == stride => {
                    format!("the stride ({stride}) multiplies the output INDEX")
                }
                Role::Kernel if new == dilation && old != -new => {
                    format!("the dilation ({dilation}) multiplies the kernel INDEX")
                }
                Role::Kernel if old == -new && flipped => String::from(
                    "the kernel INDEX enters with the opposite sign: the input gradient reads the kernel flipped",
                ),
                _ => format!(
                    "INDEX is multiplied by {}, not {}",
                    signed(new),
                    signed(old)
                ),
            };
            (reason, Some(letter))
        })
        .collect()
}
