//! The macro as a pipeline: parse the tokens, validate the specification, derive what the
//! kernels are made of, lower it to Rust.

use proc_macro2::TokenStream;

use crate::{derive, lower, parse, spec};

/// Expands the tokens inside `conv!(…)`.
pub(crate) fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let invocation: parse::Invocation = syn::parse2(input)?;
    let layer = spec::Layer::from_invocation(&invocation)?;
    let derivation = derive::Derivation::of(&layer);
    Ok(lower::lower(invocation.item.as_ref(), &layer, &derivation))
}
