//! `convsym explain --format html`: the page read back as XML (its equations are the chain
//! rule's, its picture and tables are there, it loads nothing from elsewhere), then
//! rendered in a real headless browser.
//!
//! The browser test needs Debian's `chromium` (or the binary named by `CONVSYM_CHROMIUM`).
//! Without one it says so and passes, unless `CONVSYM_BROWSER_TEST=1` (as `.ci/run` sets),
//! under which a missing browser is a failure: CI can never skip it silently.

use std::path::{Path, PathBuf};
use std::process::Command;

use convsym::derive::{self, Section};
use convsym::{Notation, Spec};
use roxmltree::{Document, Node, ParsingOptions};

/// Layers with and without a remainder, of one, two and three axes (the last without a
/// picture, which is drawn for one and two).
const LAYERS: [&str; 4] = [
    "in=5 k=3 stride=2",
    "in=6 k=3 stride=2",
    "in=(9,) k=3 stride=2 pad=(1,) bias",
    "in=(3,4,3) k=2 cin=2 cout=2 groups=2",
];

fn page(keys: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_convsym"))
        .args(["explain", "--format", "html"])
        .args(keys.split(' '))
        .output()
        .expect("the binary runs");
    assert!(output.status.success(), "{keys}: {output:?}");
    String::from_utf8(output.stdout).expect("utf-8")
}

fn parse(page: &str) -> Document<'_> {
    let options = ParsingOptions {
        allow_dtd: true,
        ..ParsingOptions::default()
    };
    Document::parse_with_options(page, options).expect("the page is well-formed XML")
}

fn has_class(node: Node, class: &str) -> bool {
    node.attribute("class")
        .is_some_and(|classes| classes.split(' ').any(|c| c == class))
}

/// A MathML equation read back into the text notation, by the MathML elements alone:
/// `<msub><mi>z</mi><mn>1</mn></msub>` is `z1`, an `mfrac` of `∂L` over `∂w1` is `dw1`,
/// `δ` is `d`, the invisible times `*`.
fn read_mathml(node: Node) -> String {
    match node.tag_name().name() {
        "mfrac" => {
            let below = node
                .children()
                .filter(Node::is_element)
                .nth(1)
                .expect("a denominator");
            format!("d{}", read_mathml(below).trim_start_matches('∂'))
        }
        "mi" | "mn" => match node.text().unwrap_or_default() {
            "δ" => "d".to_string(),
            text => text.to_string(),
        },
        "mo" => match node.text().unwrap_or_default() {
            "\u{2062}" => "*".to_string(),
            "−" => " - ".to_string(),
            operator => format!(" {operator} "),
        },
        _ => node
            .children()
            .filter(Node::is_element)
            .map(read_mathml)
            .collect(),
    }
}

/// The equations of the page's equation blocks, in order, as text.
fn equations(document: &Document) -> Vec<String> {
    document
        .descendants()
        .filter(|node| has_class(*node, "equations"))
        .flat_map(|block| block.descendants().filter(|node| node.has_tag_name("math")))
        .map(|math| read_mathml(math))
        .collect()
}

#[test]
fn the_page_holds_the_chain_rules_equations_the_picture_and_the_tables() {
    for keys in LAYERS {
        let page = page(keys);
        let document = parse(&page);
        let spec = Spec::parse(keys).unwrap();
        // Forward, then the weight and bias gradients (step 4), then the input gradient
        // (step 5), each the chain rule's equations in full: the page's MathML, read back.
        let sections = [
            Section::Forward,
            Section::GradWeight,
            Section::GradBias,
            Section::GradInput,
        ];
        let expected: Vec<String> = sections
            .into_iter()
            .flat_map(|section| derive::equations(&spec, section))
            .map(|equation| equation.display(Notation::Text).to_string())
            .collect();
        assert_eq!(equations(&document), expected, "{keys}");

        let count = |tag: &str| {
            document
                .descendants()
                .filter(|n| n.has_tag_name(tag))
                .count()
        };
        let pictured = spec.axes().len() < 3;
        assert_eq!(count("svg"), usize::from(pictured), "{keys}");
        assert_eq!(count("h2"), 6, "{keys}: one heading per step");
        // The sizes step's two tables: the tensors, and the axes, one row each.
        let data: Vec<Node> = document
            .descendants()
            .filter(|node| node.has_tag_name("table") && has_class(*node, "data"))
            .collect();
        assert_eq!(data.len(), 2, "{keys}");
        let rows = |table: &Node| table.descendants().filter(|n| n.has_tag_name("tr")).count();
        let tensors = 4 + usize::from(spec.bias_len() > 0);
        assert_eq!(
            rows(&data[0]),
            tensors,
            "{keys}: a heading, x, w, (b) and z"
        );
        assert_eq!(rows(&data[1]), 1 + spec.axes().len(), "{keys}");
        // Every grid is a table of cells, and the δ grids hold every δ element.
        let deltas = document
            .descendants()
            .filter(|node| has_class(*node, "cells"))
            .flat_map(|grid| grid.descendants().filter(|n| n.has_tag_name("td")))
            .filter(|cell| read_mathml(*cell).starts_with('d'))
            .count();
        assert!(deltas >= spec.output_len(), "{keys}: {deltas} δ cells");
        assert!(
            count("math") > expected.len(),
            "{keys}: prose and grids use MathML too"
        );
    }
}

#[test]
fn the_page_loads_nothing_from_elsewhere_and_escapes_its_text() {
    let page = page("in=6 k=3 stride=2");
    let document = parse(&page);
    for node in document.descendants().filter(Node::is_element) {
        let tag = node.tag_name().name();
        assert!(
            !matches!(tag, "script" | "link" | "img" | "iframe" | "object"),
            "<{tag}>"
        );
        for attribute in node.attributes() {
            assert!(
                !matches!(attribute.name(), "src" | "href") && !attribute.value().contains("url("),
                "<{tag} {}=…>",
                attribute.name()
            );
        }
    }
    let style: String = document
        .descendants()
        .filter(|node| node.has_tag_name("style"))
        .filter_map(|node| node.text())
        .collect();
    assert!(!style.contains("url(") && !style.contains("@import"));
    // The spec's parentheses and the prose's apostrophes arrive as text, escaped.
    let title = document
        .descendants()
        .find(|node| node.has_tag_name("title"))
        .and_then(|node| node.text())
        .unwrap();
    assert!(title.ends_with("in=(6,6) k=(3,3) stride=(2,2) pad=((0,0),(0,0)) dilation=(1,1) cin=1 cout=1 groups=1 batch=1"));
    assert!(page.contains("tensor&apos;s letter"));
}

/// The browser to run: `CONVSYM_CHROMIUM`, or the first of Chromium's usual names on the
/// `PATH`.
fn browser() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CONVSYM_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let paths = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&paths).map(move |dir| dir.join(name)))
        .find(|path| path.is_file())
}

/// Runs headless Chromium on `page` with `arguments`, in a fresh profile, with every host
/// name unresolvable so that no request can leave the machine: (stdout, stderr).
fn chromium(browser: &Path, page: &Path, window: &str, arguments: &[&str]) -> (String, String) {
    let profile = page.with_extension("profile");
    let _ = std::fs::remove_dir_all(&profile);
    let output = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--window-size={window}"))
        .args(arguments)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("the browser runs");
    let _ = std::fs::remove_dir_all(&profile);
    assert!(output.status.success(), "{output:?}");
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Installed first in the measured copy's head: records every error the page raises,
/// a failed load, a refused resource, anything written to the console's error stream.
const LISTEN: &str = "<script>
window.problems = [];
addEventListener('error', e => problems.push('error: ' + (e.message || (e.target && e.target.outerHTML))), true);
addEventListener('securitypolicyviolation', e => problems.push('refused: ' + e.blockedURI));
const consoleError = console.error;
console.error = (...args) => { problems.push('console: ' + args.join(' ')); consoleError(...args); };
</script>";

/// Appended to the measured copy's body: the size of every `math` element and of the
/// picture, and whether the page fits the window's width, written into the DOM as JSON.
const MEASURE: &str = "<script>
const box = e => { const r = e.getBoundingClientRect(); return [r.width, r.height]; };
const svg = document.querySelector('svg');
const out = document.createElement('pre');
out.id = 'measurements';
out.textContent = JSON.stringify({
  problems,
  math: [...document.querySelectorAll('math')].map(box),
  svg: svg ? box(svg).concat([getComputedStyle(svg).visibility]) : null,
  scrollWidth: document.documentElement.scrollWidth,
  innerWidth,
});
document.body.append(out);
</script>";

#[test]
fn a_browser_renders_the_math_and_the_picture() {
    let Some(browser) = browser() else {
        assert!(
            std::env::var("CONVSYM_BROWSER_TEST").as_deref() != Ok("1"),
            "CONVSYM_BROWSER_TEST=1 but no browser was found: install chromium or set CONVSYM_CHROMIUM"
        );
        eprintln!("no chromium on the PATH: the browser test is skipped");
        return;
    };
    let directory = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let html = page("in=6 k=3 stride=2");
    let page_path = directory.join("explain-page.html");
    std::fs::write(&page_path, &html).unwrap();

    // The page as it is: a screenshot, and not one console message (the page has no
    // script, so any would be the browser's complaint about it).
    let screenshot = directory.join("explain-page.png");
    let _ = std::fs::remove_file(&screenshot);
    let shot = format!("--screenshot={}", screenshot.display());
    let (_, log) = chromium(&browser, &page_path, "820,1640", &[&shot]);
    let console: Vec<&str> = log
        .lines()
        .filter(|line| line.contains(":CONSOLE"))
        .collect();
    assert!(console.is_empty(), "{console:#?}");
    let png = std::fs::read(&screenshot).expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    // IHDR: the width and height of the window, big-endian at bytes 16 and 20.
    assert_eq!(png[16..24], [0, 0, 3, 52, 0, 0, 6, 104]);

    // Printed: the print style sheet gives a PDF of several pages.
    let pdf_path = directory.join("explain-page.pdf");
    let _ = std::fs::remove_file(&pdf_path);
    let print = format!("--print-to-pdf={}", pdf_path.display());
    chromium(
        &browser,
        &page_path,
        "900,1100",
        &["--no-pdf-header-footer", &print],
    );
    let pdf = std::fs::read(&pdf_path).expect("a PDF");
    assert!(pdf.starts_with(b"%PDF-"));
    // Each page object is `/Type /Page` (the page tree's nodes are `/Type /Pages`).
    let pages = pdf
        .windows(12)
        .filter(|w| w.starts_with(b"/Type /Page") && w[11] != b's')
        .count();
    assert!(pages > 1, "{pages} pages");

    // A copy with the listener and the measurements, on a phone's width.
    let measured = html
        .replacen("<head>", &format!("<head>{LISTEN}"), 1)
        .replacen("</body>", &format!("{MEASURE}</body>"), 1);
    let measured_path = directory.join("explain-page-measured.html");
    std::fs::write(&measured_path, measured).unwrap();
    let (dom, _) = chromium(&browser, &measured_path, "390,844", &["--dump-dom"]);
    let json = dom
        .split_once("<pre id=\"measurements\">")
        .and_then(|(_, rest)| rest.split_once("</pre>"))
        .map(|(json, _)| {
            json.replace("&amp;", "&")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
        })
        .expect("the measurements in the dumped DOM");
    let measurements: serde_json::Value = serde_json::from_str(&json).unwrap();

    assert_eq!(measurements["problems"], serde_json::json!([]));
    let math = measurements["math"].as_array().unwrap();
    let in_page = parse(&html)
        .descendants()
        .filter(|node| node.has_tag_name("math"))
        .count();
    assert_eq!(math.len(), in_page);
    let empty: Vec<usize> = (0..math.len())
        .filter(|&i| !(math[i][0].as_f64().unwrap() > 1.0 && math[i][1].as_f64().unwrap() > 1.0))
        .collect();
    assert!(empty.is_empty(), "math elements without size: {empty:?}");
    let svg = &measurements["svg"];
    assert!(
        svg[0].as_f64().unwrap() > 100.0 && svg[1].as_f64().unwrap() > 100.0,
        "{svg}"
    );
    assert_eq!(svg[2], "visible");
    // On a phone, the page itself never scrolls sideways: wide blocks scroll on their own.
    assert!(
        measurements["scrollWidth"].as_f64() <= measurements["innerWidth"].as_f64(),
        "{measurements}"
    );
}
