//! How much stack the kernels `conv!` generates take, on representative layers: the suite's
//! benchmark layers, the two whose wide builds keep the most local copies, a three-axis
//! layer and an unrolled one.
//!
//! `kernels_fit_the_documented_stack` runs every pass of every layer, in every build this
//! processor has, on a thread with the stack the README promises (larger in a debug build,
//! whose temporaries each take a slot): if the promise stops holding, the thread overflows
//! its stack and the test binary aborts. In a debug build, where they take minutes, the
//! layers of real networks run in the widest build only.
//!
//! `measure_peak_stack` (ignored) measures what each pass needs: it runs the pass in a
//! child process (this binary again, `probe`) on a thread of a given stack size, and
//! searches for the smallest size, in 4 KiB pages, that does not overflow (at least the
//! 16 KiB Linux gives a thread that asks for less). Run it in both profiles:
//!
//! ```text
//! cargo test --test stack -- --ignored --nocapture measure_peak_stack
//! cargo test --release --test stack -- --ignored --nocapture measure_peak_stack
//! ```

mod common;

use std::process::{Command, Stdio};
use std::thread;

use convsym::kernel::{self, Width};

use common::boxed;

/// The stack, in KiB, on which the README promises every pass of these layers runs.
const DOCUMENTED_KIB: usize = if cfg!(debug_assertions) { 512 } else { 256 };

/// The layers of real networks: in a debug build, run in the widest build only.
const REAL: [&str; 6] = [
    "ResnetStem",
    "Resnet3x3",
    "Resnet1x1",
    "ResnetDown",
    "MobilenetDw",
    "Speech1d",
];

/// Where `measure_peak_stack` tells a child what to run: `layer pass build bytes`.
const PROBE: &str = "CONVSYM_STACK_PROBE";

/// The passes, by the names the measurement prints.
const PASSES: [&str; 4] = ["forward", "dx", "dw", "db"];

/// Runs `pass` in a frame of its own: inlined into one function, every kernel's locals
/// would add up in its frame, and the measurement would be of them all.
#[inline(never)]
fn alone(pass: impl FnOnce()) {
    pass();
}

macro_rules! layers {
    ($($name:ident [$($bias:ident)?] { $($arguments:tt)* })*) => {
        $(
            convsym::conv!(
                /// A representative layer.
                struct $name; $($arguments)*
            );
        )*

        /// The layers' names.
        const LAYERS: &[&str] = &[$(stringify!($name)),*];

        /// Runs `pass` of layer `name` in the current build, on data from the heap.
        fn run(name: &str, pass: &str) {
            $(
                if name == stringify!($name) {
                    match pass {
                        "forward" => alone(|| $name.forward_into(
                            &*boxed(1),
                            &*boxed(2),
                            $(&*layers!(@$bias boxed(3)),)?
                            &mut *boxed(0),
                        )),
                        "dx" => alone(|| $name.grad_input_into(&*boxed(2), &*boxed(4), &mut *boxed(0))),
                        "dw" => alone(|| $name.grad_weight_into(&*boxed(1), &*boxed(4), &mut *boxed(0))),
                        $("db" => alone(|| layers!(@$bias $name.grad_bias_into(&*boxed(4), &mut *boxed(0)))),)?
                        _ => {}
                    }
                }
            )*
        }
    };
    (@bias $($tokens:tt)*) => { $($tokens)* };
}

layers! {
    // The benchmark suite's loop layers (`bench/src/shapes.rs`).
    LenetC1 [] { in = 28, k = 5, cout = 6 }
    LenetC3 [] { in = 14, k = 5, cin = 6, cout = 16 }
    StridedPadded [bias] { in = 32, k = 3, stride = 2, pad = 1, cin = 8, cout = 16, bias }
    Depthwise [] { in = 16, k = 3, pad = 1, cin = 32, cout = 32, groups = 32 }
    Audio1d [] { in = (1024,), k = 9, stride = 4, cout = 8 }
    // The suite's layers of real networks, whose copies and packed weights come from the
    // heap.
    ResnetStem [] { in = 224, k = 7, stride = 2, pad = 3, cin = 3, cout = 64 }
    Resnet3x3 [] { in = 56, k = 3, pad = 1, cin = 64, cout = 64 }
    Resnet1x1 [] { in = 56, k = 1, cin = 256, cout = 64 }
    ResnetDown [] { in = 56, k = 3, stride = 2, pad = 1, cin = 128, cout = 128 }
    MobilenetDw [] { in = 56, k = 3, pad = 1, cin = 144, cout = 144, groups = 144 }
    Speech1d [] { in = (8000,), k = 11, pad = 5, cin = 32, cout = 32 }
    // Padded copies close to the 64 KiB an array may take: the forward pass keeps a
    // padded input and packed weights, the weight gradient a padded input and δ.
    Padded62 [] { in = 62, k = 3, pad = 1, cin = 4, cout = 8 }
    Padded30 [] { in = 30, k = 3, pad = 1, cin = 16, cout = 16 }
    ThreeAxes [] { in = (8, 8, 8), k = 3, pad = 1, cin = 4, cout = 8 }
    // Straight-line code, 1 296 multiply-adds.
    Unrolled [bias] { in = 12, k = 3, pad = 1, bias, unroll = full }
}

/// The builds this processor has, narrowest first.
fn builds() -> Vec<Width> {
    let builds = [Width::Portable, Width::Avx2, Width::Avx512]
        .into_iter()
        .filter(|&width| {
            kernel::set_widest(width);
            kernel::widest() == width
        })
        .collect();
    kernel::set_widest(Width::Avx512);
    builds
}

#[test]
fn kernels_fit_the_documented_stack() {
    let builds = builds();
    thread::Builder::new()
        .stack_size(DOCUMENTED_KIB * 1024)
        .spawn(move || {
            let widest = builds.last().copied();
            for &width in &builds {
                kernel::set_widest(width);
                for layer in LAYERS {
                    if cfg!(debug_assertions) && REAL.contains(layer) && Some(width) != widest {
                        continue;
                    }
                    for pass in PASSES {
                        run(layer, pass);
                    }
                }
            }
            kernel::set_widest(Width::Avx512);
        })
        .expect("a thread")
        .join()
        .expect("every pass ran");
}

/// The child's side of `measure_peak_stack`: runs what [`PROBE`] names on a thread of
/// that stack; without it, nothing.
#[test]
#[ignore = "a child process of `measure_peak_stack`"]
fn probe() {
    let Ok(probe) = std::env::var(PROBE) else {
        return;
    };
    let words: Vec<String> = probe.split_whitespace().map(str::to_owned).collect();
    let [layer, pass, width, bytes] = &words[..] else {
        panic!("`{PROBE}` is `layer pass build bytes`, not `{probe}`");
    };
    kernel::set_widest(match width.as_str() {
        "Portable" => Width::Portable,
        "Avx2" => Width::Avx2,
        _ => Width::Avx512,
    });
    let (layer, pass) = (layer.clone(), pass.clone());
    thread::Builder::new()
        .stack_size(bytes.parse().expect("a size in bytes"))
        .spawn(move || run(&layer, &pass))
        .expect("a thread")
        .join()
        .expect("the pass ran");
}

/// Whether `pass` of `layer` runs in `width` on a thread of `bytes` of stack, in a child
/// process: an overflow aborts the child.
fn fits(layer: &str, pass: &str, width: Width, bytes: usize) -> bool {
    Command::new(std::env::current_exe().expect("this test binary"))
        .args(["--exact", "probe", "--ignored", "--test-threads=1"])
        .env(PROBE, format!("{layer} {pass} {width:?} {bytes}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("the child runs")
        .success()
}

/// The smallest stack, in 4 KiB pages, on which `pass` of `layer` runs in `width`; at
/// least the 16 KiB a thread gets on Linux when it asks for less.
fn smallest(layer: &str, pass: &str, width: Width) -> usize {
    let (mut low, mut high) = (3, 4096);
    assert!(
        fits(layer, pass, width, high * 4096),
        "{layer} {pass}: over 16 MiB"
    );
    while high - low > 1 {
        let middle = usize::midpoint(low, high);
        if fits(layer, pass, width, middle * 4096) {
            high = middle;
        } else {
            low = middle;
        }
    }
    high
}

#[test]
#[ignore = "measures the stack; run in debug and in release with --nocapture"]
fn measure_peak_stack() {
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let builds = builds();
    for &width in &builds {
        println!(
            "{profile}, {width:?} build: the smallest thread stack, in KiB, on which each pass \
             runs (16: the least a thread gets)"
        );
        println!("| layer | forward | dx | dw | db |");
        for layer in LAYERS {
            let sizes: Vec<String> = PASSES
                .iter()
                .map(|pass| (smallest(layer, pass, width) * 4).to_string())
                .collect();
            println!("| {layer} | {} |", sizes.join(" | "));
        }
    }
}
