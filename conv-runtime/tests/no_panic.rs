//! No text a user writes reaches a panic: not in parsing, not in validation, not in the
//! first equations of any layer that validates.

use conv_runtime::{Spec, derive};
use proptest::prelude::*;

/// Numbers around the edges that overflow arithmetic: 0, 1, small, and near `u64::MAX`.
fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        (0..6u64).prop_map(|n| n.to_string()),
        Just("-1".to_owned()),
        Just("4294967296".to_owned()),
        Just("9223372036854775807".to_owned()),
        Just("18446744073709551615".to_owned()),
        Just("18446744073709551616".to_owned()),
    ]
}

fn value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        number(),
        Just("same".to_owned()),
        Just("valid".to_owned()),
        Just("true".to_owned())
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        proptest::collection::vec(inner, 0..4).prop_map(|items| format!("({})", items.join(",")))
    })
}

fn arguments() -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec![
        "in", "k", "stride", "pad", "dilation", "cin", "cout", "groups", "bias", "batch", "kk",
    ]);
    proptest::collection::vec((key, proptest::option::of(value())), 0..8).prop_map(|args| {
        args.into_iter()
            .map(|(key, value)| match value {
                Some(value) => format!("{key}={value}"),
                None => key.to_owned(),
            })
            .collect::<Vec<_>>()
            .join(" ")
    })
}

fn first_equations(spec: &Spec) {
    for section in derive::Section::ALL {
        for equation in derive::equations(spec, section).take(2) {
            let _ = equation.to_string();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,40}") {
        let _ = Spec::parse(&text);
    }

    #[test]
    fn extreme_specifications_never_panic(text in arguments()) {
        if let Ok(spec) = Spec::parse(&text) {
            let _ = spec.to_string();
            for axis in spec.axes() {
                let _ = axis.remainder();
                let _ = axis.unread().take(3).count();
            }
            // Only layers of a sane size: deriving one equation of a 2^60-term layer is a
            // legitimate, endless request, not a panic.
            let terms_per_equation = spec.weight_len().max(spec.output_len());
            if terms_per_equation < 1 << 16 {
                first_equations(&spec);
            }
        }
    }
}
