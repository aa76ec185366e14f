//! The inputs the forward pass never reads: the close of step 1, which names them, and in
//! step 5, the zero input-gradient rows held against them.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use super::builder::Builder;
use super::document::Block;
use super::wording::{axis_names, paragraph, plural, text, variable_list};
use crate::spec::Unread;
use crate::symbolic::expr::{Equation, Tensor, Variable};
use crate::symbolic::grid::unread_positions;

impl Builder<'_> {
    /// Which positions and elements the forward pass never reads, and why.
    pub(super) fn never_read(&self) -> Vec<Block> {
        let spec = self.spec;
        let names = axis_names(self.rank());
        let mut blocks = Vec::new();
        for (axis, &(one, many)) in spec.axes().iter().zip(names) {
            let unread: Vec<(usize, Unread)> = axis.unread().collect();
            let remainder: Vec<String> = unread
                .iter()
                .filter(|(_, reason)| *reason == Unread::Remainder)
                .map(|(position, _)| (position + 1).to_string())
                .collect();
            let gaps: Vec<String> = unread
                .iter()
                .filter(|(_, reason)| *reason == Unread::Gap)
                .map(|(position, _)| (position + 1).to_string())
                .collect();
            let r = axis.remainder();
            if r > 0 {
                let last = if r == 1 {
                    "the last position of the padded input lies".to_string()
                } else {
                    format!("the last {r} positions of the padded input lie")
                };
                if remainder.is_empty() {
                    blocks.push(paragraph(format!(
                        "Along the {many}, r = {r}: {last} past the last window, but that is padding, so no input is lost there."
                    )));
                } else {
                    let label = if remainder.len() == 1 { one } else { many };
                    blocks.push(paragraph(format!(
                        "Along the {many}, r = {r}: {last} past the last window, so {label} {} of the input {} never read.",
                        remainder.join(", "),
                        if remainder.len() == 1 { "is" } else { "are" }
                    )));
                }
            }
            if !gaps.is_empty() {
                let label = if gaps.len() == 1 { one } else { many };
                blocks.push(paragraph(format!(
                    "Along the {many}, {label} {} of the input {} between the taps that the stride ({}) and the dilation ({}) reach, so never read.",
                    gaps.join(", "),
                    if gaps.len() == 1 { "falls" } else { "fall" },
                    axis.stride(),
                    axis.dilation(),
                )));
            }
        }
        let unread = unread_positions(spec);
        let variables: Vec<Variable> = unread
            .cells()
            .iter()
            .enumerate()
            .filter(|(_, reason)| reason.is_some())
            .map(|(index, _)| Variable::new(Tensor::Input, index))
            .collect();
        if variables.is_empty() {
            blocks.push(paragraph("Every input element is read by some output."));
        } else {
            let slices = spec.batch() * spec.in_channels();
            let mut inlines = vec![text("Never read: ")];
            inlines.extend(variable_list(&variables, 64));
            if slices > 1 {
                inlines.push(text(format!(
                    " in the first input slice, and the same positions in each of the other {}",
                    plural(slices - 1, "slice", "slices")
                )));
            }
            inlines.push(text(format!(
                ": {} in all, whose input gradient is 0.",
                variables.len() * slices
            )));
            blocks.push(Block::Paragraph(inlines));
        }
        blocks
    }

    /// The `dx = 0` rows, held against the inputs step 1 found never read.
    pub(super) fn zero_rows(&self, equations: &[Equation]) -> Vec<Block> {
        let zero: Vec<Variable> = equations
            .iter()
            .filter(|equation| equation.rhs.is_zero())
            .map(|equation| equation.lhs)
            .collect();
        if zero.is_empty() {
            return Vec::new();
        }
        let unread = unread_positions(self.spec);
        let per_slice = unread.cells().len();
        let never_read: Vec<Variable> = (0..self.spec.input_len())
            .filter(|index| {
                unread
                    .cells()
                    .get(index % per_slice)
                    .copied()
                    .flatten()
                    .is_some()
            })
            .map(|index| Variable::new(Tensor::GradInput, index))
            .collect();
        let remainder = self.spec.axes().iter().any(|axis| axis.remainder() > 0);
        let mut inlines = variable_list(&zero, 64);
        inlines.push(text(format!(
            " {} 0",
            if zero.len() == 1 { "is" } else { "are" }
        )));
        if never_read == zero {
            let reasons: Vec<Unread> = unread.cells().iter().copied().flatten().collect();
            let why = match (
                reasons.contains(&Unread::Remainder),
                reasons.contains(&Unread::Gap),
            ) {
                (true, false) => "in the remainder r",
                (false, _) => "in the stride's gaps",
                (true, true) => "in the remainder r or the stride's gaps",
            };
            inlines.push(text(format!(
                ": exactly the inputs step 1 found never read, {why}.{}",
                if remainder {
                    " The padding's + r is what keeps their rows in the result."
                } else {
                    ""
                }
            )));
        } else {
            inlines.push(text(
                ", which is not the set of inputs step 1 found never read: the construction and the reading pattern disagree.",
            ));
        }
        vec![Block::Paragraph(inlines)]
    }
}
