//! General formulas: one Σ formula for a whole tensor, as the `sigma` format writes it
//! (`dw[a, b] = Σ_{i,j} d[i, j]·x[2i+a, 2j+b]`) and as people write it (in LaTeX,
//! `\sum_{i,j} \delta_{i,j} x_{2i+a, 2j+b}`), expanded over the layer and held against the
//! chain rule's equations, element by element.
//!
//! The convention is the `sigma` format's: a summed index runs over the whole axis it
//! stands alone in; conditions after `:` (`2 | i−a`, `0 ≤ i−a ≤ 2`, `⌊o/2⌋ = c`) keep
//! the terms for which they hold; `x̃` (or `\tilde{x}`) is `x` with zeros outside, where
//! reading outside any other tensor is a mistake; a batch or channel axis of size 1 may
//! go without an index. Indices are 0-based unless [`Base`] says otherwise, or the
//! formula is right only read 1-based, which the verdict then says.
//!
//! The folder: the model and the verdict here, the reader (`parse`), the expansion and
//! its comparison with the derivation (`expand`), and the search for the correction of a
//! wrong formula (`search`).

mod expand;
mod parse;
mod reasons;
mod search;
mod verdict;

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::symbolic::expr::{Expr, Tensor};

pub(super) use expand::judge;
pub(super) use parse::{Read, read};
pub use verdict::Verdict;

/// Where indices start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Base {
    /// The first element is `x[0]`, as in the `sigma` format.
    #[default]
    Zero,
    /// The first element is `x[1]`.
    One,
}

impl Base {
    /// The first index: 0 or 1.
    pub fn first(self) -> i64 {
        match self {
            Base::Zero => 0,
            Base::One => 1,
        }
    }
}

/// A Σ formula read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Formula {
    /// The tensor the formula defines, and the index letter of each axis it indexes.
    pub lhs: Reference,
    /// The products summed, each with its own Σ.
    pub products: Vec<Product>,
}

/// One product of a formula's right side, with the indices it sums over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Product {
    /// The index letters summed over, in the order written.
    pub summed: Vec<char>,
    /// The letters given their range, `Σ_{i=0}^{1}`: each with its first and last value.
    pub limits: Vec<(char, i64, i64)>,
    /// The conditions a term must meet.
    pub conditions: Vec<Condition>,
    /// The factors.
    pub factors: Vec<Reference>,
}

/// A tensor element with index expressions: `x̃[2i+a−1, j]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// The tensor.
    pub tensor: Tensor,
    /// Whether it is read with zeros outside (`x̃`).
    pub padded: bool,
    /// The index expression of each axis written.
    pub indices: Vec<Index>,
}

/// An index expression: `Σ coefficient·atom + constant`, divided exactly by `divisor`
/// (`(i−a+1)/2`) when that is more than 1.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Index {
    /// The variable parts, each with its coefficient.
    pub parts: Vec<(i64, Atom)>,
    /// The constant part.
    pub constant: i64,
    /// The exact divisor of the whole, 1 for none.
    pub divisor: i64,
}

/// A variable part of an index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Atom {
    /// An index letter.
    Letter(char),
    /// `⌊o/m⌋`, a letter divided by a number, rounded down.
    Floor(char, i64),
    /// `c mod m`, the remainder of a letter divided by a number.
    Modulo(char, i64),
}

/// A condition on the summed indices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Condition {
    /// `m | t`: `m` divides `t`.
    Divides(i64, Index),
    /// `t₀ ≤ t₁ < t₂ …`: a chain of comparisons.
    Chain(Vec<Index>, Vec<Comparison>),
}

/// A comparison in a chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    /// `<`
    Less,
    /// `≤`
    AtMost,
    /// `=`
    Equal,
    /// `≥`
    AtLeast,
    /// `>`
    Greater,
}

impl Comparison {
    fn holds(self, left: i64, right: i64) -> bool {
        match self {
            Comparison::Less => left < right,
            Comparison::AtMost => left <= right,
            Comparison::Equal => left == right,
            Comparison::AtLeast => left >= right,
            Comparison::Greater => left > right,
        }
    }

    fn symbol(self) -> char {
        match self {
            Comparison::Less => '<',
            Comparison::AtMost => '≤',
            Comparison::Equal => '=',
            Comparison::AtLeast => '≥',
            Comparison::Greater => '>',
        }
    }
}

/// One element's two right sides where a formula first differs from the derivation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    /// The element, its index letters' values as written (in the formula's base).
    pub element: Vec<i64>,
    /// Its flat, 0-based index.
    pub flat: usize,
    /// What the formula gives; `None` where its expansion fails (an index outside a
    /// tensor, a division that is not exact).
    pub written: Option<Expr>,
    /// What the chain rule gives.
    pub right: Expr,
}

/// A correction found by the search: the index as written, the index that is right, and
/// why, in the words of the layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Correction {
    /// The factor as written.
    pub written: String,
    /// The factor corrected.
    pub right: String,
    /// Why the correction is right.
    pub reason: String,
}

/// A number with the minus sign the `sigma` format prints: `−2`.
fn signed(number: i64) -> String {
    if number < 0 {
        alloc::format!("−{}", number.unsigned_abs())
    } else {
        alloc::format!("{number}")
    }
}

/// In the `sigma` format's spelling: `2i+a−1`, `(i−a+1)/2`, `⌊o/2⌋`.
impl fmt::Display for Index {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.divisor > 1 {
            f.write_str("(")?;
        }
        for (position, (coefficient, atom)) in self.parts.iter().enumerate() {
            match (*coefficient, position) {
                (1, 0) => {}
                (1, _) => f.write_str("+")?,
                (-1, _) => f.write_str("−")?,
                (c, 0) if c > 0 => write!(f, "{c}")?,
                (c, _) if c > 0 => write!(f, "+{c}")?,
                (c, _) => write!(f, "−{}", c.unsigned_abs())?,
            }
            match atom {
                Atom::Letter(letter) => write!(f, "{letter}")?,
                Atom::Floor(letter, divisor) => write!(f, "⌊{letter}/{divisor}⌋")?,
                Atom::Modulo(letter, divisor) => write!(f, "{letter} mod {divisor}")?,
            }
        }
        match (self.constant, self.parts.is_empty()) {
            (c, true) if c < 0 => write!(f, "−{}", c.unsigned_abs())?,
            (c, true) => write!(f, "{c}")?,
            (0, false) => {}
            (c, false) if c > 0 => write!(f, "+{c}")?,
            (c, false) => write!(f, "−{}", c.unsigned_abs())?,
        }
        if self.divisor > 1 {
            write!(f, ")/{}", self.divisor)?;
        }
        Ok(())
    }
}

/// `x̃[2i+a−1, j]`, or the bare name.
impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tensor.name())?;
        if self.padded {
            f.write_str("\u{303}")?;
        }
        if self.indices.is_empty() {
            return Ok(());
        }
        f.write_str("[")?;
        for (position, index) in self.indices.iter().enumerate() {
            if position > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{index}")?;
        }
        f.write_str("]")
    }
}

/// `2 | i−a`, `0 ≤ i−a ≤ 2`.
impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Condition::Divides(divisor, index) => write!(f, "{divisor} | {index}"),
            Condition::Chain(terms, comparisons) => {
                for (position, term) in terms.iter().enumerate() {
                    if let Some(comparison) =
                        position.checked_sub(1).and_then(|c| comparisons.get(c))
                    {
                        write!(f, " {} ", comparison.symbol())?;
                    }
                    write!(f, "{term}")?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests;
