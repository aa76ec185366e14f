#!/usr/bin/env bash
# Runs each fuzz target once on the inputs of the defects fixed in issue 14, and on the
# long row its fuzzing found, and exits non-zero if any of them fails again: nesting tens
# of thousands deep (specification, command line, macro), `check` over one equation of
# 60 000 terms (quadratic once), over `/dev/zero` (read whole once) and over control bytes
# (echoed once), `conv!` on a row of 10^8 positions, an axis whose count of
# multiply-adds passes `usize`, one of half a billion taps, a group of billions of
# channels, and operands whose element counts together pass `usize`.
#
#   fuzz/regressions.sh
#
# The inputs are written to fuzz/target/regressions/, each run's output to
# fuzz/target/logs/regression-<input>.log.
set -uo pipefail
cd "$(dirname "$0")"

directory=target/regressions
mkdir -p "$directory"
python3 - "$directory" <<'PYTHON'
import sys
directory = sys.argv[1]
deep = 20000
cases = {
    "spec-deep-nesting": "in=" + "(" * deep + "5" + ")" * deep + " k=3",
    "cli-deep-nesting": "in=" + "(" * deep + "5" + ")" * deep + "\nk=3",
    # conv-macros' own parser overflowed from about 7 000 levels in a fuzzer's main
    # thread, syn's token buffer from about 10 000.
    "macro_parse-deep-nesting": "in=" + "(" * 7000 + "5" + ")" * 7000 + ", k=3",
    "cli-endless-input": "check\n/dev/zero\nin=5\nk=3",
    # The loop kernels' table of row blocks grew with the row: past 2 GB here.
    "macro_parse-long-row": "in=(100000000,) k=3",
    # Found by the 30-minute macro_parse run: the count of multiply-adds walked every one
    # of 5.5 billion taps, most of which read only the `same` padding.
    "macro_parse-huge-kernel": "conv!(in=(64,) k=5555555552 pad=same)",
    # Found by the second 30-minute macro_parse run: one axis of 2^61 outputs and 12 taps
    # has more pairs than usize holds; the count of multiply-adds summed them in usize.
    "macro_parse-wide-axis": "in=(2147147482448243648) k=12 stride=1",
    # Found by the third: 482 436 412 taps, each reading the input, counted one by one.
    "macro_parse-long-kernel": "in=(214748243648) k=482436412 stride=1",
    # Found by the fourth: billions of output channels, each a candidate block size.
    "macro_parse-many-channels": "struct La; in=706 k=7 stride=8 pad=33 cout=8446744004",
    # Found by CI's macro_parse run: the input and weight elements together pass
    # `usize`, and the sum that chose where a wide kernel checks finiteness overflowed.
    "macro_parse-operands-past-usize":
        "pub struct Huge;\n            in = (379625062, 379625062, 16), k = 3, pad = 1,cout = 8, unroll = loops",
    "check_notation-control-bytes": "z1 = w1*x1 \x1b[31m\x07\n",
    "check_notation-long-equation":
        "z1 = " + " + ".join(f"w1*x{i}" for i in range(1, 60001)) + "\n",
}
for name, text in cases.items():
    with open(f"{directory}/{name}", "w") as file:
        file.write(text)
PYTHON

cargo +nightly fuzz build || exit 1
mkdir -p target/logs
failing=0
total=0
for input in "$directory"/*; do
  name=$(basename "$input")
  target=${name%%-*}
  log="target/logs/regression-$name.log"
  total=$((total + 1))
  if cargo +nightly fuzz run "$target" "$input" -- \
    -timeout=10 -rss_limit_mb=2048 < /dev/null > "$log" 2>&1; then
    echo "passes  $name"
  else
    failing=$((failing + 1))
    reason=$(grep -m1 -E 'SUMMARY|ERROR: libFuzzer|panicked at' "$log" | cut -c1-120)
    echo "FAILS   $name: $reason (see fuzz/$log)"
  fi
done
if [ "$failing" -ne 0 ]; then
  echo "$failing of $total regression inputs fail" >&2
  exit 1
fi
echo "all $total regression inputs pass"
