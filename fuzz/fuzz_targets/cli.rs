//! Argument vectors to the `convsym` command, end to end, into in-memory writers.
//!
//! The input is text, one argument per line after `convsym`; a line `--- eq.txt` ends the
//! arguments, and what follows it is the file `eq.txt`, which `convsym check eq.txt …`
//! reads. The command runs in a directory of its own, so `explain --svg FILE` writes there.
//!
//! - Nothing panics; clap's own errors (and `--help`) end with exit code 0 or 2, every
//!   other run with 0, 1 or 2, and what it writes is UTF-8.
//! - Exit code 2 always comes with an `error:` on standard error.
//! - `check /dev/zero …`, a file without an end, is refused with exit code 2: `check`
//!   reads a bounded stream of text.
//!
//! Layers larger than [`convsym_fuzz::MAX_TERMS`] terms are skipped: printing them is what
//! the command is for, and at that size an execution takes seconds instead of
//! milliseconds.
#![no_main]

#[allow(
    dead_code,
    reason = "the binary's module, of which the target calls `run` and `Cli::keys`"
)]
#[path = "../../src/cli/mod.rs"]
mod cli;

use std::path::PathBuf;
use std::sync::OnceLock;

use clap::Parser;
use libfuzzer_sys::fuzz_target;

/// A file without an end, the one path a target's argument may name.
const ENDLESS: &str = "/dev/zero";

/// The line that ends the arguments and starts `eq.txt`.
const FILE_LINE: &str = "--- eq.txt";

/// The directory the command runs in, made once per process.
fn directory() -> &'static PathBuf {
    static DIRECTORY: OnceLock<PathBuf> = OnceLock::new();
    DIRECTORY.get_or_init(|| {
        let directory =
            std::env::temp_dir().join(format!("convsym-fuzz-cli-{}", std::process::id()));
        std::fs::create_dir_all(&directory).expect("a temporary directory");
        directory
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (arguments, file) = match text.split_once(&format!("\n{FILE_LINE}\n")) {
        Some((arguments, file)) => (arguments, file),
        None => (text, ""),
    };
    let words: Vec<&str> = arguments.lines().collect();
    // Only the command's own directory and `/dev/zero` are reachable: no other paths, and
    // no `-` (standard input, which the fuzzer's may leave open) as `check`'s file.
    let checking = words.first() == Some(&"check");
    let reachable = |word: &&str| !word.contains('/') || *word == ENDLESS;
    if !words.iter().all(reachable) || (checking && words.contains(&"-")) {
        return;
    }
    let cli =
        match cli::Cli::try_parse_from(std::iter::once("convsym").chain(words.iter().copied())) {
            Ok(cli) => cli,
            Err(error) => {
                let code = error.exit_code();
                assert!(code == 0 || code == 2, "clap exits with {code}: {error}");
                assert!(!error.render().to_string().is_empty());
                return;
            }
        };
    if let Ok(spec) = cli.keys().spec_or_report()
        && !convsym_fuzz::small(&spec)
    {
        return;
    }

    let directory = directory();
    std::fs::write(directory.join("eq.txt"), file).expect("eq.txt written");
    let back = std::env::current_dir().expect("a working directory");
    std::env::set_current_dir(directory).expect("the temporary directory");
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let code = cli::run(&cli, &mut stdout, &mut stderr);
    std::env::set_current_dir(back).expect("the working directory back");
    // What `--svg` wrote goes, so that files do not pile up over a run.
    for entry in std::fs::read_dir(directory).into_iter().flatten().flatten() {
        if entry.file_name() != "eq.txt" {
            let _ = std::fs::remove_file(entry.path());
        }
    }

    assert!(code <= 2, "exit code {code}");
    // As `check`'s file or as a key, `/dev/zero` is refused.
    let endless = checking && words.contains(&ENDLESS);
    assert!(
        !endless || code == 2,
        "`check` with {ENDLESS} exits with {code}"
    );
    let stdout = String::from_utf8(stdout).expect("UTF-8 on standard output");
    let stderr = String::from_utf8(stderr).expect("UTF-8 on standard error");
    if code == 2 {
        assert!(
            stderr.contains("error: "),
            "exit code 2 without an error: {stderr:?}"
        );
    }
    drop(stdout);
});
