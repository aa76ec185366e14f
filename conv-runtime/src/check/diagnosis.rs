//! The diagnosis: each equation read held against the chain rule's, and what is wrong with
//! it named precisely (an index off by one, a missing or extra term, an input never read).

use alloc::collections::BTreeSet;
use alloc::string::String;
use alloc::vec::Vec;
use core::cmp::Ordering;

use smallvec::SmallVec;

use super::formula::Verdict;
use super::notation::ParseError;
use crate::limits::CHECKED_TERMS;
use crate::spec::{Spec, Unread};
use crate::symbolic::derive::{self, Section};
use crate::symbolic::expr::{Expr, Tensor, Term, Variable};

/// One thing wrong with an equation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// A term written with one index off: `w5*x8` where `w5*x9` is right.
    Index {
        /// The term as written.
        written: Term,
        /// The term that is right.
        right: Term,
    },
    /// Terms the equation needs but does not have.
    Missing(Vec<Term>),
    /// Terms the equation has but should not.
    Extra(Vec<Term>),
    /// A right term with the wrong multiplicity or sign.
    Coefficient {
        /// The product, coefficient aside.
        factors: Vec<Variable>,
        /// The coefficient written.
        written: i64,
        /// The coefficient that is right.
        right: i64,
    },
    /// An element the layer does not have, written on the right side.
    Unknown {
        /// The element.
        variable: Variable,
        /// How many elements its tensor has.
        count: usize,
    },
    /// The left side names an element the layer does not have.
    NoSuchElement {
        /// How many elements that tensor has.
        count: usize,
    },
    /// The gradient of an input the forward pass never reads, written as if it were read.
    NeverRead {
        /// The input.
        input: Variable,
        /// Why no output reads it.
        reason: Unread,
    },
    /// The equation was already written on an earlier line.
    Repeated {
        /// That earlier line.
        first_line: usize,
    },
}

/// What a line was found to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finding {
    /// An equation that is right.
    Correct(Variable),
    /// An equation with problems, and the equation that is right (when the element exists).
    Wrong {
        /// The element the equation is for.
        lhs: Variable,
        /// What is wrong, most precise first.
        problems: Vec<Problem>,
        /// The right-hand side that is right.
        right: Option<Expr>,
    },
    /// A line that starts like an equation but cannot be read.
    Unreadable {
        /// The line, trimmed.
        text: String,
        /// Why.
        error: ParseError,
    },
    /// A line that is not an equation.
    Ignored {
        /// The line, trimmed.
        text: String,
    },
    /// An equation past [`CHECKED_TERMS`] terms, refused rather than checked.
    TooLarge {
        /// The element the equation is for.
        lhs: Variable,
        /// How many terms the equation has, derived; `None` when the written right side
        /// is past the limit.
        derived: Option<usize>,
    },
    /// A Σ formula, expanded and held against the derivation.
    Formula {
        /// The formula's left side as read, `dw[a, b]`.
        lhs: String,
        /// What it was found to be.
        verdict: Verdict,
    },
    /// An equation whose derivation would take the check past its budget (see
    /// [`Checker::derived`](super::Checker::derived)), refused rather than checked.
    OverBudget {
        /// The element the equation is for.
        lhs: Variable,
        /// The terms deriving it walks.
        cost: usize,
        /// The terms already walked.
        spent: usize,
        /// The budget so far: [`CHECKED_TERMS`] plus one for each byte read.
        budget: usize,
    },
}

/// How many elements `tensor` has in `spec`.
fn length(spec: &Spec, tensor: Tensor) -> usize {
    match tensor {
        Tensor::Input | Tensor::GradInput => spec.input_len(),
        Tensor::Weight | Tensor::GradWeight => spec.weight_len(),
        Tensor::Delta | Tensor::Output => spec.output_len(),
        Tensor::Bias | Tensor::GradBias => spec.bias_len(),
    }
}

fn section(tensor: Tensor) -> Option<Section> {
    Section::ALL
        .into_iter()
        .find(|section| section.tensor() == tensor)
}

/// The terms [`judge`] walks to derive the equation of `lhs`: the length of the
/// derivation's loops, [`Section::max_terms`], which can be far more than the equation's
/// terms when most of a kernel lands on padding; 0 when nothing is derived (no such
/// element, or an equation past [`CHECKED_TERMS`] terms, refused unseen).
pub(super) fn cost(spec: &Spec, lhs: Variable) -> usize {
    let Some(section) = section(lhs.tensor) else {
        return 0;
    };
    if lhs.index >= length(spec, lhs.tensor) || section.terms(spec, lhs.index) > CHECKED_TERMS {
        return 0;
    }
    section.max_terms(spec)
}

/// The finding for one equation read.
pub(super) fn judge(spec: &Spec, lhs: Variable, rhs: &Expr, repeated: Option<usize>) -> Finding {
    let mut problems = Vec::new();
    if let Some(first_line) = repeated {
        problems.push(Problem::Repeated { first_line });
    }
    let count = length(spec, lhs.tensor);
    let terms = section(lhs.tensor).map_or(0, |section| section.terms(spec, lhs.index));
    if terms > CHECKED_TERMS {
        return Finding::TooLarge {
            lhs,
            derived: Some(terms),
        };
    }
    let right = section(lhs.tensor)
        .filter(|_| lhs.index < count)
        .and_then(|section| derive::equations(spec, section).nth(lhs.index))
        .map(|equation| equation.rhs);
    match &right {
        None => problems.push(Problem::NoSuchElement { count }),
        Some(right) => {
            let found = diagnose(spec, rhs, right);
            // A gradient written for an input the layer never reads: say why it is 0.
            let why = (!found.is_empty() && right.is_zero() && lhs.tensor == Tensor::GradInput)
                .then(|| never_read(spec, lhs.index))
                .flatten();
            problems.extend(found);
            problems.extend(why);
        }
    }
    if problems.is_empty() {
        Finding::Correct(lhs)
    } else {
        Finding::Wrong {
            lhs,
            problems,
            right,
        }
    }
}

/// Why input `index` is never read, if it is not.
fn never_read(spec: &Spec, index: usize) -> Option<Problem> {
    let reason = spec.why_input_unread(index)?;
    Some(Problem::NeverRead {
        input: Variable::new(Tensor::Input, index),
        reason,
    })
}

/// What is wrong with `written` where `right` is right: one walk through the two sums,
/// both in canonical order, then the pairing of extra and missing terms.
fn diagnose(spec: &Spec, written: &Expr, right: &Expr) -> Vec<Problem> {
    let mut coefficients = Vec::new();
    let mut missing: Vec<Term> = Vec::new();
    let mut extra: Vec<Term> = Vec::new();
    let (mut written_terms, mut right_terms) = (
        written.terms().iter().peekable(),
        right.terms().iter().peekable(),
    );
    loop {
        let order = match (written_terms.peek(), right_terms.peek()) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(a), Some(b)) => a.factors().cmp(b.factors()),
        };
        match order {
            Ordering::Less => extra.extend(written_terms.next().cloned()),
            Ordering::Greater => missing.extend(right_terms.next().cloned()),
            Ordering::Equal => {
                if let (Some(a), Some(b)) = (written_terms.next(), right_terms.next())
                    && a.coefficient() != b.coefficient()
                {
                    coefficients.push(Problem::Coefficient {
                        factors: b.factors().to_vec(),
                        written: a.coefficient(),
                        right: b.coefficient(),
                    });
                }
            }
        }
    }
    let (paired, unpaired_extra, missing) = pair(extra, missing);
    let mut unknown: Vec<Variable> = written
        .terms()
        .iter()
        .flat_map(|term| term.factors().iter().copied())
        .filter(|variable| variable.index >= length(spec, variable.tensor))
        .collect();
    unknown.sort_unstable();
    unknown.dedup();
    let mut all = paired;
    if !missing.is_empty() {
        all.push(Problem::Missing(missing));
    }
    if !unpaired_extra.is_empty() {
        all.push(Problem::Extra(unpaired_extra));
    }
    all.extend(coefficients);
    all.extend(unknown.into_iter().map(|variable| Problem::Unknown {
        variable,
        count: length(spec, variable.tensor),
    }));
    all
}

/// A term with the index of one factor left out: two terms one index apart there (same
/// coefficient, same tensors, every other factor equal) have the same key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Blank {
    coefficient: i64,
    position: usize,
    /// Inline for the products of two a derivation has: no allocation per key.
    factors: SmallVec<[Variable; 2]>,
}

impl Blank {
    fn new(term: &Term, position: usize) -> Self {
        let mut factors: SmallVec<[Variable; 2]> = term.factors().iter().copied().collect();
        if let Some(factor) = factors.get_mut(position) {
            factor.index = 0;
        }
        Blank {
            coefficient: term.coefficient(),
            position,
            factors,
        }
    }
}

/// Each extra term (in order) paired with the one missing term it is an index away from,
/// when that pairing is unambiguous: a single closest candidate among the missing terms
/// not yet paired. Returns the pairs, the extra terms left and the missing terms left.
///
/// The missing terms are indexed by their terms with one index left out, so that each
/// extra term finds its nearest candidates in `log n`, not by a scan of every missing term.
pub(super) fn pair(extra: Vec<Term>, missing: Vec<Term>) -> (Vec<Problem>, Vec<Term>, Vec<Term>) {
    // The missing terms not yet paired, by key, then by the index left out: one ordered
    // set, a few dozen bytes per entry.
    let mut open: BTreeSet<(Blank, usize, usize)> = BTreeSet::new();
    for (number, term) in missing.iter().enumerate() {
        for (position, factor) in term.factors().iter().enumerate() {
            open.insert((Blank::new(term, position), factor.index, number));
        }
    }
    // A missing term comes from the derivation, a product of at most two factors; longer
    // written products have no candidate, and are not keyed at all.
    let longest = missing.iter().map(|term| term.factors().len()).max();
    let mut taken = alloc::vec![false; missing.len()];
    let mut paired = Vec::new();
    let mut unpaired = Vec::new();
    for term in extra {
        let length = term.factors().len();
        let mut closest: Option<(usize, usize)> = None;
        let mut tied = false;
        for (position, factor) in term.factors().iter().enumerate() {
            if Some(length) > longest {
                break;
            }
            let blank = Blank::new(&term, position);
            let below = open.range(..(blank.clone(), factor.index, 0)).next_back();
            let above = open
                .range((blank.clone(), factor.index.saturating_add(1), 0)..)
                .next();
            let candidates = below.into_iter().chain(above);
            for (_, index, number) in candidates.filter(|(key, ..)| *key == blank) {
                let (index, number) = (*index, *number);
                let distance = index.abs_diff(factor.index);
                match closest {
                    Some((best, _)) if best < distance => {}
                    Some((best, _)) if best == distance => tied = true,
                    _ => {
                        closest = Some((distance, number));
                        tied = false;
                    }
                }
            }
        }
        match closest.filter(|_| !tied) {
            Some((_, number)) => {
                let Some(right) = missing.get(number) else {
                    continue;
                };
                for (position, factor) in right.factors().iter().enumerate() {
                    open.remove(&(Blank::new(right, position), factor.index, number));
                }
                if let Some(slot) = taken.get_mut(number) {
                    *slot = true;
                }
                paired.push(Problem::Index {
                    written: term,
                    right: right.clone(),
                });
            }
            None => unpaired.push(term),
        }
    }
    let missing = missing
        .into_iter()
        .zip(taken)
        .filter(|(_, taken)| !taken)
        .map(|(term, _)| term)
        .collect();
    (paired, unpaired, missing)
}
