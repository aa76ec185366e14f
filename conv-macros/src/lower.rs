//! Lowering to Rust: a zero-sized type whose constants describe the layer and whose methods
//! are its kernels, generic over `convsym::Scalar`, with fixed-size arrays in the layout of
//! the equations so that a wrong size is a compile error.

mod dispatch;
mod loops;
mod parallel;
mod tokens;
mod transposed;
mod unrolled;
mod wide;

use conv_runtime::derive::Section;
use conv_runtime::{Axis, Tensor, Variable};
use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote};

use crate::derive::{Derivation, Sections};
use crate::parse::Item;
use crate::spec::Layer;
use dispatch::{
    Check, Finite, in_parts, kernel_impl, looped, parts_method, shares, takes_shared, with_scratch,
};
use tokens::{number, numbers};

/// The type and its `impl`; the expression form wraps them in a block that yields the value.
pub(crate) fn lower(item: Option<&Item>, layer: &Layer, derivation: &Derivation) -> TokenStream {
    let name = item.map_or_else(
        || Ident::new("Conv", Span::call_site()),
        |item| item.name.clone(),
    );
    let (attributes, visibility) = match item {
        Some(item) => {
            let (attributes, visibility) = (&item.attributes, &item.visibility);
            (quote!(#(#attributes)*), quote!(#visibility))
        }
        None => (
            quote!(#[doc = "The layer `conv!` expanded."]),
            TokenStream::new(),
        ),
    };
    let kernels = Kernels::new(layer, derivation);
    let (one_thread, scratch) = kernels.methods();
    let parallel = parallel::methods(&kernels);
    let constants = constants(layer, derivation, scratch);
    let definition = quote! {
        #attributes
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
        #visibility struct #name;

        #[allow(
            dead_code,
            reason = "a layer offers every kernel; a program uses some"
        )]
        #[allow(
            clippy::too_many_lines,
            clippy::many_single_char_names,
            clippy::similar_names,
            clippy::unreadable_literal,
            reason = "generated kernels are straight-line code named after the equations"
        )]
        impl #name {
            #constants
            #one_thread
            #parallel
        }
    };
    if item.is_some() {
        definition
    } else {
        quote! {
            {
                #definition
                #name
            }
        }
    }
}

/// Shapes, sizes, the resolved padding, the specification, the scratch a call takes (in
/// scalars) and, when derived, the formulas.
fn constants(layer: &Layer, derivation: &Derivation, scratch: usize) -> TokenStream {
    let spec = &layer.spec;
    let rank = number(spec.axes().len());
    let full_rank = number(spec.axes().len() + 2);
    let (input_shape, weight_shape, output_shape) = (
        numbers(spec.input_shape()),
        numbers(spec.weight_shape()),
        numbers(spec.output_shape()),
    );
    let (input_len, weight_len, output_len, bias_len) = (
        number(spec.input_len()),
        number(spec.weight_len()),
        number(spec.output_len()),
        number(spec.bias_len()),
    );
    let padding = spec.axes().iter().map(|axis| {
        let (before, after) = (number(axis.pad_before()), number(axis.pad_after()));
        quote!((#before, #after))
    });
    let output_size = numbers(spec.axes().iter().map(Axis::output));
    let text = &layer.text;
    let multiply_adds = Literal::u128_unsuffixed(spec.multiply_adds());
    let unrolled = layer.unroll.is_full();
    let scratch_bytes = number(scratch.saturating_mul(size_of::<f32>()));
    let formulas = derivation.sections.as_ref().map(formulas);
    let weight_shape_doc = if spec.transposed() {
        " The weight's shape, `[cin, cout / groups, k…]` (a transposed layer's)."
    } else {
        " The weight's shape, `[cout, cin / groups, k…]`."
    };
    quote! {
        /// The input's shape, `[batch, cin, in…]`.
        pub const INPUT_SHAPE: [usize; #full_rank] = #input_shape;
        #[doc = #weight_shape_doc]
        pub const WEIGHT_SHAPE: [usize; #full_rank] = #weight_shape;
        /// The output's shape, `[batch, cout, out…]`.
        pub const OUTPUT_SHAPE: [usize; #full_rank] = #output_shape;
        /// Elements in the input.
        pub const INPUT_LEN: usize = #input_len;
        /// Elements in the weight.
        pub const WEIGHT_LEN: usize = #weight_len;
        /// Elements in the output.
        pub const OUTPUT_LEN: usize = #output_len;
        /// Elements in the bias (0 without one).
        pub const BIAS_LEN: usize = #bias_len;
        /// The zero padding `(before, after)` on each spatial axis, resolved.
        pub const PADDING: [(usize, usize); #rank] = [#(#padding),*];
        /// The output size on each spatial axis.
        pub const OUTPUT_SIZE: [usize; #rank] = #output_size;
        /// The specification as written, for `convsym::Spec::parse`.
        pub const SPEC: &'static str = #text;
        /// Multiply-adds in each kernel: the forward pass, the input and the weight gradient.
        /// Exact: a layer's count can pass `u64::MAX`.
        pub const MULTIPLY_ADDS: u128 = #multiply_adds;
        /// Whether the kernels are straight-line code (`true`) or loops.
        pub const UNROLLED: bool = #unrolled;
        /// The most heap memory, in bytes, one call of a kernel takes for its scratch (a
        /// padded copy of the input or of δ, packed weights): the wide builds of `f32`
        /// allocate it once per call, with `std`; the portable build takes none, and
        /// neither does any other scalar type.
        pub const SCRATCH_BYTES: usize = #scratch_bytes;
        #formulas

        /// The layer's specification, for the runtime's derivation and reference.
        #[must_use]
        pub fn spec(self) -> ::convsym::Spec {
            match ::convsym::Spec::parse(Self::SPEC) {
                Ok(spec) => spec,
                // `SPEC` is the text of a specification the macro validated.
                Err(_) => unreachable!("`conv!` wrote a valid specification"),
            }
        }
    }
}

/// `FORWARD`, `GRAD_INPUT`, `GRAD_WEIGHT`, `GRAD_BIAS`: the equations in the seed's text.
fn formulas(sections: &Sections) -> TokenStream {
    let constants = sections.each().map(|(section, equations)| {
        let (name, doc) = match section {
            Section::Forward => ("FORWARD", "The forward equations, `z1 = …`."),
            Section::GradInput => ("GRAD_INPUT", "The input gradient, `dx1 = …`."),
            Section::GradWeight => ("GRAD_WEIGHT", "The weight gradient, `dw1 = …`."),
            Section::GradBias => (
                "GRAD_BIAS",
                "The bias gradient, `db1 = …` (empty without a bias).",
            ),
        };
        let name = Ident::new(name, Span::call_site());
        let len = number(equations.len());
        let text = Sections::text(equations);
        quote! {
            #[doc = #doc]
            pub const #name: [&'static str; #len] = [#(#text),*];
        }
    });
    quote!(#(#constants)*)
}

/// One array parameter of a kernel.
struct Array {
    name: Ident,
    /// An element of the tensor, for naming bindings.
    element: Variable,
    len: usize,
}

impl Array {
    fn new(name: &str, tensor: Tensor, len: usize) -> Self {
        Array {
            name: format_ident!("{name}"),
            element: Variable::new(tensor, 0),
            len,
        }
    }

    fn parameter(&self) -> TokenStream {
        let (name, len) = (&self.name, number(self.len));
        quote!(#name: &[T; #len])
    }

    fn output(&self) -> TokenStream {
        let (name, len) = (&self.name, number(self.len));
        quote!(#name: &mut [T; #len])
    }

    fn ty(&self) -> TokenStream {
        let len = number(self.len);
        quote!([T; #len])
    }

    fn unrolled(&self) -> (Ident, Variable, usize) {
        (self.name.clone(), self.element, self.len)
    }
}

/// The kernels' signatures and bodies.
struct Kernels<'a> {
    layer: &'a Layer,
    derivation: &'a Derivation,
    x: Array,
    w: Array,
    b: Array,
    z: Array,
    dz: Array,
    dx: Array,
    dw: Array,
    db: Array,
}

impl<'a> Kernels<'a> {
    fn new(layer: &'a Layer, derivation: &'a Derivation) -> Self {
        let spec = &layer.spec;
        Kernels {
            layer,
            derivation,
            x: Array::new("x", Tensor::Input, spec.input_len()),
            w: Array::new("w", Tensor::Weight, spec.weight_len()),
            b: Array::new("b", Tensor::Bias, spec.bias_len()),
            z: Array::new("z", Tensor::Output, spec.output_len()),
            dz: Array::new("dz", Tensor::Delta, spec.output_len()),
            dx: Array::new("dx", Tensor::GradInput, spec.input_len()),
            dw: Array::new("dw", Tensor::GradWeight, spec.weight_len()),
            db: Array::new("db", Tensor::GradBias, spec.bias_len()),
        }
    }

    /// The unrolled equations when the kernels are straight-line code.
    fn sections(&self) -> Option<&'a Sections> {
        self.layer
            .unroll
            .is_full()
            .then_some(self.derivation.sections.as_ref())
            .flatten()
    }

    /// The `_into` method `name` of `section`, on `inputs` into `output`: its body, or,
    /// where the wide builds compute parts of the pass (`wide::Body::parts`), a call of
    /// the hidden method `parts` has the body, given the whole pass; and the most
    /// scratch, in scalars, its wide builds take.
    fn method(
        &self,
        (section, name, doc): (Section, &str, &str),
        inputs: &[&Array],
        output: &Array,
    ) -> (TokenStream, usize) {
        let spec = &self.layer.spec;
        let scalar = quote!(T: ::convsym::Scalar);
        let method = format_ident!("{name}");
        let parameters: Vec<TokenStream> = inputs.iter().map(|array| array.parameter()).collect();
        let out_parameter = output.output();
        let parted = if self.sections().is_some() {
            None
        } else if spec.transposed() {
            transposed::in_parts(spec, section).map(Some)
        } else {
            in_parts(spec, section).then_some(None)
        };
        let Some(dual) = parted else {
            let (body, scratch) = self.body(section, inputs, output);
            let method = quote! {
                #[doc = #doc]
                pub fn #method<#scalar>(self, #(#parameters,)* #out_parameter) {
                    #body
                }
            };
            return (method, scratch);
        };
        // A transposed layer's part is its dual's (`transposed.rs`), on the dual's names.
        let connections = spec.connections();
        let (layer, pass, inputs, output) = match &dual {
            Some(dual) => (
                &connections,
                dual.section,
                dual.inputs.iter().collect(),
                &dual.output,
            ),
            None => (spec, section, inputs.to_vec(), output),
        };
        let (body, scratch) = looped(layer, pass, &inputs, output, Some(Check::OwnInParts));
        let parts = parts_method(section);
        let (names, out) = (inputs.iter().map(|array| &array.name), &output.name);
        let (shared, shared_parameter) = if takes_shared(layer, pass) {
            (quote!(, &[]), quote!(, shared: &[T]))
        } else {
            (TokenStream::new(), TokenStream::new())
        };
        let whole =
            quote!(self.#parts(#(#names,)* #out, ::convsym::__private::Part::WHOLE #shared););
        let whole = match &dual {
            Some(dual) => dual.around(spec, &whole),
            None => whole,
        };
        let part_parameters = inputs.iter().map(|array| array.parameter());
        let method = quote! {
            #[doc = #doc]
            pub fn #method<#scalar>(self, #(#parameters,)* #out_parameter) {
                #whole
            }

            #[doc(hidden)]
            fn #parts<#scalar>(self, #(#part_parameters,)* #out: &mut [T], part: ::convsym::__private::Part #shared_parameter) {
                #body
            }
        };
        (method, scratch)
    }

    /// A kernel body: unrolled from `section`'s equations, or the loops; and the most
    /// scratch, in scalars, its wide builds take.
    fn body(&self, section: Section, inputs: &[&Array], output: &Array) -> (TokenStream, usize) {
        let spec = &self.layer.spec;
        if let Some(sections) = self.sections() {
            let equations = match section {
                Section::Forward => &sections.forward,
                Section::GradInput => &sections.grad_input,
                Section::GradWeight => &sections.grad_weight,
                Section::GradBias => &sections.grad_bias,
            };
            let inputs: Vec<_> = inputs.iter().map(|array| array.unrolled()).collect();
            return (unrolled::body(&inputs, &output.unrolled(), equations), 0);
        }
        if spec.transposed() {
            return transposed::body(spec, section);
        }
        looped(spec, section, inputs, output, Some(Check::Own))
    }

    /// `forward_into`, `grad_input_into` and `grad_weight_into` ([`Kernels::method`]), and
    /// the most scratch, in scalars, any of them takes.
    fn methods_into(&self, forward_inputs: &[&Array]) -> ([TokenStream; 3], usize) {
        let Kernels {
            x,
            w,
            z,
            dz,
            dx,
            dw,
            ..
        } = self;
        let (forward_into, forward_scratch) = self.method(
            (
                Section::Forward,
                "forward_into",
                " The forward pass into caller memory, for outputs too large for the stack.",
            ),
            forward_inputs,
            z,
        );
        let (grad_input_into, input_scratch) = self.method(
            (
                Section::GradInput,
                "grad_input_into",
                " The input gradient into caller memory.",
            ),
            &[w, dz],
            dx,
        );
        let (grad_weight_into, weight_scratch) = self.method(
            (
                Section::GradWeight,
                "grad_weight_into",
                " The weight gradient into caller memory.",
            ),
            &[x, dz],
            dw,
        );
        let scratch = forward_scratch.max(input_scratch).max(weight_scratch);
        ([forward_into, grad_input_into, grad_weight_into], scratch)
    }

    /// The one-thread methods, and the most scratch, in scalars, any of them takes.
    fn methods(&self) -> (TokenStream, usize) {
        let Kernels {
            x,
            w,
            b,
            z,
            dz,
            dx,
            dw,
            db,
            ..
        } = self;
        let bias = self.layer.spec.bias();
        let (x_parameter, w_parameter, dz_parameter) =
            (x.parameter(), w.parameter(), dz.parameter());
        let (x_type, w_type, z_type) = (x.ty(), w.ty(), z.ty());
        let b_parameter = bias.then(|| {
            let parameter = b.parameter();
            quote!(#parameter,)
        });
        let b_argument = bias.then(|| quote!(b,));
        let forward_inputs: Vec<&Array> = if bias { vec![x, w, b] } else { vec![x, w] };
        let ([forward_into, grad_input_into, grad_weight_into], scratch) =
            self.methods_into(&forward_inputs);
        let [input_gradient, weight_gradient, bias_gradient] = [dx, dw, db].map(Array::output);
        let b_type = b.ty();
        let scalar = quote!(T: ::convsym::Scalar);
        let zeros = quote!(::core::array::from_fn(|_| T::zero()));
        let common = quote! {
            /// The forward pass, `z = conv(x, w) (+ b)`.
            #[must_use]
            pub fn forward<#scalar>(self, #x_parameter, #w_parameter, #b_parameter) -> #z_type {
                let mut z = #zeros;
                self.forward_into(x, w, #b_argument &mut z);
                z
            }

            #forward_into

            /// The input gradient `∂L/∂x` from the weight and `dz = ∂L/∂z`.
            #[must_use]
            pub fn grad_input<#scalar>(self, #w_parameter, #dz_parameter) -> #x_type {
                let mut dx = #zeros;
                self.grad_input_into(w, dz, &mut dx);
                dx
            }

            #grad_input_into

            /// The weight gradient `∂L/∂w` from the input and `dz = ∂L/∂z`.
            #[must_use]
            pub fn grad_weight<#scalar>(self, #x_parameter, #dz_parameter) -> #w_type {
                let mut dw = #zeros;
                self.grad_weight_into(x, dz, &mut dw);
                dw
            }

            #grad_weight_into
        };
        let grad_bias = bias.then(|| {
            let (grad_bias, _) = self.body(Section::GradBias, &[dz], db);
            quote! {
                /// The bias gradient `∂L/∂b` from `dz = ∂L/∂z`.
                #[must_use]
                pub fn grad_bias<#scalar>(self, #dz_parameter) -> #b_type {
                    let mut db = #zeros;
                    self.grad_bias_into(dz, &mut db);
                    db
                }

                /// The bias gradient into caller memory.
                pub fn grad_bias_into<#scalar>(self, #dz_parameter, #bias_gradient) {
                    #grad_bias
                }
            }
        });
        // `backward` returns and writes the bias gradient too where the layer has a bias.
        let (gradients, tuple) = if bias {
            ("Every gradient", "`(dx, dw, db)`")
        } else {
            ("Both gradients", "`(dx, dw)`")
        };
        let backward_doc =
            format!(" {gradients}, {tuple}, from the input, the weight and `dz = ∂L/∂z`.");
        let backward_into_doc = format!(" {gradients} into caller memory.");
        let bias_type = bias.then(|| quote!(, #b_type));
        let bias_value = bias.then(|| quote!(, self.grad_bias(dz)));
        let bias_parameter = bias.then(|| quote!(, #bias_gradient));
        let bias_into = bias.then(|| quote!(self.grad_bias_into(dz, db);));
        let backward = quote! {
            #grad_bias

            #[doc = #backward_doc]
            #[must_use]
            pub fn backward<#scalar>(self, #x_parameter, #w_parameter, #dz_parameter) -> (#x_type, #w_type #bias_type) {
                (self.grad_input(w, dz), self.grad_weight(x, dz) #bias_value)
            }

            #[doc = #backward_into_doc]
            pub fn backward_into<#scalar>(self, #x_parameter, #w_parameter, #dz_parameter, #input_gradient, #weight_gradient #bias_parameter) {
                self.grad_input_into(w, dz, dx);
                self.grad_weight_into(x, dz, dw);
                #bias_into
            }
        };
        (quote!(#common #backward), scratch)
    }
}
