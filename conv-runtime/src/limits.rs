//! Every size limit of the runtime and the command-line tool, in one place, and the one
//! error, [`TooLarge`], that says which was passed.
//!
//! The limits keep what a user writes from exhausting memory or time: an explanation or a
//! picture builds at most [`ELEMENTS`] elements, a printed equation holds at most
//! [`EQUATION_TERMS`] terms, a check holds at most [`CHECKED_TERMS`] terms in one equation,
//! reads at most [`CHECKED_BYTES`] bytes and derives at most [`work_budget`] terms. How
//! much of a layer an explanation shows ([`Limits`]) is chosen by the user instead.

use core::fmt;

use crate::spec::{Axis, Spec};
use crate::symbolic::derive::Section;
use crate::symbolic::expr::Tensor;

/// The most elements an explanation or a picture may build: grid cells and construction
/// terms, counted by [`size`]. An explanation builds both constructions in full and draws
/// every grid, so a larger layer is refused rather than allowed to exhaust memory.
pub const ELEMENTS: usize = 1 << 22;

/// The most terms of one equation printed: 48 bytes each and its printed line beside them,
/// an equation of 2^24 terms peaks at 1.1 GB (measured in the README, "Errors"). A `dw`
/// equation has a term per batch element and output position: 802 816 for a batch of 64
/// at 224×224.
pub const EQUATION_TERMS: usize = 1 << 24;

/// The most terms of one equation, written or derived, that a check holds: each equation
/// checked is derived whole, beside the one written.
pub const CHECKED_TERMS: usize = ELEMENTS;

/// The most bytes of text a check reads, 64 for each term of the longest equation it
/// holds: room for [`CHECKED_TERMS`] terms written with long indices and subscript digits.
pub const CHECKED_BYTES: usize = CHECKED_TERMS * 64;

/// The terms a check may derive after reading `bytes` bytes, starting from `allowance`
/// ([`CHECKED_TERMS`] outside tests): one equation of the most terms a check holds,
/// whatever the input, plus one for each byte read. Honest input never reaches it (a
/// correct equation is written with a few bytes per term); many short lines each naming an
/// equation of millions of terms do.
pub fn work_budget(allowance: usize, bytes: usize) -> usize {
    allowance.saturating_add(bytes)
}

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

/// Which limit a layer, an equation or an input passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TooLarge {
    /// A layer whose explanation or picture would build `elements` elements (saturated at
    /// `usize::MAX`), past [`ELEMENTS`].
    Explanation {
        /// The elements it would build.
        elements: usize,
    },
    /// A layer whose equations of `tensor` can have `terms` terms, past [`EQUATION_TERMS`].
    Equation {
        /// The tensor whose equations are too large.
        tensor: Tensor,
        /// The most terms one of them can have.
        terms: usize,
    },
    /// An equation to check past [`CHECKED_TERMS`] terms.
    Checked,
    /// Equations whose derivation would pass the [`work_budget`] of a check.
    OverBudget,
    /// A text to check past [`CHECKED_BYTES`] bytes.
    Text,
}

/// The reason, in the words of the command-line tool's messages; [`TooLarge::Checked`],
/// [`TooLarge::OverBudget`] and [`TooLarge::Text`] follow what they are about
/// (`… not checked: `, `` `FILE` is ``).
impl fmt::Display for TooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            TooLarge::Explanation { elements } => {
                f.write_str("the layer is too large to explain: its constructions build ")?;
                if elements == usize::MAX {
                    f.write_str("more elements than can be counted")?;
                } else {
                    write!(f, "{elements} elements, more than {ELEMENTS}")?;
                }
                f.write_str("; `convsym` without `explain` streams its equations")
            }
            TooLarge::Equation { tensor, terms } => write!(
                f,
                "a `{}` equation of this layer can have {terms} terms, more than the {EQUATION_TERMS} convsym holds at once",
                tensor.name()
            ),
            TooLarge::Checked => write!(
                f,
                "more than {CHECKED_TERMS} terms, the most `check` holds in one equation"
            ),
            TooLarge::OverBudget => write!(
                f,
                "deriving them would pass the work `check` allows for an input of this size ({CHECKED_TERMS} terms, plus one for each byte read)"
            ),
            TooLarge::Text => write!(
                f,
                "larger than {CHECKED_BYTES} bytes, the most `check` reads: 64 bytes for each of the {CHECKED_TERMS} terms of the longest equation it checks"
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for TooLarge {}

/// The elements an explanation of `spec` builds: the padded input slice of every
/// weight-gradient correlation, the padded, dilated δ of every input-gradient correlation,
/// the terms of both constructions, and the products their windows visit, padding's
/// zeros included: every tap of the rotated kernel at every input position, every output
/// position at every tap. Saturates rather than overflows. (Counted without the windows,
/// `in=(20000,) k=20000`, one output, passed as 80 000 elements and took 29 s: its input
/// gradient's construction visits 4·10^8 products.)
pub fn size(spec: &Spec) -> usize {
    if spec.transposed() {
        // The same grids as the ordinary layer of the same connections: its padded input
        // is the padded δ, its padded, dilated δ the transposed forward pass's input.
        return size(&spec.connections());
    }
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
    let taps = product(&mut axes.iter().map(Axis::kernel));
    let positions = product(&mut axes.iter().map(Axis::output));
    let input_windows = spec
        .input_len()
        .saturating_mul(spec.out_channels_per_group())
        .saturating_mul(taps);
    let weight_windows = spec
        .weight_len()
        .saturating_mul(spec.batch())
        .saturating_mul(positions);
    [
        weight_slices.saturating_mul(padded_input),
        weight_slices.saturating_mul(padded_delta),
        usize::try_from(spec.multiply_adds())
            .unwrap_or(usize::MAX)
            .saturating_mul(2),
        input_windows,
        weight_windows,
    ]
    .into_iter()
    .fold(0, usize::saturating_add)
}

/// `Ok` when `spec` is small enough to explain or draw.
///
/// # Errors
///
/// [`TooLarge::Explanation`] past [`ELEMENTS`] elements.
pub fn fits(spec: &Spec) -> Result<(), TooLarge> {
    let elements = size(spec);
    if elements > ELEMENTS {
        Err(TooLarge::Explanation { elements })
    } else {
        Ok(())
    }
}

/// `Ok` when every equation of `sections` in `spec` is small enough to print whole.
///
/// # Errors
///
/// [`TooLarge::Equation`] for the first section whose equations can pass
/// [`EQUATION_TERMS`] terms.
pub fn printable(spec: &Spec, sections: &[Section]) -> Result<(), TooLarge> {
    for &section in sections {
        let terms = section.max_terms(spec);
        if terms > EQUATION_TERMS {
            return Err(TooLarge::Equation {
                tensor: section.tensor(),
                terms,
            });
        }
    }
    Ok(())
}
