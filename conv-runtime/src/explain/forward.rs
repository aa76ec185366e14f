//! Step 2, the forward pass: the correlation formula and every output's equation.

use alloc::vec;

use super::builder::Builder;
use super::document::{Block, Formula, Step};
use super::wording::paragraph;
use crate::symbolic::derive;

impl Builder<'_> {
    /// Step 2: the forward equations.
    pub(super) fn forward(&self) -> Step {
        let mut blocks = vec![
            paragraph("Each output is the sum of the kernel times the input window under it (cross-correlation, no kernel flip):"),
            Block::Formulas(vec![Formula {
                text: "z[n, o, p] = Σ_{c, q} w[o, c', q] · x[n, c, p·s + q·d − pad_lo]".into(),
                latex: "z[n, o, p] = \\sum_{c,\\,q} w[o, c', q]\\; x[n, c, p\\,s + q\\,d - \\mathit{pad}_{\\mathrm{lo}}]".into(),
            }]),
        ];
        if self.spec.bias() {
            blocks.push(paragraph("plus the bias b[o] of the output channel."));
        }
        blocks.push(self.equations_block(derive::forward(self.spec)));
        Step {
            title: "Forward equations".into(),
            blocks,
        }
    }
}
