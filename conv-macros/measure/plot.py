#!/usr/bin/env python3
"""Draws build-cost.svg from unroll.csv (written by unroll.sh), with no dependencies.

Left: the release build time one `conv!` adds (processor time), against its size (multiply-adds per kernel
plus array elements, what `unroll`'s budget and limit count), for `unroll = full` and
`unroll = loops`, with the 1 s that `auto` stays under, its budget and `full`'s limit. Right: the time per call of the three kernels together (forward, input
gradient, weight gradient), f32, for both modes.

    python3 conv-macros/measure/plot.py conv-macros/measure/unroll.csv build-cost.svg
"""

import csv
import math
import re
import sys
from pathlib import Path

WIDTH, HEIGHT = 920, 380
PANEL = 380  # width of one plot area
MARGIN = dict(left=70, right=20, top=40, bottom=55)
COLORS = {"full": "#d1495b", "loops": "#00798c"}


def constant(root, name):
    """A constant (BUDGET, LIMIT) from conv-macros/src/spec.rs, so the plot follows the code."""
    text = (root / "conv-macros/src/spec.rs").read_text()
    match = re.search(rf"const {name}: usize = ([0-9_]+);", text)
    return int(match.group(1).replace("_", "")) if match else None


def log_ticks(low, high):
    return [10**e for e in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)]


def label(value):
    if value >= 1e6:
        return f"{value / 1e6:g}M"
    if value >= 1e3:
        return f"{value / 1e3:g}k"
    return f"{value:g}"


def panel(x0, title, xlabel, ylabel, series, ylog, hlines=(), vlines=()):
    """One plot area at horizontal offset x0; series: {mode: [(x, y)]}."""
    out = []
    points = [p for values in series.values() for p in values]
    xs = [p[0] for p in points] + [v for v, _ in vlines]
    ys = [p[1] for p in points] + [h for h, _ in hlines]
    xlo, xhi = min(xs) / 1.5, max(xs) * 1.5
    if ylog:
        ylo, yhi = min(ys) / 1.5, max(ys) * 1.5
    else:
        ylo, yhi = 0.0, max(ys) * 1.1
    top, bottom = MARGIN["top"], HEIGHT - MARGIN["bottom"]
    left, right = x0 + MARGIN["left"], x0 + PANEL

    def sx(x):
        return left + (math.log10(x) - math.log10(xlo)) / (math.log10(xhi) - math.log10(xlo)) * (right - left)

    def sy(y):
        if ylog:
            t = (math.log10(y) - math.log10(ylo)) / (math.log10(yhi) - math.log10(ylo))
        else:
            t = (y - ylo) / (yhi - ylo)
        return bottom - t * (bottom - top)

    out.append(f'<text x="{(left + right) / 2}" y="22" text-anchor="middle" font-weight="bold">{title}</text>')
    out.append(f'<rect x="{left}" y="{top}" width="{right - left}" height="{bottom - top}" fill="none" stroke="#444"/>')
    for tick in log_ticks(xlo, xhi):
        if xlo <= tick <= xhi:
            x = sx(tick)
            out.append(f'<line x1="{x}" y1="{top}" x2="{x}" y2="{bottom}" stroke="#ddd"/>')
            out.append(f'<text x="{x}" y="{bottom + 16}" text-anchor="middle">{label(tick)}</text>')
    yticks = log_ticks(ylo, yhi) if ylog else [ylo + i * (yhi - ylo) / 5 for i in range(6)]
    for tick in yticks:
        if ylo <= tick <= yhi:
            y = sy(tick)
            out.append(f'<line x1="{left}" y1="{y}" x2="{right}" y2="{y}" stroke="#ddd"/>')
            out.append(f'<text x="{left - 6}" y="{y + 4}" text-anchor="end">{label(round(tick, 1))}</text>')
    for value, text in hlines:
        y = sy(value)
        out.append(f'<line x1="{left}" y1="{y}" x2="{right}" y2="{y}" stroke="#555" stroke-dasharray="5,4"/>')
        out.append(f'<text x="{left + 4}" y="{y - 4}">{text}</text>')
    for value, text in vlines:
        x = sx(value)
        out.append(f'<line x1="{x}" y1="{top}" x2="{x}" y2="{bottom}" stroke="#555" stroke-dasharray="2,3"/>')
        out.append(f'<text x="{x + 4}" y="{top + 14}">{text}</text>')
    for mode, values in series.items():
        values = sorted(values)
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in values)
        out.append(f'<polyline points="{path}" fill="none" stroke="{COLORS[mode]}" stroke-width="2"/>')
        for x, y in values:
            out.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3" fill="{COLORS[mode]}"/>')
    out.append(f'<text x="{(left + right) / 2}" y="{HEIGHT - 14}" text-anchor="middle">{xlabel}</text>')
    out.append(
        f'<text x="{x0 + 16}" y="{(top + bottom) / 2}" text-anchor="middle" '
        f'transform="rotate(-90 {x0 + 16} {(top + bottom) / 2})">{ylabel}</text>'
    )
    return out


def main():
    source, target = Path(sys.argv[1]), Path(sys.argv[2])
    root = Path(__file__).resolve().parents[2]
    rows = list(csv.DictReader(source.open()))
    build = {"full": [], "loops": []}
    speed = {"full": [], "loops": []}
    for row in rows:
        mode, size = row["unroll"], float(row["size"])
        if mode not in build:
            continue
        build[mode].append((size, max(float(row["added_release_cpu_s"]), 0.05)))
        total = sum(float(row[key]) for key in ("forward_ns", "grad_input_ns", "grad_weight_ns"))
        speed[mode].append((size, total))
    budget, limit = constant(root, "BUDGET"), constant(root, "LIMIT")
    vlines = [(budget, f"auto: full up to {budget}")] if budget else []
    vlines += [(limit, "full: limit")] if limit else []
    xlabel = "multiply-adds + array elements"
    body = panel(0, "Release build time one conv! adds", xlabel, "processor seconds",
                 build, ylog=True, hlines=[(1.0, "1 s")], vlines=vlines)
    body += panel(PANEL + 80, "Forward + both gradients, f32, per call", xlabel,
                  "nanoseconds", speed, ylog=True, vlines=vlines)
    legend = []
    for index, (mode, color) in enumerate(COLORS.items()):
        x, y = PANEL + 80 + MARGIN["left"] + 10, MARGIN["top"] + 30 + index * 18
        legend.append(f'<rect x="{x}" y="{y - 10}" width="12" height="12" fill="{color}"/>')
        legend.append(f'<text x="{x + 16}" y="{y}">{mode}</text>')
    svg = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        *body,
        *legend,
        "</svg>",
    ]
    target.write_text("\n".join(svg) + "\n")


if __name__ == "__main__":
    main()
