//! What the fuzz targets share: the cap on the terms derived that keeps a run fast, a
//! deterministic source of choices, and the equations respelled in the other notations
//! `check` reads.

use conv_runtime::derive::Section;
use conv_runtime::{Equation, Spec, Tensor, Term, Variable};

/// How deeply `text` nests brackets of any kind.
pub fn nesting(text: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    for c in text.chars() {
        match c {
            '(' | '[' | '{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// The most terms, all equations together, that a target derives for one input: enough
/// for every kind of layer (channels, groups, batch, three axes). An execution's time is
/// linear in the terms now that `check` is n log n in one equation's, but large under the
/// sanitizer: about 0.3 ms a term for `spec` (render, check, respell, check again), so a
/// layer near 2^12 terms takes about a second and one near 2^14 three to six, too near
/// `-timeout=10` on a loaded machine to raise the cap.
pub const MAX_TERMS: usize = 1 << 12;

/// The terms of all `spec`'s equations, saturated; an upper bound from the shapes alone.
pub fn terms(spec: &Spec) -> usize {
    Section::ALL
        .into_iter()
        .map(|section| {
            section
                .len(spec)
                .saturating_mul(section.max_terms(spec).max(1))
        })
        .fold(0, usize::saturating_add)
}

/// Whether deriving every equation of `spec` stays within [`MAX_TERMS`].
pub fn small(spec: &Spec) -> bool {
    terms(spec) <= MAX_TERMS
}

/// Choices made from the input's bytes (FNV-1a, then splitmix64): the same input always
/// makes the same choices, so a crash reproduces from its file alone.
pub struct Choices(u64);

impl Choices {
    /// Choices seeded by `data`.
    pub fn new(data: &[u8]) -> Self {
        let hash = data.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, &byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        });
        Choices(hash)
    }

    /// The next 64 random bits.
    pub fn bits(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `bound` (0 when `bound` is 0).
    pub fn below(&mut self, bound: usize) -> usize {
        if bound == 0 {
            return 0;
        }
        (self.bits() % bound as u64) as usize
    }

    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// `equation` in one of the other spellings `check` documents, chosen by `choices`: `·`,
/// `⋅`, `×` or a space for `*`, `δ` for `d`, `∂L/∂w1` or `dL/dw1` for `dw1`, `∂L/∂z2` for
/// `d2`, subscripts `x_3`, `x_{3}` or `x₃`, `−` for `-`, a list bullet, a trailing `.`.
pub fn respell(equation: &Equation, choices: &mut Choices) -> String {
    let times = *choices.pick(&["*", "·", "⋅", "×", " ", " * "]);
    let bullet = *choices.pick(&["", "- ", "* ", "• "]);
    let end = *choices.pick(&["", ".", ",", "  "]);
    let mut style = || choices.bits();
    let mut text = String::from(bullet);
    text.push_str(&variable(equation.lhs, style()));
    text.push_str(" = ");
    let terms = equation.rhs.terms();
    if terms.is_empty() {
        text.push('0');
    }
    for (i, term) in terms.iter().enumerate() {
        let minus = if style() % 2 == 0 { "-" } else { "−" };
        match (i, term.coefficient() < 0) {
            (0, true) => text.push_str(minus),
            (0, false) => {}
            (_, true) => text.push_str(&format!(" {minus} ")),
            (_, false) => text.push_str(" + "),
        }
        text.push_str(&product(term, times, &mut style));
    }
    text.push_str(end);
    text
}

fn product(term: &Term, times: &str, style: &mut impl FnMut() -> u64) -> String {
    let mut factors: Vec<String> = term
        .factors()
        .iter()
        .map(|&factor| variable(factor, style()))
        .collect();
    let magnitude = term.coefficient().unsigned_abs();
    if magnitude != 1 || factors.is_empty() {
        factors.insert(0, magnitude.to_string());
    }
    factors.join(times)
}

/// A variable spelled in the style `style` picks.
fn variable(variable: Variable, style: u64) -> String {
    let number = variable.index + 1;
    let index = match style % 4 {
        0 => number.to_string(),
        1 => format!("_{number}"),
        2 => format!("_{{{number}}}"),
        _ => number
            .to_string()
            .chars()
            .map(|digit| match digit.to_digit(10) {
                Some(d) => char::from_u32(0x2080 + d).unwrap_or(digit),
                None => digit,
            })
            .collect(),
    };
    let name = match (variable.tensor, (style >> 2) % 3) {
        (Tensor::Delta, 1) => "δ".to_string(),
        (Tensor::Delta, 2) => "∂L/∂z".to_string(),
        (tensor, 1 | 2) if tensor.differentiated().is_some() => {
            let of = tensor.differentiated().map_or("", Tensor::name);
            if (style >> 2) % 3 == 1 {
                format!("∂L/∂{of}")
            } else {
                format!("dL/d{of}")
            }
        }
        (tensor, _) => tensor.name().to_string(),
    };
    format!("{name}{index}")
}

/// Whether `text` holds a control character other than a newline or a tab: a report that
/// echoes one lets the input drive the terminal (escape sequences).
pub fn has_control(text: &str) -> bool {
    text.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
}
