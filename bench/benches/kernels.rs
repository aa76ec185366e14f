//! The baselines of issue 4: for each layer in `convsym_bench::shapes::SHAPES`, the
//! forward pass, the input gradient (`dx`) and the weight gradient (`dw`), in `f32` on one
//! thread, by
//!
//! - `direct`: const-generic direct loops (`convsym_bench::direct`), what a careful user
//!   writes by hand, gathering one output element at a time;
//! - `direct rows`: the same loops in the other order a careful user writes, one kernel
//!   tap at a time over whole rows (`convsym_bench::direct::Rows`);
//! - `reference`: `conv_runtime::reference`, shapes known only at run time;
//! - `im2col+gemm`: im2col and matrixmultiply's `sgemm` (`convsym_bench::im2col`);
//! - `candle`: candle-core's `conv1d`/`conv2d` and the ops its autograd runs
//!   (`convsym_bench::candle`);
//! - `oneDNN` (feature `onednn`): oneDNN's convolution primitives through its C API, the
//!   primitive alone on operands already in the layouts it chose (`convsym_bench::onednn`);
//! - `conv!`: the kernels the macro generates for the layer (`shapes::Shape::generated`).
//!
//! On the transposed layers (issue 10: `dcgan-up`, `upsample-1d`) the direct loops and
//! im2col+gemm run as their dual layers' passes (`convsym_bench::transposed`), candle as
//! `conv_transpose1d`/`conv_transpose2d` and the ops of its autograd, and oneDNN as its
//! deconvolution primitives.
//!
//! The reference is not timed on the layers of more than [`REFERENCE_LIMIT`] multiply-adds
//! (a second a call there); it still checks every baseline on them. Layers of more than
//! [`FLAT_LIMIT`] use criterion's flat sampling, the same number of calls per sample, which
//! it recommends for long benchmarks: linear sampling would call a 100 ms pass 465 times.
//!
//! Throughput is in multiply-adds (`shapes::multiply_adds`): criterion's `elem/s` are
//! multiply-adds per second. Before timing, every baseline is checked against the
//! reference on the data it is timed on (`verify`), and the thread counts are asserted.
//!
//! ```text
//! cargo bench -p convsym-bench --bench kernels            # the suite
//! cargo bench -p convsym-bench --bench kernels --features onednn  # with oneDNN
//! cargo bench -p convsym-bench --bench kernels -- depthwise  # one layer
//! CONVSYM_WIDEST=avx2 cargo bench -p convsym-bench --bench kernels  # conv!'s AVX2 build
//! cargo test -p convsym-bench --bench kernels             # the checks, each benchmark once
//! python3 bench/report.py                                 # the tables in BENCHMARKS.md
//! ```
//!
//! The `Kernels` implementations (direct, im2col, `conv!`) are all called through one
//! indirect call per pass, about a nanosecond: visible only on the seed's 36 multiply-adds,
//! and the same for each of them.

use std::hint::black_box;
use std::time::Duration;

use conv_runtime::{Spec, reference};
use convsym_bench::Kernels;
use convsym_bench::candle::{self, Candle};
use convsym_bench::im2col;
#[cfg(feature = "onednn")]
use convsym_bench::onednn::{self, Onednn, Which};
use convsym_bench::shapes::{Data, SHAPES, Shape, multiply_adds};
use convsym_bench::verify::verify;
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, SamplingMode, Throughput};

/// Above this many multiply-adds a pass, the reference (about 90 M multiply-adds a second
/// here) is not timed: 30 samples of a second or more per pass would take longer than the
/// rest of the suite. It still computes the expected results.
const REFERENCE_LIMIT: u64 = 10_000_000;

/// Above this many multiply-adds a pass, criterion samples flat (see the crate docs).
const FLAT_LIMIT: u64 = 1_000_000;

/// One of the three passes.
#[derive(Clone, Copy, Debug)]
enum Pass {
    Forward,
    GradInput,
    GradWeight,
}

impl Pass {
    const ALL: [Pass; 3] = [Pass::Forward, Pass::GradInput, Pass::GradWeight];

    fn name(self) -> &'static str {
        match self {
            Pass::Forward => "forward",
            Pass::GradInput => "dx",
            Pass::GradWeight => "dw",
        }
    }

    fn output_len(self, spec: &Spec) -> usize {
        match self {
            Pass::Forward => spec.output_len(),
            Pass::GradInput => spec.input_len(),
            Pass::GradWeight => spec.weight_len(),
        }
    }

    fn run(self, kernels: &mut dyn Kernels, data: &Data, output: &mut [f32]) {
        match self {
            Pass::Forward => kernels.forward_into(&data.input, &data.weight, output),
            Pass::GradInput => kernels.grad_input_into(&data.weight, &data.delta, output),
            Pass::GradWeight => kernels.grad_weight_into(&data.input, &data.delta, output),
        }
    }

    #[cfg(feature = "onednn")]
    fn which(self) -> Which {
        match self {
            Pass::Forward => Which::Forward,
            Pass::GradInput => Which::GradInput,
            Pass::GradWeight => Which::GradWeight,
        }
    }

    fn reference(self, spec: &Spec, data: &Data) -> Vec<f32> {
        match self {
            Pass::Forward => reference::forward(spec, &data.input, &data.weight, &[]),
            Pass::GradInput => reference::grad_input(spec, &data.weight, &data.delta),
            Pass::GradWeight => reference::grad_weight(spec, &data.input, &data.delta),
        }
    }
}

fn bench_kernels(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    kernels: &mut dyn Kernels,
    pass: Pass,
    spec: &Spec,
    data: &Data,
) {
    let mut output = vec![0.0; pass.output_len(spec)];
    group.bench_function(name, |b| {
        b.iter(|| pass.run(kernels, black_box(data), black_box(&mut output)));
    });
}

fn bench_candle(group: &mut BenchmarkGroup<'_, WallTime>, pass: Pass, spec: &Spec, data: &Data) {
    let candle = Candle::new(spec).expect("candle takes every benchmark layer");
    let tensors = (
        candle.input(&data.input),
        candle.weight(&data.weight),
        candle.delta(&data.delta),
    );
    let (Ok(input), Ok(weight), Ok(delta)) = tensors else {
        panic!("the data fits the layer's tensors");
    };
    group.bench_function("candle", |b| {
        b.iter(|| {
            let (input, weight, delta) = black_box((&input, &weight, &delta));
            match pass {
                Pass::Forward => candle.forward(input, weight),
                Pass::GradInput => candle.grad_input(weight, delta),
                Pass::GradWeight => candle.grad_weight(input, delta),
            }
            .expect("candle computes the pass")
        });
    });
}

/// oneDNN's primitives for the layer, their operands loaded: `load` reorders the data into
/// the layouts the primitives chose, outside the timed region.
#[cfg(feature = "onednn")]
fn onednn(spec: &Spec, data: &Data) -> Onednn {
    let mut onednn = Onednn::new(spec).expect("oneDNN takes every benchmark layer");
    onednn
        .load(&data.input, &data.weight, &data.delta)
        .expect("the data fits the layer");
    onednn
}

/// The timed call: the primitive and `dnnl_stream_wait`, nothing else.
#[cfg(feature = "onednn")]
fn bench_onednn(group: &mut BenchmarkGroup<'_, WallTime>, onednn: &Onednn, pass: Pass) {
    group.bench_function("oneDNN", |b| {
        b.iter(|| onednn.execute(pass.which()).expect("oneDNN runs the pass"));
    });
}

fn bench_shape(criterion: &mut Criterion, shape: &Shape) {
    let spec = shape.spec();
    let data = Data::small_integers(&spec);
    let multiply_adds = multiply_adds(&spec);
    let mut direct = (shape.direct.gather)();
    let mut rows = (shape.direct.rows)();
    let mut generated = (shape.generated)();
    let mut im2col_gemm = im2col::for_layer(&spec);
    #[cfg(feature = "onednn")]
    let onednn = onednn(&spec, &data);
    for pass in Pass::ALL {
        let mut group = criterion.benchmark_group(format!("{}/{}", shape.name, pass.name()));
        group.throughput(Throughput::Elements(multiply_adds));
        if multiply_adds > FLAT_LIMIT {
            group.sampling_mode(SamplingMode::Flat);
        }
        bench_kernels(&mut group, "conv!", generated.as_mut(), pass, &spec, &data);
        bench_kernels(&mut group, "direct", direct.as_mut(), pass, &spec, &data);
        bench_kernels(&mut group, "direct rows", rows.as_mut(), pass, &spec, &data);
        bench_kernels(
            &mut group,
            "im2col+gemm",
            im2col_gemm.as_mut(),
            pass,
            &spec,
            &data,
        );
        bench_candle(&mut group, pass, &spec, &data);
        #[cfg(feature = "onednn")]
        bench_onednn(&mut group, &onednn, pass);
        if multiply_adds <= REFERENCE_LIMIT {
            group.bench_function("reference", |b| {
                b.iter(|| pass.reference(&spec, black_box(&data)));
            });
        }
        group.finish();
    }
}

/// Asserts that oneDNN's OpenMP runtime has one thread, and says which implementation
/// oneDNN chose for each layer and pass.
#[cfg(feature = "onednn")]
fn report_onednn() {
    let version = onednn::version();
    let threads = onednn::threads();
    assert!(
        threads == 1,
        "oneDNN must run on one thread: OpenMP would use {threads}"
    );
    eprintln!(
        "oneDNN {:?}, {} runtime, {threads} thread; its implementations (forward, dx, dw):",
        version.version, version.runtime
    );
    for shape in &SHAPES {
        let onednn = Onednn::new(&shape.spec()).expect("oneDNN takes every benchmark layer");
        eprintln!("  {}: {:?}", shape.name, onednn.implementations());
    }
}

/// With `CONVSYM_WIDEST=avx2`, caps `conv!`'s kernels at the AVX2 build
/// (`convsym::kernel::set_widest`), to measure it against the AVX2 bound on a processor
/// with AVX-512.
fn cap_width() {
    if std::env::var("CONVSYM_WIDEST").is_ok_and(|width| width == "avx2") {
        convsym::kernel::set_widest(convsym::kernel::Width::Avx2);
        eprintln!("conv!'s kernels capped at the AVX2 build");
    }
}

fn main() {
    if let Some(code) = candle::run_single_threaded() {
        std::process::exit(code);
    }
    cap_width();
    let threads = candle::threads();
    assert!(
        threads.candle == 1 && threads.rayon == 1,
        "candle must run on one thread: {threads:?}"
    );
    #[cfg(feature = "onednn")]
    report_onednn();
    let problems: Vec<String> = SHAPES.iter().filter_map(|s| verify(s).err()).collect();
    assert!(
        problems.is_empty(),
        "baselines disagree with the reference:\n{}",
        problems.join("\n")
    );
    eprintln!(
        "every baseline equals the reference on all {} layers; after running candle: {:?}",
        SHAPES.len(),
        candle::threads(),
    );
    // 126 benchmarks for the first seven layers at about 3 s each (warm-up, measurement,
    // analysis): ~6 minutes; the six larger layers take longer per benchmark (flat samples
    // of up to a tenth of a second or more).
    let mut criterion = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    for shape in &SHAPES {
        bench_shape(&mut criterion, shape);
    }
    criterion.final_summary();
}
