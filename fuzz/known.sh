#!/usr/bin/env bash
# Runs the targets, built with `known-defects`, on one input per defect being fixed in
# issue 14, and says what each does. Today every one fails: the stack overflows on deep
# nesting (specification, command line, macro), `check` takes quadratic time over one long
# equation, reads `/dev/zero` until memory runs out, and echoes control bytes; and one
# found by the fuzzing itself, `conv!` expanding a long row slowly. Once the fixes are
# merged each should pass; then the feature and the caps it lifts can go.
set -uo pipefail
cd "$(dirname "$0")"

directory=target/known
mkdir -p "$directory"
python3 - "$directory" <<'PYTHON'
import sys
directory = sys.argv[1]
deep = 20000
cases = {
    "spec-deep-nesting": "in=" + "(" * deep + "5" + ")" * deep + " k=3",
    "cli-deep-nesting": "in=" + "(" * deep + "5" + ")" * deep + "\nk=3",
    # conv-macros' own parser overflows from about 7 000 levels in a fuzzer's main thread,
    # syn's token buffer from about 10 000.
    "macro_parse-deep-nesting": "in=" + "(" * 7000 + "5" + ")" * 7000 + ", k=3",
    "cli-endless-input": "check\n/dev/zero\nin=5\nk=3",
    # Found by this fuzzing (not one of issue 14's): the loop kernels' table of row blocks
    # grows with the row: past 2 GB here, seconds and hundreds of megabytes at a tenth.
    "macro_parse-long-row": "in=(100000000,) k=3",
    "check_notation-control-bytes": "z1 = w1*x1 \x1b[31m\x07\n",
    "check_notation-long-equation":
        "z1 = " + " + ".join(f"w1*x{i}" for i in range(1, 60001)) + "\n",
}
for name, text in cases.items():
    with open(f"{directory}/{name}", "w") as file:
        file.write(text)
PYTHON

cargo +nightly fuzz build --features known-defects || exit 1
mkdir -p target/logs
failing=0
total=0
for input in "$directory"/*; do
  name=$(basename "$input")
  target=${name%%-*}
  log="target/logs/known-$name.log"
  total=$((total + 1))
  if cargo +nightly fuzz run --features known-defects "$target" "$input" -- \
    -timeout=10 -rss_limit_mb=2048 < /dev/null > "$log" 2>&1; then
    echo "passes  $name"
  else
    failing=$((failing + 1))
    reason=$(grep -m1 -E 'SUMMARY|ERROR: libFuzzer|panicked at' "$log" | cut -c1-120)
    echo "FAILS   $name: $reason"
  fi
done
echo "$failing of $total known defects still show"
