//! The scratch memory of the wide builds: the padded copies of the input or of δ and the
//! packed weights a wide kernel reads, one buffer per call, whose size grows with the
//! layer, so never on the stack.
//!
//! With `std`, the buffer is a `Vec` allocated on each call: one allocation beside a
//! layer's thousands of multiply-adds per element copied, and no state shared between
//! calls or threads. Without `std`, there may be no allocator: a layer whose scratch fits
//! [`STACK_SCRATCH`] keeps it in a local array as before, and a larger one runs its
//! portable build. The generated code says which through [`wide_scratch!`](crate::__wide_scratch).

/// The most scalars a wide build keeps on the stack without `std`: 64 KiB of `f32`.
pub const STACK_SCRATCH: usize = 16_384;

/// `len` zeros on the heap: a wide kernel's scratch under `std`.
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
