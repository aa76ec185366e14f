//! The specification on the command line: `key=value` words joined with spaces, parsed
//! once, with every error reported on standard error under the text it is about.

use std::fmt::Write as _;
use std::ops::Range;

use convsym::{Error, Spec};

/// What `convsym` prints without keys: the seed's layer.
pub const SEED: &str = "in=5 k=3 stride=2";

/// The exit code for an invalid specification (and, from clap, an invalid command line).
pub const INVALID: u8 = 2;

/// The layer's specification, as `key=value` words.
#[derive(Clone, Debug, clap::Args)]
pub struct Keys {
    /// The layer as `key=value` words, joined with spaces before parsing
    /// [default: in=5 k=3 stride=2]
    #[arg(value_name = "KEYS")]
    words: Vec<String>,
}

impl Keys {
    /// The specification's text: the words joined with spaces, or the seed without words.
    pub fn text(&self) -> String {
        if self.words.is_empty() {
            SEED.to_string()
        } else {
            self.words.join(" ")
        }
    }

    /// The validated layer, or the report of every error (see [`report`]) to print.
    pub fn spec_or_report(&self) -> Result<Spec, String> {
        let text = self.text();
        Spec::parse(&text).map_err(|errors| report(&text, &errors))
    }

    /// The validated layer, or `None` after writing the report of every error to `stderr`.
    ///
    /// # Errors
    ///
    /// Writing to `stderr` failed.
    pub fn spec_reported(&self, stderr: &mut dyn std::io::Write) -> std::io::Result<Option<Spec>> {
        match self.spec_or_report() {
            Ok(spec) => Ok(Some(spec)),
            Err(report) => stderr.write_all(report.as_bytes()).map(|()| None),
        }
    }
}

/// Every error as `error: message`, followed, when it points into `text`, by `text` and a
/// caret line under the part it is about:
///
/// ```text
/// error: `k` (7) is larger than the padded input (5) on axis 1
///   | in=5 k=7
///   |        ^
/// ```
pub fn report(text: &str, errors: &[Error<Range<usize>>]) -> String {
    let mut report = String::new();
    for error in errors {
        let _ = writeln!(report, "error: {}", error.message);
        if let Some(underline) = error.span.as_ref().and_then(|span| underline(text, span)) {
            let _ = writeln!(report, "  | {}", printable(text));
            let _ = writeln!(report, "  | {underline}");
        }
    }
    report
}

/// Spaces up to `span` and a caret under each of its characters (one for an empty span,
/// such as the end of the text); `None` if `span` does not fall on `text`'s characters.
fn underline(text: &str, span: &Range<usize>) -> Option<String> {
    let before = text.get(..span.start)?.chars().count();
    let width = text.get(span.clone())?.chars().count().max(1);
    Some(format!("{}{}", " ".repeat(before), "^".repeat(width)))
}

/// `text` on one line: a quoted word may hold a newline or a tab, which would break the
/// caret's alignment, so every control character shows as a space.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carets_count_characters_not_bytes() {
        let text = "in=5 k=×";
        let errors = Spec::parse(text).unwrap_err();
        assert_eq!(
            report(text, &errors),
            "error: expected a value for `k`: an integer, a word or a tuple, found `×`\n  \
             | in=5 k=×\n  |        ^\n"
        );
    }

    #[test]
    fn an_empty_span_at_the_end_gets_one_caret_past_the_text() {
        let text = "in=5 k=";
        let errors = Spec::parse(text).unwrap_err();
        assert!(report(text, &errors).ends_with("  | in=5 k=\n  |        ^\n"));
    }

    proptest::proptest! {
        /// Whatever is typed, parsing and reporting end in a report, never a panic.
        #[test]
        fn any_text_is_reported_not_panicked_on(
            text in "(in|k|stride|pad|dilation|cin|cout|groups|bias|batch|same|[a-z_]{1,3}|[0-9]{1,22}|-|=|,|\\(|\\)|×|\n| ){0,16}"
        ) {
            if let Err(errors) = Spec::parse(&text) {
                let report = report(&text, &errors);
                proptest::prop_assert_eq!(
                    report.lines().filter(|line| line.starts_with("error: ")).count(),
                    errors.len()
                );
            }
        }
    }

    #[test]
    fn a_span_off_the_text_prints_the_message_alone() {
        let errors = [Error {
            message: "`k` (3) is wrong".to_string(),
            span: Some(7..99),
        }];
        assert_eq!(report("in=5", &errors), "error: `k` (3) is wrong\n");
    }
}
