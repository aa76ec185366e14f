//! The driver: how it cuts an output into tasks, and what each task sees.

use super::*;

#[test]
fn pad_copies_each_channel_into_its_zeros() {
    let x: Vec<f32> = (1..=6_u8).map(f32::from).collect();
    let padded = pad(&x, 3, 5, |channel, padded| {
        padded[1..4].clone_from_slice(channel);
    });
    if f32::runs_wide() {
        assert_eq!(padded, [0.0, 1.0, 2.0, 3.0, 0.0, 0.0, 4.0, 5.0, 6.0, 0.0]);
    } else {
        assert!(padded.is_empty());
    }
}

#[test]
fn gather_takes_runs_at_the_stride() {
    let source: Vec<i32> = (0..10).collect();
    assert_eq!(*gather(&source, 1, 2, 4, 2), [1, 2, 5, 6]);
}

#[test]
fn every_block_of_every_sample_is_visited_once_with_its_indices() {
    // `f32`, whose driver is the one this crate compiles (`F32`).
    let mut out = [0.0_f32; 10];
    for_each_block(&mut out, 5, 2, |sample, block, chunk| {
        let label = u8::try_from(10 * sample + block + 1).expect("a small index");
        chunk.fill(f32::from(label));
    });
    let expected = [1.0_f32, 1.0, 2.0, 2.0, 3.0, 11.0, 11.0, 12.0, 12.0, 13.0];
    assert_eq!(out.map(f32::to_bits), expected.map(f32::to_bits));
}

#[test]
fn every_tile_of_every_block_writes_its_rows_of_each_channel() {
    // The tiles' buffers are kept buffers, which a `Wide` type has.
    let int = |value: usize| i64::try_from(value).expect("a small index");
    // A value that names the sample, the block, the tile and the place in `local`.
    let mark = |sample: usize, block: usize, tile: usize, at: usize| {
        int(1000 * sample + 100 * block + 10 * tile + at)
    };
    // Two samples of two blocks (2 channels, then 1) of planes of 5, tiles of 2: a
    // tile's buffer holds its rows of each channel, one channel after another, and
    // whatever it held before (not the output's values) until the task writes it.
    let mut out = vec![-1_i64; 30];
    for_each_tile(
        &mut out,
        [15, 10, 5, 2],
        false,
        |sample, block, tile, local| {
            let rows = if tile == 2 { 1 } else { 2 };
            let channels = if block == 0 { 2 } else { 1 };
            assert_eq!(local.len(), channels * rows, "{sample} {block} {tile}");
            for (at, value) in local.iter_mut().enumerate() {
                *value = mark(sample, block, tile, at);
            }
        },
    );
    let expected: Vec<i64> = (0..30)
        .map(|at| {
            let (sample, within) = (at / 15, at % 15);
            let (block, channel, row) = (within / 10, within % 10 / 5, within % 5);
            let (tile, rows) = (row / 2, if row / 2 == 2 { 1 } else { 2 });
            mark(sample, block, tile, channel * rows + row % 2)
        })
        .collect();
    assert_eq!(out, expected);
}

#[test]
fn whole_tiles_give_every_channel_a_whole_tile_and_drop_the_rows_past_the_plane() {
    // One sample of one block of 2 channels of 5 rows, tiles of 2 rows: the last
    // tile's channels take 2 rows in `local` too, of which only the first goes back.
    let mut out = vec![-1_i64; 10];
    for_each_tile(&mut out, [10, 10, 5, 2], true, |_, _, tile, local| {
        assert_eq!(local.len(), 4);
        for (at, value) in local.iter_mut().enumerate() {
            *value = 100
                + 10 * i64::try_from(tile).expect("a small tile")
                + i64::try_from(at).expect("a small index");
        }
    });
    assert_eq!(out, [100, 101, 110, 111, 120, 102, 103, 112, 113, 122]);
}

#[test]
fn gathered_rows_outside_the_plane_are_zeros() {
    // Two channels of 3 rows of 2, from element 1 of the source.
    let source: Vec<i64> = (0..13).collect();
    let rows = |first: isize, rows: usize| -> Vec<i64> {
        gather_rows(&source, 1, first, [rows, 2, 6, 2]).to_vec()
    };
    assert_eq!(rows(-1, 3), [0, 0, 1, 2, 3, 4, 0, 0, 7, 8, 9, 10]);
    assert_eq!(rows(1, 3), [3, 4, 5, 6, 0, 0, 9, 10, 11, 12, 0, 0]);
    assert_eq!(
        rows(-2, 6),
        [
            0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 0, 0, 0, 0, 0, 0, 7, 8, 9, 10, 11, 12, 0, 0
        ]
    );
    assert_eq!(rows(4, 1), [0, 0, 0, 0]);
}

/// The runs `for_each_span` gives a pool of `threads` over `samples` samples of 3
/// channels of 10 positions, in steps of 4: each task's `(sample, origin, length)`,
/// after checking that every piece is its channel's run, in place, and that the tasks
/// cover the output once.
fn spans(threads: usize, samples: usize) -> Vec<(usize, usize, usize)> {
    let run = || {
        let int = |value: usize| i64::try_from(value).expect("a small index");
        let mut out: Vec<i64> = (0..int(samples * 30)).collect();
        let seen = std::sync::Mutex::new(Vec::new());
        for_each_span(&mut out, 30, 10, 4, |sample, origin, pieces| {
            assert_eq!(pieces.len(), 3);
            let length = pieces[0].len();
            for (channel, piece) in pieces.iter_mut().enumerate() {
                let start = sample * 30 + channel * 10 + origin;
                assert!(piece.iter().copied().eq(int(start)..int(start + length)));
                for value in piece.iter_mut() {
                    *value += 1000;
                }
            }
            seen.lock()
                .expect("no task panicked")
                .push((sample, origin, length));
        });
        assert!(out.iter().copied().eq(1000..1000 + int(samples * 30)));
        let mut seen = seen.into_inner().expect("no task panicked");
        seen.sort_unstable();
        seen
    };
    #[cfg(feature = "parallel")]
    return rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a small pool")
        .install(run);
    #[cfg(not(feature = "parallel"))]
    return run();
}

#[test]
fn runs_of_whole_steps_give_each_thread_one() {
    #[cfg(feature = "parallel")]
    {
        // 2.5 steps: 1 and 1.5 steps for two threads, the plane's rest in the last.
        assert_eq!(spans(2, 1), [(0, 0, 4), (0, 4, 6)]);
        // Three threads: no run shorter than a step.
        assert_eq!(spans(3, 1), [(0, 0, 4), (0, 4, 6)]);
        // Two samples give two threads a run each.
        assert_eq!(spans(2, 2), [(0, 0, 10), (1, 0, 10)]);
        assert_eq!(spans(4, 2), [(0, 0, 4), (0, 4, 6), (1, 0, 4), (1, 4, 6)]);
    }
    assert_eq!(spans(1, 2), [(0, 0, 10), (1, 0, 10)]);
}

#[test]
fn a_value_past_the_first_pieces_is_checked() {
    let mut values = alloc::vec![1.0_f32; 2 * FINITE_PIECE + 3];
    assert!(all_finite(&values));
    values[2 * FINITE_PIECE + 1] = f32::NAN;
    assert!(!all_finite(&values));
    values[2 * FINITE_PIECE + 1] = f32::NEG_INFINITY;
    assert!(!all_finite(&values));
}

#[test]
fn small_work_stays_on_the_calling_thread() {
    assert_eq!(LEAST.load(core::sync::atomic::Ordering::Relaxed), THRESHOLD);
    let threshold = u128::from(THRESHOLD);
    assert!(!worth(threshold - 1));
    #[cfg(feature = "parallel")]
    {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .expect("a pool of two threads");
        assert!(pool.install(|| worth(threshold)));
        assert!(!pool.install(|| worth(threshold - 1)));
    }
}
