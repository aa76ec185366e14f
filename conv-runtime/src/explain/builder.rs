//! The builder every step is written with: the layer, the limits it draws to, and the
//! blocks all steps make alike (equations cut to the limit, grids or the sentence saying
//! they are too large, the count of the slices left out). Each step's file adds its method.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::document::{Block, Matrix};
use super::wording::paragraph;
use crate::limits::Limits;
use crate::spec::{Axis, Spec};
use crate::symbolic::expr::{Equation, Variable};
use crate::symbolic::grid::Grid;

/// Writes the steps of one layer's explanation, each step's method in its own file.
pub(super) struct Builder<'a> {
    pub(super) spec: &'a Spec,
    pub(super) limits: Limits,
}

impl Builder<'_> {
    /// The number of spatial axes.
    pub(super) fn rank(&self) -> usize {
        self.spec.axes().len()
    }

    /// One value per spatial axis.
    pub(super) fn per_axis<T>(&self, f: impl Fn(&Axis) -> T) -> Vec<T> {
        self.spec.axes().iter().map(f).collect()
    }

    /// Equations, listed up to the limit and the rest counted.
    pub(super) fn equations_block(
        &self,
        equations: impl ExactSizeIterator<Item = Equation>,
    ) -> Block {
        let total = equations.len();
        let equations: Vec<Equation> = equations.take(self.limits.equations).collect();
        Block::Equations {
            omitted: total - equations.len(),
            equations,
        }
    }

    /// Says how many slices were left out, `one` and `many` naming them.
    pub(super) fn omitted_slices(
        &self,
        blocks: &mut Vec<Block>,
        total: usize,
        (one, many): (&str, &str),
    ) {
        let rest = total.saturating_sub(self.limits.slices);
        if rest == 1 {
            blocks.push(paragraph(format!(
                "1 further {one} is not drawn: it is built the same way."
            )));
        } else if rest > 1 {
            blocks.push(paragraph(format!(
                "{rest} further {many} are not drawn: they are built the same way."
            )));
        }
    }

    /// A grid to draw, or a sentence saying it is too large to.
    pub(super) fn matrix(&self, label: String, grid: Grid<Option<Variable>>) -> Block {
        let cells = grid.cells().len();
        if cells > self.limits.cells {
            paragraph(format!(
                "{label}: {cells} cells, more than the {} drawn, so not drawn.",
                self.limits.cells
            ))
        } else {
            Block::Matrix(Matrix { label, grid })
        }
    }
}
