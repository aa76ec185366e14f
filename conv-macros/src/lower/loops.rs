//! Loop kernels: nested loops whose bounds and offsets are constants read off the runtime's
//! [`Spec`]. Every kernel walks planes (one batch entry, one channel) and, inside them, rows
//! of the last axis; the innermost loop zips two contiguous rows, so it has no branch, no
//! bounds check and, at stride 1, vectorises:
//!
//! ```text
//! for (z, x) in z_row[lo..hi].iter_mut().zip(x_row[first..].iter()) {
//!     z.accumulate_product(tap, x);
//! }
//! ```
//!
//! `lo..hi` are the outputs whose tap reads real input and `first` the input the first of
//! them reads, from [`conv_runtime::Axis::outputs_reading`]; the other axes skip a tap that
//! lands on padding once per row.

use conv_runtime::{Axis, Spec};
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

fn number(value: usize) -> Literal {
    Literal::usize_unsuffixed(value)
}

/// The chunk sizes the channel loops walk a tensor in: a sample (one batch entry), a
/// group's channels, one channel's plane, one filter.
struct Chunks {
    input_sample: Literal,
    output_sample: Literal,
    input_group: Literal,
    output_group: Literal,
    weight_group: Literal,
    filter: Literal,
    input_plane: Literal,
    output_plane: Literal,
    taps: Literal,
}

impl Chunks {
    fn of(spec: &Spec) -> Self {
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
}

/// Where a row starts inside its plane, and where the last axis's taps start; `None` for
/// 0, in a one-axis layer.
struct Row {
    output: Option<TokenStream>,
    input: Option<TokenStream>,
    taps: Option<TokenStream>,
}

impl Row {
    /// The index of the last axis's tap `q`.
    fn tap(&self) -> TokenStream {
        match &self.taps {
            None => quote!(q),
            Some(taps) => quote!(#taps + q),
        }
    }
}

/// `ROWS[q] = (lo, hi, first)` for each tap `q` of the last axis.
fn rows_constant(axis: &Axis) -> TokenStream {
    let rows = (0..axis.kernel()).map(|tap| {
        let outputs = axis.outputs_reading(tap);
        let first = axis.source(outputs.start, tap).unwrap_or(0);
        let (lo, hi, first) = (number(outputs.start), number(outputs.end), number(first));
        quote!((#lo, #hi, #first))
    });
    let kernel = number(axis.kernel());
    quote! {
        const ROWS: [(usize, usize, usize); #kernel] = [#(#rows),*];
    }
}

/// `a * factor`, or `a` when the factor is 1; `compound` puts a sum in parentheses.
fn scaled(a: &TokenStream, factor: usize, compound: bool) -> TokenStream {
    match (factor, compound) {
        (1, _) => a.clone(),
        (_, false) => {
            let factor = number(factor);
            quote!(#a * #factor)
        }
        (_, true) => {
            let factor = number(factor);
            quote!((#a) * #factor)
        }
    }
}

/// The spatial loops around `row`: for every axis but the last, each output position and
/// each tap, skipping taps that read padding.
fn spatial(outer: &[Axis], last: &Axis, lower_row: impl Fn(&Row) -> TokenStream) -> TokenStream {
    // Flat indices of the outer axes, built outside in: `(p0 * 6 + p1) * 4`.
    let mut flat: Option<[TokenStream; 3]> = None;
    for (index, axis) in outer.iter().enumerate() {
        let [position, source, tap] = ["p", "i", "q"].map(|name| format_ident!("{name}{index}"));
        flat = Some(match flat {
            None => [quote!(#position), quote!(#source), quote!(#tap)],
            Some([positions, sources, taps]) => {
                let compound = index > 1;
                let positions = scaled(&positions, axis.output(), compound);
                let sources = scaled(&sources, axis.input(), compound);
                let taps = scaled(&taps, axis.kernel(), compound);
                [
                    quote!(#positions + #position),
                    quote!(#sources + #source),
                    quote!(#taps + #tap),
                ]
            }
        });
    }
    let compound = outer.len() > 1;
    let row = match flat {
        None => Row {
            output: None,
            input: None,
            taps: None,
        },
        Some([p, i, q]) => Row {
            output: Some(scaled(&p, last.output(), compound)),
            input: Some(scaled(&i, last.input(), compound)),
            taps: Some(scaled(&q, last.kernel(), compound)),
        },
    };
    let mut body = lower_row(&row);
    for (index, axis) in outer.iter().enumerate().rev() {
        let [p, i, q] = ["p", "i", "q"].map(|name| format_ident!("{name}{index}"));
        // Typed bounds: `checked_sub` needs to know the integer type.
        let (output, kernel, input) = (
            Literal::usize_suffixed(axis.output()),
            Literal::usize_suffixed(axis.kernel()),
            number(axis.input()),
        );
        let reach = {
            let (p, q) = (
                scaled(&quote!(#p), axis.stride(), false),
                scaled(&quote!(#q), axis.dilation(), false),
            );
            quote!(#p + #q)
        };
        let source = if axis.pad_before() == 0 {
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
        };
        body = quote! {
            for #p in 0..#output {
                for #q in 0..#kernel {
                    #source
                    #body
                }
            }
        };
    }
    body
}

/// `&plane[start..][..len]`, or a plain prefix when the row starts at 0.
fn row_slice(
    plane: &TokenStream,
    start: Option<&TokenStream>,
    len: usize,
    mutable: bool,
) -> TokenStream {
    let len = number(len);
    let mutability = mutable.then(|| quote!(mut));
    match start {
        None => quote!(&#mutability #plane[..#len]),
        Some(start) => quote!(&#mutability #plane[#start..][..#len]),
    }
}

/// The axes but the last, the last, and how its inputs are stepped through: `.iter()`,
/// `.iter().step_by(s)`, or their `_mut` forms.
fn split(spec: &Spec, mutable: bool) -> Option<(&[Axis], &Axis, TokenStream)> {
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

/// `forward_into`'s body: `z[n, o, p] = b[o] + Σ_{c, q} w[o, c, q] · x[n, c, p·s + q·d − pad]`.
pub(super) fn forward(spec: &Spec) -> TokenStream {
    let Chunks {
        input_sample,
        output_sample,
        input_group,
        output_group,
        weight_group,
        filter,
        input_plane,
        output_plane,
        taps,
    } = Chunks::of(spec);
    // A validated specification has 1 to 3 axes.
    let Some((outer, axis, step)) = split(spec, false) else {
        return TokenStream::new();
    };
    let rows = rows_constant(axis);
    let k = number(axis.kernel());
    let nest = spatial(outer, axis, |row| {
        let x_row = row_slice(&quote!(x_plane), row.input.as_ref(), axis.input(), false);
        let z_row = row_slice(&quote!(z_plane), row.output.as_ref(), axis.output(), true);
        let tap = row.tap();
        quote! {
            let x_row = #x_row;
            let z_row = #z_row;
            for q in 0..#k {
                let (lo, hi, first) = ROWS[q];
                let tap = &w_taps[#tap];
                for (z, x) in z_row[lo..hi].iter_mut().zip(x_row[first..]#step) {
                    z.accumulate_product(tap, x);
                }
            }
        }
    });
    // With a bias, each output plane starts from its channel's bias.
    let (bias_groups, bias_pattern, bias_zip, start) = if spec.bias() {
        let out_per_group = number(spec.out_channels_per_group());
        (
            quote!(.zip(b.chunks_exact(#out_per_group))),
            quote!(((x_group, z_group), w_group), b_group),
            quote!(.zip(b_group)),
            (quote!(((z_plane, w_filter), b)), quote!(b.clone())),
        )
    } else {
        (
            TokenStream::new(),
            quote!((x_group, z_group), w_group),
            TokenStream::new(),
            (quote!((z_plane, w_filter)), quote!(T::zero())),
        )
    };
    let (plane_pattern, start) = start;
    quote! {
        #rows
        for (x_sample, z_sample) in x.chunks_exact(#input_sample).zip(z.chunks_exact_mut(#output_sample)) {
            let groups = x_sample
                .chunks_exact(#input_group)
                .zip(z_sample.chunks_exact_mut(#output_group))
                .zip(w.chunks_exact(#weight_group))
                #bias_groups;
            for (#bias_pattern) in groups {
                let filters = z_group
                    .chunks_exact_mut(#output_plane)
                    .zip(w_group.chunks_exact(#filter))
                    #bias_zip;
                for #plane_pattern in filters {
                    z_plane.fill(#start);
                    for (x_plane, w_taps) in x_group.chunks_exact(#input_plane).zip(w_filter.chunks_exact(#taps)) {
                        #nest
                    }
                }
            }
        }
    }
}

/// `grad_input_into`'s body: every product of the forward pass scattered back,
/// `dx[n, c, p·s + q·d − pad] += δ[n, o, p] · w[o, c, q]`, one input plane at a time.
pub(super) fn grad_input(spec: &Spec) -> TokenStream {
    let Chunks {
        input_sample,
        output_sample,
        input_group,
        output_group,
        weight_group,
        filter,
        input_plane,
        output_plane,
        taps,
    } = Chunks::of(spec);
    // A validated specification has 1 to 3 axes.
    let Some((outer, axis, step)) = split(spec, true) else {
        return TokenStream::new();
    };
    let rows = rows_constant(axis);
    let k = number(axis.kernel());
    let nest = spatial(outer, axis, |row| {
        let gradient_row = row_slice(&quote!(dx_plane), row.input.as_ref(), axis.input(), true);
        let delta_row = row_slice(&quote!(d_plane), row.output.as_ref(), axis.output(), false);
        let tap = row.tap();
        quote! {
            let dx_row = #gradient_row;
            let d_row = #delta_row;
            for q in 0..#k {
                let (lo, hi, first) = ROWS[q];
                let tap = &w_taps[#tap];
                for (dx, d) in dx_row[first..]#step.zip(&d_row[lo..hi]) {
                    dx.accumulate_product(d, tap);
                }
            }
        }
    });
    quote! {
        #rows
        dx.fill(T::zero());
        for (dx_sample, d_sample) in dx.chunks_exact_mut(#input_sample).zip(dz.chunks_exact(#output_sample)) {
            let groups = dx_sample
                .chunks_exact_mut(#input_group)
                .zip(d_sample.chunks_exact(#output_group))
                .zip(w.chunks_exact(#weight_group));
            for ((dx_group, d_group), w_group) in groups {
                for (d_plane, w_filter) in d_group.chunks_exact(#output_plane).zip(w_group.chunks_exact(#filter)) {
                    for (dx_plane, w_taps) in dx_group.chunks_exact_mut(#input_plane).zip(w_filter.chunks_exact(#taps)) {
                        #nest
                    }
                }
            }
        }
    }
}

/// `grad_weight_into`'s body: `dw[o, c, q] = Σ_{n, p} δ[n, o, p] · x[n, c, p·s + q·d − pad]`,
/// each tap's sum running along a row of δ and a row of the input, so the input streams.
pub(super) fn grad_weight(spec: &Spec) -> TokenStream {
    let Chunks {
        input_sample,
        output_sample,
        input_group,
        output_group,
        weight_group,
        filter,
        input_plane,
        output_plane,
        taps,
    } = Chunks::of(spec);
    // A validated specification has 1 to 3 axes.
    let Some((outer, axis, step)) = split(spec, false) else {
        return TokenStream::new();
    };
    let rows = rows_constant(axis);
    let k = number(axis.kernel());
    let nest = spatial(outer, axis, |row| {
        let input_row = row_slice(&quote!(x_plane), row.input.as_ref(), axis.input(), false);
        let delta_row = row_slice(&quote!(d_plane), row.output.as_ref(), axis.output(), false);
        let tap = row.tap();
        quote! {
            let x_row = #input_row;
            let d_row = #delta_row;
            for q in 0..#k {
                let (lo, hi, first) = ROWS[q];
                let tap = &mut dw_taps[#tap];
                for (d, x) in d_row[lo..hi].iter().zip(x_row[first..]#step) {
                    tap.accumulate_product(d, x);
                }
            }
        }
    });
    quote! {
        #rows
        dw.fill(T::zero());
        for (x_sample, d_sample) in x.chunks_exact(#input_sample).zip(dz.chunks_exact(#output_sample)) {
            let groups = x_sample
                .chunks_exact(#input_group)
                .zip(d_sample.chunks_exact(#output_group))
                .zip(dw.chunks_exact_mut(#weight_group));
            for ((x_group, d_group), dw_group) in groups {
                for (d_plane, dw_filter) in d_group.chunks_exact(#output_plane).zip(dw_group.chunks_exact_mut(#filter)) {
                    for (x_plane, dw_taps) in x_group.chunks_exact(#input_plane).zip(dw_filter.chunks_exact_mut(#taps)) {
                        #nest
                    }
                }
            }
        }
    }
}

/// `grad_bias_into`'s body: `db[o] = Σ_{n, p} δ[n, o, p]`.
pub(super) fn grad_bias(spec: &Spec) -> TokenStream {
    let Chunks {
        output_sample,
        output_plane,
        ..
    } = Chunks::of(spec);
    quote! {
        db.fill(T::zero());
        for d_sample in dz.chunks_exact(#output_sample) {
            for (db, d_plane) in db.iter_mut().zip(d_sample.chunks_exact(#output_plane)) {
                for d in d_plane {
                    db.accumulate(d);
                }
            }
        }
    }
}
