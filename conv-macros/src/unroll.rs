//! How the kernels are emitted, decided once per layer: unrolled into straight-line code
//! or as loops, and whether the formulas are embedded as constants. The specification
//! stage resolves `unroll` here ([`decide`]); the derivation and the lowering ask
//! [`Unroll`].

use conv_runtime::Spec;

use crate::parse::Extent;

/// `unroll = auto` unrolls a layer fully up to this [`unrolled_size`] and emits loops above
/// it: the worst shapes at the budget add under a second of processor time to a release
/// build (the README lists them; `conv-macros/measure/unroll.sh` measures them).
/// Below about 300 multiply-adds the unrolled kernels are up to 1.7 times faster than the
/// loops; from about 1 000 on the loops are as fast or faster in every case measured.
pub(crate) const BUDGET: usize = 768;

/// The formulas (`FORWARD`, `GRAD_INPUT`, …) are embedded as constants up to this [`size`]
/// even when the kernels are loops: deriving them costs a few milliseconds of expansion
/// and no measurable build time at this size.
pub(crate) const FORMULAS: usize = 4096;

/// `unroll = full` is refused above this [`unrolled_size`]: the worst shape at the limit (a
/// large 1-D kernel, nearly all multiply-adds) takes about 20 seconds of processor time and
/// 650 MiB to build, and a layer of twice the size 40 seconds and over 1 GiB (the README
/// has the numbers).
pub(crate) const LIMIT: usize = 16384;

/// How the kernels are emitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unroll {
    /// Straight-line code, one statement per multiply-add.
    Full,
    /// Loops with constant bounds.
    Loops,
}

impl Unroll {
    /// Whether the kernels are straight-line code, made of the layer's equations.
    pub(crate) fn is_full(self) -> bool {
        self == Unroll::Full
    }

    /// Whether the expansion needs the layer's equations: the unrolled kernels are made of
    /// them, and the formula constants are embedded up to [`FORMULAS`] whatever the
    /// kernels.
    pub(crate) fn needs_equations(self, spec: &Spec) -> bool {
        self.is_full() || size(spec) <= FORMULAS
    }
}

/// What `unroll` asked for.
pub(crate) enum Request {
    /// Unrolled up to [`BUDGET`], loops past it (the default).
    Auto,
    /// Loops.
    Loops,
    /// Unrolled up to [`LIMIT`]; the value's tokens, for the error past it.
    Full(Extent),
}

/// How `request` resolves for `spec`.
pub(crate) fn decide(request: &Request, spec: &Spec) -> syn::Result<Unroll> {
    let size = unrolled_size(spec);
    match request {
        Request::Auto if size <= BUDGET => Ok(Unroll::Full),
        Request::Auto | Request::Loops => Ok(Unroll::Loops),
        Request::Full(_) if size <= LIMIT => Ok(Unroll::Full),
        Request::Full(extent) => {
            let multiply_adds = spec.multiply_adds();
            let elements = size.saturating_sub(saturated_multiply_adds(spec));
            Err(extent.error(format!(
                "`unroll = full` would unroll {multiply_adds} multiply-adds and {elements} \
                 array elements ({size}), more than the limit of {LIMIT}, and take minutes to \
                 build; write `unroll = loops`, or `unroll = auto` (loops above {BUDGET}), \
                 which builds in seconds"
            )))
        }
    }
}

/// The size the formula constants are embedded up to: the statements of the largest
/// unrolled kernel, that is its multiply-adds or, for a layer whose arrays are larger than
/// its work (a large stride, say), one per element of an array it reads or writes.
pub(crate) fn size(spec: &Spec) -> usize {
    [
        saturated_multiply_adds(spec),
        spec.input_len(),
        spec.weight_len(),
        spec.output_len(),
    ]
    .into_iter()
    .max()
    .unwrap_or(usize::MAX)
}

/// What an unrolled layer costs rustc, which the budget and the limit bound: one statement
/// per multiply-add in each kernel, plus one equation (and one formula string) per element
/// of each array. Since the kernels are split into functions of at most 1024 statements
/// (`lower/unrolled.rs`), a release build's time and memory grow linearly in it, mostly
/// in the multiply-adds.
pub(crate) fn unrolled_size(spec: &Spec) -> usize {
    [spec.input_len(), spec.weight_len(), spec.output_len()]
        .into_iter()
        .try_fold(saturated_multiply_adds(spec), usize::checked_add)
        .unwrap_or(usize::MAX)
}

/// The runtime's exact count of multiply-adds, as a `usize` that saturates: past
/// `usize::MAX` every size is over the limits anyway.
fn saturated_multiply_adds(spec: &Spec) -> usize {
    usize::try_from(spec.multiply_adds()).unwrap_or(usize::MAX)
}
