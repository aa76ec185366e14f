//! Lowering to Rust: a zero-sized type whose constants describe the layer and whose methods
//! are its kernels, generic over `convsym::Scalar`, with fixed-size arrays in the layout of
//! the equations so that a wrong size is a compile error.

mod loops;
mod parallel;
mod tokens;
mod transposed;
mod unrolled;
mod wide;

use conv_runtime::derive::Section;
use conv_runtime::{Axis, Spec, Tensor, Variable};
use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote};

use crate::derive::{Derivation, Sections};
use crate::parse::Item;
use crate::spec::Layer;
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

/// Who checks that a wide build may run on a pass's operands ([`Finite`]).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Check {
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
struct Finite {
    met: Vec<Ident>,
    after: bool,
}

impl Finite {
    fn of(inputs: &[&Array], output: &Array, avx2: &wide::Body, avx512: &wide::Body) -> Self {
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
    fn of_pass(spec: &Spec, section: Section, inputs: &[&Array], output: &Array) -> Option<Self> {
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
fn dispatched(
    inputs: &[&Array],
    output: &Array,
    portable: &TokenStream,
    (avx2, avx512): (&wide::Body, &wide::Body),
    check: Check,
) -> TokenStream {
    let names: Vec<&Ident> = inputs.iter().map(|array| &array.name).collect();
    let Finite { met, after } = Finite::of(inputs, output, avx2, avx512);
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
    let (avx2, avx512) = if parts {
        (
            with_scratch_in_parts(avx2, &fields),
            with_scratch_in_parts(avx512, &fields),
        )
    } else {
        (with_scratch(avx2, &fields), with_scratch(avx512, &fields))
    };
    let own_check = after && check != Check::Caller;
    if !parts {
        let run = if own_check {
            quote! {
                if T::run(Pass { #(#names,)* #out: &mut *#out })
                    && !T::all_finite(&#out[..])
                    && !(#(T::all_finite(#met))&&*)
                {
                    ::convsym::__private::rerun(Pass { #fields });
                }
            }
        } else {
            quote!(T::run(Pass { #fields });)
        };
        let portable = quote! {
            let Pass { #fields } = self;
            #portable
        };
        let kernel = kernel_impl(&quote!('_), &portable, &finite, (&avx2, &avx512));
        return quote! {
            struct Pass<'a, T> {
                #(#names: #types,)*
                #out: &'a mut [T; #out_len],
            }
            #kernel
            #run
        };
    }
    // A body that computes parts (`wide::Body::parts`): its output a slice, `part` its
    // field. The method it is the body of is given `part` (`Kernels::methods`), or, for a
    // task's own layer, it is the whole pass. Only the whole reaches the portable build:
    // a parallel form runs its parts where the wide builds run.
    let part = match check {
        Check::OwnInParts => TokenStream::new(),
        Check::Own | Check::Caller => quote!(let part = ::convsym::__private::Part::WHOLE;),
    };
    let run = if own_check {
        quote! {
            if T::run(Pass { #(#names,)* #out: &mut *#out, part })
                && !part.task
                && !T::all_finite(&#out[..])
                && !(#(T::all_finite(#met))&&*)
            {
                ::convsym::__private::rerun(Pass { #fields, part });
            }
        }
    } else {
        quote!(T::run(Pass { #fields, part });)
    };
    let portable = quote! {
        let Pass { #fields, .. } = self;
        let #out: &mut [T; #out_len] = ::convsym::__private::par::array_mut(#out);
        #portable
    };
    let kernel = kernel_impl(&quote!('_), &portable, &finite, (&avx2, &avx512));
    quote! {
        struct Pass<'a, T> {
            #(#names: #types,)*
            #out: &'a mut [T],
            part: ::convsym::__private::Part,
        }
        #kernel
        #part
        let #out: &mut [T] = &mut #out[..];
        #run
    }
}

/// The `Kernel` impl of a pass's `struct Pass<lifetimes, T>`: the portable statements
/// (which take `self` apart), the finiteness check, and each wide build's statements.
fn kernel_impl(
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
fn in_parts(spec: &Spec, section: Section) -> bool {
    wide::builds(spec, section)
        .is_some_and(|(avx2, avx512)| avx2.parts.is_some() && avx512.parts.is_some())
}

/// The hidden method that computes a part of `section` ([`Kernels::method`]).
fn parts_method(section: Section) -> Ident {
    match section {
        Section::Forward => format_ident!("forward_part"),
        Section::GradInput => format_ident!("grad_input_part"),
        _ => format_ident!("grad_weight_part"),
    }
}

/// A loop kernel's body: the portable loops, and with `wide` the AVX2 and AVX-512 builds
/// where the layer suits them, dispatched at run time after the check it names; and the
/// most scratch, in scalars, its wide builds take.
fn looped(
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
/// without `std`, cannot give that much).
fn with_scratch(body: &wide::Body, fields: &TokenStream) -> TokenStream {
    let tokens = &body.tokens;
    let scratch = (body.scratch > 0).then(|| {
        let len = number(body.scratch);
        let size = if body.scratch <= conv_runtime::__private::STACK_SCRATCH {
            quote!(small)
        } else {
            quote!(large)
        };
        quote! {
            let Some(mut scratch) = ::convsym::__private::wide_scratch!(T; #len, #size) else {
                return self.portable();
            };
            let scratch: &mut [T] = &mut scratch[..];
        }
    });
    // A body that computes parts (`wide::Body::parts`) in a pass without them: the whole.
    let whole = body
        .parts
        .map(|_| quote!(let part = ::convsym::__private::Part::WHOLE;));
    quote! {
        #scratch
        let Pass { #fields } = self;
        #whole
        #tokens
    }
}

/// [`with_scratch`] for a `Pass` whose field `part` its body computes.
fn with_scratch_in_parts(body: &wide::Body, fields: &TokenStream) -> TokenStream {
    with_scratch(
        &wide::Body {
            parts: None,
            tokens: body.tokens.clone(),
            ..*body
        },
        &quote!(#fields, part),
    )
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
        let in_parts = self.sections().is_none() && !spec.transposed() && in_parts(spec, section);
        if !in_parts {
            let (body, scratch) = self.body(section, inputs, output);
            let method = quote! {
                #[doc = #doc]
                pub fn #method<#scalar>(self, #(#parameters,)* #out_parameter) {
                    #body
                }
            };
            return (method, scratch);
        }
        let (body, scratch) = looped(spec, section, inputs, output, Some(Check::OwnInParts));
        let parts = parts_method(section);
        let names = inputs.iter().map(|array| &array.name);
        let out = &output.name;
        let method = quote! {
            #[doc = #doc]
            pub fn #method<#scalar>(self, #(#parameters,)* #out_parameter) {
                self.#parts(#(#names,)* #out, ::convsym::__private::Part::WHOLE);
            }

            #[doc(hidden)]
            fn #parts<#scalar>(self, #(#parameters,)* #out: &mut [T], part: ::convsym::__private::Part) {
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
