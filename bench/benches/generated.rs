//! The kernels `conv!` generates against a hand-written, const-generic direct loop on the
//! same shapes, f32, one thread: the forward pass, the input gradient and the weight
//! gradient of each layer the issue names.
//!
//! The baseline is the best of two loop orders written the way a careful engineer would
//! write them with every size a constant: the *gather* order (each output a dot product,
//! taps innermost) and the *axpy* order (one tap at a time over a whole output row, the
//! innermost loop contiguous so it vectorises at stride 1). Each group times the generated
//! kernel, both orders and the runtime's generic reference (`convsym::reference`) in the
//! same run, so their ratios are what to read.
//!
//! `cargo bench -p convsym-bench --bench generated`
//! (and with `RUSTFLAGS="-C target-cpu=native"` for the machine's own instructions).
#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]
#![allow(
    clippy::too_many_arguments,
    clippy::similar_names,
    clippy::many_single_char_names,
    reason = "convolution indices are conventionally one letter each"
)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{
    BenchmarkGroup, Criterion, criterion_group, criterion_main, measurement::WallTime,
};

/// A 2-D layer (a 1-D one has `H = KH = 1`) with every size a constant: the baseline.
struct Direct<
    const CIN: usize,
    const COUT: usize,
    const GROUPS: usize,
    const H: usize,
    const W: usize,
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const PH: usize,
    const PW: usize,
>;

impl<
    const CIN: usize,
    const COUT: usize,
    const GROUPS: usize,
    const H: usize,
    const W: usize,
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const PH: usize,
    const PW: usize,
> Direct<CIN, COUT, GROUPS, H, W, KH, KW, SH, SW, PH, PW>
{
    const OH: usize = (H + 2 * PH - KH) / SH + 1;
    const OW: usize = (W + 2 * PW - KW) / SW + 1;
    const CIN_G: usize = CIN / GROUPS;
    const COUT_G: usize = COUT / GROUPS;

    /// The input row and column output `(oh, ow)` reads through tap `(kh, kw)`, if real.
    #[inline]
    fn source(oh: usize, ow: usize, kh: usize, kw: usize) -> Option<(usize, usize)> {
        let ih = (oh * SH + kh).checked_sub(PH).filter(|&i| i < H)?;
        let iw = (ow * SW + kw).checked_sub(PW).filter(|&i| i < W)?;
        Some((ih, iw))
    }

    /// The outputs `lo..hi` along a row whose tap `kw` reads real input.
    #[inline]
    fn columns(kw: usize) -> (usize, usize) {
        let lo = PW.saturating_sub(kw).div_ceil(SW).min(Self::OW);
        let hi = (W - 1 + PW)
            .checked_sub(kw)
            .map_or(0, |last| last / SW + 1)
            .min(Self::OW);
        (lo, hi.max(lo))
    }

    fn forward_gather(x: &[f32], w: &[f32], z: &mut [f32]) {
        let (x, w) = (&x[..CIN * H * W], &w[..COUT * Self::CIN_G * KH * KW]);
        let z = &mut z[..COUT * Self::OH * Self::OW];
        for o in 0..COUT {
            let g = o / Self::COUT_G;
            for oh in 0..Self::OH {
                for ow in 0..Self::OW {
                    let mut acc = 0.0;
                    for c in 0..Self::CIN_G {
                        let channel = g * Self::CIN_G + c;
                        for kh in 0..KH {
                            for kw in 0..KW {
                                if let Some((ih, iw)) = Self::source(oh, ow, kh, kw) {
                                    acc += w[((o * Self::CIN_G + c) * KH + kh) * KW + kw]
                                        * x[(channel * H + ih) * W + iw];
                                }
                            }
                        }
                    }
                    z[(o * Self::OH + oh) * Self::OW + ow] = acc;
                }
            }
        }
    }

    fn forward_axpy(x: &[f32], w: &[f32], z: &mut [f32]) {
        let (x, w) = (&x[..CIN * H * W], &w[..COUT * Self::CIN_G * KH * KW]);
        let z = &mut z[..COUT * Self::OH * Self::OW];
        z.fill(0.0);
        for o in 0..COUT {
            let g = o / Self::COUT_G;
            let z_plane = &mut z[o * Self::OH * Self::OW..][..Self::OH * Self::OW];
            for c in 0..Self::CIN_G {
                let x_plane = &x[(g * Self::CIN_G + c) * H * W..][..H * W];
                for kh in 0..KH {
                    for kw in 0..KW {
                        let tap = w[((o * Self::CIN_G + c) * KH + kh) * KW + kw];
                        let (lo, hi) = Self::columns(kw);
                        for oh in 0..Self::OH {
                            let Some(ih) = (oh * SH + kh).checked_sub(PH).filter(|&i| i < H) else {
                                continue;
                            };
                            let z_row = &mut z_plane[oh * Self::OW..][..Self::OW];
                            let x_row = &x_plane[ih * W..][..W];
                            let first = lo * SW + kw - PW;
                            for (z, x) in z_row[lo..hi]
                                .iter_mut()
                                .zip(x_row[first..].iter().step_by(SW))
                            {
                                *z += tap * x;
                            }
                        }
                    }
                }
            }
        }
    }

    fn grad_input_gather(w: &[f32], dz: &[f32], dx: &mut [f32]) {
        let (w, dz) = (
            &w[..COUT * Self::CIN_G * KH * KW],
            &dz[..COUT * Self::OH * Self::OW],
        );
        let dx = &mut dx[..CIN * H * W];
        for channel in 0..CIN {
            let (g, c) = (channel / Self::CIN_G, channel % Self::CIN_G);
            for ih in 0..H {
                for iw in 0..W {
                    let mut acc = 0.0;
                    for o in g * Self::COUT_G..(g + 1) * Self::COUT_G {
                        for kh in 0..KH {
                            let Some(reach) = (ih + PH).checked_sub(kh) else {
                                continue;
                            };
                            if reach % SH != 0 || reach / SH >= Self::OH {
                                continue;
                            }
                            let oh = reach / SH;
                            for kw in 0..KW {
                                let Some(reach) = (iw + PW).checked_sub(kw) else {
                                    continue;
                                };
                                if reach % SW != 0 || reach / SW >= Self::OW {
                                    continue;
                                }
                                let ow = reach / SW;
                                acc += dz[(o * Self::OH + oh) * Self::OW + ow]
                                    * w[((o * Self::CIN_G + c) * KH + kh) * KW + kw];
                            }
                        }
                    }
                    dx[(channel * H + ih) * W + iw] = acc;
                }
            }
        }
    }

    fn grad_input_axpy(w: &[f32], dz: &[f32], dx: &mut [f32]) {
        let (w, dz) = (
            &w[..COUT * Self::CIN_G * KH * KW],
            &dz[..COUT * Self::OH * Self::OW],
        );
        let dx = &mut dx[..CIN * H * W];
        dx.fill(0.0);
        for o in 0..COUT {
            let g = o / Self::COUT_G;
            let d_plane = &dz[o * Self::OH * Self::OW..][..Self::OH * Self::OW];
            for c in 0..Self::CIN_G {
                let dx_plane = &mut dx[(g * Self::CIN_G + c) * H * W..][..H * W];
                for kh in 0..KH {
                    for kw in 0..KW {
                        let tap = w[((o * Self::CIN_G + c) * KH + kh) * KW + kw];
                        let (lo, hi) = Self::columns(kw);
                        for oh in 0..Self::OH {
                            let Some(ih) = (oh * SH + kh).checked_sub(PH).filter(|&i| i < H) else {
                                continue;
                            };
                            let d_row = &d_plane[oh * Self::OW..][..Self::OW];
                            let dx_row = &mut dx_plane[ih * W..][..W];
                            let first = lo * SW + kw - PW;
                            for (dx, d) in
                                dx_row[first..].iter_mut().step_by(SW).zip(&d_row[lo..hi])
                            {
                                *dx += d * tap;
                            }
                        }
                    }
                }
            }
        }
    }

    fn grad_weight_gather(x: &[f32], dz: &[f32], dw: &mut [f32]) {
        let (x, dz) = (&x[..CIN * H * W], &dz[..COUT * Self::OH * Self::OW]);
        let dw = &mut dw[..COUT * Self::CIN_G * KH * KW];
        for o in 0..COUT {
            let g = o / Self::COUT_G;
            for c in 0..Self::CIN_G {
                let channel = g * Self::CIN_G + c;
                for kh in 0..KH {
                    for kw in 0..KW {
                        let mut acc = 0.0;
                        for oh in 0..Self::OH {
                            for ow in 0..Self::OW {
                                if let Some((ih, iw)) = Self::source(oh, ow, kh, kw) {
                                    acc += dz[(o * Self::OH + oh) * Self::OW + ow]
                                        * x[(channel * H + ih) * W + iw];
                                }
                            }
                        }
                        dw[((o * Self::CIN_G + c) * KH + kh) * KW + kw] = acc;
                    }
                }
            }
        }
    }

    fn grad_weight_rows(x: &[f32], dz: &[f32], dw: &mut [f32]) {
        let (x, dz) = (&x[..CIN * H * W], &dz[..COUT * Self::OH * Self::OW]);
        let dw = &mut dw[..COUT * Self::CIN_G * KH * KW];
        for o in 0..COUT {
            let g = o / Self::COUT_G;
            let d_plane = &dz[o * Self::OH * Self::OW..][..Self::OH * Self::OW];
            for c in 0..Self::CIN_G {
                let x_plane = &x[(g * Self::CIN_G + c) * H * W..][..H * W];
                for kh in 0..KH {
                    for kw in 0..KW {
                        let (lo, hi) = Self::columns(kw);
                        let mut acc = 0.0;
                        for oh in 0..Self::OH {
                            let Some(ih) = (oh * SH + kh).checked_sub(PH).filter(|&i| i < H) else {
                                continue;
                            };
                            let d_row = &d_plane[oh * Self::OW..][..Self::OW];
                            let x_row = &x_plane[ih * W..][..W];
                            let first = lo * SW + kw - PW;
                            for (d, x) in
                                d_row[lo..hi].iter().zip(x_row[first..].iter().step_by(SW))
                            {
                                acc += d * x;
                            }
                        }
                        dw[((o * Self::CIN_G + c) * KH + kh) * KW + kw] = acc;
                    }
                }
            }
        }
    }
}

/// Deterministic numbers in `[-0.5, 0.5)`.
fn numbers(len: usize, seed: usize) -> Vec<f32> {
    (0..len)
        .map(|i| f32::from(u8::try_from((i * 7 + seed) % 13).unwrap_or(0)) / 13.0 - 0.5)
        .collect()
}

/// A group of kernels that compute the same tensor, with the defaults kept short: the
/// kernels are small and the machine is shared, so many short samples beat a few long ones.
fn group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(30);
    group
}

/// Checks `kernel` against the reference, then times it; the kernel is inlined into the
/// timing loop, so even the smallest layer is timed without a call through a pointer.
fn run(
    group: &mut BenchmarkGroup<WallTime>,
    label: &str,
    reference: &[f32],
    mut kernel: impl FnMut(&mut [f32]),
) {
    let mut out = vec![0.0; reference.len()];
    kernel(&mut out);
    let error = out
        .iter()
        .zip(reference)
        .map(|(o, r)| (o - r).abs())
        .fold(0.0f32, f32::max);
    assert!(
        error < 1e-3,
        "{label} differs from the reference by {error}"
    );
    group.bench_function(label, |bencher| {
        bencher.iter(|| kernel(black_box(&mut out)));
    });
}

macro_rules! shape {
    ($c:ident, $name:literal, [$($direct:tt)*], $($arguments:tt)*) => {{
        convsym::conv!(struct Layer; $($arguments)*);
        type D = Direct<$($direct)*>;
        let spec = Layer.spec();
        let (x, w, dz) = (
            numbers(Layer::INPUT_LEN, 1),
            numbers(Layer::WEIGHT_LEN, 2),
            numbers(Layer::OUTPUT_LEN, 3),
        );
        let (xa, wa, dza): (&[f32; Layer::INPUT_LEN], &[f32; Layer::WEIGHT_LEN], &[f32; Layer::OUTPUT_LEN]) =
            (array(&x), array(&w), array(&dz));

        let reference = convsym::reference::forward(&spec, &x, &w, &[]);
        let mut g = group($c, concat!($name, "/forward"));
        run(&mut g, "generated", &reference, |z| Layer.forward_into(black_box(xa), black_box(wa), array_mut(z)));
        run(&mut g, "direct gather", &reference, |z| D::forward_gather(black_box(&x), black_box(&w), z));
        run(&mut g, "direct axpy", &reference, |z| D::forward_axpy(black_box(&x), black_box(&w), z));
        run(&mut g, "reference", &reference, |z| {
            z.copy_from_slice(&convsym::reference::forward(&spec, black_box(&x), black_box(&w), &[]));
        });
        g.finish();

        let reference = convsym::reference::grad_input(&spec, &w, &dz);
        let mut g = group($c, concat!($name, "/grad_input"));
        run(&mut g, "generated", &reference, |dx| Layer.grad_input_into(black_box(wa), black_box(dza), array_mut(dx)));
        run(&mut g, "direct gather", &reference, |dx| D::grad_input_gather(black_box(&w), black_box(&dz), dx));
        run(&mut g, "direct axpy", &reference, |dx| D::grad_input_axpy(black_box(&w), black_box(&dz), dx));
        run(&mut g, "reference", &reference, |dx| {
            dx.copy_from_slice(&convsym::reference::grad_input(&spec, black_box(&w), black_box(&dz)));
        });
        g.finish();

        let reference = convsym::reference::grad_weight(&spec, &x, &dz);
        let mut g = group($c, concat!($name, "/grad_weight"));
        run(&mut g, "generated", &reference, |dw| Layer.grad_weight_into(black_box(xa), black_box(dza), array_mut(dw)));
        run(&mut g, "direct gather", &reference, |dw| D::grad_weight_gather(black_box(&x), black_box(&dz), dw));
        run(&mut g, "direct rows", &reference, |dw| D::grad_weight_rows(black_box(&x), black_box(&dz), dw));
        run(&mut g, "reference", &reference, |dw| {
            dw.copy_from_slice(&convsym::reference::grad_weight(&spec, black_box(&x), black_box(&dz)));
        });
        g.finish();
    }};
}

fn array<const N: usize>(slice: &[f32]) -> &[f32; N] {
    slice
        .try_into()
        .expect("the bench sizes its vectors by the layer")
}

fn array_mut<const N: usize>(slice: &mut [f32]) -> &mut [f32; N] {
    slice
        .try_into()
        .expect("the bench sizes its vectors by the layer")
}

fn bench(c: &mut Criterion) {
    // Direct<CIN, COUT, GROUPS, H, W, KH, KW, SH, SW, PH, PW>
    shape!(c, "seed 5x5 k3 s2", [1, 1, 1, 5, 5, 3, 3, 2, 2, 0, 0], in = 5, k = 3, stride = 2);
    shape!(c, "r1 6x6 k3 s2", [1, 1, 1, 6, 6, 3, 3, 2, 2, 0, 0], in = 6, k = 3, stride = 2);
    shape!(c, "lenet c1 28x28 1-6 k5", [1, 6, 1, 28, 28, 5, 5, 1, 1, 0, 0], in = 28, k = 5, cout = 6);
    shape!(
        c,
        "lenet c3 14x14 6-16 k5",
        [6, 16, 1, 14, 14, 5, 5, 1, 1, 0, 0],
        in = 14, k = 5, cin = 6, cout = 16
    );
    shape!(
        c,
        "32x32 8-16 k3 s2 pad1",
        [8, 16, 1, 32, 32, 3, 3, 2, 2, 1, 1],
        in = 32, k = 3, stride = 2, pad = 1, cin = 8, cout = 16
    );
    shape!(
        c,
        "depthwise 16x16 32 k3 pad1",
        [32, 32, 32, 16, 16, 3, 3, 1, 1, 1, 1],
        in = 16, k = 3, pad = 1, cin = 32, cout = 32, groups = 32
    );
    shape!(
        c,
        "1d 1024 1-8 k9 s4",
        [1, 8, 1, 1, 1024, 1, 9, 1, 4, 0, 0],
        in = (1024,), k = 9, stride = 4, cout = 8
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
