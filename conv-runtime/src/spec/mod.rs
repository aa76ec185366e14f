//! The layer specification: the `key = value` arguments a user writes, validated once for
//! both the command-line tool and the `conv!` macro.
//!
//! The arguments arrive as a small tree ([`Argument`], [`Value`]) whose every part carries
//! a span `S` of the caller's choosing: byte ranges for the tool, `proc_macro2::Span` for the
//! macro. Errors carry the span of the narrowest part they are about.

//!
//! The folder, in the order a specification is read:
//!
//! - `syntax`: the keys and the argument tree every tokenizer builds;
//! - [`parse`]: the tokenizer of the text the command-line tool reads;
//! - `validate`: the one validation, which resolves the padding and sizes every [`Axis`];
//!   `suggest` names the key a misspelling meant;
//! - `error`: [`Error`], a message with the span it is about;
//! - `axis` and `geometry`: one axis's sizes, which positions its windows read, and the
//!   index ranges loop kernels take from them;
//! - `unread`: the input elements no window reads, per axis and reason;
//! - `dual`: the ordinary layer a transposed layer transposes.
//!
//! Nothing here depends on the rest of the crate: the symbolic core, the renderers, the
//! explanation and the check all start from a [`Spec`].

pub mod parse;

mod axis;
mod dual;
mod error;
mod geometry;
mod suggest;
mod syntax;
mod taps;
mod unread;
mod validate;

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;
use core::ops::Range;

pub use axis::{Axis, Padding, Unread};
pub use error::Error;
pub use syntax::{Argument, KEYS, MAX_NESTING, Value};
pub use taps::Taps;

/// A validated convolution layer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Spec {
    axes: Vec<Axis>,
    in_channels: usize,
    out_channels: usize,
    groups: usize,
    batch: usize,
    bias: bool,
    transposed: bool,
    padding: Padding,
}

impl Spec {
    /// Parses and validates a specification written as text, e.g. `in=5 k=3 stride=2`.
    ///
    /// # Errors
    ///
    /// Every problem found, each with the byte range of the text it is about.
    pub fn parse(text: &str) -> Result<Spec, Vec<Error<Range<usize>>>> {
        let arguments = parse::arguments(text).map_err(|error| vec![error])?;
        Spec::from_arguments(&arguments, &[])
    }

    /// Validates parsed arguments. Keys in `extra_keys` are left to the caller (the macro's
    /// `unroll`, say) and skipped here.
    ///
    /// # Errors
    ///
    /// Every independent problem found, each naming the key and the value.
    pub fn from_arguments<S: Clone>(
        arguments: &[Argument<S>],
        extra_keys: &[&str],
    ) -> Result<Spec, Vec<Error<S>>> {
        validate::Validation::new(arguments, extra_keys).run()
    }

    /// The spatial axes, 1 to 3.
    pub fn axes(&self) -> &[Axis] {
        &self.axes
    }
    /// Input channels.
    pub fn in_channels(&self) -> usize {
        self.in_channels
    }
    /// Output channels.
    pub fn out_channels(&self) -> usize {
        self.out_channels
    }
    /// Channel groups.
    pub fn groups(&self) -> usize {
        self.groups
    }
    /// Batch size.
    pub fn batch(&self) -> usize {
        self.batch
    }
    /// Whether each output channel has a bias.
    pub fn bias(&self) -> bool {
        self.bias
    }
    /// Whether the layer is a transposed convolution (PyTorch's `ConvTranspose`): each input
    /// element scatters through the kernel, `z[n, o, i·s + q·d − pad_lo] += x[n, c, i] ·
    /// w[c, o', q]`, and `pad` crops the output instead of padding the input.
    pub fn transposed(&self) -> bool {
        self.transposed
    }
    /// How the padding was asked for.
    pub fn padding(&self) -> Padding {
        self.padding
    }
    /// Input channels each group reads.
    pub fn in_channels_per_group(&self) -> usize {
        self.in_channels / self.groups
    }
    /// Output channels each group writes.
    pub fn out_channels_per_group(&self) -> usize {
        self.out_channels / self.groups
    }
    /// The group an output channel belongs to.
    pub fn group_of_output(&self, out_channel: usize) -> usize {
        out_channel / self.out_channels_per_group()
    }

    /// The input's shape, `[batch, cin, in…]`.
    pub fn input_shape(&self) -> Vec<usize> {
        self.shape([self.batch, self.in_channels], Axis::input)
    }
    /// The weight's shape: `[cout, cin/groups, k…]`, or `[cin, cout/groups, k…]` for a
    /// transposed layer (PyTorch's layouts).
    pub fn weight_shape(&self) -> Vec<usize> {
        let leading = if self.transposed {
            [self.in_channels, self.out_channels_per_group()]
        } else {
            [self.out_channels, self.in_channels_per_group()]
        };
        self.shape(leading, Axis::kernel)
    }
    /// The output's shape, `[batch, cout, out…]`.
    pub fn output_shape(&self) -> Vec<usize> {
        self.shape([self.batch, self.out_channels], Axis::output)
    }
    /// The bias's shape: `[cout]`, or `[0]` without a bias.
    pub fn bias_shape(&self) -> Vec<usize> {
        vec![if self.bias { self.out_channels } else { 0 }]
    }

    /// Elements in the input.
    pub fn input_len(&self) -> usize {
        self.input_shape().iter().product()
    }
    /// Elements in the weight.
    pub fn weight_len(&self) -> usize {
        self.weight_shape().iter().product()
    }
    /// Elements in the output.
    pub fn output_len(&self) -> usize {
        self.output_shape().iter().product()
    }
    /// Elements in the bias (0 without one).
    pub fn bias_len(&self) -> usize {
        if self.bias { self.out_channels } else { 0 }
    }

    fn shape(&self, leading: [usize; 2], size: fn(&Axis) -> usize) -> Vec<usize> {
        leading
            .into_iter()
            .chain(self.axes.iter().map(size))
            .collect()
    }
}

/// The specification with every key written out; it parses back to an equal `Spec`.
impl fmt::Display for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tuple = |size: fn(&Axis) -> usize| {
            let items: Vec<String> = self.axes.iter().map(|a| size(a).to_string()).collect();
            format!(
                "({}{})",
                items.join(","),
                if items.len() == 1 { "," } else { "" }
            )
        };
        // A named mode is written by name: it resolves to the same amounts, and the mode
        // itself is part of the specification.
        let pad = if let Some(word) = self.padding.word() {
            String::from(word)
        } else {
            let pads: Vec<String> = self
                .axes
                .iter()
                .map(|a| format!("({},{})", a.pad_before, a.pad_after))
                .collect();
            let comma = if pads.len() == 1 { "," } else { "" };
            format!("({}{comma})", pads.join(","))
        };
        write!(
            f,
            "in={} k={} stride={} pad={pad} dilation={} cin={} cout={} groups={} batch={}",
            tuple(Axis::input),
            tuple(Axis::kernel),
            tuple(Axis::stride),
            tuple(Axis::dilation),
            self.in_channels,
            self.out_channels,
            self.groups,
            self.batch,
        )?;
        if self.bias {
            f.write_str(" bias")?;
        }
        if self.transposed {
            write!(
                f,
                " transposed output_padding={}",
                tuple(Axis::output_padding)
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;

/// One-axis layers whose strides, dilations, paddings and remainders cover every relation
/// of an output's window to the input, for the axis tests to check against brute force.
#[cfg(test)]
const TEST_AXES: [&str; 7] = [
    "in=(11,) k=3 stride=2",
    "in=(9,) k=4 stride=3 pad=same_lower dilation=2",
    "in=(9,) k=3 pad=((2,1),)",
    "in=(3,) k=3 pad=((7,5),) stride=4",
    "in=(4,) k=2 dilation=3 pad=((0,6),) stride=5",
    "in=(15,) k=5 stride=4 dilation=6 pad=((9,2),)",
    "in=(20,) k=7 stride=6 dilation=4 pad=((3,11),)",
];
