//! Dense N-dimensional grids and the operations of the seed's construction on them:
//! dilating, padding (a negative amount crops), rotating by 180° and cross-correlating.
//!
//! A cell is `None` where the grid holds a structural zero (inserted by dilation or padding).
//! [`unread_positions`] is the grid of one input slice's never-read positions, which the
//! explanation and the picture draw.

use alloc::vec;
use alloc::vec::Vec;
use itertools::Itertools;

use super::expr::{Expr, Term, Variable};
use crate::spec::{Axis, Spec, Unread};

/// A row-major grid of cells.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grid<T> {
    shape: Vec<usize>,
    cells: Vec<T>,
}

/// Every multi-index of `shape`, in row-major order.
fn indices(shape: &[usize]) -> impl Iterator<Item = Vec<usize>> + use<> {
    shape
        .iter()
        .map(|&size| 0..size)
        .collect::<Vec<_>>()
        .into_iter()
        .multi_cartesian_product()
}

impl<T> Grid<T> {
    /// The grid of `shape` whose cell at each multi-index is `cell(index)`.
    pub fn from_fn(shape: &[usize], mut cell: impl FnMut(&[usize]) -> T) -> Self {
        Grid {
            shape: shape.to_vec(),
            cells: indices(shape).map(|index| cell(&index)).collect(),
        }
    }

    /// The size of each axis.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The cells, row-major.
    pub fn cells(&self) -> &[T] {
        &self.cells
    }

    /// The cell at a multi-index, if it lies inside the grid.
    pub fn get(&self, index: &[usize]) -> Option<&T> {
        if index.len() != self.shape.len() || index.iter().zip(&self.shape).any(|(i, s)| i >= s) {
            return None;
        }
        let flat = index
            .iter()
            .zip(&self.shape)
            .fold(0, |flat, (&i, &size)| flat * size + i);
        self.cells.get(flat)
    }

    /// The cell at a multi-index given as signed positions; `None` outside the grid.
    fn get_signed(&self, index: &[isize]) -> Option<&T> {
        let index: Option<Vec<usize>> = index.iter().map(|&i| usize::try_from(i).ok()).collect();
        self.get(&index?)
    }
}

impl<T: Copy> Grid<Option<T>> {
    /// Inserts `factor − 1` zeros between neighbouring cells on each axis.
    #[must_use]
    pub fn dilate(&self, factors: &[usize]) -> Self {
        let shape: Vec<usize> = self
            .shape
            .iter()
            .zip(factors)
            .map(|(&size, &factor)| (size - 1) * factor + 1)
            .collect();
        Grid::from_fn(&shape, |index| {
            let on_grid = index.iter().zip(factors).all(|(&i, &f)| i % f == 0);
            let source: Vec<usize> = index.iter().zip(factors).map(|(&i, &f)| i / f).collect();
            if on_grid {
                self.get(&source).copied().flatten()
            } else {
                None
            }
        })
    }

    /// Pads each axis by `(before, after)` zeros; a negative amount crops that side.
    #[must_use]
    pub fn pad(&self, amounts: &[(isize, isize)]) -> Self {
        let shape: Vec<usize> = self
            .shape
            .iter()
            .zip(amounts)
            .map(|(&size, &(before, after))| {
                usize::try_from(size.cast_signed() + before + after).unwrap_or(0)
            })
            .collect();
        Grid::from_fn(&shape, |index| {
            let source: Vec<isize> = index
                .iter()
                .zip(amounts)
                .map(|(&i, &(before, _))| i.cast_signed() - before)
                .collect();
            self.get_signed(&source).copied().flatten()
        })
    }

    /// Flips every axis: the 180° rotation of a kernel.
    #[must_use]
    pub fn rotate(&self) -> Self {
        Grid::from_fn(&self.shape, |index| {
            let source: Vec<usize> = index
                .iter()
                .zip(&self.shape)
                .map(|(&i, &size)| size - 1 - i)
                .collect();
            self.get(&source).copied().flatten()
        })
    }
}

impl Grid<Option<Variable>> {
    /// Cross-correlates `self` with `kernel`: output `p` is `Σ_q self[p·stride + q·dilation] ·
    /// kernel[q]`, over the positions where the whole dilated kernel fits.
    pub fn correlate(&self, kernel: &Self, dilation: &[usize], stride: &[usize]) -> Grid<Expr> {
        let shape: Vec<usize> = (0..self.shape.len())
            .map(|axis| {
                let span = (kernel.shape[axis] - 1) * dilation[axis] + 1;
                (self.shape[axis] - span) / stride[axis] + 1
            })
            .collect();
        Grid::from_fn(&shape, |position| {
            Expr::from_terms(indices(&kernel.shape).filter_map(|tap| {
                let source: Vec<usize> = (0..tap.len())
                    .map(|axis| position[axis] * stride[axis] + tap[axis] * dilation[axis])
                    .collect();
                let a = self.get(&source).copied().flatten()?;
                let b = kernel.get(&tap).copied().flatten()?;
                Some(Term::product(a, b))
            }))
        })
    }
}

impl Grid<Expr> {
    /// The cell-by-cell sum of two grids of one shape.
    #[must_use]
    pub fn plus(self, other: Grid<Expr>) -> Self {
        debug_assert_eq!(self.shape, other.shape);
        let cells = self
            .cells
            .into_iter()
            .zip(other.cells)
            .map(|(a, b)| a + b)
            .collect();
        Grid {
            shape: self.shape,
            cells,
        }
    }
}

/// Per spatial position of one input slice (row-major), why it is never read, if it is not.
pub fn unread_positions(spec: &Spec) -> Grid<Option<Unread>> {
    let per_axis: Vec<Vec<Option<Unread>>> = spec
        .axes()
        .iter()
        .map(|axis| {
            let mut reasons = vec![None; axis.input()];
            for (position, reason) in axis.unread() {
                if let Some(slot) = reasons.get_mut(position) {
                    *slot = Some(reason);
                }
            }
            reasons
        })
        .collect();
    let shape: Vec<usize> = spec.axes().iter().map(Axis::input).collect();
    // An element is read when every one of its coordinates is: the kernel's taps form a
    // full grid, so the axes are independent. The remainder outranks a gap as the reason.
    Grid::from_fn(&shape, |index| {
        index
            .iter()
            .zip(&per_axis)
            .filter_map(|(&i, reasons)| reasons.get(i).copied().flatten())
            .min()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::symbolic::expr::Tensor;

    fn row(values: &[usize]) -> Grid<Option<usize>> {
        Grid::from_fn(&[values.len()], |index| Some(values[index[0]]))
    }

    #[test]
    fn dilate_pad_and_rotate() {
        let grid = row(&[1, 2, 3]);
        assert_eq!(
            grid.dilate(&[2]).cells(),
            [Some(1), None, Some(2), None, Some(3)]
        );
        assert_eq!(grid.pad(&[(1, -2)]).cells(), [None, Some(1)]);
        // A crop may run past the zeros on that side.
        assert_eq!(grid.pad(&[(-1, 1)]).cells(), [Some(2), Some(3), None]);
        assert_eq!(grid.rotate().cells(), [Some(3), Some(2), Some(1)]);
    }

    #[test]
    fn correlation_respects_stride_and_dilation() {
        let x = Grid::from_fn(&[5], |i| Some(Variable::new(Tensor::Input, i[0])));
        let w = Grid::from_fn(&[2], |i| Some(Variable::new(Tensor::Weight, i[0])));
        let out = x.correlate(&w, &[2], &[3]);
        assert_eq!(out.shape(), [1]);
        let expected = Expr::from_terms([
            Term::product(
                Variable::new(Tensor::Weight, 0),
                Variable::new(Tensor::Input, 0),
            ),
            Term::product(
                Variable::new(Tensor::Weight, 1),
                Variable::new(Tensor::Input, 2),
            ),
        ]);
        assert_eq!(out.cells()[0], expected);
    }

    #[test]
    fn unread_positions_follow_the_remainder() {
        let unread = unread_positions(&Spec::parse("in=6 k=3 stride=2").unwrap());
        let never: Vec<usize> = unread
            .cells()
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.map(|_| i + 1))
            .collect();
        assert_eq!(never, [6, 12, 18, 24, 30, 31, 32, 33, 34, 35, 36]);
        assert!(
            unread
                .cells()
                .iter()
                .flatten()
                .all(|&r| r == Unread::Remainder)
        );
    }

    /// The grid of one slice and the lazy per-element answer agree on every element of
    /// every slice, remainder and gaps alike.
    #[test]
    fn unread_positions_agree_with_the_specification() {
        for text in [
            "in=6 k=3 stride=2",
            "in=(9,7) k=2 stride=(4,3) dilation=(2,1) cin=2 batch=2",
            "in=(5,6,4) k=2 stride=3",
        ] {
            let spec = Spec::parse(text).unwrap();
            let unread = unread_positions(&spec);
            let per_slice = unread.cells().len();
            for index in 0..spec.input_len() {
                assert_eq!(
                    spec.why_input_unread(index),
                    unread.cells()[index % per_slice],
                    "{text}: x{}",
                    index + 1
                );
            }
        }
    }
}
