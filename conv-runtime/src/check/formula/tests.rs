//! Σ formulas read, expanded and judged: the `sigma` format's own formulas and their
//! LaTeX, the base found, what cannot be expanded, and the budget.

use alloc::string::String;
use alloc::vec::Vec;

use super::judge;
use super::search::{LARGEST_SEARCHED, SEARCH_STEPS};
use crate::check::{Base, Checker, Finding, Line, Options, Verdict, check, parse_line};
use crate::render::sigma;
use crate::spec::Spec;
use crate::symbolic::derive::Section;

/// The verdict on each formula of `text` against `layer`.
fn verdicts(layer: &str, text: &str, base: Option<Base>) -> Vec<Verdict> {
    let spec = Spec::parse(layer).unwrap();
    let options = Options {
        base,
        ..Options::default()
    };
    check(&spec, text, options)
        .entries
        .into_iter()
        .filter_map(|entry| match entry.finding {
            Finding::Formula { verdict, .. } => Some(verdict),
            _ => None,
        })
        .collect()
}

fn is_correct(verdict: &Verdict) -> bool {
    matches!(verdict, Verdict::Correct { .. })
}

#[test]
fn every_formula_the_sigma_format_prints_expands_to_the_derivation() {
    for layer in [
        "in=5 k=3 stride=2",
        "in=6 k=3 stride=2 pad=1 cin=2 cout=4 groups=2 bias batch=2",
        "in=(11,) k=3 stride=2 dilation=3",
        "in=(6,5) k=(3,2) stride=(2,1) pad=same bias",
        "in=(7,) k=2 dilation=2 cin=4 cout=2 groups=2",
    ] {
        let spec = Spec::parse(layer).unwrap();
        let mut text = String::new();
        sigma::write(&mut text, &spec, &Section::ALL).unwrap();
        let read = verdicts(layer, &text, None);
        let formulas = text.lines().filter(|line| !line.starts_with('#')).count();
        assert_eq!(read.len(), formulas, "{layer}: {text}");
        assert!(read.iter().all(is_correct), "{layer}: {read:?}");
    }
}

#[test]
fn latex_formulas_read_as_the_sigma_format_writes_them() {
    let layer = "in=5 k=3 stride=2";
    for text in [
        r"\[ \frac{\partial L}{\partial w_{a,b}} = \sum_{i,j} \delta_{i,j} \, x_{2i+a, 2j+b} \]",
        r"$dw[a,b] = \sum_{i} \sum_{j} \delta[i,j] \cdot x[2 i + a, 2 j + b]$",
        r"$$ z_{i,j} = \sum_{a,b} w_{a,b}\, x_{2i+a,\, 2j+b} $$",
        r"$$ z_{i,j} = \sum_{a=0}^{2} \sum_{b=0}^{2} w_{a,b}\, x_{2i+a,\, 2j+b} $$",
        r"\[ \frac{\partial L}{\partial x_{i,j}} = \sum_{a,b \,:\, 2 \mid i-a,\ 0 \le i-a \le 2,\ 2 \mid j-b,\ 0 \le j-b \le 2} \delta_{(i-a)/2, (j-b)/2} \, w_{a,b} \]",
    ] {
        let read = verdicts(layer, text, None);
        assert!(
            matches!(read.as_slice(), [v] if is_correct(v)),
            "{text}: {read:?}"
        );
    }
}

#[test]
fn the_base_is_found_or_taken_as_declared() {
    let layer = "in=5 k=3 stride=2";
    let one_based = "dw[a, b] = Σ_{i,j} d[i, j]·x[2i+a−2, 2j+b−2]";
    let found = verdicts(layer, one_based, None);
    assert!(
        matches!(
            found.as_slice(),
            [Verdict::Correct {
                base: Base::One,
                detected: true,
                ..
            }]
        ),
        "{found:?}"
    );
    let declared = verdicts(layer, one_based, Some(Base::Zero));
    assert!(
        matches!(
            declared.as_slice(),
            [Verdict::Wrong {
                base: Base::Zero,
                detected: false,
                ..
            }]
        ),
        "{declared:?}"
    );
}

#[test]
fn the_general_convolution_is_no_formula_of_the_layer() {
    // `explain` prints it with the symbols of every layer: `s`, `d`, `pad_lo`, `c'`.
    let general = r"z[n, o, p] = Σ_{c, q} w[o, c', q] x[n, c, p s + q d - pad_{lo}]";
    assert_eq!(parse_line(general), Line::Ignored);
}

/// A letter summed twice, or a letter of the left side summed, is refused where it is
/// written: its sum had no range of its own and never ended (`Σ_{i} Σ_{i}` ran `check` out
/// of memory, found fuzzing the tool).
#[test]
fn a_letter_summed_twice_is_refused_where_it_is_written() {
    for (line, column, letter) in [
        ("dw[a] = Σ_{i} Σ_{i} d[i]·x[i+a]", 18, 'i'),
        ("dw[a, b] = Σ_{i,i} d[i, i]·x[i+a, i+b]", 17, 'i'),
        ("dw[a] = Σ_{a} d[a]·x[a]", 12, 'a'),
    ] {
        let Line::Unreadable(error) = parse_line(line) else {
            panic!("{line}: readable");
        };
        assert_eq!(error.column, column, "{line}");
        assert_eq!(
            error.message,
            format!(
                "`{letter}` is already an index here: each Σ sums a letter of its own, as `Σ_{{i,j}}`"
            )
        );
    }
}

/// An index holds each letter once, `i+i` as `2i`: an index of 3 000 `i`s took the search
/// seconds and gigabytes, each of its changes a copy of every part (found fuzzing the
/// tool); it is judged at once, and wrong, as `3000i+a`.
#[test]
fn an_index_holds_each_letter_once() {
    let long = format!(
        "dw[a, b] = Σ_{{i,j}} d[i, j]·x[{}+a, 2j+b]",
        "+i".repeat(3000).trim_start_matches('+')
    );
    let Line::Formula(formula) = parse_line(&long) else {
        panic!("not read as a formula");
    };
    let index = &formula.products[0].factors[1].indices[0];
    assert_eq!(index.parts.len(), 2, "{index:?}");
    assert_eq!(index.parts[0].0, 3000);
    let read = verdicts("in=5 k=3 stride=2", &long, None);
    assert!(
        matches!(read.as_slice(), [Verdict::Wrong { .. }]),
        "{read:?}"
    );
}

/// A sum written twice is said to be, rather than corrected into a copy that reads only
/// the padding (`x̃[−3i+a−3, 2j+b]`, found fuzzing the tool); a sum written twice beside a
/// wrong one is still searched.
#[test]
fn a_sum_written_twice_is_said_to_be() {
    let layer = "in=5 k=3 stride=2";
    let sum = "Σ_{i,j} d[i, j]·x[2i+a, 2j+b]";
    let twice = format!("dw[a, b] = {sum} + {sum}");
    let read = verdicts(layer, &twice, None);
    let [
        Verdict::Wrong {
            notes, corrections, ..
        },
    ] = read.as_slice()
    else {
        panic!("{read:?}");
    };
    assert!(corrections.is_empty(), "{corrections:?}");
    assert_eq!(
        notes,
        &[format!(
            "`{sum}` is written twice, so each of its terms counts twice: written once, the formula is right"
        )]
    );
    let thrice = format!("dw[a, b] = {sum} + {sum} + {sum}");
    let read = verdicts(layer, &thrice, None);
    assert!(
        matches!(read.as_slice(), [Verdict::Wrong { notes, .. }] if notes[0].contains("is written 3 times")),
        "{read:?}"
    );
}

/// A Σ that names no letters is a general formula where words follow, as in `explain`'s
/// prose; alone, it is a formula missing its letters.
#[test]
fn a_sigma_without_letters_is_prose_or_a_mistake() {
    let prose =
        "∂L/∂x[n, c, i] = Σ δ[n, o, p] · w[o, c', q] over p·s + q·d − pad_lo = i is the full";
    assert_eq!(parse_line(prose), Line::Ignored);
    let Line::Unreadable(error) = parse_line("dw[a] = Σ d[i]·x[i+a]") else {
        panic!("readable");
    };
    assert_eq!(
        (error.column, error.message.as_str()),
        (11, "expected `_` after `Σ`, e.g. `Σ_{i,j}`")
    );
}

#[test]
fn what_cannot_be_expanded_is_said() {
    let layer = "in=5 k=3 stride=2";
    let cases = [
        (
            "dw[a, b] = Σ_{i,j} d[2i, j]·x[2i+a, 2j+b]",
            "the range of `i` is unknown",
        ),
        (
            "dw[a, b, c] = Σ_{i,j} d[i, j]·x[2i+a, 2j+b]",
            "`dw` has 3 indices written, but its shape is 1×1×3×3: write 2 or 4",
        ),
        (
            "x[i, j] = Σ_{a,b} w[a, b]·x[i+a, j+b]",
            "`x` is not a result",
        ),
    ];
    for (text, message) in cases {
        let read = verdicts(layer, text, None);
        assert!(
            matches!(read.as_slice(), [Verdict::Unusable(why)] if why.starts_with(message)),
            "{text}: {read:?}"
        );
    }
}

#[test]
fn a_formula_that_cannot_be_read_says_where() {
    let Line::Unreadable(error) = parse_line("dw[a, b] = Σ_{i,j} d[i, j]·x[2i+a; 2j+b]") else {
        panic!("readable");
    };
    assert_eq!(error.column, 34);
    assert_eq!(error.message, "expected `,` or `]` after an index");
}

#[test]
fn an_expansion_past_the_budget_is_refused() {
    let spec = Spec::parse("in=5 k=3 stride=2").unwrap();
    let mut checker = Checker::new(&spec, Options::default());
    checker.allowance = 8;
    let entries = checker.read("dw[a, b] = Σ_{i,j} d[i, j]·x[2i+a, 2j+b]");
    assert!(
        matches!(
            entries.as_slice(),
            [entry] if matches!(entry.finding, Finding::Formula { verdict: Verdict::TooLarge { .. }, .. })
        ),
        "{entries:?}"
    );
    assert_eq!(checker.derived(), 0);
    assert_eq!(checker.finish().1.exit_code(), 2);
}

#[test]
fn the_search_stays_within_its_steps() {
    let spec = Spec::parse("in=(40,40) k=5 stride=2").unwrap();
    let Line::Formula(formula) = parse_line("dw[a, b] = Σ_{i,j} d[i, j]·x[i+a, j+b]") else {
        panic!("a formula");
    };
    let (verdict, spent) = judge(&spec, &formula, None, usize::MAX);
    assert!(matches!(verdict, Verdict::Wrong { .. }), "{verdict:?}");
    // The expansion in both bases, then the search: its steps, and at most one more
    // expansion past them.
    let section = Section::GradWeight;
    let derivation = section.len(&spec) * section.max_terms(&spec);
    let expansion = section.len(&spec) * 18 * 18;
    let cost = derivation + 2 * expansion;
    assert!(spent <= cost + SEARCH_STEPS + cost, "{spent}");
}

#[test]
fn formulas_of_many_places_are_not_searched() {
    // Products that never hold (`i < 0`) add places to search, not terms.
    let with_empty = |count: usize| {
        let empty = " + Σ_{i,j : i < 0} d[i, j]·x[2i+a, 2j+b]".repeat(count);
        alloc::format!("dw[a, b] = Σ_{{i,j}} d[i, j]·x[i+a, j+b]{empty}")
    };
    let corrected = |text: &str| match verdicts("in=5 k=3 stride=2", text, None).as_slice() {
        [Verdict::Wrong { corrections, .. }] => !corrections.is_empty(),
        other => panic!("{other:?}"),
    };
    // Each empty product has five places, four indices and the bound 0: 64 in all with
    // 12 of them, past 64 with 13.
    assert!(corrected(&with_empty(2)));
    assert!(corrected(&with_empty(LARGEST_SEARCHED / 5)));
    assert!(!corrected(&with_empty(LARGEST_SEARCHED / 5 + 1)));
}
