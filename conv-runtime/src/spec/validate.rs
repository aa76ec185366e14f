//! The one validation of a specification, shared by the command-line tool and the macro:
//! one pass over the arguments that collects every independent error.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use super::Spec;
use super::axis::{Axis, Padding};
use super::error::Error;
use super::suggest::unknown_key_message;
use super::syntax::{Argument, KEYS, Value};

/// The amount of padding asked for before the axes' sizes are known.
enum PadRequest {
    Explicit(Vec<(usize, usize)>),
    Mode(Padding),
}

/// One pass over the arguments that collects every independent error.
pub(super) struct Validation<'a, S> {
    found: BTreeMap<&'static str, &'a Argument<S>>,
    errors: Vec<Error<S>>,
}

impl<'a, S: Clone> Validation<'a, S> {
    pub(super) fn new(arguments: &'a [Argument<S>], extra_keys: &[&str]) -> Self {
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

    pub(super) fn run(mut self) -> Result<Spec, Vec<Error<S>>> {
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
        let bias = self.flag("bias");
        let transposed = self.flag("transposed");
        let output_padding = self.per_axis("output_padding", rank, Some(0), 0);
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
            Some(transposed),
            Some(output_padding),
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
            transposed,
            output_padding,
        )
        else {
            return Err(self.errors);
        };
        if !self.transposition_fits(transposed, &padding) {
            return Err(self.errors);
        }

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
            let key = (input, kernel, stride, dilation, pads, output_padding[index]);
            if failed.contains(&key) {
                continue;
            }
            let resolved = if transposed {
                let geometry = (kernel, stride, dilation, output_padding[index]);
                self.transposed_axis(index, input, geometry, pads.unwrap_or_default())
            } else {
                self.axis(index, input, kernel, stride, dilation, &padding)
            };
            match resolved {
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
            transposed,
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
        let effective = self.effective_kernel(index, kernel, dilation)?;
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
            output_padding: 0,
            output: (padded - effective) / stride + 1,
            transposed: false,
        })
    }

    /// Resolves and checks one axis of a transposed layer, whose output is
    /// `(in − 1)·s + d·(k − 1) + output_padding + 1` positions before `pad` crops both ends;
    /// `None` after recording why it is invalid.
    fn transposed_axis(
        &mut self,
        index: usize,
        input: usize,
        (kernel, stride, dilation, output_padding): (usize, usize, usize, usize),
        (pad_before, pad_after): (usize, usize),
    ) -> Option<Axis> {
        let number = index + 1;
        let effective = self.effective_kernel(index, kernel, dilation)?;
        if output_padding >= stride && output_padding >= dilation {
            let message = format!(
                "`output_padding` ({output_padding}) must be smaller than `stride` ({stride}) or `dilation` ({dilation}) on axis {number}"
            );
            self.error_at("output_padding", Some(index), message);
            return None;
        }
        let Some(uncropped) = (input - 1)
            .checked_mul(stride)
            .and_then(|reach| reach.checked_add(effective))
            .and_then(|reach| reach.checked_add(output_padding))
        else {
            let message = format!(
                "`in` ({input}) with `stride` ({stride}) makes the output overflow on axis {number}"
            );
            self.error_at("in", Some(index), message);
            return None;
        };
        let output = pad_before
            .checked_add(pad_after)
            .and_then(|crop| uncropped.checked_sub(crop))
            .filter(|&output| output >= 1);
        let Some(output) = output else {
            let message = format!(
                "`pad` ({pad_before}, {pad_after}) leaves no output on axis {number}: the transposed layer's output has {uncropped} positions before `pad` crops it"
            );
            self.error_at("pad", Some(index), message);
            return None;
        };
        Some(Axis {
            input,
            kernel,
            stride,
            dilation,
            pad_before,
            pad_after,
            output_padding,
            output,
            transposed: true,
        })
    }

    /// `d·(k − 1) + 1`, the span of the dilated kernel; `None` after recording that it
    /// overflows.
    fn effective_kernel(&mut self, index: usize, kernel: usize, dilation: usize) -> Option<usize> {
        let effective = (kernel - 1)
            .checked_mul(dilation)
            .and_then(|span| span.checked_add(1));
        if effective.is_none() {
            let message = format!(
                "`k` ({kernel}) with `dilation` ({dilation}) spans more positions than fit in memory on axis {}",
                index + 1
            );
            self.error_at("dilation", Some(index), message);
        }
        effective
    }

    /// Whether the keys that only a transposed layer takes, or that it refuses, fit the
    /// layer: `output_padding` needs `transposed`, and PyTorch defines no padding words for a
    /// transposed layer. Records an error for each that does not.
    fn transposition_fits(&mut self, transposed: bool, padding: &PadRequest) -> bool {
        let mut fits = true;
        if let (false, Some(argument)) = (transposed, self.found.get("output_padding")) {
            let value = argument.value.as_ref();
            let written = value.map(ToString::to_string).unwrap_or_default();
            let message = format!(
                "`output_padding` ({written}) needs `transposed`: only a transposed layer pads its output"
            );
            let span = value.map_or_else(|| argument.key_span.clone(), Value::span);
            self.errors.push(Error::at(span, message));
            fits = false;
        }
        if let (true, PadRequest::Mode(mode)) = (transposed, padding) {
            let word = mode.word().unwrap_or_default();
            let message = format!(
                "`pad` ({word}) is not defined for a transposed layer (PyTorch's `ConvTranspose` has no padding words); give the amounts, e.g. `pad = 1`"
            );
            self.error_at("pad", None, message);
            fits = false;
        }
        fits
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

    /// A flag such as `bias`: absent is false, bare is true, or `= true | false`.
    fn flag(&mut self, key: &str) -> Option<bool> {
        let Some(argument) = self.found.get(key).copied() else {
            return Some(false);
        };
        match &argument.value {
            None => Some(true),
            Some(Value::Word { word, .. }) if word == "true" => Some(true),
            Some(Value::Word { word, .. }) if word == "false" => Some(false),
            Some(value) => {
                let message = format!("`{key}` ({value:#}) must be `true` or `false`");
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
