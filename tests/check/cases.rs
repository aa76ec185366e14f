//! The fixtures of `tests/check.rs`: each hand-written derivation under
//! `tests/fixtures/check/`, the layer it is for, and the report `check` must print.

/// A fixture and its expected report.
pub struct Case {
    /// The fixture under `tests/fixtures/check/`, without `.txt`.
    pub name: &'static str,
    /// The layer's keys; empty for the seed.
    pub keys: &'static [&'static str],
    /// The exit code.
    pub code: u8,
    /// Every line of the report that is not `correct`, a note on an ignored line, or the
    /// header: the diagnosis, exactly.
    pub findings: &'static [&'static str],
    /// How many equations are reported correct.
    pub correct: usize,
}

/// Every fixture.
pub const CASES: &[Case] = &[
    Case {
        name: "note",
        keys: &[],
        code: 1,
        findings: &[
            "tests/fixtures/check/note.txt:7: z2: w5*x8 should be w5*x9",
            "    the right equation: z2 = w1*x3 + w2*x4 + w3*x5 + w4*x8 + w5*x9 + w6*x10 + w7*x13 + w8*x14 + w9*x15",
            "wrong (38 equations read: 37 correct, 1 wrong, 5 lines ignored)",
        ],
        correct: 37,
    },
    Case {
        name: "note-corrected",
        keys: &[],
        code: 0,
        findings: &["all correct (38 equations read: 38 correct, 0 wrong, 5 lines ignored)"],
        correct: 38,
    },
    Case {
        name: "missing-term",
        keys: &[],
        code: 1,
        findings: &[
            "tests/fixtures/check/missing-term.txt:8: z3: missing w9*x23",
            "    the right equation: z3 = w1*x11 + w2*x12 + w3*x13 + w4*x16 + w5*x17 + w6*x18 + w7*x21 + w8*x22 + w9*x23",
            "wrong (38 equations read: 37 correct, 1 wrong, 5 lines ignored)",
        ],
        correct: 37,
    },
    Case {
        name: "extra-term",
        keys: &[],
        code: 1,
        findings: &[
            "tests/fixtures/check/extra-term.txt:37: dx13: extra d4*w5",
            "    the right equation: dx13 = d1*w9 + d2*w7 + d3*w3 + d4*w1",
            "wrong (38 equations read: 37 correct, 1 wrong, 5 lines ignored)",
        ],
        correct: 37,
    },
    Case {
        name: "wrong-index-dw",
        keys: &[],
        code: 1,
        findings: &[
            "tests/fixtures/check/wrong-index-dw.txt:17: dw5: d4*x18 should be d4*x19",
            "    the right equation: dw5 = d1*x7 + d2*x9 + d3*x17 + d4*x19",
            "wrong (38 equations read: 37 correct, 1 wrong, 5 lines ignored)",
        ],
        correct: 37,
    },
    Case {
        name: "wrong-index-dx",
        keys: &[],
        code: 1,
        findings: &[
            "tests/fixtures/check/wrong-index-dx.txt:32: dx8: d2*w5 should be d2*w4",
            "    the right equation: dx8 = d1*w6 + d2*w4",
            "wrong (38 equations read: 37 correct, 1 wrong, 5 lines ignored)",
        ],
        correct: 37,
    },
    Case {
        name: "no-such-element",
        keys: &[],
        code: 1,
        findings: &[
            "tests/fixtures/check/no-such-element.txt:22: dw10: no such element: the layer has `dw1` to `dw9`",
            "wrong (39 equations read: 38 correct, 1 wrong, 5 lines ignored)",
        ],
        correct: 38,
    },
    Case {
        name: "duplicated",
        keys: &[],
        code: 1,
        findings: &[
            "tests/fixtures/check/duplicated.txt:9: z3: written twice (first on line 8)",
            "wrong (39 equations read: 38 correct, 1 wrong, 5 lines ignored)",
        ],
        correct: 38,
    },
    Case {
        name: "garbage-line",
        keys: &[],
        code: 1,
        findings: &[
            "tests/fixtures/check/garbage-line.txt:28: cannot read `∂L/∂x4 = δ2·w2 + + δ1·(w3`: column 18: expected a term such as `w1*x3`, found `+`",
            "not written: dx4",
            "wrong (37 equations read: 37 correct, 0 wrong, 1 unreadable, 5 lines ignored, 1 not written)",
        ],
        correct: 37,
    },
    Case {
        name: "unusable",
        keys: &[],
        code: 2,
        findings: &[
            "tests/fixtures/check/unusable.txt:4: cannot read `z1 = w1·x1 + … + w9·x13`: column 14: `…` stands for terms left out: write every term to check the equation",
            "not written: z1–z4 (none of the 4 `z` equations)",
            "not written: dx1–dx25 (none of the 25 `dx` equations)",
            "not written: dw1–dw9 (none of the 9 `dw` equations)",
            "no equation could be read (0 equations read: 0 correct, 0 wrong, 1 unreadable, 2 lines ignored, 38 not written)",
        ],
        correct: 0,
    },
    Case {
        name: "remainder",
        keys: &["in=6", "k=3", "stride=2"],
        code: 1,
        findings: &[
            "tests/fixtures/check/remainder.txt:5: dx6: extra d2*w3; `x6` is never read (past the last window, in the remainder r), so its gradient is 0",
            "    the right equation: dx6 = 0",
            "tests/fixtures/check/remainder.txt:6: dx36: extra d4*w9; `x36` is never read (past the last window, in the remainder r), so its gradient is 0",
            "    the right equation: dx36 = 0",
            "not written: z1–z4 (none of the 4 `z` equations)",
            "not written: dx2–dx5, dx7–dx35",
            "not written: dw1–dw9 (none of the 9 `dw` equations)",
            "wrong (3 equations read: 1 correct, 2 wrong, 2 lines ignored, 46 not written)",
        ],
        correct: 1,
    },
    // A transposed layer derived by hand from `z[2i + q − 1] += x[i]·w[q]`, then the same
    // with one index of `dx2` wrong.
    Case {
        name: "transposed",
        keys: TRANSPOSED,
        code: 0,
        findings: &["all correct (12 equations read: 12 correct, 0 wrong, 5 lines ignored)"],
        correct: 12,
    },
    Case {
        name: "transposed-wrong",
        keys: TRANSPOSED,
        code: 1,
        findings: &[
            "tests/fixtures/check/transposed-wrong.txt:16: dx2: d5*w3 should be d4*w3",
            "    the right equation: dx2 = d2*w1 + d3*w2 + d4*w3",
            "wrong (12 equations read: 11 correct, 1 wrong, 5 lines ignored)",
        ],
        correct: 11,
    },
    // Input 1 scatters only to output −2, which the padding crops.
    Case {
        name: "transposed-cropped",
        keys: &["in=(4,)", "k=1", "stride=2", "pad=((2,3),)", "transposed"],
        code: 1,
        findings: &[
            "tests/fixtures/check/transposed-cropped.txt:3: dx1: extra d1*w1; `x1` is never read (every output it scatters to is cropped by `pad`), so its gradient is 0",
            "    the right equation: dx1 = 0",
            "not written: z1, z2 (none of the 2 `z` equations)",
            "not written: dx3, dx4",
            "not written: dw1 (none of the 1 `dw` equations)",
            "wrong (2 equations read: 1 correct, 1 wrong, 1 line ignored, 5 not written)",
        ],
        correct: 1,
    },
    Case {
        name: "latex-homework",
        keys: &[],
        code: 1,
        findings: &[
            "tests/fixtures/check/latex-homework.txt:8: z2: w5*x8 should be w5*x9",
            "    the right equation: z2 = w1*x3 + w2*x4 + w3*x5 + w4*x8 + w5*x9 + w6*x10 + w7*x13 + w8*x14 + w9*x15",
            "not written: z3, z4",
            "not written: dx1–dx25 (none of the 25 `dx` equations)",
            "wrong (4 equations read: 3 correct, 1 wrong, 27 not written)",
        ],
        correct: 3,
    },
    // Read 1-based, `x_{2i+a-2}` for `i, a ≥ 1` is x at the 0-based 2(i−1)+(a−1): the
    // `sigma` format's own `x[2i+a, …]`, which `tests/render.rs` expands independently.
    Case {
        name: "latex-sigma",
        keys: &[],
        code: 0,
        findings: &[
            "not written: z1–z4 (none of the 4 `z` equations)",
            "not written: dx1–dx25 (none of the 25 `dx` equations)",
            "all correct (1 equation read: 1 correct, 0 wrong, 1 line ignored, 29 not written)",
        ],
        correct: 1,
    },
    Case {
        name: "sigma-stride",
        keys: &[],
        code: 1,
        findings: &[
            "tests/fixtures/check/sigma-stride.txt:3: dw[a, b]: wrong for 9 of the 9 `dw` equations, indices read 0-based",
            "    `x[i+a, j+b]` should be `x[2i+a, 2j+b]`: the stride (2) multiplies the output indices `i`, `j`",
            "    first difference at dw[0, 0] (dw1): the formula gives d1*x1 + d2*x2 + d3*x6 + d4*x7, the chain rule d1*x1 + d2*x3 + d3*x11 + d4*x13",
            "not written: z1–z4 (none of the 4 `z` equations)",
            "not written: dx1–dx25 (none of the 25 `dx` equations)",
            "wrong (1 equation read: 0 correct, 1 wrong, 1 line ignored, 29 not written)",
        ],
        correct: 0,
    },
    Case {
        name: "sigma-swapped",
        keys: &["in=(11,)", "k=3", "stride=2", "dilation=3"],
        code: 1,
        findings: &[
            "tests/fixtures/check/sigma-swapped.txt:3: dw[a]: wrong for 3 of the 3 `dw` equations, indices read 0-based",
            "    `x[3i+2a]` should be `x[2i+3a]`: the stride and the dilation are swapped: the stride (2) multiplies the output index, the dilation (3) the kernel index",
            "    first difference at dw[0] (dw1): the formula gives d1*x1 + d2*x4 + d3*x7, the chain rule d1*x1 + d2*x3 + d3*x5",
            "not written: z1–z3 (none of the 3 `z` equations)",
            "not written: dx1–dx11 (none of the 11 `dx` equations)",
            "wrong (1 equation read: 0 correct, 1 wrong, 1 line ignored, 14 not written)",
        ],
        correct: 0,
    },
    Case {
        name: "sigma-not-flipped",
        keys: &["in=(6,)", "k=3"],
        code: 1,
        findings: &[
            "tests/fixtures/check/sigma-not-flipped.txt:3: dx[i]: wrong for 6 of the 6 `dx` equations, indices read 0-based",
            "    `d̃[i+a−2]` should be `d̃[i−a]`: the kernel index `a` enters with the opposite sign: the input gradient reads the kernel flipped; the offset is 0, not −2",
            "    first difference at dx[0] (dx1): the formula gives d1*w3, the chain rule d1*w1",
            "not written: z1–z4 (none of the 4 `z` equations)",
            "not written: dw1–dw3 (none of the 3 `dw` equations)",
            "wrong (1 equation read: 0 correct, 1 wrong, 1 line ignored, 7 not written)",
        ],
        correct: 0,
    },
    Case {
        name: "sigma-missing-condition",
        keys: &[],
        code: 1,
        findings: &[
            "tests/fixtures/check/sigma-missing-condition.txt:3: dx[i, j]: wrong for 21 of the 25 `dx` equations, indices read 0-based",
            "    `Σ_{a,b : 0 ≤ i−a ≤ 2, 0 ≤ j−b ≤ 2}` should be `Σ_{a,b : 0 ≤ i−a ≤ 2, 0 ≤ j−b ≤ 2, 2 | i−a, 2 | j−b}`: a condition is missing: the division is an index only where it is exact",
            "    `(j−b)/2` is not an integer at j = 1, b = 0",
            "    first difference at dx[0, 1] (dx2): the formula has no value there, the chain rule d1*w2",
            "not written: z1–z4 (none of the 4 `z` equations)",
            "not written: dw1–dw9 (none of the 9 `dw` equations)",
            "wrong (1 equation read: 0 correct, 1 wrong, 1 line ignored, 13 not written)",
        ],
        correct: 0,
    },
    Case {
        name: "sigma-range",
        keys: &[],
        code: 1,
        findings: &[
            "tests/fixtures/check/sigma-range.txt:3: dx[i, j]: wrong for 9 of the 25 `dx` equations, indices read 0-based",
            "    `Σ_{a,b : 2 | i−a, 0 ≤ i−a ≤ 4, 2 | j−b, 0 ≤ j−b ≤ 4}` should be `Σ_{a,b : 2 | i−a, 0 ≤ i−a ≤ 2, 2 | j−b, 0 ≤ j−b ≤ 2}`: the sum runs over the wrong range",
            "    `d[(i−a)/2, (j−b)/2]` reads outside `d` (2×2) at i = 0, a = 0, j = 4, b = 0",
            "    first difference at dx[0, 4] (dx5): the formula has no value there, the chain rule d2*w3",
            "not written: z1–z4 (none of the 4 `z` equations)",
            "not written: dw1–dw9 (none of the 9 `dw` equations)",
            "wrong (1 equation read: 0 correct, 1 wrong, 1 line ignored, 13 not written)",
        ],
        correct: 0,
    },
    Case {
        name: "sigma-padding",
        keys: &["in=6", "k=3", "stride=2", "pad=1"],
        code: 1,
        findings: &[
            "tests/fixtures/check/sigma-padding.txt:3: z[i, j]: wrong for 9 of the 9 `z` equations, indices read 0-based",
            "    `x[2i+a, 2j+b]` should be `x̃[2i+a−1, 2j+b−1]`: it reads outside `x`, where the padding is zeros (`x̃`); the padding before (1) shifts the index by −1",
            "    `x[2i+a, 2j+b]` reads outside `x` (6×6) at i = 0, a = 0, j = 2, b = 2",
            "    first difference at z[0, 0] (z1): the formula gives w1*x1 + w2*x2 + w3*x3 + w4*x7 + w5*x8 + w6*x9 + w7*x13 + w8*x14 + w9*x15, the chain rule w5*x1 + w6*x2 + w8*x7 + w9*x8",
            "not written: dx1–dx36 (none of the 36 `dx` equations)",
            "not written: dw1–dw9 (none of the 9 `dw` equations)",
            "wrong (1 equation read: 0 correct, 1 wrong, 1 line ignored, 45 not written)",
        ],
        correct: 0,
    },
    Case {
        name: "sigma-groups",
        keys: &["in=(5,)", "k=3", "cin=2", "cout=4", "groups=2"],
        code: 1,
        findings: &[
            "tests/fixtures/check/sigma-groups.txt:3: z[o, i]: wrong for 9 of the 12 `z` equations, indices read 0-based",
            "    `x[o, i+a]` should be `x[⌊o/2⌋, i+a]`: with 2 groups, output channel `o` reads the input channels of its group, ⌊o/2⌋",
            "    `x[o, i+a]` reads outside `x` (2×5) at o = 2, i = 0, a = 0",
            "    first difference at z[1, 0] (z4): the formula gives w4*x6 + w5*x7 + w6*x8, the chain rule w4*x1 + w5*x2 + w6*x3",
            "not written: dx1–dx10 (none of the 10 `dx` equations)",
            "not written: dw1–dw12 (none of the 12 `dw` equations)",
            "wrong (1 equation read: 0 correct, 1 wrong, 1 line ignored, 22 not written)",
        ],
        correct: 0,
    },
    Case {
        name: "sigma-one-based",
        keys: &["--base", "1"],
        code: 1,
        findings: &[
            "tests/fixtures/check/sigma-one-based.txt:3: dw[a, b]: wrong for 9 of the 9 `dw` equations, indices read 1-based, as declared",
            "    `x[2i+a−1, 2j+b−1]` should be `x[2i+a−2, 2j+b−2]`: off by one: read 1-based, the offset is −2, not −1",
            "    `x[2i+a−1, 2j+b−1]` reads outside `x` (5×5) at i = 1, a = 1, j = 2, b = 3",
            "    first difference at dw[1, 1] (dw1): the formula gives d1*x7 + d2*x9 + d3*x17 + d4*x19, the chain rule d1*x1 + d2*x3 + d3*x11 + d4*x13",
            "not written: z1–z4 (none of the 4 `z` equations)",
            "not written: dx1–dx25 (none of the 25 `dx` equations)",
            "wrong (1 equation read: 0 correct, 1 wrong, 1 line ignored, 29 not written)",
        ],
        correct: 0,
    },
    Case {
        name: "sigma-remainder",
        keys: &["in=6", "k=3", "stride=2"],
        code: 1,
        findings: &[
            "tests/fixtures/check/sigma-remainder.txt:3: dw[a, b]: wrong for 9 of the 9 `dw` equations, indices read 0-based",
            "    `Σ_{i=0}^{2} Σ_{j=0}^{2}` should be `Σ_{i=0}^{1} Σ_{j=0}^{1}`: the sum runs over the wrong range; indices `i`, `j`: the 2 positions of the output axis, ⌊(6 + 0 − 3) / 2⌋ + 1, for the remainder r = 1 starts no window",
            "    `d[i, j]` reads outside `d` (2×2) at i = 0, j = 2",
            "    first difference at dw[0, 0] (dw1): the formula has no value there, the chain rule d1*x1 + d2*x3 + d3*x13 + d4*x15",
            "not written: z1–z4 (none of the 4 `z` equations)",
            "not written: dx1–dx36 (none of the 36 `dx` equations)",
            "wrong (1 equation read: 0 correct, 1 wrong, 1 line ignored, 40 not written)",
        ],
        correct: 0,
    },
];

/// The transposed layer of `transposed.txt`: out = (3 − 1)·2 − 2 + 2 + 1 + 1 = 6.
const TRANSPOSED: &[&str] = &[
    "in=(3,)",
    "k=3",
    "stride=2",
    "pad=1",
    "output_padding=1",
    "transposed",
];
