//! The report: what a check found, line by line and in all, its exit code, and the text
//! printed for each finding and for the end.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt::{self, Write};
use core::ops::Range;

use super::diagnosis::{Finding, Problem};
use super::formula::Base;
use crate::limits::CHECKED_TERMS;
use crate::render::Notation;
use crate::spec::{Spec, Unread};
use crate::symbolic::expr::{Expr, Tensor, Term, Variable};

/// What a check asks for beyond the equations written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Whether every equation of the layer must be written: unwritten ones then make the
    /// result wrong.
    pub complete: bool,
    /// Where the indices of Σ formulas start; `None` to find it (0-based first).
    pub base: Option<Base>,
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
    /// Equations past [`CHECKED_TERMS`] terms, not checked.
    pub too_large: usize,
    /// Equations past what is left of the check's budget (see [`Checker::derived`](super::Checker::derived)), not
    /// checked.
    pub over_budget: usize,
}

impl Tally {
    /// Equations read but not checked, for either reason.
    pub fn not_checked(&self) -> usize {
        self.too_large + self.over_budget
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
                    Unread::Cropped => "every output it scatters to is cropped by `pad`",
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
            Finding::Formula { lhs, verdict } => {
                let lhs = escaped(lhs);
                let _ = write!(out, "{at} {lhs}: {}", verdict.render());
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
                    "{at} {}: too large to check: it has {terms} terms, more than the {CHECKED_TERMS} `check` derives for one equation",
                    name(*lhs)
                );
            }
            Finding::TooLarge { lhs, derived: None } => {
                let _ = writeln!(
                    out,
                    "{at} {}: too large to check: more than {CHECKED_TERMS} terms written, the most `check` reads in one equation",
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
                    "{at} {}: not checked: deriving it walks {cost} terms, and {spent} of the {budget} `check` derives for the input so far ({CHECKED_TERMS}, plus one for each byte read) are spent",
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
