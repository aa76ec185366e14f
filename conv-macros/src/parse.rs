//! Tokens to the runtime's argument tree: `[attributes] [vis] struct Name;` optionally, then
//! `key = value` arguments separated by commas, each part keeping the tokens it spans.

use conv_runtime::spec::MAX_NESTING;
use conv_runtime::{Argument, Error, Value};
use proc_macro2::{Delimiter, Group, Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Ident, Lit, Token, Visibility};

/// The tokens a part of the input spans, first to last, so that an error underlines all of
/// `-3` or `(3, 2)` rather than one token of it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Extent {
    first: Span,
    last: Span,
}

impl Extent {
    /// The extent of a single token.
    pub(crate) fn token(span: Span) -> Self {
        Extent {
            first: span,
            last: span,
        }
    }

    /// An error underlining the whole extent.
    pub(crate) fn error(self, message: impl core::fmt::Display) -> syn::Error {
        // `new_spanned` takes the first and last token's spans, which is how a
        // multi-token range is reported on stable Rust.
        let ends = [self.first, self.last].map(|span| {
            let mut punct = proc_macro2::Punct::new('.', proc_macro2::Spacing::Alone);
            punct.set_span(span);
            proc_macro2::TokenTree::Punct(punct)
        });
        syn::Error::new_spanned(ends.into_iter().collect::<TokenStream>(), message)
    }
}

/// `[attributes] [vis] struct Name;`: the item form, which names the generated type.
pub(crate) struct Item {
    /// Attributes to put on the type, doc comments included.
    pub(crate) attributes: Vec<Attribute>,
    /// The type's visibility.
    pub(crate) visibility: Visibility,
    /// The type's name.
    pub(crate) name: Ident,
}

/// Where a call stands, which decides what its expansion, errors included, must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Form {
    /// `conv!(struct Name; …)`: items.
    Item,
    /// `conv!(…)` without a head: an expression.
    Expression,
}

impl Form {
    /// The form of the tokens inside `conv!(…)`, known from the first, so even when they
    /// do not parse: the item form starts with an attribute, a visibility or `struct`.
    pub(crate) fn of(input: &TokenStream) -> Form {
        let item = match first_token(input) {
            Some(TokenTree::Punct(punct)) => punct.as_char() == '#',
            Some(TokenTree::Ident(ident)) => ident == "pub" || ident == "struct",
            _ => false,
        };
        if item { Form::Item } else { Form::Expression }
    }
}

/// The first token, looking through the invisible groups a `macro_rules!` fragment such as
/// `$vis` makes, empty ones included.
fn first_token(input: &TokenStream) -> Option<TokenTree> {
    let mut levels = vec![input.clone().into_iter()];
    while let Some(tokens) = levels.last_mut() {
        match tokens.next() {
            Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::None => {
                levels.push(group.stream().into_iter());
            }
            Some(token) => return Some(token),
            None => {
                levels.pop();
            }
        }
    }
    None
}

/// Everything inside `conv!(…)`.
pub(crate) struct Invocation {
    /// The item form's head, if written.
    pub(crate) item: Option<Item>,
    /// The arguments, in the order written.
    pub(crate) arguments: Vec<Argument<Extent>>,
}

/// Parses the tokens inside `conv!(…)`.
pub(crate) fn invocation(input: TokenStream) -> syn::Result<Invocation> {
    match nested_too_deep(&input) {
        Some(error) => Err(error),
        None => syn::parse2(input),
    }
}

/// An error at the first group nested more than [`MAX_NESTING`] deep, found without
/// recursion: syn's parsing recurses once per level, and thousands of levels overflowed
/// rustc's stack. The key is the identifier before the `=` that the group follows.
fn nested_too_deep(input: &TokenStream) -> Option<syn::Error> {
    let mut key = None;
    let mut tokens = input.clone().into_iter().peekable();
    while let Some(token) = tokens.next() {
        match token {
            TokenTree::Ident(ident) if matches!(tokens.peek(), Some(TokenTree::Punct(punct)) if punct.as_char() == '=') =>
            {
                key = Some(ident.to_string());
            }
            TokenTree::Group(group) => {
                if let Some(open) = too_deep(&group) {
                    let open = Extent::token(open);
                    return Some(match &key {
                        Some(key) => open.error(Error::nested_too_deep(key, open).message),
                        None => open.error(format!(
                            "the `conv!` input nests groups more than {MAX_NESTING} deep"
                        )),
                    });
                }
            }
            _ => {}
        }
    }
    None
}

/// The opening delimiter of the first group within `group` (level 1) on a level past
/// [`MAX_NESTING`], walked with a stack of its own.
fn too_deep(group: &Group) -> Option<Span> {
    let mut levels = vec![group.stream().into_iter()];
    while let Some(tokens) = levels.last_mut() {
        match tokens.next() {
            Some(TokenTree::Group(inner)) if levels.len() == MAX_NESTING => {
                return Some(inner.span_open());
            }
            Some(TokenTree::Group(inner)) => levels.push(inner.stream().into_iter()),
            Some(_) => {}
            None => {
                levels.pop();
            }
        }
    }
    None
}

impl Parse for Invocation {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let item = if Form::of(&input.fork().parse()?) == Form::Item {
            let attributes = input.call(Attribute::parse_outer)?;
            let visibility = input.parse()?;
            input.parse::<Token![struct]>()?;
            let name = input.parse()?;
            input.parse::<Token![;]>()?;
            Some(Item {
                attributes,
                visibility,
                name,
            })
        } else {
            None
        };
        let mut arguments = Vec::new();
        while !input.is_empty() {
            arguments.push(argument(input)?);
            // Commas separate arguments, as in the runtime's text form, where whitespace
            // also does.
            if input.peek(Token![,]) {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(Invocation { item, arguments })
    }
}

fn argument(input: ParseStream) -> syn::Result<Argument<Extent>> {
    // `in` is a Rust keyword, hence `parse_any`.
    let key = if input.peek(Ident::peek_any) {
        input.call(Ident::parse_any)?
    } else {
        return Err(input.error("expected a key such as `in`, `k` or `stride`"));
    };
    let value = if input.peek(Token![=]) {
        input.parse::<Token![=]>()?;
        Some(value(input, &key.to_string())?)
    } else {
        None
    };
    Ok(Argument {
        key: key.to_string(),
        key_span: Extent::token(key.span()),
        value,
    })
}

fn value(input: ParseStream, key: &str) -> syn::Result<Value<Extent>> {
    if input.peek(syn::token::Paren) {
        let content;
        let parentheses = syn::parenthesized!(content in input);
        let mut items = Vec::new();
        while !content.is_empty() {
            items.push(value(&content, key)?);
            if content.is_empty() {
                break;
            }
            content.parse::<Token![,]>()?;
        }
        return Ok(Value::Tuple {
            items,
            span: Extent::token(parentheses.span.join()),
        });
    }
    if input.peek(Token![-]) {
        let minus = input.parse::<Token![-]>()?;
        let (digits, last) = integer(input, key)?;
        return Ok(Value::Integer {
            digits: format!("-{digits}"),
            span: Extent {
                first: minus.span,
                last,
            },
        });
    }
    // `true`, `false` and every keyword are identifiers to a proc-macro, hence words.
    if input.peek(Ident::peek_any) {
        let word = input.call(Ident::parse_any)?;
        return Ok(Value::Word {
            word: word.to_string(),
            span: Extent::token(word.span()),
        });
    }
    if input.peek(Lit) {
        let (digits, span) = integer(input, key)?;
        return Ok(Value::Integer {
            digits,
            span: Extent::token(span),
        });
    }
    Err(input.error(format!(
        "expected a value for `{key}`: an integer, a word or a tuple"
    )))
}

/// An integer literal without a suffix: its decimal digits and where it stands.
fn integer(input: ParseStream, key: &str) -> syn::Result<(String, Span)> {
    match input.parse::<Lit>()? {
        Lit::Int(literal) if literal.suffix().is_empty() => {
            Ok((literal.base10_digits().to_owned(), literal.span()))
        }
        Lit::Int(literal) => Err(syn::Error::new(
            literal.span(),
            format!(
                "`{key}` takes a plain integer; write `{}` without the suffix `{}`",
                literal.base10_digits(),
                literal.suffix()
            ),
        )),
        other => Err(syn::Error::new_spanned(
            other.to_token_stream(),
            format!("expected an integer as the value of `{key}`"),
        )),
    }
}
