//! The reference of [`conv!`](crate::conv), as a page of the API docs: what to write, what it generates, what it
//! costs, and what it refuses. Every example on this page is compiled and run by
//! `cargo test --doc`; the ones marked `compile_fail` must fail to compile.
//!
//! - [Two forms](#two-forms)
//! - [Keys](#keys)
//! - [The generated type](#the-generated-type)
//! - [Scalar types](#scalar-types)
//! - [Unrolling and build time](#unrolling-and-build-time)
//! - [Memory](#memory)
//! - [Without `std`](#without-std)
//! - [Errors](#errors)
//!
//! # Two forms
//!
//! The **item form** names the type: `conv!([attributes] [visibility] struct Name; keys)`.
//! Attributes, doc comments included, go on the type, which can then stand in signatures,
//! fields and statics:
//!
//! ```
//! use convsym::conv;
//!
//! conv!(
//!     /// The seed's layer: a 5×5 input, a 3×3 kernel, stride 2.
//!     pub struct Seed; in = 5, k = 3, stride = 2
//! );
//!
//! struct Model {
//!     layer: Seed,
//!     weight: [f32; Seed::WEIGHT_LEN],
//! }
//!
//! let model = Model { layer: Seed, weight: [1.0; 9] };
//! let z = model.layer.forward(&[1.0; Seed::INPUT_LEN], &model.weight);
//! assert_eq!(z, [9.0; 4]);
//! ```
//!
//! The **expression form** is `conv!(keys)` alone, a value of an unnamed type, for a layer
//! used in one place:
//!
//! ```
//! let layer = convsym::conv!(in = (8,), k = 3, pad = same);
//! let z = layer.forward(&[1.0f32; 8], &[1.0; 3]);
//! assert_eq!(z, [2.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 2.0]);
//! ```
//!
//! Both types are zero-sized and derive `Clone`, `Copy`, `Debug`, `Default`, `PartialEq`,
//! `Eq` and `Hash`.
//!
//! # Keys
//!
//! Keys are written `key = value`, separated by commas, in any order; each may appear once.
//! They are the keys of the `convsym` command and of [`Spec::parse`](crate::Spec::parse),
//! validated by the same code, plus `unroll`, which only the macro takes.
//!
//! | key | meaning | values | default |
//! |---|---|---|---|
//! | `in` | spatial input size | an integer (a square 2-D input), or a tuple of 1 to 3: `(11,)`, `(7, 6)`, `(4, 5, 3)` | required |
//! | `k` | kernel size | an integer (every axis) or a tuple, one entry per axis | required |
//! | `stride` | stride | an integer or a tuple | `1` |
//! | `pad` | zero padding | an integer, a tuple of integers (per axis), a tuple of pairs `((1, 0), (2, 1))` (per axis, `(before, after)`), `same`, `same_lower`, `valid` | `0` |
//! | `dilation` | kernel dilation | an integer or a tuple | `1` |
//! | `cin`, `cout` | input and output channels | a positive integer | `1` |
//! | `groups` | grouped convolution | a positive integer dividing `cin` and `cout` | `1` |
//! | `bias` | a bias per output channel | `bias`, `bias = true`, `bias = false` | `false` |
//! | `batch` | batch size | a positive integer | `1` |
//! | `transposed` | a transposed convolution (PyTorch's `ConvTranspose`): weights `[cin][cout / groups][k…]`, output `(in − 1)·stride − pads + dilation·(k − 1) + output_padding + 1` | `transposed`, `transposed = true`, `transposed = false` | `false` |
//! | `output_padding` | positions a transposed layer adds at the end of its output | an integer or a tuple, each smaller than the stride or the dilation on its axis | `0` |
//! | `unroll` | how the kernels are emitted (macro only; see [below](#unrolling-and-build-time)) | `full`, `loops`, `auto` | `auto` |
//!
//! `same` follows TensorFlow's rule, exact here because the input size is known: the
//! output is `⌈in / stride⌉` and the odd extra padding goes after; `same_lower` puts it
//! before. `valid` is no padding. The sizes per axis are
//! `k_eff = dilation·(k − 1) + 1` and `out = ⌊(in + pad_before + pad_after − k_eff) / stride⌋ + 1`.
//!
//! The defaults, as the generated constants show them:
//!
//! ```
//! use convsym::conv;
//!
//! conv!(struct Plain; in = 5, k = 3);
//! assert_eq!(Plain::INPUT_SHAPE, [1, 1, 5, 5]); // batch 1, cin 1
//! assert_eq!(Plain::WEIGHT_SHAPE, [1, 1, 3, 3]); // cout 1, groups 1
//! assert_eq!(Plain::PADDING, [(0, 0), (0, 0)]); // pad 0
//! assert_eq!(Plain::OUTPUT_SIZE, [3, 3]); // stride 1, dilation 1
//! assert_eq!(Plain::BIAS_LEN, 0); // no bias
//! assert!(Plain::UNROLLED); // auto: small enough to unroll
//!
//! conv!(struct Same; in = (7, 6), k = (4, 3), stride = 2, pad = same, cin = 4, cout = 6, groups = 2, bias, batch = 3);
//! assert_eq!(Same::PADDING, [(1, 2), (0, 1)]); // 3 = (4 − 1)·2 + 4 − 7 rows, 1 column
//! assert_eq!(Same::OUTPUT_SIZE, [4, 3]);
//! assert_eq!(Same::WEIGHT_SHAPE, [6, 2, 4, 3]);
//! assert_eq!((Same::INPUT_LEN, Same::OUTPUT_LEN, Same::BIAS_LEN), (3 * 4 * 42, 3 * 6 * 12, 6));
//! ```
//!
//! # The generated type
//!
//! Arrays are flat and fixed-size, row-major in the layouts `x[batch][cin][in…]`,
//! `w[cout][cin / groups][k…]`, `z[batch][cout][out…]`, so an array of the wrong size is a
//! compile error. `dz` is `∂L/∂z`, the gradient of the loss with respect to the output.
//!
//! | item | what |
//! |---|---|
//! | `INPUT_SHAPE`, `WEIGHT_SHAPE`, `OUTPUT_SHAPE` | the shapes, `[usize; 2 + axes]` |
//! | `INPUT_LEN`, `WEIGHT_LEN`, `OUTPUT_LEN`, `BIAS_LEN` | the number of elements (`BIAS_LEN` is 0 without `bias`) |
//! | `PADDING`, `OUTPUT_SIZE` | the resolved `(before, after)` padding and the output size, per axis |
//! | `SPEC`, `spec()` | the keys as written (`&str`), and the runtime's [`Spec`](crate::Spec) |
//! | `MULTIPLY_ADDS` | the multiply-adds of each kernel, exact (a `u128`) |
//! | `UNROLLED` | whether the kernels are straight-line code (`true`) or loops |
//! | `SCRATCH_BYTES` | the most scratch memory one call of a loop kernel's vector build takes (see [Memory](#memory)) |
//! | `FORWARD`, `GRAD_INPUT`, `GRAD_WEIGHT`, `GRAD_BIAS` | the equations as text, `["z1 = w1*x1 + …", …]`, when the layer is unrolled, or when neither its multiply-adds nor any of its arrays pass 4096; otherwise absent (see [below](#errors)), and [`derive::equations`](crate::derive::equations) streams them |
//! | `forward(&x, &w[, &b]) -> z` | the forward pass (`&b` only with `bias`) |
//! | `grad_input(&w, &dz) -> dx` | the input gradient |
//! | `grad_weight(&x, &dz) -> dw` | the weight gradient |
//! | `grad_bias(&dz) -> db` | the bias gradient (only with `bias`) |
//! | `backward(&x, &w, &dz) -> (dx, dw[, db])` | every gradient |
//! | `forward_into`, `grad_input_into`, `grad_weight_into`, `grad_bias_into`, `backward_into` | the same, writing into `&mut` arrays the caller owns, for outputs too large for the stack or buffers reused across calls |
//! | `forward_par_into`, `grad_input_par_into`, `grad_weight_par_into`, `backward_par_into` | the `_into` forms cut into tasks on rayon's current pool (feature `parallel`, on by default; without it, in order on the calling thread), every result bit for bit the one-thread form's; a layer too small to gain or unrolled runs the one-thread form; a transposed layer is cut as the ordinary layer it transposes, except where `output_padding ≥ stride` |
//!
//! ```
//! use convsym::conv;
//!
//! conv!(struct Layer; in = 4, k = 3, cout = 2, bias);
//!
//! assert_eq!(Layer::OUTPUT_SHAPE, [1, 2, 2, 2]);
//! assert_eq!(Layer::MULTIPLY_ADDS, 72); // 2 channels × 4 outputs × 9 taps
//! assert_eq!(Layer::FORWARD[0], "z1 = w1*x1 + w2*x2 + w3*x3 + w4*x5 + w5*x6 + w6*x7 + w7*x9 + w8*x10 + w9*x11 + b1");
//! assert_eq!(Layer::GRAD_BIAS[1], "db2 = d5 + d6 + d7 + d8");
//! assert_eq!(Layer.spec().to_string(), "in=(4,4) k=(3,3) stride=(1,1) pad=((0,0),(0,0)) dilation=(1,1) cin=1 cout=2 groups=1 batch=1 bias");
//!
//! let x: [f64; Layer::INPUT_LEN] = core::array::from_fn(|i| i as f64);
//! let w = [0.5; Layer::WEIGHT_LEN];
//! let b = [1.0, -1.0];
//! let z = Layer.forward(&x, &w, &b);
//! // z1 = 0.5·(0 + 1 + 2 + 4 + 5 + 6 + 8 + 9 + 10) + 1
//! assert_eq!(z[0], 23.5);
//!
//! let dz = [1.0; Layer::OUTPUT_LEN];
//! let (dx, dw, db) = Layer.backward(&x, &w, &dz);
//! assert_eq!(db, [4.0, 4.0]);
//!
//! // The `_into` forms write every element of their outputs: no need to clear them.
//! let (mut dx_into, mut dw_into, mut db_into) = ([7.0; 16], [7.0; 18], [7.0; 2]);
//! Layer.backward_into(&x, &w, &dz, &mut dx_into, &mut dw_into, &mut db_into);
//! assert_eq!((dx_into, dw_into, db_into), (dx, dw, db));
//! ```
//!
//! A **transposed** layer (`transposed`, PyTorch's `ConvTranspose`) has the same items;
//! its weights are `w[cin][cout / groups][k…]` and each input scatters through the kernel,
//! `z[i·stride + q·dilation − pad_before] += x[i]·w[q]`:
//!
//! ```
//! use convsym::conv;
//!
//! conv!(struct Up; in = (2,), k = 3, stride = 2, transposed);
//!
//! assert_eq!(Up::OUTPUT_SIZE, [5]); // (2 − 1)·2 + 3
//! assert_eq!(Up::FORWARD[2], "z3 = w1*x2 + w3*x1");
//! let z = Up.forward(&[1.0, 2.0], &[1.0, 10.0, 100.0]);
//! assert_eq!(z, [1.0, 10.0, 102.0, 20.0, 200.0]);
//! ```
//!
//! # Scalar types
//!
//! Every kernel is generic over [`Scalar`](crate::Scalar), implemented for `f32`, `f64`,
//! `i32`, `i64` and the symbolic [`Expr`](crate::Expr). Each output is the sum, in the
//! scalar's arithmetic, of exactly the terms of its equation; padding contributes no term.
//! Floating-point builds may add the terms in different orders (so the last bits of an
//! `f32` sum may differ between the portable and the vector builds); integers wrap on
//! overflow in debug and release builds alike. Run on `Expr`, a kernel gives back its
//! layer's equations:
//!
//! ```
//! use convsym::{Expr, Tensor, Variable, conv};
//!
//! conv!(struct Seed; in = 5, k = 3, stride = 2);
//!
//! let x: [Expr; 25] = core::array::from_fn(|i| Expr::variable(Variable::new(Tensor::Input, i)));
//! let w: [Expr; 9] = core::array::from_fn(|i| Expr::variable(Variable::new(Tensor::Weight, i)));
//! let z = Seed.forward(&x, &w);
//! assert_eq!(z[1].to_string(), "w1*x3 + w2*x4 + w3*x5 + w4*x8 + w5*x9 + w6*x10 + w7*x13 + w8*x14 + w9*x15");
//!
//! // Integers wrap, as integer tensors do in NumPy and PyTorch.
//! assert_eq!(convsym::conv!(in = (1,), k = 1).forward(&[i32::MAX], &[2]), [-2]);
//! ```
//!
//! A type of your own can implement `Scalar` too (see its documentation); its kernels run
//! the portable build.
//!
//! # Unrolling and build time
//!
//! `unroll` trades build time for speed on small layers:
//!
//! - `full`: straight-line code, one statement per multiply-add, cut into functions of 1024
//!   statements. Fastest for layers below a few hundred multiply-adds, but its build time
//!   grows with the layer (about a millisecond of processor time per multiply-add), so it
//!   is refused above a *size* of 16384, where the size is the multiply-adds of a kernel
//!   plus the elements of the input, the weight and the output.
//! - `loops`: loops with constant bounds, compiled for the baseline target and with AVX2
//!   and AVX-512 for `f32`, the widest the processor has chosen at run time (with `std`;
//!   without it, at compile time from the target features). About a second of build time
//!   at any size, and as fast as or faster than `full` from about a thousand
//!   multiply-adds on.
//! - `auto` (the default): `full` up to a size of 768, `loops` above.
//!
//! ```
//! use convsym::conv;
//!
//! conv!(struct Small; in = 8, k = 3);
//! conv!(struct Large; in = 64, k = 3, cin = 8, cout = 8);
//! conv!(struct Looped; in = 8, k = 3, unroll = loops);
//! assert!(Small::UNROLLED && !Large::UNROLLED && !Looped::UNROLLED);
//!
//! // Both give the same numbers; on integers, exactly.
//! let (x, w) = ([3i64; 64], [2i64; 9]);
//! assert_eq!(Small.forward(&x, &w), Looped.forward(&x, &w));
//! ```
//!
//! [`kernel::set_widest`](crate::kernel::set_widest) caps the vector build a loop kernel
//! may use, for comparing builds. The README's "Unrolling, and the build-time curve"
//! has the measurements behind these numbers.
//!
//! # Memory
//!
//! The forms without `_into` return their arrays by value, so an output lives on the
//! caller's stack; for large layers use the `_into` forms with memory of your own (a
//! `Box<[T; N]>` or a static). A loop kernel's vector builds also read copies (the input
//! with its padding as zeros, the weights packed in the order a register block reads them,
//! δ with zeros around its rows), cut from one scratch buffer per call: with `std`, a
//! `Vec` on the heap, allocated when the call starts and freed when it ends; without
//! `std`, a local array when the scratch fits 64 KiB, else the portable build runs, which
//! takes none. `SCRATCH_BYTES` is the most one call allocates (for `f32`; 0 for an
//! unrolled layer). Beyond those, a pass takes stack only for its register blocks' sums
//! and a few row buffers, whatever the layer's size: every pass of the layers measured in
//! the README's stack table runs on a thread of 256 KiB of stack in a release build and
//! 512 KiB in a debug build (Rust's spawned threads get 2 MiB; the main thread usually
//! 8 MiB).
//!
//! ```
//! use convsym::conv;
//!
//! conv!(struct Wide; in = 64, k = 3, pad = 1, cin = 16, cout = 16);
//!
//! // 65 536 outputs: on the heap, written in place.
//! let x = vec![1.0f32; Wide::INPUT_LEN];
//! let w = vec![1.0f32; Wide::WEIGHT_LEN];
//! let mut z = vec![0.0f32; Wide::OUTPUT_LEN];
//! // The padded input copy and the packed weights, on the heap during the call.
//! assert!(Wide::SCRATCH_BYTES > 66 * 66 * 16 * 4);
//! Wide.forward_into(
//!     x.as_slice().try_into().unwrap(),
//!     w.as_slice().try_into().unwrap(),
//!     z.as_mut_slice().try_into().unwrap(),
//! );
//! assert_eq!(z[64 + 1], 144.0); // row 2, column 2 of channel 1: 16 channels × 9 taps
//! ```
//!
//! # Without `std`
//!
//! The kernels use only `core`. In a `#![no_std]` crate, depend on convsym without its
//! default features:
//!
//! ```toml
//! [dependencies]
//! convsym = { version = "0.1", default-features = false }
//! ```
//!
//! This leaves out the command (`cli`), `explain`, `check` and the SVG picture (`engine`)
//! and `std`; the specification, the symbolic core, the derivation and the text renderers
//! stay, with `alloc`. A loop kernel then picks its vector build at compile time, from
//! `-C target-feature` or `-C target-cpu`, rather than at run time.
//!
//! # Errors
//!
//! Every bad argument is a compile error at the offending token, never a panic of the
//! macro, and one compile reports all of them. Each message names the key and the value
//! and says what is accepted:
//!
//! ```text
//! error: unknown key `strdie`; did you mean `stride`?
//!  --> src/main.rs:3:36
//!   |
//! 3 | conv!(struct Layer; in = 5, k = 3, strdie = 2);
//!   |                                    ^^^^^^
//! ```
//!
//! | mistake | message |
//! |---|---|
//! | a misspelled key | ``unknown key `strdie`; did you mean `stride`?`` |
//! | an unknown key | ``unknown key `colour`; expected one of `in`, `k`, `stride`, `pad`, `dilation`, `cin`, `cout`, `groups`, `bias`, `batch`, `transposed`, `output_padding`, `unroll` `` |
//! | a key twice | ``duplicate `k` argument`` |
//! | no `in`, no `k` | ``missing `in`: the input size, e.g. `in = 5` or `in = (7, 6)` ``, ``missing `k`: the kernel size, e.g. `k = 3` `` |
//! | a zero or negative size | ``` `in` (0) must be at least 1 ```, ``` `k` (-3) must be positive ``` |
//! | a kernel larger than the padded input | ``` `k` (3) with `dilation` (2) spans 5, more than the padded input (4) on axis 2 ``` |
//! | groups not dividing the channels | ``` `groups` (4) does not divide `cout` (6) ``` |
//! | tuples of different lengths | ``` `k` (3, 3, 3) has 3 entries but `in` has 2 axes ``` |
//! | a bad `pad` | ``` `pad` (half) must be an integer, a tuple, `same`, `same_lower` or `valid` ``` |
//! | a suffixed literal | ``` `in` takes a plain integer; write `5` without the suffix `u8` ``` |
//! | a bad `unroll` | ``` `unroll` (fast) must be `full`, `loops` or `auto` ``` |
//! | `unroll = full` past the limit | ``` `unroll = full` would unroll 921600 multiply-adds and 46964 array elements (968564), more than the limit of 16384, and take minutes to build; write `unroll = loops`, or `unroll = auto` (loops above 768), which builds in seconds ``` |
//!
//! Each of these fails to compile:
//!
//! ```compile_fail
//! convsym::conv!(struct Layer; in = 5, k = 3, strdie = 2);
//! ```
//!
//! ```compile_fail
//! convsym::conv!(struct Layer; in = 5, k = 3, k = 2);
//! ```
//!
//! ```compile_fail
//! convsym::conv!(struct Layer; in = 5);
//! ```
//!
//! ```compile_fail
//! convsym::conv!(struct Layer; in = (5, 4), k = 3, dilation = 2);
//! ```
//!
//! ```compile_fail
//! convsym::conv!(struct Layer; in = 5, k = 3, cin = 4, cout = 6, groups = 4);
//! ```
//!
//! ```compile_fail
//! convsym::conv!(struct Layer; in = 5, k = 3, unroll = fast);
//! ```
//!
//! ```compile_fail
//! convsym::conv!(struct Layer; in = 64, k = 3, cin = 16, cout = 16, unroll = full);
//! ```
//!
//! A layer too large for its equations to be embedded has no `FORWARD`:
//!
//! ```compile_fail
//! convsym::conv!(struct Large; in = 64, k = 3, cin = 8, cout = 8);
//! let first = Large::FORWARD[0];
//! ```
//!
//! And an array of the wrong size is a type error:
//!
//! ```compile_fail
//! convsym::conv!(struct Layer; in = 5, k = 3);
//! let z = Layer.forward(&[1.0f32; 24], &[1.0; 9]);
//! ```
//!
//! The same layer, correct, compiles:
//!
//! ```
//! convsym::conv!(struct Layer; in = 5, k = 3);
//! let z = Layer.forward(&[1.0f32; 25], &[1.0; 9]);
//! assert_eq!(z, [9.0; 9]);
//! ```
