//! `convsym check`: equations written by hand, read in the seed's notation and held
//! against the chain rule's, each difference named precisely.
//!
//! The notation read is the one people write: `z2 = w1*x3 + w2*x4`, with `·`, `⋅` or `×`
//! for `*` (or nothing: `w1 x3`), `δ` for `d`, `∂L/∂w1` (or `dL/dw1`) for `dw1` and `∂L/∂z2`
//! for `d2`, subscripts as `x_3`, `x_{3}` or `x₃`, spaces anywhere between symbols, one
//! equation per line (after a list bullet `- `, `* ` or `• `, if any).
//!
//! Each line is one of:
//! - blank: skipped;
//! - not an equation (prose, headings, a formula without indices): ignored, with a note;
//! - an equation: checked, and reported correct or with what is wrong;
//! - an equation that cannot be read (its left side is a name such as `z2` followed by `=`,
//!   but the rest does not parse): reported, and it makes the result wrong.
//!
//! The result ([`Report::exit_code`]) is 0 when every equation read is correct, 1 when any
//! is wrong, repeated, about an element that does not exist, or cannot be read, and 2 when
//! no equation at all could be read or one was not checked: past [`LARGEST`] terms, or past
//! the budget of terms derived for the input read ([`Checker`]). Equations never written
//! are listed; they make the result wrong only when [`Options::complete`] asks for a
//! complete derivation.
//!
//! ```
//! use conv_runtime::{Spec, check};
//!
//! let spec = Spec::parse("in=5 k=3 stride=2").unwrap();
//! let text = "z2 = w1·x3 + w2·x4 + w3·x5 + w4·x8 + w5·x8 + w6·x10 + w7·x13 + w8·x14 + w9·x15";
//! let report = check::check(&spec, text, check::Options::default());
//! assert_eq!(report.exit_code(), 1);
//! assert!(report.render("note.txt").contains("note.txt:1: z2: w5*x8 should be w5*x9"));
//! ```

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::cmp::Ordering;
use core::fmt::{self, Write};
use core::ops::Range;

use smallvec::SmallVec;

use crate::derive::{self, Section};
use crate::spec::Unread;
use crate::{Expr, Notation, Spec, Tensor, Term, Variable};

/// What a check asks for beyond the equations written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Whether every equation of the layer must be written: unwritten ones then make the
    /// result wrong.
    pub complete: bool,
}

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
    /// An equation whose right side has more than [`LARGEST`] terms: read no further.
    TooLarge(Variable),
}

/// Reads one line.
pub fn parse_line(line: &str) -> Line {
    let mut parser = Parser {
        chars: line.chars().collect(),
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
        Err(error) if line.contains('=') => return Line::Unreadable(error),
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
        Some(match self.letters.as_str() {
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

struct Parser {
    chars: Vec<char>,
    position: usize,
    /// Whether the sum stopped at [`LARGEST`] terms.
    too_long: bool,
}

impl Parser {
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
        let Some(index) = self.index(&letters)? else {
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
            if terms.len() == LARGEST {
                self.too_long = true;
                return self.error(format!("more than {LARGEST} terms"));
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
fn merge_like_terms(
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
    /// An equation past [`LARGEST`] terms, refused rather than checked.
    TooLarge {
        /// The element the equation is for.
        lhs: Variable,
        /// How many terms the equation has, derived; `None` when the written right side
        /// is past the limit.
        derived: Option<usize>,
    },
    /// An equation whose derivation would take the check past its budget (see
    /// [`Checker::derived`]), refused rather than checked.
    OverBudget {
        /// The element the equation is for.
        lhs: Variable,
        /// The terms deriving it walks.
        cost: usize,
        /// The terms already walked.
        spent: usize,
        /// The budget so far: [`LARGEST`] plus one for each byte read.
        budget: usize,
    },
}

/// The finding for one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The 1-based line number.
    pub line: usize,
    /// What the line was found to be.
    pub finding: Finding,
}

/// The equations of one result tensor that were not written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotWritten {
    /// The result tensor (`z`, `dx`, `dw` or `db`).
    pub tensor: Tensor,
    /// How many equations the tensor has.
    pub total: usize,
    /// The 0-based indices not written, as ascending runs: as small as what was written,
    /// however large the layer.
    pub runs: Vec<Range<usize>>,
    /// Whether any equation of the tensor was written.
    pub written_any: bool,
}

/// The most terms of one equation, written or derived, that a check holds: each equation
/// checked is derived whole, beside the one written.
pub const LARGEST: usize = crate::explain::LARGEST;

/// The most bytes of text a check reads, 64 for each term of the longest equation it
/// holds: room for [`LARGEST`] terms written with long indices and subscript digits.
pub const LARGEST_TEXT: usize = LARGEST * 64;

/// How many lines were found to be what.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Equations found right.
    pub correct: usize,
    /// Equations found wrong.
    pub wrong: usize,
    /// Lines that start like an equation but cannot be read.
    pub unreadable: usize,
    /// Lines that are not equations.
    pub ignored: usize,
    /// Equations past [`LARGEST`] terms, not checked.
    pub too_large: usize,
    /// Equations past what is left of the check's budget (see [`Checker::derived`]), not
    /// checked.
    pub over_budget: usize,
}

impl Tally {
    /// Equations read but not checked, for either reason.
    pub fn not_checked(&self) -> usize {
        self.too_large + self.over_budget
    }
}

/// Checks a text one line at a time, keeping only which equations were written where:
/// each finding can be printed as it is made, so a check of any length holds one line.
///
/// Each equation read is derived again, however short the line naming it, so the terms
/// derived are held to a budget: [`LARGEST`] (one equation of the most terms `check`
/// holds, whatever the input) plus one for each byte read. Honest input never reaches it
/// (a correct equation is written with a few bytes per term); many short lines each naming
/// an equation of millions of terms do, and the equations past it are refused.
#[derive(Clone, Debug)]
pub struct Checker<'a> {
    spec: &'a Spec,
    options: Options,
    first_lines: BTreeMap<Variable, usize>,
    line: usize,
    tally: Tally,
    /// Bytes read, line breaks included.
    bytes: usize,
    /// Terms the derivations so far have walked.
    derived: usize,
    /// The budget before any byte is read: [`LARGEST`], but for tests.
    allowance: usize,
}

impl<'a> Checker<'a> {
    /// A check of `spec`, before its first line.
    pub fn new(spec: &'a Spec, options: Options) -> Self {
        Checker {
            spec,
            options,
            first_lines: BTreeMap::new(),
            line: 0,
            tally: Tally::default(),
            bytes: 0,
            derived: 0,
            allowance: LARGEST,
        }
    }

    /// The terms the derivations so far have walked: at most [`LARGEST`] plus one for each
    /// byte read.
    pub fn derived(&self) -> usize {
        self.derived
    }

    /// The terms derivations may walk after the bytes read so far.
    fn budget(&self) -> usize {
        self.allowance.saturating_add(self.bytes)
    }

    /// The finding for the next line (without its line break); `None` for a blank line.
    pub fn read(&mut self, line: &str) -> Option<Entry> {
        self.line += 1;
        // The line pays for itself: its bytes and its line break count before it is checked.
        self.bytes = self.bytes.saturating_add(line.len()).saturating_add(1);
        let number = self.line;
        let trimmed = line.trim();
        let finding = match parse_line(line) {
            Line::Blank => return None,
            Line::Ignored => Finding::Ignored {
                text: trimmed.to_string(),
            },
            Line::Unreadable(error) => Finding::Unreadable {
                text: trimmed.to_string(),
                error,
            },
            Line::TooLarge(lhs) => {
                self.first_lines.entry(lhs).or_insert(number);
                Finding::TooLarge { lhs, derived: None }
            }
            Line::Equation(lhs, rhs) => {
                let repeated = self.first_lines.get(&lhs).copied();
                self.first_lines.entry(lhs).or_insert(number);
                let cost = cost(self.spec, lhs);
                let (spent, budget) = (self.derived, self.budget());
                if spent.saturating_add(cost) > budget {
                    Finding::OverBudget {
                        lhs,
                        cost,
                        spent,
                        budget,
                    }
                } else {
                    self.derived = spent.saturating_add(cost);
                    judge(self.spec, lhs, &rhs, repeated)
                }
            }
        };
        let count = match finding {
            Finding::Correct(_) => &mut self.tally.correct,
            Finding::Wrong { .. } => &mut self.tally.wrong,
            Finding::Unreadable { .. } => &mut self.tally.unreadable,
            Finding::Ignored { .. } => &mut self.tally.ignored,
            Finding::TooLarge { .. } => &mut self.tally.too_large,
            Finding::OverBudget { .. } => &mut self.tally.over_budget,
        };
        *count += 1;
        Some(Entry {
            line: number,
            finding,
        })
    }

    /// The end of the check: the equations not written, and the tally.
    pub fn finish(self) -> Ending {
        let spec = self.spec;
        let first_lines = &self.first_lines;
        let not_written = Section::ALL
            .into_iter()
            .filter_map(|section| {
                let tensor = section.tensor();
                let total = section.len(spec);
                let written = first_lines
                    .range(Variable::new(tensor, 0)..Variable::new(tensor, total))
                    .map(|(variable, _)| variable.index);
                // The gaps between the written indices, and after the last of them.
                let mut runs = Vec::new();
                let mut next = 0;
                for index in written.chain([total]) {
                    if index > next {
                        runs.push(next..index);
                    }
                    next = index + 1;
                }
                let written_any = first_lines
                    .range(Variable::new(tensor, 0)..=Variable::new(tensor, usize::MAX))
                    .next()
                    .is_some();
                (!runs.is_empty()).then_some(NotWritten {
                    tensor,
                    total,
                    runs,
                    written_any,
                })
            })
            .collect();
        Ending {
            not_written,
            tally: self.tally,
            options: self.options,
        }
    }
}

/// What a check found beyond its lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ending {
    /// Per result tensor, the equations not written.
    pub not_written: Vec<NotWritten>,
    /// What the lines were found to be.
    pub tally: Tally,
    /// The options checked with.
    pub options: Options,
}

/// The outcome of checking a text against a layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// The layer, in full resolved form.
    pub spec: String,
    /// One entry per non-blank line, in order.
    pub entries: Vec<Entry>,
    /// The equations not written, and the tally.
    pub ending: Ending,
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

/// Checks every equation in `text` against `spec`'s chain-rule equations; see [`Checker`]
/// to check a text as it is read.
pub fn check(spec: &Spec, text: &str, options: Options) -> Report {
    let mut checker = Checker::new(spec, options);
    let entries = text.lines().filter_map(|line| checker.read(line)).collect();
    Report {
        spec: spec.to_string(),
        entries,
        ending: checker.finish(),
    }
}

/// The terms [`judge`] walks to derive the equation of `lhs`: the length of the
/// derivation's loops, [`Section::max_terms`], which can be far more than the equation's
/// terms when most of a kernel lands on padding; 0 when nothing is derived (no such
/// element, or an equation past [`LARGEST`] terms, refused unseen).
fn cost(spec: &Spec, lhs: Variable) -> usize {
    let Some(section) = section(lhs.tensor) else {
        return 0;
    };
    if lhs.index >= length(spec, lhs.tensor) || section.terms(spec, lhs.index) > LARGEST {
        return 0;
    }
    section.max_terms(spec)
}

/// The finding for one equation read.
fn judge(spec: &Spec, lhs: Variable, rhs: &Expr, repeated: Option<usize>) -> Finding {
    let mut problems = Vec::new();
    if let Some(first_line) = repeated {
        problems.push(Problem::Repeated { first_line });
    }
    let count = length(spec, lhs.tensor);
    let terms = section(lhs.tensor).map_or(0, |section| section.terms(spec, lhs.index));
    if terms > LARGEST {
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
    let unread = crate::explain::unread_positions(spec);
    let per_slice = unread.cells().len().max(1);
    let reason = unread.cells().get(index % per_slice).copied().flatten()?;
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
fn pair(extra: Vec<Term>, missing: Vec<Term>) -> (Vec<Problem>, Vec<Term>, Vec<Term>) {
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

/// `text` safe to show on a terminal: control characters (the escape that starts a
/// terminal's commands, carriage returns, backspaces, C1 controls) and the bidirectional
/// overrides that reorder what is shown are written as Rust escapes, `\u{1b}`, `\r`.
pub fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let bidirectional = matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if c.is_control() || bidirectional {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

fn term_text(term: &Term) -> String {
    Expr::from_terms([term.clone()]).to_string()
}

fn terms_text(terms: &[Term]) -> String {
    let texts: Vec<String> = terms.iter().map(term_text).collect();
    texts.join(", ")
}

fn name(variable: Variable) -> String {
    variable.display(Notation::Text).to_string()
}

/// `z1 to z4`, the names of a tensor's elements.
fn range(tensor: Tensor, count: usize) -> String {
    match count {
        0 => format!("no `{}` elements", tensor.name()),
        1 => format!("only `{}1`", tensor.name()),
        _ => format!("`{0}1` to `{0}{count}`", tensor.name()),
    }
}

/// Runs of indices as names, runs of three or more shortened: `dx1–dx5, dx7`.
fn runs(tensor: Tensor, runs: &[Range<usize>]) -> String {
    let name = |index| name(Variable::new(tensor, index));
    let parts: Vec<String> = runs
        .iter()
        .map(|run| match run.len() {
            1 => name(run.start),
            2 => format!("{}, {}", name(run.start), name(run.start + 1)),
            _ => format!("{}–{}", name(run.start), name(run.end - 1)),
        })
        .collect();
    parts.join(", ")
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Index { written, right } => {
                write!(f, "{} should be {}", term_text(written), term_text(right))
            }
            Problem::Missing(terms) => write!(f, "missing {}", terms_text(terms)),
            Problem::Extra(terms) => write!(f, "extra {}", terms_text(terms)),
            Problem::Coefficient {
                factors,
                written,
                right,
            } => {
                let product = term_text(&Term::new(1, factors.clone()));
                write!(f, "{product} has coefficient {written}, should be {right}")
            }
            Problem::Unknown { variable, count } => write!(
                f,
                "`{}` does not exist: the layer has {}",
                name(*variable),
                range(variable.tensor, *count)
            ),
            Problem::NoSuchElement { .. } => f.write_str("no such element"),
            Problem::NeverRead { input, reason } => {
                let why = match reason {
                    Unread::Remainder => "past the last window, in the remainder r",
                    Unread::Gap => "between the taps the stride and the dilation reach",
                };
                write!(
                    f,
                    "`{}` is never read ({why}), so its gradient is 0",
                    name(*input)
                )
            }
            Problem::Repeated { first_line } => {
                write!(f, "written twice (first on line {first_line})")
            }
        }
    }
}

/// `checking SOURCE against SPEC`, the report's first line.
pub fn header(spec: &Spec, source: &str) -> String {
    format!("checking {} against {spec}\n", escaped(source))
}

impl Entry {
    /// The entry's lines of the report, each prefixed `source:line:` like a compiler's.
    /// What came from the input (lines quoted, characters named, the source's name) is
    /// [`escaped`].
    pub fn render(&self, source: &str) -> String {
        let mut out = String::new();
        let at = format!("{}:{}:", escaped(source), self.line);
        match &self.finding {
            Finding::Correct(lhs) => {
                let _ = writeln!(out, "{at} {}: correct", name(*lhs));
            }
            Finding::Wrong {
                lhs,
                problems,
                right,
            } => {
                let count = problems.iter().find_map(|problem| match problem {
                    Problem::NoSuchElement { count } => Some(*count),
                    _ => None,
                });
                if let Some(count) = count {
                    let _ = writeln!(
                        out,
                        "{at} {}: no such element: the layer has {}",
                        name(*lhs),
                        range(lhs.tensor, count)
                    );
                    return out;
                }
                let texts: Vec<String> = problems.iter().map(ToString::to_string).collect();
                let _ = writeln!(out, "{at} {}: {}", name(*lhs), texts.join("; "));
                if let Some(right) = right {
                    let wrong_terms = problems
                        .iter()
                        .any(|problem| !matches!(problem, Problem::Repeated { .. }));
                    if wrong_terms {
                        let _ = writeln!(out, "    the right equation: {} = {right}", name(*lhs));
                    }
                }
            }
            Finding::Unreadable { text, error } => {
                let (text, error) = (escaped(text), escaped(&error.to_string()));
                let _ = writeln!(out, "{at} cannot read `{text}`: {error}");
            }
            Finding::Ignored { text } => {
                let text = escaped(text);
                let _ = writeln!(out, "{at} note: not an equation, ignored: `{text}`");
            }
            Finding::TooLarge {
                lhs,
                derived: Some(terms),
            } => {
                let _ = writeln!(
                    out,
                    "{at} {}: too large to check: it has {terms} terms, more than the {LARGEST} `check` derives for one equation",
                    name(*lhs)
                );
            }
            Finding::TooLarge { lhs, derived: None } => {
                let _ = writeln!(
                    out,
                    "{at} {}: too large to check: more than {LARGEST} terms written, the most `check` reads in one equation",
                    name(*lhs)
                );
            }
            Finding::OverBudget {
                lhs,
                cost,
                spent,
                budget,
            } => {
                let _ = writeln!(
                    out,
                    "{at} {}: not checked: deriving it walks {cost} terms, and {spent} of the {budget} `check` derives for the input so far ({LARGEST}, plus one for each byte read) are spent",
                    name(*lhs)
                );
            }
        }
        out
    }
}

impl Ending {
    /// Equations read, right or wrong.
    pub fn equations(&self) -> usize {
        self.tally.correct + self.tally.wrong
    }

    /// 0 when every equation read is right (and, with [`Options::complete`], every equation
    /// is written), 1 when something is wrong, 2 when an equation was too large to check
    /// or no equation could be read at all.
    pub fn exit_code(&self) -> u8 {
        let tally = self.tally;
        let wrong = tally.wrong + tally.unreadable > 0
            || (self.options.complete && !self.not_written.is_empty());
        if tally.not_checked() > 0 || self.equations() == 0 {
            2
        } else {
            u8::from(wrong)
        }
    }

    /// The report's closing lines: the equations not written, and the verdict.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for missing in &self.not_written {
            let tensor = missing.tensor;
            if missing.written_any {
                let _ = writeln!(out, "not written: {}", runs(tensor, &missing.runs));
            } else {
                let _ = writeln!(
                    out,
                    "not written: {} (none of the {} `{}` equations)",
                    runs(tensor, &missing.runs),
                    missing.total,
                    tensor.name()
                );
            }
        }
        let _ = writeln!(out, "{}", self.summary());
        out
    }

    fn summary(&self) -> String {
        let tally = self.tally;
        let equations = self.equations();
        let plural = |count: usize, one: &'static str, many: &'static str| {
            if count == 1 { one } else { many }
        };
        let mut parts = alloc::vec![format!(
            "{equations} {} read: {} correct, {} wrong",
            plural(equations, "equation", "equations"),
            tally.correct,
            tally.wrong
        )];
        if tally.unreadable > 0 {
            parts.push(format!("{} unreadable", tally.unreadable));
        }
        if tally.not_checked() > 0 {
            parts.push(format!("{} too large to check", tally.not_checked()));
        }
        if tally.ignored > 0 {
            parts.push(format!(
                "{} {} ignored",
                tally.ignored,
                plural(tally.ignored, "line", "lines")
            ));
        }
        let not_written: usize = self
            .not_written
            .iter()
            .flat_map(|n| &n.runs)
            .map(ExactSizeIterator::len)
            .sum();
        if not_written > 0 {
            parts.push(format!("{not_written} not written"));
        }
        let verdict = match self.exit_code() {
            0 => "all correct",
            1 => "wrong",
            _ if tally.not_checked() > 0 => "not every equation could be checked",
            _ => "no equation could be read",
        };
        format!("{verdict} ({})", parts.join(", "))
    }
}

impl Report {
    /// Equations read, right or wrong.
    pub fn equations(&self) -> usize {
        self.ending.equations()
    }

    /// Lines found wrong or unreadable.
    pub fn wrong(&self) -> usize {
        self.ending.tally.wrong + self.ending.tally.unreadable
    }

    /// See [`Ending::exit_code`].
    pub fn exit_code(&self) -> u8 {
        self.ending.exit_code()
    }

    /// The report as text, each line prefixed `source:line:` like a compiler's. What
    /// came from the input (lines quoted, characters named, the source's name) is
    /// [`escaped`].
    pub fn render(&self, source: &str) -> String {
        let mut out = format!("checking {} against {}\n", escaped(source), self.spec);
        for entry in &self.entries {
            out.push_str(&entry.render(source));
        }
        out.push_str(&self.ending.render());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn seed() -> Spec {
        Spec::parse("in=5 k=3 stride=2").unwrap()
    }

    fn equation(line: &str) -> (Variable, Expr) {
        match parse_line(line) {
            Line::Equation(lhs, rhs) => (lhs, rhs),
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn reads_the_notations_people_write() {
        let plain = equation("dw1 = d1*x1 + d2*x3 + d3*x11 + d4*x13");
        for line in [
            "∂L/∂w1 = δ1·x1 + δ2·x3 + δ3·x11 + δ4·x13",
            "dL/dw1=d1 x1+d2 x3+d3 x11+d4 x13",
            "  dw_1 = x_1 ⋅ d_{1} + d₂×x₃ + d3 * x11 + d4x13 ;",
            "δw1 = ∂L/∂z1·x1 + δ2·x3 + δ3·x11 + δ4·x13",
            "- dw1 = d1*x1 + d2*x3 + d3*x11 + d4*x13",
            "• dw1 = d1*x1 + d2*x3 + d3*x11 + d4*x13.",
        ] {
            assert_eq!(equation(line), plain, "{line}");
        }
        assert_eq!(equation("dx6 = 0").1, Expr::zero());
    }

    #[test]
    fn tells_prose_from_broken_equations() {
        for line in [
            "Strided convolution, by hand",
            "z = w * x",
            "stride = 2",
            "# Forward",
            "s2 = 3",
        ] {
            assert_eq!(parse_line(line), Line::Ignored, "{line}");
        }
        assert_eq!(parse_line("   "), Line::Blank);
        let cases = [
            ("z1 = w1*x1 +", 13, "expected a term after the sign"),
            (
                "z1 = w1*x1 + … + w9*x13",
                14,
                "`…` stands for terms left out",
            ),
            (
                "z1 = w1*x1 + ... + w9*x13",
                14,
                "`…` stands for terms left out",
            ),
            ("z1 = w1*x0", 10, "`x0`: indices start at 1"),
            (
                "z1 = 9223372036854775807*w1 + 9223372036854775807*w1",
                31,
                "the coefficients of one term add up past 64 bits",
            ),
            (
                "z1 = w1*(x1 + x2)",
                9,
                "expected a term such as `w1*x3`, found `(`",
            ),
            ("z1 = w1*x1 = 3", 12, "a second `=`"),
            ("z1 = dw1*x1", 6, "`dw1` is a gradient"),
            ("z1 = q1*x1", 6, "unknown name `q1`"),
            ("x3 = w1*x1", 1, "`x3` is not a result"),
            ("z1 = w*x1", 6, "expected an index after `w`"),
            ("z1 =", 5, "expected the right side after `=`"),
        ];
        for (line, column, message) in cases {
            match parse_line(line) {
                Line::Unreadable(error) => {
                    assert!(error.message.starts_with(message), "{line}: {error}");
                    assert_eq!(error.column, column, "{line}: {error}");
                }
                other => panic!("{line}: {other:?}"),
            }
        }
    }

    fn problems(line: &str) -> String {
        let report = check(&seed(), line, Options::default());
        let rendered = report.render("t");
        rendered
            .lines()
            .nth(1)
            .unwrap_or_default()
            .trim_start_matches("t:1: ")
            .to_string()
    }

    #[test]
    fn names_the_wrong_index_or_the_missing_and_extra_terms() {
        let cases = [
            (
                "z2 = w1*x3 + w2*x4 + w3*x5 + w4*x8 + w5*x8 + w6*x10 + w7*x13 + w8*x14 + w9*x15",
                "z2: w5*x8 should be w5*x9",
            ),
            (
                "z2 = w1*x3 + w2*x4 + w3*x5 + w4*x8 + w5*x9 + w6*x10 + w7*x13 + w8*x14",
                "z2: missing w9*x15",
            ),
            (
                "dw1 = d1*x1 + d2*x3 + d3*x11 + d4*x13 + d4*x14",
                "dw1: extra d4*x14",
            ),
            ("dx3 = d1*w3 + d2*w2", "dx3: d2*w2 should be d2*w1"),
            (
                "dx3 = d1*w3 + d2*w1 + d2*w1",
                "dx3: d2*w1 has coefficient 2, should be 1",
            ),
            (
                "dx3 = d1*w3 + d2*w1 + d9*w1",
                "dx3: extra d9*w1; `d9` does not exist: the layer has `d1` to `d4`",
            ),
            (
                "z9 = w1*x1",
                "z9: no such element: the layer has `z1` to `z4`",
            ),
            (
                "db1 = d1",
                "db1: no such element: the layer has no `db` elements",
            ),
            (
                "z1 = w1*x1 + w2*x2 + w3*x3 + w4*x6 + w5*x7 + w6*x8 + w7*x11 + w8*x12 + w9*x13",
                "z1: correct",
            ),
        ];
        for (line, expected) in cases {
            assert_eq!(problems(line), expected, "{line}");
        }
    }

    #[test]
    fn exit_codes_follow_the_worst_finding() {
        let spec = seed();
        let right = "dx3 = d1*w3 + d2*w1";
        assert_eq!(check(&spec, right, Options::default()).exit_code(), 0);
        assert_eq!(
            check(&spec, right, Options { complete: true }).exit_code(),
            1
        );
        assert_eq!(
            check(&spec, "dx3 = d1*w3", Options::default()).exit_code(),
            1
        );
        assert_eq!(
            check(&spec, "notes\nz1 = +", Options::default()).exit_code(),
            2
        );
        assert_eq!(check(&spec, "", Options::default()).exit_code(), 2);
        let twice = check(&spec, &format!("{right}\n{right}"), Options::default());
        assert_eq!(twice.exit_code(), 1);
        assert!(
            twice
                .render("t")
                .contains("t:2: dx3: written twice (first on line 1)")
        );
    }

    #[test]
    fn lists_equations_not_written() {
        let report = check(&seed(), "dx3 = d1*w3 + d2*w1", Options::default());
        let rendered = report.render("t");
        assert!(
            rendered.contains("not written: dx1, dx2, dx4–dx25\n"),
            "{rendered}"
        );
        assert!(
            rendered.contains("not written: z1–z4 (none of the 4 `z` equations)"),
            "{rendered}"
        );
    }

    /// Nothing from the input reaches the report raw: not a quoted line, not a character
    /// named in an error, not the source's name.
    #[test]
    fn control_characters_from_the_input_are_escaped() {
        let text = "\u{1b}]0;owned\u{7}title\n\
                    z1 = w1*x1 +\u{1b}[2J\n\
                    z2 = w1\u{202e}x3\n\
                    z3 = \u{9b}31m\r";
        let report = check(&seed(), text, Options::default());
        let rendered = report.render("in\u{8}put");
        assert!(
            !rendered
                .chars()
                .any(|c| (c.is_control() && c != '\n') || c == '\u{202e}'),
            "{rendered:?}"
        );
        for expected in [
            "checking in\\u{8}put against",
            "in\\u{8}put:1: note: not an equation, ignored: `\\u{1b}]0;owned\\u{7}title`",
            "in\\u{8}put:2: cannot read `z1 = w1*x1 +\\u{1b}[2J`: column 13: expected a term such as `w1*x3`, found `\\u{1b}`",
            "`z2 = w1\\u{202e}x3`: column 8: unexpected `\\u{202e}`",
            "in\\u{8}put:4: cannot read `z3 = \\u{9b}31m`: column 6: expected a term such as `w1*x3`, found `\\u{9b}`",
        ] {
            assert!(rendered.contains(expected), "{expected}\n{rendered}");
        }
    }

    /// Lines naming `z1`, whose derivation walks every tap of a 2^22-tap kernel though
    /// only 4 of them reach the input.
    fn padded() -> Spec {
        Spec::parse("in=(4,) k=4194304 pad=((4194300,0),)").unwrap()
    }

    /// Each line re-derives its equation, however short: the second `z1 = …` would walk
    /// the 2^22 taps again on 22 bytes read, and is refused instead, with the numbers.
    #[test]
    fn short_lines_naming_long_derivations_are_refused_past_the_budget() {
        let spec = padded();
        let report = check(&spec, "z1 = w1*x1\nz1 = w1*x1\n", Options::default());
        assert_eq!(
            report.entries.get(1).map(|entry| &entry.finding),
            Some(&Finding::OverBudget {
                lhs: Variable::new(Tensor::Output, 0),
                cost: LARGEST,
                spent: LARGEST,
                budget: LARGEST + 22,
            })
        );
        assert_eq!(report.exit_code(), 2);
        let rendered = report.render("t");
        assert!(
            rendered.contains("t:2: z1: not checked: deriving it walks 4194304 terms, and 4194304 of the 4194326 `check` derives for the input so far (4194304, plus one for each byte read) are spent\n"),
            "{rendered}"
        );
        assert!(
            rendered.ends_with("not every equation could be checked (1 equation read: 0 correct, 1 wrong, 1 too large to check, 4194308 not written)\n"),
            "{rendered}"
        );
    }

    /// The work, counted rather than timed: whatever the lines, the terms derived stay
    /// within the allowance plus one for each byte read, and every line past it is refused
    /// until enough bytes have been read to pay for another derivation.
    #[test]
    fn terms_derived_stay_within_the_bytes_read() {
        let spec = Spec::parse("in=(1024,) k=1").unwrap();
        let mut checker = Checker::new(&spec, Options::default());
        checker.allowance = 1024;
        let line = "dw1 = d1*x1";
        let mut bytes = 0;
        let mut refused = Vec::new();
        for number in 1..=100 {
            bytes += line.len() + 1;
            let entry = checker.read(line).unwrap();
            if matches!(entry.finding, Finding::OverBudget { .. }) {
                refused.push(number);
            }
            assert!(checker.derived() <= 1024 + bytes, "line {number}");
        }
        // Line 86 is the first whose 1032 bytes pay for a second derivation of 1024 terms.
        let expected: Vec<usize> = (2..=85).chain(87..=100).collect();
        assert_eq!(refused, expected);
        assert_eq!(checker.derived(), 2048);
    }

    /// A product per index, in a scrambled order: the worst case for a linear search, which
    /// compares each term with every distinct one before it.
    fn distinct_terms(count: usize) -> Vec<(Term, usize)> {
        (0..count)
            .map(|i| {
                // An odd multiplier permutes the indices below a power of two.
                let index = i.wrapping_mul(40_503) % count;
                let term = Term::product(
                    Variable::new(Tensor::Delta, index),
                    Variable::new(Tensor::Input, index),
                );
                (term, i + 1)
            })
            .collect()
    }

    /// The complexity, counted rather than timed: merging `n` terms compares factors at most
    /// `2 n log2 n` times (a linear search needs `n (n − 1) / 2` for distinct products).
    #[test]
    fn like_terms_merge_in_n_log_n_comparisons() {
        let count: usize = 1 << 14;
        let bound = 2 * count * count.ilog2() as usize;
        let alike = vec![
            (
                Term::product(
                    Variable::new(Tensor::Weight, 0),
                    Variable::new(Tensor::Input, 0)
                ),
                1
            );
            count
        ];
        let mut reversed = distinct_terms(count);
        reversed.sort_by(|(a, _), (b, _)| b.factors().cmp(a.factors()));
        for (name, terms, expected) in [
            ("distinct", distinct_terms(count), count),
            ("reversed", reversed, count),
            ("alike", alike, 1),
        ] {
            let mut comparisons = 0;
            let merged = merge_like_terms(terms, |a, b| {
                comparisons += 1;
                a.cmp(b)
            })
            .unwrap();
            assert_eq!(merged.len(), expected, "{name}");
            assert!(
                comparisons <= bound,
                "{name}: {comparisons} comparisons for {count} terms, more than {bound}"
            );
        }
    }

    #[test]
    fn merged_coefficients_add_up_and_the_first_overflow_written_is_named() {
        let line = format!(
            "z1 = 2*w1*x1 + {0}*w2*x2 + w1*x1 + {0}*w2*x2 - w1*x1",
            i64::MAX
        );
        match parse_line(&line) {
            Line::Unreadable(error) => assert_eq!(error.column, 52, "{error}"),
            other => panic!("{other:?}"),
        }
        let line = format!(
            "z1 = {0}*w2*x2 + {0}*w1*x1 + {0}*w2*x2 + {0}*w1*x1",
            i64::MAX
        );
        match parse_line(&line) {
            // The `w2*x2` pair overflows first as written, though `w1*x1` sorts first.
            Line::Unreadable(error) => assert_eq!(error.column, 62, "{error}"),
            other => panic!("{other:?}"),
        }
        let (_, rhs) = equation("z1 = 2*w1*x1 + w2*x2 - w1*x1 + 3 w2 x2");
        assert_eq!(rhs, equation("z1 = w1*x1 + 4*w2*x2").1);
    }

    /// Whether two terms differ in exactly one factor's index (same tensors, same
    /// coefficient), and by how much.
    fn one_index_apart(a: &Term, b: &Term) -> Option<usize> {
        if a.coefficient() != b.coefficient() || a.factors().len() != b.factors().len() {
            return None;
        }
        let mut differing = a.factors().iter().zip(b.factors()).filter(|(x, y)| x != y);
        let (x, y) = differing.next()?;
        let apart = x.tensor == y.tensor && differing.next().is_none();
        apart.then(|| x.index.abs_diff(y.index))
    }

    /// [`pair`] by its definition: every extra term compared with every missing one.
    fn pair_by_scanning(
        extra: Vec<Term>,
        missing: Vec<Term>,
    ) -> (Vec<Problem>, Vec<Term>, Vec<Term>) {
        let mut paired = Vec::new();
        let mut taken = vec![false; missing.len()];
        let mut unpaired = Vec::new();
        for term in extra {
            let candidates: Vec<(usize, usize)> = missing
                .iter()
                .enumerate()
                .filter(|&(i, _)| !taken[i])
                .filter_map(|(i, candidate)| one_index_apart(&term, candidate).map(|d| (d, i)))
                .collect();
            let closest = candidates.iter().map(|&(distance, _)| distance).min();
            let mut best = candidates
                .iter()
                .filter(|&&(distance, _)| Some(distance) == closest);
            match (best.next(), best.next()) {
                (Some(&(_, i)), None) => {
                    taken[i] = true;
                    paired.push(Problem::Index {
                        written: term,
                        right: missing[i].clone(),
                    });
                }
                _ => unpaired.push(term),
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

    fn small_term() -> impl Strategy<Value = Term> {
        let variable = (0..3usize, 0..6usize).prop_map(|(tensor, index)| {
            let tensor = [Tensor::Delta, Tensor::Weight, Tensor::Input][tensor];
            Variable::new(tensor, index)
        });
        (1..3i64, proptest::collection::vec(variable, 1..3))
            .prop_map(|(coefficient, factors)| Term::new(coefficient, factors))
    }

    proptest! {
        /// The indexed pairing finds exactly the pairs the scan of every candidate finds.
        #[test]
        fn pairing_agrees_with_the_scan(
            extra in proptest::collection::vec(small_term(), 0..12),
            missing in proptest::collection::btree_set(
                small_term().prop_map(|t| (t.factors().to_vec(), t.coefficient())),
                0..12,
            ),
        ) {
            // Missing terms are distinct products that no extra term has.
            let missing: Vec<Term> = missing
                .into_iter()
                .filter(|(factors, _)| extra.iter().all(|t| t.factors() != factors.as_slice()))
                .map(|(factors, coefficient)| Term::new(coefficient, factors))
                .collect();
            let mut distinct = missing.clone();
            distinct.dedup_by(|a, b| a.factors() == b.factors());
            prop_assume!(distinct.len() == missing.len());
            prop_assert_eq!(
                pair(extra.clone(), missing.clone()),
                pair_by_scanning(extra, missing)
            );
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,80}") {
            let report = check(&seed(), &text, Options::default());
            let _ = report.render("t");
        }

        #[test]
        fn near_equations_never_panic(
            text in "(z|dx|dw|∂L/∂w|δ|x)[0-9₀-₉_{}]{0,3} ?= ?([dwxbδz∂L/]{1,3}[0-9]{0,25}[ *·+−-]{0,2}|…|\\.|[(){}_=,;]){0,12}"
        ) {
            let report = check(&seed(), &text, Options::default());
            let _ = report.render("t");
        }
    }
}
