//! The note the project started from, through `conv!`: a 5×5 input, a 3×3 kernel, stride 2.
//!
//! Prints the layer's equations as the macro compiled them, runs its kernels on integer
//! data, and checks the note's own construction of the gradients numerically: dilate δ by
//! the stride, then correlate it with the input (the weight gradient) and, padded, with the
//! kernel rotated by 180° (the input gradient).
//!
//! ```sh
//! cargo run --release --example seed
//! ```

use convsym::conv;

conv!(
    /// The seed's layer.
    struct Seed; in = 5, k = 3, stride = 2
);

const IN: usize = Seed::INPUT_SHAPE[2];
const K: usize = Seed::WEIGHT_SHAPE[2];
const STRIDE: usize = 2;
const OUT: usize = Seed::OUTPUT_SIZE[0];
/// Rows and columns of δ dilated by the stride: `(out − 1)·s + 1`.
const DILATED: usize = (OUT - 1) * STRIDE + 1;
/// The remainder `r`: padded positions past the last window (0 here; 1 for a 6×6 input).
const REMAINDER: usize = (IN - K) % STRIDE;

type Square<const N: usize> = [[i64; N]; N];

fn square<const N: usize>(flat: &[i64]) -> Square<N> {
    core::array::from_fn(|row| core::array::from_fn(|column| flat[row * N + column]))
}

fn print<const N: usize>(label: &str, grid: &Square<N>) {
    println!("{label}:");
    for row in grid {
        println!("  {row:3?}");
    }
}

/// `out[i][j] = Σ_{a,b} input[i + a][j + b] · kernel[a][b]`: stride 1, no padding.
fn correlate<const I: usize, const K2: usize, const O: usize>(
    input: &Square<I>,
    kernel: &Square<K2>,
) -> Square<O> {
    core::array::from_fn(|i| {
        core::array::from_fn(|j| {
            let mut sum = 0;
            for (a, row) in kernel.iter().enumerate() {
                for (b, weight) in row.iter().enumerate() {
                    sum += input[i + a][j + b] * weight;
                }
            }
            sum
        })
    })
}

fn main() {
    println!("The layer `{}`, as `conv!` compiled it:", Seed::SPEC);
    for equation in Seed::FORWARD {
        println!("  {equation}");
    }
    println!("  (the note printed `w5*x8` in z2: the engine derives `w5*x9`)");
    for equation in Seed::GRAD_WEIGHT.iter().take(3) {
        println!("  {equation}");
    }
    println!("  {}", Seed::GRAD_INPUT[2]);

    let x: [i64; 25] = core::array::from_fn(|i| i64::try_from(i * 7 % 11).unwrap_or(0) - 5);
    let w = [1, -2, 3, 0, 2, -1, -3, 1, 2];
    let dz = [2, -1, 3, 1];
    let z = Seed.forward(&x, &w);
    let (dx, dw) = Seed.backward(&x, &w, &dz);
    println!("\nOn integer data, the generated kernels give:");
    print("z", &square::<OUT>(&z));

    // δ dilated by the stride: s − 1 zeros between neighbours.
    let mut dilated = [[0; DILATED]; DILATED];
    for (i, row) in square::<OUT>(&dz).iter().enumerate() {
        for (j, &value) in row.iter().enumerate() {
            dilated[i * STRIDE][j * STRIDE] = value;
        }
    }
    print("δ dilated by the stride", &dilated);

    // The weight gradient: the input (cropped by r at the end) correlated with dilated δ.
    let weight_gradient: Square<K> = correlate(&square::<IN>(&x), &dilated);
    print("dw = x ⋆ dilated δ", &weight_gradient);
    assert_eq!(
        weight_gradient,
        square::<K>(&dw),
        "the weight gradients differ"
    );

    // The input gradient: dilated δ padded by k − 1 (plus r at the end), correlated with the
    // kernel rotated by 180°.
    let mut padded = [[0; IN + K - 1]; IN + K - 1];
    for (i, row) in dilated.iter().enumerate() {
        padded[K - 1 + i][K - 1..K - 1 + DILATED].copy_from_slice(row);
    }
    let kernel = square::<K>(&w);
    let rotated: Square<K> =
        core::array::from_fn(|a| core::array::from_fn(|b| kernel[K - 1 - a][K - 1 - b]));
    let input_gradient: Square<IN> = correlate(&padded, &rotated);
    print("dx = padded dilated δ ⋆ rot180(w)", &input_gradient);
    assert_eq!(
        input_gradient,
        square::<IN>(&dx),
        "the input gradients differ"
    );

    println!(
        "\nBoth constructions equal the kernels' gradients exactly (r = {REMAINDER}: no row or column is left unread)."
    );
}
