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

/// The operands of the register block `stencil`, which writes its outputs itself:
/// `rows` rows of `width` outputs, row `m` from `out[m·out_step]` on, each
///
/// ```text
/// out[m·out_step + j] = start
///     + Σ weights[(p·KY + y)·taps.len() + t] · input(p, m + y, taps[t] + j − left)
/// ```
///
/// over each plane `p`, each tap `t` along a row and each of the `KY` rows of taps `y`.
/// `input(p, i, c)` is `source[planes[p] + shift + (i − present.0)·step + c]` where row
/// `i` lies in the input (`present.0 ≤ i < present.1`) and `0 ≤ c < columns`, and a zero
/// of the padding elsewhere: its rows form no products, its columns read zero lanes. A
/// padded copy is read as an input without padding (`present` all its rows, `left` 0,
/// `columns` its rows' length). The output rows `m` and the kernel's rows `y` advance
/// through the source by the same `step`, so that a row read once serves up to `KY`
/// outputs: a depthwise layer's channel at stride 1. The builds compute whole blocks of
/// `MR` rows and `NL` outputs and store only those inside `rows` and `width`.
pub struct Stencil<'a, T> {
    /// What the rows are read from.
    pub source: &'a [T],
    /// Where each plane of taps (the taps of the axes before the last two) starts in
    /// `source`, before `shift`.
    pub planes: &'a [usize],
    /// Added to every plane's start: where row `present.0` starts.
    pub shift: usize,
    /// The distance in `source` from one row to the next, of outputs or of taps.
    pub step: usize,
    /// Where each tap along a row reads, from the padded row's start: `KX` of them, the block's
    /// constant (the vector builds run the portable block on any other number).
    pub taps: &'a [usize],
    /// The weights, `KY` rows of `taps.len()` per plane.
    pub weights: &'a [T],
    /// Every output's first term (its bias, or zero).
    pub start: &'a T,
    /// The output rows.
    pub rows: usize,
    /// The outputs along a row.
    pub width: usize,
    /// The distance in `out` from one output row to the next.
    pub out_step: usize,
    /// The rows that lie in the input, `first..end`.
    pub present: (usize, usize),
    /// The padding before a row: where a row's column 0 is, from where its taps count.
    pub left: usize,
    /// The values of a row of the input.
    pub columns: usize,
}

/// The operands of the register block `stencil_dots`, the weight gradient of a depthwise
/// layer's channel, its input read in place: `KY × MT` runs of `NL` partial sums read
///
/// ```text
/// delta[m·width + r·NL + l] · input(m + y, taps[t] + r·NL + l − left)
/// ```
///
/// for each of the `rows` rows `m` of δ and the `runs` runs `r` along it, `y` over `KY`
/// rows of taps and `t` over the `MT` taps along a row: each `sums[y][t]` then adds up
/// to one weight's gradient. `input(i, c)` is column `c` of the block's row `i`,
/// `source[shift + (i − present.0)·step + c]`, where the row lies in the input
/// (`present.0 ≤ i < present.1`) and `0 ≤ c < columns`; elsewhere it is the layer's
/// padding, zeros: the products of a row of padding are not formed, and a column of it
/// reads a zero lane. As in [`Stencil`], the rows of δ and of taps advance through the
/// input by the same `step`, so that a row read once serves every row of taps.
pub struct StencilDots<'a, T> {
    /// δ, contiguous rows of `width` values.
    pub delta: &'a [T],
    /// The values of a row of δ: the lanes of its runs past them read zeros, which meet
    /// the input as the structural zeros of the block's spare lanes.
    pub width: usize,
    /// The input the rows are read from, in place.
    pub source: &'a [T],
    /// Where the block's row `present.0` starts in `source`.
    pub shift: usize,
    /// The distance in `source` from one of the block's rows to the next.
    pub step: usize,
    /// The block's rows that lie in the input, `first..end`; the others, up to
    /// `rows + KY − 1`, lie in its padding.
    pub present: (usize, usize),
    /// The padding before a row: where a row's column 0 is, from where its taps count.
    pub left: usize,
    /// The values of a row of the input.
    pub columns: usize,
    /// Where each tap along a row reads, from the padded row's start, ascending; `MT`
    /// of them.
    pub taps: &'a [usize],
    /// The rows of δ.
    pub rows: usize,
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

impl<T> Clone for Stencil<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Stencil<'_, T> {}

impl<T> Clone for StencilDots<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for StencilDots<'_, T> {}
