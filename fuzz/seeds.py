#!/usr/bin/env python3
"""Writes the seed corpora, fuzz/corpus/<target>/, from the README and the test fixtures.

Run from anywhere: `python3 fuzz/seeds.py`. It replaces the seed files it writes (named
after where each comes from) and leaves any other file in the corpus directories alone.
"""

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"

# The layers `convsym --help` and the README show.
EXAMPLES = [
    "in=5 k=3 stride=2",
    "in=6 k=3 stride=2",
    "in = (7, 6), k = 3, pad = same",
    "in=(11,) k=3 dilation=2 cin=2 cout=4",
    "in=224 k=7 stride=2 pad=3 cin=3 cout=64",
    "in=(7, 6) k=3 pad=same",
    "in=(32,) k=5 pad=same bias",
    "in=(8,) k=3 pad=same",
    "in=(30, 28), k=(3, 2), stride=2, pad=(2, 1), cin=4, cout=6, groups=2, bias, batch=2",
    "in=(4, 5, 3) k=2 pad=((1, 0), (2, 1), (0, 0)) bias=true batch=2",
    "in=7 k=4 stride=2 pad=same_lower dilation=1",
    "in=9 k=3 pad=valid cin=4 cout=4 groups=4",
]


def readme():
    return (ROOT / "README.md").read_text()


def error_rows():
    """The KEYS of every row of the README's error table."""
    rows = []
    inside = False
    for line in readme().splitlines():
        if line.startswith("<!-- errors:"):
            inside = True
            continue
        if inside and not line.startswith("|"):
            if rows:
                break
            continue
        if inside:
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            if len(cells) >= 2 and cells[1].startswith("`") and cells[1] != "`KEYS`":
                rows.append(cells[1].strip("`"))
    return rows


def fixture_specs():
    specs = {}
    for path in sorted((ROOT / "tests" / "fixtures" / "jax").glob("*.json")):
        specs[path.stem] = json.loads(path.read_text())["spec"]
    return specs


def check_fixtures():
    """(name, keys, text) of every `check` fixture; the keys from tests/check.rs."""
    source = (ROOT / "tests" / "check.rs").read_text()
    keys = {}
    for name, words in re.findall(r'name: "([^"]+)",\s*keys: &\[([^\]]*)\]', source):
        keys[name] = re.findall(r'"([^"]*)"', words)
    fixtures = []
    for path in sorted((ROOT / "tests" / "fixtures" / "check").glob("*.txt")):
        fixtures.append((path.stem, keys.get(path.stem, []), path.read_text()))
    return fixtures


def macro_inputs():
    """The tokens inside every `conv!(…)` of the compile-fail cases, the README and the
    parallel forms' tests (whose layers take every way a pass is cut into tasks)."""
    inputs = {}
    sources = [(p.stem, p.read_text()) for p in sorted((ROOT / "tests" / "ui").glob("*.rs"))]
    sources.append(("readme", readme()))
    sources.append(("parallel", (ROOT / "tests" / "parallel.rs").read_text()))
    sources.append(("expand", (ROOT / "conv-macros" / "src" / "expand.rs").read_text()))
    for stem, text in sources:
        for number, start in enumerate(m.end() for m in re.finditer(r"conv!\(|quote!\(", text)):
            depth, end = 1, start
            while end < len(text) and depth:
                depth += {"(": 1, ")": -1}.get(text[end], 0)
                end += 1
            body = text[start : end - 1].strip()
            if "conv" in body or "=" in body:
                inputs[f"{stem}-{number}"] = body
    return inputs


def write(target, name, text):
    directory = CORPUS / target
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(text)


def main():
    rows = error_rows()
    assert len(rows) >= 25, f"the README's error table was not found ({len(rows)} rows)"
    fixtures = fixture_specs()
    checks = check_fixtures()

    for i, keys in enumerate(rows, 1):
        write("spec", f"readme-error-{i:02}", keys)
        write("cli", f"readme-error-{i:02}", "\n".join(keys.split(" ")))
        write("macro_parse", f"readme-error-{i:02}", keys)
    for i, keys in enumerate(EXAMPLES, 1):
        write("spec", f"readme-example-{i:02}", keys)
        write("macro_parse", f"readme-example-{i:02}", f"struct Layer; {keys}")
    for name, spec in fixtures.items():
        write("spec", f"jax-{name}", spec)
        write("macro_parse", f"jax-{name}", spec.replace(" ", ", ") + ", unroll = loops")

    cli = {
        "seed": [],
        "seed-json-dw": ["in=5", "k=3", "stride=2", "--format", "json", "--only", "dw"],
        "sigma": ["in=5", "k=3", "stride=2", "--format", "sigma"],
        "latex-db": ["in=6", "k=3", "stride=2", "bias", "--format=latex", "--only=db"],
        "quoted": ["in = (7, 6), k = 3, pad = same"],
        "dilated": ["in=(11,)", "k=3", "dilation=2", "cin=2", "cout=4"],
        "split-negative": ["in=5", "k=3", "pad", "=", "-1"],
        "help": ["--help"],
        "explain": ["explain", "in=6", "k=3", "stride=2"],
        "explain-markdown": ["explain", "--format", "markdown", "--slices", "1", "in=(5,)", "k=2"],
        "explain-latex": ["explain", "--format", "latex", "--cells", "4", "in=4", "k=2"],
        "explain-svg": ["explain", "--svg", "out.svg", "in=5", "k=3", "stride=2"],
        "check-help": ["check", "--help"],
        # The one path the target lets through: a file without an end.
        "check-endless": ["check", "/dev/zero", "in=5", "k=3"],
    }
    for name, words in cli.items():
        write("cli", name, "\n".join(words))
    for name, keys, text in checks:
        words = ["check", "eq.txt", *keys] + (["--complete"] if name == "note-corrected" else [])
        write("cli", f"check-{name}", "\n".join(words) + "\n--- eq.txt\n" + text)
        write("check_notation", f"fixture-{name}", text)
    write(
        "check_notation",
        "readme-spellings",
        "- z2 = w1·x3 + w2⋅x4 + w3×x5 + w4 x8 + w5*x9 + w6·x10 + w7·x13 + w8·x14 + w9·x15\n"
        "∂L/∂w1 = δ1·x1 + ∂L/∂z2·x3 + δ_3·x_{11} + δ₄·x₁₃\n"
        "dL/dx3 = d1*w3 + d2*w1.\n"
        "dx6 = 0\n"
        "z1 = 2*w1*x1 - w2*x2 − w3*x3\n",
    )

    for name, body in macro_inputs().items():
        write("macro_parse", name, body)


if __name__ == "__main__":
    main()
