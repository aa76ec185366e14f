#!/usr/bin/env bash
# Builds every fuzz target and runs each for SECONDS (default 60), one after the other;
# prints each one's executions per second and any crash, and exits non-zero on a finding.
#
#   fuzz/run.sh [SECONDS] [TARGET...]
#
# New inputs go to fuzz/target/corpus/<target>/, read together with the committed seeds
# in fuzz/corpus/<target>/ (which a run never writes); a crash's input goes to
# fuzz/artifacts/<target>/ and its output to fuzz/target/logs/<target>.log.
set -euo pipefail
cd "$(dirname "$0")"

seconds="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(spec check_notation cli macro_parse)
fi

# The longest input per target: a specification or a macro call is short; an argument
# vector or a page of equations longer. Either is room for nesting far past the 16 levels
# the parsers accept; fuzz/regressions.sh feeds the inputs longer than these.
max_len() {
  case "$1" in
    spec | macro_parse) echo 1024 ;;
    *) echo 4096 ;;
  esac
}

echo "== building the fuzz targets"
cargo +nightly fuzz build

mkdir -p target/logs
failed=()
summary=()
for target in "${targets[@]}"; do
  mkdir -p "target/corpus/$target" "corpus/$target"
  log="target/logs/$target.log"
  echo "== $target, ${seconds}s"
  status=0
  # Standard input is closed: nothing a target runs may wait on it.
  cargo +nightly fuzz run "$target" "target/corpus/$target" "corpus/$target" -- \
    -max_total_time="$seconds" -max_len="$(max_len "$target")" -timeout=10 \
    -print_final_stats=1 < /dev/null > "$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  if [ "$status" -eq 0 ]; then
    summary+=("$(printf '%-15s %10s runs %8s exec/s  ok' "$target" "${runs:-?}" "${speed:-?}")")
  else
    failed+=("$target")
    summary+=("$(printf '%-15s %10s runs %8s exec/s  FAILED (exit %s)' "$target" "${runs:-?}" "${speed:-?}" "$status")")
    echo "-- $target failed; the end of $log:"
    grep -E '^(==[0-9]+==ERROR|thread .* panicked|SUMMARY|artifact_prefix|Test unit written|ALARM|Slowest|Base64)' "$log" || true
    tail -40 "$log"
  fi
done

echo "== summary"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzzing found something in: ${failed[*]} (reproduce: cargo +nightly fuzz run TARGET fuzz/artifacts/TARGET/FILE)" >&2
  exit 1
fi
