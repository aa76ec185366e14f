//! Unrolled kernels: one statement per multiply-add, lowered from the runtime's equations.
//!
//! Arrays are read into local bindings first, named as in the equations, and each equation
//! becomes an assignment followed by `+=` statements, never one long expression (rustc's
//! stack overflows on a single sum of a few thousand terms):
//!
//! ```text
//! let [x1, x2, _, …] = x;
//! let [z1, z2, …] = z;
//! *z1 = w1.times(x1);
//! z1.accumulate_product(w2, x2);
//! ```

use std::collections::BTreeSet;

use conv_runtime::{Equation, Term, Variable};
use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

/// The binding of a variable: its printed name, `x1`, `dw3`.
fn binding(variable: Variable) -> Ident {
    format_ident!("{}{}", variable.tensor.name(), variable.index + 1)
}

/// `let [a1, _, a3] = parameter;` binding the elements `used` reads and `_` for the others.
fn destructure(
    parameter: &Ident,
    template: Variable,
    len: usize,
    used: &BTreeSet<Variable>,
) -> TokenStream {
    let names = (0..len).map(|index| {
        let variable = Variable::new(template.tensor, index);
        if used.contains(&variable) {
            let name = binding(variable);
            quote!(#name)
        } else {
            quote!(_)
        }
    });
    quote!(let [#(#names),*] = #parameter;)
}

/// The value of a term as a fresh `T`.
fn value(term: &Term) -> TokenStream {
    let mut factors = term.factors().iter().map(|&factor| binding(factor));
    let mut value = factors.next().map_or_else(
        || quote!(T::from_integer(1)),
        |first| quote!(#first.clone()),
    );
    for factor in factors {
        value = quote!(#value.times(#factor));
    }
    if term.coefficient() != 1 {
        let coefficient = term.coefficient();
        value = quote!(T::from_integer(#coefficient).times(&#value));
    }
    value
}

/// `lhs += term`, as the cheapest method the term's shape allows.
fn accumulate(lhs: &Ident, term: &Term) -> TokenStream {
    match (term.coefficient(), term.factors()) {
        (1, &[a, b]) => {
            let (a, b) = (binding(a), binding(b));
            quote!(#lhs.accumulate_product(#a, #b);)
        }
        (1, &[a]) => {
            let a = binding(a);
            quote!(#lhs.accumulate(#a);)
        }
        _ => {
            let value = value(term);
            quote!(#lhs.accumulate(&#value);)
        }
    }
}

/// `*lhs = first term;` then `lhs += term;` for the others, or `*lhs = T::zero();`.
fn assign(equation: &Equation) -> TokenStream {
    let lhs = binding(equation.lhs);
    let mut terms = equation.rhs.terms().iter();
    let Some(first) = terms.next() else {
        return quote!(*#lhs = T::zero(););
    };
    let first = if let (1, &[a, b]) = (first.coefficient(), first.factors()) {
        let (a, b) = (binding(a), binding(b));
        quote!(*#lhs = #a.times(#b);)
    } else {
        let value = value(first);
        quote!(*#lhs = #value;)
    };
    let rest = terms.map(|term| accumulate(&lhs, term));
    quote!(#first #(#rest)*)
}

/// A kernel's body: `inputs` are `(parameter, a variable of its tensor, length)`, `output`
/// the parameter the equations assign, one equation per element.
pub(super) fn body(
    inputs: &[(Ident, Variable, usize)],
    output: &(Ident, Variable, usize),
    equations: &[Equation],
) -> TokenStream {
    let used: BTreeSet<Variable> = equations
        .iter()
        .flat_map(|equation| equation.rhs.terms())
        .flat_map(Term::factors)
        .copied()
        .collect();
    let reads = inputs
        .iter()
        .map(|(parameter, template, len)| destructure(parameter, *template, *len, &used));
    let assigned: BTreeSet<Variable> = equations.iter().map(|equation| equation.lhs).collect();
    let (parameter, template, len) = output;
    let writes = destructure(parameter, *template, *len, &assigned);
    let statements = equations.iter().map(assign);
    quote! {
        #(#reads)*
        #writes
        #(#statements)*
    }
}
