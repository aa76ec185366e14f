//! One pass of one implementation on one layer, `calls` times, for counting instructions
//! under callgrind: on a machine shared with other builds, wall-clock times move by tens of
//! percent, instruction counts hardly at all, so a comparison that must hold is made on
//! both. `bench/instructions.py` runs every combination twice (1 call, then `1 + n`) and
//! divides the difference by `n`, which removes the start-up and the first call's lazy
//! set-up (thread pools, CPU feature detection) from the count.
//!
//! ```text
//! python3 bench/instructions.py                     # every layer, pass, implementation
//! python3 bench/instructions.py --layers seed depthwise
//! ```
//!
//! By hand: `cargo bench -p convsym-bench --bench instructions --no-run` prints the
//! executable; run it under `valgrind --tool=callgrind` with the arguments
//! `LAYER PASS IMPLEMENTATION CALLS`, e.g. `lenet-c1 forward direct 5`, and with
//! `RAYON_NUM_THREADS=1 CANDLE_NUM_THREADS=1`. It prints the layer's multiply-adds. It
//! refuses to run candle on more threads: it cannot re-run itself with the variables set
//! as `kernels` does, since valgrind would not follow the child.
//! Without arguments it does nothing, so `cargo bench -p convsym-bench` passes over it.

use std::hint::black_box;

use conv_runtime::reference;
use convsym_bench::Kernels;
use convsym_bench::candle::{self, Candle};
use convsym_bench::im2col;
use convsym_bench::shapes::{Data, SHAPES, multiply_adds};

const USAGE: &str = "usage: instructions LAYER (forward|dx|dw) \
    (conv!|direct|im2col+gemm|candle|reference) CALLS";

/// Runs `pass` `calls` times; its output is kept from the optimiser by `black_box`.
fn repeat(calls: usize, mut pass: impl FnMut()) {
    for _ in 0..calls {
        pass();
    }
}

fn run_kernels(kernels: &mut dyn Kernels, pass: &str, data: &Data, output: &mut [f32]) {
    match pass {
        "forward" => kernels.forward_into(&data.input, &data.weight, output),
        "dx" => kernels.grad_input_into(&data.weight, &data.delta, output),
        _ => kernels.grad_weight_into(&data.input, &data.delta, output),
    }
}

fn main() {
    let arguments: Vec<String> = std::env::args()
        .skip(1)
        .filter(|argument| !argument.starts_with("--"))
        .collect();
    let [layer, pass, implementation, calls] = arguments.as_slice() else {
        if !arguments.is_empty() {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
        return;
    };
    let shape = SHAPES
        .iter()
        .find(|shape| shape.name == layer)
        .unwrap_or_else(|| panic!("no layer `{layer}`; {USAGE}"));
    assert!(
        ["forward", "dx", "dw"].contains(&pass.as_str()),
        "no pass `{pass}`; {USAGE}"
    );
    let calls: usize = calls.parse().expect(USAGE);
    let spec = shape.spec();
    // For the script: the count per call is divided by this.
    println!("multiply-adds {}", multiply_adds(&spec));
    // Which build `conv!`'s loop kernels run here: valgrind emulates no AVX-512, so under
    // callgrind it is the AVX2 build on an AVX-512 machine.
    eprintln!(
        "conv! loop kernels: the {:?} build",
        convsym::kernel::widest()
    );
    let data = Data::small_integers(&spec);
    let mut output = vec![
        0.0;
        match pass.as_str() {
            "forward" => spec.output_len(),
            "dx" => spec.input_len(),
            _ => spec.weight_len(),
        }
    ];
    let mut kernels: Box<dyn Kernels> = match implementation.as_str() {
        "direct" => (shape.direct.gather)(),
        "direct rows" => (shape.direct.rows)(),
        "im2col+gemm" => im2col::for_layer(&spec),
        "conv!" => (shape.generated)(),
        "candle" => {
            let threads = candle::threads();
            assert!(
                threads.candle == 1 && threads.rayon == 1,
                "set RAYON_NUM_THREADS=1 and CANDLE_NUM_THREADS=1: {threads:?}"
            );
            let candle = Candle::new(&spec).expect("candle takes every benchmark layer");
            let input = candle.input(&data.input).expect("the input fits");
            let weight = candle.weight(&data.weight).expect("the weight fits");
            let delta = candle.delta(&data.delta).expect("δ fits");
            repeat(calls, || {
                black_box(match pass.as_str() {
                    "forward" => candle.forward(&input, &weight),
                    "dx" => candle.grad_input(&weight, &delta),
                    _ => candle.grad_weight(&input, &delta),
                })
                .expect("candle computes the pass");
            });
            return;
        }
        "reference" => {
            repeat(calls, || {
                black_box(match pass.as_str() {
                    "forward" => reference::forward(&spec, &data.input, &data.weight, &[]),
                    "dx" => reference::grad_input(&spec, &data.weight, &data.delta),
                    _ => reference::grad_weight(&spec, &data.input, &data.delta),
                });
            });
            return;
        }
        other => panic!("no implementation `{other}`; {USAGE}"),
    };
    repeat(calls, || {
        run_kernels(
            kernels.as_mut(),
            pass,
            black_box(&data),
            black_box(&mut output),
        );
    });
}
