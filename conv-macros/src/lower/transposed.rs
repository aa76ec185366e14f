//! A transposed layer's loop kernels, as kernels of the ordinary layer with the same
//! connections (the runtime's `Spec::connections`): its output `p`, tap `q` and input
//! `p·s + q·d − pad_lo` are the transposed layer's input `p`, tap `q` and output, and its
//! weights `[cout][cin/groups][k…]` are the transposed layer's `[cin][cout/groups][k…]`.
//! So each pass is one of its passes, on the same memory under the names it reads:
//!
//! ```text
//! forward      z  = its input gradient, from w and dz := x   (then + b)
//! grad_input   dx = its forward pass,   from x := dz and w
//! grad_weight  dw = its weight gradient, from x := dz and dz := x
//! ```
//!
//! The bias gradient sums δ over the transposed layer's own output, as for any layer.
//!
//! Where `output_padding ≥ stride` on an axis, the ordinary layer's own sizes would give it
//! more outputs than it has here (the transposed layer's inputs): the connections cut them,
//! and only the portable loops, which read every bound off the axis, run on such a layer;
//! elsewhere it is the ordinary layer the transposed one transposes (`Spec::dual`), and its
//! wide builds run too.

use conv_runtime::derive::Section;
use conv_runtime::{Axis, Spec, Tensor};
use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use super::tokens::number;
use super::{Array, Check, looped, loops};

/// The body of `section`'s `_into` method of the transposed layer `spec`, written with its
/// own parameter names, and the most scratch, in scalars, its wide builds take.
pub(super) fn body(spec: &Spec, section: Section) -> (TokenStream, usize) {
    let Some(pass) = AsDual::of(spec, section) else {
        return (loops::grad_bias(spec), 0);
    };
    let connections = spec.connections();
    let wide = (spec.dual().as_ref() == Some(&connections)).then_some(Check::Own);
    let inputs: Vec<&Array> = pass.inputs.iter().collect();
    let (body, scratch) = looped(&connections, pass.section, &inputs, &pass.output, wide);
    (pass.around(spec, &body), scratch)
}

/// `section` of the transposed layer `spec` as its dual's pass, where the dual's wide builds
/// compute that pass in parts (`wide::Body::parts`), so that the layer's method for it
/// calls a hidden method computing any part of the dual's pass (`Kernels::method`), which
/// the parallel forms' tasks call too.
pub(super) fn in_parts(spec: &Spec, section: Section) -> Option<AsDual> {
    let connections = spec.connections();
    let pass = AsDual::of(spec, section)?;
    let dual = spec.dual().filter(|dual| *dual == connections)?;
    super::in_parts(&dual, pass.section).then_some(pass)
}

/// A pass of a transposed layer as its dual's pass: which one, on which of the dual's
/// operands (named as the dual reads them), and the names this layer's method gives
/// them, the output's last.
pub(super) struct AsDual {
    pub(super) section: Section,
    pub(super) inputs: [Array; 2],
    pub(super) output: Array,
    pub(super) names: [&'static str; 3],
}

impl AsDual {
    /// `section` of `spec` as the dual's pass; `None` for the bias gradient, which is the
    /// transposed layer's own.
    pub(super) fn of(spec: &Spec, section: Section) -> Option<Self> {
        // The dual's input is this layer's output, its output this layer's input.
        let (outputs, inputs) = (spec.output_len(), spec.input_len());
        let array = Array::new;
        let w = array("w", Tensor::Weight, spec.weight_len());
        Some(match section {
            Section::Forward => AsDual {
                section: Section::GradInput,
                inputs: [w, array("dz", Tensor::Delta, inputs)],
                output: array("dx", Tensor::GradInput, outputs),
                names: ["w", "x", "z"],
            },
            Section::GradInput => AsDual {
                section: Section::Forward,
                inputs: [array("x", Tensor::Input, outputs), w],
                output: array("z", Tensor::Output, inputs),
                names: ["dz", "w", "dx"],
            },
            Section::GradWeight => AsDual {
                section: Section::GradWeight,
                inputs: [
                    array("x", Tensor::Input, outputs),
                    array("dz", Tensor::Delta, inputs),
                ],
                output: array("dw", Tensor::GradWeight, spec.weight_len()),
                names: ["dz", "x", "dw"],
            },
            Section::GradBias => return None,
        })
    }

    /// The name this layer's method gives the dual's operand `name` (itself if it is not
    /// one).
    pub(super) fn renamed(&self, name: Ident) -> Ident {
        let operands = self.inputs.iter().chain([&self.output]);
        match operands
            .zip(self.names)
            .find(|(array, _)| array.name == name)
        {
            Some((_, method)) => format_ident!("{method}"),
            None => name,
        }
    }

    /// `body`, written with the dual's names, as this layer's method: in a block that binds
    /// those names to the method's operands (the output reborrowed, so the method's name
    /// holds it again after the block), then the bias for the forward pass.
    pub(super) fn around(&self, spec: &Spec, body: &TokenStream) -> TokenStream {
        let dual = self
            .inputs
            .iter()
            .chain([&self.output])
            .map(|array| &array.name);
        let [first, second, output] = self.names.map(|name| format_ident!("{name}"));
        // The forward pass is the dual's input gradient.
        let bias = if self.section == Section::GradInput {
            bias(spec)
        } else {
            TokenStream::new()
        };
        quote! {
            {
                let (#(#dual),*) = (#first, #second, &mut *#output);
                #body
            }
            #bias
        }
    }
}

/// The statements that add each output channel's bias to its plane of `z`; none without a
/// bias.
fn bias(spec: &Spec) -> TokenStream {
    if !spec.bias() {
        return TokenStream::new();
    }
    let plane: usize = spec.axes().iter().map(Axis::output).product();
    let (sample, plane) = (number(spec.out_channels() * plane), number(plane));
    quote! {
        for z_sample in z.chunks_exact_mut(#sample) {
            for (z_plane, b) in z_sample.chunks_exact_mut(#plane).zip(b) {
                for z in z_plane {
                    z.accumulate(b);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use crate::expand::expand;

    /// Whether `conv!(layer)` has wide builds.
    fn wide(layer: proc_macro2::TokenStream) -> bool {
        let text = layer.to_string();
        let tokens = expand(layer).map(|tokens| tokens.to_string());
        assert!(tokens.is_ok(), "{text}: {tokens:?}");
        tokens.is_ok_and(|tokens| tokens.contains("__private"))
    }

    /// The wide builds run where the connections are those of the layer the transposed one
    /// transposes, and give way to the portable loops where `output_padding ≥ stride` on an
    /// axis: there the ordinary layer's input gradient as its dual's forward pass would read
    /// sizes the connections do not have (`tests/macro_transposed.rs` has such a layer).
    #[test]
    fn wide_builds_only_where_the_dual_layer_is_exact() {
        assert!(wide(quote!(
            in = (5, 20), k = 3, pad = 1, cin = 3, cout = 3, groups = 3, transposed, unroll = loops
        )));
        assert!(wide(quote!(
            in = (5, 20), k = 3, stride = 2, dilation = 2, output_padding = 1, cin = 3,
            cout = 3, groups = 3, transposed, unroll = loops
        )));
        assert!(!wide(quote!(
            in = (5, 20), k = 3, dilation = 2, output_padding = 1, cin = 3, cout = 3,
            groups = 3, transposed, unroll = loops
        )));
    }

    /// Huge transposed layers expand to loops whose size does not grow with the rows, as
    /// ordinary ones do, `output_padding ≥ stride` or not.
    #[test]
    fn huge_layers_expand_to_small_code() {
        for layer in [
            quote!(in = (100000000,), k = 3, stride = 2, transposed),
            quote!(
                in = (1099511627776,), k = 1048576, cin = 4096, cout = 4096, transposed,
                unroll = loops
            ),
            quote!(in = (1000000, 1000000), k = 3, dilation = 5, output_padding = 4, transposed),
        ] {
            let text = layer.to_string();
            let length = expand(layer).map(|tokens| tokens.to_string().len());
            assert!(
                length.as_ref().is_ok_and(|&length| length < 64 * 1024),
                "{text}: {length:?}"
            );
        }
    }
}
