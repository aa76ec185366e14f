//! The token helpers every lowering shares: literals, sums of variables, loop nests.

use proc_macro2::{Ident, Literal, TokenStream};
use quote::quote;

/// `value` as an unsuffixed literal, `3` rather than `3usize`.
pub(super) fn number(value: usize) -> Literal {
    Literal::usize_unsuffixed(value)
}

/// `[a, b, …]` of unsuffixed literals.
pub(super) fn numbers(values: impl IntoIterator<Item = usize>) -> TokenStream {
    let values = values.into_iter().map(number);
    quote!([#(#values),*])
}

/// `a * 3 + b`: the sum of the variables times their factors, `* 1` left out; `0`
/// without variables.
pub(super) fn linear(terms: &[(&Ident, usize)]) -> TokenStream {
    let terms: Vec<TokenStream> = terms
        .iter()
        .map(|&(variable, factor)| {
            if factor == 1 {
                quote!(#variable)
            } else {
                let factor = number(factor);
                quote!(#variable * #factor)
            }
        })
        .collect();
    if terms.is_empty() {
        quote!(0)
    } else {
        quote!(#(#terms)+*)
    }
}

/// `for v0 in 0..n0 { for v1 in 0..n1 { body } }`.
pub(super) fn nest(
    variables: &[Ident],
    extents: impl DoubleEndedIterator<Item = usize> + ExactSizeIterator,
    body: TokenStream,
) -> TokenStream {
    variables
        .iter()
        .zip(extents)
        .rev()
        .fold(body, |body, (variable, extent)| {
            let extent = Literal::usize_suffixed(extent);
            quote!(for #variable in 0..#extent { #body })
        })
}

/// `a * factor`, or `a` when the factor is 1.
pub(super) fn scaled(a: &TokenStream, factor: usize) -> TokenStream {
    if factor == 1 {
        a.clone()
    } else {
        let factor = number(factor);
        quote!(#a * #factor)
    }
}
