//! The specification's tests: parsing, validation, messages and spans.

use super::*;

/// The messages for `text`, each with the text its span covers.
fn errors(text: &str) -> Vec<(String, Option<&str>)> {
    Spec::parse(text)
        .expect_err("the specification is invalid")
        .into_iter()
        .map(|error| (error.message, error.span.map(|span| &text[span])))
        .collect()
}

#[test]
fn resolves_every_padding_form() {
    let pads = |text: &str| -> Vec<(usize, usize)> {
        let spec = Spec::parse(text).unwrap();
        spec.axes()
            .iter()
            .map(|a| (a.pad_before(), a.pad_after()))
            .collect()
    };
    assert_eq!(pads("in=5 k=3 pad=1"), [(1, 1), (1, 1)]);
    assert_eq!(pads("in=(5,6) k=3 pad=(2,0)"), [(2, 2), (0, 0)]);
    assert_eq!(pads("in=(5,6) k=3 pad=((1,0),(2,1))"), [(1, 0), (2, 1)]);
    assert_eq!(pads("in=(9,) k=3 pad=((2,1),)"), [(2, 1)]);
    // TensorFlow's rule: out = ⌈7 / 2⌉ = 4, total = 3·2 + 4 − 7 = 3.
    assert_eq!(pads("in=(7,) k=4 stride=2 pad=same"), [(1, 2)]);
    assert_eq!(pads("in=(7,) k=4 stride=2 pad=same_lower"), [(2, 1)]);
    // A stride past the kernel asks for negative padding, clamped to none.
    assert_eq!(pads("in=(10,) k=1 stride=4 pad=same"), [(0, 0)]);
    assert_eq!(pads("in=6 k=3 pad=valid"), [(0, 0), (0, 0)]);
}

#[test]
fn sizes_and_remainders() {
    let spec = Spec::parse("in=(5,6) k=3 stride=2 cin=4 cout=6 groups=2 batch=3").unwrap();
    let remainders: Vec<usize> = spec.axes().iter().map(Axis::remainder).collect();
    assert_eq!(remainders, [0, 1]);
    assert_eq!(spec.input_shape(), [3, 4, 5, 6]);
    assert_eq!(spec.weight_shape(), [6, 2, 3, 3]);
    assert_eq!(spec.output_shape(), [3, 6, 2, 2]);
    assert_eq!(
        spec.to_string().parse::<String>().unwrap(),
        spec.to_string()
    );
    assert_eq!(Spec::parse(&spec.to_string()).unwrap(), spec);
}

#[test]
fn explains_why_inputs_are_never_read() {
    let spec = Spec::parse("in=(8,) k=2 stride=3 pad=1").unwrap();
    // Padded positions 0..10 read by windows at 0, 3, 6: 0,1 3,4 6,7; 9 is the remainder.
    let unread: Vec<(usize, Unread)> = spec.axes()[0].unread().collect();
    assert_eq!(
        unread,
        [(1, Unread::Gap), (4, Unread::Gap), (7, Unread::Remainder)]
    );
}

#[test]
fn errors_name_the_key_and_point_at_the_narrowest_token() {
    // (specification, the first error's message, the text its span covers)
    let table = [
        (
            "in=5 k=7",
            "`k` (7) is larger than the padded input (5) on axis 1",
            "7",
        ),
        (
            "in=(5,6) k=(3,7)",
            "`k` (7) is larger than the padded input (6) on axis 2",
            "7",
        ),
        (
            "in=5 k=3 dilation=3",
            "`k` (3) with `dilation` (3) spans 7, more than the padded input (5) on axis 1",
            "3",
        ),
        (
            "in=5 k=3 strde=2",
            "unknown key `strde`; did you mean `stride`?",
            "strde",
        ),
        (
            "in=5 k=3 kernel=3",
            "unknown key `kernel`; did you mean `k`?",
            "kernel",
        ),
        ("in=5 k=3 k=2", "duplicate `k` argument", "k"),
        ("in=5 k=3 stride=0", "`stride` (0) must be at least 1", "0"),
        ("in=5 k=-3", "`k` (-3) must be positive", "-3"),
        (
            "in=5 k=3 pad=(1,-1)",
            "`pad` (-1) must be zero or positive",
            "-1",
        ),
        (
            "in=(5,6) k=(3,3,3)",
            "`k` (3, 3, 3) has 3 entries but `in` has 2 axes",
            "(3,3,3)",
        ),
        (
            "in=5 k=3 cin=4 cout=3 groups=3",
            "`groups` (3) does not divide `cin` (4)",
            "3",
        ),
        (
            "in=5 k=3 pad=((1,2,3),(0,0))",
            "`pad` entry (1, 2, 3) must be an integer or a pair `(before, after)`",
            "(1,2,3)",
        ),
        (
            "in=5 k=3 pad=full",
            "`pad` (full) must be an integer, a tuple, `same`, `same_lower` or `valid`",
            "full",
        ),
        (
            "in=5 k=3 bias=yes",
            "`bias` (yes) must be `true` or `false`",
            "yes",
        ),
        (
            "in=99999999999999999999 k=3",
            "`in` (99999999999999999999) is too large",
            "99999999999999999999",
        ),
        (
            "in=(4000000000,4000000000,4000000000) k=1 cin=2",
            "the input tensor (1 × 2 × 4000000000 × 4000000000 × 4000000000) has more elements than fit in memory",
            "(4000000000,4000000000,4000000000)",
        ),
        (
            "in=(1,2,3,4) k=1",
            "`in` (1, 2, 3, 4) has 4 axes; expected 1 to 3, e.g. `(11,)`, `(7, 6)` or `(4, 5, 3)`",
            "(1,2,3,4)",
        ),
    ];
    for (text, message, span) in table {
        assert_eq!(errors(text)[0], (message.to_owned(), Some(span)), "{text}");
    }
    // A square input's two identical axes give one error, not two.
    assert_eq!(errors("in=5 k=7").len(), 1);
}

#[test]
fn collects_independent_errors() {
    let all = errors("stride=0 cin=3 groups=2");
    let messages: Vec<&str> = all.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(
        messages,
        [
            "missing `in`: the input size, e.g. `in = 5` or `in = (7, 6)`",
            "missing `k`: the kernel size, e.g. `k = 3`",
            "`stride` (0) must be at least 1",
        ]
    );
    let all = errors("in=5 k=3 cin=3 cout=5 groups=2");
    assert_eq!(all.len(), 2, "{all:?}");
}

#[test]
fn huge_values_never_overflow() {
    for text in [
        "in=18446744073709551615 k=18446744073709551615",
        "in=5 k=3 dilation=18446744073709551615",
        "in=5 k=3 pad=18446744073709551615",
        "in=(5,) k=3 pad=((18446744073709551615,18446744073709551615),)",
        "in=5 k=2 dilation=18446744073709551615 pad=same",
        "in=18446744073709551615 k=1 cout=18446744073709551615",
    ] {
        assert!(Spec::parse(text).is_err(), "{text}");
    }
    // A padding of 2^63 − 1 on each side: huge but valid.
    assert!(Spec::parse("in=5 k=2 dilation=9223372036854775807 pad=same").is_ok());
    // One output, no padding: huge but valid.
    let spec = Spec::parse("in=5 k=3 stride=18446744073709551615 pad=same").unwrap();
    assert_eq!(spec.output_shape(), [1, 1, 1, 1]);
}

/// Per axis and reason, the inputs listed are exactly those whose coordinate on that axis
/// no window reads for that reason, in ascending order.
#[test]
fn unread_inputs_follow_each_axis() {
    let spec = Spec::parse("in=(9,7) k=2 stride=(4,3) dilation=(2,1) cin=2").unwrap();
    let [rows, columns] = [spec.axes()[0], spec.axes()[1]];
    for reason in [Unread::Remainder, Unread::Gap] {
        let expected: Vec<usize> = (0..spec.input_len())
            .filter(|flat| rows.why_unread(flat / 7 % 9) == Some(reason))
            .collect();
        assert_eq!(spec.unread_inputs(0, reason).collect::<Vec<_>>(), expected);
        let expected: Vec<usize> = (0..spec.input_len())
            .filter(|flat| columns.why_unread(flat % 7) == Some(reason))
            .collect();
        assert_eq!(spec.unread_inputs(1, reason).collect::<Vec<_>>(), expected);
    }
    assert!(spec.unread_inputs(0, Unread::Gap).next().is_some());
    assert_eq!(spec.unread_inputs(2, Unread::Gap).count(), 0);
}

/// `out = (in − 1)·s − pad_lo − pad_hi + d·(k − 1) + output_padding + 1`, worked by hand
/// for each layer, and the weight laid out `[cin][cout/groups][k…]`.
#[test]
fn transposed_sizes() {
    let outputs = |text: &str| -> Vec<usize> {
        let spec = Spec::parse(text).unwrap();
        spec.axes().iter().map(Axis::output).collect()
    };
    // 4·2 + 2 + 1.
    assert_eq!(outputs("in=(5,) k=3 stride=2 transposed"), [11]);
    // 3·2 − 2 + 3 + 1: the DCGAN step doubles the size.
    assert_eq!(outputs("in=4 k=4 stride=2 pad=1 transposed"), [8, 8]);
    // 2·2 − 2 + 2 + 1 + 1.
    assert_eq!(
        outputs("in=(3,) k=3 stride=2 pad=1 output_padding=1 transposed=true"),
        [6]
    );
    // 2·1 + 3 + 2 + 1, an output padding past the stride but under the dilation.
    assert_eq!(
        outputs("in=(3,) k=2 dilation=3 output_padding=2 transposed"),
        [8]
    );
    // 5·3 − (1 + 4) + 2 + 1 + 1 on the first axis, 1·1 − (1 + 1) + 1 + 0 + 1 on the second.
    assert_eq!(
        outputs("in=(6,2) k=(3,2) stride=(3,1) pad=((1,4),1) output_padding=(1,0) transposed"),
        [14, 1]
    );
    let spec = Spec::parse("in=(5,) k=3 cin=4 cout=6 groups=2 batch=2 transposed").unwrap();
    assert!(spec.transposed());
    assert_eq!(spec.input_shape(), [2, 4, 5]);
    assert_eq!(spec.weight_shape(), [4, 3, 3]);
    assert_eq!(spec.output_shape(), [2, 6, 7]);
    assert!(
        !Spec::parse("in=5 k=3 transposed=false")
            .unwrap()
            .transposed()
    );
}

#[test]
fn transposed_layers_print_back_equal() {
    for text in [
        "in=(6,2) k=(3,2) stride=(3,1) pad=((1,4),1) output_padding=(1,0) transposed",
        "in=5 k=3 cin=4 cout=6 groups=2 bias transposed",
        "in=(3,) k=2 dilation=3 output_padding=2 transposed",
    ] {
        let spec = Spec::parse(text).unwrap();
        assert_eq!(Spec::parse(&spec.to_string()).unwrap(), spec, "{text}");
    }
}

/// The dual is the ordinary layer written out by hand; past the stride, `output_padding`
/// gives it `⌊output_padding / stride⌋` more outputs than the transposed layer has inputs.
#[test]
fn the_dual_is_the_ordinary_layer_transposed() {
    let dual = |text: &str| Spec::parse(text).unwrap().dual();
    assert_eq!(
        dual("in=(3,) k=3 stride=2 pad=1 output_padding=1 cin=2 cout=4 bias transposed"),
        Some(Spec::parse("in=(6,) k=3 stride=2 pad=1 cin=4 cout=2").unwrap())
    );
    assert_eq!(
        dual("in=(5,4) k=(4,3) stride=2 pad=((1,2),0) cin=6 cout=4 groups=2 batch=3 transposed"),
        Some(
            Spec::parse("in=(9,9) k=(4,3) stride=2 pad=((1,2),0) cin=4 cout=6 groups=2 batch=3")
                .unwrap()
        )
    );
    let wide = dual("in=(3,) k=2 dilation=3 output_padding=2 transposed").unwrap();
    assert_eq!(wide, Spec::parse("in=(8,) k=2 dilation=3").unwrap());
    assert_eq!(wide.axes()[0].output(), 3 + 2);
    assert_eq!(dual("in=5 k=3"), None);
}

#[test]
fn transposed_errors_name_the_key_and_the_value() {
    // (specification, every error's message and the text its span covers)
    let table: [(&str, &[(&str, &str)]); 6] = [
        (
            "in=5 k=3 output_padding=1",
            &[(
                "`output_padding` (1) needs `transposed`: only a transposed layer pads its output",
                "1",
            )],
        ),
        (
            "in=(5,5) k=3 stride=(2,3) output_padding=(1,3) transposed",
            &[(
                "`output_padding` (3) must be smaller than `stride` (3) or `dilation` (1) on axis 2",
                "3",
            )],
        ),
        (
            "in=(2,) k=3 stride=2 pad=((2,3),) transposed",
            &[(
                "`pad` (2, 3) leaves no output on axis 1: the transposed layer's output has 5 positions before `pad` crops it",
                "(2,3)",
            )],
        ),
        (
            "in=5 k=3 pad=same transposed",
            &[(
                "`pad` (same) is not defined for a transposed layer (PyTorch's `ConvTranspose` has no padding words); give the amounts, e.g. `pad = 1`",
                "same",
            )],
        ),
        (
            "in=5 k=3 transposed=yes",
            &[("`transposed` (yes) must be `true` or `false`", "yes")],
        ),
        (
            "in=(5,) k=3 output_padding=-1 transposed",
            &[("`output_padding` (-1) must be zero or positive", "-1")],
        ),
    ];
    for (text, expected) in table {
        let found = errors(text);
        let expected: Vec<(String, Option<&str>)> = expected
            .iter()
            .map(|&(message, span)| (message.to_string(), Some(span)))
            .collect();
        assert_eq!(found, expected, "{text}");
    }
}

/// A transposed layer's input is unread exactly when every tap scatters it outside the
/// output, counted tap by tap.
#[test]
fn transposed_inputs_are_unread_where_the_padding_crops_them() {
    for text in [
        "in=(4,) k=1 stride=2 pad=((2,3),) transposed",
        "in=(6,) k=2 stride=3 dilation=2 pad=((5,6),) transposed",
        "in=(5,) k=3 stride=1 pad=((3,3),) transposed",
        "in=(3,) k=2 dilation=3 output_padding=2 pad=((0,6),) transposed",
    ] {
        let spec = Spec::parse(text).unwrap();
        let axis = spec.axes()[0];
        let unread: Vec<(usize, Unread)> = axis.unread().collect();
        let cropped: Vec<(usize, Unread)> = (0..axis.input())
            .filter(|&i| {
                (0..axis.kernel()).all(|q| {
                    let target =
                        (i * axis.stride() + q * axis.dilation()).checked_sub(axis.pad_before());
                    target.is_none_or(|t| t >= axis.output())
                })
            })
            .map(|i| (i, Unread::Cropped))
            .collect();
        assert!(!cropped.is_empty(), "{text}");
        assert_eq!(unread, cropped, "{text}");
    }
}
