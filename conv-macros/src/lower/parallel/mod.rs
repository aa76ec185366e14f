//! The parallel forms, `forward_par_into`, `grad_input_par_into`, `grad_weight_par_into`
//! and `backward_par_into`: the output cut into tasks, each the loops of a smaller layer
//! of the same geometry (fewer channels, or one sample) run by the runtime's driver,
//! `convsym::__private::par`, on rayon's current pool.
//!
//! A task owns a contiguous run of the output: the forward pass and the input gradient
//! split each sample's output (resp. input) channels, or its groups, into blocks (at a
//! batch of 8 or more, a task is a whole sample); the
//! weight gradient splits the output channels, or the groups, and sums each block over the
//! whole batch as the one-thread kernel does; where that leaves few tasks, the first two
//! passes cut each block's rows into tiles as well ([`tiles`]), a tile's output copied
//! back into place after it, and the weight gradient each block's input channels into
//! runs (`parts`). Every output is therefore summed by the same loops, over the
//! same terms in the same order, whatever the number of threads:
//!
//! ```text
//! par::for_each_block(z, 802816, 401408, |n, block, z| {
//!     let first = block * 32;
//!     if z.len() == 401408 {
//!         let x: &[T; 200704] = par::array(&x[n * 200704 + 0..][..200704]);
//!         let w: &[T; 18432] = par::array(&w[first * 576..][..18432]);
//!         let z: &mut [T; 401408] = par::array_mut(z);
//!         /* the forward loops of the layer with 32 output channels and one sample */
//!     } else { /* the last block's, with fewer channels */ }
//! });
//! ```

use conv_runtime::__private::par::SPLIT_FROM;
use conv_runtime::Spec;
use conv_runtime::derive::Section;
use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use super::{Array, Check, Finite, Kernels, looped, wide};
use crate::lower::tokens::number;
use operands::{operand_array, planes};
use parts::OwnParts;
use tiles::Tiles;

mod delta;
mod depthwise;
mod guards;
mod operands;
mod parts;
mod spans;
mod tiles;
mod transposed;

/// The multiply-adds a task is given at least, in whole channel blocks: a few times
/// rayon's cost of handing it out.
const TASK_WORK: usize = 1 << 16;

/// The `_par_into` methods; for a layer below the runtime's `SPLIT_FROM` or unrolled,
/// they call the one-thread kernels (and above it, below the threshold in force at run
/// time).
pub(super) fn methods(kernels: &Kernels) -> TokenStream {
    let spec = &kernels.layer.spec;
    let Kernels {
        x,
        w,
        b,
        z,
        dz,
        dx,
        dw,
        db,
        ..
    } = kernels;
    let bias = spec.bias();
    let split = !kernels.layer.unroll.is_full() && spec.multiply_adds() >= SPLIT_FROM;
    let forward_inputs: Vec<&Array> = if bias { vec![x, w, b] } else { vec![x, w] };
    let passes = [
        (Section::Forward, forward_inputs, z, "forward"),
        (Section::GradInput, vec![w, dz], dx, "grad_input"),
        (Section::GradWeight, vec![x, dz], dw, "grad_weight"),
    ];
    let scalar = quote!(T: ::convsym::Scalar + Send + Sync);
    let methods = passes.iter().map(|(section, inputs, output, name)| {
        let serial = format_ident!("{name}_into");
        let method = format_ident!("{name}_par_into");
        let parameters = inputs.iter().map(|array| array.parameter());
        let names: Vec<&Ident> = inputs.iter().map(|array| &array.name).collect();
        let (out, out_parameter) = (&output.name, output.output());
        let doc = format!(
            " `{serial}` on rayon's current pool, with the same bits whatever its threads."
        );
        let serial = quote!(self.#serial(#(#names,)* #out););
        let tasks = if !split {
            None
        } else if spec.transposed() {
            transposed::transposed(spec, *section, &serial)
        } else {
            let spans = spans::plane_tasks(spec, *section, inputs, output);
            let mut split = Split::new(spec, &kernels.layer.text, *section);
            if spans.is_some() {
                // The spans run wherever the wide builds do: the blocks (and tiles) run
                // only where they do not, in the portable build. Tiles of one layer keep
                // the bits only in the wide builds (`tiles::crop`): none.
                split.bodies = Bodies::Portable;
                if split.whole {
                    split.tiles = None;
                }
            }
            let tasks = match (spans, split.tasks(inputs, output, &serial)) {
                (Some(spans), tasks) => {
                    let tasks = tasks.unwrap_or_else(|| serial.clone());
                    Some(quote! {
                        if <T as ::convsym::__private::Wide>::runs_wide() { #spans } else { #tasks }
                    })
                }
                (None, tasks) => tasks,
            };
            tasks.map(|tasks| (tasks, Finite::of_pass(spec, *section, inputs, output)))
        };
        let body = if let Some((tasks, finite)) = tasks {
            guards::around(&tasks, finite, out, &serial)
        } else {
            serial
        };
        quote! {
            #[doc = #doc]
            pub fn #method<#scalar>(self, #(#parameters,)* #out_parameter) {
                #body
            }
        }
    });
    let (bias_parameter, bias_into) = if bias {
        let parameter = db.output();
        (quote!(, #parameter), quote!(self.grad_bias_into(dz, db);))
    } else {
        (TokenStream::new(), TokenStream::new())
    };
    let [x_parameter, w_parameter, dz_parameter] = [x, w, dz].map(Array::parameter);
    let [input_gradient, weight_gradient] = [dx, dw].map(Array::output);
    quote! {
        #(#methods)*

        /// `backward_into` with both gradients on rayon's current pool (the bias gradient,
        /// a sum per channel, on the calling thread).
        pub fn backward_par_into<#scalar>(self, #x_parameter, #w_parameter, #dz_parameter, #input_gradient, #weight_gradient #bias_parameter) {
            self.grad_input_par_into(w, dz, dx);
            self.grad_weight_par_into(x, dz, dw);
            #bias_into
        }
    }
}

/// How a pass is cut: into blocks of `units` (output channels, input channels or groups)
/// per sample, or over the whole batch for the weight gradient.
struct Split<'a> {
    spec: &'a Spec,
    /// The layer's arguments as written, which a task's layer changes.
    text: &'a str,
    section: Section,
    /// Whether a unit is a group (the layer has several) rather than a channel.
    grouped: bool,
    /// The units of a sample's output.
    units: usize,
    /// The units of a task.
    per_task: usize,
    /// Output elements per unit.
    unit_len: usize,
    /// Output elements per sample: the whole output for the weight gradient.
    sample_len: usize,
    /// The rows of the forward pass's output, or of the input gradient, cut into tiles
    /// where the samples and channel blocks make few tasks.
    tiles: Option<Tiles>,
    /// Whether those tiles are whole, all one layer ([`tiles::whole`]).
    whole: bool,
    /// What a task runs.
    bodies: Bodies,
    /// The layer's hidden method that computes a part of the pass, which [`Bodies::Own`]
    /// tasks call: a transposed layer's is named after its own pass, not its dual's.
    method: Ident,
}

/// What a pass's tasks run, beside the reads in place of [`delta`] and [`depthwise`].
#[derive(Clone, Copy, PartialEq, Eq)]
enum Bodies {
    /// The layer's own methods on their parts where its wide builds compute parts
    /// ([`Split::part`]), else the loops of each task's own layer, in every build.
    Own(Option<OwnParts>),
    /// The loops of each task's own layer, in every build: a transposed layer's, whose
    /// pass is its dual's, where no method of the layer computes it in parts.
    Dual,
    /// The loops of each task's own layer, portable: a pointwise layer's, whose wide builds
    /// run its spans, so that the tasks run only where the wide builds do not.
    Portable,
}

/// The units a pass of `spec` is cut into (output channels, input channels or groups),
/// the output elements of one, and those of a sample (the whole output for the weight
/// gradient).
fn units(spec: &Spec, section: Section) -> (usize, usize, usize) {
    let grouped = spec.groups() > 1;
    let (cin, cout) = (spec.in_channels_per_group(), spec.out_channels_per_group());
    let (input_plane, output_plane, taps) = planes(spec);
    match section {
        Section::GradInput => {
            let units = if grouped {
                spec.groups()
            } else {
                spec.in_channels()
            };
            let channels = if grouped { cin } else { 1 };
            (
                units,
                channels * input_plane,
                spec.in_channels() * input_plane,
            )
        }
        Section::GradWeight => {
            let units = if grouped {
                spec.groups()
            } else {
                spec.out_channels()
            };
            let channels = if grouped { cout } else { 1 };
            (units, channels * cin * taps, spec.weight_len())
        }
        _ => {
            let units = if grouped {
                spec.groups()
            } else {
                spec.out_channels()
            };
            let channels = if grouped { cout } else { 1 };
            (
                units,
                channels * output_plane,
                spec.out_channels() * output_plane,
            )
        }
    }
}

impl<'a> Split<'a> {
    fn new(spec: &'a Spec, text: &'a str, section: Section) -> Self {
        let grouped = spec.groups() > 1;
        let (cin, cout) = (spec.in_channels_per_group(), spec.out_channels_per_group());
        let (units, unit_len, sample_len) = units(spec, section);
        let samples = if section == Section::GradWeight {
            1
        } else {
            spec.batch()
        };
        let unit_work = usize::try_from(spec.multiply_adds())
            .unwrap_or(usize::MAX)
            .div_ceil(samples * units);
        // Whole register blocks of channels, the widest that leaves two tasks where one
        // does (so two cores share even a layer of 32 channels); groups are whole already.
        let blocks = [32, 16, 8]
            .into_iter()
            .filter(|block| units.is_multiple_of(*block));
        let align = if grouped {
            1
        } else {
            blocks
                .clone()
                .find(|block| units / block >= 2)
                .or_else(|| blocks.clone().next())
                .unwrap_or(1)
        };
        let mut blocks = TASK_WORK.div_ceil(unit_work.saturating_mul(align).max(1));
        // Each task of the forward pass and the input gradient copies (or pads) the
        // whole sample's input (δ) for itself: two tasks of a sample, not more, where the
        // register blocks allow; a pool of more threads than blocks cuts them into tiles
        // (resnet-down at batch 1, one block of 32 channels alone in 578-621 µs, two of
        // 64 in 1 036-1 055 µs, the whole layer in 1 843 µs).
        if section != Section::GradWeight && !grouped {
            blocks = blocks.max(units / align / 2);
        }
        let mut per_task = (align * blocks).min(units);
        // A grouped layer's wide builds choose their blocks from all its channels, so a
        // task of fewer groups could take another block and add in another order: the
        // split is over samples alone. Not so a depthwise layer's (one channel in and out
        // per group), which work one channel at a time: each pass is cut into runs of
        // whole channels, read and written in place (the weight gradient's over the
        // whole batch, reading each sample's channels where they lie: `depthwise`),
        // where tiles of rows copied every channel's rows and ran slower on two threads
        // than the one-thread kernel (mobilenet-dw at batch 1: 160 µs against 70 µs).
        let depthwise = cin == 1 && cout == 1;
        if grouped && !depthwise {
            per_task = units;
        }
        // The wide builds lay a single channel out along a row instead of across
        // channels, another order of additions: no task of one channel from several.
        if !grouped {
            while per_task < units && (per_task == 1 || units % per_task == 1) {
                per_task += 1;
            }
        }
        // Where the samples alone make enough tasks, a task is a whole sample: each task
        // copies (or pads) its input for itself, and blocks of channels copied each
        // sample's input once per block. resnet-1x1 at batch 8 on two threads: 4.97 ->
        // 4.06 ms forward; resnet-down 10.9 -> 8.9 ms.
        if samples >= tiles::TASKS && !depthwise {
            per_task = units;
        }
        // Where the layer's own builds compute row tiles, a task is whole register blocks
        // of both builds: a task of fewer channels would be a layer of its own, compiled
        // in three builds, where the row tiles give each core its share as calls of the
        // one-thread code.
        let parts = OwnParts::of(spec, section);
        if let Some(parts) = parts.filter(|_| !grouped) {
            per_task = parts.whole_blocks(units, per_task);
        }
        // Fewer tasks than cores could share: the rows are cut too.
        let tasks = samples * units.div_ceil(per_task);
        let rows = match section {
            Section::Forward => Some(spec.axes()[0].output()),
            Section::GradInput => Some(spec.axes()[0].input()),
            _ => None,
        };
        let tiles = rows.and_then(|rows| {
            Tiles::new(rows, tasks, unit_work.saturating_mul(per_task), TASK_WORK)
        });
        Split {
            spec,
            text,
            section,
            grouped,
            units,
            per_task,
            unit_len,
            sample_len,
            tiles,
            whole: tiles::whole(spec, section, tiles),
            bodies: Bodies::Own(parts),
            method: super::parts_method(section),
        }
    }

    /// The pass cut into tasks: its blocks ([`Split::blocks`]), and where the rows are cut
    /// too, its tiles, which run only where the blocks are fewer than the pool's threads.
    /// Where only tiles that run in the wide builds cut it, the portable build runs the
    /// whole pass through `serial`, the call of the one-thread method, and returns.
    /// A tile copies its rows of the input (of δ) in and its output out, which on two
    /// threads cost more than an idle thread would: `resnet-1x1`'s forward pass took 518 µs
    /// in eight tiles and 337 µs in two blocks. `None` for a single task, or if a task's
    /// layer is not one.
    fn tasks(
        &self,
        inputs: &[&Array],
        output: &Array,
        serial: &TokenStream,
    ) -> Option<TokenStream> {
        if let Some(runs) = self.input_runs(inputs, output) {
            return Some(runs);
        }
        let blocks = self.blocks(inputs, output);
        if self.section == Section::GradWeight {
            // No tiles: the blocks, or for a pool of more threads than blocks their runs
            // of input channels (each packs its block's δ again), after the input padded
            // once for all of them.
            let blocks = blocks?;
            let before = delta::before_tasks(self.spec, self.block_count());
            let count = number(self.block_count());
            let tasks = match self.block_runs(inputs, output) {
                Some(runs) => quote! {
                    if ::convsym::__private::par::enough(#count) || !<T as ::convsym::__private::Wide>::runs_wide() {
                        #blocks
                    } else {
                        #runs
                    }
                },
                None => blocks,
            };
            return Some(quote!(#before #tasks));
        }
        let tiled = self
            .tiles
            .and_then(|tiles| self.tiled(tiles, inputs, output));
        // Tiles of one layer give the one-thread kernel's bits only in the wide builds
        // (`tiles::crop`), and the layer's own builds compute row tiles only there
        // (`Split::row_parts`): elsewhere the blocks run, or the one-thread loops.
        let whole = self.whole || self.row_parts();
        let wide = if whole {
            quote!(<T as ::convsym::__private::Wide>::runs_wide())
        } else {
            quote!(true)
        };
        match (blocks, tiled) {
            (Some(blocks), Some(tiled)) => {
                // Only the forward pass and the input gradient have tiles: a task per
                // sample and block.
                let tasks = number(self.block_count() * self.spec.batch());
                Some(quote! {
                    if ::convsym::__private::par::enough(#tasks) || !#wide { #blocks } else { #tiled }
                })
            }
            // The one-thread method rather than its portable loops written out again, a
            // second copy to compile (0.5 s of `upsample-1d`'s build). It returns: a
            // transposed layer's form adds the bias after its tasks, which it has added.
            (None, Some(tiled)) if whole => Some(quote! {
                if !#wide {
                    #serial
                    return;
                }
                #tiled
            }),
            (blocks, tiled) => blocks.or(tiled),
        }
    }

    /// `par::for_each_block` over the output, a task's body for a full block and, when the
    /// units do not divide, one for the last; `None` for a single task, or if a task's
    /// layer is not one.
    fn blocks(&self, inputs: &[&Array], output: &Array) -> Option<TokenStream> {
        if self.per_task == self.units && self.sample_len == output.len {
            return None;
        }
        let full = self.task(self.per_task, inputs, output)?;
        let rest = self.units % self.per_task;
        let block_len = number(self.per_task * self.unit_len);
        let body = if rest == 0 {
            full
        } else {
            let last = self.task(rest, inputs, output)?;
            let out = &output.name;
            quote!(if #out.len() == #block_len { #full } else { #last })
        };
        let (sample_len, per_task) = (number(self.sample_len), number(self.per_task));
        let out = &output.name;
        // The weight gradient's one "sample" is the whole batch.
        let sample = if self.section == Section::GradWeight {
            quote!(_)
        } else {
            quote!(n)
        };
        Some(quote! {
            ::convsym::__private::par::for_each_block(#out, #sample_len, #block_len, |#sample, block, #out| {
                let first = block * #per_task;
                #body
            });
        })
    }

    /// The builds a task's own layer is compiled in: the portable one alone where the
    /// tasks run only where the wide builds do not ([`Bodies::Portable`]), else all three,
    /// checked by the form.
    fn wide(&self) -> Option<Check> {
        (self.bodies != Bodies::Portable).then_some(Check::Caller)
    }

    /// The blocks of a sample (of the whole batch for the weight gradient).
    fn block_count(&self) -> usize {
        self.units.div_ceil(self.per_task)
    }

    /// A task of `count` units from `first` in sample `n`: a weight gradient's reading δ
    /// in place ([`delta`], [`depthwise`]), else a call of the layer's own wide builds on
    /// its part ([`Split::part`]), else its operands cut (or gathered) into arrays and the
    /// loops of the layer that task is; `None` if those loops would take another build
    /// than the layer's.
    fn task(&self, count: usize, inputs: &[&Array], output: &Array) -> Option<TokenStream> {
        let layer = self.layer(count)?;
        let part = self.part(count, inputs, output);
        // A weight gradient's task that is a part of the layer's own pass reads δ in place
        // as it does, and the input padded once where the form pads it: the part, rather
        // than a layer of its own (`delta`).
        let in_place = match self.section {
            Section::GradWeight => part
                .is_none()
                .then(|| delta::grad_weight_task(self.spec, &layer, self.block_count()))
                .flatten()
                .or_else(|| depthwise::grad_weight_task(self.spec, &layer)),
            _ => None,
        };
        if in_place.is_some() {
            return in_place;
        }
        if let Some(part) = part {
            // The portable loops of the task's layer elsewhere: their sums are the whole
            // layer's portable sums, channel by channel.
            let portable = self.task_of(&layer, (false, None), inputs, output)?;
            // Each type compiles one of the two (`Wide::either`).
            let out = &output.name;
            return Some(quote! {
                <T as ::convsym::__private::Wide>::either(#out, |#out| { #part }, |#out| { #portable });
            });
        }
        self.task_of(&layer, (false, self.wide()), inputs, output)
    }

    /// A task computing the layer `task`, a part of this one: its operands (rows of them
    /// from `STARTS[tile]` when `tiled`) and its loops, in the builds `wide` names (with
    /// the caller's check) or the portable build alone; `None` if those loops would take
    /// another build than the layer's.
    fn task_of(
        &self,
        task: &Spec,
        (tiled, wide): (bool, Option<Check>),
        inputs: &[&Array],
        output: &Array,
    ) -> Option<TokenStream> {
        // A task that runs portably where the layer runs wide, or the reverse, or runs
        // another kind of block that adds an output's terms in another order, would give
        // other bits: such a pass is not split. Past stride 1, 16 input channels take the
        // phases' channel block, and a task of 8 would take the rows over δ.
        let blocks = |spec: &Spec| {
            wide::blocks(spec, self.section)
                .map(|(avx2, avx512)| (avx2.order(self.section), avx512.order(self.section)))
        };
        if blocks(task) != blocks(self.spec) {
            return None;
        }
        let arrays: Vec<Array> = inputs
            .iter()
            .map(|array| operand_array(&array.name, task))
            .collect();
        let bindings = arrays.iter().map(|array| {
            let (name, len) = (&array.name, number(array.len));
            let slice = self.operand(&array.name.to_string(), task, tiled);
            quote! {
                #slice
                let #name: &[T; #len] = ::convsym::__private::par::array(#name);
            }
        });
        let out = operand_array(&output.name, task);
        let (name, len) = (&out.name, number(out.len));
        let references: Vec<&Array> = arrays.iter().collect();
        // Each task cuts its own scratch (a smaller layer's copies) while it runs.
        let (body, _) = looped(task, self.section, &references, &out, wide);
        Some(quote! {
            #(#bindings)*
            let #name: &mut [T; #len] = ::convsym::__private::par::array_mut(#name);
            #body
        })
    }

    /// The layer a task of `count` units computes: the same axes and keys, with its
    /// channels, groups and samples (fewer of each than a valid layer's, so always valid).
    fn layer(&self, count: usize) -> Option<Spec> {
        let spec = self.spec;
        let (in_per_group, out_per_group) =
            (spec.in_channels_per_group(), spec.out_channels_per_group());
        let (groups, in_channels, out_channels) = match (self.grouped, self.section) {
            (true, _) => (count, count * in_per_group, count * out_per_group),
            (false, Section::GradInput) => (1, count, spec.out_channels()),
            (false, _) => (1, spec.in_channels(), count),
        };
        let batch = if self.section == Section::GradWeight {
            spec.batch()
        } else {
            1
        };
        let keys = [
            ("cin", in_channels),
            ("cout", out_channels),
            ("groups", groups),
            ("batch", batch),
        ];
        let arguments = conv_runtime::parse::arguments(self.text).ok()?;
        let text = arguments
            .iter()
            .filter(|argument| keys.iter().all(|(key, _)| argument.key != *key))
            .map(|argument| match &argument.value {
                Some(value) => format!("{}={value}", argument.key),
                None => argument.key.clone(),
            })
            .chain(keys.iter().map(|(key, value)| format!("{key}={value}")))
            .collect::<Vec<_>>()
            .join(" ");
        Spec::parse(&text).ok()
    }
}

#[cfg(test)]
mod tests;
