//! What every loop kernel walks: the chunks of each tensor, the index variables of the
//! axes but the last, and where their rows start.

use conv_runtime::{Axis, Spec};
use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};

use crate::lower::tokens::{nest, number, scaled};

/// The chunk sizes the channel loops walk a tensor in: a sample (one batch entry), a
/// group's channels, one channel's plane, one filter.
pub(super) struct Chunks {
    pub(super) input_sample: Literal,
    pub(super) output_sample: Literal,
    pub(super) input_group: Literal,
    pub(super) output_group: Literal,
    pub(super) weight_group: Literal,
    pub(super) filter: Literal,
    pub(super) input_plane: Literal,
    pub(super) output_plane: Literal,
    pub(super) taps: Literal,
}

impl Chunks {
    pub(super) fn of(spec: &Spec) -> Self {
        let plane = |size: fn(&Axis) -> usize| spec.axes().iter().map(size).product::<usize>();
        let (input, output, taps) = (plane(Axis::input), plane(Axis::output), plane(Axis::kernel));
        let (in_group, out_group) = (spec.in_channels_per_group(), spec.out_channels_per_group());
        Chunks {
            input_sample: number(spec.in_channels() * input),
            output_sample: number(spec.out_channels() * output),
            input_group: number(in_group * input),
            output_group: number(out_group * output),
            weight_group: number(out_group * in_group * taps),
            filter: number(in_group * taps),
            input_plane: number(input),
            output_plane: number(output),
            taps: number(taps),
        }
    }

    /// `(input_sample, output_sample, input_group, output_group, weight_group)`: the
    /// samples and the groups every pass but the bias gradient walks.
    pub(super) fn walk(&self) -> (Literal, Literal, Literal, Literal, Literal) {
        (
            self.input_sample.clone(),
            self.output_sample.clone(),
            self.input_group.clone(),
            self.output_group.clone(),
            self.weight_group.clone(),
        )
    }
}

/// The variables of the axes but the last, one per axis: `p0`, `p1`.
pub(super) fn names(prefix: &str, outer: &[Axis]) -> Vec<Ident> {
    (0..outer.len())
        .map(|index| format_ident!("{prefix}{index}"))
        .collect()
}

/// Where a row starts in its plane: `(p0 * 6 + p1) * 4` for the outer indices `p0, p1`,
/// the outer extents `_, 6` and rows of 4; `None` in a one-axis layer.
pub(super) fn row_start(variables: &[Ident], extents: &[usize], row: usize) -> Option<TokenStream> {
    let mut flat: Option<TokenStream> = None;
    for (variable, &extent) in variables.iter().zip(extents) {
        flat = Some(match flat {
            None => quote!(#variable),
            Some(flat) => {
                let flat = scaled(&flat, extent);
                quote!((#flat + #variable))
            }
        });
    }
    flat.map(|flat| scaled(&flat, row))
}

/// `&plane[start..][..len]`, or a plain prefix when the row starts at 0.
pub(super) fn row_slice(
    plane: &str,
    start: Option<&TokenStream>,
    len: usize,
    mutable: bool,
) -> TokenStream {
    let plane = format_ident!("{plane}");
    let len = number(len);
    let mutability = mutable.then(|| quote!(mut));
    match start {
        None => quote!(&#mutability #plane[..#len]),
        Some(start) => quote!(&#mutability #plane[#start..][..#len]),
    }
}

/// `let i = p·s + q·d − pad;` for each axis but the last, skipping a tap that reads padding.
pub(super) fn sources(
    outer: &[Axis],
    positions: &[Ident],
    taps: &[Ident],
    inputs: &[Ident],
) -> TokenStream {
    let lets = outer.iter().enumerate().map(|(index, axis)| {
        let (p, q, i) = (&positions[index], &taps[index], &inputs[index]);
        let reach = {
            let (p, q) = (
                scaled(&quote!(#p), axis.stride()),
                scaled(&quote!(#q), axis.dilation()),
            );
            quote!(#p + #q)
        };
        let input = number(axis.input());
        if axis.pad_before() == 0 {
            quote! {
                let #i = #reach;
                if #i >= #input {
                    continue;
                }
            }
        } else {
            let pad = number(axis.pad_before());
            quote! {
                let Some(#i) = (#reach).checked_sub(#pad).filter(|&i| i < #input) else {
                    continue;
                };
            }
        }
    });
    quote!(#(#lets)*)
}

/// `let p = (i + pad − q·d) / s;` for each axis but the last, skipping a tap through which
/// no output reads input `i`.
pub(super) fn targets(
    outer: &[Axis],
    inputs: &[Ident],
    taps: &[Ident],
    positions: &[Ident],
) -> TokenStream {
    let lets = outer.iter().enumerate().map(|(index, axis)| {
        let (i, q, p) = (&inputs[index], &taps[index], &positions[index]);
        let padded = if axis.pad_before() == 0 {
            quote!(#i)
        } else {
            let pad = number(axis.pad_before());
            quote!((#i + #pad))
        };
        let reach = scaled(&quote!(#q), axis.dilation());
        let output = number(axis.output());
        let stride = axis.stride();
        let divide = (stride > 1).then(|| {
            let stride = number(stride);
            quote!(.filter(|reach| reach.is_multiple_of(#stride)).map(|reach| reach / #stride))
        });
        quote! {
            let Some(#p) = #padded.checked_sub(#reach)#divide.filter(|&p| p < #output) else {
                continue;
            };
        }
    });
    quote!(#(#lets)*)
}

/// The axes but the last, the last, and how a row of the last axis is stepped through at
/// its stride: `.iter()`, `.iter().step_by(s)`, or their `_mut` forms.
pub(super) fn split(spec: &Spec, mutable: bool) -> Option<(&[Axis], &Axis, TokenStream)> {
    let (last, outer) = spec.axes().split_last()?;
    let iter = if mutable {
        quote!(iter_mut)
    } else {
        quote!(iter)
    };
    let step = if last.stride() == 1 {
        quote!(.#iter())
    } else {
        let stride = number(last.stride());
        quote!(.#iter().step_by(#stride))
    };
    Some((outer, last, step))
}

/// What every pass over rows starts from: the chunks of its tensors, the index variables
/// of the axes but the last, the last axis and how a row of it is stepped through
/// ([`split`]); `None` without axes, which a validated specification always has (1 to 3).
pub(super) fn pass(spec: &Spec, mutable: bool) -> Option<(Chunks, Outer<'_>, &Axis, TokenStream)> {
    let (outer, axis, step) = split(spec, mutable)?;
    Some((Chunks::of(spec), Outer::new(outer), axis, step))
}

/// The index variables of the axes but the last and their extents: positions `p…` over
/// the output, taps `q…` over the kernel, sources `i…` over the input.
pub(super) struct Outer<'a> {
    pub(super) axes: &'a [Axis],
    pub(super) positions: Vec<Ident>,
    pub(super) taps: Vec<Ident>,
    pub(super) inputs: Vec<Ident>,
    pub(super) output_extents: Vec<usize>,
    pub(super) kernel_extents: Vec<usize>,
    pub(super) input_extents: Vec<usize>,
}

impl<'a> Outer<'a> {
    pub(super) fn new(axes: &'a [Axis]) -> Self {
        let extents = |size: fn(&Axis) -> usize| axes.iter().map(size).collect();
        Outer {
            axes,
            positions: names("p", axes),
            taps: names("q", axes),
            inputs: names("i", axes),
            output_extents: extents(Axis::output),
            kernel_extents: extents(Axis::kernel),
            input_extents: extents(Axis::input),
        }
    }

    /// `tensor`'s index variables and their extents.
    fn of(&self, tensor: Tensor) -> (&[Ident], &[usize]) {
        match tensor {
            Tensor::Output => (&self.positions, &self.output_extents),
            Tensor::Kernel => (&self.taps, &self.kernel_extents),
            Tensor::Input => (&self.inputs, &self.input_extents),
        }
    }

    /// The rows of a plane of `tensor`, indexed by this tensor's variables.
    pub(super) fn row(
        &self,
        plane: &str,
        tensor: Tensor,
        last: &Axis,
        mutable: bool,
    ) -> TokenStream {
        let (variables, extents) = self.of(tensor);
        let len = match tensor {
            Tensor::Output => last.output(),
            Tensor::Kernel => last.kernel(),
            Tensor::Input => last.input(),
        };
        let start = row_start(variables, extents, len);
        row_slice(plane, start.as_ref(), len, mutable)
    }

    /// `body` in a loop over each of `tensor`'s variables, the first outermost.
    pub(super) fn nest(&self, tensor: Tensor, body: TokenStream) -> TokenStream {
        let (variables, extents) = self.of(tensor);
        nest(variables, extents.iter().copied(), body)
    }
}

/// Which tensor a row belongs to, for its index variables.
#[derive(Clone, Copy)]
pub(super) enum Tensor {
    Output,
    Kernel,
    Input,
}
