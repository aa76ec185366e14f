//! Every equation the engine derives, evaluated on the inputs of a JAX fixture, equals
//! JAX's number exactly (integer data in float64); so does the numeric reference.
//! The fixtures come from `tests/fixtures/generate.py`, run by hand: `jax/` holds ordinary
//! layers, `transposed/` transposed ones (PyTorch's semantics, by `lax.conv_transpose`).

use std::path::PathBuf;

use convsym::derive::{self, Section};
use convsym::{Spec, Tensor, Variable, reference};
use serde_json::Value;

struct Fixture {
    name: String,
    spec_text: String,
    spec: Spec,
    json: Value,
}

impl Fixture {
    fn array(&self, key: &str) -> Vec<f64> {
        match &self.json[key] {
            Value::Null => Vec::new(),
            Value::Array(items) => items
                .iter()
                .map(|item| item.as_f64().expect("fixture numbers are numbers"))
                .collect(),
            other => panic!(
                "{}: `{key}` is neither an array nor null: {other}",
                self.name
            ),
        }
    }
}

/// The fixtures in `tests/fixtures/<folder>`, in file-name order.
fn fixtures_in(folder: &str) -> Vec<Fixture> {
    let folder = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(folder);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&folder)
        .expect("the fixture folder exists")
        .map(|entry| entry.expect("a readable entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("a readable fixture");
            let json: Value = serde_json::from_str(&text).expect("valid JSON");
            let spec_text = json["spec"].as_str().expect("a spec string").to_owned();
            let spec =
                Spec::parse(&spec_text).unwrap_or_else(|errors| panic!("{spec_text}: {errors:?}"));
            Fixture {
                name: json["name"].as_str().expect("a name").to_owned(),
                spec_text,
                spec,
                json,
            }
        })
        .collect()
}

fn fixtures() -> Vec<Fixture> {
    fixtures_in("jax")
}

#[test]
fn every_equation_evaluates_to_jax_numbers() {
    let fixtures = fixtures();
    assert!(fixtures.len() >= 10, "only {} fixtures", fixtures.len());
    for fixture in &fixtures {
        agrees_with(fixture);
    }
}

#[test]
fn every_transposed_equation_evaluates_to_jax_numbers() {
    let fixtures = fixtures_in("transposed");
    assert!(fixtures.len() >= 7, "only {} fixtures", fixtures.len());
    for fixture in &fixtures {
        assert!(fixture.spec.transposed(), "{}", fixture.name);
        agrees_with(fixture);
    }
}

/// The transposed fixtures exercise every key, the forms of `output_padding` and of
/// `pad`, `output_padding` past the stride, 1 to 3 axes, and an input cropped away.
#[test]
fn transposed_fixtures_cover_every_key() {
    let fixtures = fixtures_in("transposed");
    let forms = [
        "output_padding=(",
        "output_padding=1",
        "pad=((",
        "pad=1",
        "transposed=true",
    ];
    covers(&fixtures, convsym::spec::KEYS.into_iter(), &forms);
    let past_the_stride = |f: &Fixture| {
        f.spec
            .axes()
            .iter()
            .any(|a| a.output_padding() >= a.stride())
    };
    assert!(fixtures.iter().any(past_the_stride));
    let cropped =
        |f: &Fixture| (0..f.spec.input_len()).any(|i| f.spec.why_input_unread(i).is_some());
    assert!(fixtures.iter().any(cropped));
}

/// Every equation of `fixture`'s layer, and the numeric reference, give its numbers.
fn agrees_with(fixture: &Fixture) {
    let (x, w, b, d) = (
        fixture.array("x"),
        fixture.array("w"),
        fixture.array("b"),
        fixture.array("dz"),
    );
    let value = |variable: Variable| -> f64 {
        let tensor = match variable.tensor {
            Tensor::Input => &x,
            Tensor::Weight => &w,
            Tensor::Bias => &b,
            Tensor::Delta => &d,
            other => panic!("{other:?} never appears on a right-hand side"),
        };
        tensor[variable.index]
    };
    for (section, key) in [
        (Section::Forward, "z"),
        (Section::GradInput, "dx"),
        (Section::GradWeight, "dw"),
        (Section::GradBias, "db"),
    ] {
        let expected = fixture.array(key);
        let derived: Vec<f64> = derive::equations(&fixture.spec, section)
            .map(|equation| equation.rhs.evaluate(value))
            .collect();
        assert_eq!(
            derived, expected,
            "{}: `{key}` of {}",
            fixture.name, fixture.spec_text
        );
    }
    let spec = &fixture.spec;
    assert_eq!(
        reference::forward(spec, &x, &w, &b),
        fixture.array("z"),
        "{}",
        fixture.name
    );
    assert_eq!(
        reference::grad_input(spec, &w, &d),
        fixture.array("dx"),
        "{}",
        fixture.name
    );
    assert_eq!(
        reference::grad_weight(spec, &x, &d),
        fixture.array("dw"),
        "{}",
        fixture.name
    );
    assert_eq!(
        reference::grad_bias(spec, &d),
        fixture.array("db"),
        "{}",
        fixture.name
    );
}

/// The fixtures must exercise every key, each in the forms it accepts, and remainders of
/// 0, 1 and 2, or agreeing with them proves little.
#[test]
fn fixtures_cover_every_key_and_remainder() {
    let fixtures = fixtures();
    // These are ordinary layers; the transposed fixtures cover the transposed layers' keys.
    let ordinary = convsym::spec::KEYS
        .into_iter()
        .filter(|&key| !["transposed", "output_padding"].contains(&key));
    let forms = [
        "in=(",
        "k=(",
        "stride=(",
        "dilation=(",
        "pad=((",
        "pad=same",
        "pad=same_lower",
        "pad=valid",
        "pad=1",
        "pad=(2",
    ];
    covers(&fixtures, ordinary, &forms);
    for remainder in 0..=2 {
        assert!(
            fixtures
                .iter()
                .any(|f| f.spec.axes().iter().any(|a| a.remainder() == remainder)),
            "no fixture with r = {remainder}"
        );
    }
}

/// Asserts that `fixtures` use each of `keys`, write each of `forms`, and have 1 to 3 axes.
fn covers<'k>(fixtures: &[Fixture], keys: impl Iterator<Item = &'k str>, forms: &[&str]) {
    let written: Vec<&str> = fixtures.iter().map(|f| f.spec_text.as_str()).collect();
    let any = |predicate: &dyn Fn(&str) -> bool| written.iter().any(|text| predicate(text));
    for key in keys {
        assert!(
            any(&|text| text
                .split_whitespace()
                .any(|arg| arg.split('=').next() == Some(key))),
            "no fixture uses `{key}`"
        );
    }
    for form in forms {
        assert!(
            any(&|text| text.contains(form)),
            "no fixture writes `{form}`"
        );
    }
    for rank in 1..=3 {
        assert!(
            fixtures.iter().any(|f| f.spec.axes().len() == rank),
            "no {rank}-D fixture"
        );
    }
}
