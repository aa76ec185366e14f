//! The check's tests: the notation read, the diagnoses, the report and the limits.

use proptest::prelude::*;

use super::diagnosis::pair;
use super::notation::merge_like_terms;
use super::*;
use crate::symbolic::expr::{Expr, Tensor, Term};

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
        check(
            &spec,
            right,
            Options {
                complete: true,
                ..Options::default()
            }
        )
        .exit_code(),
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
            cost: CHECKED_TERMS,
            spent: CHECKED_TERMS,
            budget: CHECKED_TERMS + 22,
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
        let [entry] = checker.read(line).try_into().unwrap();
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
fn pair_by_scanning(extra: Vec<Term>, missing: Vec<Term>) -> (Vec<Problem>, Vec<Term>, Vec<Term>) {
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
