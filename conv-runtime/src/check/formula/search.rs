//! The correction of a wrong formula, computed: a condition the expansion shows missing,
//! a tensor read outside that needs its zeros, and a search through a small space of index
//! expressions (coefficients from the layer's strides and dilations, offsets around the
//! padding, the divisor) and of range bounds, scored against the derivation on the first
//! elements that differ, kept only when the whole formula then expands right.

use alloc::collections::BTreeSet;
use alloc::vec::Vec;

use super::expand::{Layout, Outcome, Values};
use super::reasons::describe;
use super::{Atom, Condition, Correction, Formula, Index};
use crate::symbolic::expr::{Expr, Tensor};

/// The most expansion steps a search may take, past the expansion itself: 2^22, a fraction
/// of a second.
pub(super) const SEARCH_STEPS: usize = 1 << 22;

/// The most places (indices and bounds) of a formula the search changes: a formula people
/// write has a few dozen; a longer one is not searched, rather than copied thousands of
/// times.
pub(super) const LARGEST_SEARCHED: usize = 64;

/// How many times a search reruns with the element its last correction got wrong.
const REFINEMENTS: usize = 4;

/// How many changes the greedy search combines.
const ROUNDS: usize = 4;

/// A place the search may change: an index of a factor, or a number in a condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Slot {
    /// Product, factor, index position.
    Index(usize, usize, usize),
    /// Product, condition, term of its chain.
    Bound(usize, usize, usize),
    /// Product, range written (`Σ_{i=0}^{1}`), its first (0) or last (1) value.
    Limit(usize, usize, usize),
}

/// The corrections that make `formula` right, and the steps spent finding them.
pub(super) fn correct(
    layout: &Layout,
    formula: &Formula,
    rights: &[Expr],
    outcome: &Outcome,
    cost: usize,
) -> (Vec<Correction>, usize) {
    if slots(formula).len() > LARGEST_SEARCHED || cost > SEARCH_STEPS {
        return (Vec::new(), 0);
    }
    let mut search = Search {
        layout,
        rights,
        steps: 0,
        per_element: cost / rights.len().max(1),
    };
    for fixed in Search::direct_fixes(formula) {
        if !search.afford(cost) {
            return (Vec::new(), search.steps);
        }
        if layout
            .with(&fixed)
            .is_some_and(|fixed_layout| fixed_layout.agrees(&fixed, rights))
        {
            return (describe(layout, formula, &fixed), search.steps);
        }
    }
    // From the formula as written, then from each direct fix: a forgotten padding needs
    // the zeros and a shifted index at once. A correction right on the probes but wrong
    // elsewhere adds the first element it gets wrong to the probes, and the search reruns.
    let starts = core::iter::once(formula.clone()).chain(Search::direct_fixes(formula));
    for start in starts {
        let mut probes = outcome.probes.clone();
        for _ in 0..REFINEMENTS {
            let Some(fixed) = search.greedy(&start, &probes) else {
                break;
            };
            if !search.afford(cost) {
                return (Vec::new(), search.steps);
            }
            let Some(fixed_layout) = layout.with(&fixed) else {
                break;
            };
            let check = fixed_layout.compare(&fixed, rights);
            match check.probes.first() {
                None => return (describe(layout, formula, &fixed), search.steps),
                Some(&wrong) if !probes.contains(&wrong) => probes.push(wrong),
                Some(_) => break,
            }
        }
    }
    (Vec::new(), search.steps)
}

struct Search<'a, 'b> {
    layout: &'a Layout<'b>,
    rights: &'a [Expr],
    steps: usize,
    per_element: usize,
}

impl Search<'_, '_> {
    /// Counts `steps` more; whether they are within [`SEARCH_STEPS`].
    fn afford(&mut self, steps: usize) -> bool {
        self.steps = self.steps.saturating_add(steps);
        self.steps <= SEARCH_STEPS
    }

    /// The formula with each missing divisibility condition added, with each tensor read
    /// outside given its zeros, and with both.
    fn direct_fixes(formula: &Formula) -> Vec<Formula> {
        let mut divided = formula.clone();
        for product in &mut divided.products {
            let missing: Vec<Condition> = product
                .factors
                .iter()
                .flat_map(|factor| &factor.indices)
                .filter(|index| index.divisor > 1)
                .map(|index| {
                    Condition::Divides(
                        index.divisor,
                        Index {
                            divisor: 1,
                            ..index.clone()
                        },
                    )
                })
                .filter(|condition| !product.conditions.contains(condition))
                .collect();
            product.conditions.extend(missing);
        }
        let pad = |formula: &Formula| {
            let mut padded = formula.clone();
            for factor in padded.products.iter_mut().flat_map(|p| &mut p.factors) {
                factor.padded |= factor.tensor == Tensor::Input;
            }
            padded
        };
        let mut fixes = Vec::new();
        for candidate in [divided.clone(), pad(formula), pad(&divided)] {
            if candidate != *formula && !fixes.contains(&candidate) {
                fixes.push(candidate);
            }
        }
        fixes
    }

    /// How far `formula` is from the derivation on `probes`: the terms in one side and not
    /// the other, summed; `None` past the search's steps.
    fn score(&mut self, formula: &Formula, probes: &[usize]) -> Option<usize> {
        if !self.afford(self.per_element.saturating_mul(probes.len())) {
            return None;
        }
        // The candidate's own ranges: a range written out may be what changed.
        let layout = self.layout.with(formula)?;
        let mut values: Values = [0; 128];
        let mut total = 0;
        for &flat in probes {
            let right = self.rights.get(flat)?;
            layout.element(flat, formula, &mut values);
            total += match layout.expand(formula, &mut values) {
                Ok(written) => distance(&written, right),
                Err(_) => right.terms().len() + 1,
            };
        }
        Some(total)
    }

    /// Up to [`ROUNDS`] changes, each the one that brings the probes closest to the
    /// derivation; the formula once they all agree, `None` if they never do.
    fn greedy(&mut self, formula: &Formula, probes: &[usize]) -> Option<Formula> {
        let mut current = formula.clone();
        let mut best = self.score(&current, probes)?;
        for _ in 0..ROUNDS {
            if best == 0 {
                break;
            }
            let mut round_best: Option<(usize, Formula)> = None;
            for slot in slots(&current) {
                for candidate in self.candidates(&current, slot) {
                    let score = self.score(&candidate, probes)?;
                    if score < round_best.as_ref().map_or(best, |(s, _)| *s) {
                        round_best = Some((score, candidate));
                    }
                }
            }
            let (score, candidate) = round_best?;
            best = score;
            current = candidate;
        }
        (best == 0).then_some(current)
    }

    /// The formulas one change at `slot` away from `formula`, each summed letter still
    /// standing alone in some index (else its range is unknown).
    fn candidates(&self, formula: &Formula, slot: Slot) -> Vec<Formula> {
        let mut candidates = self.changes(formula, slot);
        candidates.retain(ranges_known);
        candidates
    }

    fn changes(&self, formula: &Formula, slot: Slot) -> Vec<Formula> {
        let spec = self.layout.spec;
        let strides = spec.axes().iter().map(|axis| to_i64(axis.stride()));
        let dilations = spec.axes().iter().map(|axis| to_i64(axis.dilation()));
        let reach = spec
            .axes()
            .iter()
            .map(|axis| to_i64(axis.effective_kernel() + axis.pad_before()))
            .max()
            .unwrap_or(1)
            .clamp(3, 8);
        let mut coefficients: BTreeSet<i64> = [1, 2, 3].into_iter().collect();
        coefficients.extend(strides.chain(dilations));
        let coefficients: Vec<i64> = coefficients.iter().flat_map(|&c| [c, -c]).collect();
        let mut out = Vec::new();
        match slot {
            Slot::Index(p, f, q) => {
                let Some(index) = index_at(formula, p, f, q) else {
                    return out;
                };
                for changed in self.index_changes(index, &coefficients, reach) {
                    let mut candidate = formula.clone();
                    if let Some(slot) = index_at_mut(&mut candidate, p, f, q) {
                        *slot = changed.clone();
                        out.push(candidate.clone());
                    }
                    if same_change_everywhere(&mut candidate, p, f, &changed) {
                        out.push(candidate);
                    }
                }
            }
            Slot::Bound(..) | Slot::Limit(..) => {
                let largest = spec
                    .input_shape()
                    .iter()
                    .chain(&spec.output_shape())
                    .copied()
                    .max()
                    .map_or(1, to_i64);
                for value in -reach..=largest.saturating_add(reach) {
                    let mut candidate = formula.clone();
                    if let Some(number) = number_at_mut(&mut candidate, slot)
                        && *number != value
                    {
                        *number = value;
                        out.push(candidate.clone());
                        // Every range of the product ending there: a miscounted axis is
                        // usually miscounted on each.
                        if let Slot::Limit(p, _, end) = slot
                            && let Some(product) = candidate.products.get_mut(p)
                            && product.limits.len() > 1
                        {
                            for (_, first, last) in &mut product.limits {
                                *(if end == 0 { first } else { last }) = value;
                            }
                            out.push(candidate);
                        }
                    }
                }
            }
        }
        out
    }
}

impl Search<'_, '_> {
    /// The indices one change away from `index`: a coefficient (or two at once), the
    /// offset, a coefficient with the offset, the divisor, a letter read by its group.
    fn index_changes(&self, index: &Index, coefficients: &[i64], reach: i64) -> BTreeSet<Index> {
        let spec = self.layout.spec;
        let mut indices = BTreeSet::new();
        for constant in -reach..=reach {
            indices.insert(Index {
                constant,
                ..index.clone()
            });
            for part in 0..index.parts.len() {
                for &coefficient in coefficients {
                    let mut changed = index.clone();
                    changed.constant = constant;
                    if let Some((c, _)) = changed.parts.get_mut(part) {
                        *c = coefficient;
                    }
                    indices.insert(changed);
                }
            }
        }
        if index.parts.len() == 2 {
            for &first in coefficients {
                for &second in coefficients {
                    let mut changed = index.clone();
                    if let [(a, _), (b, _)] = changed.parts.as_mut_slice() {
                        (*a, *b) = (first, second);
                    }
                    indices.insert(changed);
                }
            }
        }
        // A channel read by its group: `⌊o/2⌋` for `o`.
        let groups = [spec.out_channels_per_group(), spec.in_channels_per_group()];
        for part in 0..index.parts.len() {
            for divisor in groups.into_iter().filter(|&divisor| divisor > 1) {
                let mut changed = index.clone();
                if let Some((_, atom)) = changed.parts.get_mut(part)
                    && let Atom::Letter(letter) = *atom
                {
                    *atom = Atom::Floor(letter, to_i64(divisor));
                    indices.insert(changed);
                }
            }
        }
        if index.divisor > 1 {
            let strides = spec.axes().iter().map(|axis| to_i64(axis.stride()));
            for divisor in strides.chain([1]) {
                indices.insert(Index {
                    divisor,
                    ..index.clone()
                });
            }
        }
        indices.remove(index);
        indices
    }
}

/// `changed`'s coefficients, offset and divisor given to every other index of factor `f`
/// of product `p` with as many parts: a mistake made once is usually made on each axis.
/// Whether any index changed.
fn same_change_everywhere(formula: &mut Formula, p: usize, f: usize, changed: &Index) -> bool {
    let factor = formula
        .products
        .get_mut(p)
        .and_then(|product| product.factors.get_mut(f));
    let mut any = false;
    for other in factor.into_iter().flat_map(|factor| &mut factor.indices) {
        if other.parts.len() == changed.parts.len() && *other != *changed {
            other.constant = changed.constant;
            other.divisor = changed.divisor;
            for ((c, _), (new, _)) in other.parts.iter_mut().zip(&changed.parts) {
                *c = *new;
            }
            any = true;
        }
    }
    any
}

/// Whether every summed letter of every product stands alone in one of its factors' indices.
fn ranges_known(formula: &Formula) -> bool {
    formula.products.iter().all(|product| {
        product.summed.iter().all(|&letter| {
            let alone = Index::letter(letter);
            product
                .limits
                .iter()
                .any(|(limited, ..)| *limited == letter)
                || product
                    .factors
                    .iter()
                    .any(|factor| factor.indices.contains(&alone))
        })
    })
}

pub(super) fn to_i64(value: usize) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// The terms in one of two sums and not in the other, in one walk of both.
fn distance(a: &Expr, b: &Expr) -> usize {
    let (mut left, mut right) = (a.terms().iter().peekable(), b.terms().iter().peekable());
    let mut count = 0;
    loop {
        match (left.peek(), right.peek()) {
            (None, None) => return count,
            (Some(_), None) => {
                left.next();
                count += 1;
            }
            (None, Some(_)) => {
                right.next();
                count += 1;
            }
            (Some(x), Some(y)) => {
                match (x.factors(), x.coefficient()).cmp(&(y.factors(), y.coefficient())) {
                    core::cmp::Ordering::Less => {
                        left.next();
                        count += 1;
                    }
                    core::cmp::Ordering::Greater => {
                        right.next();
                        count += 1;
                    }
                    core::cmp::Ordering::Equal => {
                        left.next();
                        right.next();
                    }
                }
            }
        }
    }
}

/// Every place of `formula` the search may change: indices with a letter, and numbers in
/// condition chains.
fn slots(formula: &Formula) -> Vec<Slot> {
    let mut slots = Vec::new();
    for (p, product) in formula.products.iter().enumerate() {
        for (f, factor) in product.factors.iter().enumerate() {
            for (q, index) in factor.indices.iter().enumerate() {
                if index
                    .parts
                    .iter()
                    .any(|(_, atom)| matches!(atom, Atom::Letter(_)))
                {
                    slots.push(Slot::Index(p, f, q));
                }
            }
        }
        for l in 0..product.limits.len() {
            slots.extend([Slot::Limit(p, l, 0), Slot::Limit(p, l, 1)]);
        }
        for (c, condition) in product.conditions.iter().enumerate() {
            if let Condition::Chain(terms, _) = condition {
                for (t, term) in terms.iter().enumerate() {
                    if term.parts.is_empty() {
                        slots.push(Slot::Bound(p, c, t));
                    }
                }
            }
        }
    }
    slots
}

fn index_at(formula: &Formula, p: usize, f: usize, q: usize) -> Option<&Index> {
    formula.products.get(p)?.factors.get(f)?.indices.get(q)
}

fn index_at_mut(formula: &mut Formula, p: usize, f: usize, q: usize) -> Option<&mut Index> {
    formula
        .products
        .get_mut(p)?
        .factors
        .get_mut(f)?
        .indices
        .get_mut(q)
}

/// The number at a bound or limit slot: a number in a condition's chain, or the first or
/// last value of a range written out.
fn number_at_mut(formula: &mut Formula, slot: Slot) -> Option<&mut i64> {
    match slot {
        Slot::Bound(p, c, t) => match formula.products.get_mut(p)?.conditions.get_mut(c)? {
            Condition::Chain(terms, _) => terms.get_mut(t).map(|term| &mut term.constant),
            Condition::Divides(..) => None,
        },
        Slot::Limit(p, l, end) => {
            let (_, first, last) = formula.products.get_mut(p)?.limits.get_mut(l)?;
            Some(if end == 0 { first } else { last })
        }
        Slot::Index(..) => None,
    }
}
