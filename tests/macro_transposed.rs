//! The kernels `conv!(…, transposed)` generates, on transposed layers of one to three axes
//! with every key (stride, dilation, uneven padding, `output_padding` below the stride and,
//! where the dilation allows, not below it, groups, a bias, a batch), in every unroll mode
//! and every build this processor has. Run on symbolic inputs, every kernel gives the
//! equations of the seed's construction, derived without the chain-rule engine; on integer
//! data, the runtime's numeric reference exactly; in each wide build, both, and with
//! infinities and NaN among the data, the value of each output's equation.

mod common;

use common::{array, garbage};
use convsym::derive::Section;
use convsym::kernel::{self, Width};
use convsym::{Equation, Expr, Scalar, Spec, Tensor, Variable, reference};

/// A generated layer seen through slices, so that one test walks every layer.
trait Layer<T> {
    fn spec(&self) -> Spec;
    /// `[z, dx, dw, db]` from the methods that return arrays; `db` empty without a bias.
    fn passes(&self, data: &[Vec<T>; 4]) -> [Vec<T>; 4];
    /// The same from `forward_into` and `backward_into`, on memory full of garbage.
    fn written_into(&self, data: &[Vec<T>; 4]) -> [Vec<T>; 4];
}

macro_rules! layer {
    ($layer:path [$($bias:ident)?]) => {
        impl<T: Scalar> Layer<T> for $layer {
            fn spec(&self) -> Spec {
                <$layer>::default().spec()
            }
            fn passes(&self, [x, w, b, dz]: &[Vec<T>; 4]) -> [Vec<T>; 4] {
                let layer = <$layer>::default();
                let (z, db) = layer!(@returned layer, x, w, b, dz $($bias)?);
                [
                    z.to_vec(),
                    layer.grad_input(array(w), array(dz)).to_vec(),
                    layer.grad_weight(array(x), array(dz)).to_vec(),
                    db.to_vec(),
                ]
            }
            fn written_into(&self, [x, w, b, dz]: &[Vec<T>; 4]) -> [Vec<T>; 4] {
                let layer = <$layer>::default();
                let (mut z, mut dx, mut dw) = (garbage(), garbage(), garbage());
                #[allow(unused_mut, reason = "written only where the layer has a bias")]
                let mut db: [T; <$layer>::BIAS_LEN] = garbage();
                layer!(@into layer, (x, w, b, dz), (z, dx, dw, db) $($bias)?);
                [z.to_vec(), dx.to_vec(), dw.to_vec(), db.to_vec()]
            }
        }
    };
    (@returned $layer:ident, $x:ident, $w:ident, $b:ident, $dz:ident) => {{
        assert!($b.is_empty(), "no bias data for a layer without a bias");
        ($layer.forward(array($x), array($w)), [])
    }};
    (@returned $layer:ident, $x:ident, $w:ident, $b:ident, $dz:ident bias) => {
        ($layer.forward(array($x), array($w), array($b)), $layer.grad_bias(array($dz)))
    };
    (@into $layer:ident, ($x:ident, $w:ident, $b:ident, $dz:ident), ($z:ident, $dx:ident, $dw:ident, $db:ident)) => {
        assert!($b.is_empty(), "no bias data for a layer without a bias");
        $layer.forward_into(array($x), array($w), &mut $z);
        $layer.backward_into(array($x), array($w), array($dz), &mut $dx, &mut $dw);
    };
    (@into $layer:ident, ($x:ident, $w:ident, $b:ident, $dz:ident), ($z:ident, $dx:ident, $dw:ident, $db:ident) bias) => {
        $layer.forward_into(array($x), array($w), array($b), &mut $z);
        $layer.backward_into(array($x), array($w), array($dz), &mut $dx, &mut $dw, &mut $db);
    };
}

/// Each layer in a module of its own, once per unroll mode listed (a module per mode, each
/// holding `Layer`).
macro_rules! layers {
    ($($module:ident $bias:tt [$($mode:ident),*] { $($arguments:tt)* })*) => {
        $(
            mod $module {
                layers!(@modes [$($mode),*] { $($arguments)* });
            }
            $(layer!($module::$mode::Layer $bias);)*
        )*

        /// Calls `visit` with every layer in every mode, and its name.
        fn each<T: Scalar>(mut visit: impl FnMut(&'static str, bool, &dyn Layer<T>)) {
            $($(
                visit(
                    concat!(stringify!($module), " ", stringify!($mode)),
                    $module::$mode::Layer::UNROLLED,
                    &$module::$mode::Layer,
                );
            )*)*
        }
    };
    (@modes [$mode:ident $(, $rest:ident)*] { $($arguments:tt)* }) => {
        pub mod $mode {
            convsym::conv!(
                /// The layer in this unroll mode.
                pub struct Layer; $($arguments)*, unroll = $mode
            );
        }
        layers!(@modes [$($rest),*] { $($arguments)* });
    };
    (@modes [] $arguments:tt) => {};
}

layers! {
    // The DCGAN upsampling step, small: every output has taps from two inputs per axis.
    upsample [] [full, loops] { in = 4, k = 4, stride = 2, pad = 1, transposed }
    // Dilated, the padding cropping one side only, output padding below the stride.
    dilated_1d [] [full, loops] {
        in = (5,), k = 3, stride = 3, dilation = 2, pad = ((2, 0),), output_padding = 1,
        transposed
    }
    // The padding crops every output that the first input scatters to: dx1 = 0.
    cropped_1d [] [full, loops] { in = (4,), k = 2, stride = 3, pad = ((2, 3),), transposed }
    // Output padding not below the stride (allowed below the dilation): the last outputs
    // are reached by no input.
    output_padding_past_stride_1d [bias] [full, loops] {
        in = (4,), k = 3, dilation = 3, output_padding = 2, bias, transposed
    }
    output_padding_past_stride_2d [] [full, loops] {
        in = (3, 4), k = (2, 3), stride = (2, 1), dilation = (3, 2), pad = ((1, 0), (0, 2)),
        output_padding = (2, 1), cin = 2, cout = 2, batch = 2, transposed
    }
    // Groups, a bias and a batch.
    groups_bias_batch [bias] [full, loops] {
        in = (5,), k = 3, stride = 2, pad = 1, output_padding = 1, cin = 4, cout = 6,
        groups = 2, bias, batch = 2, transposed
    }
    uneven_2d [] [full, loops] {
        in = (3, 3), k = 3, stride = (2, 3), dilation = (1, 2), pad = ((1, 2), (0, 1)),
        output_padding = (1, 2), cin = 2, cout = 3, batch = 2, transposed = true
    }
    three_axes [bias] [full, loops] {
        in = (2, 3, 2), k = (2, 3, 2), stride = (2, 1, 3), pad = (0, 1, 1),
        output_padding = (1, 0, 2), cin = 2, cout = 2, bias, transposed
    }
    // Layers whose loops take the wide builds' paths (as the ordinary layer they transpose):
    // channel blocks of 8 and 16 output channels, runs along a row, the input gradient's
    // phases and its dual form.
    channel_blocks [bias] [auto] {
        in = (6, 7), k = 4, stride = 2, pad = 1, cin = 8, cout = 8, bias, transposed
    }
    depthwise [] [auto] {
        in = (5, 20), k = 3, pad = 1, cin = 3, cout = 3, groups = 3, batch = 2, transposed
    }
    upsample_1d [] [auto] { in = (40,), k = 8, stride = 4, pad = 2, cin = 16, cout = 8, transposed }
    dcgan [bias] [loops] {
        in = 7, k = 4, stride = 2, pad = 1, cin = 16, cout = 8, bias, batch = 2, transposed
    }
    rows [] [loops] {
        in = (9, 30), k = (3, 4), dilation = (1, 2), pad = ((2, 1), (3, 0)), cin = 3, cout = 2,
        transposed
    }
    // Output padding not below the stride in loops: the portable loops in every build.
    output_padding_past_stride_loops [] [loops] {
        in = (6, 9), k = 3, dilation = 2, output_padding = 1, cin = 2, cout = 8, transposed
    }
    // The same with one channel per group, where the ordinary layer's input gradient would
    // be its dual's forward pass, whose sizes assume `output_padding < stride`.
    output_padding_past_stride_depthwise [bias] [loops] {
        in = (4, 9), k = 3, dilation = 2, output_padding = 1, cin = 2, cout = 2, groups = 2,
        bias, transposed
    }
}

/// The four tensors `[x, w, b, dz]` of `spec`, from `value` of each tensor's index.
fn data<T>(spec: &Spec, mut value: impl FnMut(Tensor, usize) -> T) -> [Vec<T>; 4] {
    [
        (Tensor::Input, spec.input_len()),
        (Tensor::Weight, spec.weight_len()),
        (Tensor::Bias, spec.bias_len()),
        (Tensor::Delta, spec.output_len()),
    ]
    .map(|(tensor, len)| (0..len).map(|index| value(tensor, index)).collect())
}

/// The equations of every section, derived without the chain-rule engine.
fn construction(spec: &Spec) -> [Vec<Equation>; 4] {
    Section::ALL.map(|section| common::independent(spec, section))
}

#[test]
fn symbolic_kernels_give_the_construction() {
    let mut layers = 0;
    each::<Expr>(|name, _, layer| {
        let spec = layer.spec();
        assert!(spec.transposed(), "{name}");
        let variables = data(&spec, |tensor, index| {
            Expr::variable(Variable::new(tensor, index))
        });
        let expected = construction(&spec).map(|equations| {
            equations
                .into_iter()
                .map(|equation| equation.rhs)
                .collect::<Vec<_>>()
        });
        assert_eq!(layer.passes(&variables), expected, "{name}");
        layers += 1;
    });
    assert_eq!(layers, 23);
}

/// Integers in `-3..=4` from a linear congruential generator.
fn integers(seed: u64) -> impl FnMut(Tensor, usize) -> i8 {
    let mut state = seed;
    move |_, _| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        i8::try_from(state >> 61).unwrap_or(0) - 3
    }
}

/// The runtime's numeric reference: `[z, dx, dw, db]`.
fn reference<T: Scalar>(spec: &Spec, [x, w, b, dz]: &[Vec<T>; 4]) -> [Vec<T>; 4] {
    [
        reference::forward(spec, x, w, b),
        reference::grad_input(spec, w, dz),
        reference::grad_weight(spec, x, dz),
        reference::grad_bias(spec, dz),
    ]
}

/// Every layer on integer data in `T` against the reference in `T`, exactly.
fn integer_data_gives_the_reference<T: Scalar + PartialEq + std::fmt::Debug>(convert: fn(i8) -> T) {
    each::<T>(|name, _, layer| {
        let spec = layer.spec();
        let mut next = integers(0x7a05);
        let data = data(&spec, |tensor, index| convert(next(tensor, index)));
        let expected = reference(&spec, &data);
        assert_eq!(layer.passes(&data), expected, "{name}");
        assert_eq!(layer.written_into(&data), expected, "{name} into memory");
    });
}

#[test]
fn f64_integer_data_gives_the_reference_exactly() {
    integer_data_gives_the_reference(f64::from);
}

#[test]
fn i64_kernels_give_the_reference_exactly() {
    integer_data_gives_the_reference(i64::from);
}

/// Whether `actual` is what the equation gives: NaN for NaN, the same infinity, and on the
/// integer data of these tests the same finite value (the sign of a zero may differ).
#[allow(
    clippy::float_cmp,
    reason = "exact: the data are small integers and infinities"
)]
fn same(actual: f32, expected: f32) -> bool {
    actual == expected || actual.is_nan() && expected.is_nan()
}

/// Every loop kernel in every build (capped with `kernel::set_widest`): on integers the
/// reference and the construction's equations exactly; with an infinity or NaN among the
/// data, each output the value of its equation, the sum of exactly its terms.
#[test]
fn every_build_gives_the_reference_and_the_construction() {
    let builds: Vec<Width> = [Width::Portable, Width::Avx2, Width::Avx512]
        .into_iter()
        .filter(|&width| {
            kernel::set_widest(width);
            kernel::widest() == width
        })
        .collect();
    eprintln!("builds on this processor: {builds:?}");
    each::<f32>(|name, unrolled, layer| {
        if unrolled {
            return;
        }
        let spec = layer.spec();
        let equations = construction(&spec);
        let mut next = integers(0xb17d);
        let integers = data(&spec, |tensor, index| f32::from(next(tensor, index)));
        let specials = [f32::INFINITY, f32::NEG_INFINITY, f32::NAN];
        let mut special = specials.iter().cycle();
        let mut next = integers_with(&integers);
        let with_specials = data(&spec, |tensor, index| {
            let value = next(tensor, index);
            if index % 17 == 5 {
                *special.next().unwrap_or(&f32::NAN)
            } else {
                value
            }
        });
        for &width in &builds {
            kernel::set_widest(width);
            let computed = layer.passes(&integers);
            assert_eq!(computed, reference(&spec, &integers), "{name} {width:?}");
            for data in [&integers, &with_specials] {
                let computed = layer.passes(data);
                for (equations, computed) in equations.iter().zip(&computed) {
                    assert_eq!(equations.len(), computed.len(), "{name} {width:?}");
                    for (equation, &value) in equations.iter().zip(computed) {
                        let expected = evaluate(equation, data);
                        assert!(
                            same(value, expected),
                            "{name} in the {width:?} build: {equation} gives {expected}, the \
                             kernel {value}"
                        );
                    }
                }
            }
        }
    });
    kernel::set_widest(Width::Avx512);
}

/// `data`'s values again, tensor by tensor.
fn integers_with(data: &[Vec<f32>; 4]) -> impl FnMut(Tensor, usize) -> f32 + '_ {
    move |tensor, index| {
        let tensor = match tensor {
            Tensor::Input => 0,
            Tensor::Weight => 1,
            Tensor::Bias => 2,
            _ => 3,
        };
        data[tensor][index]
    }
}

/// The value of an equation's right-hand side on `[x, w, b, dz]`, in `f32`.
fn evaluate(equation: &Equation, data: &[Vec<f32>; 4]) -> f32 {
    let mut value = integers_with(data);
    equation
        .rhs
        .evaluate(|Variable { tensor, index }| value(tensor, index))
}

/// The README's example of `conv!(…, transposed)`, which [`readme_shows_this_example`]
/// keeps identical to the README's text. The numbers are worked by hand from the
/// definition: input `i` scatters through tap `q` to output `2i + q`.
#[test]
fn readme_example() {
    // README begin
    use convsym::conv;

    // PyTorch's `ConvTranspose1d(1, 1, 3, stride=2)`: input i scatters through tap q to
    // output i·stride + q·dilation − pad_lo.
    conv!(pub struct Up; in = (2,), k = 3, stride = 2, transposed);

    assert_eq!(Up::OUTPUT_SIZE, [5]); // (in − 1)·s − pads + d·(k − 1) + output_padding + 1
    assert_eq!(Up::FORWARD[2], "z3 = w1*x2 + w3*x1");
    let (x, w) = ([1, 10], [1, 2, 3]); // any `convsym::Scalar`: integers, floats, `Expr`
    assert_eq!(Up.forward(&x, &w), [1, 2, 13, 20, 30]);
    let (dx, dw) = Up.backward(&x, &w, &[1, 0, 0, 0, 1]);
    assert_eq!((dx, dw), ([1, 3], [1, 0, 10]));

    // Weights are `[cin][cout / groups][k…]`, as PyTorch lays them out.
    conv!(pub struct Decoder; in = 4, k = 4, stride = 2, pad = 1, cin = 2, cout = 3, bias, transposed);
    assert_eq!(Decoder::WEIGHT_SHAPE, [2, 3, 4, 4]);
    assert_eq!(Decoder::OUTPUT_SHAPE, [1, 3, 8, 8]);
    // README end
}

/// The README's example is the body of [`readme_example`], which compiles and runs.
#[test]
fn readme_shows_this_example() {
    let source = include_str!("macro_transposed.rs");
    let body = source
        .split_once("    // README begin\n")
        .and_then(|(_, rest)| rest.split_once("    // README end\n"))
        .map(|(body, _)| body)
        .expect("the example's markers");
    let mut example = String::new();
    for line in body.lines() {
        example.push_str(line.strip_prefix("    ").unwrap_or(line));
        example.push('\n');
    }
    let readme = include_str!("../README.md");
    assert!(
        readme.contains(&format!("```rust\n{example}```\n")),
        "README.md's \"Transposed layers\" differs from `readme_example`:\n{example}"
    );
}
