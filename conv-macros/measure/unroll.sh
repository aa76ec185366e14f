#!/usr/bin/env bash
# The cost of a `conv!` and the speed of what it generates, unrolled and as loops, for a
# ladder of layer sizes: the data behind `unroll = auto`'s budget (conv-macros/src/spec.rs)
# and the README's table and plot (build-cost.svg).
#
#   conv-macros/measure/unroll.sh [sizes…]        default: 6 10 14 18 22 26 30 34 40 66 130
#
# Each size is `in = N, k = 3` (2-D, one channel): (N − 2)² · 9 multiply-adds per kernel;
# then the rows `in = (N,), k = 1` for N in CONVSYM_ROWS (default: 255 5461), the shape
# with the most array elements per multiply-add, at the `auto` budget and the `full` limit;
# then the layers in CONVSYM_EXTRA (`;`-separated, unrolled only: the worst shapes of the
# README's table); a last row is a big layer, `in = 224, k = 3, cin = 3, cout = 8`, as
# loops. The size the
# budget and the limit count (conv-macros/src/spec.rs) is the multiply-adds plus the
# elements of the input, the weight and the output. For each layer and mode it measures
#   - the macro's expansion time (parse, validate, derive, lower: the ignored unit test
#     `expansion_time` in conv-macros/src/expand.rs, in release);
#   - the release build time the layer adds: a one-layer binary built twice (best of
#     CONVSYM_REPEATS, default 2) minus the same binary without the layer (the
#     dependencies are built once beforehand), in wall-clock seconds and in processor
#     seconds (user + system: far less inflated by other work on a shared machine), and
#     the build's peak memory;
#   - the f32 forward pass, input gradient and weight gradient per call, and the runtime's
#     numeric reference forward pass on the same data.
# Prints a Markdown table and writes it as CSV to conv-macros/measure/unroll.csv, then
# draws build-cost.svg beside the README from it (conv-macros/measure/plot.py). The machine
# should be otherwise idle; on a shared one, compare the modes within one run.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="${CONVSYM_MEASURE_DIR:-/tmp/convsym-measure}"
repeats="${CONVSYM_REPEATS:-2}"
csv="$root/conv-macros/measure/unroll.csv"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(6 10 14 18 22 26 30 34 40 66 130)
read -r -a rows <<< "${CONVSYM_ROWS:-255 5461}"
mkdir -p "$work/src"
cat > "$work/Cargo.toml" <<TOML
[package]
name = "measure"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
convsym = { path = "$root" }
TOML

harness() { # the timing code every binary shares
  cat <<'RUST'
use std::hint::black_box;
use std::time::Instant;

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

fn numbers(len: usize, seed: usize) -> Vec<f32> {
    (0..len).map(|i| ((i * 7 + seed) % 13) as f32 / 13.0 - 0.5).collect()
}
RUST
}

baseline() { # the binary without a layer
  { harness; cat <<'RUST'
fn main() {
    let x = numbers(64, 1);
    println!("{}", per_call(|| { black_box(&x); }));
}
RUST
  } > "$work/src/main.rs"
}

layer() { # arguments mode
  { harness; cat <<RUST
convsym::conv!(struct Layer; $1, unroll = $2);

fn main() {
    let spec = Layer.spec();
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
    let grad_input = per_call(|| {
        Layer.grad_input_into(black_box(wa), black_box(dza), (&mut dx[..]).try_into().unwrap());
        black_box(&dx);
    });
    let grad_weight = per_call(|| {
        Layer.grad_weight_into(black_box(xa), black_box(dza), (&mut dw[..]).try_into().unwrap());
        black_box(&dw);
    });
    let reference = per_call(|| {
        black_box(convsym::reference::forward(&spec, black_box(&x), black_box(&w), &[]));
    });
    println!(
        "{} {} {forward:.0} {grad_input:.0} {grad_weight:.0} {reference:.0}",
        Layer::MULTIPLY_ADDS,
        Layer::MULTIPLY_ADDS + Layer::INPUT_LEN + Layer::WEIGHT_LEN + Layer::OUTPUT_LEN
    );
}
RUST
  } > "$work/src/main.rs"
}

seconds() { # command…: runs it, prints its wall-clock seconds
  local start
  start=$(date +%s.%N)
  "$@" 2>> "$work/build.log" || return 1
  echo "$(date +%s.%N) - $start" | bc
}

release_build() { # the best of $repeats clean builds of the crate alone; sets $release, $cpu, $memory
  release=""
  cpu=""
  local attempt time processor
  for ((attempt = 0; attempt < repeats; attempt++)); do
    touch "$work/src/main.rs"
    time=$(seconds /usr/bin/time -f '%U %S %M' -o "$work/memory" cargo build --release --quiet) || return 1
    processor=$(tail -1 "$work/memory" | awk '{ print $1 + $2 }')
    if [ -z "$release" ] || [ "$(echo "$time < $release" | bc)" = 1 ]; then
      release=$time
    fi
    if [ -z "$cpu" ] || [ "$(echo "$processor < $cpu" | bc)" = 1 ]; then
      cpu=$processor
      memory=$(( $(tail -1 "$work/memory" | awk '{ print $3 }') / 1024 ))
    fi
  done
}

cd "$work"
layer "in = 6, k = 3" loops
cargo build --release --quiet # the dependencies, once
baseline
: > "$work/build.log"
release_build
base=$release
base_cpu=$cpu

# Expansion times, all layers in one run of the unit test.
layers="in = 224, k = 3, cin = 3, cout = 8"
for size in "${sizes[@]}"; do layers="$layers; in = $size, k = 3"; done
for row in "${rows[@]}"; do layers="$layers; in = ($row,), k = 1"; done
IFS=';' read -r -a extra <<< "${CONVSYM_EXTRA:-}"
for layer in "${extra[@]}"; do layers="$layers; $layer"; done
CONVSYM_LAYERS="$layers" cargo test --quiet --release --manifest-path "$root/Cargo.toml" \
  -p conv-macros -- --ignored --nocapture expansion_time 2>/dev/null | grep $'\t' > "$work/expansion.tsv"

measure() { # label arguments mode
  layer "$2" "$3"
  : > "$work/build.log"
  local expansion added added_cpu madds size forward grad_input grad_weight reference
  expansion=$(awk -F'\t' -v layer="$2" -v mode="$3" '$1 == layer && $2 == mode { printf "%.1f", $3 / 1000 }' "$work/expansion.tsv")
  if ! release_build; then
    printf '| %s | %s | | %s | build failed: %s |\n' "$1" "$3" "$expansion" "$(grep -m1 error "$work/build.log")"
    return
  fi
  added=$(echo "$release - $base" | bc)
  added_cpu=$(echo "$cpu - $base_cpu" | bc)
  read -r madds size forward grad_input grad_weight reference < <("$work/target/release/measure")
  printf '| %s | %s | %s | %s | %s | %.1f | %.1f | %s | %s | %s | %s | %s |\n' "$1" "$3" "$madds" \
    "$size" "$expansion" "$added" "$added_cpu" "$memory" "$forward" "$grad_input" "$grad_weight" "$reference"
  echo "\"$1\",$3,$madds,$size,$expansion,$added,$added_cpu,$memory,$forward,$grad_input,$grad_weight,$reference" >> "$csv"
}

echo "in,unroll,multiply_adds,size,expansion_ms,added_release_s,added_release_cpu_s,peak_MiB,forward_ns,grad_input_ns,grad_weight_ns,reference_forward_ns" > "$csv"
echo "| in | unroll | multiply-adds | size | expansion ms | added release build s | added, processor s | peak MiB | forward ns | input gradient ns | weight gradient ns | reference forward ns |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for size in "${sizes[@]}"; do
  # `unroll = full` is refused above a size of 16384 (conv-macros/src/spec.rs).
  if (( (size - 2) * (size - 2) * 10 + size * size + 9 <= 16384 )); then
    measure "$size" "in = $size, k = 3" full
  fi
  measure "$size" "in = $size, k = 3" loops
done
for row in "${rows[@]}"; do
  if (( row * 3 + 1 <= 16384 )); then
    measure "($row,)" "in = ($row,), k = 1" full
  fi
  measure "($row,)" "in = ($row,), k = 1" loops
done
for layer in "${extra[@]}"; do
  layer=$(echo "$layer" | xargs)
  [ -n "$layer" ] && measure "$layer" "$layer" full
done
measure "224 cin 3 cout 8" "in = 224, k = 3, cin = 3, cout = 8" loops
python3 "$root/conv-macros/measure/plot.py" "$csv" "$root/build-cost.svg"
