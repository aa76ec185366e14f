//! The reader of Σ formulas: the characters of a line (or of a LaTeX row lowered to the
//! plain notation) into a [`Formula`], or the column where it stops making sense.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::{Atom, Comparison, Condition, Formula, Index, Product, Reference};
use crate::check::notation::{ParseError, tensor_named};

/// What a line is, read as a formula.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Read {
    /// Not a formula: its left side is not a tensor indexed by letters.
    NotFormula,
    /// A formula in symbols other than the layer's indices (`p·s + q·d`): the general
    /// convolution, not a formula of this layer.
    General,
    /// A formula.
    Formula(Formula),
    /// A formula that cannot be read.
    Unreadable(ParseError),
}

/// Reads `chars` as a formula.
pub fn read(chars: &[char]) -> Read {
    let mut parser = Parser {
        chars,
        position: 0,
        bound: Vec::new(),
    };
    let Some(lhs) = parser.left_side() else {
        return Read::NotFormula;
    };
    match parser.right_side(lhs) {
        Ok(formula) => Read::Formula(formula),
        Err(Stop::Unbound) => Read::General,
        Err(Stop::Error(error)) => Read::Unreadable(error),
    }
}

/// Why reading stopped.
enum Stop {
    /// A symbol that is no index of the formula.
    Unbound,
    /// A mistake.
    Error(ParseError),
}

type Parsed<T> = Result<T, Stop>;

/// How an index list opened: closed by a character, or a single index after `_`.
#[derive(Clone, Copy)]
enum Opening {
    Closed(char),
    Single,
}

struct Parser<'a> {
    chars: &'a [char],
    position: usize,
    /// The index letters in scope: the left side's, then a product's summed ones.
    bound: Vec<char>,
}

fn is_times(c: char) -> bool {
    matches!(c, '*' | '·' | '⋅' | '×' | '∙')
}

fn is_minus(c: char) -> bool {
    matches!(c, '-' | '−' | '–')
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.position).copied()
    }

    fn skip_whitespace(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.position += 1;
        }
    }

    /// The next character that is not a space, consumed when it is `expected`.
    fn eat(&mut self, expected: char) -> bool {
        self.skip_whitespace();
        let found = self.peek() == Some(expected);
        if found {
            self.position += 1;
        }
        found
    }

    fn eat_spaced(&mut self, text: &str) -> bool {
        let start = self.position;
        if text.chars().all(|c| self.eat(c)) {
            return true;
        }
        self.position = start;
        false
    }

    fn error<T>(&self, message: impl Into<String>) -> Parsed<T> {
        Err(Stop::Error(ParseError {
            column: self.position + 1,
            message: message.into(),
        }))
    }

    fn expect(&mut self, expected: char, what: &str) -> Parsed<()> {
        if self.eat(expected) {
            Ok(())
        } else {
            self.error(format!("expected `{expected}` {what}"))
        }
    }

    /// A tensor's name: `x`, `x̃`, `δ`, `dw`, `∂L/∂w`. `None` (cursor unmoved) otherwise.
    fn name(&mut self) -> Option<(crate::symbolic::expr::Tensor, bool)> {
        let start = self.position;
        self.skip_whitespace();
        let gradient = self.eat_spaced("∂L/∂") || self.eat_spaced("dL/d");
        self.skip_whitespace();
        let mut letters = String::new();
        while let Some(c) = self.peek().filter(|c| c.is_ascii_alphabetic() || *c == 'δ') {
            letters.push(if c == 'δ' { 'd' } else { c });
            self.position += 1;
        }
        if gradient {
            letters.insert(0, 'd');
        }
        let padded = self.peek() == Some('\u{303}');
        if padded {
            self.position += 1;
        }
        let tensor = tensor_named(&letters);
        if tensor.is_none() {
            self.position = start;
        }
        Some((tensor?, padded))
    }

    /// Opens an index list, `[` or `_{` (or `_` before a single letter).
    fn open_indices(&mut self) -> Option<Opening> {
        if self.eat('[') {
            return Some(Opening::Closed(']'));
        }
        if !self.eat('_') {
            return None;
        }
        Some(if self.eat('{') {
            Opening::Closed('}')
        } else {
            Opening::Single
        })
    }

    /// `dw[a, b] =`: a result tensor indexed by letters, then `=`; or a tensor of one
    /// element (`db =`) when a `Σ` follows. `None` when the line does not open so.
    fn left_side(&mut self) -> Option<Reference> {
        let (tensor, padded) = self.name()?;
        let mut letters = Vec::new();
        let Some(close) = self.open_indices() else {
            let summed = self.chars.get(self.position..)?.contains(&'Σ');
            return (summed && self.eat('=')).then_some(Reference {
                tensor,
                padded,
                indices: Vec::new(),
            });
        };
        loop {
            self.skip_whitespace();
            let letter = self.peek().filter(char::is_ascii_alphabetic)?;
            self.position += 1;
            letters.push(letter);
            match close {
                Opening::Single => break,
                Opening::Closed(close) if self.eat(close) => break,
                Opening::Closed(_) if self.eat(',') => {}
                Opening::Closed(_) => return None,
            }
        }
        if !self.eat('=') {
            return None;
        }
        self.bound.clone_from(&letters);
        let indices = letters.into_iter().map(Index::letter).collect();
        Some(Reference {
            tensor,
            padded,
            indices,
        })
    }

    /// The products after `=`, joined by `+`, to the end.
    fn right_side(&mut self, lhs: Reference) -> Parsed<Formula> {
        let scope = self.bound.len();
        let mut products = Vec::new();
        loop {
            self.bound.truncate(scope);
            products.push(self.product()?);
            self.skip_whitespace();
            match self.peek() {
                None => break,
                Some('+') => self.position += 1,
                Some(c) if matches!(c, ',' | ';' | '.') && self.rest_is_blank(1) => break,
                Some(c) => {
                    return self.error(format!(
                        "unexpected `{c}`: a formula is a sum of products such as `Σ_{{i,j}} d[i, j]·x[2i+a, 2j+b]`, joined by `+`"
                    ));
                }
            }
        }
        Ok(Formula { lhs, products })
    }

    /// Whether the rest of the line holds a word, three letters or more (`over`,
    /// `pad_lo`), which no formula of one layer's elements writes.
    fn rest_has_word(&self) -> bool {
        let rest = self.chars.get(self.position..).unwrap_or_default();
        rest.split(|c| !c.is_ascii_alphabetic())
            .any(|word| word.len() >= 3)
    }

    fn rest_is_blank(&self, skip: usize) -> bool {
        self.chars
            .iter()
            .skip(self.position + skip)
            .all(|c| c.is_whitespace())
    }

    /// `Σ_{a,b : conditions} w[a, b]·x[2i+a, 2j+b]`, the Σ optional.
    fn product(&mut self) -> Parsed<Product> {
        let mut summed = Vec::new();
        let mut conditions = Vec::new();
        let mut limits = Vec::new();
        while self.eat('Σ') {
            let Some(close) = self.open_indices() else {
                // A Σ that names no letters, followed by words: a general formula in
                // prose, as `explain` writes `… = Σ δ[n, o, p] · w[o, c', q] over p·s + …`.
                if self.rest_has_word() {
                    return Err(Stop::Unbound);
                }
                return self.error("expected `_` after `Σ`, e.g. `Σ_{i,j}`");
            };
            loop {
                self.skip_whitespace();
                let Some(letter) = self.peek().filter(char::is_ascii_alphabetic) else {
                    return self.error("expected an index letter to sum over, e.g. `Σ_{i,j}`");
                };
                // A letter summed twice, or the left side's summed, would have no range of
                // its own: its sum would never end.
                if self.bound.contains(&letter) {
                    return self.error(format!(
                        "`{letter}` is already an index here: each Σ sums a letter of its own, as `Σ_{{i,j}}`"
                    ));
                }
                self.position += 1;
                summed.push(letter);
                self.bound.push(letter);
                // `Σ_{i=0}^{1}`: the range written out.
                if let Opening::Closed(close) = close
                    && self.eat('=')
                {
                    let first = self.signed()?;
                    self.expect(close, "after the first value, as in `Σ_{i=0}^{1}`")?;
                    self.expect('^', "and the last value, as in `Σ_{i=0}^{1}`")?;
                    let braced = self.eat('{');
                    let last = self.signed()?;
                    if braced {
                        self.expect('}', "after the last value")?;
                    }
                    limits.push((letter, first, last));
                    break;
                }
                if matches!(close, Opening::Single) || !self.eat(',') {
                    break;
                }
            }
            if limits
                .last()
                .is_some_and(|(letter, ..)| summed.last() == Some(letter))
            {
                continue;
            }
            if let Opening::Closed(close) = close {
                if self.eat(':') || self.eat('|') {
                    loop {
                        conditions.push(self.condition()?);
                        if !self.eat(',') {
                            break;
                        }
                    }
                }
                self.expect(close, "to close the summed indices")?;
            }
        }
        let mut factors = Vec::new();
        loop {
            factors.push(self.factor()?);
            self.skip_whitespace();
            match self.peek() {
                Some(c) if is_times(c) => self.position += 1,
                Some(c) if c.is_ascii_alphabetic() || matches!(c, 'δ' | '∂') => {}
                _ => break,
            }
        }
        Ok(Product {
            summed,
            limits,
            conditions,
            factors,
        })
    }

    /// `x̃[2i+a−1, j]`, `δ_{i,j}`, or a bare name.
    fn factor(&mut self) -> Parsed<Reference> {
        self.skip_whitespace();
        let Some((tensor, padded)) = self.name() else {
            if self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
                return Err(Stop::Unbound);
            }
            return self.error("expected a tensor element such as `x[2i+a, 2j+b]`");
        };
        let mut indices = Vec::new();
        if let Some(close) = self.open_indices() {
            loop {
                indices.push(self.index()?);
                match close {
                    Opening::Single => break,
                    Opening::Closed(close) if self.eat(close) => break,
                    Opening::Closed(_) if self.eat(',') => {}
                    Opening::Closed(close) => {
                        return self.error(format!("expected `,` or `{close}` after an index"));
                    }
                }
            }
        }
        Ok(Reference {
            tensor,
            padded,
            indices,
        })
    }

    /// A condition: `2 | i−a` or a chain `0 ≤ i−a ≤ 2`.
    fn condition(&mut self) -> Parsed<Condition> {
        let first = self.index()?;
        if self.eat('|') || self.eat('∣') {
            let Some(divisor) = first.number().filter(|&n| n > 0) else {
                return self.error("the left of `|` is a positive number, as in `2 | i−a`");
            };
            return Ok(Condition::Divides(divisor, self.index()?));
        }
        let mut terms = alloc::vec![first];
        let mut comparisons = Vec::new();
        while let Some(comparison) = self.comparison() {
            comparisons.push(comparison);
            terms.push(self.index()?);
        }
        if comparisons.is_empty() {
            return self.error("expected a condition such as `2 | i−a` or `0 ≤ i−a ≤ 2`");
        }
        Ok(Condition::Chain(terms, comparisons))
    }

    fn comparison(&mut self) -> Option<Comparison> {
        self.skip_whitespace();
        let comparison = match self.peek()? {
            '≤' => Comparison::AtMost,
            '≥' => Comparison::AtLeast,
            '=' => Comparison::Equal,
            '<' if self.chars.get(self.position + 1) == Some(&'=') => {
                self.position += 1;
                Comparison::AtMost
            }
            '>' if self.chars.get(self.position + 1) == Some(&'=') => {
                self.position += 1;
                Comparison::AtLeast
            }
            '<' => Comparison::Less,
            '>' => Comparison::Greater,
            _ => return None,
        };
        self.position += 1;
        Some(comparison)
    }

    /// An index expression: `2i+a−1`, `(i−a+1)/2`, `⌊o/2⌋`, `3`.
    fn index(&mut self) -> Parsed<Index> {
        self.skip_whitespace();
        let start = self.position;
        if self.eat('(') {
            let mut inner = self.linear()?;
            self.expect(')', "to close the index")?;
            if self.eat('/') {
                inner.divisor = self.positive()?;
                return Ok(inner);
            }
            // `(i+a)` alone, or the start of a sum: read again as a sum.
            self.position = start;
        }
        self.linear()
    }

    /// `Σ coefficient·atom + constant`.
    fn linear(&mut self) -> Parsed<Index> {
        let mut index = Index {
            parts: Vec::new(),
            constant: 0,
            divisor: 1,
        };
        self.skip_whitespace();
        let mut sign = if self.peek().is_some_and(is_minus) {
            self.position += 1;
            -1
        } else {
            1
        };
        loop {
            self.skip_whitespace();
            let number = self.number()?;
            self.skip_whitespace();
            if number.is_some() && self.peek().is_some_and(is_times) {
                self.position += 1;
                self.skip_whitespace();
            }
            let coefficient = sign * number.unwrap_or(1);
            match self.atom()? {
                // `i+i` is `2i`: an index holds each atom once, so that its size (and the
                // search's changes to it) are bounded by the letters in scope, not by the
                // line's length (an index of 3 000 `i`s once took seconds and gigabytes).
                Some(atom) => match index.parts.iter_mut().find(|(_, part)| *part == atom) {
                    Some((sum, _)) => *sum = sum.saturating_add(coefficient),
                    None => index.parts.push((coefficient, atom)),
                },
                None if number.is_some() => index.constant += coefficient,
                None => return self.error("expected an index such as `2i+a`"),
            }
            self.skip_whitespace();
            match self.peek() {
                Some('+') => sign = 1,
                Some(c) if is_minus(c) => sign = -1,
                _ => return Ok(index),
            }
            self.position += 1;
        }
    }

    /// A letter in scope, `c mod 2` or `⌊o/2⌋`; `None` (cursor unmoved) when none
    /// starts here.
    fn atom(&mut self) -> Parsed<Option<Atom>> {
        if self.eat('⌊') {
            let letter = self.letter()?;
            self.expect('/', "in `⌊o/2⌋`")?;
            let divisor = self.positive()?;
            self.expect('⌋', "to close `⌊`")?;
            return Ok(Some(Atom::Floor(letter, divisor)));
        }
        if self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            let letter = self.letter()?;
            if self.eat_spaced("mod") {
                return Ok(Some(Atom::Modulo(letter, self.positive()?)));
            }
            return Ok(Some(Atom::Letter(letter)));
        }
        Ok(None)
    }

    /// One index letter in scope; a longer name (`pad`), a primed one (`c'`) or one not
    /// bound is a symbol of the general formula.
    fn letter(&mut self) -> Parsed<char> {
        self.skip_whitespace();
        let Some(letter) = self.peek().filter(char::is_ascii_alphabetic) else {
            return self.error("expected an index letter");
        };
        self.position += 1;
        let longer = self
            .peek()
            .is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, '\'' | '′' | '_'));
        if longer || !self.bound.contains(&letter) {
            return Err(Stop::Unbound);
        }
        Ok(letter)
    }

    /// A non-negative integer, if one starts here.
    fn number(&mut self) -> Parsed<Option<i64>> {
        let mut value: Option<i64> = None;
        while let Some(digit) = self.peek().and_then(|c| c.to_digit(10)) {
            let next = value
                .unwrap_or(0)
                .checked_mul(10)
                .and_then(|v| v.checked_add(i64::from(digit)));
            let Some(next) = next.filter(|&v| v <= LARGEST_NUMBER) else {
                return self.error(format!("a number past {LARGEST_NUMBER}"));
            };
            value = Some(next);
            self.position += 1;
        }
        Ok(value)
    }

    /// An integer, `−` allowed.
    fn signed(&mut self) -> Parsed<i64> {
        self.skip_whitespace();
        let negative = self.peek().is_some_and(is_minus);
        if negative {
            self.position += 1;
        }
        match self.number()? {
            Some(number) if negative => Ok(-number),
            Some(number) => Ok(number),
            None => self.error("expected a number"),
        }
    }

    fn positive(&mut self) -> Parsed<i64> {
        self.skip_whitespace();
        match self.number()? {
            Some(number) if number > 0 => Ok(number),
            _ => self.error("expected a positive number"),
        }
    }
}

/// The largest number a formula may write: far past any layer's size, and small enough
/// that sums and products of a few of them never overflow.
pub(super) const LARGEST_NUMBER: i64 = 1 << 30;

impl Index {
    /// A bare letter, `i`.
    pub(super) fn letter(letter: char) -> Index {
        Index {
            parts: alloc::vec![(1, Atom::Letter(letter))],
            constant: 0,
            divisor: 1,
        }
    }

    /// The number this index is, when it is one.
    fn number(&self) -> Option<i64> {
        (self.parts.is_empty() && self.divisor == 1).then_some(self.constant)
    }
}
