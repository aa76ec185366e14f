//! Symbolic expressions: sums of products of tensor elements, kept in one canonical form
//! so that equality is structural and printing is deterministic.

use alloc::vec::Vec;
use core::cmp::Ordering;

use core::ops::{Add, AddAssign, Mul};
use smallvec::SmallVec;

/// The tensors a convolution's equations speak of.
///
/// The declaration order is the order of factors inside a product (`d*w`, `d*x`, `w*x`)
/// and, through it, of terms inside a sum (a lone bias term comes after the products).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tensor {
    /// δ, the gradient of the loss with respect to the output (`d`).
    Delta,
    /// The weight (`w`).
    Weight,
    /// The input (`x`).
    Input,
    /// The bias (`b`).
    Bias,
    /// The output (`z`).
    Output,
    /// The gradient with respect to the input (`dx`).
    GradInput,
    /// The gradient with respect to the weight (`dw`).
    GradWeight,
    /// The gradient with respect to the bias (`db`).
    GradBias,
}

impl Tensor {
    /// The name in ASCII output: `d`, `w`, `x`, `b`, `z`, `dx`, `dw`, `db`.
    pub fn name(self) -> &'static str {
        match self {
            Tensor::Delta => "d",
            Tensor::Weight => "w",
            Tensor::Input => "x",
            Tensor::Bias => "b",
            Tensor::Output => "z",
            Tensor::GradInput => "dx",
            Tensor::GradWeight => "dw",
            Tensor::GradBias => "db",
        }
    }

    /// For a gradient, the tensor it is the gradient of.
    pub fn differentiated(self) -> Option<Tensor> {
        match self {
            Tensor::GradInput => Some(Tensor::Input),
            Tensor::GradWeight => Some(Tensor::Weight),
            Tensor::GradBias => Some(Tensor::Bias),
            _ => None,
        }
    }
}

/// One element of a tensor: its 0-based, row-major flat index (printed 1-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Variable {
    /// The tensor.
    pub tensor: Tensor,
    /// The 0-based flat index.
    pub index: usize,
}

impl Variable {
    /// Element `index` (0-based) of `tensor`.
    pub fn new(tensor: Tensor, index: usize) -> Self {
        Variable { tensor, index }
    }
}

/// The factors of a term. Every term of a convolution is a product of two, held inline:
/// one heap allocation per term was half the cost of deriving (see `bench/`).
type Factors = SmallVec<[Variable; 2]>;

/// A coefficient times a product of variables (sorted); no factors means a constant.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Term {
    coefficient: i64,
    factors: Factors,
}

impl Term {
    /// `coefficient · Π factors`, with the factors put in canonical order.
    pub fn new(coefficient: i64, factors: impl IntoIterator<Item = Variable>) -> Self {
        let mut factors: Factors = factors.into_iter().collect();
        factors.sort_unstable();
        Term {
            coefficient,
            factors,
        }
    }

    /// The product of two variables, the shape of every term a convolution has.
    pub fn product(a: Variable, b: Variable) -> Self {
        let factors = if a <= b { [a, b] } else { [b, a] };
        Term {
            coefficient: 1,
            factors: SmallVec::from_buf(factors),
        }
    }

    /// The integer coefficient.
    pub fn coefficient(&self) -> i64 {
        self.coefficient
    }

    /// The factors, in canonical order.
    pub fn factors(&self) -> &[Variable] {
        &self.factors
    }

    /// Terms are ordered by their factors, compared element by element; a shorter product
    /// that is a prefix of a longer one comes first.
    fn order(&self, other: &Term) -> Ordering {
        self.factors.cmp(&other.factors)
    }
}

/// A sum of terms in canonical form: sorted by factors, like terms merged, no zero terms.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Expr {
    terms: Vec<Term>,
}

impl Expr {
    /// The empty sum.
    pub fn zero() -> Self {
        Expr::default()
    }

    /// A constant.
    pub fn constant(value: i64) -> Self {
        Expr::from_terms([Term::new(value, [])])
    }

    /// A single variable.
    pub fn variable(variable: Variable) -> Self {
        Expr {
            terms: alloc::vec![Term::new(1, [variable])],
        }
    }

    /// The `len` elements of `tensor`, each as a variable: the symbolic inputs that turn a
    /// kernel's arithmetic (or the numeric reference's) back into equations.
    pub fn variables(tensor: Tensor, len: usize) -> Vec<Expr> {
        (0..len)
            .map(|index| Expr::variable(Variable::new(tensor, index)))
            .collect()
    }

    /// The sum of `terms`, normalised.
    pub fn from_terms(terms: impl IntoIterator<Item = Term>) -> Self {
        let mut terms: Vec<Term> = terms.into_iter().collect();
        // A stable sort is linear on the already ordered runs the derivations produce.
        terms.sort_by(Term::order);
        // Merged in place: a second vector of the terms added 0.8 GB to the peak memory of
        // printing an equation of 2^24 terms (measured in the README, "Errors").
        terms.dedup_by(|later, kept| {
            let alike = later.factors == kept.factors;
            if alike {
                kept.coefficient += later.coefficient;
            }
            alike
        });
        terms.retain(|term| term.coefficient != 0);
        Expr { terms }
    }

    /// The terms, in canonical order.
    pub fn terms(&self) -> &[Term] {
        &self.terms
    }

    /// Whether this is the empty sum.
    pub fn is_zero(&self) -> bool {
        self.terms.is_empty()
    }
}

impl From<Variable> for Expr {
    fn from(variable: Variable) -> Self {
        Expr::variable(variable)
    }
}

impl Add for Expr {
    type Output = Expr;

    fn add(mut self, rhs: Expr) -> Expr {
        self += rhs;
        self
    }
}

impl AddAssign for Expr {
    fn add_assign(&mut self, rhs: Expr) {
        if rhs.is_zero() {
            return;
        }
        let mut terms = core::mem::take(&mut self.terms);
        terms.extend(rhs.terms);
        *self = Expr::from_terms(terms);
    }
}

impl Mul for &Expr {
    type Output = Expr;

    fn mul(self, rhs: &Expr) -> Expr {
        Expr::from_terms(self.terms.iter().flat_map(|a| {
            rhs.terms.iter().map(move |b| {
                let factors = a.factors.iter().chain(&b.factors).copied();
                Term::new(a.coefficient * b.coefficient, factors)
            })
        }))
    }
}

impl Mul for Expr {
    type Output = Expr;

    fn mul(self, rhs: Expr) -> Expr {
        &self * &rhs
    }
}

/// `lhs = rhs`, where `lhs` names one element of a result tensor (`z`, `dx`, `dw`, `db`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Equation {
    /// The element the equation defines.
    pub lhs: Variable,
    /// Its value.
    pub rhs: Expr,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(tensor: Tensor, number: usize) -> Expr {
        Expr::variable(Variable::new(tensor, number - 1))
    }

    #[test]
    fn constructors_normalise_so_equality_is_structural() {
        let (w1, x2, d3) = (
            var(Tensor::Weight, 1),
            var(Tensor::Input, 2),
            var(Tensor::Delta, 3),
        );
        let a = &x2 * &w1 + &d3 * &x2;
        let b = &d3 * &x2 + &w1 * &x2;
        assert_eq!(a, b);
        let factors: Vec<Vec<Tensor>> = a
            .terms()
            .iter()
            .map(|t| t.factors().iter().map(|f| f.tensor).collect())
            .collect();
        assert_eq!(
            factors,
            [
                [Tensor::Delta, Tensor::Input],
                [Tensor::Weight, Tensor::Input]
            ]
        );
    }

    #[test]
    fn like_terms_merge_and_cancel() {
        let w1 = var(Tensor::Weight, 1);
        let twice = w1.clone() + w1.clone();
        assert_eq!(twice.terms()[0].coefficient(), 2);
        assert!((twice + &Expr::constant(-2) * &w1).is_zero());
        assert!((&Expr::zero() * &w1).is_zero());
    }
}
