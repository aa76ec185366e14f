#!/usr/bin/env bash
# Build time and run time of `conv!` kernels, unrolled and as loops, for a ladder of layer
# sizes: the data behind `unroll = auto`'s budget (conv-macros/src/spec.rs, README).
#
#   conv-macros/measure/unroll.sh [sizes…]        default: 6 10 14 18 22 26 34 46 66
#
# Each size is `in = N, k = 3` (2-D, one channel): (N − 2)² · 9 multiply-adds per kernel.
# For each size and mode a one-layer binary is built with `cargo build --release` (the
# dependencies are built once beforehand, so the time is the layer's crate alone) and run:
# it times `forward` and `backward` in f32 and the runtime's numeric reference on the same
# data. Prints one line per size and mode: multiply-adds, build seconds, peak build memory
# (MiB), forward and backward nanoseconds, and the reference's.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="${CONVSYM_MEASURE_DIR:-/tmp/convsym-measure}"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(6 10 14 18 22 26 34 46 66)
mkdir -p "$work/src"
cat > "$work/Cargo.toml" <<TOML
[package]
name = "measure"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
convsym = { path = "$root" }

[profile.release]
codegen-units = 16
TOML

layer() { # size mode
  cat > "$work/src/main.rs" <<RUST
use std::hint::black_box;
use std::time::Instant;

convsym::conv!(struct Layer; in = $1, k = 3, unroll = $2);

fn per_call(mut f: impl FnMut()) -> f64 {
    let mut calls = 1u32;
    loop {
        let start = Instant::now();
        for _ in 0..calls {
            f();
        }
        let elapsed = start.elapsed().as_secs_f64();
        if elapsed > 0.2 {
            return elapsed * 1e9 / f64::from(calls);
        }
        calls *= 2;
    }
}

fn main() {
    let spec = Layer.spec();
    let numbers = |len: usize, seed: usize| -> Vec<f32> {
        (0..len).map(|i| ((i * 7 + seed) % 13) as f32 / 13.0 - 0.5).collect()
    };
    let x = numbers(Layer::INPUT_LEN, 1);
    let w = numbers(Layer::WEIGHT_LEN, 2);
    let dz = numbers(Layer::OUTPUT_LEN, 3);
    let (xa, wa, dza) = (
        <&[f32; Layer::INPUT_LEN]>::try_from(&x[..]).unwrap(),
        <&[f32; Layer::WEIGHT_LEN]>::try_from(&w[..]).unwrap(),
        <&[f32; Layer::OUTPUT_LEN]>::try_from(&dz[..]).unwrap(),
    );
    let mut z = vec![0.0f32; Layer::OUTPUT_LEN];
    let (mut dx, mut dw) = (vec![0.0f32; Layer::INPUT_LEN], vec![0.0f32; Layer::WEIGHT_LEN]);
    let forward = per_call(|| {
        Layer.forward_into(black_box(xa), black_box(wa), (&mut z[..]).try_into().unwrap());
        black_box(&z);
    });
    let backward = per_call(|| {
        Layer.backward_into(
            black_box(xa),
            black_box(wa),
            black_box(dza),
            (&mut dx[..]).try_into().unwrap(),
            (&mut dw[..]).try_into().unwrap(),
        );
        black_box((&dx, &dw));
    });
    let reference_forward = per_call(|| {
        black_box(convsym::reference::forward(&spec, black_box(&x), black_box(&w), &[]));
    });
    let reference_backward = per_call(|| {
        black_box(convsym::reference::grad_input(&spec, black_box(&w), black_box(&dz)));
        black_box(convsym::reference::grad_weight(&spec, black_box(&x), black_box(&dz)));
    });
    println!(
        "{} {forward:.0} {backward:.0} {reference_forward:.0} {reference_backward:.0}",
        Layer::MULTIPLY_ADDS
    );
}
RUST
}

cd "$work"
layer 6 loops
cargo build --release --quiet # the dependencies, once
printf '%-6s %-6s %9s %8s %9s %12s %12s %12s %12s\n' in unroll madds build_s peak_MiB forward_ns backward_ns ref_fwd_ns ref_bwd_ns
for size in "${sizes[@]}"; do
  for mode in full loops; do
    layer "$size" "$mode"
    start=$(date +%s.%N)
    if ! /usr/bin/time -f '%M' -o "$work/memory" cargo build --release --quiet 2> "$work/build.log"; then
      printf '%-6s %-6s build failed: %s\n' "$size" "$mode" "$(grep -m1 error "$work/build.log" || tail -1 "$work/build.log")"
      continue
    fi
    seconds=$(echo "$(date +%s.%N) - $start" | bc)
    memory=$(( $(tail -1 "$work/memory") / 1024 ))
    read -r madds forward backward reference_forward reference_backward < <("$work/target/release/measure")
    printf '%-6s %-6s %9s %8.1f %9s %12s %12s %12s %12s\n' "$size" "$mode" "$madds" "$seconds" "$memory" \
      "$forward" "$backward" "$reference_forward" "$reference_backward"
  done
done
