//! The Σ form of a transposed layer: the formulas of the ordinary layer of the same
//! connections, read backwards (see the parent module's documentation).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use super::{Formula, Indexed, Layer};
use crate::spec::Spec;
use crate::symbolic::derive::Section;

/// [`super::write`] for a transposed layer: its dual's formulas, renamed.
pub(super) fn write<W: fmt::Write + ?Sized>(
    out: &mut W,
    spec: &Spec,
    sections: &[Section],
) -> fmt::Result {
    let layer = Layer { spec };
    let connections = spec.connections();
    let dual = Layer { spec: &connections };
    layer.header(out)?;
    for &section in sections {
        let formula = match section {
            Section::Forward => Formula {
                bias: spec
                    .bias()
                    .then(|| Indexed::new("b", [layer.out_channel()])),
                ..dual.grad_input().transposed()
            },
            Section::GradInput => dual.forward().transposed(),
            Section::GradWeight => dual.grad_weight().transposed(),
            Section::GradBias if spec.bias() => layer.grad_bias(),
            Section::GradBias => continue,
        };
        writeln!(out, "{formula}")?;
    }
    Ok(())
}

impl Formula {
    /// The dual's formula as the transposed layer's: `x` and `δ` swapped, `z` and `dx`
    /// swapped, and the channel letters `o` and `c` swapped (the dual's output channel is
    /// the transposed layer's input channel).
    fn transposed(self) -> Formula {
        let rename = |element: Indexed| Indexed {
            tensor: match element.tensor {
                "x" => "d",
                "x̃" => "d̃",
                "d" => "x",
                "z" => "dx",
                "dx" => "z",
                other => other,
            },
            indices: element
                .indices
                .iter()
                .map(|index| swap_channels(index))
                .collect(),
        };
        let swap_all = |texts: Vec<String>| texts.iter().map(|text| swap_channels(text)).collect();
        Formula {
            lhs: rename(self.lhs),
            bias: self.bias.map(rename),
            summed: swap_all(self.summed),
            conditions: swap_all(self.conditions),
            factors: self.factors.into_iter().map(rename).collect(),
        }
    }
}

/// `text` with the channel letters `o` and `c` swapped where they stand as letters of their
/// own (not in `mod`).
fn swap_channels(text: &str) -> String {
    let characters: Vec<char> = text.chars().collect();
    let alphabetic = |at: Option<&char>| at.is_some_and(|c| c.is_alphabetic());
    characters
        .iter()
        .enumerate()
        .map(|(at, &character)| {
            let alone = !alphabetic(at.checked_sub(1).and_then(|before| characters.get(before)))
                && !alphabetic(characters.get(at + 1));
            match character {
                'o' if alone => 'c',
                'c' if alone => 'o',
                other => other,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::tests::sigma;

    #[test]
    fn a_transposed_layer_reads_as_the_module_docs_say() {
        let expected = "\
# Σ notation, 0-based: a summed index runs over the whole axis it indexes; d = ∂L/∂z
# shapes: x 2, w 3, z 5, d 5
z[i] = Σ_{a : 2 | i−a, 0 ≤ i−a ≤ 2} x[(i−a)/2]·w[a]
dx[i] = Σ_{a} w[a]·d[2i+a]
dw[a] = Σ_{i} x[i]·d[2i+a]
";
        assert_eq!(sigma("in=(2,) k=3 stride=2 transposed"), expected);
    }

    #[test]
    fn a_transposed_layers_channels_keep_their_letters() {
        let text = sigma("in=(3,) k=2 stride=2 pad=1 cin=4 cout=6 groups=2 bias transposed");
        assert!(
            text.contains("d̃ is d with zeros outside the output"),
            "{text}"
        );
        assert!(
            text.contains("# shapes: x 4×3, w 4×3×2, z 6×4, d 6×4, b 6"),
            "{text}"
        );
        assert!(
            text.contains("z[o, i] = b[o] + Σ_{c,a : ⌊c/2⌋ = ⌊o/3⌋,"),
            "{text}"
        );
        assert!(text.contains("x[c, (i−a+1)/2]·w[c, o mod 3, a]"), "{text}");
        assert!(
            text.contains("dw[c, o, a] = Σ_{i} x[c, i]·d̃[3⌊c/2⌋+o, 2i+a−1]"),
            "{text}"
        );
    }
}
