//! `convsym check` on the note's own derivation and on deliberately broken ones: each case
//! states the exit code and the exact diagnostic lines it must print, checked before the
//! whole report is pinned as a snapshot.

#[path = "check/cases.rs"]
mod cases;
mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use convsym::Spec;
use convsym::derive::Section;

use cases::CASES;

/// Runs `convsym check ARGS…` from the package root, with `stdin` on standard input.
fn check(args: &[&str], stdin: &str) -> (u8, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_convsym"))
        .arg("check")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    // A command that fails before reading closes its input early; that is no failure here.
    let _ = child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(stdin.as_bytes());
    let output = child.wait_with_output().expect("the binary finishes");
    let code = output
        .status
        .code()
        .and_then(|code| u8::try_from(code).ok())
        .expect("an exit code");
    (
        code,
        String::from_utf8(output.stdout).expect("utf-8 stdout"),
        String::from_utf8(output.stderr).expect("utf-8 stderr"),
    )
}

#[test]
fn each_fixture_gets_its_diagnosis() {
    for case in CASES {
        let path = format!("tests/fixtures/check/{}.txt", case.name);
        let mut args = vec![path.as_str()];
        args.extend(case.keys);
        let (code, stdout, _) = check(&args, "");
        // The independent check: the exit code, the diagnosis line for line, and every
        // other equation reported correct.
        assert_eq!(code, case.code, "{}:\n{stdout}", case.name);
        let findings: Vec<&str> = stdout
            .lines()
            .skip(1)
            .filter(|line| !line.ends_with(": correct") && !line.contains(": note: "))
            .collect();
        assert_eq!(findings, case.findings, "{}", case.name);
        let correct = stdout.lines().filter(|l| l.ends_with(": correct")).count();
        assert_eq!(correct, case.correct, "{}", case.name);
        insta::assert_snapshot!(format!("check_{}", case.name.replace('-', "_")), stdout);
    }
}

#[test]
fn standard_input_is_read_with_a_dash() {
    let (code, stdout, _) = check(
        &["-"],
        "z2 = w1*x3 + w2*x4 + w3*x5 + w4*x8 + w5*x8 + w6*x10 + w7*x13 + w8*x14 + w9*x15\n",
    );
    assert_eq!(code, 1);
    assert!(
        stdout.contains("<stdin>:1: z2: w5*x8 should be w5*x9\n"),
        "{stdout}"
    );
}

/// A byte-order mark before the first line, as some Windows editors write, is no text:
/// the first equation is read (it was taken for prose, found fuzzing the tool).
#[test]
fn a_byte_order_mark_is_skipped() {
    let (code, stdout, _) = check(
        &["-"],
        "\u{feff}z2 = w1*x3 + w2*x4 + w3*x5 + w4*x8 + w5*x8 + w6*x10 + w7*x13 + w8*x14 + w9*x15\r\n",
    );
    assert_eq!(code, 1);
    assert!(
        stdout.contains("<stdin>:1: z2: w5*x8 should be w5*x9\n"),
        "{stdout}"
    );
}

/// An input whose every equation is unreadable says so, and points at the lines that say
/// why, rather than asking for equations as for an input of prose alone.
#[test]
fn an_input_of_unreadable_equations_points_at_them() {
    let (code, stdout, stderr) = check(&["-"], "dw[a] = Σ d[i]·x[i+a]\n");
    assert_eq!(code, 2);
    assert!(
        stdout.contains(
            "<stdin>:1: cannot read `dw[a] = Σ d[i]·x[i+a]`: column 11: expected `_` after `Σ`"
        ),
        "{stdout}"
    );
    assert_eq!(
        stderr,
        "error: no equation in `<stdin>` could be read: the line marked `cannot read` above says why\n"
    );
    let (code, _, stderr) = check(&["-"], "A strided convolution by hand\n");
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        "error: no equation found in `<stdin>`: write one per line, e.g. `z1 = w1*x1 + w2*x2`\n"
    );
}

#[test]
fn complete_asks_for_every_equation() {
    let text = "dx3 = d1*w3 + d2*w1\n";
    assert_eq!(check(&["-"], text).0, 0);
    assert_eq!(check(&["--complete", "-"], text).0, 1);
}

#[test]
fn unusable_arguments_exit_2_and_say_why() {
    let (code, _, stderr) = check(&["-", "in=5", "k=7"], "z1 = w1*x1\n");
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        "error: `k` (7) is larger than the padded input (5) on axis 1\n  | in=5 k=7\n  |        ^\n"
    );
    let (code, _, stderr) = check(&["tests/fixtures/check/absent.txt"], "");
    assert_eq!(code, 2);
    assert!(
        stderr.starts_with("error: cannot read `tests/fixtures/check/absent.txt`: "),
        "{stderr}"
    );
}

#[test]
fn the_readme_shows_the_notes_report_as_printed() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("the README");
    let (_, report, _) = check(&["tests/fixtures/check/note.txt"], "");
    assert!(
        readme.contains(&format!(
            "$ convsym check tests/fixtures/check/note.txt\n{report}```"
        )),
        "README.md's \"Explain and check\" shows an outdated `convsym check`"
    );
}

/// The README's "LaTeX and general formulas" shows the homework and the Σ report as
/// printed, and its table quotes the index correction `check` prints for each fixture.
#[test]
fn the_readme_shows_the_formula_reports_as_printed() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("the README");
    for name in ["latex-homework", "sigma-stride"] {
        let path = format!("tests/fixtures/check/{name}.txt");
        let (_, report, _) = check(&[path.as_str()], "");
        let shown = format!("$ convsym check {path}\n{report}```");
        assert!(
            readme.contains(&shown),
            "README.md shows an outdated report of {name}"
        );
    }
    let homework = std::fs::read_to_string("tests/fixtures/check/latex-homework.txt");
    assert!(readme.contains(&homework.expect("the fixture")));
    let one_based = (
        "sigma-one-based",
        "in=5 k=3 stride=2 --base 1",
        Section::GradWeight,
    );
    for (name, layer, _) in CORRECTED.into_iter().chain([one_based]) {
        let path = format!("tests/fixtures/check/{name}.txt");
        let keys: Vec<&str> = layer.split(' ').collect();
        let (_, stdout, _) = check(&[&[path.as_str()], keys.as_slice()].concat(), "");
        for line in stdout.lines().filter(|line| line.contains("` should be `")) {
            let (correction, _) = line.trim_start().split_once(": ").expect("a reason");
            if !correction.starts_with("`Σ") {
                assert!(readme.contains(correction), "{name}: {correction}");
            }
        }
    }
}

/// Each equation checked is derived whole: one past the bound is refused, named with its
/// size, with exit code 2, and the other equations of the same layer are checked.
/// Unwritten equations are kept as runs, so a layer of four billion inputs with short
/// equations checks at once.
#[test]
fn equations_too_large_are_refused_one_by_one() {
    let keys = ["-", "in=(4194305,)", "k=1"];
    let (code, stdout, stderr) = check(&keys, "z1 = w1*x1\n");
    assert_eq!((code, stderr.as_str()), (0, ""), "{stdout}");
    assert!(stdout.contains("<stdin>:1: z1: correct\n"), "{stdout}");
    let (code, stdout, stderr) = check(&keys, "z1 = w1*x1\ndw1 = d1*x1\nz2 = w1*x1\n");
    assert_eq!(code, 2);
    assert!(
        stdout.contains(
            "<stdin>:1: z1: correct\n\
             <stdin>:2: dw1: too large to check: it has 4194305 terms, more than the 4194304 `check` derives for one equation\n\
             <stdin>:3: z2: w1*x1 should be w1*x2\n"
        ),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("not every equation could be checked (2 equations read: 1 correct, 1 wrong, 1 too large to check, 8388608 not written)\n"),
        "{stdout}"
    );
    assert_eq!(
        stderr,
        "error: 1 equation in `<stdin>` not checked: more than 4194304 terms, the most `check` holds in one equation\n"
    );
    let (code, stdout, _) = check(
        &["-", "in=(4000000000,)", "k=1", "stride=1000"],
        "z1 = w1*x1\n",
    );
    assert_eq!(code, 0);
    assert!(
        stdout.contains("not written: dx1–dx4000000000 (none of the 4000000000 `dx` equations)\n"),
        "{stdout}"
    );
}

/// A written right side past the bound is not read further: it would be held whole.
#[test]
fn a_written_equation_past_the_bound_is_refused() {
    let mut text = String::from("z1 = w1*x1");
    text.push_str(&" + w1*x1".repeat(4_194_304));
    text.push('\n');
    let (code, stdout, _) = check(&["-"], &text);
    assert_eq!(code, 2);
    assert!(
        stdout.contains("<stdin>:1: z1: too large to check: more than 4194304 terms written, the most `check` reads in one equation\n"),
        "{stdout}"
    );
}

/// Input without an end (`/dev/zero`, an endless pipe) is read up to a bound, never into
/// all memory: a NUL byte is not text, and text past the bound is refused.
#[test]
fn input_is_read_up_to_a_bound_and_must_be_text() {
    let (code, _, stderr) = check(&["/dev/zero"], "");
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        "error: `/dev/zero` is not text: line 1 holds a NUL byte; `check` reads equations as UTF-8 text\n"
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_convsym"))
        .args(["check", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let mut stdin = child.stdin.take().expect("stdin is piped");
    // An endless line: written until the reader hangs up.
    let writer = std::thread::spawn(move || {
        let block = [b' '; 1 << 14];
        while stdin.write_all(&block).is_ok() {}
    });
    let output = child.wait_with_output().expect("the binary finishes");
    writer.join().expect("the writer ends");
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "error: `<stdin>` is larger than 268435456 bytes, the most `check` reads: 64 bytes for each of the 4194304 terms of the longest equation it checks\n"
    );
    let (code, stdout, stderr) = check(&["-"], "z1 = w1*x1\n\u{fffd}");
    assert_eq!((code, stderr.as_str()), (1, ""), "{stdout}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_convsym"))
        .args(["check", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let _ = child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(b"z1 = w1*x1\n\xff\xfe\n");
    let output = child.wait_with_output().expect("the binary finishes");
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "error: `<stdin>` is not text: line 2 is not UTF-8; `check` reads equations as UTF-8 text\n"
    );
}

/// Each equation read is derived again, however short its line: past 2^22 terms plus one
/// for each byte read, an equation is refused, so a few kilobytes of `z1 = w1*x1` lines
/// cannot each walk a 2^22-tap kernel. The first is checked; the rest are named with the
/// numbers, and the check exits 2.
#[test]
fn short_lines_cannot_each_walk_a_long_derivation() {
    let keys = ["-", "in=(4,)", "k=4194304", "pad=((4194300,0),)"];
    let (code, stdout, stderr) = check(&keys, &"z1 = w1*x1\n".repeat(3));
    assert_eq!(code, 2, "{stdout}");
    assert_eq!(
        stderr,
        "error: 2 equations in `<stdin>` not checked: deriving them would pass the work `check` allows for an input of this size (4194304 terms, plus one for each byte read)\n"
    );
    assert!(
        stdout.contains(
            "<stdin>:1: z1: w1*x1 should be w4194301*x1; missing w4194302*x2, w4194303*x3, w4194304*x4\n\
             \x20   the right equation: z1 = w4194301*x1 + w4194302*x2 + w4194303*x3 + w4194304*x4\n\
             <stdin>:2: z1: not checked: deriving it walks 4194304 terms, and 4194304 of the 4194326 `check` derives for the input so far (4194304, plus one for each byte read) are spent\n\
             <stdin>:3: z1: not checked: deriving it walks 4194304 terms, and 4194304 of the 4194337 `check` derives for the input so far (4194304, plus one for each byte read) are spent\n"
        ),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("not every equation could be checked (1 equation read: 0 correct, 1 wrong, 2 too large to check, 4194308 not written)\n"),
        "{stdout}"
    );
}

/// The layers the LaTeX round trip runs on: the seed, a remainder with a bias, channels
/// with groups, a batch, dilation and padding on one axis, and `same` padding on two axes
/// of different strides.
const ROUND_TRIP: [&str; 4] = [
    "in=5 k=3 stride=2",
    "in=6 k=3 stride=2 bias",
    "in=(7,) k=3 dilation=2 pad=1 cin=2 cout=4 groups=2 batch=2",
    "in=(6,5) k=(3,2) stride=(2,1) pad=same bias",
];

/// What `convsym ARGS…` prints.
fn convsym(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_convsym"))
        .args(args)
        .output()
        .expect("the binary runs");
    assert!(output.status.success(), "{args:?}");
    String::from_utf8(output.stdout).expect("utf-8 stdout")
}

/// Every equation `convsym --format latex` prints, and every one `explain` prints in each
/// of its formats (text, Markdown, LaTeX), checks as correct: as many as the text format
/// prints, none wrong, and a changed index is named in the plain notation. The general
/// formulas in `explain`'s prose, `∂L/∂x[n, c, i] = Σ δ[n, o, p] · w[o, c', q] over …`,
/// are no equations of the layer: the text and Markdown once failed on them.
#[test]
fn the_latex_convsym_prints_checks_as_correct() {
    for layer in ROUND_TRIP {
        let keys: Vec<&str> = layer.split(' ').collect();
        let equations = convsym(&keys).lines().count();
        let latex = convsym(&[&["--format", "latex"], keys.as_slice()].concat());
        let explained = ["text", "markdown", "latex"]
            .map(|format| convsym(&[&["explain", "--format", format], keys.as_slice()].concat()));
        let args = [&["-"], keys.as_slice()].concat();
        for document in [&latex].into_iter().chain(&explained) {
            let (code, stdout, stderr) = check(&args, document);
            assert_eq!((code, stderr.as_str()), (0, ""), "{layer}: {stdout}");
            let correct = stdout.lines().filter(|line| line.ends_with(": correct"));
            assert_eq!(correct.count(), equations, "{layer}: {stdout}");
        }
        // One index changed: `x_{2}` in the first equation that has it becomes `x_{3}`.
        let changed = latex.replacen(" x_{2} ", " x_{3} ", 1);
        assert_ne!(changed, latex, "{layer}");
        let (code, stdout, _) = check(&args, &changed);
        assert_eq!(code, 1, "{layer}: {stdout}");
        let wrong: Vec<&str> = stdout
            .lines()
            .filter(|line| line.contains("should be"))
            .collect();
        assert_eq!(wrong.len(), 1, "{layer}: {stdout}");
        assert!(
            wrong[0].contains("*x3 should be ") && wrong[0].contains("*x2"),
            "{layer}: {}",
            wrong[0]
        );
    }
}

/// The Σ fixtures whose diagnosis is a correction, with their layer and the section the
/// formula defines (the third line of each fixture).
const CORRECTED: [(&str, &str, Section); 8] = [
    ("sigma-stride", "in=5 k=3 stride=2", Section::GradWeight),
    (
        "sigma-swapped",
        "in=(11,) k=3 stride=2 dilation=3",
        Section::GradWeight,
    ),
    ("sigma-not-flipped", "in=(6,) k=3", Section::GradInput),
    (
        "sigma-missing-condition",
        "in=5 k=3 stride=2",
        Section::GradInput,
    ),
    ("sigma-range", "in=5 k=3 stride=2", Section::GradInput),
    ("sigma-padding", "in=6 k=3 stride=2 pad=1", Section::Forward),
    (
        "sigma-groups",
        "in=(5,) k=3 cin=2 cout=4 groups=2",
        Section::Forward,
    ),
    ("sigma-remainder", "in=6 k=3 stride=2", Section::GradWeight),
];

/// A corrected formula in the notation the tests' expander reads: ranges written out that
/// cover a whole axis of 2 positions (`Σ_{i=0}^{1} Σ_{j=0}^{1}`) are the convention's `Σ_{i,j}`.
fn implicit(spec: &Spec, formula: &str) -> String {
    let written = "Σ_{i=0}^{1} Σ_{j=0}^{1} ";
    if !formula.contains(written) {
        return formula.to_string();
    }
    assert!(
        spec.axes().iter().all(|axis| axis.output() == 2),
        "{formula}"
    );
    formula.replace(written, "Σ_{i,j} ")
}

/// Each correction `check` computes is right by an independent count: the formula with
/// the correction applied, expanded by the tests' own reader of the Σ notation, gives
/// the equations of the numeric reference and of the seed's construction, and the
/// formula as written does not. (`sigma-one-based` is read 1-based: its correction,
/// `x[2i+a−2, 2j+b−2]` for `i, a ≥ 1`, is `x[2i′+a′, 2j′+b′]` for `i′ = i−1, a′ = a−1`,
/// the `sigma` format's own weight gradient, which `tests/render.rs` checks.)
#[test]
fn each_correction_expands_to_the_independent_equations() {
    for (name, layer, section) in CORRECTED {
        let path = format!("tests/fixtures/check/{name}.txt");
        let text = std::fs::read_to_string(&path).expect("the fixture");
        let formula = text.lines().nth(2).expect("a formula on line 3");
        let keys: Vec<&str> = layer.split(' ').collect();
        let (_, stdout, _) = check(&[&[path.as_str()], keys.as_slice()].concat(), "");
        let mut corrected = formula.to_string();
        for line in stdout.lines().filter(|line| line.contains("` should be `")) {
            let (written, rest) = line
                .trim_start()
                .strip_prefix('`')
                .and_then(|line| line.split_once("` should be `"))
                .expect("`written` should be `right`");
            let (right, _) = rest.split_once("`: ").expect("a reason");
            assert!(corrected.contains(written), "{name}: {written}");
            corrected = corrected.replace(written, right);
        }
        assert_ne!(corrected, formula, "{name}: no correction\n{stdout}");
        let spec = Spec::parse(layer).expect("a valid layer");
        let expected = common::independent(&spec, section);
        let corrected = implicit(&spec, &corrected);
        assert_eq!(
            common::expand_sigma_line(&spec, &corrected),
            expected,
            "{name}: {corrected}"
        );
        let written = std::panic::catch_unwind(|| common::expand_sigma_line(&spec, formula));
        assert!(
            written.map_or(true, |written| written != expected),
            "{name}"
        );
    }
}
