//! Every baseline checked against `conv_runtime::reference` on a layer's data, before any
//! benchmark times it.
//!
//! On [`Data::small_integers`] every result is an exact integer in `f32`, whatever the order
//! of the sums (see there), so the check is equality, not a tolerance: a baseline that
//! differs anywhere is wrong, not imprecise. Equality is IEEE `==`: a zero's sign depends
//! on the order of the sums, its value does not.

use conv_runtime::{Spec, reference};

use crate::Kernels;
use crate::candle::{Candle, values};
use crate::im2col;
use crate::shapes::{Data, Shape};

/// The three passes' exact results, from the reference.
#[derive(Clone, Debug)]
pub struct Expected {
    /// `z`.
    pub output: Vec<f32>,
    /// `∂L/∂x`.
    pub grad_input: Vec<f32>,
    /// `∂L/∂w`.
    pub grad_weight: Vec<f32>,
}

impl Expected {
    /// The reference's results on `data`.
    pub fn new(spec: &Spec, data: &Data) -> Expected {
        Expected {
            output: reference::forward(spec, &data.input, &data.weight, &[]),
            grad_input: reference::grad_input(spec, &data.weight, &data.delta),
            grad_weight: reference::grad_weight(spec, &data.input, &data.delta),
        }
    }
}

/// Where `actual` differs from `expected`, as a message; `None` when they are equal.
pub fn compare(what: &str, expected: &[f32], actual: &[f32]) -> Option<String> {
    if expected.len() != actual.len() {
        return Some(format!(
            "{what}: {} elements, expected {}",
            actual.len(),
            expected.len()
        ));
    }
    #[allow(clippy::float_cmp, reason = "on integer data every result is exact")]
    let wrong: Vec<usize> = (0..expected.len())
        // IEEE equality: exact, and false for NaN, but −0 equals +0, which a sum that
        // starts from its first product (−2·0) rather than from +0 legitimately gives.
        .filter(|&i| expected[i] != actual[i])
        .collect();
    let &first = wrong.first()?;
    Some(format!(
        "{what}: {} of {} elements differ; the first, [{first}], is {} but the reference gives {}",
        wrong.len(),
        expected.len(),
        actual[first],
        expected[first],
    ))
}

/// Runs `kernels`' three passes and compares each with `expected`.
fn check_kernels(
    name: &str,
    kernels: &mut dyn Kernels,
    data: &Data,
    expected: &Expected,
    problems: &mut Vec<String>,
) {
    // Start from garbage, so that a pass that forgets to overwrite its output is caught.
    let mut output = vec![f32::NAN; expected.output.len()];
    kernels.forward_into(&data.input, &data.weight, &mut output);
    let mut grad_input = vec![f32::NAN; expected.grad_input.len()];
    kernels.grad_input_into(&data.weight, &data.delta, &mut grad_input);
    let mut grad_weight = vec![f32::NAN; expected.grad_weight.len()];
    kernels.grad_weight_into(&data.input, &data.delta, &mut grad_weight);
    problems.extend(
        [
            compare(&format!("{name} forward"), &expected.output, &output),
            compare(&format!("{name} dx"), &expected.grad_input, &grad_input),
            compare(&format!("{name} dw"), &expected.grad_weight, &grad_weight),
        ]
        .into_iter()
        .flatten(),
    );
}

/// Candle's forward pass, its explicit gradients and its autograd (where it has one), each
/// against `expected`.
fn check_candle(
    spec: &Spec,
    data: &Data,
    expected: &Expected,
    problems: &mut Vec<String>,
) -> candle_core::Result<()> {
    let candle = Candle::new(spec).map_err(candle_core::Error::Msg)?;
    let input = candle.input(&data.input)?;
    let weight = candle.weight(&data.weight)?;
    let delta = candle.delta(&data.delta)?;
    let autograd = candle.autograd(&input, &weight, &delta)?;
    let mut results = vec![
        (
            "candle forward",
            &expected.output,
            candle.forward(&input, &weight)?,
        ),
        (
            "candle dx",
            &expected.grad_input,
            candle.grad_input(&weight, &delta)?,
        ),
        (
            "candle dw",
            &expected.grad_weight,
            candle.grad_weight(&input, &delta)?,
        ),
    ];
    // None for a 1-D transposed layer, whose `backward()` candle does not implement.
    if let Some((dx, dw)) = autograd {
        results.push(("candle autograd dx", &expected.grad_input, dx));
        results.push(("candle autograd dw", &expected.grad_weight, dw));
    }
    for (what, expected, actual) in results {
        problems.extend(compare(what, expected, &values(&actual)?));
    }
    Ok(())
}

/// Checks every baseline on `shape` against the reference, on small-integer data.
///
/// # Errors
///
/// Every disagreement found, one line each.
pub fn verify(shape: &Shape) -> Result<(), String> {
    let spec = shape.spec();
    let data = Data::small_integers(&spec);
    let expected = Expected::new(&spec, &data);
    let mut problems = Vec::new();
    check_kernels(
        "direct",
        &mut *(shape.direct.gather)(),
        &data,
        &expected,
        &mut problems,
    );
    check_kernels(
        "direct rows",
        &mut *(shape.direct.rows)(),
        &data,
        &expected,
        &mut problems,
    );
    check_kernels(
        "im2col",
        &mut *im2col::for_layer(&spec),
        &data,
        &expected,
        &mut problems,
    );
    check_kernels(
        "conv!",
        &mut *(shape.generated)(),
        &data,
        &expected,
        &mut problems,
    );
    if let Err(error) = check_candle(&spec, &data, &expected, &mut problems) {
        problems.push(format!("candle failed: {error}"));
    }
    // The same primitives the benchmarks time, on operands in the layouts they chose: the
    // check goes through the reorders from and back to the plain layout.
    #[cfg(feature = "onednn")]
    match crate::onednn::Onednn::new(&spec) {
        Ok(mut onednn) => check_kernels("oneDNN", &mut onednn, &data, &expected, &mut problems),
        Err(error) => problems.push(format!("oneDNN failed: {error}")),
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "`{}` ({}):\n  {}",
            shape.name,
            shape.spec,
            problems.join("\n  ")
        ))
    }
}
