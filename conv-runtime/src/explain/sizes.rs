//! Step 1, the layer and its sizes: the tensors' shapes, each axis's numbers, and the
//! formulas that give the effective kernel, the padding, the output length and the
//! remainder. The inputs never read close the step (see [`super::never_read`]).

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use super::builder::Builder;
use super::document::{Block, Formula, Step, Table};
use super::wording::{axis_names, paragraph, shape_text};
use crate::spec::{Axis, Padding};

impl Builder<'_> {
    /// Step 1: the layer, its tensors and the sizes along each axis.
    pub(super) fn sizes(&self) -> Step {
        let spec = self.spec;
        let mut blocks = vec![paragraph(format!(
            "The layer: {spec}. Tensors are row-major, and each element is named by its tensor's letter and its 1-based position in that order."
        ))];
        let mut rows = vec![
            vec![
                "x (input)".into(),
                format!("[batch, cin, in…] = {}", shape_text(&spec.input_shape())),
                spec.input_len().to_string(),
            ],
            vec![
                "w (weight)".into(),
                format!(
                    "[cout, cin/groups, k…] = {}",
                    shape_text(&spec.weight_shape())
                ),
                spec.weight_len().to_string(),
            ],
            vec![
                "z (output)".into(),
                format!("[batch, cout, out…] = {}", shape_text(&spec.output_shape())),
                spec.output_len().to_string(),
            ],
        ];
        if spec.bias() {
            rows.push(vec![
                "b (bias)".into(),
                format!("[cout] = {}", spec.out_channels()),
                spec.bias_len().to_string(),
            ]);
        }
        blocks.push(Block::Table(Table {
            header: vec!["tensor".into(), "shape".into(), "elements".into()],
            rows,
        }));

        let names = axis_names(self.rank());
        let rows = spec
            .axes()
            .iter()
            .zip(names)
            .map(|(axis, &(_, plural_name))| {
                vec![
                    plural_name.to_string(),
                    axis.input().to_string(),
                    axis.kernel().to_string(),
                    axis.stride().to_string(),
                    axis.dilation().to_string(),
                    format!("({}, {})", axis.pad_before(), axis.pad_after()),
                    axis.effective_kernel().to_string(),
                    axis.output().to_string(),
                    axis.remainder().to_string(),
                ]
            })
            .collect();
        blocks.push(Block::Table(Table {
            header: ["axis", "in", "k", "s", "d", "pad", "k_eff", "out", "r"]
                .map(String::from)
                .to_vec(),
            rows,
        }));
        for (axis, &(_, name)) in spec.axes().iter().zip(names) {
            blocks.push(paragraph(format!("Along the {name}:")));
            blocks.push(Block::Formulas(self.axis_formulas(axis)));
        }
        blocks.extend(self.never_read());
        Step {
            title: "Sizes".into(),
            blocks,
        }
    }

    fn axis_formulas(&self, axis: &Axis) -> Vec<Formula> {
        let (input, kernel, stride, dilation) =
            (axis.input(), axis.kernel(), axis.stride(), axis.dilation());
        let (before, after, effective) =
            (axis.pad_before(), axis.pad_after(), axis.effective_kernel());
        let span = axis.padded_input() - effective;
        let mut formulas = vec![Formula {
            text: format!("k_eff = d·(k − 1) + 1 = {dilation}·({kernel} − 1) + 1 = {effective}"),
            latex: format!(
                "k_{{\\mathrm{{eff}}}} = d\\,(k - 1) + 1 = {dilation}\\cdot({kernel} - 1) + 1 = {effective}"
            ),
        }];
        if let Some(word) = self
            .spec
            .padding()
            .word()
            .filter(|_| self.spec.padding() != Padding::Valid)
        {
            let output = input.div_ceil(stride);
            let total = before + after;
            let (lo, hi) = if self.spec.padding() == Padding::SameLower {
                ("⌈total / 2⌉", "⌊total / 2⌋")
            } else {
                ("⌊total / 2⌋", "⌈total / 2⌉")
            };
            let (lo_latex, hi_latex) = if self.spec.padding() == Padding::SameLower {
                ("\\lceil t / 2 \\rceil", "\\lfloor t / 2 \\rfloor")
            } else {
                ("\\lfloor t / 2 \\rfloor", "\\lceil t / 2 \\rceil")
            };
            formulas.push(Formula {
                text: format!(
                    "{word}: out = ⌈in / s⌉ = ⌈{input} / {stride}⌉ = {output}, total = max((out − 1)·s + k_eff − in, 0) = max({}·{stride} + {effective} − {input}, 0) = {total}, pad = ({lo}, {hi}) = ({before}, {after})",
                    output - 1
                ),
                latex: format!(
                    "\\text{{{}}}:\\ \\mathit{{out}} = \\lceil {input} / {stride} \\rceil = {output},\\ t = \\max({}\\cdot{stride} + {effective} - {input}, 0) = {total},\\ (\\mathit{{pad}}_{{\\mathrm{{lo}}}}, \\mathit{{pad}}_{{\\mathrm{{hi}}}}) = ({lo_latex}, {hi_latex}) = ({before}, {after})",
                    word.replace('_', "\\_"),
                    output - 1
                ),
            });
        }
        formulas.push(Formula {
            text: format!(
                "out = ⌊(in + pad_lo + pad_hi − k_eff) / s⌋ + 1 = ⌊({input} + {before} + {after} − {effective}) / {stride}⌋ + 1 = {}",
                axis.output()
            ),
            latex: format!(
                "\\mathit{{out}} = \\left\\lfloor \\frac{{\\mathit{{in}} + \\mathit{{pad}}_{{\\mathrm{{lo}}}} + \\mathit{{pad}}_{{\\mathrm{{hi}}}} - k_{{\\mathrm{{eff}}}}}}{{s}} \\right\\rfloor + 1 = \\left\\lfloor \\frac{{{input} + {before} + {after} - {effective}}}{{{stride}}} \\right\\rfloor + 1 = {}",
                axis.output()
            ),
        });
        formulas.push(Formula {
            text: format!(
                "r = (in + pad_lo + pad_hi − k_eff) mod s = ({input} + {before} + {after} − {effective}) mod {stride} = {}",
                axis.remainder()
            ),
            latex: format!(
                "r = (\\mathit{{in}} + \\mathit{{pad}}_{{\\mathrm{{lo}}}} + \\mathit{{pad}}_{{\\mathrm{{hi}}}} - k_{{\\mathrm{{eff}}}}) \\bmod s = ({input} + {before} + {after} - {effective}) \\bmod {stride} = {}",
                axis.remainder()
            ),
        });
        debug_assert_eq!(span % stride, axis.remainder());
        formulas
    }
}
