//! The correlations of the two gradient constructions, drawn window by window: the cells
//! under the kernel, the kernel, and the sum each window gives; then the gradient's
//! equations, the sums of those windows.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::builder::Builder;
use super::document::{Block, Window};
use super::wording::{axis_names, paragraph, positions, shape_text};
use crate::symbolic::expr::{Equation, Tensor, Variable};
use crate::symbolic::grid::Grid;

/// The window of `grid` that a correlation reads at output `position`: the cells at
/// `position·stride + tap·dilation` for every tap of `shape`, exactly as
/// [`Grid::correlate`] reads them.
fn window(
    grid: &Grid<Option<Variable>>,
    position: &[usize],
    stride: &[usize],
    dilation: &[usize],
    shape: &[usize],
) -> Grid<Option<Variable>> {
    Grid::from_fn(shape, |tap| {
        let source: Vec<usize> = (0..tap.len())
            .map(|axis| position[axis] * stride[axis] + tap[axis] * dilation[axis])
            .collect();
        grid.get(&source).copied().flatten()
    })
}

/// Every multi-index of `shape`, row-major.
fn indices(shape: &[usize]) -> Vec<Vec<usize>> {
    Grid::from_fn(shape, <[usize]>::to_vec).cells().to_vec()
}

/// One slice's correlation in a gradient construction: `kernel` slides over `grid`.
pub(super) struct Correlation<'g> {
    pub(super) grid: &'g Grid<Option<Variable>>,
    /// What `grid` is, for the window labels.
    pub(super) of: &'g str,
    pub(super) kernel: &'g Grid<Option<Variable>>,
    pub(super) dilation: &'g [usize],
    pub(super) stride: &'g [usize],
    /// The gradient the windows' sums belong to, and the flat index of the slice's first
    /// element in it.
    pub(super) target: Tensor,
    pub(super) first: usize,
    /// Whether other slices add to the same elements.
    pub(super) partial: bool,
}

impl Builder<'_> {
    /// The correlation's windows, each with its sum, up to the window limit.
    pub(super) fn windows(&self, blocks: &mut Vec<Block>, correlation: &Correlation<'_>) {
        let Correlation {
            grid,
            kernel,
            dilation,
            stride,
            ..
        } = *correlation;
        let sums = grid.correlate(kernel, dilation, stride);
        let positions = indices(sums.shape());
        if kernel.cells().len() > self.limits.cells {
            blocks.push(paragraph(format!(
                "The {} windows are {} each, more than the {} cells drawn, so they are not drawn; their sums are listed below.",
                positions.len(),
                shape_text(kernel.shape()),
                self.limits.cells
            )));
            return;
        }
        for (offset, (position, sum)) in positions.iter().zip(sums.cells()).enumerate() {
            if offset == self.limits.windows {
                let rest = positions.len() - offset;
                blocks.push(paragraph(if rest == 1 {
                    "1 further window slides on the same way.".to_string()
                } else {
                    format!("{rest} further windows slide on the same way.")
                }));
                break;
            }
            blocks.push(Block::Window(Window {
                label: self.window_label(
                    position,
                    stride,
                    dilation,
                    kernel.shape(),
                    correlation.of,
                ),
                cells: window(grid, position, stride, dilation, kernel.shape()),
                kernel: kernel.clone(),
                target: Variable::new(correlation.target, correlation.first + offset),
                sum: sum.clone(),
                partial: correlation.partial,
            }));
        }
    }

    /// A gradient's equations, introduced as sums when `parts` slices (`from` naming them)
    /// each add a part to every element.
    pub(super) fn sums(
        &self,
        gradient: &str,
        (parts, from): (usize, &str),
        equations: &[Equation],
    ) -> [Block; 2] {
        let introduction = if parts > 1 {
            paragraph(format!(
                "Each {gradient} element sums the parts from the {parts} {from}:"
            ))
        } else {
            paragraph(format!("The {gradient}:"))
        };
        [
            introduction,
            self.equations_block(equations.iter().cloned()),
        ]
    }

    /// `rows 1–3, columns 1–3 of x`, positions 1-based in the grid the window lies in.
    fn window_label(
        &self,
        position: &[usize],
        stride: &[usize],
        dilation: &[usize],
        shape: &[usize],
        of: &str,
    ) -> String {
        let names = axis_names(self.rank());
        let parts: Vec<String> = (0..position.len())
            .map(|axis| {
                let count = shape.get(axis).copied().unwrap_or(1);
                let (one, many) = names
                    .get(axis)
                    .copied()
                    .unwrap_or(("position", "positions"));
                let first = position[axis] * stride[axis];
                format!(
                    "{} {}",
                    if count == 1 { one } else { many },
                    positions(first, dilation[axis], count)
                )
            })
            .collect();
        format!("{} of {of}", parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::Limits;
    use crate::spec::Spec;
    use crate::symbolic::construction;
    use crate::symbolic::expr::{Equation, Expr};

    /// The windows shown are the ones the correlation reads: the products of each window's
    /// cells with the kernel, summed over the slices, give the construction's equations.
    fn windows_sum_to_construction(spec: &Spec) {
        let builder = Builder {
            spec,
            limits: Limits {
                slices: usize::MAX,
                windows: usize::MAX,
                equations: usize::MAX,
                cells: usize::MAX,
            },
        };
        let weight_gradient = construction::grad_weight(spec);
        let input_gradient = construction::grad_input(spec);
        assert!(builder.agreement(&weight_gradient, &input_gradient).1);
        let steps = [
            builder.weight_gradient(&weight_gradient),
            builder.input_gradient(&input_gradient),
        ];
        let mut sums: alloc::collections::BTreeMap<Variable, Expr> =
            alloc::collections::BTreeMap::new();
        for step in &steps {
            for block in &step.blocks {
                if let Block::Window(window) = block {
                    let products = Expr::from_terms(
                        window
                            .cells
                            .cells()
                            .iter()
                            .zip(window.kernel.cells())
                            .filter_map(|(a, b)| {
                                Some(crate::symbolic::expr::Term::product((*a)?, (*b)?))
                            }),
                    );
                    assert_eq!(products, window.sum, "{}", window.label);
                    *sums.entry(window.target).or_default() += products;
                }
            }
        }
        let expected: Vec<Equation> = construction::grad_weight(spec)
            .into_iter()
            .chain(construction::grad_input(spec))
            .collect();
        assert_eq!(sums.len(), expected.len());
        for equation in expected {
            assert_eq!(sums.get(&equation.lhs), Some(&equation.rhs), "{equation}");
        }
    }

    #[test]
    fn windows_are_the_correlations_windows() {
        for text in [
            "in=5 k=3 stride=2",
            "in=6 k=3 stride=2",
            "in=(7,6) k=(3,2) stride=(2,3) dilation=(2,1) pad=1",
            "in=(9,) k=3 stride=2 pad=(1,)",
            "in=(4,5,3) k=2 stride=(1,2,1) cin=2 cout=2 batch=2",
            "in=6 k=3 cin=4 cout=6 groups=2 bias",
        ] {
            windows_sum_to_construction(&Spec::parse(text).unwrap());
        }
    }
}
