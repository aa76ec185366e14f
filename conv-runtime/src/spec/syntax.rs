//! What a user writes: the keys, and the argument tree ([`Argument`], [`Value`]) that
//! each tokenizer (the text parser, the macro's) builds before validation.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// The keys a specification accepts, in the order they are documented.
pub const KEYS: [&str; 12] = [
    "in",
    "k",
    "stride",
    "pad",
    "dilation",
    "cin",
    "cout",
    "groups",
    "bias",
    "batch",
    "transposed",
    "output_padding",
];

/// How deep a value's tuples may nest. No key takes more than two levels
/// (`pad = ((1, 0), (2, 1))`); a tokenizer refuses a tuple past this depth before it recurses
/// into it, so what a user writes never decides how deep the stack grows.
pub const MAX_NESTING: usize = 16;

/// A value as written after `key =`, every part with the span of its tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value<S> {
    /// An integer literal: its decimal digits, with a leading `-` when negative.
    Integer {
        /// The digits as written.
        digits: String,
        /// Where the literal stands.
        span: S,
    },
    /// A bare word such as `same` or `true`.
    Word {
        /// The word.
        word: String,
        /// Where the word stands.
        span: S,
    },
    /// A parenthesised, comma-separated tuple.
    Tuple {
        /// The entries.
        items: Vec<Value<S>>,
        /// Where the whole tuple stands, parentheses included.
        span: S,
    },
}

impl<S: Clone> Value<S> {
    /// Where this value stands.
    pub fn span(&self) -> S {
        match self {
            Value::Integer { span, .. } | Value::Word { span, .. } | Value::Tuple { span, .. } => {
                span.clone()
            }
        }
    }
}

impl<S> fmt::Display for Value<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Integer { digits, .. } => f.write_str(digits),
            Value::Word { word, .. } => f.write_str(word),
            Value::Tuple { items, .. } => {
                // `{:#}` leaves out the outer parentheses, for messages that put the value in
                // parentheses of their own: "`k` (3, 3, 3) has 3 entries".
                let (open, close) = if f.alternate() { ("", "") } else { ("(", ")") };
                f.write_str(open)?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                if items.len() == 1 {
                    f.write_str(",")?;
                }
                f.write_str(close)
            }
        }
    }
}

/// One `key = value` argument; `value` is `None` for a bare flag such as `bias`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Argument<S> {
    /// The key as written.
    pub key: String,
    /// Where the key stands.
    pub key_span: S,
    /// The value, if one was written.
    pub value: Option<Value<S>>,
}
