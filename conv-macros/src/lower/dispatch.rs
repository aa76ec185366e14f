//! A pass's loop kernel in its three builds: the portable loops and, where the layer
//! suits them, the AVX2 and AVX-512 bodies of [`wide`], as a `convsym::__private::Kernel`
//! that `T::run` dispatches at run time, with the finiteness checks that decide whether a
//! wide build's result stands ([`Check`], [`Finite`]).

use conv_runtime::Spec;
use conv_runtime::Tensor;
use conv_runtime::derive::Section;
use proc_macro2::{Ident, TokenStream};
use quote::{ToTokens, format_ident, quote};

use super::tokens::number;
use super::{Array, loops, wide};

/// Who checks that a wide build may run on a pass's operands ([`Finite`]).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Check {
    /// The kernel itself, as `dispatched` says.
    Own,
    /// The kernel itself, in a method given the `part` of the pass to compute
    /// (`wide::Body::parts`): checked where it is the whole pass, by the caller where
    /// it is a task.
    OwnInParts,
    /// Its caller: a parallel form's task, whose form checks the whole pass once
    /// (`parallel::methods`), so that every task runs the same build.
    Caller,
}

/// The operands a pass's wide builds multiply by structural zeros, which must be finite
/// for their result to stand, and when they are checked: `after` the pass, and only
/// where its output is not finite, when they are more values than the output.
pub(super) struct Finite {
    pub(super) met: Vec<Ident>,
    pub(super) after: bool,
}

impl Finite {
    pub(super) fn of(
        inputs: &[&Array],
        output: &Array,
        avx2: &wide::Body,
        avx512: &wide::Body,
    ) -> Self {
        // Both builds must run on the same operands, so the wider requirement holds.
        let zeros_meet = avx2.zeros_meet.max(avx512.zeros_meet);
        let met: Vec<&Array> = inputs
            .iter()
            .copied()
            .filter(|array| {
                zeros_meet == wide::ZerosMeet::Every || array.element.tensor == Tensor::Weight
            })
            .collect();
        // Saturating: a layer may have more input and weight elements together than
        // `usize`.
        let met_len = met
            .iter()
            .fold(0_usize, |total, array| total.saturating_add(array.len));
        Finite {
            met: met.iter().map(|array| array.name.clone()).collect(),
            after: met_len > output.len,
        }
    }

    /// `section`'s check for `spec`, whose operands are `inputs` and `output`; `None`
    /// where it has no wide build.
    pub(super) fn of_pass(
        spec: &Spec,
        section: Section,
        inputs: &[&Array],
        output: &Array,
    ) -> Option<Self> {
        let (avx2, avx512) = wide::builds(spec, section)?;
        Some(Self::of(inputs, output, &avx2, &avx512))
    }
}

/// A kernel body in three builds, as a `convsym::__private::Kernel` that `T::run` runs in
/// the widest one the processor supports: the arrays become the fields of a local type.
///
/// The wide builds multiply padding and other structural zeros, which would turn an
/// infinity into NaN beyond the outputs whose equations name it. Either the operands
/// those zeros meet are checked to be finite before a wide build runs (`finite`), or its
/// outputs after: a finite output is a sum none of whose products was infinite or NaN, so
/// its structural products were zeros. Only where an output is not finite are the
/// operands checked, and the portable build runs again where one is not finite either: so
/// on finite operands the wide build's result stands, as with the check before, whatever
/// overflows, and a parallel form's tiles keep the same bits as the whole pass. Whichever
/// check reads fewer values: a weight gradient's output is far smaller than the input and
/// δ it reads.
pub(super) fn dispatched(
    inputs: &[&Array],
    output: &Array,
    portable: &TokenStream,
    (avx2, avx512): (&wide::Body, &wide::Body),
    check: Check,
) -> TokenStream {
    let names: Vec<&Ident> = inputs.iter().map(|array| &array.name).collect();
    let Finite { met, after } = Finite::of(inputs, output, avx2, avx512);
    // Bodies that compute parts (`wide::Body::parts`): the output is a slice and `part` a
    // field, given to the method this is the body of (`Kernels::method`), or, for a task's
    // own layer, the whole pass. Only the whole reaches the portable build: a parallel
    // form runs its parts where the wide builds run.
    let parts = avx2.parts.is_some() && avx512.parts.is_some();
    let finite = if after || met.is_empty() || check == Check::Caller {
        quote!(true)
    } else if parts {
        quote!(self.part.task || #(T::all_finite(self.#met))&&*)
    } else {
        quote!(#(T::all_finite(self.#met))&&*)
    };
    let types = inputs.iter().map(|array| {
        let len = number(array.len);
        quote!(&'a [T; #len])
    });
    let (out, out_len) = (&output.name, number(output.len));
    let fields = quote!(#(#names,)* #out);
    // A body that reads its caller's padded copy (`wide::Body::shared`) takes `shared`,
    // which the method's caller gives (`Kernels::method`), empty for the whole pass.
    let shared = shares(avx2, avx512);
    let shared_part = shared.then(|| quote!(, shared));
    let (out_type, part, whole, slice, task, rest) = if parts {
        (
            quote!(&'a mut [T]),
            Some(quote!(, part)),
            (check != Check::OwnInParts).then(|| whole_pass(shared)),
            Some(quote! {
                let #out: &mut [T] = &mut #out[..];
            }),
            Some(quote!(&&!part.task)),
            Some(quote! {
                let Pass { #fields, .. } = self;
                let #out: &mut [T; #out_len] = ::convsym::__private::par::array_mut(#out);
            }),
        )
    } else {
        let rest = quote!(let Pass { #fields } = self;);
        (
            quote!(&'a mut [T; #out_len]),
            None,
            None,
            None,
            None,
            Some(rest),
        )
    };
    let [avx2, avx512] = [avx2, avx512].map(|body| {
        if parts {
            let reads = match (shared, body.shared) {
                (true, true) => quote!(, shared),
                (true, false) => quote!(, ..),
                _ => TokenStream::new(),
            };
            body_on(body, &quote!(#fields #part #reads), false)
        } else {
            with_scratch(body, &fields)
        }
    });
    // A part's kernel runs in a wide build whatever the cap where it is a parallel
    // form's task (`Wide::run_part`): its portable build is the whole layer's.
    let run_call = |pass: TokenStream| {
        if parts {
            quote!(T::run_part(#pass, part.task))
        } else {
            quote!(T::run(#pass))
        }
    };
    let run = if after && check != Check::Caller {
        let call = run_call(quote!(Pass { #(#names,)* #out: &mut *#out #part #shared_part }));
        quote! {
            if #call
                #task
                && !T::all_finite(&#out[..])
                && !(#(T::all_finite(#met))&&*)
            {
                ::convsym::__private::rerun(Pass { #fields #part #shared_part });
            }
        }
    } else {
        let call = run_call(quote!(Pass { #fields #part #shared_part }));
        quote!(#call;)
    };
    let portable = quote! {
        #rest
        #portable
    };
    let part_field = parts.then(|| quote!(part: ::convsym::__private::Part,));
    let shared_field = shared.then(|| quote!(shared: &'a [T],));
    let kernel = kernel_impl(&quote!('_), &portable, &finite, (&avx2, &avx512));
    quote! {
        struct Pass<'a, T> {
            #(#names: #types,)*
            #out: #out_type,
            #part_field
            #shared_field
        }
        #kernel
        #whole
        #slice
        #run
    }
}

/// The `Kernel` impl of a pass's `struct Pass<lifetimes, T>`: the portable statements
/// (which take `self` apart), the finiteness check, and each wide build's statements.
pub(super) fn kernel_impl(
    lifetimes: &TokenStream,
    portable: &TokenStream,
    finite: &TokenStream,
    (avx2, avx512): (&TokenStream, &TokenStream),
) -> TokenStream {
    quote! {
        #[allow(clippy::inline_always, reason = "each build must be compiled into its caller")]
        impl<T: ::convsym::Scalar> ::convsym::__private::Kernel for Pass<#lifetimes, T> {
            #[inline(always)]
            fn portable(self) {
                #portable
            }
            #[inline(always)]
            fn finite(&self) -> bool {
                #finite
            }
            #[inline(always)]
            fn avx2(self, token: ::convsym::__private::Avx2) {
                #avx2
            }
            #[inline(always)]
            fn avx512(self, token: ::convsym::__private::Avx512) {
                #avx512
            }
        }
    }
}

/// Whether both wide builds of `section` compute parts of the pass (`wide::Body::parts`).
pub(super) fn in_parts(spec: &Spec, section: Section) -> bool {
    wide::builds(spec, section)
        .is_some_and(|(avx2, avx512)| avx2.parts.is_some() && avx512.parts.is_some())
}

/// Whether the hidden method that computes a part of `section` takes `shared: &[T]`, the
/// input padded by its caller (`wide::Body::shared`): empty for the whole pass.
pub(super) fn takes_shared(spec: &Spec, section: Section) -> bool {
    wide::builds(spec, section).is_some_and(|(avx2, avx512)| shares(&avx2, &avx512))
}

/// Whether bodies `avx2` and `avx512` compute parts and one of them reads `shared`: the
/// `Pass` then has a `shared` field, and its method a `shared` parameter.
pub(super) fn shares(avx2: &wide::Body, avx512: &wide::Body) -> bool {
    avx2.parts.is_some() && avx512.parts.is_some() && (avx2.shared || avx512.shared)
}

/// The bindings of a body that computes the whole pass: `part`, and `shared` empty (no
/// caller's padded copy) where it reads one.
fn whole_pass(shared: bool) -> TokenStream {
    let shared = shared.then(|| quote!(let shared: &[T] = &[];));
    quote!(let part = ::convsym::__private::Part::WHOLE; #shared)
}

/// The hidden method that computes a part of `section` ([`Kernels::method`]).
pub(super) fn parts_method(section: Section) -> Ident {
    match section {
        Section::Forward => format_ident!("forward_part"),
        Section::GradInput => format_ident!("grad_input_part"),
        _ => format_ident!("grad_weight_part"),
    }
}

/// A loop kernel's body: the portable loops, and with `wide` the AVX2 and AVX-512 builds
/// where the layer suits them, dispatched at run time after the check it names; and the
/// most scratch, in scalars, its wide builds take.
pub(super) fn looped(
    spec: &Spec,
    section: Section,
    inputs: &[&Array],
    output: &Array,
    wide: Option<Check>,
) -> (TokenStream, usize) {
    let portable = match section {
        Section::Forward => loops::forward(spec),
        Section::GradInput => loops::grad_input(spec),
        Section::GradWeight => loops::grad_weight(spec),
        Section::GradBias => loops::grad_bias(spec),
    };
    match wide.and_then(|check| Some((check, wide::builds(spec, section)?))) {
        Some((check, (avx2, avx512))) => (
            dispatched(inputs, output, &portable, (&avx2, &avx512), check),
            avx2.scratch.max(avx512.scratch),
        ),
        None => (portable, 0),
    }
}

/// A wide build's method body: `body` on the `Pass`'s `fields`, with `scratch: &mut [T]`
/// from `wide_scratch!` where it takes any (or the portable build where the runtime, built
/// without `std`, cannot give that much). A body that computes parts
/// (`wide::Body::parts`) computes the whole pass here: the `Pass` has no `part`.
pub(super) fn with_scratch(body: &wide::Body, fields: &TokenStream) -> TokenStream {
    body_on(body, fields, body.parts.is_some())
}

/// [`with_scratch`], binding `part` to the whole pass where `whole`, else taking it from
/// `fields`.
fn body_on(body: &wide::Body, fields: &TokenStream, whole: bool) -> TokenStream {
    let tokens = &body.tokens;
    let scratch = (body.scratch > 0).then(|| {
        let small = body.scratch <= conv_runtime::__private::STACK_SCRATCH;
        let size = if small { quote!(small) } else { quote!(large) };
        // A large scratch is allocated as long as the part needs (`Body::scratch_of_part`),
        // a small one is an array on the stack without `std`.
        let len = match &body.scratch_of_part {
            Some(len) if !small && !whole => quote!((#len)),
            _ => number(body.scratch).to_token_stream(),
        };
        quote! {
            let Some(mut scratch) = ::convsym::__private::wide_scratch!(T; #len, #size) else {
                return self.portable();
            };
            let scratch: &mut [T] = &mut scratch[..];
        }
    });
    let whole = whole.then(|| whole_pass(body.shared));
    quote! {
        #scratch
        let Pass { #fields } = self;
        #whole
        #tokens
    }
}
