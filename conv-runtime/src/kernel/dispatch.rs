//! Which build runs: the widest the processor has, under a cap a program may set.

use super::build::Kernel;
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
use super::x86::{avx2, avx512};

/// A kernel build, narrowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Width {
    /// The baseline target's vectors.
    Portable,
    /// 32-byte vectors.
    Avx2,
    /// 64-byte vectors.
    Avx512,
}

#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
static WIDEST: core::sync::atomic::AtomicU8 =
    core::sync::atomic::AtomicU8::new(Width::Avx512 as u8);

/// Caps the builds the kernels may pick, for every thread, until the next call: to run
/// each build on one machine (the tests do), or to compare their speed. The results do
/// not depend on it.
pub fn set_widest(width: Width) {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    WIDEST.store(width as u8, core::sync::atomic::Ordering::Relaxed);
    #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
    let _ = width;
}

/// The widest build the kernels pick on this processor, under [`set_widest`]'s cap.
pub fn widest() -> Width {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    return widest_under(WIDEST.load(core::sync::atomic::Ordering::Relaxed));
    #[allow(unreachable_code, reason = "other architectures have one build")]
    Width::Portable
}

/// The widest build the processor has, whatever the cap.
fn detected() -> Width {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    return widest_under(Width::Avx512 as u8);
    #[allow(unreachable_code, reason = "other architectures have one build")]
    Width::Portable
}

/// The widest build the processor has at or under the cap `cap` (a `Width` as `u8`).
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
fn widest_under(cap: u8) -> Width {
    if cap >= Width::Avx512 as u8 && avx512::detected() {
        Width::Avx512
    } else if cap >= Width::Avx2 as u8 && avx2::detected() {
        Width::Avx2
    } else {
        Width::Portable
    }
}

/// Runs `kernel` in the widest build this processor supports ([`widest`]), or in the
/// portable build when an operand is infinite or NaN ([`Kernel::finite`]). Whether a
/// wide build ran.
#[inline]
pub fn dispatch<K: Kernel>(kernel: K) -> bool {
    dispatch_at(kernel, widest())
}

/// [`dispatch`] for a parallel form's task (`part_of_form`), which its form starts only
/// where a wide build runs: a cap lowered to the portable build while the form runs
/// leaves the task in the widest build the processor has. The portable build of a
/// task's kernel is its whole layer's, which a task's output slice cannot hold; and the
/// wide builds give the same bits, whichever runs.
#[inline]
pub fn dispatch_part<K: Kernel>(kernel: K, part_of_form: bool) -> bool {
    let width = match widest() {
        Width::Portable if part_of_form => detected(),
        width => width,
    };
    dispatch_at(kernel, width)
}

/// `kernel` in the build `width`, or in the portable build where its operands are not
/// all finite.
#[inline]
fn dispatch_at<K: Kernel>(kernel: K, width: Width) -> bool {
    match width {
        Width::Portable => portable(kernel),
        _ if !kernel.finite() => portable(kernel),
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        Width::Avx2 => {
            avx2::run(kernel);
            return true;
        }
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        Width::Avx512 => {
            avx512::run(kernel);
            return true;
        }
        #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
        Width::Avx2 | Width::Avx512 => portable(kernel),
    }
    false
}

/// `check(values)` compiled for the widest build ([`widest`]): a pass over a kernel's
/// operands or output (`Wide::all_finite`) then takes that build's vectors, where the
/// baseline target's would take four or eight times the instructions (on `upsample-1d`'s
/// input gradient, the check of its 32 000 outputs took 7% of the call with SSE2).
#[inline]
pub fn widest_check<T, F: Fn(&[T]) -> bool>(values: &[T], check: F) -> bool {
    match widest() {
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        Width::Avx512 => avx512::check(values, check),
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        Width::Avx2 => avx2::check(values, check),
        _ => check(values),
    }
}

/// Runs `kernel`'s portable build, out of line: where a wide build's outputs, checked
/// after it ran, were not all finite (a path taken only on infinite or NaN data).
#[cold]
pub fn rerun<K: Kernel>(kernel: K) {
    portable(kernel);
}

/// Runs `kernel`'s portable build, out of line, so that [`dispatch`] and [`rerun`] share
/// one copy of it: inlined into both, a layer's portable loops were optimised twice for
/// `f32` (the most expensive functions of a release build of `upsample-1d`, by LLVM's
/// time trace).
#[inline(never)]
fn portable<K: Kernel>(kernel: K) {
    kernel.portable();
}
