//! The `convsym` command as a user runs it: arguments, exit codes, standard error, pipes.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

fn convsym(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_convsym"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stdout(output: &Output) -> &str {
    std::str::from_utf8(&output.stdout).expect("UTF-8 output")
}

fn stderr(output: &Output) -> &str {
    std::str::from_utf8(&output.stderr).expect("UTF-8 errors")
}

/// The rows of the README's error table: `(KEYS, message)`.
fn readme_errors() -> Vec<(String, String)> {
    let readme = include_str!("../README.md");
    let (_, table) = readme
        .split_once("<!-- errors: KEYS, then the message; tests/cli.rs reads these rows -->\n")
        .expect("the README's error table");
    table
        .lines()
        .skip(2)
        .take_while(|line| line.starts_with("| "))
        .map(|row| {
            let cells: Vec<&str> = row
                .trim_start_matches("| ")
                .trim_end_matches(" |")
                .split(" | ")
                .collect();
            let [_, keys, message] = cells[..] else {
                panic!("a row of three cells: {row}");
            };
            let keys = keys.strip_prefix('`').and_then(|k| k.strip_suffix('`'));
            let message = message
                .strip_prefix("`` ")
                .and_then(|m| m.strip_suffix(" ``"));
            (
                keys.expect("`KEYS` in backticks").to_string(),
                message
                    .expect("the message in double backticks")
                    .to_string(),
            )
        })
        .collect()
}

#[test]
fn every_row_of_the_readme_error_table() {
    let rows = readme_errors();
    assert!(rows.len() >= 30, "only {} rows were read", rows.len());
    for (keys, message) in rows {
        let output = convsym(&[&keys]);
        assert_eq!(output.status.code(), Some(2), "{keys}");
        assert_eq!(stdout(&output), "", "{keys}");
        let errors: Vec<&str> = stderr(&output)
            .lines()
            .filter(|line| !line.starts_with("  | "))
            .collect();
        assert_eq!(errors, [format!("error: {message}")], "{keys}");
    }
}

/// Parentheses nested 40 000 deep overflowed the stack (SIGABRT, exit 134) in every
/// subcommand; the tokenizer refuses them at the first tuple too deep.
#[test]
fn tuples_nested_deep_are_an_error_not_a_crash() {
    let levels = 40_000;
    let input = format!("in={}5{}", "(".repeat(levels), ")".repeat(levels));
    for command in [&[][..], &["explain"], &["check", "-"]] {
        let args: Vec<&str> = command
            .iter()
            .copied()
            .chain([input.as_str(), "k=3"])
            .collect();
        let output = convsym(&args);
        assert_eq!(output.status.code(), Some(2), "{command:?}");
        let mut lines = stderr(&output).lines();
        assert_eq!(
            lines.next(),
            Some(
                "error: the value of `in` nests tuples more than 16 deep; no key takes more \
                 than 2, as in `pad = ((1, 0), (2, 1))`"
            ),
            "{command:?}"
        );
        // The caret stands under the tuple that opens level 17.
        assert_eq!(
            lines.nth(1),
            Some(format!("  | {}^", " ".repeat(19)).as_str())
        );
    }
}

#[test]
fn an_error_shows_the_keys_with_a_caret_under_the_value() {
    let output = convsym(&["in=(5,)", "k=7"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr(&output),
        "error: `k` (7) is larger than the padded input (5) on axis 1\n  \
         | in=(5,) k=7\n  \
         |           ^\n"
    );
}

#[test]
fn every_error_is_shown_each_under_its_own_part() {
    let output = convsym(&["in=5 k=3 cin=3 cout=5 groups=2 strid=2"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr(&output),
        "error: unknown key `strid`; did you mean `stride`?\n  \
         | in=5 k=3 cin=3 cout=5 groups=2 strid=2\n  \
         |                                ^^^^^\n\
         error: `groups` (2) does not divide `cin` (3)\n  \
         | in=5 k=3 cin=3 cout=5 groups=2 strid=2\n  \
         |                              ^\n\
         error: `groups` (2) does not divide `cout` (5)\n  \
         | in=5 k=3 cin=3 cout=5 groups=2 strid=2\n  \
         |                              ^\n"
    );
}

#[test]
fn an_error_about_no_part_has_no_caret() {
    let output = convsym(&[""]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr(&output),
        "error: missing `in`: the input size, e.g. `in = 5` or `in = (7, 6)`\n\
         error: missing `k`: the kernel size, e.g. `k = 3`\n"
    );
}

#[test]
fn a_newline_in_a_quoted_key_keeps_the_caret_aligned() {
    let output = convsym(&["in=5\nk=0"]);
    assert_eq!(
        stderr(&output),
        "error: `k` (0) must be at least 1\n  | in=5 k=0\n  |        ^\n"
    );
}

#[test]
fn without_keys_it_prints_the_seed() {
    let seed = convsym(&[]);
    assert!(seed.status.success());
    assert_eq!(
        stdout(&seed),
        stdout(&convsym(&["in=5", "k=3", "stride=2"]))
    );
    assert!(stdout(&seed).lines().any(|line| line
        == "z2 = w1*x3 + w2*x4 + w3*x5 + w4*x8 + w5*x9 + w6*x10 + w7*x13 + w8*x14 + w9*x15"));
    assert_eq!(stderr(&seed), "");
}

#[test]
fn keys_split_over_many_words_are_joined_with_spaces() {
    let quoted = convsym(&["in = (7, 6), k = 3, pad = same"]);
    let split = convsym(&["in", "=", "(7,", "6),", "k", "=", "3,", "pad=same"]);
    assert!(quoted.status.success());
    assert_eq!(stdout(&quoted), stdout(&split));
}

#[test]
fn a_negative_number_reaches_the_specification_not_the_option_parser() {
    let output = convsym(&["in=5", "k=3", "pad", "=", "-1"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).starts_with("error: `pad` (-1) must be zero or positive\n"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn only_prints_one_section_and_the_sections_make_the_whole() {
    let keys = "in=5 k=3 stride=2 cout=2 bias";
    let whole = convsym(&[keys]);
    let mut joined = String::new();
    for (only, prefix) in [("forward", "z"), ("dx", "dx"), ("dw", "dw"), ("db", "db")] {
        let output = convsym(&[keys, "--only", only]);
        assert!(output.status.success());
        let text = stdout(&output);
        assert!(text.lines().count() > 0, "{only}");
        for line in text.lines() {
            let (lhs, _) = line.split_once(" = ").expect("an equation");
            assert!(
                lhs.strip_prefix(prefix)
                    .is_some_and(|n| n.parse::<usize>().is_ok()),
                "{line}"
            );
        }
        joined.push_str(text);
    }
    assert_eq!(joined, stdout(&whole));
}

#[test]
fn only_db_without_a_bias_says_so() {
    let output = convsym(&["in=5 k=3", "--only", "db"]);
    assert!(output.status.success());
    assert_eq!(stdout(&output), "");
    assert_eq!(
        stderr(&output),
        "note: the layer has no bias, so there is no `db`; add `bias`\n"
    );
}

/// The `dx` names that are `= 0` on standard output.
fn zero_gradients(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|line| line.strip_suffix(" = 0"))
        .filter(|lhs| lhs.starts_with("dx"))
        .map(str::to_string)
        .collect()
}

/// The names the notes list after their last `: `.
fn noted(notes: &str) -> BTreeSet<String> {
    notes
        .lines()
        .flat_map(|line| {
            let (_, names) = line.rsplit_once(": ").expect("a list of names");
            names.split(", ").map(str::to_string)
        })
        .collect()
}

#[test]
fn the_remainder_is_noted_on_stderr_per_axis() {
    let output = convsym(&["in=6 k=3 stride=2"]);
    assert!(output.status.success());
    assert_eq!(
        stderr(&output),
        "note: on axis 1, the remainder r = (padded input 6 − kernel span 3) mod stride 2 = 1 \
         leaves input position 6 (1-based) past the last window: never read, so `dx` is 0 there: \
         dx31, dx32, dx33, dx34, dx35, dx36\n\
         note: on axis 2, the remainder r = (padded input 6 − kernel span 3) mod stride 2 = 1 \
         leaves input position 6 (1-based) past the last window: never read, so `dx` is 0 there: \
         dx6, dx12, dx18, dx24, dx30, dx36\n"
    );
    assert_eq!(noted(stderr(&output)), zero_gradients(stdout(&output)));

    let output = convsym(&["in=(8,) k=3 stride=3"]);
    assert_eq!(
        stderr(&output),
        "note: on axis 1, the remainder r = (padded input 8 − kernel span 3) mod stride 3 = 2 \
         leaves input positions 7, 8 (1-based) past the last window: never read, so `dx` is 0 \
         there: dx7, dx8\n"
    );
    assert_eq!(noted(stderr(&output)), zero_gradients(stdout(&output)));
}

#[test]
fn gaps_between_the_taps_are_noted_on_stderr() {
    let output = convsym(&["in=(6,) k=2 stride=3 pad=2"]);
    assert!(output.status.success());
    assert_eq!(
        stderr(&output),
        "note: on axis 1, the taps (stride 3, kernel 2, dilation 1) skip input positions 1, 4 \
         (1-based): never read, so `dx` is 0 there: dx1, dx4\n"
    );
    assert_eq!(noted(stderr(&output)), zero_gradients(stdout(&output)));

    let output = convsym(&["in=6 k=2 stride=3 pad=2"]);
    let notes = stderr(&output);
    assert!(notes.contains(
        "note: on axis 2, the taps (stride 3, kernel 2, dilation 1) skip input positions 1, 4 \
         (1-based): never read, so `dx` is 0 there: dx1, dx4, dx7, dx10, dx13, dx16, … (12 in all)\n"
    ));
    assert_eq!(zero_gradients(stdout(&output)).len(), 36 - 16);
}

/// Input `i` of `in=(4,) k=1 stride=2 pad=((2,3),) transposed` scatters to output
/// `2i − 2`, of which only 0 lies in the 2 outputs `(4 − 1)·2 − 5 + 1` the padding leaves.
#[test]
fn inputs_a_transposed_layer_crops_away_are_noted_on_stderr() {
    let output = convsym(&["in=(4,) k=1 stride=2 pad=((2,3),) transposed"]);
    assert!(output.status.success());
    assert_eq!(
        stderr(&output),
        "note: on axis 1, `pad` (2, 3) crops every output position that input positions 1, 3, 4 \
         (1-based) scatter to: no output reads them, so `dx` is 0 there: dx1, dx3, dx4\n"
    );
    assert_eq!(noted(stderr(&output)), zero_gradients(stdout(&output)));
}

#[test]
fn no_note_without_the_input_gradient_or_without_zeros() {
    let output = convsym(&["in=6 k=3 stride=2", "--only", "dw"]);
    assert!(output.status.success());
    assert_eq!(stderr(&output), "");
    assert_eq!(stderr(&convsym(&["in=5 k=3 stride=2"])), "");
}

#[test]
fn closing_the_pipe_early_ends_quietly_with_success() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_convsym"))
        .args(["in=224 k=7 stride=2 pad=3 cin=3 cout=64"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let first = lines.next().expect("a line").expect("UTF-8");
    assert!(first.starts_with("z1 = w"), "{first}");
    for _ in 0..3 {
        lines.next().expect("a line").expect("UTF-8");
    }
    drop(lines);
    let output = child.wait_with_output().expect("the binary ends");
    assert!(output.status.success(), "{output:?}");
    assert_eq!(stderr(&output), "");
}

#[test]
fn help_shows_examples() {
    let output = convsym(&["--help"]);
    assert!(output.status.success());
    let help = stdout(&output);
    assert!(
        help.contains("Usage: convsym [OPTIONS] [KEYS]..."),
        "{help}"
    );
    assert!(help.contains("Examples:\n  convsym "), "{help}");
    assert!(help.contains("--format sigma"), "{help}");
}

#[test]
fn an_unknown_format_is_a_usage_error() {
    let output = convsym(&["in=5 k=3", "--format", "yaml"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("invalid value 'yaml' for '--format <FORMAT>'"));
}

/// The text of the README's first fenced block that starts with `opening`, fences removed.
fn readme_block(opening: &str) -> &'static str {
    let readme = include_str!("../README.md");
    let start = readme
        .find(&format!("```text\n{opening}"))
        .expect("the README's sample")
        + "```text\n".len();
    let length = readme[start..].find("```").expect("a closing fence");
    &readme[start..start + length]
}

#[test]
fn the_readme_samples_are_what_convsym_prints() {
    let sigma = convsym(&["in=5", "k=3", "stride=2", "--format", "sigma"]);
    assert_eq!(readme_block("# Σ notation"), stdout(&sigma));
    let notes = convsym(&["in=6", "k=3", "stride=2"]);
    let sample = readme_block("$ convsym in=6 k=3 stride=2 > /dev/null\n");
    assert_eq!(
        sample.strip_prefix("$ convsym in=6 k=3 stride=2 > /dev/null\n"),
        Some(stderr(&notes))
    );
    let error = convsym(&["in=(5,)", "k=7"]);
    let sample = readme_block("$ convsym 'in=(5,)' k=7\n");
    assert_eq!(
        sample.strip_prefix("$ convsym 'in=(5,)' k=7\n"),
        Some(stderr(&error))
    );
}

/// The samples of the README's "Transposed convolution" section, command by command.
#[test]
fn the_readme_transposed_samples_are_what_convsym_prints() {
    for (command, args, stream) in [
        (
            "$ convsym 'in=(2,)' k=3 stride=2 transposed\n",
            &["in=(2,)", "k=3", "stride=2", "transposed"][..],
            "stdout",
        ),
        (
            "$ convsym 'in=(2,)' k=3 stride=2 transposed --format sigma\n",
            &[
                "in=(2,)",
                "k=3",
                "stride=2",
                "transposed",
                "--format",
                "sigma",
            ],
            "stdout",
        ),
        (
            "$ convsym 'in=(4,)' k=1 stride=2 'pad=((2,3),)' transposed > /dev/null\n",
            &["in=(4,)", "k=1", "stride=2", "pad=((2,3),)", "transposed"],
            "stderr",
        ),
    ] {
        let output = convsym(args);
        let printed = if stream == "stdout" {
            stdout(&output)
        } else {
            stderr(&output)
        };
        assert_eq!(
            readme_block(command).strip_prefix(command),
            Some(printed),
            "{command}"
        );
    }
    let check = Command::new(env!("CARGO_BIN_EXE_convsym"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "check",
            "tests/fixtures/check/transposed-wrong.txt",
            "in=(3,)",
            "k=3",
            "stride=2",
            "pad=1",
            "output_padding=1",
            "transposed",
        ])
        .output()
        .expect("the binary runs");
    // The README shows the report's findings, each a line `check` prints.
    for line in readme_block("tests/fixtures/check/transposed-wrong.txt:16").lines() {
        assert!(
            stdout(&check).lines().any(|printed| printed == line),
            "`{line}` is not printed"
        );
    }
}

/// Equations stream one at a time, but each is built whole: a layer whose single equations
/// would not fit in memory is refused up front, with exit code 2, instead of being killed.
#[test]
fn equations_too_long_to_hold_are_refused() {
    let output = convsym(&["--only", "dw", "in=(4000000000,)", "k=1"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(stdout(&output), "");
    assert_eq!(
        stderr(&output),
        "error: a `dw` equation of this layer can have 4000000000 terms, more than the 16777216 convsym holds at once\n"
    );
}

/// A layer without a bias has no `db` equation to refuse, however long its bias gradient
/// would be: a transposed layer of 20 000 001 outputs, whose every equation has one term
/// but a `db` would have 20 000 001, prints (it was refused for that `db`, found fuzzing
/// the tool); with a bias, its one `db` equation is refused.
#[test]
fn no_bias_no_db_to_refuse() {
    let keys = [
        "in=(1,)",
        "k=1",
        "output_padding=20000000",
        "dilation=20000001",
        "transposed",
    ];
    let output = convsym(&[&keys[..], &["--only", "db"]].concat());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), "");
    assert_eq!(
        stderr(&output),
        "note: the layer has no bias, so there is no `db`; add `bias`\n"
    );
    let biased = convsym(&[&keys[..], &["bias", "--only", "db"]].concat());
    assert_eq!(biased.status.code(), Some(2));
    assert_eq!(
        stderr(&biased),
        "error: a `db` equation of this layer can have 20000001 terms, more than the 16777216 convsym holds at once\n"
    );
}

/// An axis whose output fits `usize` but whose pairs of output and tap do not (12 taps
/// over 2^61 outputs): `explain` refuses it for size, exit code 2. The count of
/// multiply-adds summed those pairs in `usize` and panicked (found fuzzing `conv!`, which
/// counts them too).
#[test]
fn explain_refuses_an_axis_whose_pairs_pass_usize() {
    let output = convsym(&["explain", "in=(2147147482448243648,)", "k=12"]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(
        stderr(&output).starts_with("error: the layer is too large to explain"),
        "{}",
        stderr(&output)
    );
}

/// A full disk is a failure to write, exit code 1, for every subcommand alike: 2 is for
/// what the user asked.
#[test]
fn a_write_failure_exits_1_in_every_subcommand() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        return;
    };
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/check/note.txt");
    for args in [
        &["in=5", "k=3"][..],
        &["explain", "in=5", "k=3"],
        &["check", fixture],
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_convsym"))
            .args(args)
            .stdout(full.try_clone().expect("a second handle"))
            .output()
            .expect("the binary runs");
        assert_eq!(output.status.code(), Some(1), "{args:?}: {output:?}");
        assert_eq!(
            stderr(&output),
            "error: cannot write the output: No space left on device (os error 28)\n",
            "{args:?}"
        );
    }
}

/// The Σ formulas unroll no equation, so no layer is too large for them: the refusal above
/// is for the formats that print every term.
#[test]
fn sigma_is_never_refused_for_size() {
    let keys = ["in=(20000000,)", "k=1"];
    let refused = convsym(&keys);
    assert_eq!(refused.status.code(), Some(2));
    assert_eq!(
        stderr(&refused),
        "error: a `dw` equation of this layer can have 20000000 terms, more than the 16777216 convsym holds at once\n"
    );
    for format in ["text", "latex", "json"] {
        let output = convsym(&[keys[0], keys[1], "--format", format]);
        assert_eq!(output.status.code(), Some(2), "{format}");
    }
    let sigma = convsym(&[keys[0], keys[1], "--format", "sigma"]);
    assert!(sigma.status.success(), "{}", stderr(&sigma));
    assert_eq!(stderr(&sigma), "");
    let formulas = stdout(&sigma);
    assert!(formulas.starts_with("# Σ notation"), "{formulas}");
    assert!(
        formulas.contains("\ndw[a] = Σ_{i} d[i]·x[i+a]\n"),
        "{formulas}"
    );
}

/// Each of the README's sections appears once: an edit that pasted a part of it twice (as
/// one did, repeating some 750 lines) shows as a heading seen twice.
#[test]
fn readme_sections_appear_once() {
    let readme = include_str!("../README.md");
    let mut seen = std::collections::HashSet::new();
    let mut fenced = false;
    for line in readme.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
        }
        if !fenced && line.starts_with("## ") {
            assert!(seen.insert(line), "the README has {line:?} twice");
        }
    }
}
