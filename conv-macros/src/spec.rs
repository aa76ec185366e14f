//! The specification: the runtime validates every key it knows; this stage adds the
//! macro's own `unroll` key and decides how the kernels are emitted.

use conv_runtime::{Argument, Spec, Value};
use proc_macro2::Span;

use crate::parse::{Extent, Invocation};

/// `unroll = auto` unrolls a layer fully up to this many multiply-adds per function (see
/// [`size`]) and emits loops above it. Chosen from the ladder in the README
/// (`conv-macros/measure/unroll.sh`) and a comparison of both modes on small layers of one
/// and two axes, with and without channels: below about 300 multiply-adds the unrolled
/// kernels are up to 1.7 times faster than the loops (2 times on a long 1-D row at 600);
/// from about 1 400 on the loops are as fast or faster in every case measured (3 times at
/// 5 400), while an unrolled layer's release build grows from 0.2 s to 3 s at 5 000.
pub(crate) const BUDGET: usize = 1024;

/// The formulas (`FORWARD`, `GRAD_INPUT`, …) are embedded as constants up to this size
/// even when the kernels are loops: deriving them costs a few milliseconds of expansion
/// and no measurable build time at this size.
pub(crate) const FORMULAS: usize = 4096;

/// `unroll = full` is refused above this many multiply-adds per function: at the limit a
/// release build of the one layer already takes about 15 to 30 seconds, and it grows
/// faster than linearly past it.
pub(crate) const LIMIT: usize = 16384;

/// How the kernels are emitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unroll {
    /// Straight-line code, one statement per multiply-add.
    Full,
    /// Loops with constant bounds.
    Loops,
}

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
        let work = size(&spec);
        let unroll = match request {
            Request::Auto if work <= BUDGET => Unroll::Full,
            Request::Auto | Request::Loops => Unroll::Loops,
            Request::Full(_) if work <= LIMIT => Unroll::Full,
            Request::Full(extent) => {
                return Err(extent.error(format!(
                    "`unroll = full` would emit {work} statements per function, more than the \
                     limit of {LIMIT}, and take minutes to build; write `unroll = loops`, or \
                     `unroll = auto` (loops above {BUDGET}), which builds in seconds"
                )));
            }
        };
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

/// The size the budget and the limit measure: the statements of the largest unrolled
/// kernel, that is its multiply-adds or, for a layer whose arrays are larger than its work
/// (a large stride, say), one per element of an array it reads or writes.
pub(crate) fn size(spec: &Spec) -> usize {
    [
        usize::try_from(spec.multiply_adds()).unwrap_or(usize::MAX),
        spec.input_len(),
        spec.weight_len(),
        spec.output_len(),
    ]
    .into_iter()
    .max()
    .unwrap_or(usize::MAX)
}

/// What `unroll` asked for.
enum Request {
    Auto,
    Loops,
    Full(Extent),
}

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
