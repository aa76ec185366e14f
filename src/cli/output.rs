//! Standard output for documents of any size: buffered, written while the equations are
//! derived, and quiet when the reader goes away (`convsym … | head`).

use std::fmt;
use std::io::{self, BufWriter, Write};

/// How writing a document ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Streamed {
    /// Everything was written.
    Complete,
    /// The reader closed the pipe first: not an error, the reader has what it wanted.
    Closed,
    /// Writing failed; the reason is already on standard error.
    Failed,
}

impl Streamed {
    /// The exit code for this ending: 0 unless writing failed.
    pub fn exit_code(self) -> u8 {
        u8::from(self == Streamed::Failed)
    }
}

/// Runs `write` on `stdout`, buffered, then flushes it; a failure is reported on `stderr`.
pub fn stream(
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
    write: impl FnOnce(&mut Stdout<'_>) -> fmt::Result,
) -> Streamed {
    let mut out = Stdout {
        writer: BufWriter::with_capacity(1 << 16, stdout),
        error: None,
    };
    let written = write(&mut out);
    let flushed = written.and_then(|()| out.writer.flush().map_err(|error| out.failed(error)));
    match (flushed, out.error) {
        (Ok(()), _) => Streamed::Complete,
        (Err(_), Some(error)) if error.kind() == io::ErrorKind::BrokenPipe => Streamed::Closed,
        (Err(_), error) => {
            let reason = error.map_or_else(|| "a value failed to format".into(), |e| e.to_string());
            let _ = writeln!(stderr, "error: cannot write the output: {reason}");
            Streamed::Failed
        }
    }
}

/// Standard output as a [`fmt::Write`], so the runtime's `alloc`-only renderers can write to
/// it; keeps the I/O error that a bare [`fmt::Error`] cannot carry.
pub struct Stdout<'a> {
    writer: BufWriter<&'a mut dyn Write>,
    error: Option<io::Error>,
}

impl Stdout<'_> {
    fn failed(&mut self, error: io::Error) -> fmt::Error {
        self.error = Some(error);
        fmt::Error
    }
}

impl fmt::Write for Stdout<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        self.writer
            .write_all(text.as_bytes())
            .map_err(|error| self.failed(error))
    }
}
