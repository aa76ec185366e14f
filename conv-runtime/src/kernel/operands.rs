//! What each register block reads besides its sums: one struct per block, its fields
//! named, that the generated code fills in and every build of the block takes whole.
//! The structs hold only slices and sizes, so they are `Copy` whatever the scalar: a wide
//! build that cannot run a block hands the same operands to the portable one.

/// The operands of the register block `block`: `MR` sums of `CB` channels each read
///
/// ```text
/// source[rows[r] + shift + m·step + t·reach] · vectors[r·taps + t][c]
/// ```
///
/// for each row `r` and each of the `taps` taps `t` along it.
pub struct Block<'a, T, const CB: usize> {
    /// What the rows are read from.
    pub source: &'a [T],
    /// Where each row starts in `source`, before `shift`.
    pub rows: &'a [usize],
    /// Added to every row's start: where this block's first sum reads.
    pub shift: usize,
    /// The taps along a row.
    pub taps: usize,
    /// The distance in `source` from one sum's reads to the next sum's.
    pub step: usize,
    /// The distance in `source` from one tap's read to the next tap's.
    pub reach: usize,
    /// One vector of `CB` weights per row and tap, `vectors[r·taps + t]`.
    pub vectors: &'a [[T; CB]],
}

/// The operands of the register block `rows`: `MR` runs of `NL` sums read
///
/// ```text
/// weights[r·weight_row + m·weight_step] · source[rows[r] + shift + m·step + l]
/// ```
///
/// for each row `r`.
pub struct Rows<'a, T> {
    /// What the runs are read from.
    pub source: &'a [T],
    /// Where each row starts in `source`, before `shift`.
    pub rows: &'a [usize],
    /// Added to every row's start: where this block's first run reads.
    pub shift: usize,
    /// The distance in `source` from one run to the next (0 when the runs are output
    /// channels that read the same input).
    pub step: usize,
    /// The weights, one row of them per row of `rows`.
    pub weights: &'a [T],
    /// The distance in `weights` from one row to the next.
    pub weight_row: usize,
    /// The distance in `weights` from one run's weight to the next run's (0 when the
    /// runs are neighbouring runs of one row).
    pub weight_step: usize,
}

/// The operands of the register block `dots`: `OB × MR` runs of `NL` partial sums read
///
/// ```text
/// a[a_rows[r] + a_shift + o·a_step + t·NL + l]
///     · b[b_rows[r] + b_shift + o·b_step + m·step + t·NL + l]
/// ```
///
/// for each row `r` and each of the `runs` runs `t` along it.
pub struct Dots<'a, T> {
    /// The first factor of every product (δ, in the weight gradient).
    pub a: &'a [T],
    /// Where each row starts in `a`, before `a_shift`.
    pub a_rows: &'a [usize],
    /// Added to every row's start in `a`.
    pub a_shift: usize,
    /// The distance in `a` from one `o` to the next.
    pub a_step: usize,
    /// The second factor (the input, in the weight gradient).
    pub b: &'a [T],
    /// Where each row starts in `b`, before `b_shift`; as many as `a_rows`.
    pub b_rows: &'a [usize],
    /// Added to every row's start in `b`.
    pub b_shift: usize,
    /// The distance in `b` from one `o` to the next.
    pub b_step: usize,
    /// The distance in `b` from one `m` to the next.
    pub step: usize,
    /// The runs of `NL` along a row.
    pub runs: usize,
}

// `Clone` and `Copy` without bounds on the scalar: the structs hold only references and
// sizes, where a derive would ask `T: Copy`.
impl<T, const CB: usize> Clone for Block<'_, T, CB> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T, const CB: usize> Copy for Block<'_, T, CB> {}

impl<T> Clone for Rows<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Rows<'_, T> {}

impl<T> Clone for Dots<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Dots<'_, T> {}
