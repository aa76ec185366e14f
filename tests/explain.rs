//! `convsym explain` in every format, for the seed, a layer with a remainder, a rectangular
//! dilated layer and a 1-D layer. Each output is first checked on its own terms (the
//! equations it prints are the chain rule's, the dilated δ has the stride's zero pattern,
//! the closing line confirms the constructions) and only then pinned as a snapshot.

use std::process::Command;

use convsym::derive::{self, Section};
use convsym::{Notation, Spec};

/// The layers explained, each with the name of its snapshots.
const LAYERS: [(&str, &str); 4] = [
    ("seed", "in=5 k=3 stride=2"),
    ("remainder", "in=6 k=3 stride=2"),
    (
        "rectangular_dilated",
        "in=(7,6) k=(3,2) stride=(2,3) dilation=(2,1) pad=1",
    ),
    ("one_axis", "in=(9,) k=3 stride=2 pad=(1,)"),
];

/// Runs `convsym ARGS…`: exit code, stdout, stderr.
fn convsym(args: &[&str]) -> (u8, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_convsym"))
        .args(args)
        .output()
        .expect("the binary runs");
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

fn explain(format: &str, keys: &str) -> String {
    let mut args = vec!["explain", "--format", format];
    args.extend(keys.split(' '));
    let (code, stdout, stderr) = convsym(&args);
    assert_eq!(code, 0, "{keys}: {stderr}");
    stdout
}

fn rendered(spec: &Spec, section: Section, notation: Notation) -> Vec<String> {
    derive::equations(spec, section)
        .map(|equation| equation.display(notation).to_string())
        .collect()
}

/// The lines of step `number`'s text (from its heading to the next).
fn step(text: &str, number: usize) -> Vec<&str> {
    let heading = format!("{number}. ");
    let next = format!("{}. ", number + 1);
    text.lines()
        .skip_while(|line| !line.trim_start_matches("## ").starts_with(&heading))
        .skip(1)
        .take_while(|line| !line.trim_start_matches("## ").starts_with(&next))
        .collect()
}

/// The equation lines `    name… = …` of a step in text or Markdown, windows left out.
fn equations_in(lines: &[&str], name: &str) -> Vec<String> {
    lines
        .iter()
        .filter_map(|line| line.strip_prefix("    "))
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        })
        .map(str::to_string)
        .collect()
}

/// The cells of the grid drawn under `label` in text: rows of cell strings.
fn grid_after(lines: &[&str], label: &str) -> Vec<Vec<String>> {
    lines
        .iter()
        .skip_while(|line| !line.starts_with(label))
        .skip(1)
        .take_while(|line| line.starts_with("    "))
        .map(|line| {
            line.trim()
                .trim_matches(|c| "⎡⎢⎣[⎤⎥⎦]".contains(c))
                .split_whitespace()
                .map(str::to_string)
                .collect()
        })
        .collect()
}

/// The text and Markdown forms show what the runtime derives.
fn check_text(spec: &Spec, text: &str) {
    let forward = rendered(spec, Section::Forward, Notation::Text);
    assert_eq!(equations_in(&step(text, 2), "z"), forward);
    let weight = rendered(spec, Section::GradWeight, Notation::Text);
    assert_eq!(equations_in(&step(text, 4), "dw"), weight);
    let input = rendered(spec, Section::GradInput, Notation::Text);
    assert_eq!(equations_in(&step(text, 5), "dx"), input);

    // δ dilated by the stride: entry d(i·out_cols + j + 1) at multiples of the stride,
    // zeros between.
    let strides: Vec<usize> = spec.axes().iter().map(convsym::Axis::stride).collect();
    let outputs: Vec<usize> = spec.axes().iter().map(convsym::Axis::output).collect();
    let (row_stride, column_stride) = match strides[..] {
        [s] => (1, s),
        [r, c] => (r, c),
        _ => unreachable!("the layers here have 1 or 2 axes"),
    };
    let grid = grid_after(&step(text, 3), "δ dilated by the stride");
    let rows = if outputs.len() == 1 {
        1
    } else {
        (outputs[0] - 1) * strides[0] + 1
    };
    assert_eq!(grid.len(), rows);
    for (i, row) in grid.iter().enumerate() {
        for (j, cell) in row.iter().enumerate() {
            let on_grid = i % row_stride == 0 && j % column_stride == 0;
            let expected = if on_grid {
                let columns = outputs.last().copied().unwrap_or(1);
                format!("d{}", (i / row_stride) * columns + j / column_stride + 1)
            } else {
                "0".to_string()
            };
            assert_eq!(cell, &expected, "dilated δ at ({i}, {j})");
        }
    }
    assert!(step(text, 6).iter().any(|line| {
        line.starts_with("Both constructions equal the chain rule's equations term for term")
    }));
}

/// The LaTeX form is a whole document whose `align*` blocks are the runtime's equations.
fn check_latex(spec: &Spec, latex: &str) {
    assert!(latex.starts_with("\\documentclass"));
    assert!(latex.trim_end().ends_with("\\end{document}"));
    for environment in [
        "document", "align*", "gather*", "pmatrix", "tabular", "center",
    ] {
        let begins = latex.matches(&format!("\\begin{{{environment}}}")).count();
        let ends = latex.matches(&format!("\\end{{{environment}}}")).count();
        assert_eq!(begins, ends, "{environment}");
    }
    let mut aligned: Vec<String> = Vec::new();
    let mut inside = false;
    for line in latex.lines() {
        match line {
            "\\begin{align*}" => inside = true,
            "\\end{align*}" => inside = false,
            _ if inside => aligned.push(line.trim_end_matches(" \\\\").to_string()),
            _ => {}
        }
    }
    let expected: Vec<String> = [Section::Forward, Section::GradWeight, Section::GradInput]
        .into_iter()
        .flat_map(|section| rendered(spec, section, Notation::Latex))
        .collect();
    assert_eq!(aligned, expected);
}

#[test]
fn explain_in_every_format() {
    for (name, keys) in LAYERS {
        let spec = Spec::parse(keys).expect("a valid layer");
        let text = explain("text", keys);
        check_text(&spec, &text);
        insta::assert_snapshot!(format!("explain_{name}_text"), text);

        let markdown = explain("markdown", keys);
        check_text(&spec, &markdown);
        assert_eq!(markdown.matches("```").count() % 2, 0, "fences pair up");
        insta::assert_snapshot!(format!("explain_{name}_markdown"), markdown);

        let latex = explain("latex", keys);
        check_latex(&spec, &latex);
        insta::assert_snapshot!(format!("explain_{name}_latex"), latex);
    }
}

#[test]
fn the_remainder_shows_as_zero_rows() {
    let text = explain("text", "in=6 k=3 stride=2");
    let zero: Vec<String> = equations_in(&step(&text, 5), "dx")
        .into_iter()
        .filter(|line| line.ends_with(" = 0"))
        .collect();
    assert_eq!(
        zero,
        [6, 12, 18, 24, 30, 31, 32, 33, 34, 35, 36].map(|i| format!("dx{i} = 0"))
    );
    // Prose is wrapped: read it as one line.
    let prose = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(prose.contains("so row 6 of the input is never read"));
    assert!(prose.contains("exactly the inputs step 1 found never read, in the remainder r"));
}

#[test]
fn the_default_is_the_seed() {
    assert_eq!(
        convsym(&["explain"]).1,
        explain("text", "in=5 k=3 stride=2")
    );
}

#[test]
fn a_bad_layer_exits_2_naming_the_key() {
    let (code, stdout, stderr) = convsym(&["explain", "in=5", "k=3", "strid=2"]);
    assert_eq!(code, 2);
    assert!(stdout.is_empty());
    assert_eq!(
        stderr,
        "error: unknown key `strid`; did you mean `stride`?\n  | in=5 k=3 strid=2\n  |          ^^^^^\n"
    );
}

/// Draws the layer to SVG and parses it back.
fn picture(keys: &str) -> String {
    let path = std::env::temp_dir().join(format!(
        "convsym-explain-{}-{}.svg",
        std::process::id(),
        keys.len()
    ));
    let path_text = path.to_str().expect("a UTF-8 temporary path");
    let mut args = vec!["explain", "--svg", path_text];
    args.extend(keys.split(' '));
    let (code, _, stderr) = convsym(&args);
    assert_eq!(code, 0, "{stderr}");
    let svg = std::fs::read_to_string(&path).expect("the picture was written");
    let _ = std::fs::remove_file(&path);
    svg
}

#[test]
fn the_picture_has_one_cell_per_input_and_marks_the_unread() {
    for (keys, inputs, unread) in [
        ("in=5 k=3 stride=2", 25, 0),
        ("in=6 k=3 stride=2", 36, 11),
        ("in=(9,) k=3 stride=2 pad=(1,)", 9, 0),
        ("in=(8,) k=2 stride=3", 8, 2),
    ] {
        let svg = picture(keys);
        let document = roxmltree::Document::parse(&svg).expect("the SVG is well-formed XML");
        let cells: Vec<roxmltree::Node<'_, '_>> = document
            .descendants()
            .filter(|node| node.has_tag_name("rect") && node.has_attribute("data-variable"))
            .collect();
        let mut names: Vec<&str> = cells
            .iter()
            .filter_map(|node| node.attribute("data-variable"))
            .collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), inputs, "{keys}: one cell per input");
        assert_eq!(cells.len(), inputs, "{keys}: one cell per input");
        let marked = cells
            .iter()
            .filter(|node| {
                node.attribute("class")
                    .is_some_and(|class| class.split(' ').any(|c| c == "unread"))
            })
            .count();
        assert_eq!(marked, unread, "{keys}: never-read cells");
    }
}

#[test]
fn three_axes_cannot_be_drawn() {
    let path = std::env::temp_dir().join("convsym-explain-3d.svg");
    let path_text = path.to_str().expect("a UTF-8 temporary path");
    let (code, _, stderr) = convsym(&["explain", "--svg", path_text, "in=(3,3,3)", "k=2"]);
    assert_eq!(code, 2);
    assert!(
        stderr.starts_with("error: the picture draws layers of 1 or 2 axes"),
        "{stderr}"
    );
}

/// `cargo test -- --ignored` on a machine with `pdflatex` compiles every LaTeX snapshot's
/// layer; CI has no TeX installation, so this is not part of the default run.
#[test]
#[ignore = "needs `pdflatex` (texlive-latex-base)"]
fn latex_compiles() {
    let directory = std::env::temp_dir().join(format!("convsym-latex-{}", std::process::id()));
    std::fs::create_dir_all(&directory).expect("a temporary directory");
    for (name, keys) in LAYERS {
        let file = directory.join(format!("{name}.tex"));
        std::fs::write(&file, explain("latex", keys)).expect("the document is written");
        let status = Command::new("pdflatex")
            .args(["-interaction=nonstopmode", "-halt-on-error"])
            .arg(&file)
            .current_dir(&directory)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("pdflatex runs");
        assert!(status.success(), "{name} does not compile");
    }
    let _ = std::fs::remove_dir_all(&directory);
}

#[test]
fn the_readme_shows_the_seeds_explanation_as_printed() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("the README");
    let seed = explain("text", "in=5 k=3 stride=2");
    assert!(
        readme.contains(&format!("```text\n{seed}```")),
        "README.md's \"Explain and check\" shows an outdated `convsym explain`"
    );
}

/// Explaining builds every grid and both constructions in full: a layer past the bound is
/// refused with exit code 2 before anything is allocated, never a crash. The count, worked
/// by hand for `in=(3000,3000) k=3`: padded input 3000² = 9 000 000, padded δ 3002² =
/// 9 012 004, twice the 2998²·9 = 80 892 036 multiply-adds, the input gradient's windows
/// 3000²·9 = 81 000 000 and the weight gradient's 9·2998² = 80 892 036: 341 688 112.
#[test]
fn a_layer_too_large_to_explain_is_refused() {
    let refusal = "error: the layer is too large to explain: its constructions build 341688112 elements, more than 4194304; `convsym` without `explain` streams its equations\n";
    let (code, stdout, stderr) = convsym(&["explain", "in=(3000,3000)", "k=3"]);
    assert_eq!((code, stdout.as_str(), stderr.as_str()), (2, "", refusal));
    // One output of a kernel as long as the input: few elements, but the input gradient's
    // construction visits 20 000² products (it took 29 s before they were counted).
    let (code, _, stderr) = convsym(&["explain", "in=(20000,)", "k=20000"]);
    assert_eq!(code, 2);
    assert!(
        stderr.starts_with(
            "error: the layer is too large to explain: its constructions build 400119999 elements"
        ),
        "{stderr}"
    );
    let svg = std::env::temp_dir().join("convsym-too-large.svg");
    let svg = svg.to_str().expect("a UTF-8 temporary path");
    let (code, _, stderr) = convsym(&["explain", "--svg", svg, "in=(3000,3000)", "k=3"]);
    assert_eq!((code, stderr.as_str()), (2, refusal));
    // Sizes that overflow any count: a dilation of 2^63 − 1 with `same` padding.
    let (code, _, stderr) = convsym(&[
        "explain",
        "in=5",
        "k=2",
        "dilation=9223372036854775807",
        "pad=same",
    ]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("more elements than can be counted"),
        "{stderr}"
    );
}
