//! Any text to `check`, against one of a few small fixed layers.
//!
//! - No input panics.
//! - In the plain notation (no `\` and no `$`, so nothing is read as LaTeX), the report has
//!   one entry per non-blank line; no wrong equation is accepted: every line found correct,
//!   read again on its own (`check::parse_line`), is exactly the derived equation of its
//!   element; and a line found wrong for its terms really differs from the derived
//!   equation, and the right equation shown is the derived one.
//! - Every equation is checked: none of these layers' is past the terms `check` holds or
//!   the work it allows.
//! - The exit code is 0, 1 or 2, and 2 exactly when no equation was read.
//! - The report echoes no control character (other than a line break or a tab).
//! - One input in [`LONG_ONE_IN`] (chosen by its bytes) gets a line of tens of thousands
//!   of distinct terms, which `check` reads in time n log n in the terms of one equation
//!   (run with `-timeout`: a quadratic one took seconds).
#![no_main]

use conv_runtime::check::{self, Finding, Line, Options, Problem};
use conv_runtime::derive::{self, Section};
use conv_runtime::{Expr, Spec};
use convsym_fuzz::Choices;
use libfuzzer_sys::fuzz_target;

/// How rarely an input gets a long equation: one of 30 000 terms takes about a second
/// under the sanitizer, so one input in 16 held a run to a few executions a second.
const LONG_ONE_IN: usize = 256;

/// The layers checked against: the seed, a remainder with unread inputs and a bias, and
/// channels with groups, a batch and dilation on one axis.
const LAYERS: [&str; 3] = [
    "in=5 k=3 stride=2",
    "in=6 k=3 stride=2 bias",
    "in=(9,) k=2 dilation=2 stride=2 cin=4 cout=2 groups=2 batch=2 pad=1",
];

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut choices = Choices::new(data);
    let layer = choices.pick(&LAYERS);
    let spec = Spec::parse(layer).expect("a valid layer");
    let options = Options {
        complete: choices.below(2) == 0,
        ..Options::default()
    };
    let mut text = text.into_owned();
    if choices.below(LONG_ONE_IN) == 0 {
        // One equation of many distinct terms, `z1 = w1*x1 + w1*x2 + …`.
        let terms = 10_000 + choices.below(40_000);
        let sum: Vec<String> = (1..=terms).map(|i| format!("w1*x{i}")).collect();
        text = format!("{text}\nz1 = {}\n", sum.join(" + "));
    }
    let report = check::check(&spec, &text, options);

    let code = report.exit_code();
    assert!(code <= 2);
    assert_eq!(code == 2, report.equations() == 0, "{text:?}");
    let rendered = report.render("fuzz.txt");
    assert!(
        !convsym_fuzz::has_control(&rendered),
        "the report echoes a control character: {rendered:?}"
    );
    if text.contains(['\\', '$']) {
        return;
    }
    let lines: Vec<&str> = text.lines().collect();
    let non_blank = lines.iter().filter(|line| !line.trim().is_empty()).count();
    assert_eq!(report.entries.len(), non_blank, "{text:?}");
    for entry in &report.entries {
        let line = lines[entry.line - 1];
        match &entry.finding {
            Finding::Correct(lhs) => {
                let Line::Equation(read, rhs) = check::parse_line(line) else {
                    panic!("`{line}` is correct but not an equation");
                };
                assert_eq!(read, *lhs, "`{line}`");
                assert_eq!(Some(rhs), derived(&spec, read), "`{line}` is accepted");
            }
            Finding::Wrong {
                lhs,
                problems,
                right,
            } => {
                let Line::Equation(read, rhs) = check::parse_line(line) else {
                    panic!("`{line}` is wrong but not an equation");
                };
                assert_eq!(read, *lhs, "`{line}`");
                let derived = derived(&spec, read);
                assert_eq!(*right, derived, "`{line}`: the right equation shown");
                let about_terms = !problems.iter().all(|problem| {
                    matches!(
                        problem,
                        Problem::Repeated { .. } | Problem::NoSuchElement { .. }
                    )
                });
                if about_terms {
                    assert_ne!(Some(rhs), derived, "`{line}` is right: {problems:?}");
                }
            }
            Finding::Unreadable { .. } => {
                assert!(matches!(check::parse_line(line), Line::Unreadable(_)));
            }
            Finding::Ignored { .. } => {
                assert_eq!(check::parse_line(line), Line::Ignored, "`{line}`");
            }
            Finding::Formula { .. } => {
                assert!(
                    matches!(check::parse_line(line), Line::Formula(_)),
                    "`{line}`"
                );
            }
            Finding::TooLarge { .. } | Finding::OverBudget { .. } => {
                panic!("`{line}` is not checked: {:?}", entry.finding);
            }
        }
    }
});

/// The right side the chain rule gives `lhs`, if the layer has that element.
fn derived(spec: &Spec, lhs: conv_runtime::Variable) -> Option<Expr> {
    let section = Section::ALL
        .into_iter()
        .find(|section| section.tensor() == lhs.tensor)?;
    derive::equations(spec, section)
        .nth(lhs.index)
        .map(|equation| equation.rhs)
}
