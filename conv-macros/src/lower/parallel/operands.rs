//! A task's operands: the statements that bind each input of a task's layer to its part
//! of the whole pass's, read in place where it is one run, gathered where it is several.

use conv_runtime::derive::Section;
use conv_runtime::{Axis, Spec, Tensor};
use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use super::Split;
use crate::lower::Array;
use crate::lower::tokens::{linear, number};

impl Split<'_> {
    /// The statement that binds input `name` to its slice for a task of `count` units
    /// from `first` in sample `n`: a run of the tensor, or its runs in every sample (or
    /// every filter) gathered into a vector.
    pub(super) fn operand(&self, name: &str, task: &Spec, tiled: bool) -> TokenStream {
        let spec = self.spec;
        let (input_plane, output_plane, taps) = planes(spec);
        let (cin, cout) = (spec.in_channels_per_group(), spec.out_channels_per_group());
        let (input_sample, output_sample) = (
            spec.in_channels() * input_plane,
            spec.out_channels() * output_plane,
        );
        // A unit's channels along each channel axis: a group's, or one.
        let (unit_in, unit_out) = if self.grouped { (cin, cout) } else { (1, 1) };
        let (n, first) = (format_ident!("n"), format_ident!("first"));
        let run = |tensor: &str, sample: usize, per_unit: usize, len: usize| {
            let tensor = format_ident!("{tensor}");
            let terms: Vec<(&Ident, usize)> = [(&n, sample), (&first, per_unit)]
                .into_iter()
                .filter(|(_, factor)| *factor != 0)
                .collect();
            let (start, len) = (linear(&terms), number(len));
            quote!(let #tensor = &#tensor[#start..][..#len];)
        };
        let gather = |tensor: &str, per_unit: usize, len: usize, stride: usize, runs: usize| {
            let tensor = format_ident!("{tensor}");
            let [per_unit, len, stride, runs] = [per_unit, len, stride, runs].map(number);
            quote! {
                let #tensor = &::convsym::__private::par::gather(#tensor, first * #per_unit, #len, #stride, #runs);
            }
        };
        let grouped = self.grouped;
        let batch = spec.batch();
        match (self.section, name) {
            (Section::Forward, "x") if tiled => self.tile_rows(
                task,
                input_sample,
                if grouped { unit_in * input_plane } else { 0 },
            ),
            (Section::GradInput, "dz") if tiled => self.tile_rows(
                task,
                output_sample,
                if grouped { cout * output_plane } else { 0 },
            ),
            (Section::Forward, "x") if grouped => {
                run("x", input_sample, unit_in * input_plane, task.input_len())
            }
            (Section::Forward, "x") => run("x", input_sample, 0, task.input_len()),
            (Section::Forward, "b") => run("b", 0, unit_out, task.bias_len()),
            (Section::Forward, _) => run("w", 0, unit_out * cin * taps, task.weight_len()),
            (Section::GradInput, "w") if grouped => {
                run("w", 0, unit_out * cin * taps, task.weight_len())
            }
            // The task's input channels of every filter.
            (Section::GradInput, "w") => gather(
                "w",
                taps,
                task.in_channels() * taps,
                spec.in_channels() * taps,
                spec.out_channels(),
            ),
            (Section::GradInput, _) if grouped => {
                run("dz", output_sample, cout * output_plane, task.output_len())
            }
            (Section::GradInput, _) => run("dz", output_sample, 0, task.output_len()),
            // One sample: the task's groups of the input are one run, read where they are.
            (_, "x") if grouped && batch == 1 => {
                run("x", 0, unit_in * input_plane, task.input_len())
            }
            (_, "x") if grouped => gather(
                "x",
                unit_in * input_plane,
                task.input_len() / batch,
                input_sample,
                batch,
            ),
            (_, "x") => TokenStream::new(),
            // One sample: the task's channels of δ are one run, read where they are.
            _ if batch == 1 => run("dz", 0, unit_out * output_plane, task.output_len()),
            _ => gather(
                "dz",
                unit_out * output_plane,
                task.output_len() / batch,
                output_sample,
                batch,
            ),
        }
    }

    /// The statement that binds the tensor a row tile of `task` reads by rows (the input
    /// for the forward pass, δ for the input gradient) to its rows of each of the task's
    /// channels, from row `STARTS[tile]`, in sample `n` (`sample` elements apart) from
    /// unit `first` (`per_unit` elements apart).
    fn tile_rows(&self, task: &Spec, sample: usize, per_unit: usize) -> TokenStream {
        let (input_plane, output_plane, _) = planes(self.spec);
        let axis = &self.spec.axes()[0];
        let (tensor, plane, axis_rows, channels, len) = match self.section {
            Section::Forward => (
                "x",
                input_plane,
                axis.input(),
                task.in_channels(),
                task.input_len(),
            ),
            _ => (
                "dz",
                output_plane,
                axis.output(),
                task.out_channels(),
                task.output_len(),
            ),
        };
        let tensor = format_ident!("{tensor}");
        let (n, first) = (format_ident!("n"), format_ident!("first"));
        let terms: Vec<(&Ident, usize)> = [(&n, sample), (&first, per_unit)]
            .into_iter()
            .filter(|(_, factor)| *factor != 0)
            .collect();
        let start = linear(&terms);
        let row = plane / axis_rows;
        if self.whole {
            // Every tile is the same layer: its rows of the tensor from the padded
            // tensor's, the padding's rows zeros (`tiles::crop`).
            let sizes = [len / channels / row, row, plane, channels].map(number);
            return quote! {
                let #tensor = &::convsym::__private::par::gather_rows(#tensor, #start, STARTS[tile], [#(#sizes),*]);
            };
        }
        let [row, plane, run, channels] = [row, plane, len / channels, channels].map(number);
        quote! {
            let #tensor = &::convsym::__private::par::gather(#tensor, #start + STARTS[tile] * #row, #run, #plane, #channels);
        }
    }
}

/// The array `name` of a task's layer `task`.
pub(super) fn operand_array(name: &Ident, task: &Spec) -> Array {
    let (tensor, len) = match name.to_string().as_str() {
        "x" => (Tensor::Input, task.input_len()),
        "w" => (Tensor::Weight, task.weight_len()),
        "b" => (Tensor::Bias, task.bias_len()),
        "dz" => (Tensor::Delta, task.output_len()),
        "z" => (Tensor::Output, task.output_len()),
        "dx" => (Tensor::GradInput, task.input_len()),
        _ => (Tensor::GradWeight, task.weight_len()),
    };
    Array::new(&name.to_string(), tensor, len)
}

/// Elements in an input plane, an output plane and a filter of one channel.
pub(super) fn planes(spec: &Spec) -> (usize, usize, usize) {
    let product = |extent: fn(&Axis) -> usize| spec.axes().iter().map(extent).product();
    (
        product(Axis::input),
        product(Axis::output),
        product(Axis::kernel),
    )
}
