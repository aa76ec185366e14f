//! Issue 12: the parallel forms (`…_par_into`) of the real layers at batch 1 and 8, on 1
//! and 2 threads, beside the one-thread kernels (`…_into`) and, with the `onednn` feature,
//! oneDNN on the same thread counts. Before timing, every parallel form must equal the
//! one-thread kernel bit for bit on non-integer data, in a pool of 2 threads.
//!
//! ```text
//! cargo bench -p convsym-bench --bench threads                     # conv! alone
//! cargo bench -p convsym-bench --bench threads --features onednn   # with oneDNN
//! cargo bench -p convsym-bench --bench threads -- resnet-3x3-b8    # one layer
//! ```
//!
//! Each benchmark is named `{layer}-b{batch}/{pass}/{kernel}`, the kernel one of
//! `conv! 1 thread` (`…_into` on the calling thread; `…_par_into` in a pool of one thread
//! calls it), `conv! par 2 threads` (`…_par_into` in a pool of two), and `oneDNN 1 thread`,
//! `oneDNN 2 threads`. The machine is shared: repeat a run before trusting a ratio.

use std::hint::black_box;
use std::time::Duration;

#[cfg(feature = "onednn")]
use convsym_bench::onednn::{self, Onednn, Which};
use convsym_bench::shapes::{Data, multiply_adds};
use convsym_bench::threads::{LAYERS, Layer, Pass};
use criterion::{Criterion, SamplingMode, Throughput};
use rayon::{ThreadPool, ThreadPoolBuilder};

/// oneDNN's thread counts: one, and this machine's two cores.
#[cfg(feature = "onednn")]
const THREADS: [usize; 2] = [1, 2];

fn operands(data: &Data) -> [&[f32]; 3] {
    [&data.input, &data.weight, &data.delta]
}

/// The parallel form of every pass equals the one-thread kernel bit for bit.
fn verify(name: &str, layer: &dyn Layer, pool: &ThreadPool) {
    let spec = layer.spec();
    let data = Data::fractions(&spec);
    for pass in Pass::ALL {
        let mut one = vec![0.0; pass.output_len(&spec)];
        let mut parallel = one.clone();
        layer.run(pass, false, operands(&data), &mut one);
        pool.install(|| layer.run(pass, true, operands(&data), &mut parallel));
        let same = one
            .iter()
            .zip(&parallel)
            .all(|(one, parallel)| one.to_bits() == parallel.to_bits());
        assert!(
            same,
            "{name} {}: the parallel form changed bits",
            pass.name()
        );
    }
}

#[cfg(feature = "onednn")]
fn onednn_which(pass: Pass) -> Which {
    match pass {
        Pass::Forward => Which::Forward,
        Pass::GradInput => Which::GradInput,
        Pass::GradWeight => Which::GradWeight,
    }
}

fn bench_layer(criterion: &mut Criterion, name: &str, layer: &dyn Layer, pool: &ThreadPool) {
    let spec = layer.spec();
    let data = Data::small_integers(&spec);
    // oneDNN fixes a primitive's thread count when it creates it (its kernels split the work
    // into `omp_get_max_threads()` parts then, and each run asks for that many threads), so
    // each count gets primitives created after `set_threads`.
    #[cfg(feature = "onednn")]
    let onednn = THREADS.map(|threads| {
        onednn::set_threads(threads);
        assert_eq!(onednn::threads(), threads, "oneDNN's OpenMP threads");
        let mut onednn = Onednn::new(&spec).expect("oneDNN takes every benchmark layer");
        onednn
            .load(&data.input, &data.weight, &data.delta)
            .expect("the data fits the layer");
        (threads, onednn)
    });
    for pass in Pass::ALL {
        let mut group = criterion.benchmark_group(format!("{name}/{}", pass.name()));
        group.throughput(Throughput::Elements(multiply_adds(&spec)));
        group.sampling_mode(SamplingMode::Flat);
        let mut output = vec![0.0; pass.output_len(&spec)];
        group.bench_function("conv! 1 thread", |b| {
            b.iter(|| layer.run(pass, false, black_box(operands(&data)), &mut output));
        });
        group.bench_function("conv! par 2 threads", |b| {
            pool.install(|| {
                b.iter(|| layer.run(pass, true, black_box(operands(&data)), &mut output));
            });
        });
        #[cfg(feature = "onednn")]
        for (threads, onednn) in &onednn {
            onednn::set_threads(*threads);
            let label = if *threads == 1 { "thread" } else { "threads" };
            group.bench_function(format!("oneDNN {threads} {label}"), |b| {
                b.iter(|| {
                    onednn
                        .execute(onednn_which(pass))
                        .expect("oneDNN runs the pass");
                });
            });
        }
        group.finish();
    }
}

fn main() {
    let pool = ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("a pool of two threads");
    for (name, layer) in LAYERS {
        verify(name, *layer, &pool);
    }
    eprintln!("every parallel form equals its one-thread kernel bit for bit, on 2 threads");
    let mut criterion = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .configure_from_args();
    for (name, layer) in LAYERS {
        bench_layer(&mut criterion, name, *layer, &pool);
    }
    criterion.final_summary();
}
