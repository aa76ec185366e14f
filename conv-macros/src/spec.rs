//! The specification: the runtime validates every key it knows; this stage adds the
//! macro's own `unroll` key, which [`crate::unroll`] resolves.

use conv_runtime::{Argument, Spec, Value};
use proc_macro2::Span;

use crate::parse::{Extent, Invocation};
use crate::unroll::{Request, Unroll, decide};

/// A validated layer and how to emit it.
pub(crate) struct Layer {
    /// The runtime's specification.
    pub(crate) spec: Spec,
    /// The resolved `unroll`.
    pub(crate) unroll: Unroll,
    /// The specification's arguments as written, in the runtime's text form: it parses
    /// back to an equal [`Spec`], the padding mode (`same`, `valid`) included.
    pub(crate) text: String,
}

impl Layer {
    /// Validates the arguments; every independent problem becomes one error at its tokens.
    pub(crate) fn from_invocation(invocation: &Invocation) -> syn::Result<Layer> {
        let arguments = &invocation.arguments;
        let request = unroll_request(arguments);
        let spec = Spec::from_arguments(arguments, &["unroll"]).map_err(|errors| {
            errors
                .into_iter()
                .map(|error| match error.span {
                    Some(extent) => extent.error(error.message),
                    None => syn::Error::new(Span::call_site(), error.message),
                })
                .collect::<Vec<_>>()
        });
        let (spec, request) = match (spec, request) {
            (Ok(spec), Ok(request)) => (spec, request),
            (spec, request) => {
                let errors = spec.err().into_iter().flatten();
                return Err(combine(errors.chain(request.err())));
            }
        };
        let unroll = decide(&request, &spec)?;
        let text = arguments
            .iter()
            .filter(|argument| argument.key != "unroll")
            .map(|argument| match &argument.value {
                Some(value) => format!("{}={value}", argument.key),
                None => argument.key.clone(),
            })
            .collect::<Vec<_>>()
            .join(" ");
        Ok(Layer { spec, unroll, text })
    }
}

/// What the `unroll` argument asks for: [`Request::Auto`] without one.
fn unroll_request(arguments: &[Argument<Extent>]) -> syn::Result<Request> {
    let mut request = Ok(Request::Auto);
    let mut errors = Vec::new();
    let mut seen = false;
    for argument in arguments.iter().filter(|argument| argument.key == "unroll") {
        if seen {
            errors.push(argument.key_span.error("duplicate `unroll` argument"));
            continue;
        }
        seen = true;
        request = match &argument.value {
            Some(Value::Word { word, span }) => match word.as_str() {
                "auto" => Ok(Request::Auto),
                "loops" => Ok(Request::Loops),
                "full" => Ok(Request::Full(*span)),
                _ => Err(span.error(format!(
                    "`unroll` ({word}) must be `full`, `loops` or `auto`"
                ))),
            },
            Some(value) => Err(value.span().error(format!(
                "`unroll` ({value:#}) must be `full`, `loops` or `auto`"
            ))),
            None => Err(argument
                .key_span
                .error("`unroll` needs a value: `full`, `loops` or `auto`")),
        };
    }
    match request {
        Ok(request) if errors.is_empty() => Ok(request),
        request => Err(combine(errors.into_iter().chain(request.err()))),
    }
}

/// One error that reports all of `errors`; the iterator is never empty.
fn combine(errors: impl IntoIterator<Item = syn::Error>) -> syn::Error {
    errors
        .into_iter()
        .reduce(|mut all, error| {
            all.combine(error);
            all
        })
        .unwrap_or_else(|| syn::Error::new(Span::call_site(), "invalid `conv!` arguments"))
}

#[cfg(test)]
mod tests {
    use proc_macro2::TokenStream;
    use quote::quote;

    use super::Layer;
    use crate::unroll::{BUDGET, LIMIT, Unroll, unrolled_size};

    /// The resolved `unroll` of `conv!(arguments)`, or the error's message.
    fn unroll(arguments: TokenStream) -> Result<Unroll, String> {
        let invocation = syn::parse2(arguments).map_err(|error| error.to_string())?;
        Layer::from_invocation(&invocation)
            .map(|layer| layer.unroll)
            .map_err(|error| error.to_string())
    }

    /// The [`unrolled_size`] of `conv!(arguments)`.
    fn size_of(arguments: TokenStream) -> usize {
        let invocation = syn::parse2(arguments).expect("the arguments parse");
        let layer = Layer::from_invocation(&invocation).expect("the layer is valid");
        unrolled_size(&layer.spec)
    }

    /// Multiply-adds plus the elements of the input, the weight and the output.
    #[test]
    fn size_counts_multiply_adds_and_elements() {
        assert_eq!(
            size_of(quote!(in = (16384,), k = 1)),
            16384 + 16384 + 1 + 16384
        );
        assert_eq!(size_of(quote!(in = 5, k = 3, stride = 2)), 36 + 25 + 9 + 4);
        assert_eq!(
            size_of(quote!(in = (1,), k = 1, cin = 32, cout = 32)),
            1024 + 32 + 1024 + 32
        );
    }

    /// `auto` unrolls up to the budget and loops past it, on the shapes that cost the most
    /// per multiply-add (a long row with `k = 1`) and per element (a large kernel).
    #[test]
    fn auto_unrolls_up_to_the_budget() {
        for (arguments, size, expected) in [
            (quote!(in = (255,), k = 1), 766, Unroll::Full),
            (quote!(in = (256,), k = 1), 769, Unroll::Loops),
            // 1 024 multiply-adds, unrolled before the budget counted the elements: it
            // added 1.6 s to a release build.
            (quote!(in = (1024,), k = 1), 3073, Unroll::Loops),
            (quote!(in = (49,), k = 25), 724, Unroll::Full),
            (quote!(in = (51,), k = 26), 779, Unroll::Loops),
            (
                quote!(in = (1,), k = 1, cin = 19, cout = 19),
                760,
                Unroll::Full,
            ),
            (
                quote!(in = (1,), k = 1, cin = 20, cout = 20),
                840,
                Unroll::Loops,
            ),
            (quote!(in = 10, k = 3), 749, Unroll::Full),
            (quote!(in = 11, k = 3), 940, Unroll::Loops),
        ] {
            assert_eq!(size_of(arguments.clone()), size, "{arguments}");
            assert_eq!(unroll(arguments.clone()), Ok(expected), "{arguments}");
            assert_eq!(
                unroll(quote!(#arguments, unroll = auto)),
                Ok(expected),
                "{arguments}"
            );
            assert_eq!(
                unroll(quote!(#arguments, unroll = loops)),
                Ok(Unroll::Loops)
            );
        }
        const { assert!(BUDGET < LIMIT) };
    }

    /// `full` unrolls up to the limit and is refused past it with the numbers.
    #[test]
    fn full_is_refused_past_the_limit() {
        for (arguments, size) in [
            (quote!(in = (5461,), k = 1), 16384),
            (quote!(in = (251,), k = 126), 16379),
            (quote!(in = (1,), k = 1, cin = 90, cout = 90), 16380),
            (quote!(in = 40, k = 3), 16049),
        ] {
            assert_eq!(size_of(arguments.clone()), size, "{arguments}");
            assert_eq!(unroll(quote!(#arguments, unroll = full)), Ok(Unroll::Full));
        }
        for (arguments, multiply_adds, elements) in [
            (quote!(in = (5462,), k = 1), 5462, 10925),
            (quote!(in = (255,), k = 128), 16384, 511),
            (quote!(in = (1,), k = 1, cin = 91, cout = 91), 8281, 8463),
            (quote!(in = 41, k = 3), 13689, 3211),
            // Accepted before the limit counted the elements: 9 minutes and 7.75 GiB.
            (quote!(in = (16384,), k = 1), 16384, 32769),
            (quote!(in = (8192,), k = 1), 8192, 16385),
        ] {
            let size = multiply_adds + elements;
            assert_eq!(size_of(arguments.clone()), size, "{arguments}");
            assert_eq!(
                unroll(quote!(#arguments, unroll = full)),
                Err(format!(
                    "`unroll = full` would unroll {multiply_adds} multiply-adds and {elements} \
                     array elements ({size}), more than the limit of {LIMIT}, and take minutes \
                     to build; write `unroll = loops`, or `unroll = auto` (loops above \
                     {BUDGET}), which builds in seconds"
                )),
                "{arguments}"
            );
        }
    }
}
