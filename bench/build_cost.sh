#!/usr/bin/env bash
# The release build time each layer of the benchmark suite adds (issue 9: under 3 s per
# `conv!`). For each layer, a one-layer binary that calls every `f32` kernel of it (the
# `_into` forms and the `_par_into` forms, so every generated function is compiled) is
# built in release, best of CONVSYM_REPEATS (default 2), minus the same binary with the
# smallest layer of the suite (`in=5 k=3 stride=2`, unrolled), in processor seconds
# (user + system, which another build on a shared machine inflates far less than wall-clock
# time) and wall-clock seconds, with the build's peak memory.
#
#   bash bench/build_cost.sh                       # prints a Markdown table
#   CONVSYM_ONE_THREAD=1 bash bench/build_cost.sh  # without the `_par_into` forms
#   CONVSYM_LAYERS='resnet|dcgan' bash bench/build_cost.sh  # the layers whose names match
#
# The layers are those of bench/src/shapes.rs (kept in step by hand: the list below).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="${CONVSYM_MEASURE_DIR:-/tmp/convsym-build-cost}"
repeats="${CONVSYM_REPEATS:-2}"
mkdir -p "$work/src"
cat > "$work/Cargo.toml" <<TOML
[package]
name = "build-cost"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
convsym = { path = "$root" }
TOML

program() { # the binary of one layer ($1: its keys)
  local parallel="Layer.forward_par_into(array(&x), array(&w), array_mut(&mut z));
        Layer.grad_input_par_into(array(&w), array(&dz), array_mut(&mut dx));
        Layer.grad_weight_par_into(array(&x), array(&dz), array_mut(&mut dw));"
  [ -z "${CONVSYM_ONE_THREAD:-}" ] || parallel=""
  cat > "$work/src/main.rs" <<RUST
use std::hint::black_box;

convsym::conv!(struct Layer; $1);

fn array<const N: usize>(values: &[f32]) -> &[f32; N] {
    values.try_into().expect("sized by the layer's constants")
}

fn array_mut<const N: usize>(values: &mut [f32]) -> &mut [f32; N] {
    values.try_into().expect("sized by the layer's constants")
}

fn main() {
    let x = vec![1.0_f32; Layer::INPUT_LEN];
    let w = vec![1.0_f32; Layer::WEIGHT_LEN];
    let dz = vec![1.0_f32; Layer::OUTPUT_LEN];
    let (mut z, mut dx, mut dw) = (dz.clone(), x.clone(), w.clone());
    let parallel = black_box(std::env::args().count() > 1);
    if parallel {
        $parallel
    } else {
        Layer.forward_into(array(&x), array(&w), array_mut(&mut z));
        Layer.grad_input_into(array(&w), array(&dz), array_mut(&mut dx));
        Layer.grad_weight_into(array(&x), array(&dz), array_mut(&mut dw));
    }
    println!("{}", z[0] + dx[0] + dw[0]);
}
RUST
}

build() { # prints "processor-seconds wall-seconds peak-MiB", the best of $repeats builds
  local best="" attempt start wall processor memory
  for ((attempt = 0; attempt < repeats; attempt++)); do
    touch "$work/src/main.rs"
    start=$(date +%s.%N)
    /usr/bin/time -f '%U %S %M' -o "$work/time" cargo build --release --quiet 2>> "$work/build.log"
    wall=$(echo "$(date +%s.%N) - $start" | bc)
    processor=$(tail -1 "$work/time" | awk '{ print $1 + $2 }')
    memory=$(( $(tail -1 "$work/time" | awk '{ print $3 }') / 1024 ))
    if [ -z "$best" ] || [ "$(echo "$processor < ${best%% *}" | bc)" = 1 ]; then
      best="$processor $wall $memory"
    fi
  done
  echo "$best"
}

cd "$work"
: > build.log
program "in = 5, k = 3, stride = 2"
cargo build --release --quiet 2>> build.log # the dependencies, once
read -r base_cpu base_wall _ <<< "$(build)"
echo "| layer | keys | added processor s | added wall-clock s | peak MiB |"
echo "|---|---|---:|---:|---:|"
while IFS='|' read -r name keys; do
  [[ "$name" =~ ${CONVSYM_LAYERS:-.} ]] || continue
  program "$keys"
  read -r cpu wall memory <<< "$(build)"
  printf '| %s | `%s` | %.1f | %.1f | %d |\n' "$name" "$keys" \
    "$(echo "$cpu - $base_cpu" | bc)" "$(echo "$wall - $base_wall" | bc)" "$memory"
done <<'LAYERS'
remainder|in = 6, k = 3, stride = 2
lenet-c1|in = 28, k = 5, cin = 1, cout = 6
lenet-c3|in = 14, k = 5, cin = 6, cout = 16
strided-padded|in = 32, k = 3, stride = 2, pad = 1, cin = 8, cout = 16
depthwise|in = 16, k = 3, pad = 1, cin = 32, cout = 32, groups = 32
audio-1d|in = (1024,), k = 9, stride = 4, cin = 1, cout = 8
resnet-stem|in = 224, k = 7, stride = 2, pad = 3, cin = 3, cout = 64
resnet-3x3|in = 56, k = 3, pad = 1, cin = 64, cout = 64
resnet-1x1|in = 56, k = 1, cin = 256, cout = 64
resnet-down|in = 56, k = 3, stride = 2, pad = 1, cin = 128, cout = 128
mobilenet-dw|in = 56, k = 3, pad = 1, cin = 144, cout = 144, groups = 144
speech-1d|in = (8000,), k = 11, pad = 5, cin = 32, cout = 32
dcgan-up|in = 28, k = 4, stride = 2, pad = 1, cin = 64, cout = 32, transposed
upsample-1d|in = (2000,), k = 8, stride = 4, pad = 2, cin = 16, cout = 8, transposed
LAYERS
