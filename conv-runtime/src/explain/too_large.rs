//! The size limit: how many elements an explanation may build before it refuses a layer,
//! rather than exhaust memory drawing it. The SVG picture and `convsym check` ask it too;
//! it is apart from the rest so that it can join the runtime's other limits.

use crate::{Axis, Spec};

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
