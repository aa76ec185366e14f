//! The output formats, checked by reading them back: text, LaTeX and JSON parsed into
//! equations, the Σ form expanded index by index, each compared with equations obtained
//! independently of the chain-rule engine. Only then does a snapshot pin what a person reads.

mod common;

use std::process::Command;

use convsym::derive::Section;
use convsym::{Format, Spec, render};
use proptest::prelude::*;

use common::{check_json, expand_sigma, independent_all, parse_latex, parse_text_line};

/// `convsym KEYS --format FORMAT`'s standard output; the keys go in as one quoted word.
fn convsym(keys: &str, format: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_convsym"))
        .args([keys, "--format", format])
        .output()
        .expect("the binary runs");
    assert!(
        output.status.success(),
        "`convsym {keys}` failed: {output:?}"
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

/// Checks every format of `keys` against the independent equations, then snapshots each.
fn check_then_snapshot(name: &str, keys: &str) {
    let spec = Spec::parse(keys).expect("a valid layer");
    let expected = independent_all(&spec);

    let text = convsym(keys, "text");
    let parsed: Vec<_> = text.lines().map(parse_text_line).collect();
    assert_eq!(parsed, expected, "text");
    let latex = convsym(keys, "latex");
    assert_eq!(parse_latex(&latex), expected, "latex");
    let sigma = convsym(keys, "sigma");
    assert_eq!(expand_sigma(&spec, &sigma), expected, "sigma");
    let json = convsym(keys, "json");
    check_json(&spec, &json, &Section::ALL);

    insta::assert_snapshot!(format!("{name}_text"), text);
    insta::assert_snapshot!(format!("{name}_latex"), latex);
    insta::assert_snapshot!(format!("{name}_sigma"), sigma);
    insta::assert_snapshot!(format!("{name}_json"), json);
}

#[test]
fn seed_in5_k3_s2() {
    let text = convsym("in=5 k=3 stride=2", "text");
    for line in [
        "z1 = w1*x1 + w2*x2 + w3*x3 + w4*x6 + w5*x7 + w6*x8 + w7*x11 + w8*x12 + w9*x13",
        "z2 = w1*x3 + w2*x4 + w3*x5 + w4*x8 + w5*x9 + w6*x10 + w7*x13 + w8*x14 + w9*x15",
        "dw1 = d1*x1 + d2*x3 + d3*x11 + d4*x13",
        "dx3 = d1*w3 + d2*w1",
    ] {
        assert!(
            text.lines().any(|printed| printed == line),
            "missing `{line}`"
        );
    }
    let sigma = convsym("in=5 k=3 stride=2", "sigma");
    assert!(sigma.contains("dw[a, b] = Σ_{i,j} d[i, j]·x[2i+a, 2j+b]\n"));
    check_then_snapshot("seed_in5_k3_s2", "in=5 k=3 stride=2");
}

#[test]
fn in3_k3_s2_pad1_op1_bias_transposed() {
    check_then_snapshot(
        "in3_k3_s2_pad1_op1_bias_transposed",
        "in=(3,) k=3 stride=2 pad=1 output_padding=1 bias transposed",
    );
}

#[test]
fn in6_k3_s2_r1() {
    check_then_snapshot("in6_k3_s2_r1", "in=6 k=3 stride=2");
}

#[test]
fn in8_k3_s3_r2() {
    check_then_snapshot("in8_k3_s3_r2", "in=8 k=3 stride=3");
}

#[test]
fn in5x6_k3_s2_r0r1() {
    check_then_snapshot("in5x6_k3_s2_r0r1", "in=(5, 6) k=3 stride=2");
}

#[test]
fn in7_k3_d2() {
    check_then_snapshot("in7_k3_d2", "in=7 k=3 dilation=2");
}

#[test]
fn in6_1d_k3_cin4_cout4_g2() {
    check_then_snapshot(
        "in6_1d_k3_cin4_cout4_g2",
        "in=(6,) k=3 cin=4 cout=4 groups=2",
    );
}

#[test]
fn in5_k3_pad_asym() {
    check_then_snapshot("in5_k3_pad_asym", "in=5 k=3 pad=((1, 0), (2, 1))");
}

#[test]
fn in7_k4_s2_same() {
    check_then_snapshot("in7_k4_s2_same", "in=7 k=4 stride=2 pad=same");
}

#[test]
fn in11_1d_k3_s2() {
    check_then_snapshot("in11_1d_k3_s2", "in=(11,) k=3 stride=2");
}

#[test]
fn in3x4x3_3d_k2_s1x2x1() {
    check_then_snapshot("in3x4x3_3d_k2_s1x2x1", "in=(3, 4, 3) k=2 stride=(1, 2, 1)");
}

#[test]
fn in5_k3_s2_cout2_bias_batch2() {
    check_then_snapshot(
        "in5_k3_s2_cout2_bias_batch2",
        "in=5 k=3 stride=2 cout=2 bias batch=2",
    );
}

/// A layer's documents as the runtime writes them, for the checks that need no binary.
fn document(spec: &Spec, format: Format, sections: &[Section]) -> String {
    let mut out = String::new();
    render::document(&mut out, spec, format, sections).expect("a String never fails");
    out
}

#[test]
fn sigma_edge_cases_expand_to_the_equations() {
    for keys in [
        // One output: every window condition collapses to `t = 0`.
        "in=(5,) k=1 stride=10",
        "in=(1,) k=1",
        // Padding wide enough that every tap lands on an output: no range condition.
        "in=(3,) k=3 pad=(2,)",
        // Depthwise, one output per group, and groups with several of each.
        "in=(5,) k=2 cin=3 cout=3 groups=3",
        "in=(5,) k=2 cin=4 cout=2 groups=2 bias",
        "in=(4,) k=2 cin=2 cout=6 groups=2 batch=2",
        "in=(6, 7) k=(2, 3) stride=(3, 2) dilation=(2, 1) pad=((1, 2), (0, 3)) cin=2 cout=2",
        "in=(7,) k=4 stride=2 pad=same_lower",
        // Transposed: an output padding, an input the padding crops away, one output.
        "in=(3,) k=3 stride=2 pad=1 output_padding=1 bias transposed",
        "in=(3,) k=1 stride=2 pad=((2,0),) transposed",
        "in=(1,) k=1 transposed",
        "in=(3,) k=2 dilation=3 output_padding=2 cin=4 cout=2 groups=2 transposed",
        "in=(2, 3) k=(3, 2) stride=(2, 3) pad=((1, 0), (0, 2)) cin=2 cout=6 groups=2 batch=2 bias transposed",
    ] {
        let spec = Spec::parse(keys).expect("a valid layer");
        let sigma = document(&spec, Format::Sigma, &Section::ALL);
        assert_eq!(
            expand_sigma(&spec, &sigma),
            independent_all(&spec),
            "{keys}"
        );
    }
}

#[test]
fn only_one_section_leaves_the_other_json_arrays_out() {
    let spec = Spec::parse("in=5 k=3 stride=2 bias").unwrap();
    for section in Section::ALL {
        let json = document(&spec, Format::Json, &[section]);
        check_json(&spec, &json, &[section]);
    }
    let json = document(
        &Spec::parse("in=5 k=3").unwrap(),
        Format::Json,
        &Section::ALL,
    );
    assert!(json.contains("\"grad_bias\": []\n}"));
}

/// One spatial axis of a generated layer.
#[derive(Clone, Debug)]
struct AxisKeys {
    kernel: usize,
    stride: usize,
    dilation: usize,
    pad: (usize, usize),
    /// How far the padded input exceeds the kernel's span.
    extra: usize,
}

fn axis_keys() -> impl Strategy<Value = AxisKeys> {
    (
        1usize..=3,
        1usize..=3,
        1usize..=2,
        (0usize..=2, 0usize..=2),
        0usize..=3,
    )
        .prop_map(|(kernel, stride, dilation, pad, extra)| AxisKeys {
            kernel,
            stride,
            dilation,
            pad,
            extra,
        })
}

/// `(a,)` for one entry, `(a, b)` for more.
fn tuple(items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.collect();
    match items.len() {
        1 => format!("({},)", items.join("")),
        _ => format!("({})", items.join(", ")),
    }
}

/// A layer's keys, always valid: the padded input is at least the kernel's span.
fn layer() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(axis_keys(), 1..=3),
        prop::sample::select(vec!["explicit", "same", "same_lower", "valid"]),
        (1usize..=2, 1usize..=2, 1usize..=2),
        1usize..=2,
        any::<bool>(),
    )
        .prop_map(|(axes, mode, (groups, per_in, per_out), batch, bias)| {
            let explicit = mode == "explicit";
            let input = axes.iter().map(|axis| {
                let span = axis.dilation * (axis.kernel - 1) + 1;
                let pads = if explicit { axis.pad.0 + axis.pad.1 } else { 0 };
                (span + axis.extra).saturating_sub(pads).max(1).to_string()
            });
            let pad = if explicit {
                tuple(axes.iter().map(|axis| format!("({}, {})", axis.pad.0, axis.pad.1)))
            } else {
                mode.to_string()
            };
            format!(
                "in={} k={} stride={} dilation={} pad={pad} cin={} cout={} groups={groups} batch={batch}{}",
                tuple(input),
                tuple(axes.iter().map(|axis| axis.kernel.to_string())),
                tuple(axes.iter().map(|axis| axis.stride.to_string())),
                tuple(axes.iter().map(|axis| axis.dilation.to_string())),
                groups * per_in,
                groups * per_out,
                if bias { " bias" } else { "" },
            )
        })
}

/// A transposed layer's keys, valid once the output is at least 1 (filtered).
fn transposed_layer() -> impl Strategy<Value = String> {
    (
        prop::collection::vec((axis_keys(), 1usize..=4, 0usize..=2), 1..=3),
        (1usize..=2, 1usize..=2, 1usize..=2),
        1usize..=2,
        any::<bool>(),
    )
        .prop_map(|(axes, (groups, per_in, per_out), batch, bias)| {
            format!(
                "in={} k={} stride={} dilation={} pad={} output_padding={} cin={} cout={} groups={groups} batch={batch}{} transposed",
                tuple(axes.iter().map(|(_, input, _)| input.to_string())),
                tuple(axes.iter().map(|(axis, _, _)| axis.kernel.to_string())),
                tuple(axes.iter().map(|(axis, _, _)| axis.stride.to_string())),
                tuple(axes.iter().map(|(axis, _, _)| axis.dilation.to_string())),
                tuple(axes.iter().map(|(axis, _, _)| format!("({}, {})", axis.pad.0, axis.pad.1))),
                tuple(axes.iter().map(|(_, _, padding)| padding.to_string())),
                groups * per_in,
                groups * per_out,
                if bias { " bias" } else { "" },
            )
        })
        .prop_filter("a valid transposed layer", |keys| Spec::parse(keys).is_ok())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(150))]

    /// The Σ form, read as a reader would, gives every equation term for term.
    #[test]
    fn sigma_expands_to_the_equations(keys in layer()) {
        let spec = Spec::parse(&keys).map_err(|errors| TestCaseError::fail(format!("{errors:?}")))?;
        let sigma = document(&spec, Format::Sigma, &Section::ALL);
        prop_assert_eq!(expand_sigma(&spec, &sigma), independent_all(&spec), "{}\n{}", keys, sigma);
    }

    /// The Σ form of a transposed layer, read as a reader would, gives every equation.
    #[test]
    fn a_transposed_sigma_expands_to_the_equations(keys in transposed_layer()) {
        let spec = Spec::parse(&keys).map_err(|errors| TestCaseError::fail(format!("{errors:?}")))?;
        let sigma = document(&spec, Format::Sigma, &Section::ALL);
        prop_assert_eq!(expand_sigma(&spec, &sigma), independent_all(&spec), "{}\n{}", keys, sigma);
        check_json(&spec, &document(&spec, Format::Json, &Section::ALL), &Section::ALL);
    }

    /// The JSON document holds every equation and the resolved specification.
    #[test]
    fn json_holds_every_equation(keys in layer()) {
        let spec = Spec::parse(&keys).map_err(|errors| TestCaseError::fail(format!("{errors:?}")))?;
        check_json(&spec, &document(&spec, Format::Json, &Section::ALL), &Section::ALL);
    }
}
