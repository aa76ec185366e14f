//! Row-major layouts: flat indices to multi-indices and back.

use crate::spec::Taps;

/// Tensors have at most 5 dimensions: batch or channel, channel, and up to 3 spatial axes.
pub(crate) const MAX_DIMS: usize = 5;

/// A row-major shape of at most [`MAX_DIMS`] dimensions, held inline so that indexing
/// in the derivation's inner loops never allocates.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Layout {
    dims: [usize; MAX_DIMS],
    rank: usize,
}

impl Layout {
    pub(crate) fn new(dims: &[usize]) -> Self {
        let mut layout = Layout {
            dims: [0; MAX_DIMS],
            rank: dims.len(),
        };
        layout.dims[..dims.len()].copy_from_slice(dims);
        layout
    }

    pub(crate) fn dims(&self) -> &[usize] {
        &self.dims[..self.rank]
    }

    /// The flat index of `index`, which has one entry per dimension.
    pub(crate) fn ravel(&self, index: &[usize]) -> usize {
        debug_assert_eq!(index.len(), self.rank);
        index
            .iter()
            .zip(self.dims())
            .fold(0, |flat, (&i, &size)| flat * size + i)
    }

    /// The multi-index of `flat`; entries past the rank are 0.
    pub(crate) fn unravel(&self, mut flat: usize) -> [usize; MAX_DIMS] {
        let mut index = [0; MAX_DIMS];
        for axis in (0..self.rank).rev() {
            index[axis] = flat % self.dims[axis];
            flat /= self.dims[axis];
        }
        index
    }
}

/// Calls `visit` with every multi-index of `dims` in row-major order.
pub(crate) fn for_each_index(dims: &[usize], visit: impl FnMut(&[usize])) {
    let mut every = [Taps::default(); MAX_DIMS];
    for (taps, &count) in every.iter_mut().zip(dims) {
        *taps = Taps {
            first: 0,
            count,
            step: 1,
        };
    }
    for_each_tap(&every[..dims.len()], visit);
}

/// Calls `visit` with every multi-index whose axis `a` runs over the taps `taps[a]`, in
/// row-major order: the kernel taps that join one position to real data on each axis
/// ([`Axis::output_taps`](crate::spec::Axis::output_taps),
/// [`Axis::input_taps`](crate::spec::Axis::input_taps)), not the whole kernel.
pub(crate) fn for_each_tap(taps: &[Taps], mut visit: impl FnMut(&[usize])) {
    if taps.iter().any(|taps| taps.count == 0) {
        return;
    }
    let (mut index, mut counted) = ([0; MAX_DIMS], [0; MAX_DIMS]);
    for (index, taps) in index.iter_mut().zip(taps) {
        *index = taps.first;
    }
    loop {
        visit(&index[..taps.len()]);
        let mut axis = taps.len();
        loop {
            if axis == 0 {
                return;
            }
            axis -= 1;
            counted[axis] += 1;
            if counted[axis] < taps[axis].count {
                index[axis] += taps[axis].step;
                break;
            }
            counted[axis] = 0;
            index[axis] = taps[axis].first;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn ravel_inverts_unravel_in_row_major_order() {
        let layout = Layout::new(&[2, 3, 4]);
        let mut visited = Vec::new();
        for_each_index(layout.dims(), |index| visited.push(layout.ravel(index)));
        assert_eq!(visited, (0..24).collect::<Vec<_>>());
        assert_eq!(&layout.unravel(23)[..3], [1, 2, 3]);
        assert_eq!(layout.ravel(&[1, 0, 2]), 14);
    }
}
