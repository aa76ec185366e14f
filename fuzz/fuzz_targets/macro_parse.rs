//! Text to `proc_macro2` tokens to the `conv!` macro's own parse, validation and expansion,
//! as the compiler would run them on the tokens inside `conv!(…)`.
//!
//! A proc-macro crate links only into the compiler, so its modules are compiled here from
//! `conv-macros/src` as they are (the module `conv_macros` below; nothing in that crate
//! changes for the fuzzer). Invariants:
//!
//! - No input panics: every bad input is a `syn::Error`, which renders as
//!   `compile_error!` tokens. Groups nested deeper than
//!   [`MAX_NESTING`](conv_runtime::spec::MAX_NESTING) are such an error, however deep.
//! - An expansion is Rust: an item form parses as a file, an expression form as a block.
//!   Parsing it with syn takes most of an execution's time, so one input in eight (chosen
//!   by its bytes, so a crash reproduces) is parsed back.
//!
//! A layer unrolled fully above [`UNROLLED`] statements is validated but not expanded:
//! thousands of statements slow a run tenfold, and the loop kernels, which are expanded
//! for every size, take the same arithmetic on sizes. Loop kernels of any row are
//! expanded: their tables no longer grow with the row (`fuzz/regressions.sh` keeps
//! `in = (100000000,), k = 3`, which this target found expanding past 2 GB).
#![no_main]

use conv_runtime::spec::MAX_NESTING;
use convsym_fuzz::Choices;
use libfuzzer_sys::fuzz_target;
use proc_macro2::{TokenStream, TokenTree};

/// The most statements per kernel expanded fully unrolled.
const UNROLLED: usize = 256;

/// `conv-macros/src`, its modules under their own names so their `crate::…` paths resolve.
#[allow(
    dead_code,
    unreachable_pub,
    reason = "the proc-macro's modules, of which the target calls `expand` and the parse"
)]
#[path = "../../conv-macros/src"]
mod conv_macros {
    pub mod derive;
    pub mod expand;
    pub mod lower;
    pub mod parse;
    pub mod spec;
    pub mod unroll;
}

// `expand.rs` and the others name each other `crate::parse`, `crate::spec`, ….
use conv_macros::{derive, lower, parse, spec, unroll};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(tokens) = text.parse::<TokenStream>() else {
        return;
    };
    let deep = depth(tokens.clone()) > MAX_NESTING;
    let Ok(invocation) = parse::invocation(tokens.clone()) else {
        let error = conv_macros::expand::expand(tokens).expect_err("the parse failed");
        assert!(!error.into_compile_error().is_empty());
        return;
    };
    assert!(!deep, "parsed though nested past {MAX_NESTING}: {text:?}");
    let item_form = invocation.item.is_some();
    match spec::Layer::from_invocation(&invocation) {
        Ok(layer) if layer.unroll.is_full() && unroll::size(&layer.spec) > UNROLLED => {
            return;
        }
        Ok(_) => {}
        Err(error) => {
            assert!(!error.into_compile_error().is_empty());
            return;
        }
    }
    let expansion = conv_macros::expand::expand(tokens).expect("validated above");
    if Choices::new(data).below(8) != 0 {
        return;
    }
    if item_form {
        if let Err(error) = syn::parse2::<syn::File>(expansion.clone()) {
            panic!("the expansion of `{text}` is not a file: {error}\n{expansion}");
        }
    } else if let Err(error) = syn::parse2::<syn::ExprBlock>(expansion.clone()) {
        panic!("the expansion of `{text}` is not a block: {error}\n{expansion}");
    }
});

/// How deeply `tokens` nest groups, walked with a stack of its own: a recursive walk
/// would overflow on the inputs it is for.
fn depth(tokens: TokenStream) -> usize {
    let mut levels = vec![tokens.into_iter()];
    let mut deepest = 0;
    while let Some(level) = levels.last_mut() {
        match level.next() {
            Some(TokenTree::Group(group)) => {
                levels.push(group.stream().into_iter());
                deepest = deepest.max(levels.len() - 1);
            }
            Some(_) => {}
            None => {
                levels.pop();
            }
        }
    }
    deepest
}
