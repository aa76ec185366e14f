//! `convsym explain`: the seed's derivation for any layer, written out the way a textbook
//! would, with every matrix and equation computed from the specification.
//!
//! [`explain`] builds an [`Explanation`], a plain document of steps and blocks; the
//! submodules print it ([`text`], [`latex`], [`markdown`], [`html`]). The grids shown are the ones
//! [`construction`] computes, made by the same [`Grid`](crate::symbolic::grid::Grid)
//! operations with the same amounts, and the closing step compares the construction's
//! equations with the chain rule's in [`crate::symbolic::derive`]. The picture of which
//! inputs each output reads is a renderer, [`crate::render::svg`], also reachable here as
//! [`svg`] for the paths users already write.
//!
//! ```
//! use conv_runtime::{Spec, explain};
//!
//! let spec = Spec::parse("in=5 k=3 stride=2").unwrap();
//! let explanation = explain::explain(&spec, explain::Limits::default()).unwrap();
//! assert!(explanation.agrees());
//! assert!(explain::text::render(&explanation).contains("dw1 = d1*x1 + d2*x3 + d3*x11 + d4*x13"));
//! ```
//!
//! The folder, in the order the pieces are used:
//!
//! - `document`: the model every printer reads, [`Explanation`] down to [`Inline`];
//! - `builder`: the `Builder` of the steps, the [`Limits`] it draws to
//!   and the blocks every step makes alike; `wording` says counts, positions and shapes in
//!   words for all of them;
//! - one file per step, each adding its method to the builder: `sizes`, `forward`,
//!   `delta`, `weight_gradient`, `input_gradient` and `agreement`, with `correlation`
//!   drawing the windows of both gradients and `never_read` the inputs no output reads;
//!   `transposed` writes a transposed layer's steps instead, its forward pass as the
//!   construction;
//! - the printers [`text`], [`latex`], [`markdown`] and [`html`], sharing one walk over prose
//!   (`prose`).
//!
//! The size past which a layer is refused ([`LARGEST`]) and the [`Limits`] of what is
//! drawn are in [`crate::limits`], with the runtime's other limits. The explanation builds
//! on the specification, the symbolic core, the limits and the notations of
//! [`crate::render`]; nothing below it imports from here.

pub mod html;
pub mod latex;
pub mod markdown;
pub mod text;

mod agreement;
mod builder;
mod correlation;
mod delta;
mod document;
mod forward;
mod input_gradient;
mod never_read;
mod prose;
mod sizes;
mod transposed;
mod weight_gradient;
mod wording;

use alloc::string::ToString;
use alloc::vec;

use crate::spec::Spec;
use crate::symbolic::construction;
use builder::Builder;

pub use crate::limits::{ELEMENTS as LARGEST, Limits, TooLarge, fits, size};
pub use crate::render::svg;
pub use crate::symbolic::grid::unread_positions;
pub use document::{Block, Explanation, Formula, Inline, Matrix, Step, Table, Window};
pub use wording::axis_names;

/// Explains `spec`: sizes, forward equations, δ dilated and padded, the two gradient
/// constructions window by window, and their comparison with the chain rule.
///
/// # Errors
///
/// [`TooLarge`] for a layer past [`LARGEST`] elements (see [`size`]).
pub fn explain(spec: &Spec, limits: Limits) -> Result<Explanation, TooLarge> {
    fits(spec)?;
    let builder = Builder { spec, limits };
    if spec.transposed() {
        let (steps, agrees) = builder.transposed();
        return Ok(Explanation {
            spec: spec.to_string(),
            steps,
            agrees,
        });
    }
    let weight_gradient = construction::grad_weight(spec);
    let input_gradient = construction::grad_input(spec);
    let (agreement, agrees) = builder.agreement(&weight_gradient, &input_gradient);
    Ok(Explanation {
        spec: spec.to_string(),
        steps: vec![
            builder.sizes(),
            builder.forward(),
            builder.delta(),
            builder.weight_gradient(&weight_gradient),
            builder.input_gradient(&input_gradient),
            agreement,
        ],
        agrees,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::String;
    use alloc::vec::Vec;

    fn spec(text: &str) -> Spec {
        Spec::parse(text).unwrap()
    }

    #[test]
    fn grids_past_the_limit_are_described_not_drawn() {
        let limits = Limits {
            cells: 9,
            ..Limits::default()
        };
        let explanation = explain(&spec("in=5 k=3 stride=2"), limits).unwrap();
        let text = text::render(&explanation);
        assert!(
            text.contains(
                "δ dilated and padded, 7×7: 49 cells, more than the 9 drawn, so not drawn."
            )
        );
        assert!(text.contains("x, 5×5: 25 cells, more than the 9 drawn, so not drawn."));
        // The 3×3 windows are still drawn, and every equation listed.
        assert!(text.contains("→  dw9 = d1*x13 + d2*x15 + d3*x23 + d4*x25"));
        assert!(text.contains("\n    dx25 = d4*w9\n"));
    }

    /// A transposed layer is explained as its construction, worked here by hand: x = (x1,
    /// x2, x3) dilated to (x1, 0, x2, 0, x3), padded by (3 − 1 − 1, 3 − 1 − 1 + 1) = (1, 2),
    /// and each window of the rotated kernel (w3, w2, w1) gives one output.
    #[test]
    fn a_transposed_layer_is_explained_as_the_construction() {
        let explanation = explain(
            &spec("in=(3,) k=3 stride=2 pad=1 output_padding=1 bias transposed"),
            Limits::default(),
        )
        .unwrap();
        assert!(explanation.agrees());
        let text = text::render(&explanation);
        for line in [
            "out = (in − 1)·s − pad_lo − pad_hi + d·(k − 1) + output_padding + 1 = (3 − 1)·2 − 1 − 1 + 1·(3 − 1) + 1 + 1 = 6",
            "[ 0  x1  0  x2  0  x3  0  0 ]",
            "[ w3  w2  w1 ]",
            "[ x1  0  x2 ] ⊙ [ w3  w2  w1 ]  →  z2 += w1*x2 + w3*x1",
            "z2 = w1*x2 + w3*x1 + b1",
            "dx2 = d2*w1 + d3*w2 + d4*w3",
        ] {
            assert!(text.contains(line), "missing `{line}` in\n{text}");
        }
        // The ordinary layer it transposes, by its keys.
        let flat = text.replace('\n', " ");
        assert!(flat.contains(
            "the input gradient of the ordinary layer in=(6,) k=(3,) stride=(2,) pad=((1,1),) dilation=(1,) cin=1 cout=1 groups=1 batch=1:"
        ));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

        /// Any small layer, ordinary or transposed, explains without a panic, in every
        /// format, its constructions agreeing with the chain rule, and (1-D or 2-D) draws.
        #[test]
        fn any_small_layer_explains(
            rank in 1usize..=3,
            input in proptest::collection::vec(3usize..=7, 3),
            kernel in proptest::collection::vec(1usize..=3, 3),
            stride in proptest::collection::vec(1usize..=3, 3),
            dilation in proptest::collection::vec(1usize..=2, 3),
            pad in 0usize..=1,
            channels in 1usize..=2,
            batch in 1usize..=2,
            transposed in proptest::option::of(0usize..=1),
        ) {
            let tuple = |values: &[usize]| {
                let items: Vec<String> = values[..rank].iter().map(ToString::to_string).collect();
                format!("({}{})", items.join(","), if rank == 1 { "," } else { "" })
            };
            // A transposed layer with its output padding, on inputs of 1 to 5.
            let (input, keys) = match transposed {
                Some(padding) => (
                    input.iter().map(|&size| size - 2).collect(),
                    format!(" output_padding={padding} bias transposed"),
                ),
                None => (input, String::new()),
            };
            let text = format!(
                "in={} k={} stride={} dilation={} pad={pad} cin={channels} cout={channels} batch={batch}{keys}",
                tuple(&input), tuple(&kernel), tuple(&stride), tuple(&dilation)
            );
            let Ok(spec) = Spec::parse(&text) else {
                return Ok(());
            };
            let explanation = explain(&spec, Limits::default()).unwrap();
            proptest::prop_assert!(explanation.agrees(), "{}", text);
            let _ = (text::render(&explanation), latex::render(&explanation), markdown::render(&explanation), html::render(&explanation, None));
            proptest::prop_assert_eq!(svg::render(&spec, Limits::default()).is_ok(), rank < 3);
        }
    }
}
