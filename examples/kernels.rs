//! `conv!` kernels in ordinary code: learn a 1-D filter by gradient descent.
//!
//! A teacher layer with a known filter turns random signals into targets; a student layer
//! of the same shape starts from zeros and follows the gradient of the squared error, which
//! `backward` computes with code specialised to the shape at compile time.
//!
//! ```sh
//! cargo run --release --example kernels
//! ```

use convsym::conv;

conv!(
    /// 32 samples, a 5-tap filter, stride 1, `same` padding, a bias: unrolled, since it is
    /// within the budget.
    struct Smoother; in = (32,), k = 5, pad = same, bias
);

conv!(
    /// The seed's layer, for its formulas.
    struct Seed; in = 5, k = 3, stride = 2
);

/// A small deterministic generator of numbers in `[-1, 1)`.
struct Signal(u32);

impl Signal {
    fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        f32::from(u16::try_from(self.0 >> 16).unwrap_or(0)) / 32768.0 - 1.0
    }
}

fn main() {
    println!("The seed's weight gradient, as compiled into `Seed::GRAD_WEIGHT`:");
    for equation in Seed::GRAD_WEIGHT {
        println!("  {equation}");
    }

    let teacher_filter = [0.1, 0.2, 0.4, 0.2, 0.1];
    let teacher_bias = [0.25];
    let (mut filter, mut bias) = ([0.0f32; 5], [0.0f32; 1]);
    let mut signal = Signal(7);
    let rate = 0.01;
    println!(
        "\nLearning a {}-tap filter ({} multiply-adds per pass, unrolled: {}):",
        Smoother::WEIGHT_LEN,
        Smoother::MULTIPLY_ADDS,
        Smoother::UNROLLED
    );
    for step in 0..=200 {
        let x: [f32; 32] = core::array::from_fn(|_| signal.next());
        let target = Smoother.forward(&x, &teacher_filter, &teacher_bias);
        let z = Smoother.forward(&x, &filter, &bias);
        // L = ½ Σ (z − target)², so ∂L/∂z = z − target.
        let dz: [f32; 32] = core::array::from_fn(|i| z[i] - target[i]);
        let loss: f32 = dz.iter().map(|d| d * d / 2.0).sum();
        let (_, dw, db) = Smoother.backward(&x, &filter, &dz);
        for (weight, gradient) in filter.iter_mut().zip(dw) {
            *weight -= rate * gradient;
        }
        bias[0] -= rate * db[0];
        if step % 25 == 0 {
            println!("  step {step:3}: loss {loss:.6}");
        }
    }
    println!("  learned {filter:.3?} + {bias:.3?}");
    println!("  teacher {teacher_filter:.3?} + {teacher_bias:.3?}");
}
