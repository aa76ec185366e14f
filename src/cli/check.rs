//! `convsym check FILE [KEYS…]`: equations written by hand, checked against a layer.

use std::io::{Read, Write};

use convsym::check::{self, Options};

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
    /// The layer.
    #[command(flatten)]
    pub keys: Keys,
}

/// Prints the report; exit code 0 when every equation is right, 1 when any is wrong (or,
/// with `--complete`, missing), 2 when the layer, the file or every line is unusable. A
/// failure to write is returned, for [`super::main`] to end with exit code 1.
pub fn run(
    args: &CheckArgs,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> std::io::Result<u8> {
    let Some(spec) = args.keys.spec_reported(stderr)? else {
        return Ok(INVALID);
    };
    let (source, text) = if args.file == "-" {
        let mut text = String::new();
        if let Err(error) = std::io::stdin().read_to_string(&mut text) {
            writeln!(stderr, "error: cannot read standard input: {error}")?;
            return Ok(2);
        }
        ("<stdin>", text)
    } else {
        match std::fs::read_to_string(&args.file) {
            Ok(text) => (args.file.as_str(), text),
            Err(error) => {
                let file = check::escaped(&args.file);
                writeln!(stderr, "error: cannot read `{file}`: {error}")?;
                return Ok(2);
            }
        }
    };
    let options = Options {
        complete: args.complete,
    };
    let report = match check::check(&spec, &text, options) {
        Ok(report) => report,
        Err(too_large) => {
            writeln!(stderr, "error: {too_large}")?;
            return Ok(INVALID);
        }
    };
    stdout.write_all(report.render(source).as_bytes())?;
    let code = report.exit_code();
    if code == 2 {
        let source = check::escaped(source);
        writeln!(
            stderr,
            "error: no equation found in `{source}`: write one per line, e.g. `z1 = w1*x1 + w2*x2`"
        )?;
    }
    Ok(code)
}
