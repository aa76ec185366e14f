//! `convsym check FILE [KEYS…]`: equations written by hand, checked against a layer.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};

use convsym::Spec;
use convsym::check::{self, Checker, Options};
use convsym::limits::{CHECKED_BYTES, TooLarge};

use super::keys::{INVALID, Keys};

/// Arguments of `convsym check`.
#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// The equations, one per line (`z2 = w1*x3 + …`), or `-` to read standard input.
    #[arg(value_name = "FILE")]
    pub file: String,
    /// Also require every equation of the layer: unwritten ones make the check fail.
    #[arg(long)]
    pub complete: bool,
    /// Where the indices of Σ formulas start, 0 or 1; without it, 0-based unless only the
    /// 1-based reading is right (the report says which was read).
    #[arg(long, value_name = "0|1", value_parser = clap::value_parser!(u8).range(0..=1))]
    pub base: Option<u8>,
    /// The layer.
    #[command(flatten)]
    pub keys: Keys,
}

/// Prints the report as the lines are read; exit code 0 when every equation is right, 1
/// when any is wrong (or, with `--complete`, missing), 2 when the layer, the file or every
/// line is unusable, or an equation is too large to check. A failure to write is
/// returned, for [`super::run`] to turn into an exit code.
pub fn run(
    args: &CheckArgs,
    spec: &Spec,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> io::Result<u8> {
    let (source, mut input): (String, Box<dyn BufRead>) = if args.file == "-" {
        ("<stdin>".into(), Box::new(io::stdin().lock()))
    } else {
        match File::open(&args.file) {
            Ok(file) => (args.file.clone(), Box::new(BufReader::new(file))),
            Err(error) => {
                let file = check::escaped(&args.file);
                writeln!(stderr, "error: cannot read `{file}`: {error}")?;
                return Ok(INVALID);
            }
        }
    };
    let mut out = BufWriter::new(stdout);
    out.write_all(check::header(spec, &source).as_bytes())?;
    let options = Options {
        complete: args.complete,
        base: args.base.map(|base| {
            if base == 1 {
                check::Base::One
            } else {
                check::Base::Zero
            }
        }),
    };
    let mut checker = Checker::new(spec, options);
    let mut lines = Lines {
        input: &mut *input,
        line: Vec::new(),
        number: 0,
        left: CHECKED_BYTES,
    };
    loop {
        match lines.next() {
            Ok(Some(line)) => {
                for entry in checker.read(line) {
                    out.write_all(entry.render(&source).as_bytes())?;
                }
            }
            Ok(None) => break,
            Err(unread) => {
                out.flush()?;
                let source = check::escaped(&source);
                writeln!(stderr, "error: {}", unread.message(&source))?;
                return Ok(INVALID);
            }
        }
    }
    let (last, ending) = checker.finish();
    for entry in last {
        out.write_all(entry.render(&source).as_bytes())?;
    }
    out.write_all(ending.render().as_bytes())?;
    out.flush()?;
    let code = ending.exit_code();
    let source = check::escaped(&source);
    let tally = ending.tally;
    for (count, why) in [
        (tally.too_large, TooLarge::Checked),
        (tally.over_budget, TooLarge::OverBudget),
    ] {
        if count > 0 {
            let equations = if count == 1 { "equation" } else { "equations" };
            writeln!(
                stderr,
                "error: {count} {equations} in `{source}` not checked: {why}"
            )?;
        }
    }
    if tally.not_checked() == 0 && code == 2 {
        if tally.unreadable > 0 {
            let lines = if tally.unreadable == 1 {
                "the line marked `cannot read` above says"
            } else {
                "the lines marked `cannot read` above say"
            };
            writeln!(
                stderr,
                "error: no equation in `{source}` could be read: {lines} why"
            )?;
        } else {
            writeln!(
                stderr,
                "error: no equation found in `{source}`: write one per line, e.g. `z1 = w1*x1 + w2*x2`"
            )?;
        }
    }
    Ok(code)
}

/// The lines of the input, read one at a time, at most [`CHECKED_BYTES`] bytes in all.
struct Lines<'a> {
    input: &'a mut dyn BufRead,
    /// The current line, without its line break.
    line: Vec<u8>,
    /// Its 1-based number.
    number: usize,
    /// The bytes still allowed.
    left: usize,
}

/// UTF-8's byte-order mark, U+FEFF.
const BYTE_ORDER_MARK: &[u8] = b"\xEF\xBB\xBF";

/// Why reading stopped before the end of the input.
enum Unread {
    /// Reading failed.
    Failed(io::Error),
    /// The input is past [`CHECKED_BYTES`] bytes.
    TooLarge,
    /// A line holds a NUL byte or is not UTF-8.
    NotText { line: usize, nul: bool },
}

impl Unread {
    fn message(&self, source: &str) -> String {
        match self {
            Unread::Failed(error) => format!("cannot read `{source}`: {error}"),
            Unread::TooLarge => format!("`{source}` is {}", TooLarge::Text),
            Unread::NotText { line, nul } => {
                let what = if *nul {
                    "holds a NUL byte"
                } else {
                    "is not UTF-8"
                };
                format!(
                    "`{source}` is not text: line {line} {what}; `check` reads equations as UTF-8 text"
                )
            }
        }
    }
}

impl Lines<'_> {
    /// The next line, or `None` at the end of the input. A NUL byte or the limit stops the
    /// reading as soon as it is read, so `/dev/zero` is refused at once.
    fn next(&mut self) -> Result<Option<&str>, Unread> {
        self.line.clear();
        self.number += 1;
        let mut ended = false;
        while !ended {
            let available = match self.input.fill_buf() {
                Ok(available) => available,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(Unread::Failed(error)),
            };
            if available.is_empty() {
                if self.line.is_empty() {
                    return Ok(None);
                }
                break;
            }
            let (chunk, consumed) = match available.iter().position(|&byte| byte == b'\n') {
                Some(end) => {
                    ended = true;
                    (&available[..end], end + 1)
                }
                None => (available, available.len()),
            };
            if chunk.contains(&0) {
                return Err(Unread::NotText {
                    line: self.number,
                    nul: true,
                });
            }
            self.left = self.left.checked_sub(consumed).ok_or(Unread::TooLarge)?;
            self.line.extend_from_slice(chunk);
            self.input.consume(consumed);
        }
        // A line ending `\r\n` is one line break, as in `str::lines`.
        if self.line.last() == Some(&b'\r') {
            self.line.pop();
        }
        // A byte-order mark, which some Windows editors write first, is no text.
        let text = match self.line.strip_prefix(BYTE_ORDER_MARK) {
            Some(rest) if self.number == 1 => rest,
            _ => &self.line[..],
        };
        std::str::from_utf8(text)
            .map(Some)
            .map_err(|_| Unread::NotText {
                line: self.number,
                nul: false,
            })
    }
}
