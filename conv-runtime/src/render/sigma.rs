//! One formula per tensor, with the index arithmetic written out instead of unrolled. For
//! the seed (`in=5 k=3 stride=2`):
//!
//! ```text
//! # Σ notation, 0-based: a summed index runs over the whole axis it indexes; d = ∂L/∂z
//! # shapes: x 5×5, w 3×3, z 2×2, d 2×2
//! z[i, j] = Σ_{a,b} w[a, b]·x[2i+a, 2j+b]
//! dx[i, j] = Σ_{a,b : 2 | i−a, 0 ≤ i−a ≤ 2, 2 | j−b, 0 ≤ j−b ≤ 2} d[(i−a)/2, (j−b)/2]·w[a, b]
//! dw[a, b] = Σ_{i,j} d[i, j]·x[2i+a, 2j+b]
//! ```
//!
//! Index letters: `n` batch, `o` output channel, `c` input channel (within its group on a
//! weight), `i, j, l` positions on the output (on the input for `dx`), `a, b, e` kernel taps.
//! A batch or channel axis of size 1 gets no index. `x̃` (only with padding) is `x` with zeros
//! outside the input; `s | t` reads "s divides t", `⌊o/3⌋` is floor division.
//!
//! A transposed layer's formulas are those of the ordinary layer of the same connections
//! (its dual) read backwards, with `x` and `δ` swapped: the forward pass gathers, for
//! output `i`, the inputs `(i + pad_lo − d·a)/s` that scatter to it, and `d̃` is `d` with
//! zeros outside the output. For `in=2 k=3 stride=2 transposed`:
//!
//! ```text
//! z[i] = Σ_{a : 2 | i−a, 0 ≤ i−a ≤ 2} x[(i−a)/2]·w[a]
//! dx[i] = Σ_{a} w[a]·d[2i+a]
//! dw[a] = Σ_{i} x[i]·d[2i+a]
//! ```

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use crate::spec::{Axis, Spec};
use crate::symbolic::derive::Section;

mod transposed;

/// Index letters for positions, one per spatial axis.
const POSITIONS: [&str; 3] = ["i", "j", "l"];
/// Index letters for kernel taps, one per spatial axis.
const TAPS: [&str; 3] = ["a", "b", "e"];

/// Writes a two-line header (the convention and the shapes), then the formula of each of
/// `sections` in that order; `db` only when the layer has a bias.
///
/// # Errors
///
/// The first error `out` returns.
pub fn write<W: fmt::Write + ?Sized>(
    out: &mut W,
    spec: &Spec,
    sections: &[Section],
) -> fmt::Result {
    if spec.transposed() {
        return transposed::write(out, spec, sections);
    }
    let layer = Layer { spec };
    layer.header(out)?;
    for &section in sections {
        let formula = match section {
            Section::Forward => layer.forward(),
            Section::GradInput => layer.grad_input(),
            Section::GradWeight => layer.grad_weight(),
            Section::GradBias if spec.bias() => layer.grad_bias(),
            Section::GradBias => continue,
        };
        writeln!(out, "{formula}")?;
    }
    Ok(())
}

/// A tensor element: `x[2i+a, 2j+b]`, or the bare name when no index is shown.
struct Indexed {
    tensor: &'static str,
    indices: Vec<String>,
}

impl Indexed {
    /// The element at the shown `indices` (`None`: an axis of size 1, left out).
    fn new(tensor: &'static str, indices: impl IntoIterator<Item = Option<String>>) -> Self {
        Indexed {
            tensor,
            indices: indices.into_iter().flatten().collect(),
        }
    }
}

impl fmt::Display for Indexed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tensor)?;
        if !self.indices.is_empty() {
            write!(f, "[{}]", self.indices.join(", "))?;
        }
        Ok(())
    }
}

/// `lhs = bias + Σ_{summed : conditions} factor·factor`.
struct Formula {
    lhs: Indexed,
    bias: Option<Indexed>,
    summed: Vec<String>,
    conditions: Vec<String>,
    factors: Vec<Indexed>,
}

impl fmt::Display for Formula {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} = ", self.lhs)?;
        if let Some(bias) = &self.bias {
            write!(f, "{bias} + ")?;
        }
        write!(f, "Σ_{{{}", self.summed.join(","))?;
        if !self.conditions.is_empty() {
            write!(f, " : {}", self.conditions.join(", "))?;
        }
        f.write_str("} ")?;
        for (i, factor) in self.factors.iter().enumerate() {
            let separator = if i > 0 { "·" } else { "" };
            write!(f, "{separator}{factor}")?;
        }
        Ok(())
    }
}

/// An affine index, `2i+a−1`: variables with their coefficients, then a constant.
#[derive(Default)]
struct Affine {
    /// `(negative, coefficient, variable)`.
    terms: Vec<(bool, usize, &'static str)>,
    /// `(negative, magnitude)`.
    constant: (bool, usize),
}

impl Affine {
    fn plus(mut self, coefficient: usize, variable: &'static str) -> Self {
        self.terms.push((false, coefficient, variable));
        self
    }

    fn minus(mut self, coefficient: usize, variable: &'static str) -> Self {
        self.terms.push((true, coefficient, variable));
        self
    }

    fn offset(mut self, negative: bool, magnitude: usize) -> Self {
        self.constant = (negative, magnitude);
        self
    }
}

impl fmt::Display for Affine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        let mut sign = |f: &mut fmt::Formatter<'_>, negative: bool| {
            let sign = match (first, negative) {
                (_, true) => "−",
                (true, false) => "",
                (false, false) => "+",
            };
            first = false;
            f.write_str(sign)
        };
        for &(negative, coefficient, variable) in &self.terms {
            if coefficient == 0 {
                continue;
            }
            sign(f, negative)?;
            if coefficient != 1 {
                write!(f, "{coefficient}")?;
            }
            f.write_str(variable)?;
        }
        let (negative, magnitude) = self.constant;
        if magnitude != 0 {
            sign(f, negative)?;
            write!(f, "{magnitude}")?;
        } else if first {
            f.write_str("0")?;
        }
        Ok(())
    }
}

/// The layer, and which of its indices are worth showing.
struct Layer<'a> {
    spec: &'a Spec,
}

impl Layer<'_> {
    fn header<W: fmt::Write + ?Sized>(&self, out: &mut W) -> fmt::Result {
        let spec = self.spec;
        out.write_str("# Σ notation, 0-based: a summed index runs over the whole axis it indexes")?;
        if self.padded() && spec.transposed() {
            out.write_str("; d̃ is d with zeros outside the output")?;
        } else if self.padded() {
            out.write_str("; x̃ is x with zeros outside the input")?;
        }
        out.write_str("; d = ∂L/∂z\n")?;
        let shown = |leading: [usize; 2], size: fn(&Axis) -> usize| -> String {
            let sizes: Vec<String> = leading
                .into_iter()
                .filter(|&size| size > 1)
                .chain(spec.axes().iter().map(size))
                .map(|size| size.to_string())
                .collect();
            sizes.join("×")
        };
        let (batch, cin, cout) = (spec.batch(), spec.in_channels(), spec.out_channels());
        let output = shown([batch, cout], Axis::output);
        let weight = spec.weight_shape();
        write!(
            out,
            "# shapes: x {}, w {}, z {output}, d {output}",
            shown([batch, cin], Axis::input),
            shown([weight[0], weight[1]], Axis::kernel),
        )?;
        if spec.bias() && cout > 1 {
            write!(out, ", b {cout}")?;
        }
        out.write_str("\n")
    }

    /// Whether any axis has padding, so that `x̃` rather than `x` is read.
    fn padded(&self) -> bool {
        self.spec
            .axes()
            .iter()
            .any(|axis| axis.pad_before() > 0 || axis.pad_after() > 0)
    }

    fn input_name(&self) -> &'static str {
        if self.padded() { "x̃" } else { "x" }
    }

    fn batch(&self) -> Option<String> {
        (self.spec.batch() > 1).then(|| "n".into())
    }

    fn out_channel(&self) -> Option<String> {
        (self.spec.out_channels() > 1).then(|| "o".into())
    }

    /// `c`, the input channel within its group, where a weight has more than one.
    fn channel_in_group(&self) -> Option<String> {
        (self.spec.in_channels_per_group() > 1).then(|| "c".into())
    }

    /// The input channel that output channel `o` reads as its group's `c`-th:
    /// `(cin/groups)·⌊o/(cout/groups)⌋ + c`.
    fn input_channel(&self) -> Option<String> {
        let spec = self.spec;
        if spec.in_channels() == 1 {
            return None;
        }
        if spec.groups() == 1 {
            return Some("c".into());
        }
        let (per_in, per_out) = (spec.in_channels_per_group(), spec.out_channels_per_group());
        let group = if per_out == 1 {
            "o".to_string()
        } else {
            format!("⌊o/{per_out}⌋")
        };
        Some(match per_in {
            1 => group,
            _ => format!("{per_in}{group}+c"),
        })
    }

    fn positions(&self) -> impl Iterator<Item = Option<String>> + '_ {
        POSITIONS
            .iter()
            .take(self.spec.axes().len())
            .map(|&position| Some(position.into()))
    }

    fn taps(&self) -> impl Iterator<Item = Option<String>> + '_ {
        TAPS.iter()
            .take(self.spec.axes().len())
            .map(|&tap| Some(tap.into()))
    }

    /// Per axis, the input position that output position `i` reads through tap `a`:
    /// `s·i + d·a − pad_lo`.
    fn sources(&self) -> impl Iterator<Item = Option<String>> + '_ {
        self.spec
            .axes()
            .iter()
            .zip(POSITIONS.iter().zip(TAPS))
            .map(|(axis, (&position, tap))| {
                let source = Affine::default()
                    .plus(axis.stride(), position)
                    .plus(axis.dilation(), tap)
                    .offset(true, axis.pad_before());
                Some(source.to_string())
            })
    }

    /// `z[n, o, i] = b[o] + Σ_{c, a} w[o, c, a] · x̃[n, group's c, s·i + d·a − pad_lo]`.
    fn forward(&self) -> Formula {
        let summed = self
            .channel_in_group()
            .into_iter()
            .chain(self.taps().flatten())
            .collect();
        Formula {
            lhs: Indexed::new(
                "z",
                [self.batch(), self.out_channel()]
                    .into_iter()
                    .chain(self.positions()),
            ),
            bias: self
                .spec
                .bias()
                .then(|| Indexed::new("b", [self.out_channel()])),
            summed,
            conditions: Vec::new(),
            factors: alloc::vec![
                Indexed::new(
                    "w",
                    [self.out_channel(), self.channel_in_group()]
                        .into_iter()
                        .chain(self.taps()),
                ),
                self.input(),
            ],
        }
    }

    /// `dx[n, c, i] = Σ_{o, a : s | i + pad_lo − d·a, in range} d[n, o, (i + pad_lo − d·a)/s] ·
    /// w[o, c within its group, a]` over the output channels of `c`'s group.
    fn grad_input(&self) -> Formula {
        let spec = self.spec;
        let (per_in, per_out) = (spec.in_channels_per_group(), spec.out_channels_per_group());
        let mut summed = Vec::new();
        let mut conditions = Vec::new();
        let group_of_input = if per_in == 1 {
            "c".to_string()
        } else {
            format!("⌊c/{per_in}⌋")
        };
        let out_channel = if spec.out_channels() == 1 {
            None
        } else if spec.groups() == 1 {
            summed.push("o".to_string());
            Some("o".to_string())
        } else if per_out == 1 {
            // One output channel per group: `o` is fixed by `c`, no sum over it.
            Some(group_of_input)
        } else {
            summed.push("o".to_string());
            conditions.push(format!("⌊o/{per_out}⌋ = {group_of_input}"));
            Some("o".to_string())
        };
        let weight_channel = match (per_in, spec.groups()) {
            (1, _) => None,
            (_, 1) => Some("c".to_string()),
            _ => Some(format!("c mod {per_in}")),
        };
        let mut targets = Vec::new();
        for (axis, (&position, &tap)) in spec.axes().iter().zip(POSITIONS.iter().zip(&TAPS)) {
            summed.push(tap.to_string());
            // Output `p` reads input `i` through tap `a` when `p·s = i + pad_lo − d·a`.
            let reach = Affine::default()
                .plus(1, position)
                .minus(axis.dilation(), tap)
                .offset(false, axis.pad_before());
            let stride = axis.stride();
            let last = stride * (axis.output() - 1);
            let always_in_range = axis.pad_before() >= axis.effective_kernel() - 1
                && axis.input() - 1 + axis.pad_before() <= last;
            if last == 0 {
                if !always_in_range {
                    conditions.push(format!("{reach} = 0"));
                }
            } else {
                if stride > 1 {
                    conditions.push(format!("{stride} | {reach}"));
                }
                if !always_in_range {
                    conditions.push(format!("0 ≤ {reach} ≤ {last}"));
                }
            }
            targets.push(Some(if stride > 1 {
                format!("({reach})/{stride}")
            } else {
                reach.to_string()
            }));
        }
        Formula {
            lhs: Indexed::new(
                "dx",
                [self.batch(), (spec.in_channels() > 1).then(|| "c".into())]
                    .into_iter()
                    .chain(self.positions()),
            ),
            bias: None,
            summed,
            conditions,
            factors: alloc::vec![
                Indexed::new(
                    "d",
                    [self.batch(), out_channel.clone()]
                        .into_iter()
                        .chain(targets),
                ),
                Indexed::new(
                    "w",
                    [out_channel, weight_channel].into_iter().chain(self.taps()),
                ),
            ],
        }
    }

    /// `dw[o, c, a] = Σ_{n, i} d[n, o, i] · x̃[n, group's c, s·i + d·a − pad_lo]`.
    fn grad_weight(&self) -> Formula {
        Formula {
            lhs: Indexed::new(
                "dw",
                [self.out_channel(), self.channel_in_group()]
                    .into_iter()
                    .chain(self.taps()),
            ),
            bias: None,
            summed: self.batch_and_positions(),
            conditions: Vec::new(),
            factors: alloc::vec![self.delta(), self.input()],
        }
    }

    /// `db[o] = Σ_{n, i} d[n, o, i]`.
    fn grad_bias(&self) -> Formula {
        Formula {
            lhs: Indexed::new("db", [self.out_channel()]),
            bias: None,
            summed: self.batch_and_positions(),
            conditions: Vec::new(),
            factors: alloc::vec![self.delta()],
        }
    }

    /// The batch index (when there is a batch) and the output positions: what the weight
    /// and bias gradients sum over.
    fn batch_and_positions(&self) -> Vec<String> {
        self.batch()
            .into_iter()
            .chain(self.positions().flatten())
            .collect()
    }

    /// `x̃[n, c, sources…]`: the input element a tap reads.
    fn input(&self) -> Indexed {
        Indexed::new(
            self.input_name(),
            [self.batch(), self.input_channel()]
                .into_iter()
                .chain(self.sources()),
        )
    }

    /// `d[n, o, i, j]`.
    fn delta(&self) -> Indexed {
        Indexed::new(
            "d",
            [self.batch(), self.out_channel()]
                .into_iter()
                .chain(self.positions()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn sigma(text: &str) -> String {
        let spec = Spec::parse(text).unwrap();
        let mut out = String::new();
        write(&mut out, &spec, &Section::ALL).unwrap();
        out
    }

    #[test]
    fn the_seed_reads_as_the_module_docs_say() {
        let expected = "\
# Σ notation, 0-based: a summed index runs over the whole axis it indexes; d = ∂L/∂z
# shapes: x 5×5, w 3×3, z 2×2, d 2×2
z[i, j] = Σ_{a,b} w[a, b]·x[2i+a, 2j+b]
dx[i, j] = Σ_{a,b : 2 | i−a, 0 ≤ i−a ≤ 2, 2 | j−b, 0 ≤ j−b ≤ 2} d[(i−a)/2, (j−b)/2]·w[a, b]
dw[a, b] = Σ_{i,j} d[i, j]·x[2i+a, 2j+b]
";
        assert_eq!(sigma("in=5 k=3 stride=2"), expected);
    }

    #[test]
    fn padding_dilation_and_groups_show_in_the_indices() {
        let text = sigma("in=(7,) k=3 dilation=2 pad=(1,) cin=4 cout=6 groups=2 bias");
        assert!(text.contains("z[o, i] = b[o] + Σ_{c,a} w[o, c, a]·x̃[2⌊o/3⌋+c, i+2a−1]"));
        assert!(text.contains("dx[c, i] = Σ_{o,a : ⌊o/3⌋ = ⌊c/2⌋, 0 ≤ i−2a+1 ≤ 4}"));
        assert!(text.contains("db[o] = Σ_{i} d[o, i]"));
    }

    #[test]
    fn affine_indices_print_signs_once() {
        let index = Affine::default()
            .minus(2, "a")
            .plus(1, "i")
            .offset(false, 3);
        assert_eq!(index.to_string(), "−2a+i+3");
        assert_eq!(Affine::default().plus(0, "a").to_string(), "0");
    }
}
