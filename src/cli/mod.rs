//! The command line: `convsym` prints the seed's equations; `explain` and `check` teach
//! and check a derivation.

mod check;
mod explain;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Convolution layers as exact equations and gradients.
#[derive(Parser, Debug)]
#[command(name = "convsym", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Walk through a layer's derivation step by step, every matrix computed.
    Explain(explain::ExplainArgs),
    /// Check equations written by hand against a layer.
    Check(check::CheckArgs),
}

/// Parses the arguments, runs the command and turns its outcome into the exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let (stdout, stderr) = (std::io::stdout(), std::io::stderr());
    let (mut stdout, mut stderr) = (stdout.lock(), stderr.lock());
    let outcome = match &cli.command {
        Some(Command::Explain(args)) => explain::run(args, &mut stdout, &mut stderr),
        Some(Command::Check(args)) => check::run(args, &mut stdout, &mut stderr),
        None => seed(&mut stdout),
    };
    match outcome {
        Ok(code) => ExitCode::from(code),
        // A closed pipe (`convsym explain | head`) is the reader's choice, not a failure.
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(error) => {
            let _ = writeln!(stderr, "error: {error}");
            ExitCode::from(2)
        }
    }
}

/// The seed's equations, every section.
fn seed(stdout: &mut dyn Write) -> std::io::Result<u8> {
    let spec = convsym::Spec::parse(explain::SEED)
        .map_err(|_| std::io::Error::other("the seed is invalid"))?;
    for section in convsym::derive::Section::ALL {
        for equation in convsym::derive::equations(&spec, section) {
            writeln!(stdout, "{equation}")?;
        }
    }
    Ok(0)
}
