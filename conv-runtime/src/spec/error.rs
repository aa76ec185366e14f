//! The error of an invalid specification: a message naming the key and the value, and the
//! span of the narrowest part it is about.

use alloc::format;
use alloc::string::String;
use core::fmt;

use super::syntax::MAX_NESTING;

/// An invalid specification: what is wrong, and where (`None`: nowhere in particular, such
/// as a missing key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error<S> {
    /// The message, naming the key and the value.
    pub message: String,
    /// The narrowest part of the input the message is about.
    pub span: Option<S>,
}

impl<S> Error<S> {
    /// The error for a tuple in the value of `key`, opened at `span`, that nests deeper than
    /// [`MAX_NESTING`]: the same message from every tokenizer.
    pub fn nested_too_deep(key: &str, span: S) -> Self {
        Error::at(
            span,
            format!(
                "the value of `{key}` nests tuples more than {MAX_NESTING} deep; no key takes \
                 more than 2, as in `pad = ((1, 0), (2, 1))`"
            ),
        )
    }

    pub(super) fn at(span: S, message: String) -> Self {
        Error {
            message,
            span: Some(span),
        }
    }

    pub(super) fn anywhere(message: String) -> Self {
        Error {
            message,
            span: None,
        }
    }
}

impl<S> fmt::Display for Error<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

#[cfg(feature = "std")]
impl<S: fmt::Debug> std::error::Error for Error<S> {}
