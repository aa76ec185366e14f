//! Issue 12: each parallel form's speed-up over its one-thread kernel, timed in alternation.
//!
//! The `threads` bench times the one-thread kernel and the parallel form one after the
//! other, a second or more apart; on a shared machine whose speed moves by a third within
//! minutes, their ratio then measures the machine as much as the split. Here each round
//! runs the one-thread kernel (`…_into`) and then the parallel form (`…_par_into`, in a
//! pool of every core), so both see the same machine; the report is the best and the
//! median of each over the rounds, and their ratios. Between two parallel calls the
//! pool's threads go to sleep while the one-thread kernel runs, so each parallel call
//! pays their waking: on passes of about 100 µs (`mobilenet-dw` at batch 1) that reads
//! as a smaller speed-up than in the `threads` bench, whose parallel calls follow each
//! other.
//!
//! ```text
//! cargo bench -p convsym-bench --bench speedup                 # every layer
//! cargo bench -p convsym-bench --bench speedup -- resnet-3x3   # layers whose name holds it
//! ```

use std::time::Instant;

use convsym_bench::shapes::Data;
use convsym_bench::threads::{LAYERS, Layer, Pass};
use rayon::ThreadPoolBuilder;

/// Rounds per pass at batch 1; a batch of 8 takes half as many.
const ROUNDS: usize = 40;

/// The best and the median of `times`, sorted in place.
fn best_and_median(times: &mut [f64]) -> (f64, f64) {
    times.sort_by(f64::total_cmp);
    (times[0], times[times.len() / 2])
}

fn report(name: &str, layer: &dyn Layer, rounds: usize) {
    let spec = layer.spec();
    let data = Data::small_integers(&spec);
    let operands = [&data.input[..], &data.weight[..], &data.delta[..]];
    for pass in Pass::ALL {
        let mut output = vec![0.0; pass.output_len(&spec)];
        let mut times = [Vec::new(), Vec::new()];
        // A first call of each, untimed: scratch, pages and the pool's threads.
        for round in 0..=rounds {
            for (parallel, times) in [false, true].into_iter().zip(&mut times) {
                let start = Instant::now();
                layer.run(pass, parallel, operands, &mut output);
                if round > 0 {
                    times.push(start.elapsed().as_secs_f64() * 1e3);
                }
            }
        }
        let [(best_one, median_one), (best_par, median_par)] =
            times.map(|mut times| best_and_median(&mut times));
        println!(
            "| {name} | {} | {best_one:.3} → {best_par:.3} | {:.2}× | {median_one:.3} → {median_par:.3} | {:.2}× |",
            pass.name(),
            best_one / best_par,
            median_one / median_par,
        );
    }
}

fn main() {
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let pool = ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a pool of every core");
    println!("{threads} threads, {ROUNDS} rounds at batch 1 (half as many at batch 8), ms\n");
    println!("| layer | pass | best, 1 thread → {threads} | speed-up | median | speed-up |");
    println!("|---|---|---|---|---|---|");
    for (name, layer) in LAYERS {
        if !filter.iter().all(|part| name.contains(part.as_str())) {
            continue;
        }
        let rounds = if layer.spec().batch() > 1 {
            ROUNDS / 2
        } else {
            ROUNDS
        };
        pool.install(|| report(name, *layer, rounds));
    }
}
