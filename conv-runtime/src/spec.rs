//! The layer specification: the `key = value` arguments a user writes, validated once for
//! both the command-line tool and the `conv!` macro.
//!
//! The arguments arrive as a small tree ([`Argument`], [`Value`]) whose every part carries
//! a span `S` of the caller's choosing: byte ranges for the tool, `proc_macro2::Span` for the
//! macro. Errors carry the span of the narrowest part they are about.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;
use core::ops::Range;

/// The keys a specification accepts, in the order they are documented.
pub const KEYS: [&str; 10] = [
    "in", "k", "stride", "pad", "dilation", "cin", "cout", "groups", "bias", "batch",
];

/// How deep a value's tuples may nest. No key takes more than two levels
/// (`pad = ((1, 0), (2, 1))`); a tokenizer refuses a tuple past this depth before it recurses
/// into it, so what a user writes never decides how deep the stack grows.
pub const MAX_NESTING: usize = 16;

/// Names people reach for out of habit, mapped to the key they mean.
const ALIASES: [(&str, &str); 8] = [
    ("input", "in"),
    ("kernel", "k"),
    ("kernel_size", "k"),
    ("padding", "pad"),
    ("strides", "stride"),
    ("in_channels", "cin"),
    ("out_channels", "cout"),
    ("batch_size", "batch"),
];

/// A value as written after `key =`, every part with the span of its tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value<S> {
    /// An integer literal: its decimal digits, with a leading `-` when negative.
    Integer {
        /// The digits as written.
        digits: String,
        /// Where the literal stands.
        span: S,
    },
    /// A bare word such as `same` or `true`.
    Word {
        /// The word.
        word: String,
        /// Where the word stands.
        span: S,
    },
    /// A parenthesised, comma-separated tuple.
    Tuple {
        /// The entries.
        items: Vec<Value<S>>,
        /// Where the whole tuple stands, parentheses included.
        span: S,
    },
}

impl<S: Clone> Value<S> {
    /// Where this value stands.
    pub fn span(&self) -> S {
        match self {
            Value::Integer { span, .. } | Value::Word { span, .. } | Value::Tuple { span, .. } => {
                span.clone()
            }
        }
    }
}

impl<S> fmt::Display for Value<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Integer { digits, .. } => f.write_str(digits),
            Value::Word { word, .. } => f.write_str(word),
            Value::Tuple { items, .. } => {
                // `{:#}` leaves out the outer parentheses, for messages that put the value in
                // parentheses of their own: "`k` (3, 3, 3) has 3 entries".
                let (open, close) = if f.alternate() { ("", "") } else { ("(", ")") };
                f.write_str(open)?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                if items.len() == 1 {
                    f.write_str(",")?;
                }
                f.write_str(close)
            }
        }
    }
}

/// One `key = value` argument; `value` is `None` for a bare flag such as `bias`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Argument<S> {
    /// The key as written.
    pub key: String,
    /// Where the key stands.
    pub key_span: S,
    /// The value, if one was written.
    pub value: Option<Value<S>>,
}

/// An invalid specification: what is wrong, and where (`None`: nowhere in particular, such
/// as a missing key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error<S> {
    /// The message, naming the key and the value.
    pub message: String,
    /// The narrowest part of the input the message is about.
    pub span: Option<S>,
}

impl<S> Error<S> {
    /// The error for a tuple in the value of `key`, opened at `span`, that nests deeper than
    /// [`MAX_NESTING`]: the same message from every tokenizer.
    pub fn nested_too_deep(key: &str, span: S) -> Self {
        Error::at(
            span,
            format!(
                "the value of `{key}` nests tuples more than {MAX_NESTING} deep; no key takes \
                 more than 2, as in `pad = ((1, 0), (2, 1))`"
            ),
        )
    }

    fn at(span: S, message: String) -> Self {
        Error {
            message,
            span: Some(span),
        }
    }

    fn anywhere(message: String) -> Self {
        Error {
            message,
            span: None,
        }
    }
}

impl<S> fmt::Display for Error<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

#[cfg(feature = "std")]
impl<S: fmt::Debug> std::error::Error for Error<S> {}

/// How the padding was asked for; the resolved amounts are on each [`Axis`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Padding {
    /// Amounts given as numbers.
    Explicit,
    /// `same`: TensorFlow's rule, the odd extra at the end.
    Same,
    /// `same_lower`: the odd extra at the start.
    SameLower,
    /// `valid`: no padding.
    Valid,
}

impl Padding {
    /// The word a user writes for this mode, if it has one.
    pub fn word(self) -> Option<&'static str> {
        match self {
            Padding::Explicit => None,
            Padding::Same => Some("same"),
            Padding::SameLower => Some("same_lower"),
            Padding::Valid => Some("valid"),
        }
    }
}

/// One spatial axis of a validated layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Axis {
    input: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    pad_before: usize,
    pad_after: usize,
    output: usize,
}

/// Why an input position is never read by the forward pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Unread {
    /// It lies in the last `r` positions of the padded input, past the last window.
    Remainder,
    /// It falls between the taps the stride and the dilation reach.
    Gap,
}

impl Axis {
    /// The input size.
    pub fn input(&self) -> usize {
        self.input
    }
    /// The kernel size.
    pub fn kernel(&self) -> usize {
        self.kernel
    }
    /// The stride.
    pub fn stride(&self) -> usize {
        self.stride
    }
    /// The kernel dilation.
    pub fn dilation(&self) -> usize {
        self.dilation
    }
    /// Zeros before the input.
    pub fn pad_before(&self) -> usize {
        self.pad_before
    }
    /// Zeros after the input.
    pub fn pad_after(&self) -> usize {
        self.pad_after
    }
    /// The output size.
    pub fn output(&self) -> usize {
        self.output
    }
    /// The span of the dilated kernel, `d·(k − 1) + 1`.
    pub fn effective_kernel(&self) -> usize {
        self.dilation * (self.kernel - 1) + 1
    }
    /// The input size with both paddings.
    pub fn padded_input(&self) -> usize {
        self.input + self.pad_before + self.pad_after
    }
    /// `r`: how many positions at the end of the padded input no window reaches.
    pub fn remainder(&self) -> usize {
        (self.padded_input() - self.effective_kernel()) % self.stride
    }

    /// The real input position that output `output` reads through kernel tap `tap`, if it
    /// reads one rather than padding.
    pub fn source(&self, output: usize, tap: usize) -> Option<usize> {
        let padded = output * self.stride + tap * self.dilation;
        padded
            .checked_sub(self.pad_before)
            .filter(|&position| position < self.input)
    }

    /// The output position that reads input `position` through kernel tap `tap`, if any.
    pub fn target(&self, position: usize, tap: usize) -> Option<usize> {
        let reach = (position + self.pad_before).checked_sub(tap * self.dilation)?;
        (reach % self.stride == 0)
            .then_some(reach / self.stride)
            .filter(|&output| output < self.output)
    }

    /// Why no window reads input `position`, or `None` if one does.
    pub fn why_unread(&self, position: usize) -> Option<Unread> {
        if (0..self.kernel).any(|tap| self.target(position, tap).is_some()) {
            return None;
        }
        let last_read = (self.output - 1) * self.stride + (self.kernel - 1) * self.dilation;
        Some(if position + self.pad_before > last_read {
            Unread::Remainder
        } else {
            Unread::Gap
        })
    }

    /// The input positions no window reads, each with the reason.
    pub fn unread(&self) -> impl Iterator<Item = (usize, Unread)> + '_ {
        (0..self.input).filter_map(|position| Some((position, self.why_unread(position)?)))
    }
}

/// A validated convolution layer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Spec {
    axes: Vec<Axis>,
    in_channels: usize,
    out_channels: usize,
    groups: usize,
    batch: usize,
    bias: bool,
    padding: Padding,
}

impl Spec {
    /// Parses and validates a specification written as text, e.g. `in=5 k=3 stride=2`.
    ///
    /// # Errors
    ///
    /// Every problem found, each with the byte range of the text it is about.
    pub fn parse(text: &str) -> Result<Spec, Vec<Error<Range<usize>>>> {
        let arguments = crate::parse::arguments(text).map_err(|error| vec![error])?;
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
        Validation::new(arguments, extra_keys).run()
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
    /// The weight's shape, `[cout, cin/groups, k…]`.
    pub fn weight_shape(&self) -> Vec<usize> {
        self.shape(
            [self.out_channels, self.in_channels_per_group()],
            Axis::kernel,
        )
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
        Ok(())
    }
}

/// The amount of padding asked for before the axes' sizes are known.
enum PadRequest {
    Explicit(Vec<(usize, usize)>),
    Mode(Padding),
}

/// One pass over the arguments that collects every independent error.
struct Validation<'a, S> {
    found: BTreeMap<&'static str, &'a Argument<S>>,
    errors: Vec<Error<S>>,
}

impl<'a, S: Clone> Validation<'a, S> {
    fn new(arguments: &'a [Argument<S>], extra_keys: &[&str]) -> Self {
        let mut validation = Validation {
            found: BTreeMap::new(),
            errors: Vec::new(),
        };
        for argument in arguments {
            let name = argument.key.as_str();
            if extra_keys.contains(&name) {
                continue;
            }
            let Some(&key) = KEYS.iter().find(|&&key| key == name) else {
                validation.errors.push(Error::at(
                    argument.key_span.clone(),
                    unknown_key_message(name, extra_keys),
                ));
                continue;
            };
            if validation.found.insert(key, argument).is_some() {
                validation.errors.push(Error::at(
                    argument.key_span.clone(),
                    format!("duplicate `{key}` argument"),
                ));
            }
        }
        validation
    }

    fn run(mut self) -> Result<Spec, Vec<Error<S>>> {
        let input = self.input();
        let rank = input.as_ref().map(Vec::len);
        let kernel = self.per_axis("k", rank, None, 1);
        let stride = self.per_axis("stride", rank, Some(1), 1);
        let dilation = self.per_axis("dilation", rank, Some(1), 1);
        let padding = self.padding(rank);
        let in_channels = self.count("cin");
        let out_channels = self.count("cout");
        let groups = self.count("groups");
        let batch = self.count("batch");
        let bias = self.bias();
        let (
            Some(input),
            Some(kernel),
            Some(stride),
            Some(dilation),
            Some(padding),
            Some(in_channels),
            Some(out_channels),
            Some(groups),
            Some(batch),
            Some(bias),
        ) = (
            input,
            kernel,
            stride,
            dilation,
            padding,
            in_channels,
            out_channels,
            groups,
            batch,
            bias,
        )
        else {
            return Err(self.errors);
        };

        for (channels, key) in [(in_channels, "cin"), (out_channels, "cout")] {
            if channels % groups != 0 {
                let message = format!("`groups` ({groups}) does not divide `{key}` ({channels})");
                self.error_at("groups", None, message);
            }
        }
        let mut axes = Vec::with_capacity(input.len());
        let mut failed = Vec::new();
        for (index, &input) in input.iter().enumerate() {
            let (kernel, stride, dilation) = (kernel[index], stride[index], dilation[index]);
            let pads = match &padding {
                PadRequest::Explicit(pads) => Some(pads[index]),
                PadRequest::Mode(_) => None,
            };
            // A square `in = 5` gives two identical axes: one error says it for both.
            let key = (input, kernel, stride, dilation, pads);
            if failed.contains(&key) {
                continue;
            }
            match self.axis(index, input, kernel, stride, dilation, &padding) {
                Some(resolved) => axes.push(resolved),
                None => failed.push(key),
            }
        }
        if !self.errors.is_empty() {
            return Err(self.errors);
        }
        let spec = Spec {
            axes,
            in_channels,
            out_channels,
            groups,
            batch,
            bias,
            padding: match padding {
                PadRequest::Explicit(_) => Padding::Explicit,
                PadRequest::Mode(mode) => mode,
            },
        };
        self.check_tensor_sizes(&spec);
        if self.errors.is_empty() {
            Ok(spec)
        } else {
            Err(self.errors)
        }
    }

    /// Resolves and checks one axis; `None` after recording why it is invalid.
    fn axis(
        &mut self,
        index: usize,
        input: usize,
        kernel: usize,
        stride: usize,
        dilation: usize,
        padding: &PadRequest,
    ) -> Option<Axis> {
        let number = index + 1;
        let Some(effective) = (kernel - 1)
            .checked_mul(dilation)
            .and_then(|span| span.checked_add(1))
        else {
            let message = format!(
                "`k` ({kernel}) with `dilation` ({dilation}) spans more positions than fit in memory on axis {number}"
            );
            self.error_at("dilation", Some(index), message);
            return None;
        };
        let (pad_before, pad_after) = match padding {
            PadRequest::Explicit(pads) => pads[index],
            PadRequest::Mode(Padding::Valid) => (0, 0),
            PadRequest::Mode(mode) => {
                // `out = ⌈in / s⌉` is exact: `in` is known when the layer is written.
                let output = input.div_ceil(stride);
                let total = ((output - 1) * stride)
                    .checked_add(effective)
                    .map_or(usize::MAX, |reach| reach.saturating_sub(input));
                let half = total / 2;
                match mode {
                    Padding::SameLower => (total - half, half),
                    _ => (half, total - half),
                }
            }
        };
        let Some(padded) = input
            .checked_add(pad_before)
            .and_then(|size| size.checked_add(pad_after))
        else {
            let message = format!("`pad` makes the padded input overflow on axis {number}");
            self.error_at("pad", Some(index), message);
            return None;
        };
        if effective > padded {
            let what = if dilation == 1 {
                format!("`k` ({kernel}) is larger than")
            } else {
                format!("`k` ({kernel}) with `dilation` ({dilation}) spans {effective}, more than")
            };
            let message = format!("{what} the padded input ({padded}) on axis {number}");
            self.error_at("k", Some(index), message);
            return None;
        }
        Some(Axis {
            input,
            kernel,
            stride,
            dilation,
            pad_before,
            pad_after,
            output: (padded - effective) / stride + 1,
        })
    }

    /// Every tensor's element count must fit in `usize`, so that flat indices never overflow.
    fn check_tensor_sizes(&mut self, spec: &Spec) {
        let shapes = [
            ("input", spec.input_shape(), "in"),
            ("weight", spec.weight_shape(), "k"),
            ("output", spec.output_shape(), "in"),
        ];
        for (tensor, shape, key) in shapes {
            let fits = shape
                .iter()
                .try_fold(1usize, |product, &size| product.checked_mul(size))
                .is_some();
            if !fits {
                let dims: Vec<String> = shape.iter().map(ToString::to_string).collect();
                let message = format!(
                    "the {tensor} tensor ({}) has more elements than fit in memory",
                    dims.join(" × ")
                );
                self.error_at(key, None, message);
            }
        }
    }

    fn error_at(&mut self, key: &str, axis: Option<usize>, message: String) {
        let span = self
            .found
            .get(key)
            .map(|argument| match (&argument.value, axis) {
                (Some(Value::Tuple { items, .. }), Some(axis)) if axis < items.len() => {
                    items[axis].span()
                }
                (Some(value), _) => value.span(),
                (None, _) => argument.key_span.clone(),
            });
        self.errors.push(Error { message, span });
    }

    fn input(&mut self) -> Option<Vec<usize>> {
        let Some(argument) = self.found.get("in").copied() else {
            self.errors.push(Error::anywhere(
                "missing `in`: the input size, e.g. `in = 5` or `in = (7, 6)`".into(),
            ));
            return None;
        };
        let value = self.value_of(argument)?;
        match value {
            Value::Integer { .. } => {
                let size = self.integer("in", value, 1)?;
                Some(vec![size, size])
            }
            Value::Tuple { items, .. } if (1..=3).contains(&items.len()) => {
                let sizes: Vec<Option<usize>> = items
                    .iter()
                    .map(|item| self.integer("in", item, 1))
                    .collect();
                sizes.into_iter().collect()
            }
            Value::Tuple { items, span } => {
                let message = format!(
                    "`in` ({value:#}) has {} axes; expected 1 to 3, e.g. `(11,)`, `(7, 6)` or `(4, 5, 3)`",
                    items.len()
                );
                self.errors.push(Error::at(span.clone(), message));
                None
            }
            Value::Word { span, .. } => {
                let message =
                    format!("`in` ({value:#}) must be an integer or a tuple of 1 to 3 integers");
                self.errors.push(Error::at(span.clone(), message));
                None
            }
        }
    }

    /// A per-axis value: an integer for every axis, or a tuple with one entry per axis.
    fn per_axis(
        &mut self,
        key: &'static str,
        rank: Option<usize>,
        default: Option<usize>,
        minimum: usize,
    ) -> Option<Vec<usize>> {
        let Some(argument) = self.found.get(key).copied() else {
            if default.is_none() {
                let message = format!("missing `{key}`: the kernel size, e.g. `{key} = 3`");
                self.errors.push(Error::anywhere(message));
            }
            return Some(vec![default?; rank?]);
        };
        let value = self.value_of(argument)?;
        match value {
            Value::Integer { .. } => {
                let size = self.integer(key, value, minimum)?;
                Some(vec![size; rank?])
            }
            Value::Tuple { items, span } => {
                let sizes: Vec<Option<usize>> = items
                    .iter()
                    .map(|item| self.integer(key, item, minimum))
                    .collect();
                let rank = rank?;
                if items.len() != rank {
                    let message = format!(
                        "`{key}` ({value:#}) has {} entries but `in` has {rank} axes",
                        items.len()
                    );
                    self.errors.push(Error::at(span.clone(), message));
                    return None;
                }
                sizes.into_iter().collect()
            }
            Value::Word { span, .. } => {
                let message =
                    format!("`{key}` ({value:#}) must be an integer or a tuple of integers");
                self.errors.push(Error::at(span.clone(), message));
                None
            }
        }
    }

    fn padding(&mut self, rank: Option<usize>) -> Option<PadRequest> {
        let Some(argument) = self.found.get("pad").copied() else {
            return Some(PadRequest::Explicit(vec![(0, 0); rank?]));
        };
        let value = self.value_of(argument)?;
        match value {
            Value::Word { word, span } => match word.as_str() {
                "same" => Some(PadRequest::Mode(Padding::Same)),
                "same_lower" => Some(PadRequest::Mode(Padding::SameLower)),
                "valid" => Some(PadRequest::Mode(Padding::Valid)),
                _ => {
                    let message = format!(
                        "`pad` ({value:#}) must be an integer, a tuple, `same`, `same_lower` or `valid`"
                    );
                    self.errors.push(Error::at(span.clone(), message));
                    None
                }
            },
            Value::Integer { .. } => {
                let amount = self.integer("pad", value, 0)?;
                Some(PadRequest::Explicit(vec![(amount, amount); rank?]))
            }
            Value::Tuple { items, span } => {
                let pads: Vec<Option<(usize, usize)>> =
                    items.iter().map(|item| self.pad_pair(item)).collect();
                let rank = rank?;
                if items.len() != rank {
                    let message = format!(
                        "`pad` ({value:#}) has {} entries but `in` has {rank} axes",
                        items.len()
                    );
                    self.errors.push(Error::at(span.clone(), message));
                    return None;
                }
                pads.into_iter()
                    .collect::<Option<_>>()
                    .map(PadRequest::Explicit)
            }
        }
    }

    /// One axis of a `pad` tuple: `n` for both sides, or `(before, after)`.
    fn pad_pair(&mut self, item: &Value<S>) -> Option<(usize, usize)> {
        match item {
            Value::Integer { .. } => self.integer("pad", item, 0).map(|n| (n, n)),
            Value::Tuple { items, .. } if items.len() == 2 => {
                let before = self.integer("pad", &items[0], 0);
                let after = self.integer("pad", &items[1], 0);
                Some((before?, after?))
            }
            _ => {
                let message = format!(
                    "`pad` entry ({item:#}) must be an integer or a pair `(before, after)`"
                );
                self.errors.push(Error::at(item.span(), message));
                None
            }
        }
    }

    fn count(&mut self, key: &'static str) -> Option<usize> {
        let Some(argument) = self.found.get(key).copied() else {
            return Some(1);
        };
        let value = self.value_of(argument)?;
        if let Value::Integer { .. } = value {
            self.integer(key, value, 1)
        } else {
            let message = format!("`{key}` ({value:#}) must be a positive integer");
            self.errors.push(Error::at(value.span(), message));
            None
        }
    }

    fn bias(&mut self) -> Option<bool> {
        let Some(argument) = self.found.get("bias").copied() else {
            return Some(false);
        };
        match &argument.value {
            None => Some(true),
            Some(Value::Word { word, .. }) if word == "true" => Some(true),
            Some(Value::Word { word, .. }) if word == "false" => Some(false),
            Some(value) => {
                let message = format!("`bias` ({value:#}) must be `true` or `false`");
                self.errors.push(Error::at(value.span(), message));
                None
            }
        }
    }

    fn value_of(&mut self, argument: &'a Argument<S>) -> Option<&'a Value<S>> {
        if argument.value.is_none() {
            let key = &argument.key;
            self.errors.push(Error::at(
                argument.key_span.clone(),
                format!("`{key}` needs a value, e.g. `{key} = 2`"),
            ));
        }
        argument.value.as_ref()
    }

    /// An integer entry of `key`, at least `minimum`.
    fn integer(&mut self, key: &str, value: &Value<S>, minimum: usize) -> Option<usize> {
        let (message, span) = match value {
            Value::Integer { digits, span } => match digits.parse::<u64>().map(usize::try_from) {
                Ok(Ok(number)) if number >= minimum => return Some(number),
                Ok(Ok(_)) if minimum == 1 => {
                    (format!("`{key}` ({digits}) must be at least 1"), span)
                }
                _ if digits.starts_with('-') => {
                    let kind = if minimum == 0 {
                        "zero or positive"
                    } else {
                        "positive"
                    };
                    (format!("`{key}` ({digits}) must be {kind}"), span)
                }
                _ => (format!("`{key}` ({digits}) is too large"), span),
            },
            Value::Word { span, .. } | Value::Tuple { span, .. } => (
                format!("`{key}` entry ({value:#}) must be an integer"),
                span,
            ),
        };
        self.errors.push(Error::at(span.clone(), message));
        None
    }
}

fn unknown_key_message(name: &str, extra_keys: &[&str]) -> String {
    let known = || KEYS.iter().chain(extra_keys).copied();
    let alias = ALIASES
        .iter()
        .find(|(alias, _)| alias.eq_ignore_ascii_case(name))
        .map(|&(_, key)| key);
    let close = known()
        .map(|key| (edit_distance(name, key), key))
        .filter(|&(distance, key)| distance <= 1 || (distance == 2 && key.len() > 3))
        .min()
        .map(|(_, key)| key);
    if let Some(key) = alias.or(close) {
        format!("unknown key `{name}`; did you mean `{key}`?")
    } else {
        let keys: Vec<String> = known().map(|key| format!("`{key}`")).collect();
        format!("unknown key `{name}`; expected one of {}", keys.join(", "))
    }
}

/// Levenshtein distance, for suggesting the key a typo meant.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The messages for `text`, each with the text its span covers.
    fn errors(text: &str) -> Vec<(String, Option<&str>)> {
        Spec::parse(text)
            .expect_err("the specification is invalid")
            .into_iter()
            .map(|error| (error.message, error.span.map(|span| &text[span])))
            .collect()
    }

    #[test]
    fn resolves_every_padding_form() {
        let pads = |text: &str| -> Vec<(usize, usize)> {
            let spec = Spec::parse(text).unwrap();
            spec.axes()
                .iter()
                .map(|a| (a.pad_before(), a.pad_after()))
                .collect()
        };
        assert_eq!(pads("in=5 k=3 pad=1"), [(1, 1), (1, 1)]);
        assert_eq!(pads("in=(5,6) k=3 pad=(2,0)"), [(2, 2), (0, 0)]);
        assert_eq!(pads("in=(5,6) k=3 pad=((1,0),(2,1))"), [(1, 0), (2, 1)]);
        assert_eq!(pads("in=(9,) k=3 pad=((2,1),)"), [(2, 1)]);
        // TensorFlow's rule: out = ⌈7 / 2⌉ = 4, total = 3·2 + 4 − 7 = 3.
        assert_eq!(pads("in=(7,) k=4 stride=2 pad=same"), [(1, 2)]);
        assert_eq!(pads("in=(7,) k=4 stride=2 pad=same_lower"), [(2, 1)]);
        // A stride past the kernel asks for negative padding, clamped to none.
        assert_eq!(pads("in=(10,) k=1 stride=4 pad=same"), [(0, 0)]);
        assert_eq!(pads("in=6 k=3 pad=valid"), [(0, 0), (0, 0)]);
    }

    #[test]
    fn sizes_and_remainders() {
        let spec = Spec::parse("in=(5,6) k=3 stride=2 cin=4 cout=6 groups=2 batch=3").unwrap();
        let remainders: Vec<usize> = spec.axes().iter().map(Axis::remainder).collect();
        assert_eq!(remainders, [0, 1]);
        assert_eq!(spec.input_shape(), [3, 4, 5, 6]);
        assert_eq!(spec.weight_shape(), [6, 2, 3, 3]);
        assert_eq!(spec.output_shape(), [3, 6, 2, 2]);
        assert_eq!(
            spec.to_string().parse::<String>().unwrap(),
            spec.to_string()
        );
        assert_eq!(Spec::parse(&spec.to_string()).unwrap(), spec);
    }

    #[test]
    fn explains_why_inputs_are_never_read() {
        let spec = Spec::parse("in=(8,) k=2 stride=3 pad=1").unwrap();
        // Padded positions 0..10 read by windows at 0, 3, 6: 0,1 3,4 6,7; 9 is the remainder.
        let unread: Vec<(usize, Unread)> = spec.axes()[0].unread().collect();
        assert_eq!(
            unread,
            [(1, Unread::Gap), (4, Unread::Gap), (7, Unread::Remainder)]
        );
    }

    #[test]
    fn errors_name_the_key_and_point_at_the_narrowest_token() {
        // (specification, the first error's message, the text its span covers)
        let table = [
            (
                "in=5 k=7",
                "`k` (7) is larger than the padded input (5) on axis 1",
                "7",
            ),
            (
                "in=(5,6) k=(3,7)",
                "`k` (7) is larger than the padded input (6) on axis 2",
                "7",
            ),
            (
                "in=5 k=3 dilation=3",
                "`k` (3) with `dilation` (3) spans 7, more than the padded input (5) on axis 1",
                "3",
            ),
            (
                "in=5 k=3 strde=2",
                "unknown key `strde`; did you mean `stride`?",
                "strde",
            ),
            (
                "in=5 k=3 kernel=3",
                "unknown key `kernel`; did you mean `k`?",
                "kernel",
            ),
            ("in=5 k=3 k=2", "duplicate `k` argument", "k"),
            ("in=5 k=3 stride=0", "`stride` (0) must be at least 1", "0"),
            ("in=5 k=-3", "`k` (-3) must be positive", "-3"),
            (
                "in=5 k=3 pad=(1,-1)",
                "`pad` (-1) must be zero or positive",
                "-1",
            ),
            (
                "in=(5,6) k=(3,3,3)",
                "`k` (3, 3, 3) has 3 entries but `in` has 2 axes",
                "(3,3,3)",
            ),
            (
                "in=5 k=3 cin=4 cout=3 groups=3",
                "`groups` (3) does not divide `cin` (4)",
                "3",
            ),
            (
                "in=5 k=3 pad=((1,2,3),(0,0))",
                "`pad` entry (1, 2, 3) must be an integer or a pair `(before, after)`",
                "(1,2,3)",
            ),
            (
                "in=5 k=3 pad=full",
                "`pad` (full) must be an integer, a tuple, `same`, `same_lower` or `valid`",
                "full",
            ),
            (
                "in=5 k=3 bias=yes",
                "`bias` (yes) must be `true` or `false`",
                "yes",
            ),
            (
                "in=99999999999999999999 k=3",
                "`in` (99999999999999999999) is too large",
                "99999999999999999999",
            ),
            (
                "in=(4000000000,4000000000,4000000000) k=1 cin=2",
                "the input tensor (1 × 2 × 4000000000 × 4000000000 × 4000000000) has more elements than fit in memory",
                "(4000000000,4000000000,4000000000)",
            ),
            (
                "in=(1,2,3,4) k=1",
                "`in` (1, 2, 3, 4) has 4 axes; expected 1 to 3, e.g. `(11,)`, `(7, 6)` or `(4, 5, 3)`",
                "(1,2,3,4)",
            ),
        ];
        for (text, message, span) in table {
            assert_eq!(errors(text)[0], (message.to_owned(), Some(span)), "{text}");
        }
        // A square input's two identical axes give one error, not two.
        assert_eq!(errors("in=5 k=7").len(), 1);
    }

    #[test]
    fn collects_independent_errors() {
        let all = errors("stride=0 cin=3 groups=2");
        let messages: Vec<&str> = all.iter().map(|(m, _)| m.as_str()).collect();
        assert_eq!(
            messages,
            [
                "missing `in`: the input size, e.g. `in = 5` or `in = (7, 6)`",
                "missing `k`: the kernel size, e.g. `k = 3`",
                "`stride` (0) must be at least 1",
            ]
        );
        let all = errors("in=5 k=3 cin=3 cout=5 groups=2");
        assert_eq!(all.len(), 2, "{all:?}");
    }

    #[test]
    fn huge_values_never_overflow() {
        for text in [
            "in=18446744073709551615 k=18446744073709551615",
            "in=5 k=3 dilation=18446744073709551615",
            "in=5 k=3 pad=18446744073709551615",
            "in=(5,) k=3 pad=((18446744073709551615,18446744073709551615),)",
            "in=5 k=2 dilation=18446744073709551615 pad=same",
            "in=18446744073709551615 k=1 cout=18446744073709551615",
        ] {
            assert!(Spec::parse(text).is_err(), "{text}");
        }
        // A padding of 2^63 − 1 on each side: huge but valid.
        assert!(Spec::parse("in=5 k=2 dilation=9223372036854775807 pad=same").is_ok());
        // One output, no padding: huge but valid.
        let spec = Spec::parse("in=5 k=3 stride=18446744073709551615 pad=same").unwrap();
        assert_eq!(spec.output_shape(), [1, 1, 1, 1]);
    }
}
