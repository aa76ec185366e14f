//! The kernels `conv!` generates, for every configuration of the JAX fixtures (which cover
//! every key and every layer the command's snapshots pin, and transposed layers with every
//! key of theirs) and both unroll modes, checked four ways: on symbolic inputs they reproduce
//! the engine's equations term for term; on integer data they equal the runtime's numeric
//! reference and JAX exactly; in `f32` they stay within the rounding bound of the sum; and
//! their gradients pass a central finite-difference check.

mod common;

use common::{array, garbage};
use convsym::derive::{self, Section};
use convsym::{Expr, Scalar, Spec, Tensor, reference};

/// A generated layer seen through slices, so that one test walks every configuration.
trait Kernel<T> {
    fn spec(&self) -> Spec;
    fn unrolled(&self) -> bool;
    fn forward(&self, x: &[T], w: &[T], b: &[T]) -> Vec<T>;
    fn grad_input(&self, w: &[T], dz: &[T]) -> Vec<T>;
    fn grad_weight(&self, x: &[T], dz: &[T]) -> Vec<T>;
    fn grad_bias(&self, dz: &[T]) -> Vec<T>;
    /// `forward_into` and `backward_into` on memory full of garbage, which they must
    /// overwrite: `(z, dx, dw, db)`.
    fn written_into(&self, x: &[T], w: &[T], b: &[T], dz: &[T]) -> [Vec<T>; 4];
}

macro_rules! kernel {
    ($layer:path) => {
        impl<T: Scalar> Kernel<T> for $layer {
            fn spec(&self) -> Spec {
                <$layer>::default().spec()
            }
            fn unrolled(&self) -> bool {
                <$layer>::UNROLLED
            }
            fn forward(&self, x: &[T], w: &[T], _: &[T]) -> Vec<T> {
                self.clone().forward(array(x), array(w)).to_vec()
            }
            fn grad_input(&self, w: &[T], dz: &[T]) -> Vec<T> {
                self.clone().grad_input(array(w), array(dz)).to_vec()
            }
            fn grad_weight(&self, x: &[T], dz: &[T]) -> Vec<T> {
                self.clone().grad_weight(array(x), array(dz)).to_vec()
            }
            fn grad_bias(&self, _: &[T]) -> Vec<T> {
                Vec::new()
            }
            fn written_into(&self, x: &[T], w: &[T], _: &[T], dz: &[T]) -> [Vec<T>; 4] {
                let (mut z, mut dx, mut dw) = (garbage(), garbage(), garbage());
                let layer = self.clone();
                layer.forward_into(array(x), array(w), &mut z);
                layer.backward_into(array(x), array(w), array(dz), &mut dx, &mut dw);
                [z.to_vec(), dx.to_vec(), dw.to_vec(), Vec::new()]
            }
        }
    };
    ($layer:path, bias) => {
        impl<T: Scalar> Kernel<T> for $layer {
            fn spec(&self) -> Spec {
                <$layer>::default().spec()
            }
            fn unrolled(&self) -> bool {
                <$layer>::UNROLLED
            }
            fn forward(&self, x: &[T], w: &[T], b: &[T]) -> Vec<T> {
                self.clone().forward(array(x), array(w), array(b)).to_vec()
            }
            fn grad_input(&self, w: &[T], dz: &[T]) -> Vec<T> {
                self.clone().grad_input(array(w), array(dz)).to_vec()
            }
            fn grad_weight(&self, x: &[T], dz: &[T]) -> Vec<T> {
                self.clone().grad_weight(array(x), array(dz)).to_vec()
            }
            fn grad_bias(&self, dz: &[T]) -> Vec<T> {
                self.clone().grad_bias(array(dz)).to_vec()
            }
            fn written_into(&self, x: &[T], w: &[T], b: &[T], dz: &[T]) -> [Vec<T>; 4] {
                let (mut z, mut dx, mut dw, mut db) = (garbage(), garbage(), garbage(), garbage());
                let layer = self.clone();
                layer.forward_into(array(x), array(w), array(b), &mut z);
                layer.backward_into(array(x), array(w), array(dz), &mut dx, &mut dw, &mut db);
                [z.to_vec(), dx.to_vec(), dw.to_vec(), db.to_vec()]
            }
        }
    };
}

/// Each configuration twice, `unroll = full` and `unroll = loops`, with the fixture that
/// holds JAX's numbers for it.
macro_rules! layers {
    ($($module:ident $fixture:literal [$($bias:ident)?] { $($arguments:tt)* })*) => {
        $(
            mod $module {
                convsym::conv!(
                    /// Unrolled.
                    pub struct Full; $($arguments)*, unroll = full
                );
                convsym::conv!(
                    /// Loops.
                    pub struct Loops; $($arguments)*, unroll = loops
                );
            }
            kernel!($module::Full $(, $bias)?);
            kernel!($module::Loops $(, $bias)?);
        )*

        /// Calls `visit` with every layer and the name of its fixture.
        fn each<T: Scalar>(mut visit: impl FnMut(&'static str, &dyn Kernel<T>)) {
            $(
                visit($fixture, &$module::Full);
                visit($fixture, &$module::Loops);
            )*
        }
    };
}

layers! {
    seed "seed_in5_k3_s2" [] { in = 5, k = 3, stride = 2 }
    r1 "in6_k3_s2_r1" [] { in = 6, k = 3, stride = 2 }
    r2 "in8_k3_s3_r2" [] { in = 8, k = 3, stride = 3 }
    r0r1 "in5x6_k3_s2_r0r1" [] { in = (5, 6), k = 3, stride = 2 }
    dilated "in7_k3_d2" [] { in = 7, k = 3, dilation = 2 }
    stride_dilation "in9x8_k3x2_s2x3_d2x1" [] {
        in = (9, 8), k = (3, 2), stride = (2, 3), dilation = (2, 1)
    }
    stride_dilation_r1r2 "in10x10_k3x2_s2x3_d2x1_r1r2" [] {
        in = (10, 10), k = (3, 2), stride = (2, 3), dilation = (2, 1)
    }
    groups "in6_k3_cin4_cout6_g2" [] { in = 6, k = 3, cin = 4, cout = 6, groups = 2 }
    pad_pairs "in5x6_k3x2_pad_asym" [] { in = (5, 6), k = (3, 2), pad = ((1, 0), (2, 1)) }
    pad_tuple "in7x6_k3_s2_pad2x1" [] { in = (7, 6), k = 3, stride = 2, pad = (2, 1) }
    pad_1d "in9_1d_k3_pad2_1" [] { in = (9,), k = 3, pad = ((2, 1),) }
    pad_int "in6_k2_s3_pad2" [] { in = 6, k = 2, stride = 3, pad = 2 }
    valid "in6_k3_valid" [] { in = 6, k = 3, pad = valid }
    same "in7_k3_s2_same" [] { in = 7, k = 3, stride = 2, pad = same }
    same_odd "in7_k4_s2_same_odd" [] { in = 7, k = 4, stride = 2, pad = same }
    same_lower "in6_k4_s2_same_lower" [] { in = 6, k = 4, stride = 2, pad = same_lower }
    same_lower_odd "in7_k4_s2_same_lower_odd" [] { in = 7, k = 4, stride = 2, pad = same_lower }
    same_lower_2d "in7x9_k4x3_s2_d1x2_same_lower" [] {
        in = (7, 9), k = (4, 3), stride = 2, dilation = (1, 2), pad = same_lower
    }
    same_clamped "in10_1d_k1_s4_same_clamped" [] { in = (10,), k = 1, stride = 4, pad = same }
    channels_1d "in11_1d_k3_s2_cin2_cout3" [] { in = (11,), k = 3, stride = 2, cin = 2, cout = 3 }
    three_axes "in4x5x3_3d_k2x3x2_s1x2x1_pad1" [] {
        in = (4, 5, 3), k = (2, 3, 2), stride = (1, 2, 1), pad = 1
    }
    bias_batch "in5_k3_s2_bias_batch2_cin2_cout2" [bias] {
        in = 5, k = 3, stride = 2, bias, batch = 2, cin = 2, cout = 2
    }
    // The rest of the command's snapshot layers (tests/render.rs).
    snapshot_1d "in11_1d_k3_s2" [] { in = (11,), k = 3, stride = 2 }
    snapshot_3d "in3x4x3_3d_k2_s1x2x1" [] { in = (3, 4, 3), k = 2, stride = (1, 2, 1) }
    snapshot_groups "in6_1d_k3_cin4_cout4_g2" [] { in = (6,), k = 3, cin = 4, cout = 4, groups = 2 }
    snapshot_pad "in5_k3_pad_asym" [] { in = 5, k = 3, pad = ((1, 0), (2, 1)) }
    snapshot_bias "in5_k3_s2_cout2_bias_batch2" [bias] {
        in = 5, k = 3, stride = 2, cout = 2, bias, batch = 2
    }
    snapshot_same "in7_k4_s2_same" [] { in = 7, k = 4, stride = 2, pad = same }
    depthwise "in7_1d_k2_s2_d3_pad1_depthwise3_bias_batch3" [bias] {
        in = (7,), k = 2, stride = 2, dilation = 3, pad = (1,), cin = 3, cout = 3, groups = 3,
        bias = true, batch = 3
    }
    // The transposed layers, with `lax.conv_transpose`'s numbers.
    t_output_padding "transposed/in3_1d_k3_s2_pad1_op1_bias" [bias] {
        in = (3,), k = 3, stride = 2, pad = 1, output_padding = 1, bias, transposed
    }
    t_padding_past_stride "transposed/in3_1d_k2_d3_op2" [] {
        in = (3,), k = 2, dilation = 3, output_padding = 2, transposed = true
    }
    t_three_axes "transposed/in3x4x2_3d_k2x3x2_s2x1x3_g2_bias_batch2" [bias] {
        in = (3, 4, 2), k = (2, 3, 2), stride = (2, 1, 3), dilation = (1, 2, 1),
        pad = ((1, 0), 2, (0, 1)), cin = 4, cout = 2, groups = 2, bias, batch = 2, transposed
    }
    t_depthwise_cropped "transposed/in4_1d_k1_s2_pad2_3_depthwise3_batch3" [] {
        in = (4,), k = 1, stride = 2, pad = ((2, 3),), cin = 3, cout = 3, groups = 3, batch = 3,
        transposed
    }
    t_upsampling "transposed/in4_k4_s2_pad1_cin2_cout3" [] {
        in = 4, k = 4, stride = 2, pad = 1, cin = 2, cout = 3, transposed
    }
    t_asymmetric "transposed/in5x4_k3x2_s2x3_d2x1_pad_asym_op1x2_batch2" [] {
        in = (5, 4), k = (3, 2), stride = (2, 3), dilation = (2, 1), pad = ((1, 2), (0, 1)),
        output_padding = (1, 2), batch = 2, transposed
    }
    t_groups_1d "transposed/in9_1d_k8_s4_pad2_cin2_cout4_g2_bias" [bias] {
        in = (9,), k = 8, stride = 4, pad = 2, cin = 2, cout = 4, groups = 2, bias, transposed
    }
}

#[test]
fn symbolic_kernels_reproduce_the_engines_equations() {
    let mut checked = 0;
    each::<Expr>(|fixture, layer| {
        let spec = layer.spec();
        let x = Expr::variables(Tensor::Input, spec.input_len());
        let w = Expr::variables(Tensor::Weight, spec.weight_len());
        let b = Expr::variables(Tensor::Bias, spec.bias_len());
        let dz = Expr::variables(Tensor::Delta, spec.output_len());
        let computed = [
            (Section::Forward, layer.forward(&x, &w, &b)),
            (Section::GradInput, layer.grad_input(&w, &dz)),
            (Section::GradWeight, layer.grad_weight(&x, &dz)),
            (Section::GradBias, layer.grad_bias(&dz)),
        ];
        for (section, values) in computed {
            let equations: Vec<_> = derive::equations(&spec, section).collect();
            assert_eq!(values.len(), equations.len(), "{fixture} {section:?}");
            for (value, equation) in values.iter().zip(&equations) {
                assert_eq!(
                    *value,
                    equation.rhs,
                    "{fixture} (unrolled: {}): the kernel computes {} = {value}, the engine {equation}",
                    layer.unrolled(),
                    equation.lhs.display(convsym::Notation::Text),
                );
            }
        }
        checked += 1;
    });
    // Every fixture configuration, ordinary and transposed, full and as loops: a fixture
    // missing from `layers!` fails.
    let fixtures: usize = ["jax", "transposed"]
        .into_iter()
        .map(|folder| {
            let path = format!("{}/tests/fixtures/{folder}", env!("CARGO_MANIFEST_DIR"));
            std::fs::read_dir(path)
                .expect("the fixture folder")
                .filter(|entry| {
                    entry
                        .as_ref()
                        .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "json"))
                })
                .count()
        })
        .sum();
    assert_eq!(checked, 2 * fixtures);
}

/// Small deterministic numbers: integers in `-3..=3` or floats in `[-1, 1)`.
struct Numbers(u64);

impl Numbers {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11
    }

    fn integers(&mut self, len: usize) -> Vec<f64> {
        (0..len)
            .map(|_| f64::from(u8::try_from(self.next() % 7).unwrap_or(0)) - 3.0)
            .collect()
    }

    fn uniform(&mut self, len: usize) -> Vec<f64> {
        // 53 random bits scaled into [-1, 1).
        (0..len)
            .map(|_| f64::from_bits(0x3ff0_0000_0000_0000 | self.next() >> 1) * 2.0 - 3.0)
            .collect()
    }
}

#[test]
fn integer_data_gives_the_reference_and_jax_exactly() {
    let mut numbers = Numbers(0x5eed);
    each::<f64>(|fixture, layer| {
        let spec = layer.spec();
        let (x, w, b, dz) = (
            numbers.integers(spec.input_len()),
            numbers.integers(spec.weight_len()),
            numbers.integers(spec.bias_len()),
            numbers.integers(spec.output_len()),
        );
        let expected = [
            reference::forward(&spec, &x, &w, &b),
            reference::grad_input(&spec, &w, &dz),
            reference::grad_weight(&spec, &x, &dz),
            reference::grad_bias(&spec, &dz),
        ];
        let computed = [
            layer.forward(&x, &w, &b),
            layer.grad_input(&w, &dz),
            layer.grad_weight(&x, &dz),
            layer.grad_bias(&dz),
        ];
        assert_eq!(computed, expected, "{fixture}");
        assert_eq!(layer.written_into(&x, &w, &b, &dz), expected, "{fixture}");

        let jax = jax(fixture);
        assert_eq!(
            spec,
            Spec::parse(&jax.spec).expect("fixture specs are valid"),
            "{fixture}"
        );
        let b = jax.b.clone().unwrap_or_default();
        let computed = [
            layer.forward(&jax.x, &jax.w, &b),
            layer.grad_input(&jax.w, &jax.dz),
            layer.grad_weight(&jax.x, &jax.dz),
            layer.grad_bias(&jax.dz),
        ];
        let expected = [jax.z, jax.dx, jax.dw, jax.db.unwrap_or_default()];
        assert_eq!(computed, expected, "{fixture} against JAX");
    });
}

/// Integer kernels wrap on overflow, in every profile: each output is its equation's
/// value modulo 2³² (or 2⁶⁴), what a release build gives, never a panic in a debug one.
fn integers_wrap<T>(wrap: fn(i128) -> T)
where
    T: Scalar + Copy + PartialEq + std::fmt::Debug + Into<i128>,
{
    let mut numbers = Numbers(0x000f_100d);
    // Near the type's ends, so that products and sums overflow; `wrap` truncates.
    let mut values = |len: usize| -> Vec<T> {
        (0..len)
            .map(|_| {
                let magnitude = i128::from(u8::try_from(numbers.next() % 251).unwrap_or(0));
                wrap(magnitude * 0x0123_4567_89ab_cdef_0123_4567 - 0x7777_7777)
            })
            .collect()
    };
    each::<T>(|fixture, layer| {
        let spec = layer.spec();
        let (x, w, b, dz) = (
            values(spec.input_len()),
            values(spec.weight_len()),
            values(spec.bias_len()),
            values(spec.output_len()),
        );
        let computed = [
            layer.forward(&x, &w, &b),
            layer.grad_input(&w, &dz),
            layer.grad_weight(&x, &dz),
            layer.grad_bias(&dz),
        ];
        for (section, computed) in Section::ALL.into_iter().zip(computed) {
            // In `i128` with wrapping: modulo 2¹²⁸, which 2³² and 2⁶⁴ divide.
            let expected: Vec<T> = derive::equations(&spec, section)
                .map(|equation| {
                    let sum = equation.rhs.terms().iter().fold(0_i128, |sum, term| {
                        let product = term.factors().iter().fold(
                            i128::from(term.coefficient()),
                            |product, factor| {
                                let tensor = match factor.tensor {
                                    Tensor::Input => &x,
                                    Tensor::Weight => &w,
                                    Tensor::Bias => &b,
                                    _ => &dz,
                                };
                                product.wrapping_mul(tensor[factor.index].into())
                            },
                        );
                        sum.wrapping_add(product)
                    });
                    wrap(sum)
                })
                .collect();
            assert_eq!(
                computed,
                expected,
                "{fixture} (unrolled: {}) {section:?}",
                layer.unrolled()
            );
        }
    });
}

#[test]
fn i32_kernels_wrap_on_overflow() {
    integers_wrap::<i32>(|value| value as i32);
}

#[test]
fn i64_kernels_wrap_on_overflow() {
    integers_wrap::<i64>(|value| value as i64);
}

/// A fixture's tensors, as `tests/fixtures/generate.py` wrote them.
struct Jax {
    spec: String,
    x: Vec<f64>,
    w: Vec<f64>,
    b: Option<Vec<f64>>,
    dz: Vec<f64>,
    z: Vec<f64>,
    dx: Vec<f64>,
    dw: Vec<f64>,
    db: Option<Vec<f64>>,
}

/// The fixture `fixture`: a name in `tests/fixtures/jax/`, or a path below `tests/fixtures/`
/// (`transposed/…`).
fn jax(fixture: &str) -> Jax {
    let folder = if fixture.contains('/') { "" } else { "jax/" };
    let path = format!(
        "{}/tests/fixtures/{folder}{fixture}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).expect("the fixture exists");
    let json: serde_json::Value = serde_json::from_str(&text).expect("the fixture is JSON");
    let numbers = |key: &str| -> Option<Vec<f64>> {
        json[key].as_array().map(|values| {
            values
                .iter()
                .filter_map(serde_json::Value::as_f64)
                .collect()
        })
    };
    let tensor = |key: &str| numbers(key).expect("the fixture has the tensor");
    Jax {
        spec: json["spec"].as_str().unwrap_or_default().to_owned(),
        x: tensor("x"),
        w: tensor("w"),
        b: numbers("b"),
        dz: tensor("dz"),
        z: tensor("z"),
        dx: tensor("dx"),
        dw: tensor("dw"),
        db: numbers("db"),
    }
}

/// The reference run on the inputs after mapping each through a function.
type Reference<'a> = Box<dyn Fn(&dyn Fn(&[f64]) -> Vec<f64>) -> Vec<f64> + 'a>;

/// `f32` kernels against the `f64` reference on the same (f32-representable) data.
///
/// An element that sums `m` products in `f32`, in any order, is within
/// `γ(m + 1) · Σ|aᵢ·bᵢ|` of the exact value, `γ(n) = n·u / (1 − n·u)`, `u = 2⁻²⁴`
/// (Higham, *Accuracy and Stability of Numerical Algorithms*, §3.1: one rounding per
/// product and per addition). The reference run in `f64` on the same inputs is exact to
/// far below that, and `m` and `Σ|aᵢ·bᵢ|` per element are themselves the reference run on
/// all-ones and on absolute values. Loop kernels sum in another order than the reference,
/// so equality would be wrong to ask; this bound is the tightest that is always right.
#[test]
fn f32_kernels_stay_within_the_rounding_bound() {
    let mut numbers = Numbers(0xf32);
    let unit = f64::from(f32::EPSILON) / 2.0;
    each::<f32>(|fixture, layer| {
        let spec = layer.spec();
        let round = |values: Vec<f64>| -> Vec<f64> {
            values.into_iter().map(|v| f64::from(v as f32)).collect()
        };
        let (x, w, b, dz) = (
            round(numbers.uniform(spec.input_len())),
            round(numbers.uniform(spec.weight_len())),
            round(numbers.uniform(spec.bias_len())),
            round(numbers.uniform(spec.output_len())),
        );
        let single = |values: &[f64]| -> Vec<f32> { values.iter().map(|&v| v as f32).collect() };
        let absolute = |values: &[f64]| -> Vec<f64> { values.iter().map(|v| v.abs()).collect() };
        let ones = |values: &[f64]| -> Vec<f64> { vec![1.0; values.len()] };
        let sections: [(&str, Vec<f32>, Reference); 4] = [
            (
                "forward",
                layer.forward(&single(&x), &single(&w), &single(&b)),
                Box::new(|f| reference::forward(&spec, &f(&x), &f(&w), &f(&b))),
            ),
            (
                "grad_input",
                layer.grad_input(&single(&w), &single(&dz)),
                Box::new(|f| reference::grad_input(&spec, &f(&w), &f(&dz))),
            ),
            (
                "grad_weight",
                layer.grad_weight(&single(&x), &single(&dz)),
                Box::new(|f| reference::grad_weight(&spec, &f(&x), &f(&dz))),
            ),
            (
                "grad_bias",
                layer.grad_bias(&single(&dz)),
                Box::new(|f| reference::grad_bias(&spec, &f(&dz))),
            ),
        ];
        for (section, computed, reference) in sections {
            let exact = reference(&|values| values.to_vec());
            let magnitude = reference(&absolute);
            let terms = reference(&ones);
            assert_eq!(computed.len(), exact.len(), "{fixture} {section}");
            for (index, &value) in computed.iter().enumerate() {
                let n = terms[index] + 1.0;
                let bound = n * unit / (1.0 - n * unit) * magnitude[index];
                let error = (f64::from(value) - exact[index]).abs();
                assert!(
                    error <= bound,
                    "{fixture} {section}[{index}]: {value} vs {}, error {error:e} > bound {bound:e}",
                    exact[index]
                );
            }
        }
    });
}

/// `torch.autograd.gradcheck` in `f64` with its defaults: central differences with `eps = 1e-6`,
/// `|analytic − numeric| ≤ atol + rtol·|numeric|` with `atol = 1e-5`, `rtol = 1e-3`, for
/// the loss `L = ⟨z, dz⟩` whose gradient the kernels compute.
#[test]
fn gradients_pass_a_finite_difference_check() {
    const EPS: f64 = 1e-6;
    const ATOL: f64 = 1e-5;
    const RTOL: f64 = 1e-3;
    let mut numbers = Numbers(0x9e37_79b9);
    each::<f64>(|fixture, layer| {
        let spec = layer.spec();
        let (x, w, b, dz) = (
            numbers.uniform(spec.input_len()),
            numbers.uniform(spec.weight_len()),
            numbers.uniform(spec.bias_len()),
            numbers.uniform(spec.output_len()),
        );
        let loss = |x: &[f64], w: &[f64], b: &[f64]| -> f64 {
            layer
                .forward(x, w, b)
                .iter()
                .zip(&dz)
                .map(|(z, d)| z * d)
                .sum()
        };
        let analytic = [
            layer.grad_input(&w, &dz),
            layer.grad_weight(&x, &dz),
            layer.grad_bias(&dz),
        ];
        for (tensor, gradient) in analytic.iter().enumerate() {
            for (index, &analytic) in gradient.iter().enumerate() {
                let nudged = |delta: f64| {
                    let mut inputs = [x.clone(), w.clone(), b.clone()];
                    inputs[tensor][index] += delta;
                    loss(&inputs[0], &inputs[1], &inputs[2])
                };
                let numeric = (nudged(EPS) - nudged(-EPS)) / (2.0 * EPS);
                assert!(
                    (analytic - numeric).abs() <= ATOL + RTOL * numeric.abs(),
                    "{fixture}: gradient {tensor}[{index}] is {analytic}, finite differences give {numeric}"
                );
            }
        }
    });
}
