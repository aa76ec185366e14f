//! The scratch memory of the wide builds: the padded copies of the input or of δ and the
//! packed weights a wide kernel reads, one buffer per call, whose size grows with the
//! layer, so never on the stack.
//!
//! With `std`, the buffer is a `Vec` allocated on each call ([`zeroed`]). Without `std`,
//! there may be no allocator: a layer whose scratch fits [`STACK_SCRATCH`] keeps it in a
//! local array as before, and a larger one runs its portable build. The generated code
//! says which through [`wide_scratch!`](crate::__wide_scratch).
//!
//! The parallel forms' tasks also copy their operands (a gather of their channels, a
//! tile's rows and output) into a [`Buffer`]: a `Vec` that each of rayon's threads keeps
//! between calls (up to [`MOST_SPARE`], the largest it has used). Freed on every call, a
//! copy of a few hundred KiB on one of rayon's threads went back to the system (glibc
//! trims a thread's arena on free) and came back as page faults and, with two threads,
//! the interrupts that keep their address translations in step: a 1-D layer of 9.4 M
//! multiply-adds took 576 µs in its forward pass on two threads against 164 µs on one,
//! and 219 µs with kept copies (issue 12, Intel Xeon). [`free_scratch`] gives a thread's
//! buffers back.

use alloc::vec::Vec;
#[cfg(feature = "std")]
use core::cell::RefCell;
use core::ops::{Deref, DerefMut};

use super::scalar::Wide;

/// The buffers a thread keeps at most: a parallel form's task's copies of its operands
/// and of its output, and those of a task it runs while it waits.
#[cfg(feature = "std")]
pub const MOST_SPARE: usize = 4;

/// A thread's spare buffers of one scalar type, in places of their own (a list that grew
/// would allocate in the call that gives a buffer back).
#[cfg(feature = "std")]
pub type Spares<T> = RefCell<[Option<Vec<T>>; MOST_SPARE]>;

#[cfg(feature = "std")]
std::thread_local! {
    /// This thread's spare `f32` buffers, the type the wide builds run.
    pub(crate) static F32_SPARES: Spares<f32> = const { RefCell::new([const { None }; MOST_SPARE]) };
}

/// A vector taken from the calling thread's spares (with `std`, for `f32`) or made new,
/// which goes back to that thread's spares when dropped.
pub struct Buffer<T: Wide> {
    vec: Vec<T>,
}

impl<T: Wide> Buffer<T> {
    /// An empty buffer with room for `capacity` elements: a spare of the calling thread
    /// ([`take_spare`]), else a new vector.
    pub fn with_capacity(capacity: usize) -> Self {
        #[cfg(feature = "std")]
        if let Some(mut vec) = T::take_spare(capacity) {
            vec.clear();
            vec.reserve_exact(capacity);
            return Buffer { vec };
        }
        Buffer {
            vec: Vec::with_capacity(capacity),
        }
    }
}

impl<T: Wide + super::Scalar> Buffer<T> {
    /// A buffer of `len` values that the caller writes before it reads any: a spare's own
    /// values as they were left, zeros past them where it holds fewer, or zeros in a new
    /// vector. A parallel task's output then costs no fill. Copied in from the output it
    /// overwrites, as before, it made the forward pass of `upsample-1d`'s shape at `in =
    /// 2200` 7-8% slower on two threads (`BENCHMARKS.md`, "A task's output not copied
    /// in").
    pub fn overwritten(len: usize) -> Self {
        #[cfg(feature = "std")]
        if let Some(mut vec) = T::take_spare(len) {
            vec.truncate(len);
            vec.resize(len, T::zero());
            return Buffer { vec };
        }
        Buffer {
            vec: alloc::vec![T::zero(); len],
        }
    }
}

/// Fills the calling thread's spare `f32` buffers with NaN to their capacity, and keeps
/// new ones of `len` where it has none: so that a task that leaves a value of
/// [`Buffer::overwritten`] unwritten leaks NaN into its output, which a test catches.
/// For tests only; without `std` it does nothing.
#[doc(hidden)]
pub fn poison_spares(len: usize) {
    #[cfg(feature = "std")]
    let _ = F32_SPARES.try_with(|spares| {
        for place in spares.borrow_mut().iter_mut() {
            let spare = place.get_or_insert_with(|| Vec::with_capacity(len));
            spare.clear();
            spare.resize(spare.capacity(), f32::NAN);
        }
    });
    #[cfg(not(feature = "std"))]
    let _ = len;
}

/// The smallest of `spares` with room for `capacity`, else the largest (which the caller
/// grows); `None` where there are none (or the thread is ending).
#[cfg(feature = "std")]
pub(crate) fn take_spare<T: 'static>(
    spares: &'static std::thread::LocalKey<Spares<T>>,
    capacity: usize,
) -> Option<Vec<T>> {
    if !keeps() {
        return None;
    }
    spares
        .try_with(|spares| {
            let mut spares = spares.borrow_mut();
            let rooms = spares
                .each_ref()
                .map(|place| place.as_ref().map(Vec::capacity));
            let kept = || {
                rooms
                    .iter()
                    .enumerate()
                    .filter_map(|(at, room)| Some((at, (*room)?)))
            };
            let (at, _) = kept()
                .filter(|(_, room)| *room >= capacity)
                .min_by_key(|(_, room)| *room)
                .or_else(|| kept().max_by_key(|(_, room)| *room))?;
            spares[at].take()
        })
        .ok()
        .flatten()
}

/// `spare` in a free place of `spares`, or in place of the smallest where it is
/// larger; else freed (as on a thread that is ending).
#[cfg(feature = "std")]
pub(crate) fn give_spare<T: 'static>(
    spares: &'static std::thread::LocalKey<Spares<T>>,
    spare: Vec<T>,
) {
    if !keeps() {
        return;
    }
    let _ = spares.try_with(|spares| {
        let mut spares = spares.borrow_mut();
        let room = |place: &&mut Option<Vec<T>>| place.as_ref().map_or(0, Vec::capacity);
        if let Some(place) = spares.iter_mut().min_by_key(room)
            && place
                .as_ref()
                .is_none_or(|kept| kept.capacity() < spare.capacity())
        {
            *place = Some(spare);
        }
    });
}

impl<T: Wide> Deref for Buffer<T> {
    type Target = Vec<T>;
    fn deref(&self) -> &Vec<T> {
        &self.vec
    }
}

impl<T: Wide> DerefMut for Buffer<T> {
    fn deref_mut(&mut self) -> &mut Vec<T> {
        &mut self.vec
    }
}

impl<T: Wide> Drop for Buffer<T> {
    /// Back to the thread's spares.
    fn drop(&mut self) {
        #[cfg(feature = "std")]
        T::give_spare(core::mem::take(&mut self.vec));
    }
}

/// Whether the calling thread keeps buffers: one of rayon's, where the parallel forms'
/// tasks run. A program's own thread allocates on each call: there glibc keeps a freed
/// buffer for the next call itself.
#[cfg(feature = "std")]
fn keeps() -> bool {
    #[cfg(feature = "parallel")]
    return rayon::current_thread_index().is_some();
    #[cfg(not(feature = "parallel"))]
    return false;
}

/// Frees the buffers the calling thread keeps for the parallel forms' copies (only rayon's
/// threads keep any); the next call on this thread allocates again.
pub fn free_scratch() {
    #[cfg(feature = "std")]
    let _ = F32_SPARES.try_with(|spares| spares.borrow_mut().fill_with(|| None));
}

/// The most scalars a wide build keeps on the stack without `std`: 64 KiB of `f32`.
pub const STACK_SCRATCH: usize = 16_384;

/// `len` zeros on the heap: a wide kernel's scratch under `std`, allocated on each call.
/// Taken from the thread's spares instead, the one-thread kernels measured 5-8% slower
/// (`resnet-3x3` forward 1.46-1.50 against 1.58-1.62 ms, `lenet-c1` 1.7 against 1.8 µs),
/// even where only rayon's threads kept buffers.
#[cfg(feature = "std")]
#[inline]
pub fn zeroed<T: super::Scalar>(len: usize) -> alloc::vec::Vec<T> {
    alloc::vec![T::zero(); len]
}

/// `wide_scratch!(T; len, size)`: `len` zeros of `T` for a wide kernel's scratch, as
/// `Some` of a buffer that derefs to `[T]`, or `None` where this build of the runtime
/// cannot give them and the kernel runs its portable build instead. `size` is `small`
/// where `len` fits [`STACK_SCRATCH`](crate::kernel::scratch::STACK_SCRATCH), else
/// `large`. With `std`: always a `Vec` on the heap.
#[cfg(feature = "std")]
#[doc(hidden)]
#[macro_export]
macro_rules! __wide_scratch {
    ($scalar:ty; $len:expr, $size:ident) => {
        ::core::option::Option::Some($crate::__private::zeroed::<$scalar>($len))
    };
}

/// `wide_scratch!(T; len, size)`: `len` zeros of `T` for a wide kernel's scratch, as
/// `Some` of a buffer that derefs to `[T]`, or `None` where this build of the runtime
/// cannot give them and the kernel runs its portable build instead. `size` is `small`
/// where `len` fits [`STACK_SCRATCH`](crate::kernel::scratch::STACK_SCRATCH), else
/// `large`. Without `std`: a small scratch as an array on the stack, a large one `None`.
#[cfg(not(feature = "std"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __wide_scratch {
    ($scalar:ty; $len:expr, small) => {
        ::core::option::Option::Some::<[$scalar; $len]>(::core::array::from_fn(|_| {
            <$scalar as $crate::Scalar>::zero()
        }))
    };
    ($scalar:ty; $len:expr, large) => {
        ::core::option::Option::None::<[$scalar; 0]>
    };
}

#[cfg(all(test, feature = "parallel"))]
mod tests {
    use super::*;

    /// `test` on one of rayon's threads, the threads that keep buffers.
    fn on_a_worker(test: impl FnOnce() + Send) {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .expect("a pool of one thread");
        pool.install(test);
    }

    /// The capacities of this thread's spare `f32` buffers, smallest first.
    fn spare_rooms() -> Vec<usize> {
        let mut rooms: Vec<usize> = F32_SPARES.with(|spares| {
            spares
                .borrow()
                .iter()
                .flatten()
                .map(Vec::capacity)
                .collect()
        });
        rooms.sort_unstable();
        rooms
    }

    #[test]
    fn a_dropped_buffer_is_the_next_one_of_its_size() {
        on_a_worker(a_dropped_buffer_is_taken_again);
    }

    fn a_dropped_buffer_is_taken_again() {
        free_scratch();
        let mut first = Buffer::<f32>::with_capacity(1000);
        first.extend_from_slice(&[1.0; 10]);
        let at = first.as_ptr();
        drop(first);
        assert_eq!(spare_rooms(), [1000]);
        let again = Buffer::<f32>::with_capacity(600);
        assert_eq!(again.as_ptr(), at, "the spare is taken again");
        assert!(again.is_empty());
        drop(again);
        free_scratch();
        assert!(spare_rooms().is_empty());
    }

    #[test]
    fn an_overwritten_buffer_holds_a_spares_values_then_zeros() {
        on_a_worker(overwritten_from_a_spare);
    }

    fn overwritten_from_a_spare() {
        free_scratch();
        let mut first = Buffer::<f32>::overwritten(4);
        assert_eq!(first[..], [0.0; 4], "a new buffer is zeros");
        first.copy_from_slice(&[1.0, 2.0, 3.0, 4.0]);
        drop(first);
        assert_eq!(Buffer::<f32>::overwritten(3)[..], [1.0, 2.0, 3.0]);
        // The spare now holds three values: the fourth and fifth are zeros.
        assert_eq!(Buffer::<f32>::overwritten(5)[..], [1.0, 2.0, 3.0, 0.0, 0.0]);
        poison_spares(8);
        assert!(
            Buffer::<f32>::overwritten(8)
                .iter()
                .all(|value| value.is_nan())
        );
        free_scratch();
    }

    #[test]
    fn a_thread_keeps_its_largest_buffers() {
        on_a_worker(largest_kept);
    }

    #[test]
    fn a_program_thread_keeps_none() {
        free_scratch();
        drop(Buffer::<f32>::with_capacity(1000));
        assert!(spare_rooms().is_empty());
    }

    fn largest_kept() {
        free_scratch();
        let buffers: Vec<Buffer<f32>> = [10, 20, 30, 40, 50, 5]
            .into_iter()
            .map(Buffer::with_capacity)
            .collect();
        drop(buffers);
        assert_eq!(spare_rooms(), [20, 30, 40, 50]);
        // None has room for 60: the largest is grown to it.
        drop(Buffer::<f32>::with_capacity(60));
        assert_eq!(spare_rooms(), [20, 30, 40, 60]);
        // Other types keep nothing.
        drop(Buffer::<f64>::with_capacity(70));
        assert_eq!(spare_rooms(), [20, 30, 40, 60]);
        free_scratch();
    }
}
