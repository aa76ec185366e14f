//! The parallel forms' driver: what a generated `…_par_into` method calls to cut its
//! output into tasks and run them on rayon's current pool (the global one, or the one the
//! caller entered with `ThreadPool::install`); nothing is spawned per call.
//!
//! Each task runs the same kernel body whatever the number of threads, so every output is
//! summed by the same code in the same order: the result's bits do not depend on the
//! schedule. Without the `parallel` feature the functions exist all the same and run the
//! tasks in order on the calling thread, so the generated code never depends on the
//! user's features (a proc-macro cannot see them).

use alloc::vec::Vec;

use super::scalar::{Scalar, Wide};
use super::scratch::Buffer;
#[doc(hidden)]
pub use super::scratch::poison_spares;

/// Multiply-adds below which `conv!` writes no tasks: a parallel form of a smaller layer
/// is its one-thread kernel, whatever [`set_threshold`] says. It is the default
/// threshold, so that a layer does not compile tasks that would not run at the default
/// settings: from 2^16 on, they were over a third of the release build of
/// `strided-padded` (295 k multiply-adds) and `upsample-1d` (2.05 M), 3.2 s each
/// (`BENCHMARKS.md`, "No tasks under the default threshold, kept").
pub const SPLIT_FROM: u128 = THRESHOLD as u128;

/// Multiply-adds below which a parallel form runs on the calling thread unless a program
/// sets another threshold ([`set_threshold`]). Below about a million, two threads lost to
/// one on both machines measured (issue 12): rayon's hand-out, the tasks' copies and the
/// finiteness check are then a large part of the work. On an Intel Xeon, two threads
/// against one: 3×3 layers of 166 k multiply-adds 0.16–0.32×, 663 k 0.58–0.72×, 1.2 M
/// 0.88–1.15×, 2.7 M 1.01–1.20×; on an AMD Zen 5, 147 k and 295 k lost, 1.2 M gained.
pub const THRESHOLD: u64 = 1 << 21;

/// The threshold in force: [`THRESHOLD`] until a program sets another.
static LEAST: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(THRESHOLD);

/// Sets the multiply-adds below which the parallel forms run on the calling thread, for
/// every thread, until the next call: to tune it for a machine. A layer under
/// [`SPLIT_FROM`] (the default threshold) has no tasks: a lower threshold splits none.
pub fn set_threshold(multiply_adds: u64) {
    LEAST.store(multiply_adds, core::sync::atomic::Ordering::Relaxed);
}

/// Whether a pass of `multiply_adds` is worth splitting: the `parallel` feature is on, the
/// current pool has more than one thread, and the work reaches the threshold
/// ([`THRESHOLD`], or what [`set_threshold`] set).
pub fn worth(multiply_adds: u128) -> bool {
    let least = LEAST.load(core::sync::atomic::Ordering::Relaxed);
    cfg!(feature = "parallel") && threads() > 1 && multiply_adds >= u128::from(least)
}

/// Whether `tasks` tasks give every thread of the current pool one: if so, a parallel form
/// runs its blocks rather than cutting them into tiles of rows as well.
pub fn enough(tasks: usize) -> bool {
    tasks >= threads()
}

/// The rows of a tile where each of `tasks` tasks of `rows` rows is cut into row tiles
/// that call the layer's own code (whose bits do not depend on where a tile starts): as
/// many tiles as give each thread of the current pool one, at most `most` per task. For
/// tiles that pack their block's weights and copy all of their input whatever their
/// rows (the input gradient's phases' channel block), where a tile per thread costs
/// least: `dcgan-up`'s forward pass (one block of 32 channels) on two threads took
/// 276–287 µs in 8 tiles, 242–264 µs in 4 and 187–207 µs in 2, against 185–206 µs in
/// the two tasks of 16 channels it ran before (Intel Xeon, best of 300 calls).
#[must_use]
pub fn tile_rows(rows: usize, tasks: usize, most: usize) -> usize {
    let tiles = threads().div_ceil(tasks.max(1)).clamp(1, most.max(1));
    rows.div_ceil(tiles).max(1)
}

/// The threads of the current pool; one without the `parallel` feature.
fn threads() -> usize {
    #[cfg(feature = "parallel")]
    return rayon::current_num_threads();
    #[cfg(not(feature = "parallel"))]
    return 1;
}

/// Whether every value of `values` is finite (`Wide::all_finite`), checked in pieces on
/// the current pool: the check a parallel form makes of the operands its wide builds
/// multiply by padding, before its tasks (or of its output after them, where that is
/// fewer values). On the calling thread alone it was the largest part of a pass that did
/// not divide (5.6% of the processor time of `resnet-1x1`'s forward pass on two threads,
/// by `perf`).
pub fn all_finite<T: Scalar + Send + Sync>(values: &[T]) -> bool {
    (T::drivers().all_finite)(values)
}

/// [`all_finite`], one function per scalar type (see [`Drivers`]).
fn finite<T: Wide + Sync>(values: &[T]) -> bool {
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        values.par_chunks(FINITE_PIECE).all(T::all_finite)
    }
    #[cfg(not(feature = "parallel"))]
    values.chunks(FINITE_PIECE).all(T::all_finite)
}

/// The values a task of [`all_finite`] checks: 256 KiB of `f32`, some microseconds.
const FINITE_PIECE: usize = 1 << 16;

/// Runs `task(sample, block, chunk)` on every `chunk` of `block` elements of every
/// sample of `sample` elements of `out` (a sample's last chunk may be shorter): on the
/// current pool with the `parallel` feature, else in order on the calling thread.
pub fn for_each_block<T, F>(out: &mut [T], sample: usize, block: usize, task: F)
where
    T: Scalar + Send + Sync,
    F: Fn(usize, usize, &mut [T]) + Sync,
{
    (T::drivers().blocks)(out, [sample, block], &task);
}

/// A task of [`for_each_block`]: sample, block, and the block's output.
pub type BlockTask<'a, T> = &'a (dyn Fn(usize, usize, &mut [T]) + Sync);

/// [`for_each_block`] with its task behind a reference and its sizes in one array, sample
/// and block, one function per scalar type (see [`Drivers`]).
fn blocks<T: Send>(out: &mut [T], [sample, block]: [usize; 2], task: BlockTask<'_, T>) {
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        out.par_chunks_mut(sample)
            .enumerate()
            .for_each(|(index, sample)| {
                sample
                    .par_chunks_mut(block)
                    .enumerate()
                    .for_each(|(block, chunk)| task(index, block, chunk));
            });
    }
    #[cfg(not(feature = "parallel"))]
    for (index, sample) in out.chunks_mut(sample).enumerate() {
        for (block, chunk) in sample.chunks_mut(block).enumerate() {
            task(index, block, chunk);
        }
    }
}

/// Runs `task(sample, block, tile, local)` for every tile of rows of every block of every
/// sample of `out`: as [`for_each_block`], each `block` elements of a sample (the last may
/// be shorter) being channels of `plane` elements, each cut into tiles of `tile` elements
/// (the last may be shorter). A tile's rows of every channel of its block are not
/// contiguous in `out`: `local` holds them one channel after another, and is copied back
/// after the task. The task must write every value of `local`, which starts as whatever
/// the thread's kept buffer held, not as `out`'s values. With `whole`, every channel of
/// `local` takes `tile` elements, the last tile's too: a task whose layer computes a whole
/// tile's rows wherever it lies writes the rows past the plane there, and they are
/// dropped.
pub fn for_each_tile<T, F>(
    out: &mut [T],
    [sample, block, plane, tile]: [usize; 4],
    whole: bool,
    task: F,
) where
    T: Scalar + Send + Sync,
    F: Fn(usize, usize, usize, &mut [T]) + Sync,
{
    (T::drivers().tiles)(out, [sample, block, plane, tile], whole, &task);
}

/// Runs `task(block, inputs, whole)` for every run of `run` input channels
/// `inputs[0]..inputs[1]` of every block of `block` elements of a weight gradient `out`
/// (`filter` elements an output channel, `taps` an input channel; the last run may be
/// shorter). `whole` is zeros the size of a block: the task writes its input channels'
/// weights of every output channel of the block there, and they alone are copied into
/// `out` after it. A block of the whole gradient is the cut of a weight gradient whose
/// tasks of output channels would run narrower register blocks than its own; blocks of
/// output channels, each in runs, give a pool more tasks than the blocks alone. Each run
/// is computed by the layer's own blocks, every weight's terms summed in the same order.
pub fn for_each_input_run<T, F>(out: &mut [T], [block, filter, taps, run]: [usize; 4], task: F)
where
    T: Scalar + Send + Sync,
    F: Fn(usize, [usize; 2], &mut [T]) + Sync,
{
    let channels = filter / taps.max(1);
    let tile = run * taps;
    for_each_tile(
        out,
        [out.len(), block, filter, tile],
        false,
        |_, index, run_index, local| {
            let first = run_index * run;
            let end = (first + run).min(channels);
            let mut whole = Buffer::with_capacity(block);
            whole.extend(core::iter::repeat_n(T::zero(), block));
            task(index, [first, end], &mut whole[..]);
            let piece = (end - first) * taps;
            for (local, weights) in local
                .chunks_exact_mut(piece)
                .zip(whole.chunks_exact(filter))
            {
                local.clone_from_slice(&weights[first * taps..][..piece]);
            }
        },
    );
}

/// A task of [`for_each_tile`]: sample, block, tile, and the tile's output.
pub type TileTask<'a, T> = &'a (dyn Fn(usize, usize, usize, &mut [T]) + Sync);

/// [`for_each_tile`] with its task behind a reference and its sizes in one array: sample,
/// block, plane and tile; one function per scalar type (see [`Drivers`]).
fn tiles<T: Scalar + Send>(
    out: &mut [T],
    [sample, block, plane, tile]: [usize; 4],
    whole: bool,
    task: TileTask<'_, T>,
) {
    // Each tile's pieces, one per channel of its block, borrowed apart from the others.
    let mut tiles: Vec<(usize, usize, usize, Vec<&mut [T]>)> = Vec::new();
    for (index, sample) in out.chunks_mut(sample).enumerate() {
        for (block, channels) in sample.chunks_mut(block).enumerate() {
            let first = tiles.len();
            for plane in channels.chunks_mut(plane) {
                for (tile, piece) in plane.chunks_mut(tile).enumerate() {
                    if tiles.len() == first + tile {
                        tiles.push((index, block, tile, Vec::new()));
                    }
                    tiles[first + tile].3.push(piece);
                }
            }
        }
    }
    let room = |piece: &[T]| if whole { tile } else { piece.len() };
    let run = |(index, block, tile, mut pieces): (usize, usize, usize, Vec<&mut [T]>)| {
        // Not filled from `out`: the task writes every value of `local`.
        let mut local = Buffer::overwritten(pieces.iter().map(|piece| room(piece)).sum());
        task(index, block, tile, &mut local[..]);
        let mut rest = &local[..];
        for piece in &mut pieces {
            let (head, tail) = rest.split_at(room(piece));
            piece.clone_from_slice(&head[..piece.len()]);
            rest = tail;
        }
    };
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        tiles.into_par_iter().for_each(run);
    }
    #[cfg(not(feature = "parallel"))]
    tiles.into_iter().for_each(run);
}

/// Runs `task(sample, origin, pieces)` for every run of positions from `origin` of every
/// sample of `sample` elements of `out`, made of channels of `plane` elements: `pieces`
/// holds that run of each channel of the sample, in place. A run is a whole number of
/// `step` positions (a plane's last holds the rest), as many as give each thread of the
/// current pool about one run: the runs of a pointwise layer's plane, which its parallel forms
/// split. Each task packs the weights and takes its scratch for itself: `resnet-1x1`'s
/// forward pass on two threads took 663 µs in runs of one step (25 tasks), 527-542 µs in
/// runs of four (7 tasks).
pub fn for_each_span<T, F>(out: &mut [T], sample: usize, plane: usize, step: usize, task: F)
where
    T: Scalar + Send + Sync,
    F: Fn(usize, usize, &mut [&mut [T]]) + Sync,
{
    (T::drivers().spans)(out, [sample, plane, step], &task);
}

/// A task of [`for_each_span`]: sample, first position, and the run of each channel.
pub type SpanTask<'a, T> = &'a (dyn Fn(usize, usize, &mut [&mut [T]]) + Sync);

/// [`for_each_span`] with its task behind a reference and its sizes in one array: sample,
/// plane and step; one function per scalar type (see [`Drivers`]).
fn spans<T: Send>(out: &mut [T], [sample, plane, step]: [usize; 3], task: SpanTask<'_, T>) {
    let samples = out.len() / sample.max(1);
    let runs_per_sample = threads().div_ceil(samples.max(1));
    // Whole steps, the plane's last run taking the rest (less than a run more): on two
    // threads `resnet-1x1`'s 24.5 steps of its forward pass make runs of 12 and 12.5
    // steps (a third run of half a step, with its own packing and scratch, measured 5%
    // slower); on sixteen, 23 runs of one step and one of 1.5.
    let run = step * (plane / (step * runs_per_sample)).max(1);
    let runs = (plane / run).max(1);
    let mut tasks: Vec<(usize, usize, Vec<&mut [T]>)> = Vec::new();
    for (index, sample) in out.chunks_mut(sample).enumerate() {
        let first = tasks.len();
        for channel in sample.chunks_mut(plane) {
            let mut rest = channel;
            for span in 0..runs {
                let length = if span + 1 == runs { rest.len() } else { run };
                let (piece, tail) = core::mem::take(&mut rest).split_at_mut(length);
                rest = tail;
                if tasks.len() == first + span {
                    tasks.push((index, span * run, Vec::new()));
                }
                tasks[first + span].2.push(piece);
            }
        }
    }
    let run = |(index, origin, mut pieces): (usize, usize, Vec<&mut [T]>)| {
        task(index, origin, &mut pieces);
    };
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        tasks.into_par_iter().for_each(run);
    }
    #[cfg(not(feature = "parallel"))]
    tasks.into_iter().for_each(run);
}

/// `runs` runs of `run` elements of `source`, `stride` apart from `start`, copied into one
/// contiguous vector: a task's channels of every sample.
pub fn gather<T: Wide + Clone>(
    source: &[T],
    start: usize,
    run: usize,
    stride: usize,
    runs: usize,
) -> Buffer<T> {
    let mut gathered = Buffer::with_capacity(run * runs);
    for index in 0..runs {
        let first = start + index * stride;
        gathered.extend_from_slice(&source[first..first + run]);
    }
    gathered
}

/// Rows `first..first + rows` of `channels` channels of `source`, channel `c` the `plane`
/// elements from `start + c · plane` in rows of `row`, copied into one vector, channel
/// after channel, with zeros for the rows outside the plane (`first` may be negative): a
/// row tile's input (δ for an input gradient), the padding along the first axis made
/// real, so that every tile of a pass is the same layer.
pub fn gather_rows<T: Scalar>(
    source: &[T],
    start: usize,
    first: isize,
    [rows, row, plane, channels]: [usize; 4],
) -> Buffer<T> {
    let mut gathered = Buffer::with_capacity(channels * rows * row);
    let plane_rows = plane / row;
    // The rows before the plane, those in it (from row `from`), those after it.
    let before = if first < 0 {
        first.unsigned_abs().min(rows)
    } else {
        0
    };
    let from = usize::try_from(first).map_or(0, |first| first.min(plane_rows));
    let inside = (rows - before).min(plane_rows - from);
    let zeros = |count: usize| core::iter::repeat_n(T::zero(), count * row);
    for channel in 0..channels {
        let channel = &source[start + channel * plane..][..plane];
        gathered.extend(zeros(before));
        gathered.extend_from_slice(&channel[from * row..][..inside * row]);
        gathered.extend(zeros(rows - before - inside));
    }
    gathered
}

/// `x`, channels of `plane` elements, copied into zeros `padded_plane` elements a channel
/// by `copy(channel, padded)`, the channels shared out over the current pool: the padded
/// input that every task of a weight gradient reads, where each task padded the whole
/// batch for itself (four times on `resnet-down` at batch 8). Empty where the wide builds
/// do not run ([`Wide::runs_wide`]): the portable loops read `x` itself.
pub fn pad<T, F>(x: &[T], plane: usize, padded_plane: usize, copy: F) -> Vec<T>
where
    T: Scalar + Send + Sync,
    F: Fn(&[T], &mut [T]) + Sync,
{
    (T::drivers().padded)(x, [plane, padded_plane], &copy)
}

/// A copy of [`pad`]: a channel of `x` into its padded plane.
pub type CopyTask<'a, T> = &'a (dyn Fn(&[T], &mut [T]) + Sync);

/// [`pad`]'s work as a function of one type ([`Drivers::padded`]).
pub type PadFn<T> = fn(&[T], [usize; 2], CopyTask<'_, T>) -> Vec<T>;

/// [`pad`] with its copy behind a reference and its sizes in one array, plane and padded
/// plane; one function per scalar type (see [`Drivers`]).
fn padded<T: Scalar + Send + Sync>(
    x: &[T],
    [plane, padded_plane]: [usize; 2],
    copy: CopyTask<'_, T>,
) -> Vec<T> {
    if !T::runs_wide() {
        return Vec::new();
    }
    let len = x.len() / plane * padded_plane;
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        // The zeros are written by the pool's threads, each its part (rayon's collect
        // into a vector's spare room): zeroed on the calling thread alone, as one
        // `vec![zero; len]`, the 2 MB of `upsample-1d`'s weight gradient at batch 8 took
        // it from 300-317 µs to 419-450 µs on two threads, slower than one (378-393 µs).
        let mut padded = Vec::with_capacity(len);
        padded.par_extend(rayon::iter::repeat_n(T::zero(), len));
        padded
            .par_chunks_mut(padded_plane)
            .zip(x.par_chunks(plane))
            .for_each(|(padded, channel)| copy(channel, padded));
        padded
    }
    #[cfg(not(feature = "parallel"))]
    {
        let mut padded = alloc::vec![T::zero(); len];
        for (padded, channel) in padded.chunks_mut(padded_plane).zip(x.chunks(plane)) {
            copy(channel, padded);
        }
        padded
    }
}

/// The driver's functions for one scalar type, which the public ones above call through
/// [`Wide::drivers`]. A generic function is compiled in every crate that calls it, once per
/// type: each of these, with the rayon code it instantiates, took 0.4–0.7 s of processor
/// time in the release build of every crate with a parallel form, 2 s for all five. For
/// `f32` and `f64` they are compiled here, once, in [`F32`] and [`F64`]; other types
/// (the integers, a user's own) compile them where they are used, as before.
pub struct Drivers<T> {
    /// [`for_each_block`]'s.
    pub blocks: fn(&mut [T], [usize; 2], BlockTask<'_, T>),
    /// [`for_each_tile`]'s.
    pub tiles: fn(&mut [T], [usize; 4], bool, TileTask<'_, T>),
    /// [`for_each_span`]'s.
    pub spans: fn(&mut [T], [usize; 3], SpanTask<'_, T>),
    /// [`pad`]'s.
    pub padded: PadFn<T>,
    /// [`all_finite`]'s.
    pub all_finite: fn(&[T]) -> bool,
}

// By hand: a derive would ask `T: Copy`, which the functions do not need.
impl<T> Clone for Drivers<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Drivers<T> {}

impl<T: Scalar + Send + Sync> Drivers<T> {
    /// The functions for `T`, compiled where this is used.
    pub const GENERIC: Self = Self {
        blocks: blocks::<T>,
        tiles: tiles::<T>,
        spans: spans::<T>,
        padded: padded::<T>,
        all_finite: finite::<T>,
    };
}

/// The driver for `f32`, compiled in this crate: a crate that reads it compiles none of
/// it.
pub static F32: Drivers<f32> = Drivers::GENERIC;

/// The driver for `f64`, compiled in this crate.
pub static F64: Drivers<f64> = Drivers::GENERIC;

/// `slice` as the array a kernel body takes.
///
/// # Panics
///
/// If `slice` does not hold `N` elements: the generated code cuts it to that length.
pub fn array<T, const N: usize>(slice: &[T]) -> &[T; N] {
    slice
        .try_into()
        .expect("the generated code cuts a task's operand to the kernel's length")
}

/// `slice` as the array a kernel body writes.
///
/// # Panics
///
/// If `slice` does not hold `N` elements: the generated code cuts it to that length.
pub fn array_mut<T, const N: usize>(slice: &mut [T]) -> &mut [T; N] {
    slice
        .try_into()
        .expect("the generated code cuts a task's output to the kernel's length")
}

#[cfg(test)]
mod tests;
