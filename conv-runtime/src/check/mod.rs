//! `convsym check`: equations written by hand, read in the seed's notation and held
//! against the chain rule's, each difference named precisely.
//!
//! The notation read is the one people write: `z2 = w1*x3 + w2*x4`, with `·`, `⋅` or `×`
//! for `*` (or nothing: `w1 x3`), `δ` for `d`, `∂L/∂w1` (or `dL/dw1`) for `dw1` and `∂L/∂z2`
//! for `d2`, subscripts as `x_3`, `x_{3}` or `x₃`, spaces anywhere between symbols, one
//! equation per line (after a list bullet `- `, `* ` or `• `, if any). LaTeX is read too,
//! as the `latex` format writes it and as people write it (`\frac{\partial L}{\partial
//! w_{1}} &= \delta_{1} x_{1} + … \\`, `$…$`, `\[…\]`, a whole document): its math is cut
//! into rows, each lowered to the notation above and read by the same parser (see
//! `latex`); its prose, and math without `=`, is not read. A general formula for a whole
//! tensor, `dw[a, b] = Σ_{i,j} d[i, j]·x[2i+a, 2j+b]` (or its LaTeX), is expanded over the
//! layer and held against every equation of the tensor; a wrong one gets the correction
//! found by a search against the derivation (see `formula`).
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
//!
//! The folder, in the order a line goes through it:
//!
//! - `latex`: LaTeX math cut into rows, each lowered to the plain notation;
//! - `formula`: Σ formulas read, expanded, judged and corrected;
//! - `notation`: [`parse_line`] reads one line (or row) into an equation ([`Line`]);
//! - `diagnosis`: each equation held against the derived one, into a [`Finding`] with its
//!   [`Problem`]s;
//! - `report`: the [`Entry`] of each line, the [`Ending`] and the [`Report`], with their
//!   text and exit code;
//! - here, the [`Checker`] that runs them one line at a time, within the limits and the
//!   work budget of [`crate::limits`].

mod diagnosis;
mod formula;
mod latex;
mod notation;
mod report;

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::ToString;
use alloc::vec::Vec;

use crate::limits::{CHECKED_TERMS, work_budget};
use crate::spec::Spec;
use crate::symbolic::derive::Section;
use crate::symbolic::expr::{Tensor, Variable};

use diagnosis::{cost, judge};

pub use crate::limits::{CHECKED_BYTES as LARGEST_TEXT, CHECKED_TERMS as LARGEST};
pub use diagnosis::{Finding, Problem};
pub use formula::{
    Atom, Base, Comparison, Condition, Correction, Difference, Formula, Index, Product, Reference,
    Verdict,
};
use notation::parse_symbols;
pub use notation::{Line, ParseError, parse_line};
pub use report::{Ending, Entry, NotWritten, Options, Report, Tally, escaped, header};

/// Checks a text one line at a time, keeping only which equations were written where:
/// each finding can be printed as it is made, so a check of any length holds one line.
///
/// Each equation read is derived again, however short the line naming it, so the terms
/// derived are held to a budget: [`CHECKED_TERMS`] (one equation of the most terms `check`
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
    /// The budget before any byte is read: [`CHECKED_TERMS`], but for tests.
    allowance: usize,
    /// The LaTeX read so far: the math open, the row being read.
    latex: latex::Reader,
    /// The tensors a Σ formula was written for: all their equations are written.
    formulas: Vec<Tensor>,
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
            allowance: CHECKED_TERMS,
            latex: latex::Reader::default(),
            formulas: Vec::new(),
        }
    }

    /// The terms the derivations so far have walked: at most [`CHECKED_TERMS`] plus one for each
    /// byte read.
    pub fn derived(&self) -> usize {
        self.derived
    }

    /// The terms derivations may walk after the bytes read so far.
    fn budget(&self) -> usize {
        work_budget(self.allowance, self.bytes)
    }

    /// The findings for the next line (without its line break): none for a blank line or
    /// a LaTeX row still open, one for a line of the plain notation, one per row of math
    /// that ends on it.
    pub fn read(&mut self, line: &str) -> Vec<Entry> {
        self.line += 1;
        // The line pays for itself: its bytes and its line break count before it is checked.
        self.bytes = self.bytes.saturating_add(line.len()).saturating_add(1);
        let number = self.line;
        if !self.latex.takes(line) {
            let trimmed = line.trim();
            return self
                .entry(number, trimmed, parse_line(line))
                .into_iter()
                .collect();
        }
        let mut rows = Vec::new();
        self.latex.read(number, line, &mut rows);
        rows.into_iter().filter_map(|row| self.row(&row)).collect()
    }

    /// The finding for a row of LaTeX math. A row without `=` (a matrix, a symbol in
    /// prose) is skipped unremarked; an error is placed where the row was written.
    fn row(&mut self, row: &latex::Row) -> Option<Entry> {
        let first_line = row.line()?;
        let symbols: Vec<char> = row.symbols.iter().map(|symbol| symbol.character).collect();
        match parse_symbols(&symbols) {
            Line::Ignored if !row.symbols.iter().any(|symbol| symbol.character == '=') => None,
            Line::Unreadable(mut error) => {
                let at = error.column.saturating_sub(1);
                let place = row.symbols.get(at);
                let line = place.map_or(first_line, |symbol| symbol.line);
                if let Some(symbol) = place {
                    error.column = symbol.column;
                }
                if let Some(name) = latex::command_kept(&row.symbols, at) {
                    error.message = format!(
                        "`\\{name}` is not read in an equation: a term is a product such as `w_{{1}} x_{{3}}`, and terms are joined by `+`"
                    );
                }
                self.entry(line, row.text.trim(), Line::Unreadable(error))
            }
            read => self.entry(first_line, row.text.trim(), read),
        }
    }

    /// The finding for equation or line `read`, written on line `number` as `text`.
    fn entry(&mut self, number: usize, text: &str, read: Line) -> Option<Entry> {
        let finding = match read {
            Line::Blank => return None,
            Line::Ignored => Finding::Ignored {
                text: text.to_string(),
            },
            Line::Unreadable(error) => Finding::Unreadable {
                text: text.to_string(),
                error,
            },
            Line::Formula(formula) => {
                let left = self.budget().saturating_sub(self.derived);
                let (verdict, spent) = formula::judge(self.spec, &formula, self.options.base, left);
                self.derived = self.derived.saturating_add(spent);
                // A formula expanded writes every equation of its tensor.
                if let Verdict::Correct { tensor, .. } | Verdict::Wrong { tensor, .. } = verdict
                    && !self.formulas.contains(&tensor)
                {
                    self.formulas.push(tensor);
                }
                Finding::Formula {
                    lhs: formula.lhs.to_string(),
                    verdict,
                }
            }
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
            Finding::Correct(_)
            | Finding::Formula {
                verdict: Verdict::Correct { .. },
                ..
            } => &mut self.tally.correct,
            Finding::Wrong { .. }
            | Finding::Formula {
                verdict: Verdict::Wrong { .. },
                ..
            } => &mut self.tally.wrong,
            Finding::Unreadable { .. }
            | Finding::Formula {
                verdict: Verdict::Unusable(_),
                ..
            } => &mut self.tally.unreadable,
            Finding::Ignored { .. } => &mut self.tally.ignored,
            Finding::TooLarge { .. } => &mut self.tally.too_large,
            Finding::OverBudget { .. }
            | Finding::Formula {
                verdict: Verdict::TooLarge { .. },
                ..
            } => &mut self.tally.over_budget,
        };
        *count += 1;
        Some(Entry {
            line: number,
            finding,
        })
    }

    /// The end of the check: the findings for LaTeX math never closed, then the equations
    /// not written, and the tally.
    pub fn finish(mut self) -> (Vec<Entry>, Ending) {
        let mut rows = Vec::new();
        self.latex.finish(&mut rows);
        let entries = rows.iter().filter_map(|row| self.row(row)).collect();
        (entries, self.ending())
    }

    fn ending(self) -> Ending {
        let spec = self.spec;
        let first_lines = &self.first_lines;
        let not_written = Section::ALL
            .into_iter()
            .filter_map(|section| {
                let tensor = section.tensor();
                if self.formulas.contains(&tensor) {
                    return None;
                }
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

/// Checks every equation in `text` against `spec`'s chain-rule equations; see [`Checker`]
/// to check a text as it is read.
pub fn check(spec: &Spec, text: &str, options: Options) -> Report {
    let mut checker = Checker::new(spec, options);
    let mut entries: Vec<Entry> = text.lines().flat_map(|line| checker.read(line)).collect();
    let (last, ending) = checker.finish();
    entries.extend(last);
    Report {
        spec: spec.to_string(),
        entries,
        ending,
    }
}

#[cfg(test)]
mod tests;
