//! LaTeX read into the plain notation's equations: the spellings of the `latex` format and
//! of people, rows across lines, and errors placed where they were written.

use alloc::string::String;
use alloc::vec::Vec;

use crate::check::{Finding, Options, ParseError, check, parse_line};
use crate::spec::Spec;
use crate::symbolic::expr::{Expr, Variable};

fn seed() -> Spec {
    Spec::parse("in=5 k=3 stride=2").unwrap()
}

/// The findings for `text`, with their lines.
fn findings(text: &str) -> Vec<(usize, Finding)> {
    check(&seed(), text, Options::default())
        .entries
        .into_iter()
        .map(|entry| (entry.line, entry.finding))
        .collect()
}

fn plain(line: &str) -> (Variable, Expr) {
    match parse_line(line) {
        crate::check::Line::Equation(lhs, rhs) => (lhs, rhs),
        other => panic!("{line}: {other:?}"),
    }
}

#[test]
fn reads_the_spellings_of_the_latex_format_and_of_hand_written_latex() {
    let dw1 = plain("dw1 = d1*x1 + d2*x3 + d3*x11 + d4*x13");
    for text in [
        r"\frac{\partial L}{\partial w_{1}} &= \delta_{1} x_{1} + \delta_{2} x_{3} + \delta_{3} x_{11} + \delta_{4} x_{13} \\",
        r"$\partial L / \partial w_1 = \delta_1 x_1 + \delta_2 x_3 + \delta_3 x_{11} + \delta_4 x_{13}$",
        r"$$\frac{dL}{dw_1} = \delta_1 \cdot x_1 + \delta_2 \times x_3 + \delta_3\,x_{11} + \delta_{4}x_{13}$$",
        r"\[ \frac{\partial L}{\partial w_{1}} = \delta_{1} x_{1} + \delta_{2} x_{3} + \delta_{3} x_{11} + \delta_{4} x_{13} \label{eq:dw1} \]",
        r"The gradient \( \frac{\partial L}{\partial w_1} = {\delta_1}{x_1} + \delta_2 x_3 + \delta_3 x_{11} + \delta_4 x_{13} \) follows. % a comment",
    ] {
        let read = findings(text);
        assert_eq!(read, [(1, Finding::Correct(dw1.0))], "{text}");
    }
}

#[test]
fn rows_end_at_double_backslashes_and_continue_after_a_sign() {
    let text = [
        r"\documentclass{article}",
        r"\begin{document}",
        r"Prose $x$ outside the math is not read.",
        r"\begin{align*}",
        r"  z_{1} &= w_{1} x_{1} + w_{2} x_{2} + w_{3} x_{3} + w_{4} x_{6} \\",
        r"        &\quad + w_{5} x_{7} + w_{6} x_{8} + w_{7} x_{11} + w_{8} x_{12} + w_{9} x_{13} \\[2pt]",
        r"  z_{2} &= w_{1} x_{3} + w_{2} x_{4} + w_{3} x_{5} + w_{4} x_{8} + w_{5} x_{9}",
        r"         + w_{6} x_{10} + w_{7} x_{13} + w_{8} x_{14} + w_{9} x_{15} \nonumber",
        r"\end{align*}",
        r"\[ \begin{aligned} \frac{\partial L}{\partial x_{1}} &= \delta_{1} w_{1} \\ \frac{\partial L}{\partial x_{3}} &= \delta_{1} w_{3} + \delta_{2} w_{1} \end{aligned} \]",
        r"\end{document}",
    ]
    .join("\n");
    let read = findings(&text);
    let lines: Vec<usize> = read.iter().map(|(line, _)| *line).collect();
    assert_eq!(lines, [5, 7, 10, 10], "{read:?}");
    assert!(
        read.iter()
            .all(|(_, finding)| matches!(finding, Finding::Correct(_))),
        "{read:?}"
    );
}

#[test]
fn a_matrix_in_a_row_is_no_equation_and_is_not_cut_at_its_rows() {
    let text = r"\[ \begin{pmatrix} x_{1} & x_{2} \\ x_{6} & x_{7} \end{pmatrix} \]";
    assert_eq!(findings(text), []);
    let text = r"\[ \begin{pmatrix} 0 \\ \delta_{1} \end{pmatrix} \longrightarrow \frac{\partial L}{\partial x_{1}} = \delta_{1} w_{1} \]";
    assert!(matches!(
        findings(text).as_slice(),
        [(1, Finding::Ignored { .. })]
    ));
}

#[test]
fn an_error_points_at_the_line_and_column_where_it_was_written() {
    let text = "\\begin{align}\nz_{1} &= w_{1} x_{1} +\n  w_{2} \\sqrt{x_{2}} \\\\\n\\end{align}";
    let read = findings(text);
    let [(line, Finding::Unreadable { error, .. })] = read.as_slice() else {
        panic!("{read:?}");
    };
    assert_eq!(*line, 3);
    assert_eq!(
        *error,
        ParseError {
            column: 9,
            message: String::from(
                "`\\sqrt` is not read in an equation: a term is a product such as `w_{1} x_{3}`, and terms are joined by `+`"
            ),
        }
    );
}

#[test]
fn a_changed_index_is_named_in_the_plain_notation() {
    let text = r"z_{2} &= w_{1} x_{3} + w_{2} x_{4} + w_{3} x_{5} + w_{4} x_{8} + w_{5} x_{8} + w_{6} x_{10} + w_{7} x_{13} + w_{8} x_{14} + w_{9} x_{15} \\";
    let report = check(&seed(), text, Options::default());
    assert!(
        report
            .render("note.tex")
            .contains("note.tex:1: z2: w5*x8 should be w5*x9")
    );
}

#[test]
fn math_never_closed_is_read_at_the_end() {
    let text = r"$z_{1} = w_{1} x_{1}";
    let read = findings(text);
    assert!(
        matches!(read.as_slice(), [(1, Finding::Wrong { .. })]),
        "{read:?}"
    );
}

/// Pieces of LaTeX and of Σ formulas, to be strung together at random.
const PIECES: [&str; 32] = [
    r"\frac{",
    "}",
    "{",
    r"\partial L",
    r"\partial ",
    "w_{1}",
    "x_{3}",
    r"\delta_{2}",
    "=",
    "&",
    r"\\",
    "$",
    "$$",
    r"\[",
    r"\]",
    r"\begin{align}",
    r"\end{align}",
    r"\begin{pmatrix}",
    "+",
    r"\cdot",
    "\n",
    "z_{2}",
    r"\sum_{i,j}",
    "[",
    "]",
    "i",
    "a",
    ", ",
    "2",
    "Σ_{a : 2 | i−a}",
    "d̃[",
    "%",
];

proptest::proptest! {
    /// No string of LaTeX pieces panics, every finding is on a line of the text, and the
    /// exit code is 2 exactly when no equation was read.
    #[test]
    fn strings_of_latex_never_panic(picks in proptest::collection::vec(0..PIECES.len(), 0..60)) {
        let text: String = picks.iter().map(|&pick| PIECES[pick]).collect();
        let report = check(&seed(), &text, Options::default());
        let lines = text.lines().count().max(1);
        proptest::prop_assert!(report.entries.iter().all(|entry| (1..=lines).contains(&entry.line)));
        proptest::prop_assert_eq!(report.exit_code() == 2, report.equations() == 0 || report.ending.tally.not_checked() > 0);
        let _ = report.render("t");
    }
}
