#!/usr/bin/env python3
"""Instructions per pass under callgrind, for comparisons that must hold under load.

For each layer, pass and implementation, runs the `instructions` bench binary under
`valgrind --tool=callgrind` twice, with 1 call and with 1 + CALLS calls, and prints the
difference divided by CALLS as markdown tables: instructions per call and per multiply-add.
The counts barely move with the machine's load, unlike wall-clock times; they are not
times (a vector FMA and a scalar add count the same), so compare implementations that
use the same kind of instructions, or read them next to criterion's medians.

    python3 bench/instructions.py [--layers seed lenet-c1] [--passes forward]
        [--implementations direct conv!] [--calls 4] [--jobs 2]

Needs valgrind. Standard library only.
"""

import argparse
import concurrent.futures
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile

PASSES = ["forward", "dx", "dw"]
IMPLEMENTATIONS = ["conv!", "direct", "direct rows", "im2col+gemm", "candle", "reference"]
ROOT = pathlib.Path(__file__).resolve().parent.parent


def layers():
    """(name, spec) for each layer in bench/src/shapes.rs, in order."""
    text = (ROOT / "bench" / "src" / "shapes.rs").read_text(encoding="utf-8")
    return re.findall(r'name: "([^"]+)",\s*spec: "([^"]+)"', text)


def build():
    """The path of the `instructions` bench binary, built in the bench profile."""
    command = ["cargo", "bench", "-p", "convsym-bench", "--bench", "instructions",
               "--no-run", "--message-format=json"]
    output = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True)
    for line in output.stdout.splitlines():
        message = json.loads(line)
        if message.get("reason") == "compiler-artifact" and message.get("executable") \
                and message["target"]["name"] == "instructions":
            return message["executable"]
    sys.exit("cargo built no `instructions` executable")


def count(executable, layer, pass_, implementation, calls):
    """Instructions callgrind counts for the whole run of `calls` calls, and the
    multiply-adds of one call, which the program prints."""
    with tempfile.TemporaryDirectory() as directory:
        out = pathlib.Path(directory) / "callgrind.out"
        environment = dict(os.environ, RAYON_NUM_THREADS="1", CANDLE_NUM_THREADS="1")
        run = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
             executable, layer, pass_, implementation, str(calls)],
            check=True, capture_output=True, env=environment, text=True,
        )
        multiply_adds = int(run.stdout.split()[-1])
        for line in out.read_text(encoding="utf-8").splitlines():
            if line.startswith("summary:") or line.startswith("totals:"):
                return int(line.split()[1]), multiply_adds
    raise RuntimeError(f"no instruction total for {layer} {pass_} {implementation}")


def per_call(executable, job, calls):
    layer, pass_, implementation = job
    once, multiply_adds = count(executable, layer, pass_, implementation, 1)
    more, _ = count(executable, layer, pass_, implementation, 1 + calls)
    return job, ((more - once) / calls, multiply_adds)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    known = [name for name, _ in layers()]
    parser.add_argument("--layers", nargs="+", default=known, choices=known)
    parser.add_argument("--passes", nargs="+", default=PASSES, choices=PASSES)
    parser.add_argument("--implementations", nargs="+", default=IMPLEMENTATIONS,
                        choices=IMPLEMENTATIONS)
    parser.add_argument("--calls", type=int, default=4, help="calls counted beyond the first")
    parser.add_argument("--jobs", type=int, default=2,
                        help="valgrind runs at once; counts do not depend on it")
    arguments = parser.parse_args()

    executable = build()
    jobs = [(layer, pass_, implementation)
            for layer in arguments.layers
            for pass_ in arguments.passes
            for implementation in arguments.implementations]
    with concurrent.futures.ThreadPoolExecutor(arguments.jobs) as pool:
        counts = dict(pool.map(lambda job: per_call(executable, job, arguments.calls), jobs))

    specs = dict(layers())
    print("Instructions per call (callgrind, the difference between 1 and "
          f"1 + {arguments.calls} calls, divided by {arguments.calls}), "
          "and per multiply-add.")
    for layer in arguments.layers:
        print()
        print(f"### `{layer}`: `{specs[layer]}`")
        print()
        print("| | " + " | ".join(f"{p} | per multiply-add" for p in arguments.passes) + " |")
        print("|---|" + "---:|---:|" * len(arguments.passes))
        for implementation in arguments.implementations:
            cells = []
            for pass_ in arguments.passes:
                instructions, multiply_adds = counts[(layer, pass_, implementation)]
                cells += [f"{instructions:,.0f}", f"{instructions / multiply_adds:.2f}"]
            print(f"| {implementation} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
