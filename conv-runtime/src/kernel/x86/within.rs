//! Where a vector read from a row of the input read in place meets the row's padding.

/// The lanes of a vector of `lanes` floats that lie within a row of the input read in
/// place, the vector starting at column `start` of the padded row, whose `left` columns of
/// padding come before the row's `columns` values.
#[derive(Clone, Copy)]
pub(super) enum Within {
    /// Every lane: the vector starts at the row's `column`.
    All { column: usize },
    /// Lanes `lowest..past`, lane `lowest` at the row's `column`; the others are padding.
    Some {
        lowest: usize,
        past: usize,
        column: usize,
    },
    /// None: the vector lies in the padding.
    None,
}

impl Within {
    #[inline(always)]
    #[allow(clippy::inline_always, reason = "inlined into the blocks' loops")]
    pub(super) fn of(start: usize, left: usize, columns: usize, lanes: usize) -> Self {
        if start >= left && start - left + lanes <= columns {
            return Within::All {
                column: start - left,
            };
        }
        let lowest = left.saturating_sub(start);
        let past = (columns + left).saturating_sub(start).min(lanes);
        if lowest < past {
            Within::Some {
                lowest,
                past,
                column: start + lowest - left,
            }
        } else {
            Within::None
        }
    }
}
