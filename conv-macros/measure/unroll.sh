#!/usr/bin/env bash
# Build time and run time of `conv!` kernels, unrolled and as loops, for a ladder of layer
# sizes: the data behind `unroll = auto`'s budget (conv-macros/src/spec.rs, README).
#
#   conv-macros/measure/unroll.sh [sizes…]        default: 6 10 14 18 22 26 34 46 66
#
# Each size is `in = N, k = 3` (2-D, one channel): (N − 2)² · 9 multiply-adds per kernel;
# a last row is a big layer, `in = 224, k = 3, cin = 3, cout = 8` with `unroll = auto`.
# For each size and mode a one-layer binary is built in debug and in release (the
# dependencies are built once beforehand, so the time is the layer's crate alone) and the
# release one is run: it times `forward_into` and `backward_into` in f32 and the runtime's
# numeric reference on the same data. Prints one line per size and mode: multiply-adds,
# debug and release build seconds, peak release build memory (MiB), forward and backward
# nanoseconds, and the reference's. Run it on an otherwise idle machine.
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

convsym::conv!(struct Layer; $1, unroll = $2);

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
layer "in = 6, k = 3" loops
cargo build --quiet && cargo build --release --quiet # the dependencies, once

seconds() { # command…: runs it, prints its wall-clock seconds
  local start
  start=$(date +%s.%N)
  "$@" 2>> "$work/build.log" || return 1
  echo "$(date +%s.%N) - $start" | bc
}

measure() { # label arguments mode
  layer "$2" "$3"
  : > "$work/build.log"
  local debug release memory
  if ! debug=$(seconds cargo build --quiet) ||
    ! release=$(seconds /usr/bin/time -f '%M' -o "$work/memory" cargo build --release --quiet); then
    printf '%-6s %-6s build failed: %s\n' "$1" "$3" "$(grep -m1 error "$work/build.log")"
    return
  fi
  memory=$(( $(tail -1 "$work/memory") / 1024 ))
  read -r madds forward backward reference_forward reference_backward < <("$work/target/release/measure")
  printf '%-6s %-6s %9s %8.1f %10.1f %9s %11s %12s %11s %11s\n' "$1" "$3" "$madds" "$debug" "$release" \
    "$memory" "$forward" "$backward" "$reference_forward" "$reference_backward"
}

printf '%-6s %-6s %9s %8s %10s %9s %11s %12s %11s %11s\n' in unroll madds debug_s release_s peak_MiB \
  forward_ns backward_ns ref_fwd_ns ref_bwd_ns
for size in "${sizes[@]}"; do
  for mode in full loops; do
    measure "$size" "in = $size, k = 3" "$mode"
  done
done
measure 224 "in = 224, k = 3, cin = 3, cout = 8" auto
