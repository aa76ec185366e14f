//! The macro as a pipeline: parse the tokens, validate the specification, derive what the
//! kernels are made of, lower it to Rust.

use proc_macro2::TokenStream;
use quote::quote;

use crate::parse::Form;
use crate::{derive, lower, parse, spec};

/// Expands the tokens inside `conv!(…)`.
pub(crate) fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let invocation = parse::invocation(input)?;
    let layer = spec::Layer::from_invocation(&invocation)?;
    let derivation = derive::Derivation::of(&layer);
    Ok(lower::lower(invocation.item.as_ref(), &layer, &derivation))
}

/// One `compile_error!` per message of `error`, in the position the call stands in: items
/// for the item form; for the expression form, a block whose value is the last of them:
///
/// ```text
/// { ::core::compile_error! { "…" }; ::core::compile_error! { "…" } }
/// ```
///
/// A `compile_error!` in expression position has the error type, which coerces to any type,
/// so neither the block nor the code using its value adds errors of its own; the messages
/// one after another, as items, are not an expression and gave three spurious errors.
pub(crate) fn compile_errors(form: Form, error: syn::Error) -> TokenStream {
    match form {
        Form::Item => error.into_compile_error(),
        Form::Expression => {
            let mut errors: Vec<TokenStream> = error
                .into_iter()
                .map(syn::Error::into_compile_error)
                .collect();
            let last = errors.pop();
            quote!({ #(#errors;)* #last })
        }
    }
}

#[cfg(test)]
mod tests {
    use quote::{ToTokens, quote};

    use super::{Form, compile_errors, expand};

    /// The expansion as a person reads it: formatted by prettyplease.
    fn expanded(input: proc_macro2::TokenStream) -> String {
        let tokens = expand(input).unwrap_or_else(syn::Error::into_compile_error);
        match syn::parse2::<syn::File>(tokens.clone()) {
            Ok(file) => prettyplease::unparse(&file),
            Err(error) => panic!("the expansion is not a file ({error}): {tokens}"),
        }
    }

    /// The seed unrolls into one statement per multiply-add, and its formulas are the ones
    /// docs/semantics.md prints (the numbers are checked independently in `tests/macro_kernels.rs`).
    #[test]
    fn seed_unrolled() {
        let expansion = expanded(quote!(pub struct Seed; in = 5, k = 3, stride = 2));
        assert!(expansion.contains("pub const UNROLLED: bool = true;"));
        assert!(expansion.contains(
            r#""z2 = w1*x3 + w2*x4 + w3*x5 + w4*x8 + w5*x9 + w6*x10 + w7*x13 + w8*x14 + w9*x15""#
        ));
        insta::assert_snapshot!("seed_in5_k3_s2_full", expansion);
    }

    /// A strided, padded, grouped layer with a bias and a batch, as loops: too large for the
    /// formula constants.
    #[test]
    fn loops() {
        let expansion = expanded(quote!(
            pub struct Grouped;
            in = (30, 28), k = (3, 2), stride = 2, pad = (2, 1), cin = 4, cout = 6, groups = 2,
            bias, batch = 2, unroll = loops
        ));
        assert!(expansion.contains("pub const UNROLLED: bool = false;"));
        insta::assert_snapshot!(
            "in30x28_k3x2_s2_pad2x1_cin4_cout6_g2_bias_batch2_loops",
            expansion
        );
    }

    /// The expression form is a block that defines the type and yields its value.
    #[test]
    fn expression_form_yields_a_value() {
        let tokens = expand(quote!(in = 5, k = 3, stride = 2)).unwrap_or_default();
        let block: syn::ExprBlock = syn::parse2(tokens).unwrap_or_else(|error| panic!("{error}"));
        let last = block
            .block
            .stmts
            .last()
            .map(|statement| quote!(#statement).to_string());
        assert_eq!(last.as_deref(), Some("Conv"));
    }

    /// The form is told by the first token, through the invisible groups of `$vis`, and
    /// the expression form's errors are an expression.
    #[test]
    fn errors_stand_in_the_form_of_the_call() {
        let invisible = |tokens| {
            proc_macro2::Group::new(proc_macro2::Delimiter::None, tokens).into_token_stream()
        };
        let (public, empty) = (invisible(quote!(pub)), invisible(quote!()));
        for (input, form) in [
            (quote!(#[doc = "A layer."] struct Layer; in = 0), Form::Item),
            (quote!(#public struct Layer; in = 0), Form::Item),
            (quote!(#empty struct Layer; in = 0), Form::Item),
            (quote!(in = 0, k = 0), Form::Expression),
            (quote!(), Form::Expression),
        ] {
            assert_eq!(Form::of(&input), form, "{input}");
        }
        let error = expand(quote!(in = 0, k = 0)).unwrap_err();
        assert_eq!(error.clone().into_iter().count(), 2);
        let tokens = compile_errors(Form::Expression, error);
        let block: syn::ExprBlock = syn::parse2(tokens).unwrap();
        assert_eq!(block.block.stmts.len(), 2, "two `compile_error!`s");
    }

    /// `MULTIPLY_ADDS` is exact past `u64::MAX`: 2^20 each of batch, `cin` and `cout`, and
    /// 3 outputs times 3 taps on each of three axes, `2^60 · 9³`. It saturated at
    /// `u64::MAX`.
    #[test]
    fn multiply_adds_past_u64_are_exact() {
        let expansion = expanded(quote!(
            pub struct Huge;
            in = (5, 5, 5), k = 3, batch = 1048576, cin = 1048576, cout = 1048576,
            unroll = loops
        ));
        let exact = 729u128 << 60;
        assert!(exact > u128::from(u64::MAX));
        assert!(
            expansion.contains(&format!("pub const MULTIPLY_ADDS: u128 = {exact};")),
            "{exact}"
        );
    }

    /// Parentheses nested thousands deep are refused at the first tuple too deep, before
    /// the parser recurses into it: 5 000 levels overflowed rustc's stack inside the macro.
    /// On this thread's small stack the old recursion overflowed already.
    #[test]
    fn tuples_nested_deep_are_an_error_not_an_overflow() {
        let parse = || {
            let mut value = quote!(3);
            for _ in 0..5_000 {
                value = proc_macro2::Group::new(proc_macro2::Delimiter::Parenthesis, value)
                    .into_token_stream();
            }
            expand(quote!(in = 5, k = #value))
                .err()
                .map(|error| error.to_string())
        };
        let message = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(parse)
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(
            message.as_deref(),
            Some(
                "the value of `k` nests tuples more than 16 deep; no key takes more than 2, as \
                 in `pad = ((1, 0), (2, 1))`"
            )
        );
    }

    /// Expansion time per layer and unroll mode, for `conv-macros/measure/unroll.sh`:
    /// `CONVSYM_LAYERS="in = 6, k = 3; in = 10, k = 3"` (layers separated by `;`), prints
    /// one line per layer and mode, `layer<TAB>mode<TAB>microseconds`, the best of five.
    /// `cargo test -p conv-macros --release -- --ignored --nocapture expansion_time`
    #[test]
    #[ignore = "a measurement, run by conv-macros/measure/unroll.sh"]
    fn expansion_time() {
        let layers = std::env::var("CONVSYM_LAYERS").unwrap_or_else(|_| "in = 6, k = 3".into());
        for layer in layers
            .split(';')
            .map(str::trim)
            .filter(|layer| !layer.is_empty())
        {
            for mode in ["full", "loops", "auto"] {
                let text = format!("struct Layer; {layer}, unroll = {mode}");
                let tokens: proc_macro2::TokenStream = text.parse().unwrap_or_default();
                let best = (0..5)
                    .map(|_| {
                        let start = std::time::Instant::now();
                        let expansion = expand(tokens.clone());
                        let elapsed = start.elapsed();
                        drop(std::hint::black_box(expansion));
                        elapsed
                    })
                    .min()
                    .unwrap_or_default();
                println!("{layer}\t{mode}\t{}", best.as_micros());
            }
        }
    }

    /// The loop kernels' size does not grow with the length of a row: interior blocks'
    /// bounds are computed from where they start, not written out per block. The giant
    /// layer asked for a table of 137 GB and aborted; `in = 100000000` took over 2 GB.
    #[test]
    fn long_rows_expand_to_small_code() {
        for (layer, most) in [
            (quote!(struct Long; in = (100000000,), k = 3), 64 * 1024),
            (
                quote!(
                    struct Huge; in = (1099511627776,), k = 1048576, cin = 4096, cout = 4096,
                    unroll = loops
                ),
                64 * 1024,
            ),
            // A kernel as long as the input on the axis before the last: the wide weight
            // gradient wrote an offset per tap of it.
            (
                quote!(struct Tall; in = (10000000, 8), k = (10000000, 1), cout = 8),
                64 * 1024,
            ),
            (
                quote!(
                    struct Padded; in = (1099511627776,), k = 1048576, stride = 3,
                    pad = ((524288, 524287),), unroll = loops
                ),
                64 * 1024,
            ),
        ] {
            let tokens = expand(layer.clone()).map(|tokens| tokens.to_string());
            let length = tokens.as_ref().map_or(0, String::len);
            assert!(tokens.is_ok(), "{layer}: {tokens:?}");
            assert!(length < most, "{layer}: {length} bytes");
        }
    }

    /// Edge blocks whose taps' bounds would take more than a few hundred entries compute
    /// them instead; a small layer's are written out.
    #[test]
    fn edge_bounds_are_tabulated_only_when_few() {
        let small = expanded(quote!(struct Small; in = (603,), k = 5, pad = 2, unroll = loops));
        assert!(small.contains("const EDGE_ROWS"), "{small}");
        let large = expanded(quote!(
            struct Large; in = (1500,), k = 260, stride = 2, pad = ((200, 57),), unroll = loops
        ));
        assert!(
            !large.contains("EDGE_ROWS") && !large.contains("ROWS: [(usize"),
            "{large}"
        );
    }

    /// A layer whose input fits `usize` but whose padded copy would not: the wide
    /// kernels give way to the portable loops instead of overflowing (this panicked).
    #[test]
    fn padded_copies_past_usize_are_not_made() {
        let expansion = expanded(quote!(
            pub struct Huge;
            in = (379625062, 379625062, 16), k = 3, pad = 1, cin = 8, cout = 8, unroll = loops
        ));
        assert!(!expansion.contains("__private::Kernel"), "no wide build");
    }

    /// A group of 8 446 744 004 output channels: the searches for a block of channels ran
    /// over every divisor candidate (minutes; a `macro_parse` fuzzing finding) and now stop
    /// at the most a block can hold. The expansion stays small.
    #[test]
    fn billions_of_channels_expand_at_once() {
        let expansion = expanded(quote!(
            struct La; in = 706, k = 7, stride = 8, pad = 33, cout = 8446744004
        ));
        assert!(expansion.len() < 256 * 1024, "{}", expansion.len());
    }
}
