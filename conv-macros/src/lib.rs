//! The `conv!` proc-macro of convsym: a convolution layer's shape, written as `key = value`
//! arguments, expanded at compile time into a type with kernels specialised to that shape
//! and the layer's equations as constants.
//!
//! Use it through the `convsym` facade, whose
//! [`convsym::docs`](https://docs.rs/convsym/latest/convsym/docs/index.html)
//! documents every key, the generated type and the errors, with examples; this crate only
//! parses tokens, asks `conv-runtime` for the specification and the equations, and lowers
//! them.

mod derive;
mod expand;
mod lower;
mod parse;
mod spec;
mod unroll;

/// Expands a convolution layer into a type with shape-specialised kernels and its equations,
/// as in `conv!(struct Seed; in = 5, k = 3, stride = 2)`: the keys, what the type offers
/// and the errors are in
/// [`convsym::docs`](https://docs.rs/convsym/latest/convsym/docs/index.html).
#[proc_macro]
pub fn conv(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let input = proc_macro2::TokenStream::from(input);
    let form = parse::Form::of(&input);
    expand::expand(input)
        .unwrap_or_else(|error| expand::compile_errors(form, error))
        .into()
}
