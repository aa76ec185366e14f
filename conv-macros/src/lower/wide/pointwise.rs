//! The pointwise layer's wide build: a kernel of one tap on every axis, stride 1, no
//! padding, as a matrix product. Each group's output is its filters, `[o][c]`, times its
//! input, `[c][position]`, every plane read as one row whatever its axes.

use conv_runtime::{Axis, Spec};
use proc_macro2::TokenStream;
use quote::{ToTokens, quote};

use super::forward::pack_filters;
use super::layout::{AVX2, AVX512, Block, Body, Isa, Scratch, ZerosMeet, table_fits};
use crate::lower::tokens::{number, numbers};

/// The vectors along a plane in a register block: two, so that the input's run a block
/// reads for all its input channels (`cin` × 2 vectors, 32 KiB for 256 channels of
/// AVX-512) stays in the L1 cache while every block of output channels reads it. Also
/// tried on `resnet-1x1` (AMD Zen 4, best of 600 calls) and not kept: the run's channels
/// in chunks of 16 KiB, every block over a chunk before the next and its sums waiting in
/// the output (998–1 052 µs before, 1 014–1 111 after), and with those chunks three
/// vectors by 8 channels (24 sums; medians 1 117–1 260 before, 1 216–1 337 after).
const VECTORS: usize = 2;

/// The bytes of input a body copies at once, up to 8 runs of every input channel: small
/// enough to stay in the L2 cache (256 and 512 KiB measured 1-6% slower, 64 KiB 5%).
const SPAN_BYTES: usize = 128 << 10;

/// `forward_into`'s wide body for `isa` when the layer is pointwise: `rows` blocks of up to
/// 8 output channels (each weight broadcast) times two vectors of neighbouring positions
/// of the plane (loaded once for all channels of the block), the weights packed per block
/// of channels so that a block reads them in order. The outputs go to `z` as whole
/// vectors, without the transposes of the channel block, whose broadcasts read one input
/// value from each of `cin` rows a plane apart.
///
/// The blocks read the input from a copy, a span of runs at a time, every input channel's
/// run contiguous after the last's. Read in place, a run's rows lie a plane apart, and
/// where the plane's bytes are a multiple of 256 (`56 × 56` floats) they fall into a
/// quarter of the L1 cache's sets and evict each other before the next block of channels
/// reads them: on `resnet-1x1` the copy took the forward pass from 861 to 722 µs, and
/// copying four runs of each row at once (reads of 512 bytes in order) to 700 µs (issue
/// 9, Intel Xeon, one thread). On an AMD Zen 4, whole runs read in place gave a faster
/// best call and a slower median (935–1 017 against 1 024–1 047 µs, 1 455–1 625 against
/// 1 198–1 278 µs). Asking for the next span's rows ahead (`prefetch`, into the L1 or
/// the L2 cache, before each run or each block) measured no faster. A plane's
/// last run, shorter than a block, is copied the same way; the lanes past it are summed
/// and not stored.
///
/// With `flipped`, the body is the input gradient of the layer whose dual `spec` is: its
/// weights are packed from that layer's, transposed (a kernel of one tap has nothing to
/// flip), as [`forward_rows_of`](super::forward::forward_rows_of) packs them.
pub(super) fn pointwise(spec: &Spec, isa: Isa, flipped: bool) -> Option<Body> {
    let (layout, span) = plan(spec, isa)?;
    let scratch = Scratch::default()
        .part("packed", &[spec.weight_len()])?
        .part("panel", &[layout.in_per_group, span])?;
    let (plane, run, in_per_group, out_per_group) = (
        layout.plane,
        layout.run,
        layout.in_per_group,
        layout.out_per_group,
    );
    let (spans, last) = (plane / span, plane % span);
    let full_spans = (spans > 0).then(|| {
        let body = layout.span(&quote!(p0), span);
        let (end, span) = (number(spans * span), number(span));
        quote! {
            for p0 in (0..#end).step_by(#span) {
                #body
            }
        }
    });
    let last_span =
        (last > 0).then(|| layout.span(&number(spans * span).into_token_stream(), last));
    let rows = numbers((0..in_per_group).map(|c| c * run));
    let (in_literal, groups) = (number(in_per_group), number(spec.groups()));
    let (input_sample, output_sample) = (
        number(spec.in_channels() * plane),
        number(spec.out_channels() * plane),
    );
    let (group_input, group_output, group_filters) = (
        number(in_per_group * plane),
        number(out_per_group * plane),
        number(out_per_group * in_per_group),
    );
    let pack = pack_filters(spec, flipped, layout.channels);
    let body = quote! {
        const ROWS: [usize; #in_literal] = #rows;
        // Each group's weights as `[o / channels][c][o % channels]`: a block's, input
        // channel by input channel, in the order it reads them.
        for (w_group, packed) in w.chunks_exact(#group_filters).zip(packed.chunks_exact_mut(#group_filters)) {
            #pack
        }
        let samples = x.chunks_exact(#input_sample).zip(z.chunks_exact_mut(#output_sample));
        for (x_sample, z_sample) in samples {
            for group in 0..#groups {
                let source = &x_sample[group * #group_input..][..#group_input];
                let z_group = &mut z_sample[group * #group_output..][..#group_output];
                let packed_group = &packed[group * #group_filters..][..#group_filters];
                #full_spans
                #last_span
            }
        }
    };
    let mut body = Body::new(Block::Pointwise, &scratch, &body);
    // No structural zero meets a value that is stored: the lanes past a plane's last run
    // are not.
    body.zeros_meet = ZerosMeet::Weights;
    Some(body)
}

/// A pointwise pass cut along its plane: a parallel form's tasks, each a run of positions
/// of one sample, every output channel's, read and written in place. Cut by output
/// channels instead, each task copied the whole input into its spans: on two threads
/// `resnet-1x1`'s forward pass took 564 µs that way and 470 µs in runs, its input
/// gradient 545 and 506–511 µs (issue 12, Intel Xeon, against 840 and 815 µs on one).
pub(in super::super) struct Spans {
    /// The positions a task's run is a multiple of: a whole number of spans in both
    /// builds.
    pub(in super::super) step: usize,
    /// The portable loops of a task, where the wide builds do not run after all (a cap
    /// set between the form's check and the task's dispatch).
    pub(in super::super) portable: TokenStream,
    /// The AVX2 and AVX-512 bodies of a task.
    pub(in super::super) builds: (Body, Body),
}

/// The tasks the forward pass of `spec` (with `flipped`, the input gradient of the layer
/// whose dual `spec` is) is cut into along its plane, where `spec` is pointwise and has
/// one group. A task's statements read `source` (a sample's input), `w` and `b` (the
/// layer's), and `origin` and `end` (its positions), and write `pieces`, one `&mut [T]`
/// per output channel holding its positions. Each packs the weights for
/// itself: the builds pack them in blocks of their own width. Every output is summed by
/// the blocks [`pointwise`] runs, over the input channels in the same order, so the
/// tasks give its bits.
pub(super) fn spans(spec: &Spec, flipped: bool) -> Option<Spans> {
    if spec.groups() != 1 {
        return None;
    }
    let build = |isa: Isa| -> Option<(Body, usize)> {
        let (mut layout, span) = plan(spec, isa)?;
        layout.in_place = true;
        let scratch = Scratch::default()
            .part("packed", &[spec.weight_len()])?
            .part("panel", &[layout.in_per_group, span])?;
        let full_end = layout.plane / span * span;
        let whole = layout.span(&quote!(p0), span);
        let last = (full_end < layout.plane).then(|| {
            let body = layout.span(
                &number(full_end).into_token_stream(),
                layout.plane - full_end,
            );
            quote!(if end > #full_end { #body })
        });
        let pack = pack_filters(spec, flipped, layout.channels);
        let (rows, in_literal) = (
            numbers((0..layout.in_per_group).map(|c| c * layout.run)),
            number(layout.in_per_group),
        );
        let (full_end, span_literal) = (number(full_end), number(span));
        let tokens = quote! {
            const ROWS: [usize; #in_literal] = #rows;
            let w_group: &[T] = w;
            #pack
            let packed_group: &[T] = packed;
            let group = 0;
            for p0 in (origin..end.min(#full_end)).step_by(#span_literal) {
                #whole
            }
            #last
        };
        let mut body = Body::new(Block::Pointwise, &scratch, &tokens);
        body.zeros_meet = ZerosMeet::Weights;
        Some((body, span))
    };
    let ((avx2, avx2_span), (avx512, avx512_span)) = (build(AVX2)?, build(AVX512)?);
    let common = |mut a: usize, mut b: usize| {
        while b > 0 {
            (a, b) = (b, a % b);
        }
        a
    };
    // A task's run starts a span in either build.
    let step = (avx2_span / common(avx2_span, avx512_span)).checked_mul(avx512_span)?;
    let plane: usize = spec.axes().iter().map(Axis::input).product();
    let (in_per_group, out_per_group) = (
        number(spec.in_channels_per_group()),
        number(spec.out_channels_per_group()),
    );
    let weight = if flipped {
        quote!(w[c * #out_per_group + o])
    } else {
        quote!(w[o * #in_per_group + c])
    };
    let start = if spec.bias() {
        quote!(b[o].clone())
    } else {
        quote!(T::zero())
    };
    let plane = number(plane);
    let portable = quote! {
        for (o, piece) in pieces.iter_mut().enumerate() {
            for (i, out) in piece.iter_mut().enumerate() {
                let mut sum = #start;
                for c in 0..#in_per_group {
                    sum.accumulate_product(&#weight, &source[c * #plane + origin + i]);
                }
                *out = sum;
            }
        }
    };
    Some(Spans {
        step,
        portable,
        builds: (avx2, avx512),
    })
}

/// A pointwise layer's register blocks in `isa` and the positions of its spans; `None`
/// where the layer is not pointwise.
fn plan(spec: &Spec, isa: Isa) -> Option<(Layout, usize)> {
    let axes = spec.axes();
    let pointwise = axes.iter().all(|axis| {
        axis.kernel() == 1 && axis.stride() == 1 && axis.pad_before() == 0 && axis.pad_after() == 0
    });
    let (in_per_group, out_per_group) =
        (spec.in_channels_per_group(), spec.out_channels_per_group());
    if !pointwise || !table_fits(&[in_per_group]) {
        return None;
    }
    let run = VECTORS * isa.lanes;
    let layout = Layout {
        run,
        channels: (1..=out_per_group.min(isa.sums / VECTORS))
            .rev()
            .find(|channels| out_per_group.is_multiple_of(*channels))?,
        plane: axes.iter().map(Axis::input).product(),
        in_per_group,
        out_per_group,
        start: if spec.bias() {
            quote!(b[first + m].clone())
        } else {
            quote!(T::zero())
        },
        in_place: false,
    };
    // Runs copied at once: up to 8 runs of each input channel's row, 128 KiB in all.
    let span = run * (SPAN_BYTES / (in_per_group * run * size_of::<f32>())).clamp(1, 8);
    Some((layout, span))
}

/// The sizes a pointwise body's code is written from.
struct Layout {
    /// Positions per run: a block's sums along the plane.
    run: usize,
    /// Output channels per block.
    channels: usize,
    /// Positions per plane.
    plane: usize,
    in_per_group: usize,
    out_per_group: usize,
    /// A block's first term for its output channel `first + m`.
    start: TokenStream,
    /// Whether the blocks store into `pieces`, one per output channel, each its positions
    /// from `origin` on (a parallel form's task), rather than into `z_group`.
    in_place: bool,
}

impl Layout {
    /// The `length` positions from `at` on: each input channel's copied into `panel`, one
    /// run after another (`panel[run][c]`), then every block over each run.
    fn span(&self, at: &TokenStream, length: usize) -> TokenStream {
        let (run, in_per_group) = (self.run, self.in_per_group);
        let (whole, tail) = (length / run, length % run);
        let (run_literal, in_literal, plane_literal) =
            (number(run), number(in_per_group), number(self.plane));
        let panel_run = number(in_per_group * run);
        let (length_literal, whole_literal) = (number(length), number(whole));
        let whole_blocks = self.blocks(&quote!(#at + r * #run_literal), run);
        let copy_tail = (tail > 0).then(|| {
            let (tail, from) = (number(tail), number(whole * run));
            quote! {
                panel[(#whole_literal * #in_literal + c) * #run_literal..][..#tail]
                    .clone_from_slice(&row[#from..]);
            }
        });
        let mut code = quote! {
            for (c, row) in source.chunks_exact(#plane_literal).enumerate() {
                let row = &row[#at..][..#length_literal];
                for (r, part) in row.chunks_exact(#run_literal).enumerate() {
                    panel[(r * #in_literal + c) * #run_literal..][..#run_literal]
                        .clone_from_slice(part);
                }
                #copy_tail
            }
            for (r, run) in panel.chunks_exact(#panel_run).take(#whole_literal).enumerate() {
                #whole_blocks
            }
        };
        if tail > 0 {
            let tail_blocks = self.blocks(&quote!(#at + #whole_literal * #run_literal), tail);
            code.extend(quote! {
                let run = &panel[#whole_literal * #panel_run..][..#panel_run];
                #tail_blocks
            });
        }
        code
    }

    /// Every block of output channels over the run `run`, the first `length` sums of each
    /// stored from `at` on.
    fn blocks(&self, at: &TokenStream, length: usize) -> TokenStream {
        let (run, channels, plane) = (number(self.run), number(self.channels), number(self.plane));
        let (block_filters, out_per_group) = (
            number(self.channels * self.in_per_group),
            number(self.out_per_group),
        );
        let (start, length) = (&self.start, number(length));
        let store = if self.in_place {
            quote!(pieces[block * #channels + m][#at - origin..][..#length])
        } else {
            quote!(z_group[(block * #channels + m) * #plane + #at..][..#length])
        };
        quote! {
            for (block, weights) in packed_group.chunks_exact(#block_filters).enumerate() {
                let first = group * #out_per_group + block * #channels;
                let mut sums: [[T; #run]; #channels] =
                    ::core::array::from_fn(|m| ::core::array::from_fn(|_| #start));
                T::rows::<_, #channels, #run>(
                    token,
                    &mut sums,
                    ::convsym::__private::Rows {
                        source: run,
                        rows: &ROWS,
                        shift: 0,
                        step: 0,
                        weights,
                        weight_row: #channels,
                        weight_step: 1,
                    },
                );
                for (m, sums) in sums.iter().enumerate() {
                    #store.clone_from_slice(&sums[..#length]);
                }
            }
        }
    }
}
