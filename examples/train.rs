//! Training with `conv!` kernels: plain SGD recovers two hidden 3×3 kernels from data.
//!
//! A teacher layer with hidden kernels (Sobel's two edge detectors, with biases) turns
//! random images into targets; a student of the same shape starts from zeros and follows
//! the gradient of the squared error. Both passes are code `conv!` specialised to this
//! shape at compile time: a batch of 4 images of 12×12, stride 2, 2 output channels.
//! The student's batch runs through the parallel forms (`forward_par_into`,
//! `backward_par_into`), as a larger layer would to use every core; this one, under the
//! runtime's threshold, runs them on the calling thread, with the same bits either way.
//!
//! ```sh
//! cargo run --release --example train
//! ```

use std::io::{IsTerminal, Write};

use convsym::conv;

conv!(
    /// Four 12×12 images, two 3×3 kernels at stride 2, a bias each.
    struct Layer; in = 12, k = 3, stride = 2, cout = 2, bias, batch = 4
);

const STEPS: usize = 300;
const RATE: f32 = 0.2;

/// A small deterministic generator of numbers in `[-1, 1)`.
struct Noise(u32);

impl Noise {
    fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        f32::from(u16::try_from(self.0 >> 16).unwrap_or(0)) / 32768.0 - 1.0
    }
}

/// A bar that redraws itself on a terminal; a plain line every 50 steps elsewhere.
fn progress(step: usize, loss: f32, terminal: bool) {
    if terminal {
        let done = step * 30 / STEPS;
        print!(
            "\r  [{}{}] step {step:3}/{STEPS}  loss {loss:.2e}",
            "#".repeat(done),
            ".".repeat(30 - done)
        );
        if step == STEPS {
            println!();
        }
        let _ = std::io::stdout().flush();
    } else if step.is_multiple_of(50) {
        println!("  step {step:3}: loss {loss:.2e}");
    }
}

/// The two kernels side by side, row by row, and their biases.
fn show(label: &str, weight: &[f32; Layer::WEIGHT_LEN], bias: [f32; Layer::BIAS_LEN]) {
    println!("{label}:");
    for row in weight[..9].chunks(3).zip(weight[9..].chunks(3)) {
        println!("  {:6.3?}    {:6.3?}", row.0, row.1);
    }
    println!("  bias {:6.3}              bias {:6.3}", bias[0], bias[1]);
}

fn main() {
    let hidden: [f32; Layer::WEIGHT_LEN] = [
        -1.0, 0.0, 1.0, -2.0, 0.0, 2.0, -1.0, 0.0, 1.0, // responds to vertical edges
        -1.0, -2.0, -1.0, 0.0, 0.0, 0.0, 1.0, 2.0, 1.0, // responds to horizontal edges
    ];
    let hidden_bias = [0.5, -0.25];
    let (mut weight, mut bias) = ([0.0; Layer::WEIGHT_LEN], [0.0; Layer::BIAS_LEN]);
    let mut noise = Noise(2024);
    let terminal = std::io::stdout().is_terminal();
    println!(
        "Training `{}`: {} multiply-adds per pass, unrolled: {}",
        Layer::SPEC,
        Layer::MULTIPLY_ADDS,
        Layer::UNROLLED
    );
    #[allow(clippy::cast_precision_loss, reason = "the output has 200 elements")]
    let outputs = Layer::OUTPUT_LEN as f32;
    for step in 0..=STEPS {
        let x: [f32; Layer::INPUT_LEN] = core::array::from_fn(|_| noise.next());
        let target = Layer.forward(&x, &hidden, &hidden_bias);
        let mut z = [0.0; Layer::OUTPUT_LEN];
        Layer.forward_par_into(&x, &weight, &bias, &mut z);
        // L = Σ (z − target)² / 2N, so ∂L/∂z = (z − target) / N.
        let dz: [f32; Layer::OUTPUT_LEN] = core::array::from_fn(|i| (z[i] - target[i]) / outputs);
        let loss = dz.iter().map(|d| d * d).sum::<f32>() * outputs / 2.0;
        progress(step, loss, terminal);
        let (mut dx, mut dw, mut db) = (
            [0.0; Layer::INPUT_LEN],
            [0.0; Layer::WEIGHT_LEN],
            [0.0; Layer::BIAS_LEN],
        );
        Layer.backward_par_into(&x, &weight, &dz, &mut dx, &mut dw, &mut db);
        for (value, gradient) in weight.iter_mut().zip(dw).chain(bias.iter_mut().zip(db)) {
            *value -= RATE * gradient;
        }
    }
    show("recovered", &weight, bias);
    show("hidden", &hidden, hidden_bias);
    let error = weight
        .iter()
        .chain(&bias)
        .zip(hidden.iter().chain(&hidden_bias))
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    println!("largest difference: {error:.1e}");
}
