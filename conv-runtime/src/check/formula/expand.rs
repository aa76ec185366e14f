//! A formula expanded over the layer, one element of its tensor at a time, and held
//! against the chain rule's equations; the verdict, with the first difference.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::search;
use super::verdict::Verdict;
use super::{Atom, Base, Condition, Difference, Formula, Index, Product, Reference};
use crate::check::notation::merge_like_terms;
use crate::spec::{Spec, Unread};
use crate::symbolic::derive::{self, Section};
use crate::symbolic::expr::{Expr, Tensor, Term, Variable};

/// The first thing an expansion ran into, in the words of the report.
pub(super) type Event = String;

/// The number of a letter in a [`Values`] table.
fn slot(letter: char) -> usize {
    usize::try_from(u32::from(letter) % 128).unwrap_or(0)
}

/// The value of each index letter.
pub(super) type Values = [i64; 128];

/// A formula laid over a layer: each tensor's shape, which axes the formula indexes, the
/// range of every letter.
#[derive(Clone, Debug)]
pub(super) struct Layout<'a> {
    pub spec: &'a Spec,
    pub base: Base,
    /// The left side's tensor's full shape, and the axis of each letter written.
    pub lhs_shape: Vec<usize>,
    pub lhs_axes: Vec<usize>,
    /// For each product, each summed letter's range: its first value and how many.
    pub ranges: Vec<Vec<(char, i64, i64)>>,
}

/// A tensor's full, row-major shape.
pub(super) fn shape(spec: &Spec, tensor: Tensor) -> Vec<usize> {
    match tensor {
        Tensor::Input | Tensor::GradInput => spec.input_shape(),
        Tensor::Weight | Tensor::GradWeight => spec.weight_shape(),
        Tensor::Output | Tensor::Delta => spec.output_shape(),
        Tensor::Bias | Tensor::GradBias => spec.bias_shape(),
    }
}

/// The axes `count` indices stand for: all of them, or (as the `sigma` format writes) the
/// batch and channel axes larger than 1 and every spatial axis.
pub(super) fn axes(shape: &[usize], count: usize) -> Option<Vec<usize>> {
    if count == shape.len() {
        return Some((0..count).collect());
    }
    let leading = shape.len().min(2);
    let shown: Vec<usize> = (0..shape.len())
        .filter(|&axis| axis >= leading || shape.get(axis).is_some_and(|&size| size > 1))
        .collect();
    (shown.len() == count).then_some(shown)
}

fn section(tensor: Tensor) -> Option<Section> {
    Section::ALL
        .into_iter()
        .find(|section| section.tensor() == tensor)
}

fn to_i64(value: usize) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl<'a> Layout<'a> {
    /// The formula over `spec`, or why it cannot be laid over it.
    pub fn new(spec: &'a Spec, formula: &Formula, base: Base) -> Result<Self, String> {
        let tensor = formula.lhs.tensor;
        if section(tensor).is_none() {
            return Err(format!(
                "`{}` is not a result: a formula defines `z`, `dx`, `dw` or `db`",
                tensor.name()
            ));
        }
        let lhs_shape = shape(spec, tensor);
        let lhs_axes = reference_axes(spec, &formula.lhs)?;
        let mut ranges = Vec::new();
        for product in &formula.products {
            for factor in &product.factors {
                reference_axes(spec, factor)?;
            }
            let mut product_ranges = Vec::new();
            for &letter in &product.summed {
                let limits = product.limits.iter().find(|(l, ..)| *l == letter);
                if let Some(&(_, first, last)) = limits {
                    let count = last.saturating_sub(first).saturating_add(1).max(0);
                    product_ranges.push((letter, first, count));
                    continue;
                }
                let size = range(spec, product, letter).ok_or_else(|| {
                    format!(
                        "the range of `{letter}` is unknown: a summed index must stand alone in some index, as `a` in `w[a, b]`"
                    )
                })?;
                product_ranges.push((letter, base.first(), size));
            }
            ranges.push(product_ranges);
        }
        Ok(Layout {
            spec,
            base,
            lhs_shape,
            lhs_axes,
            ranges,
        })
    }

    /// The same layer and base laid under another formula: a candidate of the search.
    pub fn with(&self, formula: &Formula) -> Option<Self> {
        Layout::new(self.spec, formula, self.base).ok()
    }

    /// How many steps the expansion of every element walks, saturated.
    pub fn cost(&self) -> usize {
        let per_element = self
            .ranges
            .iter()
            .map(|ranges| {
                ranges.iter().fold(1_usize, |cost, (_, _, count)| {
                    cost.saturating_mul(usize::try_from(*count).unwrap_or(usize::MAX))
                })
            })
            .fold(0_usize, usize::saturating_add);
        let elements: usize = self.lhs_shape.iter().product();
        elements.saturating_mul(per_element.max(1))
    }

    /// The index letters' values of element `flat` of the left side.
    pub fn element(&self, flat: usize, formula: &Formula, values: &mut Values) -> Vec<i64> {
        let mut rest = flat;
        let mut positions = alloc::vec![0; self.lhs_shape.len()];
        for (axis, size) in self.lhs_shape.iter().enumerate().rev() {
            if let Some(position) = positions.get_mut(axis) {
                *position = rest % size.max(&1);
            }
            rest /= size.max(&1);
        }
        let mut written = Vec::new();
        for (index, axis) in formula.lhs.indices.iter().zip(&self.lhs_axes) {
            if let Some((_, Atom::Letter(letter))) = index.parts.first() {
                let value = to_i64(positions.get(*axis).copied().unwrap_or(0)) + self.base.first();
                if let Some(slot) = values.get_mut(slot(*letter)) {
                    *slot = value;
                }
                written.push(value);
            }
        }
        written
    }

    /// The right side of one element, its letters set in `values`: the terms, or the
    /// first thing the expansion ran into.
    pub fn expand(&self, formula: &Formula, values: &mut Values) -> Result<Expr, Event> {
        let mut terms = Vec::new();
        for (product, ranges) in formula.products.iter().zip(&self.ranges) {
            self.sum(product, ranges, values, &mut terms)?;
        }
        merge_like_terms(terms, <[Variable]>::cmp)
            .map(Expr::from_terms)
            .map_err(|error| error.message)
    }

    /// The terms of one product for every value of its summed letters.
    fn sum(
        &self,
        product: &Product,
        ranges: &[(char, i64, i64)],
        values: &mut Values,
        terms: &mut Vec<(Term, usize)>,
    ) -> Result<(), Event> {
        if ranges.iter().any(|(_, _, count)| *count <= 0) {
            return Ok(());
        }
        for (letter, first, _) in ranges {
            if let Some(slot) = values.get_mut(slot(*letter)) {
                *slot = *first;
            }
        }
        loop {
            if product.conditions.iter().all(|c| holds(c, values)) {
                let mut factors = Vec::new();
                for factor in &product.factors {
                    if let Some(variable) = self.variable(factor, values)? {
                        factors.push(variable);
                    } else {
                        factors.clear();
                        break;
                    }
                }
                if !factors.is_empty() {
                    terms.push((Term::new(1, factors), 0));
                }
            }
            // The next assignment, the last letter fastest.
            let mut carried = true;
            for (letter, first, count) in ranges.iter().rev() {
                let Some(slot) = values.get_mut(slot(*letter)) else {
                    continue;
                };
                *slot += 1;
                if *slot < first.saturating_add(*count) {
                    carried = false;
                    break;
                }
                *slot = *first;
            }
            if carried {
                return Ok(());
            }
        }
    }

    /// The element a factor reads; `None` outside a padded tensor (a zero).
    fn variable(&self, factor: &Reference, values: &Values) -> Result<Option<Variable>, Event> {
        let shape = shape(self.spec, factor.tensor);
        let axes = axes(&shape, factor.indices.len()).unwrap_or_default();
        let mut positions = alloc::vec![0_i64; shape.len()];
        for (index, axis) in factor.indices.iter().zip(&axes) {
            let value = evaluate(index, values).ok_or_else(|| {
                format!(
                    "`{index}` is not an integer at {}",
                    assignment(index, values)
                )
            })?;
            if let Some(position) = positions.get_mut(*axis) {
                *position = value - self.base.first();
            }
        }
        let mut flat: usize = 0;
        for (position, &size) in positions.iter().zip(&shape) {
            let inside = usize::try_from(*position).ok().filter(|&p| p < size);
            match inside {
                Some(position) => flat = flat.saturating_mul(size).saturating_add(position),
                None if factor.padded => return Ok(None),
                None => {
                    let written: Vec<usize> = axes
                        .iter()
                        .filter_map(|&axis| shape.get(axis).copied())
                        .collect();
                    return Err(format!(
                        "`{factor}` reads outside `{}` ({}) at {}",
                        factor.tensor.name(),
                        dimensions(&written),
                        letters_of(factor, values)
                    ));
                }
            }
        }
        Ok(Some(Variable::new(factor.tensor, flat)))
    }
}

/// `5×5`: a shape.
pub(super) fn dimensions(shape: &[usize]) -> String {
    let sizes: Vec<String> = shape.iter().map(|size| format!("{size}")).collect();
    sizes.join("×")
}

/// `i = 1, a = 0`: the letters of an index and their values.
fn assignment(index: &Index, values: &Values) -> String {
    let mut letters: Vec<char> = index
        .parts
        .iter()
        .map(|(_, atom)| match atom {
            Atom::Letter(letter) | Atom::Floor(letter, _) | Atom::Modulo(letter, _) => *letter,
        })
        .collect();
    letters.dedup();
    let parts: Vec<String> = letters
        .iter()
        .map(|&letter| format!("{letter} = {}", values.get(slot(letter)).unwrap_or(&0)))
        .collect();
    parts.join(", ")
}

fn letters_of(factor: &Reference, values: &Values) -> String {
    let parts: Vec<String> = factor
        .indices
        .iter()
        .map(|index| assignment(index, values))
        .filter(|text| !text.is_empty())
        .collect();
    parts.join(", ")
}

/// The value of an index; `None` when the division is not exact (or overflows).
pub(super) fn evaluate(index: &Index, values: &Values) -> Option<i64> {
    let mut total = index.constant;
    for (coefficient, atom) in &index.parts {
        let value = match atom {
            Atom::Letter(letter) => *values.get(slot(*letter))?,
            Atom::Floor(letter, divisor) => values.get(slot(*letter))?.div_euclid(*divisor),
            Atom::Modulo(letter, divisor) => values.get(slot(*letter))?.rem_euclid(*divisor),
        };
        total = total.checked_add(coefficient.checked_mul(value)?)?;
    }
    (total % index.divisor == 0).then(|| total / index.divisor)
}

fn holds(condition: &Condition, values: &Values) -> bool {
    match condition {
        Condition::Divides(divisor, index) => {
            evaluate(index, values).is_some_and(|value| value % divisor == 0)
        }
        Condition::Chain(terms, comparisons) => {
            let evaluated: Option<Vec<i64>> = terms.iter().map(|t| evaluate(t, values)).collect();
            evaluated.is_some_and(|evaluated| {
                evaluated
                    .windows(2)
                    .zip(comparisons)
                    .all(|(pair, comparison)| match pair {
                        [left, right] => comparison.holds(*left, *right),
                        _ => false,
                    })
            })
        }
    }
}

/// The axes a reference's indices stand for, or why they fit none.
fn reference_axes(spec: &Spec, reference: &Reference) -> Result<Vec<usize>, String> {
    let shape = shape(spec, reference.tensor);
    axes(&shape, reference.indices.len()).ok_or_else(|| {
        let short = (0..shape.len())
            .filter(|&axis| axis >= shape.len().min(2) || shape.get(axis).is_some_and(|&s| s > 1))
            .count();
        format!(
            "`{}` has {} indices written, but its shape is {}: write {} or {}",
            reference.tensor.name(),
            reference.indices.len(),
            dimensions(&shape),
            short,
            shape.len()
        )
    })
}

/// The size of the axis `letter` stands alone in, among a product's factors.
fn range(spec: &Spec, product: &Product, letter: char) -> Option<i64> {
    product.factors.iter().find_map(|factor| {
        let shape = shape(spec, factor.tensor);
        let axes = axes(&shape, factor.indices.len())?;
        factor
            .indices
            .iter()
            .zip(axes)
            .find(|(index, _)| **index == Index::letter(letter))
            .and_then(|(_, axis)| shape.get(axis).copied())
            .map(to_i64)
    })
}

/// An expansion of every element held against the derivation.
#[derive(Clone, Debug)]
pub(super) struct Outcome {
    pub wrong: usize,
    pub first: Option<Difference>,
    pub event: Option<Event>,
    /// The flat indices of the first few elements that differ: the search's probes.
    pub probes: Vec<usize>,
    /// Every element that differs is an input never read for the remainder.
    pub all_in_remainder: bool,
}

/// How many differing elements the search probes.
const PROBES: usize = 4;

impl Layout<'_> {
    /// Every element of `formula` expanded and compared with `rights`.
    pub fn compare(&self, formula: &Formula, rights: &[Expr]) -> Outcome {
        let mut outcome = Outcome {
            wrong: 0,
            first: None,
            event: None,
            probes: Vec::new(),
            all_in_remainder: true,
        };
        let mut values: Values = [0; 128];
        for (flat, right) in rights.iter().enumerate() {
            let element = self.element(flat, formula, &mut values);
            // An element the expansion fails on (an index outside, a division not exact)
            // is wrong, whatever its value.
            let written = match self.expand(formula, &mut values) {
                Ok(written) if written == *right => continue,
                Ok(written) => Some(written),
                Err(event) => {
                    outcome.event.get_or_insert(event);
                    None
                }
            };
            outcome.wrong += 1;
            let remainder = formula.lhs.tensor == Tensor::GradInput
                && self.spec.why_input_unread(flat) == Some(Unread::Remainder);
            outcome.all_in_remainder &= remainder;
            if outcome.probes.len() < PROBES {
                outcome.probes.push(flat);
            }
            outcome.first.get_or_insert_with(|| Difference {
                element,
                flat,
                written,
                right: right.clone(),
            });
        }
        outcome
    }

    /// Whether `formula` expands to `rights` on every element.
    pub fn agrees(&self, formula: &Formula, rights: &[Expr]) -> bool {
        let mut values: Values = [0; 128];
        rights.iter().enumerate().all(|(flat, right)| {
            self.element(flat, formula, &mut values);
            self.expand(formula, &mut values).as_ref() == Ok(right)
        })
    }
}

/// The verdict on `formula` for `spec`, in `base` if given (else found), within `budget`
/// steps; and the steps spent.
pub(in crate::check) fn judge(
    spec: &Spec,
    formula: &Formula,
    base: Option<Base>,
    budget: usize,
) -> (Verdict, usize) {
    let tensor = formula.lhs.tensor;
    let layouts: Result<Vec<Layout>, String> = match base {
        Some(base) => [base]
            .iter()
            .map(|&b| Layout::new(spec, formula, b))
            .collect(),
        None => [Base::Zero, Base::One]
            .iter()
            .map(|&b| Layout::new(spec, formula, b))
            .collect(),
    };
    let layouts = match layouts {
        Ok(layouts) => layouts,
        Err(why) => return (Verdict::Unusable(why), 0),
    };
    let Some(section) = section(tensor) else {
        return (Verdict::Unusable(String::from("no such tensor")), 0);
    };
    let equations = section.len(spec);
    let derivation = equations.saturating_mul(section.max_terms(spec));
    let expansion = layouts
        .first()
        .map_or(0, Layout::cost)
        .saturating_mul(layouts.len());
    let cost = derivation.saturating_add(expansion);
    if cost > budget {
        return (Verdict::TooLarge { cost, budget }, 0);
    }
    let rights: Vec<Expr> = derive::equations(spec, section)
        .map(|equation| equation.rhs)
        .collect();
    let detected = base.is_none();
    let mut outcomes: Vec<(Outcome, &Layout)> = Vec::new();
    for layout in &layouts {
        let outcome = layout.compare(formula, &rights);
        if outcome.wrong == 0 {
            let verdict = Verdict::Correct {
                tensor,
                equations,
                base: layout.base,
                detected,
            };
            return (verdict, cost);
        }
        outcomes.push((outcome, layout));
    }
    // The base with the fewest differences (0-based on a tie), and what would fix it.
    outcomes.sort_by_key(|(outcome, layout)| (outcome.wrong, layout.base));
    let mut spent = cost;
    let mut best = None;
    // A sum written twice: said as such, rather than searched for a correction.
    let repeated = outcomes
        .first()
        .and_then(|(_, layout)| super::reasons::repeated_sum(layout, formula, &rights));
    for (outcome, layout) in outcomes.iter().filter(|_| repeated.is_none()) {
        let (corrections, steps) = search::correct(layout, formula, &rights, outcome, cost);
        spent = spent.saturating_add(steps);
        if !corrections.is_empty() {
            best = Some((outcome.clone(), layout.base, corrections));
            break;
        }
    }
    let (outcome, base, corrections) = match (best, outcomes.into_iter().next()) {
        (Some(best), _) => best,
        (None, Some((outcome, layout))) => (outcome, layout.base, Vec::new()),
        (None, None) => return (Verdict::Unusable(String::from("nothing to compare")), cost),
    };
    let mut notes: Vec<String> = outcome.event.iter().cloned().chain(repeated).collect();
    if outcome.all_in_remainder {
        notes.push(String::from(
            "every element that differs is an input in the remainder r, never read: its gradient is 0",
        ));
    }
    let verdict = Verdict::Wrong {
        tensor,
        wrong: outcome.wrong,
        equations,
        base,
        detected,
        first: outcome.first,
        notes,
        corrections,
    };
    (verdict, spent)
}
