//! The scratch the wide builds take from the heap: what each pass of each layer really
//! allocates, counted by this binary's allocator, against the `SCRATCH_BYTES` the layer
//! declares; and that every pass of the benchmark suite's layers of real networks runs a
//! wide build (only the wide builds take scratch, and every one of them takes some).
#![allow(
    unsafe_code,
    reason = "a global allocator that counts, around the system one"
)]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use convsym::kernel::{self, Width};

use common::boxed;

/// The system allocator, counting what the thread that asks allocates.
struct Counting;

thread_local! {
    /// Bytes this thread allocated since the count was last taken, and allocations.
    static ALLOCATED: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
}

// SAFETY: every method forwards to the system allocator with the caller's arguments; the
// count is a thread-local `Cell` with a const initialiser, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.with(|count| {
            let (bytes, calls) = count.get();
            count.set((bytes + layout.size(), calls + 1));
        });
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(pointer, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// `(bytes, allocations)` `run` makes on this thread.
fn allocated(run: impl FnOnce()) -> (usize, usize) {
    ALLOCATED.with(|count| count.set((0, 0)));
    run();
    ALLOCATED.with(Cell::get)
}

/// What one layer's passes allocate in the current build: `(bytes, allocations)` for the
/// forward pass, the input and the weight gradient.
type Passes = [(usize, usize); 3];

macro_rules! layers {
    ($($name:ident [$real:literal] { $($arguments:tt)* })*) => {
        $(
            convsym::conv!(
                /// A layer whose scratch is counted.
                struct $name; $($arguments)*
            );
        )*

        /// `(name, SCRATCH_BYTES, whether it is a layer of a real network, the passes)`.
        fn each(mut visit: impl FnMut(&str, usize, bool, &dyn Fn() -> Passes)) {
            $(
                let (x, w, dz) = (boxed(1), boxed(2), boxed(4));
                let passes = || -> Passes {
                    let (mut z, mut dx, mut dw) = (boxed(0), boxed(0), boxed(0));
                    [
                        allocated(|| $name.forward_into(&x, &w, &mut z)),
                        allocated(|| $name.grad_input_into(&w, &dz, &mut dx)),
                        allocated(|| $name.grad_weight_into(&x, &dz, &mut dw)),
                    ]
                };
                visit(stringify!($name), $name::SCRATCH_BYTES, $real, &passes);
            )*
        }
    };
}

layers! {
    // The suite's layers of real networks (`bench/src/shapes.rs`).
    ResnetStem [true] { in = 224, k = 7, stride = 2, pad = 3, cin = 3, cout = 64 }
    Resnet3x3 [true] { in = 56, k = 3, pad = 1, cin = 64, cout = 64 }
    Resnet1x1 [true] { in = 56, k = 1, cin = 256, cout = 64 }
    ResnetDown [true] { in = 56, k = 3, stride = 2, pad = 1, cin = 128, cout = 128 }
    MobilenetDw [true] { in = 56, k = 3, pad = 1, cin = 144, cout = 144, groups = 144 }
    Speech1d [true] { in = (8000,), k = 11, pad = 5, cin = 32, cout = 32 }
    // Small layers of each block kind.
    LenetC1 [false] { in = 28, k = 5, cout = 6 }
    StridedPadded [false] { in = 32, k = 3, stride = 2, pad = 1, cin = 8, cout = 16 }
    Depthwise [false] { in = 16, k = 3, pad = 1, cin = 32, cout = 32, groups = 32 }
    // Straight-line code: no scratch.
    Unrolled [false] { in = 12, k = 3, pad = 1, unroll = full }
}

/// The passes of real layers whose wide builds read every operand in place, so that
/// their scratch does not show which build ran: the depthwise weight gradient (a unit
/// test of `conv-macros`, `depthwise_weight_gradients_read_in_place`, checks that both
/// wide builds have its body).
const IN_PLACE: [(&str, &str); 1] = [("MobilenetDw", "dw")];

#[test]
fn scratch_bytes_is_what_a_call_allocates() {
    let widths: Vec<Width> = [Width::Portable, Width::Avx2, Width::Avx512]
        .into_iter()
        .filter(|&width| {
            kernel::set_widest(width);
            kernel::widest() == width
        })
        .collect();
    let every_build = widths.contains(&Width::Avx512);
    each(|name, declared, real, passes| {
        let mut most = 0;
        for &width in &widths {
            // The portable build of a large layer takes long in a debug build, and what
            // it allocates, nothing, the small layers show.
            if width == Width::Portable && real {
                continue;
            }
            kernel::set_widest(width);
            for (pass, (scratch, calls)) in ["forward", "dx", "dw"].iter().zip(passes()) {
                assert!(
                    calls <= 1,
                    "{name} {pass} in {width:?}: {calls} allocations"
                );
                assert!(
                    scratch <= declared,
                    "{name} {pass} in {width:?}: {scratch} bytes of scratch, {declared} declared"
                );
                if width == Width::Portable {
                    assert_eq!(scratch, 0, "{name} {pass}: the portable build allocates");
                } else if IN_PLACE.contains(&(name, pass)) {
                    assert_eq!(scratch, 0, "{name} {pass} in {width:?} copies");
                } else if real {
                    assert!(
                        scratch > 0,
                        "{name} {pass} runs the portable build in {width:?}"
                    );
                }
                most = most.max(scratch);
            }
        }
        if every_build {
            assert_eq!(most, declared, "{name}: the most a call allocates");
        }
        eprintln!("{name}: SCRATCH_BYTES = {declared}");
    });
    kernel::set_widest(Width::Avx512);
}
