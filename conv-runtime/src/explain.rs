//! `convsym explain`: the seed's derivation for any layer, written out the way a textbook
//! would, with every matrix and equation computed from the specification.
//!
//! [`explain`] builds an [`Explanation`], a plain document of steps and blocks; the
//! submodules print it ([`text`], [`latex`], [`markdown`]) and [`svg`] draws which inputs
//! each output reads. The grids shown are the ones [`crate::construction`] computes, made by
//! the same [`Grid`] operations with the same amounts, and the closing step compares the
//! construction's equations with the chain rule's in [`crate::derive`].
//!
//! ```
//! use conv_runtime::{Spec, explain};
//!
//! let spec = Spec::parse("in=5 k=3 stride=2").unwrap();
//! let explanation = explain::explain(&spec, explain::Limits::default()).unwrap();
//! assert!(explanation.agrees());
//! assert!(explain::text::render(&explanation).contains("dw1 = d1*x1 + d2*x3 + d3*x11 + d4*x13"));
//! ```

pub mod latex;
pub mod markdown;
pub mod svg;
pub mod text;

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use crate::construction;
use crate::derive::{self, Section};
use crate::grid::Grid;
use crate::spec::Unread;
use crate::{Axis, Equation, Expr, Padding, Spec, Tensor, Variable};

/// How much of a large layer an explanation shows; whatever it leaves out, it says so.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Slices (a batch element with a channel) drawn per step.
    pub slices: usize,
    /// Correlation windows drawn per slice.
    pub windows: usize,
    /// Equations listed per block.
    pub equations: usize,
    /// Cells of the largest grid drawn; larger ones are described instead.
    pub cells: usize,
}

impl Default for Limits {
    /// Enough to show the seed and other small layers in full.
    fn default() -> Self {
        Limits {
            slices: 4,
            windows: 25,
            equations: 200,
            cells: 400,
        }
    }
}

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
    agrees: bool,
}

impl Explanation {
    /// Whether both constructions gave the chain rule's equations, term for term.
    pub fn agrees(&self) -> bool {
        self.agrees
    }
}

/// The most elements an explanation may build: grid cells and construction terms, counted
/// by [`size`]. An explanation builds both constructions in full and draws every grid, so a
/// larger layer is refused rather than allowed to exhaust memory.
pub const LARGEST: usize = 1 << 22;

/// A layer too large to explain (see [`LARGEST`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooLarge {
    /// The elements its explanation would build (saturated at `usize::MAX`).
    pub elements: usize,
}

impl core::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("the layer is too large to explain: its constructions build ")?;
        if self.elements == usize::MAX {
            f.write_str("more elements than can be counted")?;
        } else {
            write!(f, "{} elements, more than {LARGEST}", self.elements)?;
        }
        f.write_str("; `convsym` without `explain` streams its equations")
    }
}

#[cfg(feature = "std")]
impl std::error::Error for TooLarge {}

/// The elements an explanation of `spec` builds: the padded input slice of every
/// weight-gradient correlation, the padded, dilated δ of every input-gradient correlation,
/// and the terms of both constructions. Saturates rather than overflows.
pub fn size(spec: &Spec) -> usize {
    let product = |sizes: &mut dyn Iterator<Item = usize>| sizes.fold(1, usize::saturating_mul);
    let axes = spec.axes();
    let padded_input = product(&mut axes.iter().map(Axis::padded_input));
    let padded_delta = product(&mut axes.iter().map(|a| {
        a.input()
            .saturating_add(a.effective_kernel())
            .saturating_sub(1)
    }));
    let pairs = spec.batch().saturating_mul(spec.out_channels());
    let weight_slices = pairs.saturating_mul(spec.in_channels_per_group());
    [
        weight_slices.saturating_mul(padded_input),
        weight_slices.saturating_mul(padded_delta),
        usize::try_from(spec.multiply_adds())
            .unwrap_or(usize::MAX)
            .saturating_mul(2),
    ]
    .into_iter()
    .fold(0, usize::saturating_add)
}

/// `Ok` when `spec` is small enough to explain or draw.
///
/// # Errors
///
/// [`TooLarge`] past [`LARGEST`] elements.
pub fn fits(spec: &Spec) -> Result<(), TooLarge> {
    let elements = size(spec);
    if elements > LARGEST {
        Err(TooLarge { elements })
    } else {
        Ok(())
    }
}

/// Explains `spec`: sizes, forward equations, δ dilated and padded, the two gradient
/// constructions window by window, and their comparison with the chain rule.
///
/// # Errors
///
/// [`TooLarge`] for a layer past [`LARGEST`] elements (see [`size`]).
pub fn explain(spec: &Spec, limits: Limits) -> Result<Explanation, TooLarge> {
    fits(spec)?;
    let builder = Builder { spec, limits };
    let weight_gradient = construction::grad_weight(spec);
    let input_gradient = construction::grad_input(spec);
    let (agreement, agrees) = builder.agreement(&weight_gradient, &input_gradient);
    Ok(Explanation {
        spec: spec.to_string(),
        steps: vec![
            builder.sizes(),
            builder.forward(),
            builder.delta(),
            builder.weight_gradient(&weight_gradient),
            builder.input_gradient(&input_gradient),
            agreement,
        ],
        agrees,
    })
}

/// The names of the spatial axes of a layer of `rank` axes, singular and plural.
pub fn axis_names(rank: usize) -> &'static [(&'static str, &'static str)] {
    match rank {
        1 => &[("position", "positions")],
        2 => &[("row", "rows"), ("column", "columns")],
        _ => &[("plane", "planes"), ("row", "rows"), ("column", "columns")],
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

/// Values per axis as prose: `1 on every axis`, or `(2, 2) along the rows, (1, 3) along the
/// columns`.
fn along(values: &[String]) -> String {
    match values {
        [first, rest @ ..] if !rest.is_empty() && rest.iter().all(|v| v == first) => {
            format!("{first} on every axis")
        }
        _ => {
            let parts: Vec<String> = values
                .iter()
                .zip(axis_names(values.len()))
                .map(|(v, (_, many))| format!("{v} along the {many}"))
                .collect();
            parts.join(", ")
        }
    }
}

/// `count` things, with the plural when it is not 1: `1 window`, `3 windows`.
fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

/// `the dw equation` or `all 9 dw equations`.
fn every(count: usize, name: &str) -> String {
    if count == 1 {
        format!("the {name} equation")
    } else {
        format!("all {count} {name} equations")
    }
}

fn text(words: impl Into<String>) -> Inline {
    Inline::Text(words.into())
}

fn paragraph(words: impl Into<String>) -> Block {
    Block::Paragraph(vec![text(words)])
}

/// A list of variables as prose, `x6, x12 and x18`, cut to `limit` with the rest counted.
fn variable_list(variables: &[Variable], limit: usize) -> Vec<Inline> {
    let mut inlines = Vec::new();
    let shown = variables.len().min(limit);
    for (i, &variable) in variables.iter().take(shown).enumerate() {
        if i > 0 {
            let last = i + 1 == shown && shown == variables.len();
            inlines.push(text(if last { " and " } else { ", " }));
        }
        inlines.push(Inline::Variable(variable));
    }
    if shown < variables.len() {
        inlines.push(text(format!(" and {} more", variables.len() - shown)));
    }
    inlines
}

/// Positions `first, first + step, …` (`count` of them), 1-based, as `1–3` or `1, 3, 5`.
fn positions(first: usize, step: usize, count: usize) -> String {
    let first = first + 1;
    match count {
        0 => String::new(),
        1 => first.to_string(),
        _ if step == 1 => format!("{first}–{}", first + count - 1),
        _ => {
            let all: Vec<String> = (0..count).map(|i| (first + i * step).to_string()).collect();
            all.join(", ")
        }
    }
}

fn signed_pair((before, after): (isize, isize)) -> String {
    format!("({before}, {after})")
}

fn shape_text(shape: &[usize]) -> String {
    if let [length] = shape {
        return format!("length {length}");
    }
    let sizes: Vec<String> = shape.iter().map(ToString::to_string).collect();
    sizes.join("×")
}

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
struct Correlation<'g> {
    grid: &'g Grid<Option<Variable>>,
    /// What `grid` is, for the window labels.
    of: &'g str,
    kernel: &'g Grid<Option<Variable>>,
    dilation: &'g [usize],
    stride: &'g [usize],
    /// The gradient the windows' sums belong to, and the flat index of the slice's first
    /// element in it.
    target: Tensor,
    first: usize,
    /// Whether other slices add to the same elements.
    partial: bool,
}

/// `δ`, `δ (batch 2)`, `δ (batch 1, output channel 3)`: the slice's coordinates, where
/// there is more than one.
fn slice_label(name: &str, first: (&str, usize, usize), second: (&str, usize, usize)) -> String {
    let parts: Vec<String> = [first, second]
        .into_iter()
        .filter(|&(_, _, count)| count > 1)
        .map(|(what, index, _)| format!("{what} {}", index + 1))
        .collect();
    if parts.is_empty() {
        name.to_string()
    } else {
        format!("{name} ({})", parts.join(", "))
    }
}

struct Builder<'a> {
    spec: &'a Spec,
    limits: Limits,
}

impl Builder<'_> {
    fn rank(&self) -> usize {
        self.spec.axes().len()
    }

    fn per_axis<T>(&self, f: impl Fn(&Axis) -> T) -> Vec<T> {
        self.spec.axes().iter().map(f).collect()
    }

    fn equations_block(&self, equations: impl ExactSizeIterator<Item = Equation>) -> Block {
        let total = equations.len();
        let equations: Vec<Equation> = equations.take(self.limits.equations).collect();
        Block::Equations {
            omitted: total - equations.len(),
            equations,
        }
    }

    /// Says how many slices were left out, `one` and `many` naming them.
    fn omitted_slices(&self, blocks: &mut Vec<Block>, total: usize, (one, many): (&str, &str)) {
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

    fn sizes(&self) -> Step {
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

    /// Which positions and elements the forward pass never reads, and why.
    fn never_read(&self) -> Vec<Block> {
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

    fn forward(&self) -> Step {
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

    fn delta(&self) -> Step {
        let spec = self.spec;
        let strides = self.per_axis(Axis::stride);
        let padding = construction::delta_padding(spec);
        let output_shape = spec.output_shape();
        let zeros: Vec<String> = strides.iter().map(|s| (s - 1).to_string()).collect();
        let lengths: Vec<String> = spec
            .axes()
            .iter()
            .map(|a| {
                format!(
                    "({} − 1)·{} + 1 = {}",
                    a.output(),
                    a.stride(),
                    (a.output() - 1) * a.stride() + 1
                )
            })
            .collect();
        let amounts: Vec<String> = padding.iter().copied().map(signed_pair).collect();
        let mut blocks = vec![
            paragraph("δ = ∂L/∂z, written d in equations, has the shape of z."),
            paragraph(format!(
                "Dilating δ by the stride inserts s − 1 zeros between neighbouring entries: {}. Its length becomes (out − 1)·s + 1: {}.",
                along(&zeros),
                lengths.join(", ")
            )),
            paragraph(format!(
                "Padding the dilated δ by (k_eff − 1 − pad_lo, k_eff − 1 − pad_hi + r), {}, gives the input gradient room for a full correlation; the + r restores the positions the forward pass never read.",
                along(&amounts)
            )),
        ];
        let slices = spec.batch() * spec.out_channels();
        for flat in 0..slices.min(self.limits.slices) {
            let (batch, out_channel) = (flat / spec.out_channels(), flat % spec.out_channels());
            let label = slice_label(
                "δ",
                ("batch", batch, spec.batch()),
                ("output channel", out_channel, spec.out_channels()),
            );
            let delta = construction::slice(Tensor::Delta, &output_shape, batch, out_channel);
            let dilated = delta.dilate(&strides);
            let padded = dilated.pad(&padding);
            blocks.push(self.matrix(format!("{label}, {}", shape_text(delta.shape())), delta));
            blocks.push(self.matrix(
                format!(
                    "{label} dilated by the stride, {}",
                    shape_text(dilated.shape())
                ),
                dilated,
            ));
            blocks.push(self.matrix(
                format!("{label} dilated and padded, {}", shape_text(padded.shape())),
                padded,
            ));
        }
        self.omitted_slices(&mut blocks, slices, ("δ slice", "δ slices"));
        Step {
            title: "δ, dilated and padded".into(),
            blocks,
        }
    }

    fn weight_gradient(&self, equations: &[Equation]) -> Step {
        let spec = self.spec;
        let strides = self.per_axis(Axis::stride);
        let dilations = self.per_axis(Axis::dilation);
        let crop = construction::input_padding(spec);
        let ones = vec![1; self.rank()];
        let (input_shape, output_shape) = (spec.input_shape(), spec.output_shape());
        let dilation_text: Vec<String> = dilations.iter().map(ToString::to_string).collect();
        let crop_text: Vec<String> = crop.iter().copied().map(signed_pair).collect();
        let kernel_size: usize = spec.axes().iter().map(Axis::kernel).product();
        let mut blocks = vec![paragraph(format!(
            "∂L/∂w[o, c', q] = Σ_{{n, p}} δ[n, o, p] · x[n, c, p·s + q·d − pad_lo] is a correlation with the roles of the stride and the dilation swapped: the dilated δ slides over the input as a kernel, in steps of the dilation d ({}), with stride 1 inside the window. The input is first padded by (pad_lo, pad_hi − r): {} (a negative amount crops the positions the forward pass never read). Each window gives one weight gradient element.",
            along(&dilation_text),
            along(&crop_text)
        ))];
        let (groups_in, batch) = (spec.in_channels_per_group(), spec.batch());
        let slices = spec.out_channels() * groups_in * batch;
        let mut shown = 0;
        'slices: for out_channel in 0..spec.out_channels() {
            for channel_in_group in 0..groups_in {
                let channel = spec.group_of_output(out_channel) * groups_in + channel_in_group;
                for n in 0..batch {
                    if shown == self.limits.slices {
                        break 'slices;
                    }
                    shown += 1;
                    let x_label = slice_label(
                        "x",
                        ("batch", n, batch),
                        ("channel", channel, spec.in_channels()),
                    );
                    let x = construction::slice(Tensor::Input, &input_shape, n, channel);
                    let padded = x.pad(&crop);
                    let delta = construction::slice(Tensor::Delta, &output_shape, n, out_channel)
                        .dilate(&strides);
                    let (label, of) = if crop.iter().all(|&amount| amount == (0, 0)) {
                        (format!("{x_label}, {}", shape_text(x.shape())), x_label)
                    } else {
                        (
                            format!(
                                "{x_label} padded by {}, {}",
                                along(&crop_text),
                                shape_text(padded.shape())
                            ),
                            format!("{x_label} (padded)"),
                        )
                    };
                    blocks.push(self.matrix(label, padded.clone()));
                    self.windows(
                        &mut blocks,
                        &Correlation {
                            grid: &padded,
                            of: &of,
                            kernel: &delta,
                            dilation: &ones,
                            stride: &dilations,
                            target: Tensor::GradWeight,
                            first: (out_channel * groups_in + channel_in_group) * kernel_size,
                            partial: batch > 1,
                        },
                    );
                }
            }
        }
        self.omitted_slices(
            &mut blocks,
            slices,
            ("pair of input and δ slices", "pairs of input and δ slices"),
        );
        if batch > 1 {
            blocks.push(paragraph(format!(
                "Each weight gradient element sums the parts from the {batch} batch elements:"
            )));
        } else {
            blocks.push(paragraph("The weight gradient:"));
        }
        blocks.push(self.equations_block(equations.iter().cloned()));
        if spec.bias() {
            blocks.push(paragraph(
                "The bias gradient sums δ over each output channel:",
            ));
            blocks.push(self.equations_block(derive::grad_bias(spec)));
        }
        Step {
            title: "Weight gradient: the input correlated with the dilated δ".into(),
            blocks,
        }
    }

    fn input_gradient(&self, equations: &[Equation]) -> Step {
        let spec = self.spec;
        let strides = self.per_axis(Axis::stride);
        let dilations = self.per_axis(Axis::dilation);
        let padding = construction::delta_padding(spec);
        let ones = vec![1; self.rank()];
        let (weight_shape, output_shape) = (spec.weight_shape(), spec.output_shape());
        let input_slice: usize = spec.axes().iter().map(Axis::input).product();
        let mut blocks = vec![paragraph(
            "∂L/∂x[n, c, i] = Σ δ[n, o, p] · w[o, c', q] over p·s + q·d − pad_lo = i is the full correlation of the padded, dilated δ with the kernel rotated by 180° (flipped along every axis), the kernel's taps d apart, stride 1. Each window gives one input gradient element.",
        )];
        let outputs_per_group = spec.out_channels_per_group();
        let slices = spec.batch() * spec.in_channels() * outputs_per_group;
        let mut shown = 0;
        'slices: for n in 0..spec.batch() {
            for channel in 0..spec.in_channels() {
                let group = channel / spec.in_channels_per_group();
                let channel_in_group = channel % spec.in_channels_per_group();
                for out_channel in group * outputs_per_group..(group + 1) * outputs_per_group {
                    if shown == self.limits.slices {
                        break 'slices;
                    }
                    shown += 1;
                    let delta_label = slice_label(
                        "δ",
                        ("batch", n, spec.batch()),
                        ("output channel", out_channel, spec.out_channels()),
                    );
                    let w_label = slice_label(
                        "w",
                        ("output channel", out_channel, spec.out_channels()),
                        (
                            "input channel",
                            channel_in_group,
                            spec.in_channels_per_group(),
                        ),
                    );
                    let kernel = construction::slice(
                        Tensor::Weight,
                        &weight_shape,
                        out_channel,
                        channel_in_group,
                    );
                    let rotated = kernel.rotate();
                    let delta = construction::slice(Tensor::Delta, &output_shape, n, out_channel)
                        .dilate(&strides)
                        .pad(&padding);
                    blocks.push(
                        self.matrix(format!("{w_label}, {}", shape_text(kernel.shape())), kernel),
                    );
                    blocks.push(self.matrix(format!("{w_label} rotated by 180°"), rotated.clone()));
                    self.windows(
                        &mut blocks,
                        &Correlation {
                            grid: &delta,
                            of: &format!("{delta_label} (dilated, padded)"),
                            kernel: &rotated,
                            dilation: &dilations,
                            stride: &ones,
                            target: Tensor::GradInput,
                            first: (n * spec.in_channels() + channel) * input_slice,
                            partial: outputs_per_group > 1,
                        },
                    );
                }
            }
        }
        self.omitted_slices(
            &mut blocks,
            slices,
            (
                "pair of δ and kernel slices",
                "pairs of δ and kernel slices",
            ),
        );
        if outputs_per_group > 1 {
            blocks.push(paragraph(format!(
                "Each input gradient element sums the parts from the {outputs_per_group} output channels that read its channel:"
            )));
        } else {
            blocks.push(paragraph("The input gradient:"));
        }
        blocks.push(self.equations_block(equations.iter().cloned()));
        blocks.extend(self.zero_rows(equations));
        Step {
            title: "Input gradient: the padded, dilated δ correlated with the rotated kernel"
                .into(),
            blocks,
        }
    }

    /// The `dx = 0` rows, held against the inputs step 1 found never read.
    fn zero_rows(&self, equations: &[Equation]) -> Vec<Block> {
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

    /// A grid to draw, or a sentence saying it is too large to.
    fn matrix(&self, label: String, grid: Grid<Option<Variable>>) -> Block {
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

    /// The correlation's windows, each with its sum, up to the window limit.
    fn windows(&self, blocks: &mut Vec<Block>, correlation: &Correlation<'_>) {
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

    fn agreement(&self, weight_gradient: &[Equation], input_gradient: &[Equation]) -> (Step, bool) {
        let spec = self.spec;
        let mut differences = Vec::new();
        let mut compare = |name: &str, construction: &[Equation], chain: derive::Equations<'_>| {
            let count = chain.len();
            if construction.len() != count {
                differences.push(vec![text(format!(
                    "the construction gives {} {name} equations, the chain rule {count}",
                    construction.len()
                ))]);
            }
            for (built, derived) in construction.iter().zip(chain) {
                if built != &derived {
                    differences.push(vec![
                        Inline::Variable(derived.lhs),
                        text(format!(
                            ": the construction gives {}, the chain rule {}",
                            built.rhs, derived.rhs
                        )),
                    ]);
                }
            }
        };
        compare(
            "dw",
            weight_gradient,
            derive::equations(spec, Section::GradWeight),
        );
        compare(
            "dx",
            input_gradient,
            derive::equations(spec, Section::GradInput),
        );
        let agrees = differences.is_empty();
        let mut blocks = Vec::new();
        if agrees {
            blocks.push(paragraph(format!(
                "Both constructions equal the chain rule's equations term for term: {} of step 4 and {} of step 5 are exactly those of ∂L/∂w[o, c', q] = Σ δ[n, o, p] · x[n, c, p·s + q·d − pad_lo] and ∂L/∂x[n, c, i] = Σ δ[n, o, p] · w[o, c', q], each compared in full.",
                every(weight_gradient.len(), "dw"),
                every(input_gradient.len(), "dx")
            )));
        } else {
            blocks.push(paragraph(format!(
                "The constructions differ from the chain rule in {}; this is a bug in convsym:",
                plural(differences.len(), "place", "places")
            )));
            let total = differences.len();
            for difference in differences.into_iter().take(self.limits.equations) {
                blocks.push(Block::Paragraph(difference));
            }
            if total > self.limits.equations {
                blocks.push(paragraph(format!(
                    "and {} more.",
                    total - self.limits.equations
                )));
            }
        }
        (
            Step {
                title: "Check".into(),
                blocks,
            },
            agrees,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> Spec {
        Spec::parse(text).unwrap()
    }

    /// The windows shown are the ones the correlation reads: the products of each window's
    /// cells with the kernel, summed over the slices, give the construction's equations.
    fn windows_sum_to_construction(spec: &Spec) {
        let explanation = explain(
            spec,
            Limits {
                slices: usize::MAX,
                windows: usize::MAX,
                equations: usize::MAX,
                cells: usize::MAX,
            },
        )
        .unwrap();
        assert!(explanation.agrees());
        let mut sums: alloc::collections::BTreeMap<Variable, Expr> =
            alloc::collections::BTreeMap::new();
        for step in &explanation.steps {
            for block in &step.blocks {
                if let Block::Window(window) = block {
                    let products = Expr::from_terms(
                        window
                            .cells
                            .cells()
                            .iter()
                            .zip(window.kernel.cells())
                            .filter_map(|(a, b)| Some(crate::Term::product((*a)?, (*b)?))),
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
            windows_sum_to_construction(&spec(text));
        }
    }

    #[test]
    fn unread_positions_follow_the_remainder() {
        let unread = unread_positions(&spec("in=6 k=3 stride=2"));
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

    #[test]
    fn grids_past_the_limit_are_described_not_drawn() {
        let limits = Limits {
            cells: 9,
            ..Limits::default()
        };
        let explanation = explain(&spec("in=5 k=3 stride=2"), limits).unwrap();
        let text = text::render(&explanation);
        assert!(
            text.contains(
                "δ dilated and padded, 7×7: 49 cells, more than the 9 drawn, so not drawn."
            )
        );
        assert!(text.contains("x, 5×5: 25 cells, more than the 9 drawn, so not drawn."));
        // The 3×3 windows are still drawn, and every equation listed.
        assert!(text.contains("→  dw9 = d1*x13 + d2*x15 + d3*x23 + d4*x25"));
        assert!(text.contains("\n    dx25 = d4*w9\n"));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

        /// Any small layer explains without a panic, in every format, its constructions
        /// agreeing with the chain rule, and (1-D or 2-D) draws.
        #[test]
        fn any_small_layer_explains(
            rank in 1usize..=3,
            input in proptest::collection::vec(3usize..=7, 3),
            kernel in proptest::collection::vec(1usize..=3, 3),
            stride in proptest::collection::vec(1usize..=3, 3),
            dilation in proptest::collection::vec(1usize..=2, 3),
            pad in 0usize..=1,
            channels in 1usize..=2,
            batch in 1usize..=2,
        ) {
            let tuple = |values: &[usize]| {
                let items: Vec<String> = values[..rank].iter().map(ToString::to_string).collect();
                format!("({}{})", items.join(","), if rank == 1 { "," } else { "" })
            };
            let text = format!(
                "in={} k={} stride={} dilation={} pad={pad} cin={channels} cout={channels} batch={batch}",
                tuple(&input), tuple(&kernel), tuple(&stride), tuple(&dilation)
            );
            let Ok(spec) = Spec::parse(&text) else {
                return Ok(());
            };
            let explanation = explain(&spec, Limits::default()).unwrap();
            proptest::prop_assert!(explanation.agrees(), "{}", text);
            let _ = (text::render(&explanation), latex::render(&explanation), markdown::render(&explanation));
            proptest::prop_assert_eq!(svg::render(&spec, Limits::default()).is_ok(), rank < 3);
        }
    }

    #[test]
    fn positions_read_as_ranges_or_lists() {
        assert_eq!(positions(0, 1, 3), "1–3");
        assert_eq!(positions(2, 2, 3), "3, 5, 7");
        assert_eq!(positions(4, 1, 1), "5");
    }
}
