//! The parallel forms (`…_par_into`) against the one-thread kernels, bit for bit: in pools
//! of 1, 2 and 7 threads, in every build this processor has, on layers whose channels,
//! groups or samples leave a smaller last task, on non-integer data (where another order
//! of additions would change the last bits), and with an infinity among the data; then
//! the benchmark suite's real layers in pools of 3 and 8 threads, in the wide builds.

mod common;

use std::sync::Mutex;

use common::{array, array_mut};
use convsym::__private::par;
use convsym::kernel::{self, Width};

/// The widest build is a global setting: the tests take turns.
static CAP: Mutex<()> = Mutex::new(());

/// Non-integer values in `[-1, 1)` from a fixed seed (xorshift), so that a change in the
/// order of any sum shows in its bits.
fn data(len: usize, seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // The top 16 bits as a fraction of 2^15, shifted to [-1, 1).
            f32::from(u16::try_from(state >> 48).unwrap_or(0)) / 32_768.0 - 1.0
        })
        .collect()
}

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|value| value.to_bits()).collect()
}

/// The builds, each a cap on the widest one: on a processor without AVX-512 (or AVX2) the
/// cap runs the widest it has, and the comparison holds all the same.
const WIDTHS: [Width; 3] = [Width::Portable, Width::Avx2, Width::Avx512];

/// Pools of these sizes run the parallel forms.
const THREADS: [usize; 3] = [1, 2, 7];

/// `(x, w, b, z, parallel)`: `forward_into`, or `forward_par_into` when `parallel`; `b`
/// empty without a bias.
type Forward = fn(&[f32], &[f32], &[f32], &mut [f32], bool);

/// `(x, w, dz, dx, dw, db, parallel)`: `backward_into`, or `backward_par_into` when
/// `parallel`; `db` empty without a bias.
type Backward = fn(&[f32], &[f32], &[f32], &mut [f32], &mut [f32], &mut [f32], bool);

/// A layer's passes, one-thread and parallel, on slices of its sizes.
struct Passes {
    sizes: [usize; 4],
    multiply_adds: u128,
    forward: Forward,
    backward: Backward,
}

macro_rules! passes {
    ($layer:ident $($bias:ident)?) => {
        Passes {
            sizes: [$layer::INPUT_LEN, $layer::WEIGHT_LEN, $layer::BIAS_LEN, $layer::OUTPUT_LEN],
            multiply_adds: $layer::MULTIPLY_ADDS,
            forward: |x, w, _b, z, par| {
                let (x, w, z) = (array(x), array(w), array_mut(z));
                if par {
                    $layer.forward_par_into(x, w, $(array(passes!(@$bias _b)),)? z);
                } else {
                    $layer.forward_into(x, w, $(array(passes!(@$bias _b)),)? z);
                }
            },
            backward: |x, w, dz, dx, dw, _db, par| {
                let (x, w, dz, dx, dw) = (array(x), array(w), array(dz), array_mut(dx), array_mut(dw));
                if par {
                    $layer.backward_par_into(x, w, dz, dx, dw $(, array_mut(passes!(@$bias _db)))?);
                } else {
                    $layer.backward_into(x, w, dz, dx, dw $(, array_mut(passes!(@$bias _db)))?);
                }
            },
        }
    };
    (@bias $value:ident) => { $value };
}

/// Every pass of `passes`, parallel against one-thread, bit for bit, on data made from
/// `seed`; with an infinity in the input and in δ when `infinite`.
/// Where a test puts an infinity: the parallel forms check the operands a pass's wide
/// builds multiply by padding (the weights alone for some) before or after their tasks.
#[derive(Clone, Copy)]
enum Infinity {
    Nowhere,
    /// In the input and in δ.
    InData,
    InWeights,
}

fn compare(layer: &str, passes: &Passes, seed: u64, infinite: Infinity) {
    compare_on(layer, passes, seed, infinite, (&WIDTHS, &THREADS));
}

/// [`compare`] in the builds `widths` and pools of `threads`.
fn compare_on(
    layer: &str,
    passes: &Passes,
    seed: u64,
    infinite: Infinity,
    (widths, threads): (&[Width], &[usize]),
) {
    let [x_len, w_len, b_len, z_len] = passes.sizes;
    let (mut x, mut w, b, mut dz) = (
        data(x_len, seed),
        data(w_len, seed + 1),
        data(b_len, seed + 2),
        data(z_len, seed + 3),
    );
    match infinite {
        Infinity::Nowhere => {}
        Infinity::InData => {
            x[x_len / 2] = f32::INFINITY;
            dz[z_len / 3] = f32::NEG_INFINITY;
        }
        Infinity::InWeights => w[w_len / 2] = f32::INFINITY,
    }
    let run = |par: bool| {
        let mut z = vec![0.0; z_len];
        let (mut dx, mut dw, mut db) = (vec![0.0; x_len], vec![0.0; w_len], vec![0.0; b_len]);
        (passes.forward)(&x, &w, &b, &mut z, par);
        (passes.backward)(&x, &w, &dz, &mut dx, &mut dw, &mut db, par);
        [z, dx, dw, db].map(|values| bits(&values))
    };
    let _turn = CAP
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for &width in widths {
        kernel::set_widest(width);
        let one = run(false);
        for &threads in threads {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("a pool of a few threads");
            // Above the threshold the forms split, here as at the default on large layers:
            // a comparison of a form that ran its one-thread kernel would prove nothing.
            let split = pool.install(|| par::worth(passes.multiply_adds));
            assert_eq!(
                split,
                threads > 1 && passes.multiply_adds >= par::SPLIT_FROM,
                "{layer}, {threads} threads"
            );
            // Every thread's kept buffers full of NaN: a task that leaves a value of its
            // output unwritten copies one into the result.
            pool.broadcast(|_| par::poison_spares(x_len.max(w_len).max(z_len)));
            let parallel = pool.install(|| run(true));
            let passes = [
                "forward",
                "input gradient",
                "weight gradient",
                "bias gradient",
            ];
            for (pass, (one, parallel)) in passes.into_iter().zip(one.iter().zip(&parallel)) {
                assert!(
                    one == parallel,
                    "{layer}, {pass}, {width:?}, {threads} threads"
                );
            }
        }
    }
    kernel::set_widest(Width::Avx512);
}

// Each layer just above the least work that has tasks, 2^21 multiply-adds, the default
// threshold (the tests run unoptimised), with tasks of whole register blocks, or a smaller
// last one: here 7 output channels in tasks of 4 and 3 (forward, weight gradient), the
// forward pass's cut into 4 tiles of 5 output rows on 7 threads; conv-macros' `parallel`
// tests pin each layer's split.
convsym::conv!(
    /// 2-D, strided with a remainder, no bias.
    struct Plane;
    in = (36, 400), k = 3, stride = (2, 1), cin = 5, cout = 7
);

convsym::conv!(
    /// 2-D with a bias and 128 output channels: forward tasks of two whole 32-channel
    /// register blocks, weight gradient tasks of one; the input gradient's 9 input
    /// channels in one task, cut into row tiles that are parts of the layer's pass.
    struct Blocks;
    in = (6, 48), k = 3, pad = 1, cin = 9, cout = 128, bias
);

convsym::conv!(
    /// Five groups of 3 input and 5 output channels, dilated, padded unevenly, three
    /// samples: a task per sample (groups of several channels are never split), on 7
    /// threads each sample's forward pass and input gradient in 3 row tiles.
    struct Grouped;
    in = (11, 210), k = (3, 2), dilation = (2, 1), pad = ((1, 0), (0, 1)), cin = 15, cout = 25,
    groups = 5, batch = 3, bias
);

convsym::conv!(
    /// Depthwise at stride 2: one channel per group, 430 groups, two samples: the forward
    /// pass and the input gradient in runs of 27 channels of a sample, the last of 25; the
    /// weight gradient in runs of 14, the last of 10.
    struct Depthwise;
    in = (34, 33), k = 3, stride = 2, pad = 1, cin = 430, cout = 430, groups = 430, batch = 2
);

convsym::conv!(
    /// Depthwise at stride 1, three samples: the weight gradient in runs of 6 channels,
    /// the last of 5, each reading its channels of the input and of δ where they lie in
    /// every sample; the other passes in runs of 18, the last of 11.
    struct DepthwiseSamples;
    in = (12, 37), k = 3, pad = 1, cin = 191, cout = 191, groups = 191, batch = 3
);

convsym::conv!(
    /// One axis, strided with a remainder, an odd batch: tasks of 5 of a sample's 10 output
    /// channels (of 3 of its 6 input channels for the input gradient), each in 2 row tiles
    /// on 7 threads; the weight gradient in tasks of 2 channels.
    struct Line;
    in = (5201,), k = 7, stride = 3, cin = 6, cout = 10, batch = 3, bias
);

convsym::conv!(
    /// Three axes: tasks of 3 and 2 output channels, on 7 threads in 3 tiles of 2 rows (the
    /// input gradient's 4 input channels in one task, as no task has one channel of
    /// several, in 6 row tiles).
    struct Volume;
    in = (6, 8, 136), k = 3, pad = (1, 0, 1), cin = 4, cout = 5, batch = 1
);

convsym::conv!(
    /// 20 input channels at stride 1, not a multiple of the 8 the input gradient's dual
    /// channel block needs: the layer takes the rows over δ, whose parts are every input
    /// channel, so a task is all 20, in row tiles (a task of whole register blocks of them
    /// would take that block where the layer takes another, and add in another order).
    struct Inputs;
    in = (10, 84), k = 3, pad = 1, cin = 20, cout = 16
);

convsym::conv!(
    /// Two 32-channel blocks of outputs, too few tasks for eight cores: the forward pass is
    /// cut into tiles of 3 output rows, the input gradient, all 9 input channels in one
    /// task, into tiles of 2 input rows (the first and last reaching the padding, the
    /// middle ones not), each a part of the layer's own pass.
    struct Tiled;
    in = (12, 40), k = 3, pad = 1, cin = 9, cout = 64, bias
);

convsym::conv!(
    /// Rows long enough for the forward pass to read its input in place: one block of 16
    /// output channels in six tiles of 3 output rows, parts of the layer's pass that read
    /// the input where it lies (such reads once panicked in tiles, as `resnet-3x3`'s did
    /// on four threads); the weight gradient in two runs of 2 input channels.
    struct TiledInPlace;
    in = (18, 216), k = 3, pad = 1, cin = 4, cout = 16
);

convsym::conv!(
    /// Three input channels at stride 2 with a remainder (the last input row reaches no
    /// output): the input gradient, one block, cut into 8 tiles of 5 input rows whose first
    /// rows fall in both phases of the stride; the forward pass's one block of 16 output
    /// channels into 7 tiles of 3 output rows; the weight gradient into runs of 2 and 1
    /// input channels, each padding its own channels alone.
    struct TiledStrided;
    in = (38, 194), k = 5, stride = 2, pad = 2, cin = 3, cout = 16
);

convsym::conv!(
    /// Depthwise, one sample: every pass in runs of 5 channels, read and written in place,
    /// the last of one (a task layer of one group).
    struct TiledDepthwise;
    in = (40, 40), k = 3, pad = 1, cin = 151, cout = 151, groups = 151
);

convsym::conv!(
    /// One axis: tiles of the row itself.
    struct TiledLine;
    in = (3000,), k = 11, pad = 5, cin = 8, cout = 8
);

convsym::conv!(
    /// One axis at stride 2, where the input gradient's rows over δ compute no parts: its
    /// 9 input channels in tasks of 5 and 4, each cut into 4 tiles of 700 input rows that
    /// read their rows of δ where they lie (a kind of tile for the first, the middle and
    /// the last); the weight gradient in runs of 5 and 4 input channels.
    struct TiledStridedLine;
    in = (2800,), k = 11, stride = 2, pad = 5, cin = 9, cout = 16
);

convsym::conv!(
    /// Transposed, upsampling by 2 with a bias: its passes are its dual layer's
    /// (`in = (24, 108), k = 4, stride = 2, pad = 1, cin = 12, cout = 20`), cut as that
    /// layer's are: the forward pass (the dual's input gradient), all 12 channels in row
    /// tiles of the layer's own pass; the input gradient (the dual's forward pass, whose
    /// 20 channels no pair of register blocks divides) in tasks of 10, each in row tiles
    /// that are layers of their own.
    struct Upsample;
    in = (12, 54), k = 4, stride = 2, pad = 1, cin = 20, cout = 12, transposed, bias
);

convsym::conv!(
    /// Transposed, one axis, with a bias: its forward pass (the dual's input gradient, by
    /// phase) is cut only into whole tiles of rows, which gather their band of δ and run
    /// in the wide builds; in the portable build the form calls the one-thread method,
    /// which adds the bias itself. Its weight gradient, the dual's, in two runs of the
    /// dual's 8 input channels.
    struct UpsampleTiles;
    in = (2200,), k = 8, stride = 4, pad = 2, cin = 16, cout = 8, transposed, bias
);

convsym::conv!(
    /// Transposed, one axis, stride 3 with an `output_padding` and a remainder in its dual,
    /// two samples.
    struct UpsampleLine;
    in = (3400,), k = 5, stride = 3, pad = 1, output_padding = 2, cin = 9, cout = 7, batch = 2,
    transposed
);

convsym::conv!(
    /// Transposed, two samples: its weight gradient is its dual layer's, whose 32 output
    /// channels' blocks read δ (here the transposed layer's input) in place and the padded
    /// copy of the dual's input (its δ) made once for both blocks; its forward pass, the
    /// dual's input gradient by the phases' channel block (16 channels), in row tiles of
    /// each sample on 7 threads, calls of the one-thread code.
    struct UpsampleBatch;
    in = (12, 12), k = 4, stride = 2, pad = 1, cin = 32, cout = 16, batch = 2, transposed, bias
);

convsym::conv!(
    /// Eight samples: a task per sample, of all 40 output channels (the weight gradient
    /// in blocks of 8 channels over the batch, which in the wide builds read δ in place
    /// and the input padded once for all of them).
    struct Samples;
    in = (10, 22), k = 3, pad = 1, cin = 4, cout = 40, batch = 8, bias
);
convsym::conv!(
    /// Pointwise, two samples: in the wide builds the forward pass and the input gradient
    /// are cut along the plane (2 800 positions: on 7 threads, runs of 512 and a last of
    /// 752), every channel's run read and written in place; the weight gradient's blocks
    /// read δ in place.
    struct Pointwise;
    in = (20, 140), k = 1, cin = 24, cout = 16, batch = 2, bias
);

convsym::conv!(
    /// Pointwise, more rows than the weight gradient packs in one tile (602 rows of 20
    /// positions): the whole layer's blocks take 64 channels (AVX-512) in tiles of 3
    /// rows, the last of 2, a task's 32 in tiles of 6.
    struct PointwiseTall;
    in = (301, 20), k = 1, cin = 4, cout = 64, batch = 2
);

convsym::conv!(
    /// Pointwise, one sample of one block of 8 output channels in one row, which no row
    /// tile cuts: in the wide builds the forward pass is cut along the plane all the same.
    struct PointwiseOneBlock;
    in = (1, 22400), k = 1, cin = 12, cout = 8
);

convsym::conv!(
    /// Tasks that run the layer's own wide builds on their part of the pass (one sample,
    /// its output channels, or half its input channels: `convsym::__private::Part`),
    /// from every sample of three; on 7 threads, row tiles of 5 and 4 rows of them.
    struct Parts;
    in = (9, 21), k = 3, pad = 1, cin = 64, cout = 8, batch = 3
);

convsym::conv!(
    /// Parts of the phases' channel block past stride 1, and of the forward pass with a
    /// bias.
    struct PhaseParts;
    in = (13, 40), k = 3, stride = 2, pad = 1, cin = 64, cout = 16, batch = 2, bias
);

convsym::conv!(
    /// The phases' channel block of 128 input channels (input gradient) computing row
    /// tiles: two tasks of 64 channels on 1 and 2 threads, on 7 each cut into 4 tiles of
    /// 4 input rows, calls of the one-thread code (`Part::tile`), whose first rows (0, 4,
    /// 8, 12) fall in every phase of the stride; its rows leave a remainder past the last
    /// window (14 + 2 − 3 = 13, not a multiple of 3).
    struct PhaseRowParts;
    in = (14, 38), k = 3, stride = 3, pad = 1, cin = 128, cout = 32
);

convsym::conv!(
    /// Transposed: parts of its dual layer's passes (`in = (14, 12), k = 4, stride = 2,
    /// pad = 1, cin = 64, cout = 64`, two samples), through the hidden methods of this
    /// layer that its one-thread kernels call: the forward pass as the dual's phases'
    /// channel block, the input gradient as the dual's forward channel block, in blocks
    /// of its channels and, on 7 threads, in row tiles.
    struct TransposedParts;
    in = (7, 6), k = 4, stride = 2, pad = 1, cin = 64, cout = 64, batch = 2, transposed, bias
);

convsym::conv!(
    /// Padded by 18 rows after its input: on 7 threads the forward pass's last row tile
    /// (rows 42..53 of two blocks of 32 channels) has windows only in that padding. The
    /// AVX2 build reads the input in place, copying the ends of the rows a tile reads;
    /// such a tile reads none, where its range of rows once began past the input's end
    /// and panicked.
    struct TileInPadding;
    in = (36, 104), k = 3, pad = ((1, 18), (1, 1)), cin = 1, cout = 64
);

convsym::conv!(
    /// A weight gradient of two blocks of 32 output channels, over 32 input channels: on
    /// 7 threads each block in four runs of 8 input channels, rows of 14 (no whole
    /// vector) and 10 (no whole tile).
    struct BlockRuns;
    in = (10, 14), k = 3, pad = 1, cin = 32, cout = 64
);

convsym::conv!(
    /// `BlockRuns` over a batch, whose runs read the input padded once for all of them.
    struct BlockRunsBatch;
    in = (10, 14), k = 3, pad = 1, cin = 32, cout = 64, batch = 2, bias
);

convsym::conv!(
    /// A weight gradient whose tasks of 8 output channels would be narrower than the
    /// AVX-512 block of 16: the whole gradient in four runs of 8 input channels, which
    /// its blocks over the input channels compute.
    struct InputRunsOverChannels;
    in = (20, 28), k = 3, pad = 1, cin = 32, cout = 16
);

convsym::conv!(
    /// Below the threshold: the parallel forms run the one-thread kernels.
    struct Small;
    in = 30, k = 3, cin = 2, cout = 3, bias
);

#[test]
fn plane_with_remainders() {
    compare("Plane", &passes!(Plane), 1, Infinity::Nowhere);
}

#[test]
fn whole_register_blocks_with_a_bias() {
    compare("Blocks", &passes!(Blocks bias), 2, Infinity::Nowhere);
}

#[test]
fn groups() {
    compare("Grouped", &passes!(Grouped bias), 3, Infinity::Nowhere);
}

#[test]
fn depthwise() {
    compare("Depthwise", &passes!(Depthwise), 4, Infinity::Nowhere);
    compare(
        "DepthwiseSamples",
        &passes!(DepthwiseSamples),
        27,
        Infinity::Nowhere,
    );
    compare(
        "DepthwiseSamples",
        &passes!(DepthwiseSamples),
        28,
        Infinity::InData,
    );
}

#[test]
fn one_axis() {
    compare("Line", &passes!(Line bias), 5, Infinity::Nowhere);
}

#[test]
fn three_axes() {
    compare("Volume", &passes!(Volume), 6, Infinity::Nowhere);
}

#[test]
fn input_channels_past_a_register_block() {
    compare("Inputs", &passes!(Inputs), 10, Infinity::Nowhere);
}

#[test]
fn parts_of_the_layers_own_builds() {
    compare("Parts", &passes!(Parts), 29, Infinity::Nowhere);
    compare("Parts", &passes!(Parts), 30, Infinity::InData);
    compare(
        "PhaseParts",
        &passes!(PhaseParts bias),
        31,
        Infinity::Nowhere,
    );
    compare(
        "PhaseParts",
        &passes!(PhaseParts bias),
        32,
        Infinity::InWeights,
    );
    compare(
        "PhaseRowParts",
        &passes!(PhaseRowParts),
        38,
        Infinity::Nowhere,
    );
    compare(
        "PhaseRowParts",
        &passes!(PhaseRowParts),
        39,
        Infinity::InData,
    );
    let transposed = passes!(TransposedParts bias);
    compare("TransposedParts", &transposed, 33, Infinity::Nowhere);
    compare("TransposedParts", &transposed, 34, Infinity::InData);
    compare("TransposedParts", &transposed, 35, Infinity::InWeights);
}

#[test]
fn weight_gradient_blocks_in_runs_of_input_channels() {
    compare("BlockRuns", &passes!(BlockRuns), 47, Infinity::Nowhere);
    compare("BlockRuns", &passes!(BlockRuns), 48, Infinity::InData);
    let batch = passes!(BlockRunsBatch bias);
    compare("BlockRunsBatch", &batch, 49, Infinity::Nowhere);
    compare("BlockRunsBatch", &batch, 50, Infinity::InData);
    let whole = passes!(InputRunsOverChannels);
    compare("InputRunsOverChannels", &whole, 51, Infinity::Nowhere);
}

#[test]
fn row_tiles_in_the_padding() {
    compare(
        "TileInPadding",
        &passes!(TileInPadding),
        36,
        Infinity::Nowhere,
    );
}

#[test]
fn whole_samples() {
    compare("Samples", &passes!(Samples bias), 24, Infinity::Nowhere);
}

#[test]
fn pointwise_runs_of_the_plane() {
    compare("Pointwise", &passes!(Pointwise bias), 18, Infinity::Nowhere);
    compare(
        "PointwiseTall",
        &passes!(PointwiseTall),
        26,
        Infinity::Nowhere,
    );
    compare(
        "PointwiseOneBlock",
        &passes!(PointwiseOneBlock),
        27,
        Infinity::Nowhere,
    );
}

#[test]
fn row_tiles() {
    compare("Tiled", &passes!(Tiled bias), 13, Infinity::Nowhere);
    compare(
        "TiledStrided",
        &passes!(TiledStrided),
        14,
        Infinity::Nowhere,
    );
    compare("TiledLine", &passes!(TiledLine), 15, Infinity::Nowhere);
    compare(
        "TiledStridedLine",
        &passes!(TiledStridedLine),
        37,
        Infinity::Nowhere,
    );
    compare(
        "TiledInPlace",
        &passes!(TiledInPlace),
        28,
        Infinity::Nowhere,
    );
    compare(
        "TiledDepthwise",
        &passes!(TiledDepthwise),
        17,
        Infinity::Nowhere,
    );
    compare("TiledStrided", &passes!(TiledStrided), 16, Infinity::InData);
}

#[test]
fn transposed() {
    compare("Upsample", &passes!(Upsample bias), 11, Infinity::Nowhere);
    compare(
        "UpsampleLine",
        &passes!(UpsampleLine),
        12,
        Infinity::Nowhere,
    );
    compare(
        "UpsampleBatch",
        &passes!(UpsampleBatch bias),
        25,
        Infinity::Nowhere,
    );
    compare(
        "UpsampleTiles",
        &passes!(UpsampleTiles bias),
        48,
        Infinity::Nowhere,
    );
}

#[test]
fn below_the_threshold() {
    compare("Small", &passes!(Small bias), 7, Infinity::Nowhere);
}

/// With an infinity among the operands the parallel forms give the one-thread kernels' bits,
/// whichever operands they check and whenever.
#[test]
fn infinite_operands() {
    compare("Plane", &passes!(Plane), 8, Infinity::InData);
    compare("Blocks", &passes!(Blocks bias), 9, Infinity::InData);
    compare("Blocks", &passes!(Blocks bias), 19, Infinity::InWeights);
    compare(
        "TiledDepthwise",
        &passes!(TiledDepthwise),
        20,
        Infinity::InData,
    );
    compare(
        "TiledDepthwise",
        &passes!(TiledDepthwise),
        21,
        Infinity::InWeights,
    );
    compare("Upsample", &passes!(Upsample bias), 22, Infinity::InData);
    compare(
        "UpsampleLine",
        &passes!(UpsampleLine),
        23,
        Infinity::InWeights,
    );
}

// The benchmark suite's real layers at batch 1, where a pool of more threads than a
// pass's channel blocks cuts them into row tiles: layers of the size of the tiles that
// panicked on 3 threads and more in five passes (`resnet-stem`, `resnet-3x3` and
// `resnet-down` forward, `resnet-3x3` and `dcgan-up` input gradients), which the small
// layers above did not reach. In the wide builds only (the portable loops' tiles are the
// small layers' own), on 3 and 8 threads. Not `upsample-1d`: at batch 1 it is under the
// threshold and has no tasks (`UpsampleTiles` is the same layer at 2 200 positions).
macro_rules! real_layers {
    ($($test:ident $layer:ident $seed:literal { $($keys:tt)* })*) => {$(
        convsym::conv!(
            /// A layer of the benchmark suite.
            struct $layer;
            $($keys)*
        );

        #[test]
        fn $test() {
            let at_scale = (&[Width::Avx2, Width::Avx512][..], &[3, 8][..]);
            let name = stringify!($layer);
            compare_on(name, &passes!($layer), $seed, Infinity::Nowhere, at_scale);
        }
    )*};
}

real_layers! {
    resnet_stem_on_many_threads ResnetStem 40 { in = 224, k = 7, stride = 2, pad = 3, cin = 3, cout = 64 }
    resnet_3x3_on_many_threads Resnet3x3 41 { in = 56, k = 3, pad = 1, cin = 64, cout = 64 }
    resnet_1x1_on_many_threads Resnet1x1 42 { in = 56, k = 1, cin = 256, cout = 64 }
    resnet_down_on_many_threads ResnetDown 43 { in = 56, k = 3, stride = 2, pad = 1, cin = 128, cout = 128 }
    mobilenet_dw_on_many_threads MobilenetDw 44 { in = 56, k = 3, pad = 1, cin = 144, cout = 144, groups = 144 }
    speech_1d_on_many_threads Speech1d 45 { in = (8000,), k = 11, pad = 5, cin = 32, cout = 32 }
    dcgan_up_on_many_threads DcganUp 46 { in = 28, k = 4, stride = 2, pad = 1, cin = 64, cout = 32, transposed }
}

/// `f64` runs the portable build, whose tasks are the loops of each task's own layer even
/// where `f32`'s are parts of the layer's pass: the same bits as its one-thread kernels,
/// on 2 and 7 threads, for a layer of channel tasks and row tiles (`Parts`) and one of
/// row tiles of the input gradient by phase (`TiledStrided`).
#[test]
fn f64_tasks_give_the_one_thread_bits() {
    fn run<const X: usize, const W: usize, const Z: usize>(
        forward: impl Fn(&[f64; X], &[f64; W], &mut [f64; Z]),
        grad_input: impl Fn(&[f64; W], &[f64; Z], &mut [f64; X]),
        grad_weight: impl Fn(&[f64; X], &[f64; Z], &mut [f64; W]),
    ) -> [Vec<u64>; 3] {
        let wide = |values: Vec<f32>| values.into_iter().map(f64::from).collect::<Vec<f64>>();
        let (x, w, dz) = (wide(data(X, 60)), wide(data(W, 61)), wide(data(Z, 62)));
        let (mut z, mut dx, mut dw) = (vec![0.0; Z], vec![0.0; X], vec![0.0; W]);
        forward(array(&x), array(&w), array_mut(&mut z));
        grad_input(array(&w), array(&dz), array_mut(&mut dx));
        grad_weight(array(&x), array(&dz), array_mut(&mut dw));
        [z, dx, dw].map(|values| values.iter().map(|value| value.to_bits()).collect())
    }
    let _turn = CAP
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // A layer's three passes on f64, in its parallel forms or its one-thread kernels.
    macro_rules! f64_passes {
        ($layer:ident) => {
            |par: bool| {
                run(
                    |x, w, z| match par {
                        true => $layer.forward_par_into(x, w, z),
                        false => $layer.forward_into(x, w, z),
                    },
                    |w, dz, dx| match par {
                        true => $layer.grad_input_par_into(w, dz, dx),
                        false => $layer.grad_input_into(w, dz, dx),
                    },
                    |x, dz, dw| match par {
                        true => $layer.grad_weight_par_into(x, dz, dw),
                        false => $layer.grad_weight_into(x, dz, dw),
                    },
                )
            }
        };
    }
    let (parts, strided) = (f64_passes!(Parts), f64_passes!(TiledStrided));
    let (parts_one, strided_one) = (parts(false), strided(false));
    for threads in [2, 7] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("a pool of a few threads");
        assert!(
            pool.install(|| par::worth(Parts::MULTIPLY_ADDS)),
            "{threads} threads"
        );
        assert!(
            pool.install(|| parts(true)) == parts_one,
            "Parts, {threads} threads"
        );
        assert!(
            pool.install(|| strided(true)) == strided_one,
            "TiledStrided, {threads} threads"
        );
    }
}

/// A parallel form's task runs in a wide build even where the cap is lowered to the
/// portable build after its form started (`Wide::run_part`): the portable build of a
/// task's kernel is its whole layer's, which the task's output slice cannot hold. Any
/// other kernel follows the cap.
#[test]
fn a_task_stays_wide_under_a_portable_cap() {
    use std::cell::Cell;

    use convsym::__private::{Avx2, Avx512, Kernel, Wide};

    /// Records which build ran it.
    struct Probe<'a>(&'a Cell<Width>);
    impl Kernel for Probe<'_> {
        fn portable(self) {
            self.0.set(Width::Portable);
        }
        fn avx2(self, _: Avx2) {
            self.0.set(Width::Avx2);
        }
        fn avx512(self, _: Avx512) {
            self.0.set(Width::Avx512);
        }
    }
    let _turn = CAP
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    kernel::set_widest(Width::Avx512);
    let widest = kernel::widest();
    let ran = Cell::new(Width::Avx512);
    kernel::set_widest(Width::Portable);
    <f32 as Wide>::run_part(Probe(&ran), false);
    let whole = ran.get();
    <f32 as Wide>::run_part(Probe(&ran), true);
    let task = ran.get();
    kernel::set_widest(Width::Avx2);
    <f32 as Wide>::run_part(Probe(&ran), true);
    let capped = ran.get();
    kernel::set_widest(Width::Avx512);
    assert_eq!(whole, Width::Portable, "the whole pass follows the cap");
    assert_eq!(task, widest, "a task takes the widest build there is");
    assert_eq!(
        capped,
        widest.min(Width::Avx2),
        "a wide cap still holds for a task"
    );
}
