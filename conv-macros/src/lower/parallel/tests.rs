//! How the parallel forms cut each pass.

use conv_runtime::Spec;
use conv_runtime::derive::Section;

use super::Split;

fn split(text: &str, section: Section) -> (usize, usize) {
    let spec = Spec::parse(text).expect("a valid layer");
    let split = Split::new(&spec, text, section);
    (split.units, split.per_task)
}

/// The code `conv!` writes for `layer`, as text; a layer that does not expand fails the
/// test.
fn expansion(layer: proc_macro2::TokenStream) -> String {
    let text = layer.to_string();
    let tokens = crate::expand::expand(layer).map(|tokens| tokens.to_string());
    assert!(tokens.is_ok(), "{text}: {tokens:?}");
    tokens.unwrap_or_default()
}

/// The text of the method `name` of `layer`'s expansion, up to the next method.
fn method(layer: proc_macro2::TokenStream, name: &str) -> String {
    expansion(layer)
        .split("pub fn ")
        .find(|method| method.starts_with(name))
        .unwrap_or_default()
        .to_owned()
}

/// `tests/parallel.rs`'s first layer: every pass leaves a smaller last task.
#[test]
fn remainders() {
    let plane = "in=(36,400) k=3 stride=(2,1) cin=5 cout=7";
    assert_eq!(split(plane, Section::Forward), (7, 4));
    assert_eq!(split(plane, Section::GradInput), (5, 5));
    assert_eq!(split(plane, Section::GradWeight), (7, 4));
    let volume = "in=(6,8,136) k=3 pad=(1,0,1) cin=4 cout=5";
    assert_eq!(split(volume, Section::Forward), (5, 3));
    assert_eq!(split(volume, Section::GradInput), (4, 4));
    let blocks = "in=(6,48) k=3 pad=1 cin=9 cout=128 bias";
    assert_eq!(split(blocks, Section::Forward), (128, 64));
    assert_eq!(split(blocks, Section::GradWeight), (128, 32));
    // Its 9 input channels take the rows over δ, whose parts are all of them: one task,
    // in row tiles.
    assert_eq!(split(blocks, Section::GradInput), (9, 9));
    let line = "in=(5201,) k=7 stride=3 cin=6 cout=10 batch=3";
    assert_eq!(split(line, Section::Forward), (10, 5));
    assert_eq!(split(line, Section::GradWeight), (10, 2));
}

/// Where the layer's own builds compute row tiles, a task is whole register blocks of both
/// builds and the row tiles share the pass among the cores: `strided-padded`'s 16 output
/// channels (one AVX-512 block) in one task, where its tasks of 8 were layers of their own,
/// and `lenet-c3`'s 6 input channels (every one, a part of the rows over δ).
#[test]
fn tasks_of_whole_blocks_where_rows_are_parts() {
    let strided = "in=32 k=3 stride=2 pad=1 cin=8 cout=16";
    assert_eq!(split(strided, Section::Forward), (16, 16));
    assert_eq!(split("in=14 k=5 cin=6 cout=16", Section::GradInput), (6, 6));
    // The weight gradient has no row tiles: its tasks are still half the channels.
    assert_eq!(split(strided, Section::GradWeight), (16, 8));
}

/// At a batch of 8 or more a task is a sample, of all its channels; the weight gradient,
/// a sum over the batch, is still cut into blocks of channels.
#[test]
fn whole_samples() {
    let batch = "in=(10,22) k=3 pad=1 cin=4 cout=40 batch=8";
    assert_eq!(split(batch, Section::Forward), (40, 40));
    assert_eq!(split(batch, Section::GradInput), (4, 4));
    assert_eq!(split(batch, Section::GradWeight), (40, 8));
    let seven = "in=(10,10) k=3 pad=1 cin=4 cout=40 batch=7";
    assert_eq!(split(seven, Section::Forward), (40, 24));
}

/// A transposed layer is cut as its dual layer is, each pass as the dual's pass that
/// computes it; where its connections are not the dual's it runs on the calling thread.
#[test]
fn transposed_layers() {
    let tasks = |layer: proc_macro2::TokenStream| {
        // The methods that cut their pass (a tiled one holds its blocks as well).
        expansion(layer)
            .split("pub fn")
            .filter(|method| method.contains("for_each_block") || method.contains("for_each_tile"))
            .count()
    };
    let up = quote::quote!(in = 28, k = 4, stride = 2, pad = 1, cin = 64, cout = 32, transposed);
    assert_eq!(tasks(up), 3);
    // `tests/parallel.rs`'s transposed layers.
    let test = quote::quote!(
        in = (12, 54), k = 4, stride = 2, pad = 1, cin = 20, cout = 12, transposed, bias
    );
    assert_eq!(tasks(test), 3);
    let line = quote::quote!(
        in = (3400,), k = 5, stride = 3, pad = 1, output_padding = 2, cin = 9, cout = 7,
        batch = 2, transposed
    );
    assert_eq!(tasks(line), 3);
    // The dual's input gradient, the phases' channel block, computes row tiles: its
    // task is whole blocks of both builds (32 channels), in tiles of rows.
    let dual = "in=56 k=4 stride=2 pad=1 cin=32 cout=64";
    assert_eq!(split(dual, Section::GradInput), (32, 32));
    assert_eq!(split(dual, Section::Forward), (64, 32));
    let cropped = quote::quote!(
        in = (30, 20), k = 3, dilation = 2, output_padding = 1, cin = 8, cout = 8, transposed
    );
    assert_eq!(tasks(cropped), 0);
}

/// Channels in whole register blocks of 32, or 16 to make two tasks; groups split only
/// where each is one channel in and out.
#[test]
fn blocks_and_groups() {
    let resnet = "in=56 k=3 pad=1 cin=64 cout=64";
    assert_eq!(split(resnet, Section::Forward), (64, 32));
    // Two tasks of a sample where the register blocks allow, each copying its input
    // once; the weight gradient, which pads the input once for all its tasks over a
    // batch, keeps blocks of 32.
    let down = "in=56 k=3 stride=2 pad=1 cin=128 cout=128";
    assert_eq!(split(down, Section::Forward), (128, 64));
    assert_eq!(split(down, Section::GradInput), (128, 64));
    assert_eq!(split(down, Section::GradWeight), (128, 32));
    let speech = "in=(8000,) k=11 pad=5 cin=32 cout=32";
    assert_eq!(split(speech, Section::GradWeight), (32, 16));
    // Depthwise: runs of 3 channels (2^16 multiply-adds), every pass.
    let depthwise = "in=56 k=3 pad=1 cin=144 cout=144 groups=144";
    assert_eq!(split(depthwise, Section::Forward), (144, 3));
    assert_eq!(split(depthwise, Section::GradInput), (144, 3));
    assert_eq!(split(depthwise, Section::GradWeight), (144, 3));
    // `tests/parallel.rs`'s `TiledDepthwise`: 151 = 30 · 5 + 1, a last task of one group.
    let remainder = "in=(40,40) k=3 pad=1 cin=151 cout=151 groups=151";
    assert_eq!(split(remainder, Section::Forward), (151, 5));
    assert_eq!(split(remainder, Section::GradWeight), (151, 5));
    let multiplier = "in=56 k=3 pad=1 cin=16 cout=32 groups=16";
    assert_eq!(split(multiplier, Section::Forward), (16, 16));
}

/// How the passes of `tests/parallel.rs`'s layers (which checks their bits) and of four
/// benchmark layers are cut, forward, input gradient, weight gradient: `b`locks of
/// channels, `t`iles of rows (and blocks), runs of `i`nput channels (of the whole weight
/// gradient, or of its blocks where the pool has more threads than blocks), or `-` one
/// task. A layer under the threshold has none; a batch of 8 is tasks enough for the first
/// two passes; the weight gradient is never tiled.
#[test]
fn which_passes_tile() {
    let kinds = |layer: proc_macro2::TokenStream| -> String {
        let tokens = expansion(layer);
        let start = tokens.find("fn forward_par_into").unwrap_or(0);
        let methods: Vec<&str> = tokens[start..].split("pub fn").collect();
        methods
            .iter()
            .take(4)
            .filter(|method| method.contains("_par_into") && !method.contains("backward_par_into"))
            .map(|method| {
                if method.contains("for_each_input_run") {
                    'i'
                } else if method.contains("for_each_tile") {
                    't'
                } else if method.contains("for_each_block") {
                    'b'
                } else {
                    '-'
                }
            })
            .collect()
    };
    let cases = [
        (
            quote::quote!(in = (36, 400), k = 3, stride = (2, 1), cin = 5, cout = 7),
            "ttb",
        ),
        (
            quote::quote!(in = (12, 40), k = 3, pad = 1, cin = 9, cout = 64, bias),
            "ttb",
        ),
        (
            quote::quote!(in = (38, 194), k = 5, stride = 2, pad = 2, cin = 3, cout = 16),
            "tti",
        ),
        (
            quote::quote!(in = (18, 216), k = 3, pad = 1, cin = 4, cout = 16),
            "tti",
        ),
        (
            quote::quote!(in = (3000,), k = 11, pad = 5, cin = 8, cout = 8),
            "tt-",
        ),
        (
            quote::quote!(in = 224, k = 7, stride = 2, pad = 3, cin = 3, cout = 64),
            "ttb",
        ),
        (
            quote::quote!(in = 56, k = 3, pad = 1, cin = 64, cout = 64),
            "tti",
        ),
        (
            quote::quote!(in = 56, k = 3, pad = 1, cin = 64, cout = 64, batch = 8),
            "bbi",
        ),
        // `tests/parallel.rs`'s `BlockRuns`: two blocks of 32 output channels, each in
        // four runs of 8 input channels on a pool of more than two threads.
        (
            quote::quote!(in = (10, 14), k = 3, pad = 1, cin = 32, cout = 64),
            "tti",
        ),
        // `tests/parallel.rs`'s `UpsampleBatch`'s dual layer: its 16 input channels take
        // the phases' channel block (a task of 8 would take the rows over δ, another
        // order of additions), whose parts are row tiles too: each sample's 16 channels
        // in tiles of rows.
        (
            quote::quote!(in = (24, 24), k = 4, stride = 2, pad = 1, cin = 16, cout = 32, batch = 2),
            "ttb",
        ),
        // Under the default threshold, 2^21 multiply-adds, no tasks at all, where they
        // would never run unless a program lowered the threshold: `strided-padded` (295 k)
        // and `upsample-1d` (2.05 M), whose tasks were over a third of their build.
        (
            quote::quote!(in = 32, k = 3, stride = 2, pad = 1, cin = 8, cout = 16),
            "---",
        ),
        (
            quote::quote!(in = (2000,), k = 8, stride = 4, pad = 2, cin = 16, cout = 8, transposed),
            "---",
        ),
    ];
    for (layer, expected) in cases {
        let text = layer.to_string();
        assert_eq!(kinds(layer), expected, "{text}");
    }
}

/// A transposed layer's parallel forms check the operands its dual's pass checks, under
/// the names its own methods give them: `dcgan-up`'s forward pass (the dual's input
/// gradient, the phases' channel block) and its input gradient (the dual's forward pass,
/// the channel block), whose padding meets only weights, check the weights alone before
/// their tasks; its weight gradient its output after them, then its operands (both meet
/// padding there).
#[test]
fn transposed_checks() {
    let up = quote::quote!(in = 28, k = 4, stride = 2, pad = 1, cin = 64, cout = 32, transposed);
    let tokens = expansion(up);
    let checks = |name: &str| -> Vec<String> {
        let start = tokens.find(&format!("pub fn {name} <")).unwrap_or(0);
        let method = tokens[start..].split("pub fn").nth(1).unwrap_or_default();
        method
            .split(":: convsym :: __private :: par :: all_finite (")
            .skip(1)
            .map(|check| {
                check
                    .split(')')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_owned()
            })
            .collect()
    };
    assert_eq!(checks("forward_par_into"), ["w"]);
    assert_eq!(checks("grad_input_par_into"), ["w"]);
    assert_eq!(checks("grad_weight_par_into"), ["& dw [..]", "dz", "x"]);
}

/// A pointwise layer's forward pass and input gradient are cut along the plane in the wide
/// builds (runs of every channel, in place), below a batch of 8; its weight gradient, and
/// layers of other kernels, are not.
#[test]
fn pointwise_runs() {
    let runs = |layer: proc_macro2::TokenStream| -> Vec<String> {
        expansion(layer)
            .split("pub fn ")
            .filter(|method| method.contains("for_each_span"))
            .filter_map(|method| method.split(' ').next().map(str::to_owned))
            .collect()
    };
    let both = ["forward_par_into", "grad_input_par_into"];
    // `tests/parallel.rs`'s `Pointwise`, and resnet-1x1.
    let test = quote::quote!(in = (20, 140), k = 1, cin = 24, cout = 16, batch = 2, bias);
    assert_eq!(runs(test), both);
    assert_eq!(
        runs(quote::quote!(in = 56, k = 1, cin = 256, cout = 64)),
        both
    );
    assert!(runs(quote::quote!(in = 56, k = 1, cin = 256, cout = 64, batch = 8)).is_empty());
    assert!(runs(quote::quote!(in = 56, k = 3, pad = 1, cin = 64, cout = 64)).is_empty());
    // Two groups: the runs would cross them.
    assert!(runs(quote::quote!(in = 56, k = 1, cin = 64, cout = 64, groups = 2)).is_empty());
}

/// Over a batch, a weight gradient task reads its block of δ's channels in place where
/// the channel block or the depthwise blocks compute it, in every sample through the
/// whole layer's stride, and where the channel block pads, the input padded once before
/// the tasks. Where the task is whole blocks of the layer's own builds, it is a part of
/// the layer's own pass given that copy; elsewhere a layer of its own.
#[test]
fn weight_gradient_reads_delta_in_place() {
    // Whether the weight gradient's tasks are layers of their own that read δ in place,
    // parts of the layer's own pass, given the input padded once before them.
    let reads = |layer: proc_macro2::TokenStream| -> (bool, bool, bool) {
        let method = method(layer, "grad_weight_par_into");
        let padded = method.contains("par :: pad (");
        let shared = method.contains("Part :: task (0 , first) , padded)");
        assert!(!shared || padded, "{method}");
        (
            method.contains("dz : & dz [first *"),
            method.contains("self . grad_weight_part ("),
            shared,
        )
    };
    // `tests/parallel.rs`'s `Samples` (blocks of 8 of 40 channels, a plane of 220) and
    // `Pointwise`, which does not pad.
    let samples = quote::quote!(in = (10, 22), k = 3, pad = 1, cin = 4, cout = 40, batch = 8, bias);
    assert_eq!(reads(samples), (false, true, true));
    let pointwise = quote::quote!(in = (20, 140), k = 1, cin = 24, cout = 16, batch = 2, bias);
    assert_eq!(reads(pointwise), (true, false, false));
    let down = quote::quote!(in = 56, k = 3, stride = 2, pad = 1, cin = 128, cout = 128, batch = 8);
    assert_eq!(reads(down), (false, true, true));
    // A transposed layer's tasks are layers of its dual's, reading the dual's padded input.
    let transposed = quote::quote!(in = (12, 12), k = 4, stride = 2, pad = 1, cin = 32, cout = 16, batch = 2, transposed, bias);
    let method = method(transposed.clone(), "grad_weight_par_into");
    assert!(method.contains("par :: pad ("), "{method}");
    assert_eq!(reads(transposed), (true, false, false));
    // One sample, four tasks of 32 channels: the input padded once for all of them too;
    // two tasks pad their own (`& []`), as a task of one sample reads its run of δ in
    // place anyway.
    let one = quote::quote!(in = 56, k = 3, stride = 2, pad = 1, cin = 128, cout = 128);
    assert_eq!(reads(one), (false, true, true));
    let two = quote::quote!(in = 56, k = 3, pad = 1, cin = 64, cout = 64);
    assert_eq!(reads(two.clone()), (false, true, false));
    assert!(method_contains(two, "Part :: task (0 , first) , & [])"));
    // `tests/parallel.rs`'s one-sample layers that check each path's bits: four tasks of
    // 32 channels, and two.
    let blocks = quote::quote!(in = (6, 48), k = 3, pad = 1, cin = 9, cout = 128, bias);
    assert_eq!(reads(blocks), (false, true, true));
    let tiled = quote::quote!(in = (12, 40), k = 3, pad = 1, cin = 9, cout = 64, bias);
    assert_eq!(reads(tiled), (false, true, false));
    // A depthwise layer's weight gradient is not the channel block: its tasks, runs of
    // channels, read δ (and the input) in place with their own blocks, which pad nothing.
    let depthwise =
        quote::quote!(in = 32, k = 3, pad = 1, cin = 32, cout = 32, groups = 32, batch = 8);
    assert_eq!(reads(depthwise), (true, false, false));
    // Groups of several channels are one task per pass.
    let grouped =
        quote::quote!(in = 16, k = 3, pad = 1, cin = 64, cout = 64, groups = 4, batch = 4);
    assert_eq!(reads(grouped), (false, false, false));
}

/// Whether `grad_weight_par_into` of `layer` holds `text`.
fn method_contains(layer: proc_macro2::TokenStream, text: &str) -> bool {
    method(layer, "grad_weight_par_into").contains(text)
}

/// The input gradient's row tiles, where the layer takes `rows` over δ (input channels
/// that fill no vector of the other blocks): on two axes or more, calls of the layer's own
/// builds on their rows (`Part::tile`), which copy the band of δ their rows read, a task
/// being every input channel of a sample; on one axis, where those builds compute no
/// parts and the tasks cut the channels, whole tiles, one layer for every tile, that
/// gather their band of δ (read in place, the first, middle and last tile were a layer
/// each). Where the layer takes its dual layer's channel block, the tiles are parts of
/// that.
#[test]
fn input_gradient_tiles_read_delta_in_place() {
    // Tiles, tiles as parts, tiles reading δ in place.
    let reads = |layer: proc_macro2::TokenStream| -> (bool, bool, bool) {
        let method = method(layer, "grad_input_par_into");
        (
            method.contains("for_each_tile"),
            method.contains("self . grad_input_part (w , dz , dx , part)"),
            method.contains("STARTS [tile] *") && method.contains("iter :: once (dz)"),
        )
    };
    // `tests/parallel.rs`'s `TiledStrided`, and `resnet-stem`.
    let strided = quote::quote!(in = (38, 194), k = 5, stride = 2, pad = 2, cin = 3, cout = 16);
    assert_eq!(reads(strided), (true, true, false));
    let stem = quote::quote!(in = 224, k = 7, stride = 2, pad = 3, cin = 3, cout = 64);
    assert_eq!(reads(stem), (true, true, false));
    // `tests/parallel.rs`'s `Tiled`: 9 input channels fill no vector of the dual layer's
    // channel block, and take `rows` over δ at stride 1 too, in one task of all 9.
    let tiled = quote::quote!(in = (12, 40), k = 3, pad = 1, cin = 9, cout = 64, bias);
    assert_eq!(reads(tiled), (true, true, false));
    // `tests/parallel.rs`'s `TiledStridedLine`: one axis, tasks of 5 and 4 input channels,
    // each a whole tile's layer (no `match tile`) reading the band `gather_rows` copies.
    let line = quote::quote!(in = (2800,), k = 11, stride = 2, pad = 5, cin = 9, cout = 16);
    assert_eq!(reads(line.clone()), (true, false, false));
    let method = method(line, "grad_input_par_into");
    assert!(
        method.contains("gather_rows") && !method.contains("match tile"),
        "{method}"
    );
    // `resnet-3x3`: the dual layer's forward pass, whose tiles are parts of it too.
    let dual = quote::quote!(in = 56, k = 3, pad = 1, cin = 64, cout = 64);
    assert_eq!(reads(dual), (true, true, false));
}

/// A pointwise forward pass is cut along the plane wherever the wide builds run, even with
/// one block of channels in one row, which no row tile cuts (`tests/parallel.rs`'s
/// `PointwiseOneBlock`); it and the input gradient of `resnet-1x1` have no row tiles, which
/// would run only where the spans do.
#[test]
fn pointwise_forward_runs_of_the_plane() {
    let one_block = quote::quote!(in = (1, 22400), k = 1, cin = 12, cout = 8);
    let forward = method(one_block, "forward_par_into");
    assert!(forward.contains("for_each_span"), "{forward}");
    for pass in ["forward_par_into", "grad_input_par_into"] {
        let resnet = method(quote::quote!(in = 56, k = 1, cin = 256, cout = 64), pass);
        assert!(resnet.contains("for_each_span") && resnet.contains("for_each_block"));
        assert!(!resnet.contains("for_each_tile"), "{resnet}");
    }
}

/// A transposed layer's tasks call its hidden methods on their parts of the dual's pass
/// (`Kernels::method`), where the dual's wide builds compute parts, rather than compile
/// the loops of a smaller layer: `tests/parallel.rs`'s `TransposedParts` in its forward
/// pass (its dual's phases' channel block) and its input gradient (the dual's forward
/// channel block), `dcgan-up` in its input gradient's tasks and row tiles.
#[test]
fn transposed_tasks_are_parts() {
    let parts = || quote::quote!(in = (7, 6), k = 4, stride = 2, pad = 1, cin = 64, cout = 64, batch = 2, transposed, bias);
    let dcgan =
        || quote::quote!(in = 28, k = 4, stride = 2, pad = 1, cin = 64, cout = 32, transposed);
    let task = ":: convsym :: __private :: Part :: task (n , first)";
    for (layer, form, call) in [
        (
            parts(),
            "forward_par_into",
            format!("self . forward_part (w , dz , dx , {task})"),
        ),
        (
            parts(),
            "grad_input_par_into",
            format!("self . grad_input_part (x , w , z , {task})"),
        ),
        (
            dcgan(),
            "grad_input_par_into",
            format!("self . grad_input_part (x , w , z , {task})"),
        ),
        (
            dcgan(),
            "grad_input_par_into",
            "self . grad_input_part (x , w , z , part)".to_owned(),
        ),
    ] {
        let method = method(layer, form);
        assert!(method.contains(&call), "{form}: {method}");
    }
}

/// The phases' channel block computes row tiles of its input rows on two axes or more:
/// `resnet-down`'s input gradient and `dcgan-up`'s forward pass (its dual's input
/// gradient) cut their blocks into tiles that call the one-thread code, where each kind
/// of tile was a layer of its own.
#[test]
fn phase_channel_tiles_are_parts() {
    let tiles = |text: &str| {
        let spec = Spec::parse(text).expect("a valid layer");
        let split = Split::new(&spec, text, Section::GradInput);
        (
            split.per_task,
            split.tiles.map(|tiles| (tiles.rows, tiles.count)),
            split.row_parts(),
        )
    };
    let down = "in=56 k=3 stride=2 pad=1 cin=128 cout=128";
    assert_eq!(tiles(down), (64, Some((14, 4)), true));
    let dcgan_dual = "in=56 k=4 stride=2 pad=1 cin=32 cout=64";
    assert_eq!(tiles(dcgan_dual), (32, Some((7, 8)), true));
    // `tests/parallel.rs`' `PhaseRowParts`.
    let test = "in=(14,38) k=3 stride=3 pad=1 cin=128 cout=32";
    assert_eq!(tiles(test), (64, Some((4, 4)), true));
}

/// Where a weight gradient's tasks of output channels would be layers of their own, of
/// narrower blocks than the layer's (`speech-1d`'s 16 of 32 channels, whose AVX-512 block
/// is 32), its blocks over the taps compute runs of input channels instead, calls of the
/// layer's own pass (`Part::with_inputs`): two of 16 input channels, in one block of the whole
/// gradient. Where a task is whole blocks of both builds over the input channels
/// (`resnet-3x3`), a pool of more threads than blocks cuts each block into four runs;
/// a smaller pool runs the blocks.
#[test]
fn weight_gradient_runs_of_input_channels() {
    let runs = |layer: proc_macro2::TokenStream| {
        let method = method(layer, "grad_weight_par_into");
        let calls = method.contains(". with_inputs (inputs)");
        assert_eq!(calls, method.contains("for_each_input_run"), "{method}");
        calls.then(|| {
            let sizes = method
                .split("for_each_input_run (dw , [")
                .nth(1)
                .unwrap_or_default();
            sizes.split(']').next().unwrap_or_default().to_owned()
        })
    };
    // The whole gradient, 32 output channels of 32 input channels of 11 taps, in runs of
    // 16 channels.
    let speech = quote::quote!(in = (8000,), k = 11, pad = 5, cin = 32, cout = 32);
    assert_eq!(runs(speech).as_deref(), Some("11264 , 352 , 11 , 16"));
    // `tests/parallel.rs`'s `TiledStridedLine`: 9 input channels in runs of 5 and 4.
    let line = quote::quote!(in = (2800,), k = 11, stride = 2, pad = 5, cin = 9, cout = 16);
    assert_eq!(runs(line).as_deref(), Some("1584 , 99 , 11 , 5"));
    // Two blocks of 32 output channels of 64 input channels of 9 taps, in runs of 16,
    // after the blocks alone where the pool's threads are no more than the blocks.
    let resnet = quote::quote!(in = 56, k = 3, pad = 1, cin = 64, cout = 64);
    assert_eq!(
        runs(resnet.clone()).as_deref(),
        Some("18432 , 576 , 9 , 16")
    );
    let form = method(resnet, "grad_weight_par_into");
    let enough = form.find("par :: enough (2)").expect("the blocks' test");
    assert!(
        enough < form.find("for_each_block").expect("the blocks"),
        "{form}"
    );
    assert!(
        form.find("for_each_block") < form.find("for_each_input_run"),
        "{form}"
    );
    // `resnet-down`'s four blocks read the input padded once before them, in blocks or
    // in runs: the copy is written once, before the choice.
    let down = quote::quote!(in = 56, k = 3, stride = 2, pad = 1, cin = 128, cout = 128);
    let form = method(down, "grad_weight_par_into");
    assert_eq!(form.matches("par :: pad (").count(), 1, "{form}");
    assert!(
        form.find("par :: pad (") < form.find("par :: enough (4)"),
        "{form}"
    );
    // `tests/parallel.rs`'s `InputRunsOverChannels`: tasks of 8 output channels would
    // be narrower than the AVX-512 block of 16; the whole gradient in runs of 8 of its
    // 32 input channels, which its blocks over the channels compute.
    let narrow = quote::quote!(in = (20, 28), k = 3, pad = 1, cin = 32, cout = 16);
    assert_eq!(runs(narrow).as_deref(), Some("4608 , 288 , 9 , 8"));
    // `resnet-stem`'s 3 input channels make no runs of 8.
    let stem = quote::quote!(in = 224, k = 7, stride = 2, pad = 3, cin = 3, cout = 64);
    assert_eq!(runs(stem), None);
}

/// A task that calls the layer's own wide builds on its part has its portable loops
/// beside it in `Wide::either`, so each type compiles one of the two, and its form calls
/// the one-thread kernel where a type with wide builds runs none; a form whose tasks are
/// layers of their own in every build (`remainders`' plane, whose blocks are no parts)
/// needs neither.
#[test]
fn tasks_of_parts_compile_one_kind_of_build_per_type() {
    let resnet = quote::quote!(struct R; in = 56, k = 3, pad = 1, cin = 64, cout = 64);
    for name in [
        "forward_par_into",
        "grad_input_par_into",
        "grad_weight_par_into",
    ] {
        let form = method(resnet.clone(), name);
        assert!(form.contains("either"), "{name}: {form}");
        assert!(form.contains(":: WIDE"), "{name}: {form}");
    }
    let plane = quote::quote!(struct P; in = (36, 400), k = 3, stride = (2, 1), cin = 5, cout = 7);
    let form = method(plane, "forward_par_into");
    assert!(form.contains("for_each_block"), "{form}");
    assert!(
        !form.contains("either") && !form.contains(":: WIDE"),
        "{form}"
    );
}
