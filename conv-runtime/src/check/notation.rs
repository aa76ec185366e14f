//! The notation read: one line at a time, `z2 = w1*x3 + w2*x4` in the spellings people
//! write, into an equation, a line to ignore, or the column where it stops making sense.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::cmp::Ordering;
use core::fmt;

use super::formula::{self, Formula, Read};
use crate::limits::CHECKED_TERMS;
use crate::symbolic::expr::{Expr, Tensor, Term, Variable};

/// Why a line that looks like an equation cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// The 1-based column (in characters) of the problem.
    pub column: usize,
    /// What is wrong, and what would be accepted.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: {}", self.column, self.message)
    }
}

/// One line of input, read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    /// Nothing but whitespace.
    Blank,
    /// Not an equation: prose, a heading, a formula without indices.
    Ignored,
    /// An equation `lhs = rhs`.
    Equation(Variable, Expr),
    /// A line that starts like an equation but cannot be read.
    Unreadable(ParseError),
    /// An equation whose right side has more than [`CHECKED_TERMS`] terms: read no further.
    TooLarge(Variable),
    /// A Σ formula for a whole tensor, `dw[a, b] = Σ_{i,j} d[i, j]·x[2i+a, 2j+b]`.
    Formula(Box<Formula>),
}

/// Reads one line.
pub fn parse_line(line: &str) -> Line {
    let chars: Vec<char> = line.chars().collect();
    parse_symbols(&chars)
}

/// Reads one equation given as the characters of the plain notation: a line, or a LaTeX
/// row lowered to them (`super::latex`), whose error columns count these characters.
pub(super) fn parse_symbols(chars: &[char]) -> Line {
    match formula::read(chars) {
        Read::NotFormula => parse_equation(chars),
        Read::General => Line::Ignored,
        Read::Formula(formula) => Line::Formula(Box::new(formula)),
        Read::Unreadable(error) => Line::Unreadable(error),
    }
}

/// Reads one equation about one element, `z2 = w1*x3 + …`.
fn parse_equation(chars: &[char]) -> Line {
    let line_has_equals = chars.contains(&'=');
    let mut parser = Parser {
        chars,
        position: 0,
        too_long: false,
    };
    parser.skip_whitespace();
    if parser.at_end() {
        return Line::Blank;
    }
    // A list item's bullet, `- z1 = …`.
    if parser
        .peek()
        .is_some_and(|c| matches!(c, '-' | '*' | '•' | '+'))
        && parser
            .chars
            .get(parser.position + 1)
            .is_some_and(|c| c.is_whitespace())
    {
        parser.position += 1;
        parser.skip_whitespace();
    }
    // A line is an equation when it opens with a name and an index, then `=`.
    let lhs = match parser.reference() {
        Ok(Some(reference)) => reference,
        // `z0 = …` is an equation with a bad index; `z_ and more` is prose.
        Err(error) if line_has_equals => return Line::Unreadable(error),
        Ok(None) | Err(_) => return Line::Ignored,
    };
    parser.skip_whitespace();
    if !parser.eat('=') {
        return Line::Ignored;
    }
    let Some(tensor) = lhs.tensor() else {
        return Line::Ignored;
    };
    if tensor.differentiated().is_none() && tensor != Tensor::Output {
        return Line::Unreadable(ParseError {
            column: lhs.column,
            message: format!(
                "`{}` is not a result: the left side is a `z`, `dx`, `dw` or `db` element",
                lhs.spelled()
            ),
        });
    }
    let lhs = Variable::new(tensor, lhs.index - 1);
    match parser.sum() {
        Ok(rhs) => Line::Equation(lhs, rhs),
        Err(_) if parser.too_long => Line::TooLarge(lhs),
        Err(error) => Line::Unreadable(error),
    }
}

/// A name and its 1-based index as written, before it is known to name an element.
struct Reference {
    /// The letters, `δ` read as `d`; for `∂L/∂w1`, `dw`.
    letters: String,
    index: usize,
    column: usize,
}

impl Reference {
    fn tensor(&self) -> Option<Tensor> {
        tensor_named(&self.letters)
    }

    fn spelled(&self) -> String {
        format!("{}{}", self.letters, self.index)
    }

    /// The element a right-side name stands for.
    fn element(&self) -> Result<Variable, ParseError> {
        let error = |message: String| {
            Err(ParseError {
                column: self.column,
                message,
            })
        };
        match self.tensor() {
            Some(
                tensor @ (Tensor::Delta
                | Tensor::Weight
                | Tensor::Input
                | Tensor::Bias
                | Tensor::Output),
            ) => Ok(Variable::new(tensor, self.index - 1)),
            Some(_) => error(format!(
                "`{}` is a gradient; the right side is made of `d` (or `δ`), `w`, `x` and `b` elements",
                self.spelled()
            )),
            None => error(format!(
                "unknown name `{}`; the elements are `x`, `w`, `b`, `z` and `d` (or `δ`)",
                self.spelled()
            )),
        }
    }
}

/// The tensor a name as written stands for, `δ` read as `d`.
pub(super) fn tensor_named(letters: &str) -> Option<Tensor> {
    Some(match letters {
        "z" => Tensor::Output,
        "x" => Tensor::Input,
        "w" => Tensor::Weight,
        "b" => Tensor::Bias,
        "d" | "dz" => Tensor::Delta,
        "dx" => Tensor::GradInput,
        "dw" => Tensor::GradWeight,
        "db" => Tensor::GradBias,
        _ => return None,
    })
}

/// Multiplication signs people write.
fn is_times(c: char) -> bool {
    matches!(c, '*' | '·' | '⋅' | '×' | '∙')
}

fn is_minus(c: char) -> bool {
    matches!(c, '-' | '−' | '–')
}

/// A digit, ASCII or subscript.
fn digit(c: char) -> Option<usize> {
    match c {
        '0'..='9' => Some(c as usize - '0' as usize),
        '₀'..='₉' => Some(c as usize - '₀' as usize),
        _ => None,
    }
}

fn is_letter(c: char) -> bool {
    c.is_ascii_alphabetic() || c == 'δ'
}

struct Parser<'a> {
    chars: &'a [char],
    position: usize,
    /// Whether the sum stopped at [`CHECKED_TERMS`] terms.
    too_long: bool,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.position).copied()
    }

    fn at_end(&self) -> bool {
        self.position >= self.chars.len()
    }

    fn column(&self) -> usize {
        self.position + 1
    }

    fn eat(&mut self, expected: char) -> bool {
        let found = self.peek() == Some(expected);
        if found {
            self.position += 1;
        }
        found
    }

    fn skip_whitespace(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.position += 1;
        }
    }

    fn error<T>(&self, message: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError {
            column: self.column(),
            message: message.into(),
        })
    }

    /// Whether the text at the cursor reads `prefix`, whitespace allowed between its
    /// characters; consumes it if so.
    fn eat_spaced(&mut self, prefix: &str) -> bool {
        let start = self.position;
        for expected in prefix.chars() {
            self.skip_whitespace();
            if !self.eat(expected) {
                self.position = start;
                return false;
            }
        }
        true
    }

    /// A name with its index: `x3`, `dw_1`, `δ{2}`, `x₃`, `∂L/∂w1`. `None` (cursor
    /// unmoved) when no name starts here, an error when a name has no usable index.
    fn reference(&mut self) -> Result<Option<Reference>, ParseError> {
        let start = self.position;
        let column = self.column();
        let gradient = self.eat_spaced("∂L/∂") || self.eat_spaced("dL/d");
        if gradient {
            self.skip_whitespace();
        }
        let mut letters = String::new();
        while let Some(c) = self.peek().filter(|&c| is_letter(c)) {
            letters.push(if c == 'δ' { 'd' } else { c });
            self.position += 1;
        }
        if letters.is_empty() {
            self.position = start;
            return Ok(None);
        }
        if gradient {
            letters.insert(0, 'd');
        }
        // `k_{eff}`: a name that is no tensor's, without an index, is prose, not a
        // broken equation.
        let index = match self.index(&letters) {
            Err(_) if tensor_named(&letters).is_none() => None,
            read => read?,
        };
        let Some(index) = index else {
            self.position = start;
            return Ok(None);
        };
        Ok(Some(Reference {
            letters,
            index,
            column,
        }))
    }

    /// The index after a name: digits, optionally after `_` and inside braces. `None` when
    /// there are no digits.
    fn index(&mut self, letters: &str) -> Result<Option<usize>, ParseError> {
        let start = self.position;
        self.skip_whitespace();
        let underscore = self.eat('_');
        let brace = self.eat('{');
        let digits_column = self.column();
        let mut value: Option<usize> = Some(0);
        let mut count = 0;
        while let Some(d) = self.peek().and_then(digit) {
            value = value
                .and_then(|v| v.checked_mul(10))
                .and_then(|v| v.checked_add(d));
            count += 1;
            self.position += 1;
        }
        if count == 0 {
            if underscore || brace {
                return self.error(format!(
                    "expected an index after `{letters}`, e.g. `{letters}1`"
                ));
            }
            self.position = start;
            return Ok(None);
        }
        if brace && !self.eat('}') {
            return self.error("expected `}` after the index");
        }
        match value {
            Some(0) => Err(ParseError {
                column: digits_column,
                message: format!("`{letters}0`: indices start at 1"),
            }),
            Some(index) => Ok(Some(index)),
            None => Err(ParseError {
                column: digits_column,
                message: format!("the index of `{letters}` is too large"),
            }),
        }
    }

    /// `term (± term)*`, up to the end of the line (a trailing `,`, `;` or `.` allowed).
    fn sum(&mut self) -> Result<Expr, ParseError> {
        let mut terms = Vec::new();
        self.skip_whitespace();
        let mut sign = 1;
        if self.peek().is_some_and(is_minus) {
            self.position += 1;
            sign = -1;
        } else {
            self.eat('+');
        }
        loop {
            self.skip_whitespace();
            if self.at_end() {
                return self.error(if terms.is_empty() {
                    "expected the right side after `=`, e.g. `w1*x3 + w2*x4` or `0`"
                } else {
                    "expected a term after the sign, e.g. `w1*x3`"
                });
            }
            let column = self.column();
            if terms.len() == CHECKED_TERMS {
                self.too_long = true;
                return self.error(format!("more than {CHECKED_TERMS} terms"));
            }
            terms.push((self.term(sign)?, column));
            self.skip_whitespace();
            match self.peek() {
                None => break,
                Some('+') => sign = 1,
                Some(c) if is_minus(c) => sign = -1,
                Some(',' | ';' | '.') if self.rest_is_blank(1) => break,
                Some(c) => return self.unexpected(c),
            }
            self.position += 1;
        }
        merge_like_terms(terms, <[Variable]>::cmp).map(Expr::from_terms)
    }

    fn rest_is_blank(&self, skip: usize) -> bool {
        self.chars
            .iter()
            .skip(self.position + skip)
            .all(|c| c.is_whitespace())
    }

    fn unexpected<T>(&self, c: char) -> Result<T, ParseError> {
        if c == '…' || (c == '.' && self.chars.get(self.position + 1) == Some(&'.')) {
            return self
                .error("`…` stands for terms left out: write every term to check the equation");
        }
        if c == '=' {
            return self.error("a second `=`: write one equation per line");
        }
        self.error(format!(
            "unexpected `{c}`: a term is a product of elements such as `w1*x3`, and terms are joined by `+`"
        ))
    }

    /// A product of numbers and elements, `2*w1*x3` or `w1 x3`.
    fn term(&mut self, sign: i64) -> Result<Term, ParseError> {
        let mut coefficient = sign;
        let mut factors = Vec::new();
        loop {
            self.skip_whitespace();
            if let Some(number) = self.number()? {
                coefficient = coefficient
                    .checked_mul(number)
                    .map_or_else(|| self.error("the coefficient is too large"), Ok)?;
            } else if let Some(reference) = self.reference()? {
                factors.push(reference.element()?);
            } else {
                return match self.peek() {
                    Some(c) if c == '…' || c == '.' || c == '=' => self.unexpected(c),
                    Some(c) if is_letter(c) => {
                        let word: String = self
                            .chars
                            .get(self.position..)
                            .unwrap_or_default()
                            .iter()
                            .take_while(|&&c| is_letter(c))
                            .collect();
                        self.error(format!("expected an index after `{word}`, e.g. `{word}1`"))
                    }
                    Some(c) => self.error(format!("expected a term such as `w1*x3`, found `{c}`")),
                    None => self.error("expected a term such as `w1*x3`"),
                };
            }
            self.skip_whitespace();
            match self.peek() {
                Some(c) if is_times(c) => {
                    self.position += 1;
                    self.skip_whitespace();
                    if self.at_end() {
                        return self.error(format!("expected a factor after `{c}`"));
                    }
                }
                // Side by side, `w1 x3`, is a product too.
                Some(c) if is_letter(c) || digit(c).is_some() || c == '∂' => {}
                _ => return Ok(Term::new(coefficient, factors)),
            }
        }
    }

    /// An integer coefficient, if one starts here.
    fn number(&mut self) -> Result<Option<i64>, ParseError> {
        let column = self.column();
        let mut value: Option<i64> = Some(0);
        let mut count = 0;
        while let Some(d) = self.peek().and_then(digit) {
            value = value
                .and_then(|v| v.checked_mul(10))
                .and_then(|v| v.checked_add(i64::try_from(d).unwrap_or(0)));
            count += 1;
            self.position += 1;
        }
        match (count, value) {
            (0, _) => Ok(None),
            (_, Some(value)) => Ok(Some(value)),
            (_, None) => Err(ParseError {
                column,
                message: "the coefficient is too large".into(),
            }),
        }
    }
}

/// Like terms written in one equation, merged: sorted by their factors (stably, so each
/// product's coefficients add up in the order written) and each run summed, in
/// `n log n` comparisons of `compare`. The sum is checked here, where an overflow can
/// still be reported at its column: the coefficients are the writer's, and nothing they
/// write may reach a panic.
pub(super) fn merge_like_terms(
    mut terms: Vec<(Term, usize)>,
    mut compare: impl FnMut(&[Variable], &[Variable]) -> Ordering,
) -> Result<Vec<Term>, ParseError> {
    terms.sort_by(|(a, _), (b, _)| compare(a.factors(), b.factors()));
    let mut merged: Vec<Term> = Vec::with_capacity(terms.len());
    // The first overflow as written: each product's first one, the earliest of them.
    let mut overflow: Option<usize> = None;
    for (term, column) in terms {
        match merged.last_mut() {
            Some(last) if compare(last.factors(), term.factors()).is_eq() => {
                match last.coefficient().checked_add(term.coefficient()) {
                    Some(sum) => *last = Term::new(sum, last.factors().iter().copied()),
                    None => overflow = Some(overflow.map_or(column, |first| first.min(column))),
                }
            }
            _ => merged.push(term),
        }
    }
    match overflow {
        Some(column) => Err(ParseError {
            column,
            message: "the coefficients of one term add up past 64 bits".into(),
        }),
        None => Ok(merged),
    }
}
