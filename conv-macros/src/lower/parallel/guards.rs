//! What a parallel form checks around its tasks: that it is worth cutting, that its tasks
//! can run in the build the scalar type compiled them for, and that its operands are
//! finite, falling back to the one-thread kernel where one of them fails.

use proc_macro2::{Ident, TokenStream};
use quote::quote;

use super::super::Finite;

/// A form's body around its `tasks`, `serial` the call of the one-thread method and `out`
/// its output. The one-thread method runs, and the form returns, where the pass is under
/// the runtime's threshold, or where the tasks call the layer's wide builds alone for a
/// type that has them (`Wide::either`) and none runs (no AVX2 and FMA, or the cap); the
/// finite operands are checked as [`checks`] says.
pub(super) fn around(
    tasks: &TokenStream,
    finite: Option<Finite>,
    out: &Ident,
    serial: &TokenStream,
) -> TokenStream {
    let (before, after) = checks(finite, out, serial);
    let unwide = calls_either(tasks).then(|| {
        quote! {
            || <T as ::convsym::__private::Wide>::WIDE
                && !<T as ::convsym::__private::Wide>::runs_wide()
        }
    });
    quote! {
        if !::convsym::__private::par::worth(Self::MULTIPLY_ADDS) #unwide {
            #serial
            return;
        }
        #before
        #tasks
        #after
    }
}

/// Whether `tasks` choose their body by the scalar type (`Wide::either`), read from the
/// tokens since both `Split` and a transposed layer's tasks write them.
fn calls_either(tasks: &TokenStream) -> bool {
    tasks.clone().into_iter().any(|token| match token {
        proc_macro2::TokenTree::Ident(ident) => ident == "either",
        proc_macro2::TokenTree::Group(group) => calls_either(&group.stream()),
        _ => false,
    })
}

/// The checks around a pass's tasks, which give it the one-thread kernel's result where an
/// operand is infinite or NaN. The tasks run the widest build unchecked (`Check::Caller`),
/// so the pass is checked once as the one-thread kernel checks it ([`Finite`]): its
/// operands before the tasks, or, where they are more values than the output, the output
/// after them and the operands only where it is not finite; the one-thread kernel runs
/// where a check fails. Before, every operand was read once more on every call: 13% of
/// the processor time of `resnet-stem`'s weight gradient at batch 8 on two threads.
fn checks(
    finite: Option<Finite>,
    out: &Ident,
    serial: &TokenStream,
) -> (Option<TokenStream>, Option<TokenStream>) {
    let Some(Finite { met, after }) = finite.filter(|finite| !finite.met.is_empty()) else {
        return (None, None);
    };
    let finite = quote!(#(::convsym::__private::par::all_finite(#met))&&*);
    if after {
        let check = quote! {
            if !::convsym::__private::par::all_finite(&#out[..]) && !(#finite) {
                #serial
            }
        };
        (None, Some(check))
    } else {
        let check = quote! {
            if !(#finite) {
                #serial
                return;
            }
        };
        (Some(check), None)
    }
}
