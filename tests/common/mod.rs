//! Independent checks of the printed formats: each parses an output back into equations
//! (or expands it, for the Σ form) so that it can be compared with equations obtained
//! without the chain-rule engine; and the slices-to-arrays helpers the kernel tests share.

#![allow(
    dead_code,
    reason = "each test binary uses the part of these helpers it needs"
)]

use std::collections::BTreeMap;

use convsym::derive::Section;
use convsym::{Equation, Expr, Spec, Tensor, Term, Variable, construction, reference};

/// The equations of `section`, obtained without [`convsym::derive`]: the forward pass and
/// the bias gradient from the numeric reference run on symbolic inputs, the input and
/// weight gradients from the seed's dilate-pad-correlate construction (a transposed layer's
/// forward pass too).
pub fn independent(spec: &Spec, section: Section) -> Vec<Equation> {
    let numbered = |tensor: Tensor, values: Vec<Expr>| -> Vec<Equation> {
        values
            .into_iter()
            .enumerate()
            .map(|(index, rhs)| Equation {
                lhs: Variable::new(tensor, index),
                rhs,
            })
            .collect()
    };
    match section {
        Section::Forward if spec.transposed() => {
            construction::forward(spec).expect("a transposed layer's construction")
        }
        Section::Forward => numbered(
            Tensor::Output,
            reference::forward(
                spec,
                &Expr::variables(Tensor::Input, spec.input_len()),
                &Expr::variables(Tensor::Weight, spec.weight_len()),
                &Expr::variables(Tensor::Bias, spec.bias_len()),
            ),
        ),
        Section::GradInput => construction::grad_input(spec),
        Section::GradWeight => construction::grad_weight(spec),
        Section::GradBias => numbered(
            Tensor::GradBias,
            reference::grad_bias(spec, &Expr::variables(Tensor::Delta, spec.output_len())),
        ),
    }
}

/// Every section's independent equations, in printing order.
pub fn independent_all(spec: &Spec) -> Vec<Equation> {
    Section::ALL
        .into_iter()
        .flat_map(|section| independent(spec, section))
        .collect()
}

/// The variable a text name such as `dx12` or `d3` stands for.
pub fn variable(name: &str) -> Variable {
    let digits = name.find(|c: char| c.is_ascii_digit()).expect("a number");
    let tensor = match &name[..digits] {
        "d" => Tensor::Delta,
        "w" => Tensor::Weight,
        "x" => Tensor::Input,
        "b" => Tensor::Bias,
        "z" => Tensor::Output,
        "dx" => Tensor::GradInput,
        "dw" => Tensor::GradWeight,
        "db" => Tensor::GradBias,
        other => panic!("no tensor is named `{other}`"),
    };
    let number: usize = name[digits..].parse().expect("a 1-based index");
    Variable::new(tensor, number - 1)
}

/// A text line `dx3 = d1*w3 + d2*w1` (or `dx6 = 0`) as an equation.
pub fn parse_text_line(line: &str) -> Equation {
    let (lhs, rhs) = line.split_once(" = ").expect("`lhs = rhs`");
    let terms = if rhs == "0" {
        Vec::new()
    } else {
        rhs.split(" + ")
            .map(|term| Term::new(1, term.split('*').map(variable)))
            .collect()
    };
    Equation {
        lhs: variable(lhs),
        rhs: Expr::from_terms(terms),
    }
}

/// The variable a LaTeX name stands for: `w_{1}`, `\delta_{3}`, or a gradient's
/// `\frac{\partial L}{\partial x_{3}}`.
fn latex_variable(name: &str) -> Variable {
    let (base, gradient) = match name.strip_prefix("\\frac{\\partial L}{\\partial ") {
        Some(inner) => (inner.strip_suffix('}').expect("a closed fraction"), true),
        None => (name, false),
    };
    let (letter, number) = base
        .strip_suffix('}')
        .and_then(|base| base.split_once("_{"))
        .expect("a subscripted name");
    let letter = match (letter, gradient) {
        ("\\delta", false) => "d".to_string(),
        (letter, false) => letter.to_string(),
        (letter, true) => format!("d{letter}"),
    };
    variable(&format!("{letter}{number}"))
}

/// A LaTeX `align` document back as equations; panics on anything out of shape.
pub fn parse_latex(document: &str) -> Vec<Equation> {
    let mut lines = document.lines();
    assert_eq!(lines.next(), Some("\\begin{align}"));
    let mut body: Vec<&str> = lines.collect();
    assert_eq!(body.pop(), Some("\\end{align}"));
    let last = body.len().saturating_sub(1);
    body.iter()
        .enumerate()
        .map(|(index, line)| {
            // Every line but the last ends with the row separator.
            let line = if index == last {
                assert!(!line.ends_with("\\\\"), "a trailing `\\\\`: {line}");
                line
            } else {
                line.strip_suffix(" \\\\").expect("a row separator")
            };
            let (lhs, rhs) = line.split_once(" &= ").expect("`lhs &= rhs`");
            let terms = if rhs == "0" {
                Vec::new()
            } else {
                rhs.split(" + ")
                    .map(|term| Term::new(1, term.split(' ').map(latex_variable)))
                    .collect()
            };
            Equation {
                lhs: latex_variable(lhs),
                rhs: Expr::from_terms(terms),
            }
        })
        .collect()
}

/// Checks a JSON document against the spec and the independent equations of `sections`
/// (the other sections' arrays must be absent).
pub fn check_json(spec: &Spec, document: &str, sections: &[Section]) {
    let value: serde_json::Value = serde_json::from_str(document).expect("valid JSON");
    let object = value.as_object().expect("an object");
    let per_axis = |size: fn(&convsym::Axis) -> usize| -> serde_json::Value {
        spec.axes().iter().map(size).collect()
    };
    let pads: Vec<serde_json::Value> = spec
        .axes()
        .iter()
        .map(|axis| serde_json::json!([axis.pad_before(), axis.pad_after()]))
        .collect();
    let mut expected_spec = serde_json::json!({
        "in": per_axis(convsym::Axis::input),
        "k": per_axis(convsym::Axis::kernel),
        "stride": per_axis(convsym::Axis::stride),
        "pad": pads,
        "dilation": per_axis(convsym::Axis::dilation),
        "cin": spec.in_channels(),
        "cout": spec.out_channels(),
        "groups": spec.groups(),
        "bias": spec.bias(),
        "batch": spec.batch(),
        "padding": spec.padding().word().unwrap_or("explicit"),
        "out": per_axis(convsym::Axis::output),
        "remainder": per_axis(convsym::Axis::remainder),
    });
    if spec.transposed() {
        expected_spec["transposed"] = true.into();
        expected_spec["output_padding"] = per_axis(convsym::Axis::output_padding);
    }
    assert_eq!(object["spec"], expected_spec);
    let keys: Vec<&str> = object.keys().map(String::as_str).collect();
    let mut expected_keys = vec!["spec"];
    for section in Section::ALL {
        let key = convsym::render::json::key(section);
        if !sections.contains(&section) {
            assert!(!object.contains_key(key), "`{key}` should be left out");
            continue;
        }
        expected_keys.push(key);
        let equations: Vec<Equation> = object[key]
            .as_array()
            .expect("an array of equations")
            .iter()
            .map(|equation| {
                let lhs = variable(equation["lhs"].as_str().expect("a name"));
                let terms = equation["terms"].as_array().expect("an array of terms");
                let terms = terms.iter().map(|term| {
                    let parts = term.as_array().expect("a term array");
                    let coefficient = parts[0].as_i64().expect("a coefficient");
                    let factors = parts[1..]
                        .iter()
                        .map(|factor| variable(factor.as_str().expect("a name")));
                    Term::new(coefficient, factors)
                });
                Equation {
                    lhs,
                    rhs: Expr::from_terms(terms),
                }
            })
            .collect();
        assert_eq!(equations, independent(spec, section), "`{key}`");
    }
    expected_keys.sort_unstable();
    let mut keys = keys;
    keys.sort_unstable();
    assert_eq!(keys, expected_keys);
}

/// A tensor as the Σ form indexes it: its full row-major shape, and which axes get an index
/// (batch and channel axes only when larger than 1, spatial axes always).
struct Shown {
    tensor: Tensor,
    shape: Vec<usize>,
    indexed: Vec<bool>,
}

impl Shown {
    fn new(tensor: Tensor, shape: Vec<usize>, leading: usize) -> Self {
        let indexed = shape
            .iter()
            .enumerate()
            .map(|(axis, &size)| axis >= leading || size > 1)
            .collect();
        Shown {
            tensor,
            shape,
            indexed,
        }
    }

    fn of(spec: &Spec, name: &str) -> Self {
        match name {
            "x" | "x̃" => Shown::new(Tensor::Input, spec.input_shape(), 2),
            "dx" => Shown::new(Tensor::GradInput, spec.input_shape(), 2),
            "w" => Shown::new(Tensor::Weight, spec.weight_shape(), 2),
            "dw" => Shown::new(Tensor::GradWeight, spec.weight_shape(), 2),
            "z" => Shown::new(Tensor::Output, spec.output_shape(), 2),
            "d" | "d̃" => Shown::new(Tensor::Delta, spec.output_shape(), 2),
            "b" => Shown::new(Tensor::Bias, vec![spec.out_channels()], 1),
            "db" => Shown::new(Tensor::GradBias, vec![spec.out_channels()], 1),
            other => panic!("the Σ form names an unknown tensor `{other}`"),
        }
    }

    /// The sizes of the axes that get an index.
    fn shown_sizes(&self) -> Vec<usize> {
        self.shape
            .iter()
            .zip(&self.indexed)
            .filter(|&(_, &indexed)| indexed)
            .map(|(&size, _)| size)
            .collect()
    }

    /// The element at the shown `indices`; `None` when a spatial index of `x̃` (or `d̃`)
    /// falls outside the tensor (a zero). Any other index out of range is a wrong formula.
    fn element(&self, indices: &[i64], padded: bool) -> Option<Variable> {
        let sizes = self.shown_sizes();
        assert_eq!(
            indices.len(),
            sizes.len(),
            "{:?} takes {} indices",
            self.tensor,
            sizes.len()
        );
        let mut shown = indices.iter().zip(&sizes);
        let mut flat = 0usize;
        for (axis, (&size, &is_shown)) in self.shape.iter().zip(&self.indexed).enumerate() {
            let index = if is_shown {
                let (&index, _) = shown.next().expect("an index per shown axis");
                index
            } else {
                0
            };
            if !(0..i64::try_from(size).unwrap()).contains(&index) {
                assert!(
                    padded && axis >= 2,
                    "{:?} read at {indices:?}: out of range on axis {axis}",
                    self.tensor
                );
                return None;
            }
            flat = flat * size + usize::try_from(index).unwrap();
        }
        Some(Variable::new(self.tensor, flat))
    }
}

/// A tensor element as written: `x̃[2i+a−1, j]`.
struct Factor {
    name: String,
    indices: Vec<String>,
}

fn parse_factor(text: &str) -> Factor {
    match text.split_once('[') {
        Some((name, rest)) => Factor {
            name: name.to_string(),
            indices: rest
                .strip_suffix(']')
                .expect("a closing `]`")
                .split(", ")
                .map(str::to_string)
                .collect(),
        },
        None => Factor {
            name: text.to_string(),
            indices: Vec::new(),
        },
    }
}

/// Evaluates an index expression of the Σ form: integers, one-letter variables, `+`, `−`,
/// juxtaposed products (`2i`, `2⌊o/3⌋`), `(…)/s` exact division, `⌊v/n⌋` and `v mod n`.
fn evaluate(text: &str, values: &BTreeMap<String, i64>) -> i64 {
    let tokens = tokenize(text);
    let mut position = 0;
    let value = sum(&tokens, &mut position, values);
    assert_eq!(position, tokens.len(), "unparsed tokens in `{text}`");
    value
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Number(i64),
    Name(String),
    Symbol(char),
}

fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            let mut number = i64::from(c.to_digit(10).unwrap());
            while let Some(digit) = chars.peek().and_then(|c| c.to_digit(10)) {
                number = number * 10 + i64::from(digit);
                chars.next();
            }
            tokens.push(Token::Number(number));
        } else if c.is_ascii_alphabetic() {
            let mut name = c.to_string();
            // Only `mod` is longer than one letter; variables are single letters.
            if c == 'm' && chars.peek() == Some(&'o') {
                name.extend([chars.next().unwrap(), chars.next().unwrap()]);
                assert_eq!(name, "mod");
            }
            tokens.push(Token::Name(name));
        } else if c != ' ' {
            assert!("+−/()⌊⌋".contains(c), "unexpected `{c}` in an index");
            tokens.push(Token::Symbol(c));
        }
    }
    tokens
}

fn sum(tokens: &[Token], position: &mut usize, values: &BTreeMap<String, i64>) -> i64 {
    let mut total = 0;
    let mut sign = 1;
    if tokens.get(*position) == Some(&Token::Symbol('−')) {
        sign = -1;
        *position += 1;
    }
    loop {
        total += sign * modulo(tokens, position, values);
        match tokens.get(*position) {
            Some(Token::Symbol('+')) => sign = 1,
            Some(Token::Symbol('−')) => sign = -1,
            _ => return total,
        }
        *position += 1;
    }
}

fn modulo(tokens: &[Token], position: &mut usize, values: &BTreeMap<String, i64>) -> i64 {
    let value = product(tokens, position, values);
    if tokens.get(*position) == Some(&Token::Name("mod".into())) {
        *position += 1;
        let modulus = product(tokens, position, values);
        return value.rem_euclid(modulus);
    }
    value
}

fn product(tokens: &[Token], position: &mut usize, values: &BTreeMap<String, i64>) -> i64 {
    let mut value = quotient(tokens, position, values);
    // Juxtaposition: `2i`, `2⌊o/3⌋`.
    while matches!(
        tokens.get(*position),
        Some(Token::Symbol('⌊' | '(') | Token::Name(_))
    ) && tokens.get(*position) != Some(&Token::Name("mod".into()))
    {
        value *= quotient(tokens, position, values);
    }
    value
}

fn quotient(tokens: &[Token], position: &mut usize, values: &BTreeMap<String, i64>) -> i64 {
    let mut value = primary(tokens, position, values);
    while tokens.get(*position) == Some(&Token::Symbol('/')) {
        *position += 1;
        let divisor = primary(tokens, position, values);
        assert_eq!(value % divisor, 0, "an inexact division {value}/{divisor}");
        value /= divisor;
    }
    value
}

fn primary(tokens: &[Token], position: &mut usize, values: &BTreeMap<String, i64>) -> i64 {
    let token = tokens.get(*position).cloned().expect("an operand");
    *position += 1;
    match token {
        Token::Number(number) => number,
        Token::Name(name) => *values
            .get(&name)
            .unwrap_or_else(|| panic!("`{name}` is not bound")),
        Token::Symbol('(') => {
            let value = sum(tokens, position, values);
            assert_eq!(tokens.get(*position), Some(&Token::Symbol(')')));
            *position += 1;
            value
        }
        Token::Symbol('⌊') => {
            let numerator = primary(tokens, position, values);
            assert_eq!(tokens.get(*position), Some(&Token::Symbol('/')));
            *position += 1;
            let denominator = primary(tokens, position, values);
            assert_eq!(tokens.get(*position), Some(&Token::Symbol('⌋')));
            *position += 1;
            numerator.div_euclid(denominator)
        }
        other @ Token::Symbol(_) => panic!("unexpected {other:?}"),
    }
}

/// Whether a condition of a Σ subscript holds: `s | t`, `0 ≤ t ≤ m`, `t = u`.
fn holds(condition: &str, values: &BTreeMap<String, i64>) -> bool {
    if let Some((divisor, value)) = condition.split_once(" | ") {
        return evaluate(value, values).rem_euclid(evaluate(divisor, values)) == 0;
    }
    let parts: Vec<&str> = condition.split(" ≤ ").collect();
    if let [low, value, high] = parts[..] {
        let value = evaluate(value, values);
        return evaluate(low, values) <= value && value <= evaluate(high, values);
    }
    let (left, right) = condition.split_once(" = ").expect("a known condition");
    evaluate(left, values) == evaluate(right, values)
}

/// Every assignment of `variables` within `ranges`, in row-major order.
fn assignments(variables: &[(String, usize)]) -> Vec<BTreeMap<String, i64>> {
    let mut all = vec![BTreeMap::new()];
    for (name, size) in variables {
        all = all
            .into_iter()
            .flat_map(|partial: BTreeMap<String, i64>| {
                (0..i64::try_from(*size).unwrap()).map(move |value| {
                    let mut next = partial.clone();
                    next.insert(name.clone(), value);
                    next
                })
            })
            .collect();
    }
    all
}

/// Expands one Σ formula into its equations, one per element of its left-hand side in
/// layout order, the way a reader would: every summed index over the axis it indexes where
/// it stands alone, the conditions checked, each index evaluated.
pub fn expand_sigma_line(spec: &Spec, line: &str) -> Vec<Equation> {
    let (lhs, rhs) = line.split_once(" = ").expect("`lhs = rhs`");
    let lhs = parse_factor(lhs);
    let (bias, rest) = match rhs.split_once(" + Σ_{") {
        Some((bias, rest)) => (Some(parse_factor(bias)), rest),
        None => (None, rhs.strip_prefix("Σ_{").expect("a Σ")),
    };
    let (subscript, body) = rest.split_once("} ").expect("a closed subscript");
    let (summed, conditions) = match subscript.split_once(" : ") {
        Some((summed, conditions)) => (summed, conditions.split(", ").collect()),
        None => (subscript, Vec::new()),
    };
    let factors: Vec<Factor> = body.split('·').map(parse_factor).collect();

    // A variable's range: the size of an axis it indexes alone.
    let range_of = |name: &str| -> usize {
        std::iter::once(&lhs)
            .chain(&factors)
            .chain(&bias)
            .find_map(|factor| {
                let position = factor.indices.iter().position(|index| index == name)?;
                Some(Shown::of(spec, &factor.name).shown_sizes()[position])
            })
            .unwrap_or_else(|| panic!("`{name}` never indexes an axis alone"))
    };
    let free: Vec<(String, usize)> = lhs
        .indices
        .iter()
        .map(|name| (name.clone(), range_of(name)))
        .collect();
    let summed: Vec<(String, usize)> = summed
        .split(',')
        .map(|name| (name.to_string(), range_of(name)))
        .collect();
    let target = Shown::of(spec, &lhs.name);
    let element = |factor: &Factor, values: &BTreeMap<String, i64>| -> Option<Variable> {
        let indices: Vec<i64> = factor
            .indices
            .iter()
            .map(|index| evaluate(index, values))
            .collect();
        let padded = factor.name == "x̃" || factor.name == "d̃";
        Shown::of(spec, &factor.name).element(&indices, padded)
    };
    assignments(&free)
        .into_iter()
        .enumerate()
        .map(|(flat, values)| {
            let lhs = element(&lhs, &values).expect("the left-hand side is in range");
            assert_eq!(lhs, Variable::new(target.tensor, flat), "layout order");
            let mut terms = Vec::new();
            for sum_values in assignments(&summed) {
                let mut values = values.clone();
                values.extend(sum_values);
                if !conditions.iter().all(|condition| holds(condition, &values)) {
                    continue;
                }
                let product: Option<Vec<Variable>> = factors
                    .iter()
                    .map(|factor| element(factor, &values))
                    .collect();
                terms.extend(product.map(|factors| Term::new(1, factors)));
            }
            if let Some(bias) = &bias {
                let variable = element(bias, &values).expect("the bias is in range");
                terms.push(Term::new(1, vec![variable]));
            }
            Equation {
                lhs,
                rhs: Expr::from_terms(terms),
            }
        })
        .collect()
}

/// Expands a whole Σ document (header lines skipped) into equations, in printing order.
pub fn expand_sigma(spec: &Spec, document: &str) -> Vec<Equation> {
    document
        .lines()
        .filter(|line| !line.starts_with('#'))
        .flat_map(|line| expand_sigma_line(spec, line))
        .collect()
}

/// Slices to the fixed-size arrays the kernels take; the lengths come from the layer's own
/// constants, so a mismatch is a bug in the test.
pub fn array<T, const N: usize>(slice: &[T]) -> &[T; N] {
    slice
        .try_into()
        .expect("the test builds slices of the layer's sizes")
}

/// [`array`] for an output.
pub fn array_mut<T, const N: usize>(slice: &mut [T]) -> &mut [T; N] {
    slice
        .try_into()
        .expect("the test builds slices of the layer's sizes")
}

/// An array full of 7s, for `_into` kernels to overwrite.
pub fn garbage<T: convsym::Scalar, const N: usize>() -> [T; N] {
    core::array::from_fn(|_| T::from_integer(7))
}

/// `N` integers in `-3..=4` from `seed`, on the heap: finite, so the wide builds run, and
/// off the stack, so that only a kernel's own locals are on the thread's.
pub fn boxed<const N: usize>(seed: u64) -> Box<[f32; N]> {
    let mut state = seed;
    let values: Box<[f32]> = (0..N)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            f32::from(u8::try_from(state >> 61).unwrap_or(0)) - 3.0
        })
        .collect();
    values.try_into().expect("N values")
}
