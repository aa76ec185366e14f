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
