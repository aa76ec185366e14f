//! Unrolled kernels: one statement per multiply-add, lowered from the runtime's equations.
//!
//! Each equation becomes an assignment followed by `+=` statements, never one long
//! expression (rustc's stack overflows on a single sum of a few thousand terms), and each
//! statement indexes the arrays it reads and writes itself; `z4 = w1·x4 + w2·x5` becomes
//!
//! ```text
//! z[3] = w[0].times(&x[3]);
//! z[3].accumulate_product(&w[1], &x[4]);
//! ```
//!
//! Every borrow lives for one statement. Binding the elements up front instead
//! (`let [x1, x2, …] = x;`) keeps a reference per element alive from the top of the
//! function to its last use, and rustc's borrow checker and LLVM then spend time and memory
//! quadratic in the length of the function: a 1-D layer of 4 096 samples with `k = 1` took
//! 18 s to build that way, 16 384 samples 9 minutes and 7.75 GiB.

use std::collections::BTreeMap;

use conv_runtime::{Equation, Tensor, Term, Variable};
use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};

/// The arrays of a kernel by tensor: `x`, `w`, `dz`, …
struct Arrays<'a>(BTreeMap<Tensor, &'a Ident>);

impl Arrays<'_> {
    /// The element a variable names: `x4` is `x[3]`, `d2` is `dz[1]`.
    fn element(&self, variable: Variable) -> TokenStream {
        let index = Literal::usize_unsuffixed(variable.index);
        match self.0.get(&variable.tensor) {
            Some(array) => quote!(#array[#index]),
            // The equations of a section read and write only the kernel's own arrays.
            None => unreachable!("no array for {}", variable.tensor.name()),
        }
    }

    /// The value of a term as a fresh `T`.
    fn value(&self, term: &Term) -> TokenStream {
        let mut factors = term.factors().iter().map(|&factor| self.element(factor));
        let mut value = factors.next().map_or_else(
            || quote!(T::from_integer(1)),
            |first| quote!(#first.clone()),
        );
        for factor in factors {
            value = quote!(#value.times(&#factor));
        }
        if term.coefficient() != 1 {
            let coefficient = term.coefficient();
            value = quote!(T::from_integer(#coefficient).times(&#value));
        }
        value
    }

    /// `lhs += term`, as the cheapest method the term's shape allows.
    fn accumulate(&self, lhs: &TokenStream, term: &Term) -> TokenStream {
        match (term.coefficient(), term.factors()) {
            (1, &[a, b]) => {
                let (a, b) = (self.element(a), self.element(b));
                quote!(#lhs.accumulate_product(&#a, &#b);)
            }
            (1, &[a]) => {
                let a = self.element(a);
                quote!(#lhs.accumulate(&#a);)
            }
            _ => {
                let value = self.value(term);
                quote!(#lhs.accumulate(&#value);)
            }
        }
    }

    /// `lhs = first term;` then `lhs += term;` for the others, or `lhs = T::zero();`: one
    /// statement per term.
    fn assign(&self, equation: &Equation) -> Vec<TokenStream> {
        let lhs = self.element(equation.lhs);
        let mut terms = equation.rhs.terms().iter();
        let Some(first) = terms.next() else {
            return vec![quote!(#lhs = T::zero();)];
        };
        let first = if let (1, &[a, b]) = (first.coefficient(), first.factors()) {
            let (a, b) = (self.element(a), self.element(b));
            quote!(#lhs = #a.times(&#b);)
        } else {
            let value = self.value(first);
            quote!(#lhs = #value;)
        };
        [first]
            .into_iter()
            .chain(terms.map(|term| self.accumulate(&lhs, term)))
            .collect()
    }
}

/// The most statements one function holds: a longer kernel is split into functions of this
/// many statements, called in order. rustc's type check and LLVM take time that grows
/// faster than linearly in the statements of one function, so the split keeps a kernel's
/// build cost linear in its statements; a call per thousand multiply-adds costs nothing
/// measurable at run time, and the order of the additions is the equations' order.
pub(crate) const PART: usize = 1024;

/// A kernel's body: `inputs` are `(parameter, a variable of its tensor, length)`, `output`
/// the parameter the equations assign, one equation per element.
///
/// Up to [`PART`] statements it is the statements themselves; past it, functions of
/// [`PART`] statements each, which the body calls in order:
///
/// ```text
/// #[inline(never)]
/// fn part1<T: ::convsym::Scalar>(x: &[T; 4096], dz: &[T; 4096], dw: &mut [T; 1]) {
///     dw[0] = dz[0].times(&x[0]);
///     dw[0].accumulate_product(&dz[1], &x[1]);
///     …
/// }
/// fn part2 …
/// part1(x, dz, dw);
/// part2(x, dz, dw);
/// ```
pub(super) fn body(
    inputs: &[(Ident, Variable, usize)],
    output: &(Ident, Variable, usize),
    equations: &[Equation],
) -> TokenStream {
    let arrays = Arrays(
        inputs
            .iter()
            .chain([output])
            .map(|(parameter, template, _)| (template.tensor, parameter))
            .collect(),
    );
    let statements: Vec<TokenStream> = equations
        .iter()
        .flat_map(|equation| arrays.assign(equation))
        .collect();
    if statements.len() <= PART {
        return quote!(#(#statements)*);
    }
    let parameters = inputs.iter().map(|(name, _, len)| {
        let len = Literal::usize_unsuffixed(*len);
        quote!(#name: &[T; #len])
    });
    let (name, _, len) = output;
    let len = Literal::usize_unsuffixed(*len);
    let parameters = quote!(#(#parameters,)* #name: &mut [T; #len]);
    let names = inputs.iter().chain([output]).map(|(name, _, _)| name);
    let arguments = quote!(#(#names),*);
    let parts = statements.chunks(PART).enumerate().map(|(index, part)| {
        let part_name = format_ident!("part{}", index + 1);
        let definition = quote! {
            #[inline(never)]
            fn #part_name<T: ::convsym::Scalar>(#parameters) {
                #(#part)*
            }
        };
        (definition, quote!(#part_name(#arguments);))
    });
    let (definitions, calls): (Vec<_>, Vec<_>) = parts.unzip();
    quote!(#(#definitions)* #(#calls)*)
}
