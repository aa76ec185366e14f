//! One spatial axis of a validated layer: its sizes, the padding mode, and which input
//! positions its windows read.

/// How the padding was asked for; the resolved amounts are on each [`Axis`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Padding {
    /// Amounts given as numbers.
    Explicit,
    /// `same`: TensorFlow's rule, the odd extra at the end.
    Same,
    /// `same_lower`: the odd extra at the start.
    SameLower,
    /// `valid`: no padding.
    Valid,
}

impl Padding {
    /// The word a user writes for this mode, if it has one.
    pub fn word(self) -> Option<&'static str> {
        match self {
            Padding::Explicit => None,
            Padding::Same => Some("same"),
            Padding::SameLower => Some("same_lower"),
            Padding::Valid => Some("valid"),
        }
    }
}

/// One spatial axis of a validated layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Axis {
    pub(super) input: usize,
    pub(super) kernel: usize,
    pub(super) stride: usize,
    pub(super) dilation: usize,
    pub(super) pad_before: usize,
    pub(super) pad_after: usize,
    pub(super) output_padding: usize,
    pub(super) output: usize,
    pub(super) transposed: bool,
}

/// Why an input position is never read by the forward pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Unread {
    /// It lies in the last `r` positions of the padded input, past the last window.
    Remainder,
    /// It falls between the taps the stride and the dilation reach.
    Gap,
    /// A transposed layer's input position whose every tap scatters into the ends of the
    /// output that `pad` crops.
    Cropped,
}

impl Axis {
    /// The input size.
    pub fn input(&self) -> usize {
        self.input
    }
    /// The kernel size.
    pub fn kernel(&self) -> usize {
        self.kernel
    }
    /// The stride.
    pub fn stride(&self) -> usize {
        self.stride
    }
    /// The kernel dilation.
    pub fn dilation(&self) -> usize {
        self.dilation
    }
    /// Zeros before the input.
    pub fn pad_before(&self) -> usize {
        self.pad_before
    }
    /// Zeros after the input.
    pub fn pad_after(&self) -> usize {
        self.pad_after
    }
    /// Positions a transposed layer adds at the end of its output (0 for an ordinary layer).
    pub fn output_padding(&self) -> usize {
        self.output_padding
    }
    /// The output size.
    pub fn output(&self) -> usize {
        self.output
    }
    /// The span of the dilated kernel, `d·(k − 1) + 1`.
    pub fn effective_kernel(&self) -> usize {
        self.dilation * (self.kernel - 1) + 1
    }
    /// The input size with both paddings.
    pub fn padded_input(&self) -> usize {
        self.input + self.pad_before + self.pad_after
    }
    /// `r`: how many positions at the end of the padded input no window reaches; 0 on a
    /// transposed layer's axis, which has no windows over its input.
    pub fn remainder(&self) -> usize {
        if self.transposed {
            return 0;
        }
        (self.padded_input() - self.effective_kernel()) % self.stride
    }

    /// The real input position that output `output` reads through kernel tap `tap`, if it
    /// reads one rather than padding.
    pub fn source(&self, output: usize, tap: usize) -> Option<usize> {
        let padded = output * self.stride + tap * self.dilation;
        padded
            .checked_sub(self.pad_before)
            .filter(|&position| position < self.input)
    }

    /// The output position that reads input `position` through kernel tap `tap`, if any.
    pub fn target(&self, position: usize, tap: usize) -> Option<usize> {
        let reach = (position + self.pad_before).checked_sub(tap * self.dilation)?;
        (reach % self.stride == 0)
            .then_some(reach / self.stride)
            .filter(|&output| output < self.output)
    }

    /// Why no window reads input `position`, or `None` if one does; on a transposed layer's
    /// axis, [`Unread::Cropped`] if no tap scatters it into the output.
    pub fn why_unread(&self, position: usize) -> Option<Unread> {
        if self.transposed {
            return (!self.scatters_into_output(position)).then_some(Unread::Cropped);
        }
        if self.input_taps(position).count > 0 {
            return None;
        }
        let last_read = (self.output - 1) * self.stride + (self.kernel - 1) * self.dilation;
        Some(if position + self.pad_before > last_read {
            Unread::Remainder
        } else {
            Unread::Gap
        })
    }

    /// Whether some tap `q` of a transposed layer's axis sends input `position` to an output,
    /// `0 ≤ position·s + q·d − pad_lo < out`: whether a multiple of `d` up to `d·(k − 1)`
    /// lies in `[pad_lo − position·s, pad_lo − position·s + out − 1]`.
    fn scatters_into_output(&self, position: usize) -> bool {
        let wide = |size: usize| i128::try_from(size).unwrap_or(i128::MAX);
        let low = wide(self.pad_before) - wide(position) * wide(self.stride);
        let high = (low + wide(self.output) - 1).min(wide(self.dilation) * wide(self.kernel - 1));
        let low = low.max(0);
        high >= low && high.div_euclid(wide(self.dilation)) * wide(self.dilation) >= low
    }

    /// The input positions no window reads, each with the reason. Positions every one of
    /// whose windows lies inside the layer are read where the taps reach every residue of
    /// the stride: those are skipped, so an axis of billions of positions costs only its
    /// ends (`in=(4294967296,) k=1` took 40 s to print its Σ formulas).
    pub fn unread(&self) -> impl Iterator<Item = (usize, Unread)> + '_ {
        let (start, end) = self.read_throughout();
        (0..start.min(self.input))
            .chain(end.max(start).min(self.input)..self.input)
            .filter_map(|position| Some((position, self.why_unread(position)?)))
    }

    /// Input positions `start..end` that some window reads, found without a look at each:
    /// where every tap's output lies within `0..out` (on a transposed layer, tap 0's
    /// does), and the taps reach every residue of the stride (`gcd(d, s) = 1` and
    /// `k ≥ s`), or on a transposed layer always. Empty where there is no such run.
    fn read_throughout(&self) -> (usize, usize) {
        let (stride, dilation, pad) = (self.stride, self.dilation, self.pad_before);
        let interior = if self.transposed {
            // Tap 0 of input p lands on p·s − pad_lo, within `0..out` for these.
            let start = pad.div_ceil(stride);
            let end = self.output.saturating_add(pad).div_ceil(stride);
            (start, end)
        } else if super::taps::gcd(dilation, stride) == 1 && self.kernel >= stride {
            // Every tap q of input i comes from output (i + pad_lo − q·d)/s, within `0..out`
            // for these; and some tap's is a whole number.
            let start = ((self.kernel - 1) * dilation).saturating_sub(pad);
            let end = ((self.output - 1) * stride + 1).saturating_sub(pad);
            (start, end)
        } else {
            (0, 0)
        };
        if interior.0 < interior.1 {
            interior
        } else {
            (0, 0)
        }
    }
}
