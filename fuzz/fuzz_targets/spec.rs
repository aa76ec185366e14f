//! Text to the runtime's specification parser and validation.
//!
//! - No input panics; an invalid one gets at least one error, each with a message and a
//!   span on the text's characters. Text nested deeper than
//!   [`MAX_NESTING`](conv_runtime::spec::MAX_NESTING) is invalid, however deep: the parser
//!   refuses it before it recurses.
//! - A valid specification prints (`Display`) as text that parses back to an equal one.
//! - For a layer small enough to derive whole ([`convsym_fuzz::small`]): its printed
//!   equations (the text document `convsym` writes) are read back by `check`, which finds
//!   every one correct and none missing; respelled in another notation `check` documents,
//!   each is still correct.
//! - Changing one index in one equation makes `check` reject that equation and name the
//!   changed term; changing its left side's index is rejected unless the two elements
//!   have the same right side.
#![no_main]

use conv_runtime::check::{self, Finding, Options, Problem};
use conv_runtime::derive::{self, Section};
use conv_runtime::render::{self, Format};
use conv_runtime::spec::MAX_NESTING;
use conv_runtime::{Equation, Expr, Notation, Spec, Term, Variable};
use convsym_fuzz::Choices;
use libfuzzer_sys::fuzz_target;

/// How many equations of a layer get one index changed, per input.
const MUTATED: usize = 8;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let spec = match Spec::parse(text) {
        Ok(spec) => {
            assert!(
                convsym_fuzz::nesting(text) <= MAX_NESTING,
                "accepted though nested past {MAX_NESTING}: {text:?}"
            );
            spec
        }
        Err(errors) => {
            assert!(!errors.is_empty(), "rejected without an error: {text:?}");
            for error in &errors {
                assert!(!error.message.is_empty(), "an empty message for {text:?}");
                if let Some(span) = &error.span {
                    assert!(
                        span.start <= span.end && text.get(span.clone()).is_some(),
                        "span {span:?} of {:?} is off the text {text:?}",
                        error.message
                    );
                }
            }
            return;
        }
    };
    let printed = spec.to_string();
    match Spec::parse(&printed) {
        Ok(again) => assert_eq!(again, spec, "{text:?} printed as {printed:?}"),
        Err(errors) => panic!("{text:?} printed as {printed:?}, which is invalid: {errors:?}"),
    }
    if convsym_fuzz::small(&spec) {
        equations_check(&spec, &mut Choices::new(data));
    }
});

fn equations_check(spec: &Spec, choices: &mut Choices) {
    let mut document = String::new();
    render::document(&mut document, spec, Format::Text, &Section::ALL).expect("a String");
    let complete = Options {
        complete: true,
        ..Options::default()
    };
    let report = check::check(spec, &document, complete);
    let equations: Vec<Equation> = Section::ALL
        .into_iter()
        .flat_map(|section| derive::equations(spec, section))
        .collect();
    assert_eq!(report.equations(), equations.len(), "{spec}");
    for entry in &report.entries {
        assert!(
            matches!(entry.finding, Finding::Correct(_)),
            "{spec}: the printed equation on line {} is not accepted: {:?}",
            entry.line,
            entry.finding
        );
    }
    assert!(report.ending.not_written.is_empty(), "{spec}: {report:?}");
    assert_eq!(report.exit_code(), 0, "{spec}");

    // The same equations in another spelling.
    let respelled: Vec<String> = equations
        .iter()
        .map(|equation| convsym_fuzz::respell(equation, choices))
        .collect();
    let report = check::check(spec, &respelled.join("\n"), complete);
    for entry in &report.entries {
        assert!(
            matches!(entry.finding, Finding::Correct(_)),
            "{spec}: `{}` is not accepted: {:?}",
            respelled[entry.line - 1],
            entry.finding
        );
    }
    assert_eq!(report.exit_code(), 0, "{spec}");

    for _ in 0..MUTATED.min(equations.len()) {
        let equation = choices.pick(&equations);
        if choices.below(4) == 0 {
            left_side_changed(spec, equation, choices);
        } else {
            right_side_changed(spec, equation, choices);
        }
    }
}

/// A new index for `index` (0-based): a neighbour, or anywhere up to past the tensor's end.
fn changed(index: usize, length: usize, choices: &mut Choices) -> usize {
    let offset = match choices.below(3) {
        0 => 1,
        1 => 1 + choices.below(length.max(1)),
        _ => 1 + choices.below(length.saturating_mul(2).max(2)),
    };
    if index >= offset && choices.below(2) == 0 {
        index - offset
    } else {
        index + offset
    }
}

/// Checks `text`, one equation, and returns its finding.
fn finding(spec: &Spec, text: &str) -> Finding {
    let report = check::check(spec, text, Options::default());
    match report.entries.as_slice() {
        [entry] => entry.finding.clone(),
        entries => panic!("{spec}: one line, `{text}`, read as {entries:?}"),
    }
}

fn right_side_changed(spec: &Spec, equation: &Equation, choices: &mut Choices) {
    let terms = equation.rhs.terms();
    if terms.is_empty() {
        return;
    }
    let position = choices.below(terms.len());
    let term = &terms[position];
    let which = choices.below(term.factors().len());
    let mut factors = term.factors().to_vec();
    let Some(factor) = factors.get_mut(which) else {
        return;
    };
    let length = length(spec, *factor);
    *factor = Variable::new(factor.tensor, changed(factor.index, length, choices));
    let mutated = Term::new(term.coefficient(), factors);
    let rhs = Expr::from_terms(terms.iter().enumerate().map(|(i, term)| {
        if i == position {
            mutated.clone()
        } else {
            term.clone()
        }
    }));
    let text = Equation {
        lhs: equation.lhs,
        rhs,
    }
    .display(Notation::Text)
    .to_string();
    let Finding::Wrong { lhs, problems, .. } = finding(spec, &text) else {
        panic!("{spec}: `{text}` (one index changed in `{equation}`) is accepted");
    };
    assert_eq!(lhs, equation.lhs, "{spec}: `{text}`");
    // The changed term is named: paired with the right one, listed as extra, or (when it
    // merged with another term) as a wrong coefficient of that product.
    let named = problems.iter().any(|problem| match problem {
        Problem::Index { written, .. } => written.factors() == mutated.factors(),
        Problem::Extra(extra) => extra.iter().any(|t| t.factors() == mutated.factors()),
        Problem::Coefficient { factors, .. } => factors == mutated.factors(),
        _ => false,
    });
    assert!(
        named,
        "{spec}: `{text}` is wrong but the changed term is not named: {problems:?}"
    );
}

fn left_side_changed(spec: &Spec, equation: &Equation, choices: &mut Choices) {
    let tensor = equation.lhs.tensor;
    let Some(section) = Section::ALL.into_iter().find(|s| s.tensor() == tensor) else {
        return;
    };
    let count = section.len(spec);
    let index = changed(equation.lhs.index, count, choices);
    let lhs = Variable::new(tensor, index);
    let text = Equation {
        lhs,
        rhs: equation.rhs.clone(),
    }
    .display(Notation::Text)
    .to_string();
    let right = derive::equations(spec, section).nth(index).map(|e| e.rhs);
    let accepted = matches!(finding(spec, &text), Finding::Correct(_));
    assert_eq!(
        accepted,
        right.as_ref() == Some(&equation.rhs),
        "{spec}: `{text}` (the left side of `{equation}` changed)"
    );
}

/// How many elements the tensor of `variable` has.
fn length(spec: &Spec, variable: Variable) -> usize {
    use conv_runtime::Tensor;
    match variable.tensor {
        Tensor::Input | Tensor::GradInput => spec.input_len(),
        Tensor::Weight | Tensor::GradWeight => spec.weight_len(),
        Tensor::Delta | Tensor::Output => spec.output_len(),
        Tensor::Bias | Tensor::GradBias => spec.bias_len(),
    }
}
