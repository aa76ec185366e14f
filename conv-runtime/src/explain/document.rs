//! The document an explanation is: numbered steps of blocks (prose, tables, formulas,
//! grids, correlation windows, equations), built once and printed by every notation.

use alloc::string::String;
use alloc::vec::Vec;

use crate::symbolic::expr::{Equation, Expr, Variable};
use crate::symbolic::grid::Grid;

/// A piece of prose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inline {
    /// Words, which may contain the symbols of the formulas (`δ`, `·`, `−`, `⌊`, …).
    Text(String),
    /// A tensor element, spelled as each notation spells it.
    Variable(Variable),
}

/// A displayed formula, spelled once for plain text and once for LaTeX math mode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Formula {
    /// Plain text with Unicode symbols.
    pub text: String,
    /// LaTeX, for math mode.
    pub latex: String,
}

/// A table of plain cells.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    /// The column headings.
    pub header: Vec<String>,
    /// The rows, each as long as the header.
    pub rows: Vec<Vec<String>>,
}

/// A labelled grid of tensor elements; a `None` cell is a zero the construction inserted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matrix {
    /// What the grid is, e.g. `δ dilated by the stride`.
    pub label: String,
    /// The cells.
    pub grid: Grid<Option<Variable>>,
}

/// One position of a correlation: the cells under the kernel, the kernel, and the sum of
/// their products.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    /// Where the window lies, e.g. `rows 1–3, columns 1–3 of x`.
    pub label: String,
    /// The cells under the kernel, one per kernel tap.
    pub cells: Grid<Option<Variable>>,
    /// The kernel.
    pub kernel: Grid<Option<Variable>>,
    /// The element the sum goes to.
    pub target: Variable,
    /// `Σ cells ⊙ kernel`, the correlation's value at this position.
    pub sum: Expr,
    /// Whether the sum is only one part of the target (other slices add theirs).
    pub partial: bool,
}

/// One block of a step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Block {
    /// A paragraph of prose.
    Paragraph(Vec<Inline>),
    /// A table.
    Table(Table),
    /// Displayed formulas, one per line.
    Formulas(Vec<Formula>),
    /// A labelled grid.
    Matrix(Matrix),
    /// A correlation window and its sum.
    Window(Window),
    /// Equations, one per line, and how many more were left out.
    Equations {
        /// The equations shown.
        equations: Vec<Equation>,
        /// How many further equations the block stands for but does not list.
        omitted: usize,
    },
}

/// One numbered step of the derivation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// The heading, e.g. `Sizes`.
    pub title: String,
    /// The content.
    pub blocks: Vec<Block>,
}

/// The derivation of one layer, ready to print.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    /// The layer, in full resolved form.
    pub spec: String,
    /// The steps, in order.
    pub steps: Vec<Step>,
    pub(super) agrees: bool,
}

impl Explanation {
    /// Whether both constructions gave the chain rule's equations, term for term.
    pub fn agrees(&self) -> bool {
        self.agrees
    }
}
