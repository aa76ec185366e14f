//! A `#![no_std]` crate that uses `conv!`: it compiles only if the generated kernels need
//! nothing but `core` (`cargo build -p convsym-no-std` builds it, and the facade, without
//! `std`).
#![no_std]

use convsym::conv;

conv!(
    /// The seed's layer, unrolled.
    pub struct Seed; in = 5, k = 3, stride = 2
);

conv!(
    /// A strided, padded layer with a bias, as loops.
    pub struct Padded; in = (9,), k = 3, stride = 2, pad = 1, cout = 2, bias, unroll = loops
);

/// The seed's forward pass and weight gradient, in `f32`.
pub fn seed(x: &[f32; 25], w: &[f32; 9], dz: &[f32; 4]) -> ([f32; 4], [f32; 9]) {
    (Seed.forward(x, w), Seed.grad_weight(x, dz))
}

/// The padded layer's forward pass and every gradient, in `f64`, into caller memory.
pub fn padded(
    x: &[f64; 9],
    w: &[f64; 6],
    b: &[f64; 2],
    dz: &[f64; 10],
    out: (&mut [f64; 10], &mut [f64; 9], &mut [f64; 6], &mut [f64; 2]),
) {
    let (z, dx, dw, db) = out;
    Padded.forward_into(x, w, b, z);
    Padded.backward_into(x, w, dz, dx, dw, db);
}
