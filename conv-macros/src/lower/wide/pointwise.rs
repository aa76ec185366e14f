//! The pointwise layer's wide build: a kernel of one tap on every axis, stride 1, no
//! padding, as a matrix product. Each group's output is its filters, `[o][c]`, times its
//! input, `[c][position]`, every plane read as one row whatever its axes.

use conv_runtime::{Axis, Spec};
use proc_macro2::TokenStream;
use quote::{ToTokens, quote};

use super::forward::pack_filters;
use super::layout::{Body, Isa, Scratch, ZerosMeet, table_fits};
use crate::lower::tokens::{number, numbers};

/// The vectors along a plane in a register block: two, so that the input's run a block
/// reads for all its input channels (`cin` × 2 vectors, 32 KiB for 256 channels of
/// AVX-512) stays in the L1 cache while every block of output channels reads it.
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
/// 9, Intel Xeon, one thread). Asking for the next span's rows ahead (`prefetch`, into
/// the L1 or the L2 cache, before each run or each block) measured no faster. A plane's
/// last run, shorter than a block, is copied the same way; the lanes past it are summed
/// and not stored.
///
/// With `flipped`, the body is the input gradient of the layer whose dual `spec` is: its
/// weights are packed from that layer's, transposed (a kernel of one tap has nothing to
/// flip), as [`forward_rows_of`](super::forward::forward_rows_of) packs them.
pub(super) fn pointwise(spec: &Spec, isa: Isa, flipped: bool) -> Option<Body> {
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
    };
    // Runs copied at once: up to 8 runs of each input channel's row, 128 KiB in all.
    let span = run * (SPAN_BYTES / (in_per_group * run * size_of::<f32>())).clamp(1, 8);
    let scratch = Scratch::default()
        .part("packed", &[spec.weight_len()])?
        .part("panel", &[in_per_group, span])?;
    let plane = layout.plane;
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
    let mut body = Body::new(&scratch, &body);
    // No structural zero meets a value that is stored: the lanes past a plane's last run
    // are not.
    body.zeros_meet = ZerosMeet::Weights;
    Some(body)
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
                    z_group[(block * #channels + m) * #plane + #at..][..#length]
                        .clone_from_slice(&sums[..#length]);
                }
            }
        }
    }
}
