//! Tokenizing a specification written as text (`in=5 k=3 stride=2`) into [`Argument`]s,
//! with byte ranges as spans. The macro builds the same arguments from Rust tokens.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::ops::Range;

use super::error::Error;
use super::syntax::{Argument, MAX_NESTING, Value};

/// Splits `text` into arguments: `key = value` or a bare `key`, separated by commas or
/// whitespace.
///
/// # Errors
///
/// The first token that does not fit, with its byte range.
pub fn arguments(text: &str) -> Result<Vec<Argument<Range<usize>>>, Error<Range<usize>>> {
    let mut parser = Parser { text, position: 0 };
    let mut arguments = Vec::new();
    loop {
        parser.skip_separators();
        if parser.at_end() {
            return Ok(arguments);
        }
        let (key, key_span) = parser.word()?;
        parser.skip_whitespace();
        let value = if parser.eat('=') {
            parser.skip_whitespace();
            Some(parser.value(&key, 1)?)
        } else {
            None
        };
        arguments.push(Argument {
            key,
            key_span,
            value,
        });
    }
}

struct Parser<'a> {
    text: &'a str,
    position: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.text[self.position..].chars().next()
    }

    fn at_end(&self) -> bool {
        self.position == self.text.len()
    }

    fn eat(&mut self, expected: char) -> bool {
        let found = self.peek() == Some(expected);
        if found {
            self.position += expected.len_utf8();
        }
        found
    }

    fn skip_whitespace(&mut self) {
        self.take_while(char::is_whitespace);
    }

    fn skip_separators(&mut self) {
        self.take_while(|c| c.is_whitespace() || c == ',');
    }

    /// Consumes characters while `accept` holds; returns their range.
    fn take_while(&mut self, accept: impl Fn(char) -> bool) -> Range<usize> {
        let start = self.position;
        while let Some(c) = self.peek().filter(|&c| accept(c)) {
            self.position += c.len_utf8();
        }
        start..self.position
    }

    fn unexpected(&self, expected: &str) -> Error<Range<usize>> {
        match self.peek() {
            Some(c) => Error {
                message: format!("expected {expected}, found `{c}`"),
                span: Some(self.position..self.position + c.len_utf8()),
            },
            None => Error {
                message: format!("expected {expected}, found the end of the input"),
                span: Some(self.position..self.position),
            },
        }
    }

    fn word(&mut self) -> Result<(String, Range<usize>), Error<Range<usize>>> {
        if !self
            .peek()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        {
            return Err(self.unexpected("a key such as `in`, `k` or `stride`"));
        }
        let span = self.take_while(|c| c.is_ascii_alphanumeric() || c == '_');
        Ok((String::from(&self.text[span.clone()]), span))
    }

    /// A value whose tuples, if it is one, would be at nesting level `depth` (1 at the top).
    fn value(
        &mut self,
        key: &str,
        depth: usize,
    ) -> Result<Value<Range<usize>>, Error<Range<usize>>> {
        let start = self.position;
        match self.peek() {
            Some('(') => {
                if depth > MAX_NESTING {
                    return Err(Error::nested_too_deep(key, start..start + 1));
                }
                self.position += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_whitespace();
                    if self.eat(')') {
                        break;
                    }
                    items.push(self.value(key, depth + 1)?);
                    self.skip_whitespace();
                    if self.eat(')') {
                        break;
                    }
                    if !self.eat(',') {
                        return Err(self.unexpected(&format!("`,` or `)` in the value of `{key}`")));
                    }
                }
                Ok(Value::Tuple {
                    items,
                    span: start..self.position,
                })
            }
            Some(c) if c == '-' || c.is_ascii_digit() => {
                self.eat('-');
                let digits = self.take_while(|c| c.is_ascii_digit() || c == '_');
                if digits.is_empty() {
                    return Err(self.unexpected("digits after `-`"));
                }
                // `2.5`, `1e30`, `0x5`, `5x`: a number of another kind, or a word run on,
                // named whole rather than from the character the integer stops at.
                if self
                    .peek()
                    .is_some_and(|c| c == '.' || c.is_ascii_alphanumeric())
                {
                    self.take_while(|c| c == '.' || c == '_' || c.is_ascii_alphanumeric());
                    let written = &self.text[start..self.position];
                    return Err(Error {
                        message: format!(
                            "expected an integer as the value of `{key}`, found `{written}`"
                        ),
                        span: Some(start..self.position),
                    });
                }
                let written = &self.text[start..self.position];
                Ok(Value::Integer {
                    digits: written.chars().filter(|&c| c != '_').collect(),
                    span: start..self.position,
                })
            }
            Some(c) if c.is_ascii_alphabetic() => {
                let (word, span) = self.word()?;
                Ok(Value::Word { word, span })
            }
            _ => Err(self.unexpected(&format!(
                "a value for `{key}`: an integer, a word or a tuple"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_commas_and_whitespace() {
        let parsed = arguments("in = (7, 6), k=3 bias  stride=2,").unwrap();
        let keys: Vec<&str> = parsed.iter().map(|a| a.key.as_str()).collect();
        assert_eq!(keys, ["in", "k", "bias", "stride"]);
        assert_eq!(parsed[0].value.as_ref().unwrap().to_string(), "(7, 6)");
        assert_eq!(parsed[0].value.as_ref().unwrap().span(), 5..11);
        assert!(parsed[2].value.is_none());
    }

    #[test]
    fn keeps_signs_and_drops_digit_separators() {
        let parsed = arguments("pad=((1,0),(-2,1_0))").unwrap();
        assert_eq!(
            parsed[0].value.as_ref().unwrap().to_string(),
            "((1, 0), (-2, 10))"
        );
    }

    #[test]
    fn reports_the_offending_character() {
        let error = arguments("in=5 k=(3;2)").unwrap_err();
        assert_eq!(
            error.message,
            "expected `,` or `)` in the value of `k`, found `;`"
        );
        assert_eq!(error.span, Some(9..10));
        // Multi-byte white space is skipped whole.
        assert_eq!(arguments("in=5\u{a0}k=3").unwrap().len(), 2);
        let error = arguments("in=").unwrap_err();
        assert_eq!(
            error.message,
            "expected a value for `in`: an integer, a word or a tuple, found the end of the input"
        );
    }

    /// A number of another kind, or a word run on to an integer, is named whole, with its
    /// key: `stride=2.5` was refused for an unexpected `.`, `in=1e30` for an unknown key
    /// `e30` (and read as 1), found fuzzing the tool.
    #[test]
    fn names_a_value_that_is_no_integer_whole() {
        for (text, found, span) in [
            ("in=5 k=3 stride=2.5", "`stride`, found `2.5`", 16..19),
            ("in=1e30 k=3", "`in`, found `1e30`", 3..7),
            ("in=0x5 k=3", "`in`, found `0x5`", 3..6),
            ("in=5 k=3 stride=2x", "`stride`, found `2x`", 16..18),
            ("in=5 k=(3, 2.0)", "`k`, found `2.0`", 11..14),
        ] {
            let error = arguments(text).unwrap_err();
            assert_eq!(
                error.message,
                format!("expected an integer as the value of {found}")
            );
            assert_eq!(error.span, Some(span), "{text}");
        }
    }

    /// Nesting past [`MAX_NESTING`] is refused at the first tuple too deep, before the
    /// parser recurses into it: 40 000 levels overflowed the stack.
    #[test]
    fn refuses_tuples_nested_too_deep() {
        let deep = |levels: usize| format!("k={}3{}", "(".repeat(levels), ")".repeat(levels));
        let text = deep(MAX_NESTING);
        assert!(
            arguments(&text).is_ok(),
            "{MAX_NESTING} levels are accepted"
        );
        for levels in [MAX_NESTING + 1, 40_000] {
            let text = deep(levels);
            let error = arguments(&text).unwrap_err();
            assert_eq!(
                error.message,
                "the value of `k` nests tuples more than 16 deep; no key takes more than 2, \
                 as in `pad = ((1, 0), (2, 1))`"
            );
            assert_eq!(error.span, Some(18..19), "the tuple opening level 17");
        }
    }
}
