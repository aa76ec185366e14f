//! How the wide builds cut a pass into register blocks: each build's vectors, the
//! limits every block kind keeps to, and the layout helpers the passes share.

use conv_runtime::derive::Section;
use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use crate::lower::tokens::number;

mod blocks;

pub(super) use blocks::{block_size, by_blocks, by_even_blocks, even_blocks};

/// The most entries of a table of offsets (or list of taps) a wide kernel writes into its
/// code: past it, the layer keeps the portable build, so that its expansion stays small.
const MOST_TABLE: usize = 2_048;

/// The most phases (positions modulo the stride) the input gradient writes code for.
pub(super) const MOST_PHASES: usize = 16;

/// The most sums along a row in one register block: enough independent additions to
/// keep both adders busy, few enough that every sum stays in a register.
pub(super) const MOST_SUMS: usize = 8;

/// A build's vectors, for `f32`.
#[derive(Clone, Copy)]
pub(super) struct Isa {
    /// `f32` lanes per vector.
    pub(super) lanes: usize,
    /// Registers the sums may take, leaving the rest for operands.
    pub(super) sums: usize,
    /// Registers the sums may take in the channel block, whose loaded operands each
    /// serve several taps and stay live across them: at stride 1 the compiler
    /// broadcasts each input value once for every tap along the row that reads it
    /// (`MR + KX − 1` registers besides the sums and the weights). With AVX2's 12 sums
    /// it spilled sums to the stack inside its innermost loop; with 8, no sum spills.
    /// On an AMD Zen 4, whose 256-bit and 512-bit multiply-adds have the same bound,
    /// the AVX2 build's forward pass of `resnet-3x3` went from 4.14–4.15 to 2.24–2.26 ms
    /// (`BENCHMARKS.md`, "The AVX2 build on a Zen 4: fewer sums where operands serve
    /// several taps").
    pub(super) shared_sums: usize,
    /// The vector registers.
    pub(super) registers: usize,
}

/// Sixteen 32-byte registers.
pub(super) const AVX2: Isa = Isa {
    lanes: 8,
    sums: 12,
    shared_sums: 8,
    registers: 16,
};
/// Thirty-two 64-byte registers.
pub(super) const AVX512: Isa = Isa {
    lanes: 16,
    sums: 16,
    shared_sums: 16,
    registers: 32,
};

impl Isa {
    /// The channels of a register block for a group of `channels`: one or two vectors
    /// (or, in the AVX-512 build, one of AVX2's), or `None` when they fit no vector.
    pub(super) fn channels(self, channels: usize) -> Option<usize> {
        [2 * self.lanes, self.lanes, AVX2.lanes]
            .into_iter()
            .find(|block| channels.is_multiple_of(*block))
    }

    /// The forward pass's channel block for a group of `channels` output channels, whose
    /// filters have `taps` taps: the block's channels and the most sums along a row
    /// ([`Isa::channel_row`]). For a 1×1 kernel, AVX-512 takes up to four vectors of channels
    /// (64) times 4 sums, so that the input, which streams from memory there, is read
    /// once for every 64 channels rather than 32. Blocks that fill AVX-512's registers
    /// with sums (issue 9: 28, as 7 outputs by 64 channels or 14 by 32; or 24, as 6 by
    /// 64) measured 6–8% slower on `resnet-3x3`, `resnet-stem` and `speech-1d` (CPU time
    /// per call, against this choice in the same session): the compiler unrolls the taps
    /// along a row and keeps each input value's broadcast live across them, so 16 sums
    /// already fill the 32 registers, and more spill to the stack. Measured on a loaded
    /// machine against oneDNN in the same run: on `resnet-1x1` 1.30, 1.32 and 1.49 times oneDNN's time
    /// against 1.51 with two vectors, a gain within the noise; on the 3×3 and 7×7
    /// layers slower, their packed filters then streaming from the L2 cache twice as
    /// often (once per 4 outputs rather than 8), as with 24 sums of four vectors (6
    /// outputs). AVX2, with half the registers, keeps [`Isa::channels`].
    pub(super) fn forward_block(self, channels: usize, taps: usize) -> Option<(usize, usize)> {
        let block = if self.lanes == AVX2.lanes || taps > 1 {
            self.channels(channels)?
        } else {
            [4 * self.lanes, 2 * self.lanes, self.lanes, AVX2.lanes]
                .into_iter()
                .find(|block| channels.is_multiple_of(*block))?
        };
        Some((block, self.channel_row(block)))
    }

    /// [`Isa::row`] for the channel block, within [`Isa::shared_sums`].
    fn channel_row(self, channels: usize) -> usize {
        self.row(channels)
            .min(self.shared_sums / channels.div_ceil(self.lanes))
    }

    /// The most sums along a row for a block of `channels`.
    pub(super) fn row(self, channels: usize) -> usize {
        // Half-width vectors (AVX2's, in the AVX-512 build) leave room for twice as many.
        let most = if channels < self.lanes {
            2 * MOST_SUMS
        } else {
            MOST_SUMS
        };
        most.min(self.sums / channels.div_ceil(self.lanes))
    }

    /// The most sums per block along a row for the forward pass's block of `channels`: as
    /// [`Isa::channel_row`], or twice as many for a block of one vector where the
    /// registers hold them. Each broadcast input value then serves more outputs, and
    /// [`by_even_blocks`] cuts a row that is not a whole number of blocks into even
    /// ones. In the AVX-512 build, one vector of 16 channels: forward passes with rows of
    /// 10, 12 and 20 in blocks of 10, 12 and 10 against 5, 6 and 7 took 3.98 against
    /// 4.82–5.79 µs (`lenet-c3`), 3.72–3.82 against 4.48–5.39 and 5.75–5.78 against
    /// 6.57–7.81 µs (6 input channels, 5×5 kernels); `upsample-1d`'s input gradient (its
    /// dual's forward pass, rows of 2 000) in blocks of 16 against 8, 38.3 against
    /// 40.6–40.8 µs, and `strided-padded`'s forward pass (rows of 16) 6.6 against 6.7 µs
    /// (AMD Zen 4). On an Intel Xeon the rows of 16 in one block had measured 6% slower
    /// than two of 8 (`strided-padded`, issue 9), and were then kept to rows that are not
    /// a whole number of blocks of 8; that machine has not been measured since.
    pub(super) fn row_along(self, channels: usize) -> usize {
        let most = self.channel_row(channels);
        let one_vector = channels.div_ceil(self.lanes) == 1;
        if one_vector && self.shared_sums >= 2 * most {
            2 * most
        } else {
            most
        }
    }
}

/// The product of `factors`, or `None` past `usize`.
pub(super) fn product(factors: &[usize]) -> Option<usize> {
    factors
        .iter()
        .try_fold(1_usize, |product, &factor| product.checked_mul(factor))
}

/// Whether a table of `factors`' product entries fits [`MOST_TABLE`].
pub(super) fn table_fits(factors: &[usize]) -> bool {
    product(factors).is_some_and(|entries| entries <= MOST_TABLE)
}

/// The parts a wide body cuts from its scratch, one buffer of zeros (a padded copy, packed
/// weights, δ with zeros around its rows), in order.
#[derive(Default)]
pub(super) struct Scratch {
    /// Each part's name, length in scalars, and the lanes of the vectors it is viewed
    /// as (`[[T; lanes]]`), if it is.
    parts: Vec<(Ident, usize, Option<usize>)>,
    len: usize,
}

impl Scratch {
    /// The scratch with a part `name` of `factors`' product scalars more; `None` past
    /// `usize`.
    pub(super) fn part(mut self, name: &str, factors: &[usize]) -> Option<Self> {
        let len = product(factors)?;
        self.len = self.len.checked_add(len)?;
        self.parts.push((format_ident!("{name}"), len, None));
        Some(self)
    }

    /// The scratch with a part `name` of `factors`' product scalars before the others;
    /// `None` past `usize`.
    pub(super) fn part_first(self, name: &str, factors: &[usize]) -> Option<Self> {
        let mut scratch = self.part(name, factors)?;
        scratch.parts.rotate_right(1);
        Some(scratch)
    }

    /// The scratch with a part `name` of `count` vectors of `lanes` scalars more.
    pub(super) fn vectors(self, name: &str, count: usize, lanes: usize) -> Option<Self> {
        let mut scratch = self.part(name, &[count, lanes])?;
        if let Some(last) = scratch.parts.last_mut() {
            last.2 = Some(lanes);
        }
        Some(scratch)
    }

    /// The scalars the parts take together.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// The statements that cut `scratch: &mut [T]` into the parts, each a `&mut [T]`
    /// (or `&mut [[T; lanes]]`) named after it.
    pub(super) fn cut(&self) -> TokenStream {
        let mut statements = TokenStream::new();
        for (index, (name, len, lanes)) in self.parts.iter().enumerate() {
            statements.extend(if index + 1 == self.parts.len() {
                quote!(let #name = scratch;)
            } else {
                let len = number(*len);
                quote!(let (#name, scratch) = scratch.split_at_mut(#len);)
            });
            if let Some(lanes) = lanes {
                let lanes = number(*lanes);
                statements.extend(quote!(let (#name, _) = #name.as_chunks_mut::<#lanes>();));
            }
        }
        statements
    }
}

/// A pass's body in one wide build: the statements, which cut their scratch from
/// `scratch: &mut [T]` of `scratch` scalars of zeros (none when 0).
pub(in super::super) struct Body {
    pub(in super::super) tokens: TokenStream,
    pub(in super::super) scratch: usize,
    pub(in super::super) zeros_meet: ZerosMeet,
    pub(in super::super) block: Block,
    /// Where the body computes a part of the pass (`part: Part`, its output a slice of
    /// whole blocks: `convsym::__private::Part`), the units (channels or groups) of its
    /// blocks, which a part's first unit and length must be multiples of.
    pub(in super::super) parts: Option<usize>,
    /// Whether those parts may be row tiles too (`Part::rows`), and what a tile reads.
    pub(in super::super) rows: RowTiles,
    /// Where a part needs less of a large scratch than the whole pass, an expression of
    /// `self.part` for the scalars it needs: its last part shorter (`Scratch::cut`).
    pub(in super::super) scratch_of_part: Option<TokenStream>,
    /// Whether the body reads `shared: &[T]`, the input padded by its caller once for
    /// every task, where that is not empty, instead of padding its own copy.
    pub(in super::super) shared: bool,
    /// Whether a part may be a weight gradient's run of input channels (`Part::with_inputs`),
    /// which the body's outermost loop over them walks alone.
    pub(in super::super) input_runs: bool,
}

/// The kind of register block a body runs. Two kinds add an output's terms in different
/// orders, so a parallel form's task must run the kind its whole layer runs, in each
/// build: a task of fewer channels can fall to another (16 input channels take the
/// phases' channel block at stride 2, a task of 8 the rows over δ).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(in super::super) enum Block {
    /// The pointwise product.
    Pointwise,
    /// A block of channels times positions along a row (the forward pass, its dual
    /// layer's for the input gradient, or the weight gradient's with taps and positions
    /// trading places).
    Channels,
    /// Runs along a row, each weight broadcast (or partial sums along rows for the weight
    /// gradient).
    Rows,
    /// A depthwise layer's stencil over one channel's plane.
    Stencil,
    /// The input gradient's channel block on each phase of the stride.
    PhaseChannels,
    /// The input gradient's runs over δ by phase of the stride.
    PhaseRows,
}

/// Whether a body's parts may be row tiles (`Part::rows`), and what such a tile reads,
/// which sets how many tiles are worth cutting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(in super::super) enum RowTiles {
    /// None: a part is whole channel blocks in every row.
    None,
    /// Each tile reads (and copies) the rows its windows reach alone: more tiles than
    /// threads cost little, and leave work for a thread that finishes first.
    Banded,
    /// Each tile copies all of its input and packs its block's weights whatever its
    /// rows: one tile per thread.
    Whole,
}

/// Which operands a body's structural zeros (padding, spreading, spare lanes) are
/// multiplied with: those must be finite for the wide build to run, since `0 · ∞` is NaN.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(in super::super) enum ZerosMeet {
    /// Only the weights: every other operand's values are multiplied only by terms of
    /// their equations, and spare lanes are never stored.
    Weights,
    /// Any operand.
    Every,
}

impl Body {
    /// `tokens`, a `block`, after the statements that cut `scratch`; its zeros may meet
    /// any operand.
    pub(super) fn new(block: Block, scratch: &Scratch, tokens: &TokenStream) -> Self {
        let cut = scratch.cut();
        Body {
            tokens: quote!(#cut #tokens),
            scratch: scratch.len(),
            zeros_meet: ZerosMeet::Every,
            block,
            parts: None,
            rows: RowTiles::None,
            scratch_of_part: None,
            shared: false,
            input_runs: false,
        }
    }

    /// The body, which computes any part of whole blocks of `units` units
    /// ([`Body::parts`]).
    pub(super) fn in_parts(self, units: usize) -> Self {
        Body {
            parts: Some(units),
            ..self
        }
    }

    /// The body, which computes any part of whole blocks of `units` units in any rows
    /// along the first axis ([`Body::rows`]), each tile reading as `tiles` says.
    pub(super) fn in_row_parts(self, units: usize, tiles: RowTiles) -> Self {
        Body {
            rows: tiles,
            ..self.in_parts(units)
        }
    }

    /// The body, which computes a weight gradient's runs of input channels where `runs`
    /// ([`Body::input_runs`]): the layer's own blocks over the taps, whose outermost loop
    /// walks the input channels.
    pub(super) fn in_input_runs(self, runs: bool) -> Self {
        Body {
            input_runs: runs,
            ..self
        }
    }

    /// The body, which reads `shared` ([`Body::shared`]) and then needs `without` scalars
    /// of its scratch: all but its last part, the padded copy.
    pub(super) fn reading_shared(self, without: usize) -> Self {
        let (all, without) = (number(self.scratch), number(without));
        Body {
            shared: true,
            scratch_of_part: Some(quote!(if self.shared.is_empty() { #all } else { #without })),
            ..self
        }
    }

    /// The body after `statements`.
    pub(super) fn after(self, statements: &TokenStream) -> Self {
        let tokens = self.tokens;
        Body {
            tokens: quote!(#statements #tokens),
            ..self
        }
    }
}

impl Block {
    /// The block as far as the order of an output's terms goes in `section`. In the
    /// forward pass (and the input gradient as its dual layer's) the channel block and
    /// the rows add them in one order, the input channels and then the taps: a 1-D layer's
    /// long row runs the rows and its tiles the channel block, and the parallel tests find
    /// the same bits. Every other kind is its own.
    pub(in super::super) fn order(self, section: Section) -> Block {
        match (self, section) {
            (Block::Rows, Section::Forward | Section::GradInput) => Block::Channels,
            (block, _) => block,
        }
    }
}

/// Row-major strides of `extents`.
pub(super) fn strides(extents: &[usize]) -> Vec<usize> {
    let mut strides = vec![1; extents.len()];
    for index in (0..extents.len().saturating_sub(1)).rev() {
        strides[index] = strides[index + 1] * extents[index + 1];
    }
    strides
}

/// `Σ index·weight` for every index of a row-major array of `extents`, in its order.
pub(super) fn offsets(extents: &[usize], weights: &[usize]) -> Vec<usize> {
    let mut offsets = vec![0];
    for (&extent, &weight) in extents.iter().zip(weights) {
        offsets = offsets
            .iter()
            .flat_map(|&offset| (0..extent).map(move |index| offset + index * weight))
            .collect();
    }
    offsets
}

/// The call of `block` on `sums`, `size` sums of `channels` each: the rows `ROWS` of
/// `source` from `shift` on, `taps` taps along a row at `step` and `reach`, the weights
/// in `packed`.
pub(super) fn call_block(
    sizes: (usize, usize),
    shift: &TokenStream,
    geometry: [usize; 3],
) -> TokenStream {
    call_block_on(&quote!(&ROWS), sizes, shift, geometry)
}

/// [`call_block`] on the rows `rows` (a `&[usize]`) rather than all of `ROWS`.
pub(super) fn call_block_on(
    rows: &TokenStream,
    (size, channels): (usize, usize),
    shift: &TokenStream,
    [taps, step, reach]: [usize; 3],
) -> TokenStream {
    let [size, channels, taps, step, reach] = [size, channels, taps, step, reach].map(number);
    quote! {
        T::block::<_, #size, #channels>(
            token,
            &mut sums,
            ::convsym::__private::Block {
                source,
                rows: #rows,
                shift: #shift,
                taps: #taps,
                step: #step,
                reach: #reach,
                vectors: &packed[..],
            },
        );
    }
}

/// `sums`, `size` sums of `channels` each from zero, [`call_block`] on them, then `store`
/// for each position of the block, with `m` the position and `sums` its channels' sums.
pub(super) fn zeroed_block(
    (size, channels): (usize, usize),
    shift: &TokenStream,
    geometry: [usize; 3],
    store: &TokenStream,
) -> TokenStream {
    let block = call_block((size, channels), shift, geometry);
    let (size, channels) = (number(size), number(channels));
    quote! {
        let mut sums: [[T; #channels]; #size] =
            ::core::array::from_fn(|_| ::core::array::from_fn(|_| T::zero()));
        #block
        for (m, sums) in sums.into_iter().enumerate() {
            #store
        }
    }
}

/// The call of `rows` on `sums`, `size` runs of `run` sums, reading `padded` with the
/// other fields of its `convsym::__private::Rows` in `fields`.
pub(super) fn call_rows((size, run): (usize, usize), fields: &TokenStream) -> TokenStream {
    let (size, run) = (number(size), number(run));
    quote! {
        T::rows::<_, #size, #run>(
            token,
            &mut sums,
            ::convsym::__private::Rows { source: &padded[..], #fields },
        );
    }
}

/// The statements that bind `plane`, a channel's elements in the part a body computes
/// (`Part`), of a tensor with `rows` rows along its first axis and `whole` elements per
/// channel: with `row_tiles`, those of its rows `first_row..end_row` (`Part::rows`), else
/// every one.
pub(super) fn part_plane(rows: usize, whole: usize, row_tiles: bool) -> TokenStream {
    if !row_tiles {
        let whole = number(whole);
        return quote!(let plane = #whole;);
    }
    let [rows, row_len] = [rows, whole / rows].map(number);
    quote! {
        let [first_row, end_row] = part.rows_of(#rows);
        let plane = (end_row - first_row) * #row_len;
    }
}

/// How the input gradient's register blocks are laid out: `sums` runs of `run` inputs,
/// over a block of input channels (`channels`) or, with one channel, along a row.
pub(super) struct Runs {
    pub(super) sums: usize,
    pub(super) run: usize,
    pub(super) channels: bool,
}

impl Runs {
    /// Blocks for `channels` channels per group and rows of at most `length` sums.
    pub(super) fn of(channels: usize, length: usize, isa: Isa) -> Option<Self> {
        let (in_per_group, most_inputs) = (channels, length);
        if in_per_group == 1 {
            let sums = most_inputs.div_ceil(isa.lanes).clamp(1, MOST_SUMS);
            return Some(Runs {
                sums,
                run: isa.lanes,
                channels: false,
            });
        }
        let vectors = most_inputs.div_ceil(isa.lanes).min(2);
        let sums = (1..=in_per_group.min(MOST_SUMS))
            .rev()
            .find(|block| in_per_group.is_multiple_of(*block) && block * vectors <= isa.sums)?;
        Some(Runs {
            sums,
            run: isa.lanes * vectors,
            channels: true,
        })
    }

    /// The `step` and `weight_step` fields of the block's `convsym::__private::Rows`: from
    /// one channel to the next, or from one run to the next.
    pub(super) fn steps(&self) -> TokenStream {
        if self.channels {
            quote!(step: 0, weight_step: 1)
        } else {
            let run = number(self.run);
            quote!(step: #run, weight_step: 0)
        }
    }

    /// `for c0 in …`: `first`, the first channel of each block.
    pub(super) fn channel_loop(&self, channels: usize, first: &str) -> TokenStream {
        let first = format_ident!("{first}");
        if self.channels && channels > self.sums {
            let (end, sums) = (number(channels), number(self.sums));
            quote!(for #first in (0..#end).step_by(#sums))
        } else {
            quote!(for #first in [0])
        }
    }

    /// The inputs along a row one block covers.
    pub(super) fn span(&self) -> usize {
        if self.channels {
            self.run
        } else {
            self.run * self.sums
        }
    }
}
