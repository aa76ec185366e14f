#!/usr/bin/env python3
"""Markdown tables from the `kernels` benchmarks' criterion output.

Reads target/criterion/<layer>_<pass>/<implementation>/new/{benchmark,estimates}.json as
`cargo bench -p convsym-bench --bench kernels` leaves them, and prints one table per layer:
each implementation's median time per pass, its ratio to the fastest baseline of that pass
(`conv!`, the generated kernels, is never the baseline), and the share of the machine bound
it reaches; before them, `conv!`'s median per pass against each baseline in turn (oneDNN's
column is empty unless the suite ran with `--features onednn`). The bound is the time the pass's multiply-adds take at the core's peak f32
FMA rate: multiply-adds / (lanes x FMA units x clock).

    python3 bench/report.py [--criterion target/criterion] [--clock-ghz 4.2] ...
    python3 bench/report.py --baseline NAME --peak 58.5   # the bound as peak.c measured it

The layers, their order and descriptions come from bench/src/shapes.rs. Standard library
only.
"""

import argparse
import json
import pathlib
import re
import sys

PASSES = [("forward", "forward"), ("dx", "input gradient"), ("dw", "weight gradient")]
# Row order; anything else criterion holds for these groups comes after, by name.
IMPLEMENTATIONS = ["conv!", "direct", "direct rows", "im2col+gemm", "candle", "oneDNN", "reference"]
GENERATED = "conv!"


def layers(shapes_rs):
    """(name, spec, why) for each layer in SHAPES, in order."""
    text = shapes_rs.read_text(encoding="utf-8")
    pattern = re.compile(r'name: "([^"]+)",\s*spec: "([^"]+)",\s*why: "([^"]+)"')
    return pattern.findall(text)


def load(criterion, baseline):
    """{(group, implementation): (median ns, ci half-width ns, multiply-adds)}."""
    results = {}
    for path in criterion.glob(f"*/*/{baseline}/benchmark.json"):
        benchmark = json.loads(path.read_text(encoding="utf-8"))
        estimates = json.loads((path.parent / "estimates.json").read_text(encoding="utf-8"))
        median = estimates["median"]
        interval = median["confidence_interval"]
        throughput = benchmark.get("throughput") or {}
        results[(benchmark["group_id"], benchmark["function_id"])] = (
            median["point_estimate"],
            (interval["upper_bound"] - interval["lower_bound"]) / 2,
            throughput.get("Elements"),
        )
    return results


def duration(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def percent(share):
    return f"{share:.2g}%" if share < 10 else f"{share:.0f}%"


def table(name, spec, why, results, peak):
    """The markdown for one layer, or None if criterion has nothing for it."""
    groups = {label: f"{name}/{label}" for label, _ in PASSES}
    found = {key: value for key, value in results.items() if key[0] in groups.values()}
    if not found:
        return None
    implementations = sorted(
        {implementation for _, implementation in found},
        key=lambda i: (IMPLEMENTATIONS.index(i) if i in IMPLEMENTATIONS else 99, i),
    )
    multiply_adds = next(value[2] for value in found.values() if value[2])
    bound = multiply_adds / peak
    lines = [
        f"### `{name}`: `{spec}`, {why}",
        "",
        f"{multiply_adds:,} multiply-adds per pass; machine bound {duration(bound)}.",
        "",
        "| | " + " | ".join(f"{title} | × best | % bound" for _, title in PASSES) + " |",
        "|---|" + "---:|---:|---:|" * len(PASSES),
    ]
    best = {}
    for label, _ in PASSES:
        times = [
            found[(groups[label], i)][0]
            for i in implementations
            if i != GENERATED and (groups[label], i) in found
        ]
        best[label] = min(times) if times else None
    for implementation in implementations:
        cells = []
        for label, _ in PASSES:
            value = found.get((groups[label], implementation))
            if value is None:
                cells += ["–", "–", "–"]
                continue
            median, half_width, _ = value
            noise = f" ±{100 * half_width / median:.0f}%"
            ratio = f"{median / best[label]:.2f}" if best[label] else "–"
            if median == best[label]:
                ratio = f"**{ratio}**"
            cells += [duration(median) + noise, ratio, percent(100 * bound / median)]
        lines.append(f"| {implementation} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def ran(names, results):
    """The layers criterion holds results for, in order: a run filtered to some layers
    (`-- dcgan-up`) leaves the others out of every table."""
    return [name for name in names
            if any(group.startswith(f"{name}/") for group, _ in results)]


def summary(names, results, peak):
    """One line per layer: the fastest baseline of each pass, its median and % bound."""
    lines = [
        "| layer | " + " | ".join(title for _, title in PASSES) + " |",
        "|---|" + "---|" * len(PASSES),
    ]
    for name in ran(names, results):
        cells = []
        for label, _ in PASSES:
            group = f"{name}/{label}"
            timed = [
                (value[0], implementation, value[2])
                for (g, implementation), value in results.items()
                if g == group and implementation != GENERATED
            ]
            if not timed:
                cells.append("–")
                continue
            median, implementation, multiply_adds = min(timed)
            share = percent(100 * multiply_adds / peak / median) if multiply_adds else "–"
            cells.append(f"{implementation} {duration(median)} ({share})")
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def against_each(names, results, peak):
    """conv! per layer and pass: its median, its share of the machine bound, and each
    baseline's median over conv!'s (above 1: conv! is faster); – where a baseline was not
    timed (oneDNN without `--features onednn`, the reference on the largest layers)."""
    baselines = [i for i in IMPLEMENTATIONS if i != GENERATED]
    baselines += sorted({i for (_, i) in results if i not in IMPLEMENTATIONS})
    lines = [
        "| layer | pass | conv! | % bound | " + " | ".join(baselines) + " |",
        "|---|---|---:|---:|" + "---:|" * len(baselines),
    ]
    for name in names:
        for label, _ in PASSES:
            group = f"{name}/{label}"
            generated = results.get((group, GENERATED))
            if generated is None:
                continue
            median, _, multiply_adds = generated
            share = percent(100 * multiply_adds / peak / median) if multiply_adds else "–"
            cells = []
            for baseline in baselines:
                value = results.get((group, baseline))
                cells.append(f"{value[0] / median:.2f}" if value else "–")
            lines.append(f"| `{name}` | {label} | {duration(median)} | {share} | "
                         + " | ".join(cells) + " |")
    return "\n".join(lines)


def targets(names, results):
    """conv! against issue 4's targets, one line per layer: for each pass, how many times
    faster than the fastest baseline (target: at least 1.5), and for each gradient, how
    many times the forward pass it takes (target: at most 2)."""
    lines = [
        "| layer | " + " | ".join(f"{title}: best baseline / conv!" for _, title in PASSES)
        + " | dx / forward | dw / forward |",
        "|---|" + "---:|" * (len(PASSES) + 2),
    ]
    mark = lambda ok: "" if ok else " ✗"
    for name in ran(names, results):
        medians = {}
        cells = []
        for label, _ in PASSES:
            group = f"{name}/{label}"
            generated = results.get((group, GENERATED))
            baselines = [value[0] for (g, i), value in results.items()
                         if g == group and i != GENERATED]
            if generated is None or not baselines:
                cells.append("–")
                continue
            medians[label] = generated[0]
            speedup = min(baselines) / generated[0]
            cells.append(f"{speedup:.2f}{mark(speedup >= 1.5)}")
        for label in ("dx", "dw"):
            if label in medians and "forward" in medians:
                ratio = medians[label] / medians["forward"]
                cells.append(f"{ratio:.2f}{mark(ratio <= 2)}")
            else:
                cells.append("–")
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    root = pathlib.Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--criterion", type=pathlib.Path, default=root / "target" / "criterion")
    parser.add_argument("--shapes", type=pathlib.Path, default=root / "bench" / "src" / "shapes.rs")
    parser.add_argument("--baseline", default="new",
                        help="a run saved with criterion's --save-baseline NAME (default: the last)")
    parser.add_argument("--clock-ghz", type=float, default=4.2, help="measured by bench/peak.c")
    parser.add_argument("--lanes", type=int, default=16, help="f32 lanes per FMA (512 bits)")
    parser.add_argument("--fma-units", type=int, default=2, help="FMA pipes per core")
    parser.add_argument("--peak", type=float,
                        help="the bound in G multiply-adds/s, as bench/peak.c prints it "
                             "(GFMA/s); replaces lanes x FMA units x clock")
    arguments = parser.parse_args()

    # Multiply-adds per ns.
    peak = arguments.peak or arguments.lanes * arguments.fma_units * arguments.clock_ghz
    results = load(arguments.criterion, arguments.baseline)
    if not results:
        sys.exit(f"no criterion results under {arguments.criterion}; run "
                 "`cargo bench -p convsym-bench --bench kernels` first")
    bound = (f"{peak:.1f} G multiply-adds/s, measured" if arguments.peak else
             f"{arguments.lanes} lanes × {arguments.fma_units} FMA units × "
             f"{arguments.clock_ghz} GHz = {peak:.1f} G multiply-adds/s")
    print(f"Medians of criterion's samples (± half the 95% confidence interval); × best: "
          f"ratio to the fastest baseline of the pass (bold); % bound: the machine bound "
          f"({bound}) over the median.")
    shapes = layers(arguments.shapes)
    print()
    print("`conv!` against the targets (✗: missed):")
    print()
    print(targets([name for name, _, _ in shapes], results))
    print()
    print("`conv!` against each baseline: the baseline's median over `conv!`'s "
          "(above 1: `conv!` is faster):")
    print()
    print(against_each([name for name, _, _ in shapes], results, peak))
    print()
    print("Fastest baseline per layer and pass (% of the machine bound):")
    print()
    print(summary([name for name, _, _ in shapes], results, peak))
    for name, spec, why in shapes:
        markdown = table(name, spec, why, results, peak)
        if markdown:
            print()
            print(markdown)


if __name__ == "__main__":
    main()
