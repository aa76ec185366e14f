//! Standard output for documents of any size: buffered, written while the equations are
//! derived; the error that stopped it is returned, so that a reader going away
//! (`convsym … | head`) stays quiet like any other closed pipe.

use std::fmt;
use std::io::{self, BufWriter, Write};

/// Runs `write` on `stdout`, buffered, then flushes it.
///
/// # Errors
///
/// The first error writing returned; a [`fmt::Error`] that no write caused (a value that
/// failed to format) as an error of its own. [`super::run`] reports it, or stays quiet
/// when the reader closed the pipe.
pub fn stream(
    stdout: &mut dyn Write,
    write: impl FnOnce(&mut Stdout<'_>) -> fmt::Result,
) -> io::Result<()> {
    let mut out = Stdout {
        writer: BufWriter::with_capacity(1 << 16, stdout),
        error: None,
    };
    let written = write(&mut out);
    let flushed = written.and_then(|()| out.writer.flush().map_err(|error| out.failed(error)));
    match (flushed, out.error) {
        (Ok(()), _) => Ok(()),
        (Err(_), Some(error)) => Err(error),
        (Err(_), None) => Err(io::Error::other("a value failed to format")),
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
