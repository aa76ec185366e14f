//! The input elements no window reads: per element, why, and per axis and reason, which
//! ones. The command-line tool's notes, the explanation and the check all ask here.

use super::Spec;
use super::axis::{Axis, Unread};

impl Spec {
    /// Why input element `index` (flat, 0-based, in any slice) is never read, if it is not:
    /// an element is read when each of its coordinates is, since the kernel's taps form a
    /// full grid; the remainder outranks a gap as the reason.
    pub fn why_input_unread(&self, index: usize) -> Option<Unread> {
        let mut rest = index;
        let mut reason: Option<Unread> = None;
        for axis in self.axes.iter().rev() {
            let size = axis.input();
            reason = match (reason, axis.why_unread(rest % size)) {
                (Some(found), Some(here)) => Some(found.min(here)),
                (found, here) => found.or(here),
            };
            rest /= size;
        }
        reason
    }

    /// The input elements (flat, 0-based, ascending) whose coordinate on axis `axis`
    /// (0-based) no window reads, for `reason`. Lazy: an axis of billions of positions
    /// costs time here, never memory.
    pub fn unread_inputs(&self, axis: usize, reason: Unread) -> impl Iterator<Item = usize> + '_ {
        let geometry = self.axes.get(axis);
        // The flat index advances by `inner` per step on the axis, which has `size` steps.
        let inner: usize = self.axes.iter().skip(axis + 1).map(Axis::input).product();
        let size = geometry.map_or(1, Axis::input);
        (0..self.input_len()).filter(move |flat| {
            geometry.and_then(|g| g.why_unread(flat / inner % size)) == Some(reason)
        })
    }
}
