//! The command line: `convsym [KEYS…] [--format …] [--only …]` prints a layer's equations;
//! `convsym explain` teaches the derivation and `convsym check` checks one written by hand.
//!
//! Every command has one shape: a `run` function from its parsed arguments, the validated
//! layer and the two writers to an exit code, `io::Result<u8>`. The keys are parsed and
//! their errors reported once, in [`run`], before any command starts; a failure to write
//! is returned with `?` and turned into an exit code in one place, [`run`], which knows
//! that a closed pipe is not an error. The domain's work (the never-read inputs, the
//! limits) is the runtime's; the commands only print it.
//!
//! To add a subcommand `name`: write `name.rs` with a `#[derive(clap::Args)]` struct with
//! a `keys` field and a `run` function of that shape, declare `mod name;` here, and add a
//! variant to [`Command`] with its arms in [`Cli::keys`] and [`run`]. [`keys::Keys`] parses
//! and reports a specification, [`output::stream`] writes to standard output.

mod check;
mod explain;
mod keys;
mod output;
mod print;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use keys::INVALID;

const EXAMPLES: &str = "\
Examples:
  convsym                                        the seed: in=5 k=3 stride=2
  convsym in=6 k=3 stride=2                      r = 1: the last input row is never read
  convsym \"in = (7, 6), k = 3, pad = same\"       a 7×6 input with TensorFlow's `same` padding
  convsym 'in=(11,)' k=3 dilation=2 cin=2 cout=4 1-D, dilated, with channels (quote tuples)
  convsym in=5 k=3 stride=2 --format sigma       one Σ formula per tensor
  convsym in=5 k=3 stride=2 --format json --only dw
  convsym in=224 k=7 stride=2 pad=3 cin=3 cout=64 | head
  convsym explain in=6 k=3 stride=2              the derivation step by step
  convsym check derivation.txt in=5 k=3 stride=2 equations written by hand, checked

Keys: in, k, stride, pad, dilation, cin, cout, groups, bias, batch (see the README).";

/// `convsym`: a convolution layer's shape turned into exact equations and gradients.
#[derive(Debug, Parser)]
#[command(
    name = "convsym",
    version,
    about = "Prints a convolution layer's forward equations and gradients, fully unrolled",
    after_help = EXAMPLES,
    args_conflicts_with_subcommands = true,
    // `pad = -1` split into words must reach the specification's own error message.
    allow_negative_numbers = true
)]
pub struct Cli {
    /// A subcommand; without one, the layer's equations are printed.
    #[command(subcommand)]
    command: Option<Command>,
    /// The default action's arguments.
    #[command(flatten)]
    print: print::Args,
}

impl Cli {
    /// The layer's keys, whichever command runs (the `cli` fuzz target reads them too, to
    /// skip layers too large to run often).
    pub fn keys(&self) -> &keys::Keys {
        match &self.command {
            None => &self.print.keys,
            Some(Command::Explain(args)) => &args.keys,
            Some(Command::Check(args)) => &args.keys,
        }
    }
}

/// The subcommands beside the default action.
#[derive(Debug, Subcommand)]
enum Command {
    /// Walk through a layer's derivation step by step, every matrix computed.
    Explain(explain::ExplainArgs),
    /// Check equations written by hand against a layer.
    Check(check::CheckArgs),
}

/// Parses the command line and runs it.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let (stdout, stderr) = (std::io::stdout(), std::io::stderr());
    let (mut stdout, mut stderr) = (stdout.lock(), stderr.lock());
    ExitCode::from(run(&cli, &mut stdout, &mut stderr))
}

/// Runs a parsed command line with `stdout` and `stderr` as its streams and returns the
/// exit code: the whole command but the parsing of `std::env::args`, so that it can run
/// on in-memory writers (the `cli` fuzz target does).
pub fn run(cli: &Cli, stdout: &mut dyn Write, stderr: &mut dyn Write) -> u8 {
    // The keys' errors are the same report for every command; exit code 2 whether or not
    // standard error took it, since the layer is invalid either way.
    let Ok(Some(spec)) = cli.keys().spec_reported(stderr) else {
        return INVALID;
    };
    let outcome = match &cli.command {
        None => print::run(&cli.print, &spec, stdout, stderr),
        Some(Command::Explain(args)) => explain::run(args, &spec, stdout, stderr),
        Some(Command::Check(args)) => check::run(args, &spec, stdout, stderr),
    };
    // Flushed here, not at exit, where a failure would go unseen.
    let outcome = outcome.and_then(|code| stdout.flush().map(|()| code));
    match outcome {
        Ok(code) => code,
        // A closed pipe (`convsym explain | head`) is the reader's choice, not a failure.
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => 0,
        // Exit code 1: 2 is for what the user asked, not for the disk.
        Err(error) => {
            let _ = writeln!(stderr, "error: cannot write the output: {error}");
            1
        }
    }
}
