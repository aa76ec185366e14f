//! Loop kernels on rows long enough for the paths the fixtures' short rows never take: rows
//! cut into blocks, the weight gradient's whole chunks of partial sums and their rest, at
//! stride 1 and past it; and an unrolled layer long enough to be cut into several
//! functions. Checked like `tests/macro_kernels.rs`: on symbolic inputs they reproduce the
//! engine's equations, and on integer data they equal the numeric reference.

mod common;

use common::array;
use convsym::derive::{self, Section};
use convsym::{Expr, Scalar, Spec, Tensor, reference};

/// `forward(x, w, b)` on slices.
type Forward<T> = fn(&[T], &[T], &[T]) -> Vec<T>;

/// A layer's kernels on slices, with the reference's calling convention.
struct Kernels<T> {
    spec: Spec,
    forward: Forward<T>,
    grad_input: fn(&[T], &[T]) -> Vec<T>,
    grad_weight: fn(&[T], &[T]) -> Vec<T>,
}

macro_rules! layers {
    ($($name:ident [$($bias:ident)?] { $($arguments:tt)* })*) => {
        $(
            convsym::conv!(
                /// A layer with long rows.
                struct $name; $($arguments)*
            );
        )*

        fn each<T: Scalar>(mut visit: impl FnMut(&'static str, Kernels<T>)) {
            $(
                visit(stringify!($name), Kernels {
                    spec: $name.spec(),
                    forward: |x, w, _b| {
                        $name.forward(array(x), array(w) $(, array(layers!(@$bias _b)))?).to_vec()
                    },
                    grad_input: |w, dz| $name.grad_input(array(w), array(dz)).to_vec(),
                    grad_weight: |x, dz| $name.grad_weight(array(x), array(dz)).to_vec(),
                });
            )*
        }
    };
    (@bias $b:ident) => { $b };
}

layers! {
    Blocks [] { in = (603,), k = 5, pad = 2, cout = 2, unroll = loops }
    BlocksStrided [] { in = (530,), k = 4, stride = 3, dilation = 2, pad = (3,), unroll = loops }
    Chunks [] {
        in = (12, 21), k = (3, 5), stride = (2, 1), pad = 1, cin = 2, cout = 3, unroll = loops
    }
    ChunksStrided [bias] {
        in = (5, 32), k = 3, stride = 2, pad = 1, cin = 2, cout = 4, groups = 2, batch = 2, bias,
        unroll = loops
    }
    Unphased [] { in = (2100,), k = 3, stride = 2, cout = 2, unroll = loops }
    ThreeAxes [] {
        in = (3, 4, 37), k = (2, 2, 3), stride = (1, 1, 2), pad = (0, 1, 1), unroll = loops
    }
    // Unrolled into more statements than one function holds: each kernel is cut into
    // functions of 1024 statements, through the middle of an equation (the forward pass's
    // 400 sums of 3 terms, the weight gradient's 3 sums of 400).
    Parts [] { in = (400,), k = 3, pad = 1, unroll = full }
    // Six interior blocks between edge blocks on both sides in both passes: the first
    // outputs and the last read padding, the last inputs are read by no output (a
    // remainder), and the input gradient's blocks start at multiples of the stride.
    EdgesAndInterior [] {
        in = (6001,), k = 7, stride = 3, dilation = 2, pad = ((5, 1),), cout = 2, unroll = loops
    }
    // The same with the input row split by phase in the forward pass.
    EdgesAndInteriorPhased [] {
        in = (4000,), k = 7, stride = 3, dilation = 2, pad = ((5, 1),), unroll = loops
    }
    // Too many taps for their bounds to be written out: computed in every block.
    EdgesComputed [] { in = (1500,), k = 260, stride = 2, pad = ((200, 57),), unroll = loops }
}

#[test]
fn symbolic_kernels_reproduce_the_engines_equations() {
    each::<Expr>(|name, kernels| {
        let spec = &kernels.spec;
        let x = Expr::variables(Tensor::Input, spec.input_len());
        let w = Expr::variables(Tensor::Weight, spec.weight_len());
        let b = Expr::variables(Tensor::Bias, spec.bias_len());
        let dz = Expr::variables(Tensor::Delta, spec.output_len());
        for (section, values) in [
            (Section::Forward, (kernels.forward)(&x, &w, &b)),
            (Section::GradInput, (kernels.grad_input)(&w, &dz)),
            (Section::GradWeight, (kernels.grad_weight)(&x, &dz)),
        ] {
            let equations: Vec<_> = derive::equations(spec, section).collect();
            assert_eq!(values.len(), equations.len(), "{name} {section:?}");
            for (value, equation) in values.iter().zip(&equations) {
                assert_eq!(*value, equation.rhs, "{name}: {equation}");
            }
        }
    });
}

#[test]
fn integer_data_gives_the_reference_exactly() {
    let mut state = 0x5eed_u64;
    let mut integers = |len: usize| -> Vec<f64> {
        (0..len)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
                f64::from(u8::try_from(state >> 61).unwrap_or(0)) - 3.0
            })
            .collect()
    };
    each::<f64>(|name, kernels| {
        let spec = &kernels.spec;
        let (x, w, b, dz) = (
            integers(spec.input_len()),
            integers(spec.weight_len()),
            integers(spec.bias_len()),
            integers(spec.output_len()),
        );
        assert_eq!(
            (kernels.forward)(&x, &w, &b),
            reference::forward(spec, &x, &w, &b),
            "{name}"
        );
        assert_eq!(
            (kernels.grad_input)(&w, &dz),
            reference::grad_input(spec, &w, &dz),
            "{name}"
        );
        assert_eq!(
            (kernels.grad_weight)(&x, &dz),
            reference::grad_weight(spec, &x, &dz),
            "{name}"
        );
    });
}
