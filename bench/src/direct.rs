//! Direct loops with every size a const generic: what a careful user writes by hand for
//! one layer, and the baseline a compile-time specialised kernel has to beat.
//!
//! The loops are the textbook gathers, one write per output element, with the kindness a
//! careful user would add: in the forward pass and the weight gradient, the taps or
//! outputs that would land on padding are clipped from each loop's range rather than
//! tested inside it. The input gradient tests each tap (`reader`): with the stride a
//! constant that is a few instructions, and it measured 1.3–2× faster than stepping the
//! taps by the stride from a computed start (`step_by`), except on the 1-D layer (nine
//! taps, stride 4), where it is 15% slower. Bounds are constants after monomorphisation,
//! so the compiler may unroll and vectorise as it sees fit; it cannot vectorise the sums
//! themselves, since reassociating `f32` additions changes results.

use core::ops::Range;

use crate::Kernels;

/// A 2-D layer with symmetric zero padding per axis and no dilation.
///
/// The parameters, in order: input channels, output channels, groups, input height and
/// width, kernel height and width, stride along each axis, padding on both sides of each
/// axis. A 1-D layer is [`Conv1d`], this type with a height of 1.
#[derive(Clone, Copy, Debug, Default)]
pub struct Conv2d<
    const CIN: usize,
    const COUT: usize,
    const GROUPS: usize,
    const IN_H: usize,
    const IN_W: usize,
    const K_H: usize,
    const K_W: usize,
    const STRIDE_H: usize,
    const STRIDE_W: usize,
    const PAD_H: usize,
    const PAD_W: usize,
>;

/// A 1-D layer: input channels, output channels, groups, input length, kernel, stride,
/// padding on both sides.
pub type Conv1d<
    const CIN: usize,
    const COUT: usize,
    const GROUPS: usize,
    const IN: usize,
    const K: usize,
    const STRIDE: usize,
    const PAD: usize,
> = Conv2d<CIN, COUT, GROUPS, 1, IN, 1, K, 1, STRIDE, 0, PAD>;

/// The kernel taps `q` for which output `output` reads a real input element:
/// `0 ≤ output·stride + q − pad < input`.
#[inline]
fn taps(output: usize, input: usize, kernel: usize, stride: usize, pad: usize) -> Range<usize> {
    let start = output * stride;
    pad.saturating_sub(start)..(input + pad).saturating_sub(start).min(kernel)
}

/// The outputs `p` for which kernel tap `tap` reads a real input element (the same
/// inequality as [`taps`], solved for `p`), at most `outputs` of them.
#[inline]
fn outputs(tap: usize, input: usize, outputs: usize, stride: usize, pad: usize) -> Range<usize> {
    let first = pad.saturating_sub(tap).div_ceil(stride);
    let end = (input + pad)
        .saturating_sub(tap)
        .div_ceil(stride)
        .min(outputs);
    first..end.max(first)
}

/// The output position that reads input `input` through tap `tap`, if one does.
#[inline]
fn reader(input: usize, tap: usize, pad: usize, stride: usize, outputs: usize) -> Option<usize> {
    let reach = (input + pad).checked_sub(tap)?;
    (reach % stride == 0 && reach / stride < outputs).then_some(reach / stride)
}

impl<
    const CIN: usize,
    const COUT: usize,
    const GROUPS: usize,
    const IN_H: usize,
    const IN_W: usize,
    const K_H: usize,
    const K_W: usize,
    const STRIDE_H: usize,
    const STRIDE_W: usize,
    const PAD_H: usize,
    const PAD_W: usize,
> Conv2d<CIN, COUT, GROUPS, IN_H, IN_W, K_H, K_W, STRIDE_H, STRIDE_W, PAD_H, PAD_W>
{
    /// Evaluated wherever a pass is instantiated: a bad shape fails to compile.
    const VALID: () = assert!(
        GROUPS > 0
            && CIN.is_multiple_of(GROUPS)
            && COUT.is_multiple_of(GROUPS)
            && STRIDE_H > 0
            && STRIDE_W > 0
            && K_H > 0
            && K_W > 0
            && K_H <= IN_H + 2 * PAD_H
            && K_W <= IN_W + 2 * PAD_W,
        "the const parameters do not describe a valid layer"
    );
    /// Output height.
    pub const OUT_H: usize = (IN_H + 2 * PAD_H - K_H) / STRIDE_H + 1;
    /// Output width.
    pub const OUT_W: usize = (IN_W + 2 * PAD_W - K_W) / STRIDE_W + 1;
    const CIN_PER_GROUP: usize = CIN / GROUPS;
    const COUT_PER_GROUP: usize = COUT / GROUPS;
    const PLANE: usize = IN_H * IN_W;
    const OUT_PLANE: usize = Self::OUT_H * Self::OUT_W;
    const FILTER: usize = K_H * K_W;
    /// Elements of one batch entry's input.
    pub const INPUT_LEN: usize = CIN * Self::PLANE;
    /// Elements of the weight.
    pub const WEIGHT_LEN: usize = COUT * Self::CIN_PER_GROUP * Self::FILTER;
    /// Elements of one batch entry's output.
    pub const OUTPUT_LEN: usize = COUT * Self::OUT_PLANE;

    /// The batch size the slices describe.
    ///
    /// # Panics
    ///
    /// If a length is not the same whole number of batch entries, or the weight's is wrong.
    fn batch(inputs: usize, weights: usize, outputs: usize) -> usize {
        let () = Self::VALID;
        let batch = outputs / Self::OUTPUT_LEN;
        assert!(
            inputs == batch * Self::INPUT_LEN
                && outputs == batch * Self::OUTPUT_LEN
                && weights == Self::WEIGHT_LEN,
            "slice lengths (input {inputs}, weight {weights}, output {outputs}) do not fit the layer"
        );
        batch
    }

    /// `z = conv(x, w)`, gathering each output from its window.
    ///
    /// # Panics
    ///
    /// If the slice lengths do not fit the layer.
    pub fn forward_into(input: &[f32], weight: &[f32], output: &mut [f32]) {
        Self::batch(input.len(), weight.len(), output.len());
        let entries = input.chunks_exact(Self::INPUT_LEN);
        for (x, z) in entries.zip(output.chunks_exact_mut(Self::OUTPUT_LEN)) {
            for out_channel in 0..COUT {
                let group = out_channel / Self::COUT_PER_GROUP;
                let filters = &weight[out_channel * Self::CIN_PER_GROUP * Self::FILTER..]
                    [..Self::CIN_PER_GROUP * Self::FILTER];
                let planes = &x[group * Self::CIN_PER_GROUP * Self::PLANE..]
                    [..Self::CIN_PER_GROUP * Self::PLANE];
                let z = &mut z[out_channel * Self::OUT_PLANE..][..Self::OUT_PLANE];
                for row in 0..Self::OUT_H {
                    let rows = taps(row, IN_H, K_H, STRIDE_H, PAD_H);
                    for column in 0..Self::OUT_W {
                        let columns = taps(column, IN_W, K_W, STRIDE_W, PAD_W);
                        let mut sum = 0.0;
                        for (filter, plane) in filters
                            .chunks_exact(Self::FILTER)
                            .zip(planes.chunks_exact(Self::PLANE))
                        {
                            for ky in rows.clone() {
                                let y = row * STRIDE_H + ky - PAD_H;
                                for kx in columns.clone() {
                                    let x = column * STRIDE_W + kx - PAD_W;
                                    sum += filter[ky * K_W + kx] * plane[y * IN_W + x];
                                }
                            }
                        }
                        z[row * Self::OUT_W + column] = sum;
                    }
                }
            }
        }
    }

    /// `∂L/∂x`, gathering each input element's gradient from the outputs that read it.
    ///
    /// # Panics
    ///
    /// If the slice lengths do not fit the layer.
    pub fn grad_input_into(weight: &[f32], delta: &[f32], grad_input: &mut [f32]) {
        Self::batch(grad_input.len(), weight.len(), delta.len());
        let entries = grad_input.chunks_exact_mut(Self::INPUT_LEN);
        for (dx, delta) in entries.zip(delta.chunks_exact(Self::OUTPUT_LEN)) {
            for channel in 0..CIN {
                let group = channel / Self::CIN_PER_GROUP;
                let in_group = channel % Self::CIN_PER_GROUP;
                let dx = &mut dx[channel * Self::PLANE..][..Self::PLANE];
                for y in 0..IN_H {
                    for x in 0..IN_W {
                        let mut sum = 0.0;
                        for out_channel in
                            group * Self::COUT_PER_GROUP..(group + 1) * Self::COUT_PER_GROUP
                        {
                            let filter = &weight
                                [(out_channel * Self::CIN_PER_GROUP + in_group) * Self::FILTER..]
                                [..Self::FILTER];
                            let delta = &delta[out_channel * Self::OUT_PLANE..][..Self::OUT_PLANE];
                            for ky in 0..K_H {
                                // Output row `row` reads `y` through `ky` if
                                // row·stride + ky − pad = y.
                                let Some(row) = reader(y, ky, PAD_H, STRIDE_H, Self::OUT_H) else {
                                    continue;
                                };
                                for kx in 0..K_W {
                                    if let Some(column) =
                                        reader(x, kx, PAD_W, STRIDE_W, Self::OUT_W)
                                    {
                                        sum += delta[row * Self::OUT_W + column]
                                            * filter[ky * K_W + kx];
                                    }
                                }
                            }
                        }
                        dx[y * IN_W + x] = sum;
                    }
                }
            }
        }
    }

    /// `∂L/∂w`, each weight's gradient a correlation of the input with `δ`, summed over
    /// the batch.
    ///
    /// # Panics
    ///
    /// If the slice lengths do not fit the layer.
    pub fn grad_weight_into(input: &[f32], delta: &[f32], grad_weight: &mut [f32]) {
        Self::batch(input.len(), grad_weight.len(), delta.len());
        grad_weight.fill(0.0);
        let entries = input.chunks_exact(Self::INPUT_LEN);
        for (x, delta) in entries.zip(delta.chunks_exact(Self::OUTPUT_LEN)) {
            for out_channel in 0..COUT {
                let group = out_channel / Self::COUT_PER_GROUP;
                let delta = &delta[out_channel * Self::OUT_PLANE..][..Self::OUT_PLANE];
                let filters = &mut grad_weight[out_channel * Self::CIN_PER_GROUP * Self::FILTER..]
                    [..Self::CIN_PER_GROUP * Self::FILTER];
                let planes = &x[group * Self::CIN_PER_GROUP * Self::PLANE..]
                    [..Self::CIN_PER_GROUP * Self::PLANE];
                for (filter, plane) in filters
                    .chunks_exact_mut(Self::FILTER)
                    .zip(planes.chunks_exact(Self::PLANE))
                {
                    for ky in 0..K_H {
                        let rows = outputs(ky, IN_H, Self::OUT_H, STRIDE_H, PAD_H);
                        for kx in 0..K_W {
                            let columns = outputs(kx, IN_W, Self::OUT_W, STRIDE_W, PAD_W);
                            let mut sum = 0.0;
                            for row in rows.clone() {
                                let y = row * STRIDE_H + ky - PAD_H;
                                for column in columns.clone() {
                                    let x = column * STRIDE_W + kx - PAD_W;
                                    sum += delta[row * Self::OUT_W + column] * plane[y * IN_W + x];
                                }
                            }
                            filter[ky * K_W + kx] += sum;
                        }
                    }
                }
            }
        }
    }

    /// `z = conv(x, w)`, one kernel tap at a time over whole output rows: the innermost
    /// loop walks an output row and an input row together (contiguous at stride 1).
    ///
    /// # Panics
    ///
    /// If the slice lengths do not fit the layer.
    pub fn forward_rows(input: &[f32], weight: &[f32], output: &mut [f32]) {
        Self::batch(input.len(), weight.len(), output.len());
        output.fill(0.0);
        let entries = input.chunks_exact(Self::INPUT_LEN);
        for (x, z) in entries.zip(output.chunks_exact_mut(Self::OUTPUT_LEN)) {
            for (out_channel, z) in z.chunks_exact_mut(Self::OUT_PLANE).enumerate() {
                let group = out_channel / Self::COUT_PER_GROUP;
                for in_group in 0..Self::CIN_PER_GROUP {
                    let plane =
                        &x[(group * Self::CIN_PER_GROUP + in_group) * Self::PLANE..][..Self::PLANE];
                    let filter = &weight
                        [(out_channel * Self::CIN_PER_GROUP + in_group) * Self::FILTER..]
                        [..Self::FILTER];
                    for ky in 0..K_H {
                        for kx in 0..K_W {
                            let tap = filter[ky * K_W + kx];
                            let columns = outputs(kx, IN_W, Self::OUT_W, STRIDE_W, PAD_W);
                            let first = columns.start * STRIDE_W + kx - PAD_W;
                            for row in outputs(ky, IN_H, Self::OUT_H, STRIDE_H, PAD_H) {
                                let y = row * STRIDE_H + ky - PAD_H;
                                let z_row = &mut z[row * Self::OUT_W..][..Self::OUT_W];
                                let x_row = &plane[y * IN_W..][..IN_W];
                                for (z, x) in z_row[columns.clone()]
                                    .iter_mut()
                                    .zip(x_row[first..].iter().step_by(STRIDE_W))
                                {
                                    *z += tap * x;
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// `∂L/∂x`, scattering one kernel tap at a time over whole rows of `δ`.
    ///
    /// # Panics
    ///
    /// If the slice lengths do not fit the layer.
    pub fn grad_input_rows(weight: &[f32], delta: &[f32], grad_input: &mut [f32]) {
        Self::batch(grad_input.len(), weight.len(), delta.len());
        grad_input.fill(0.0);
        let entries = grad_input.chunks_exact_mut(Self::INPUT_LEN);
        for (dx, delta) in entries.zip(delta.chunks_exact(Self::OUTPUT_LEN)) {
            for (out_channel, delta) in delta.chunks_exact(Self::OUT_PLANE).enumerate() {
                let group = out_channel / Self::COUT_PER_GROUP;
                for in_group in 0..Self::CIN_PER_GROUP {
                    let plane = &mut dx[(group * Self::CIN_PER_GROUP + in_group) * Self::PLANE..]
                        [..Self::PLANE];
                    let filter = &weight
                        [(out_channel * Self::CIN_PER_GROUP + in_group) * Self::FILTER..]
                        [..Self::FILTER];
                    for ky in 0..K_H {
                        for kx in 0..K_W {
                            let tap = filter[ky * K_W + kx];
                            let columns = outputs(kx, IN_W, Self::OUT_W, STRIDE_W, PAD_W);
                            let first = columns.start * STRIDE_W + kx - PAD_W;
                            for row in outputs(ky, IN_H, Self::OUT_H, STRIDE_H, PAD_H) {
                                let y = row * STRIDE_H + ky - PAD_H;
                                let delta_row = &delta[row * Self::OUT_W..][..Self::OUT_W];
                                let grad_row = &mut plane[y * IN_W..][..IN_W];
                                for (dx, d) in grad_row[first..]
                                    .iter_mut()
                                    .step_by(STRIDE_W)
                                    .zip(&delta_row[columns.clone()])
                                {
                                    *dx += d * tap;
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// `∂L/∂w`, each tap's sum taken along whole rows of `δ` and of the input.
    ///
    /// # Panics
    ///
    /// If the slice lengths do not fit the layer.
    pub fn grad_weight_rows(input: &[f32], delta: &[f32], grad_weight: &mut [f32]) {
        Self::batch(input.len(), grad_weight.len(), delta.len());
        grad_weight.fill(0.0);
        let entries = input.chunks_exact(Self::INPUT_LEN);
        for (x, delta) in entries.zip(delta.chunks_exact(Self::OUTPUT_LEN)) {
            for (out_channel, delta) in delta.chunks_exact(Self::OUT_PLANE).enumerate() {
                let group = out_channel / Self::COUT_PER_GROUP;
                for in_group in 0..Self::CIN_PER_GROUP {
                    let plane =
                        &x[(group * Self::CIN_PER_GROUP + in_group) * Self::PLANE..][..Self::PLANE];
                    let filter = &mut grad_weight
                        [(out_channel * Self::CIN_PER_GROUP + in_group) * Self::FILTER..]
                        [..Self::FILTER];
                    for ky in 0..K_H {
                        for kx in 0..K_W {
                            let columns = outputs(kx, IN_W, Self::OUT_W, STRIDE_W, PAD_W);
                            let first = columns.start * STRIDE_W + kx - PAD_W;
                            let mut sum = 0.0;
                            for row in outputs(ky, IN_H, Self::OUT_H, STRIDE_H, PAD_H) {
                                let y = row * STRIDE_H + ky - PAD_H;
                                let d_row = &delta[row * Self::OUT_W..][..Self::OUT_W];
                                let x_row = &plane[y * IN_W..][..IN_W];
                                for (d, x) in d_row[columns.clone()]
                                    .iter()
                                    .zip(x_row[first..].iter().step_by(STRIDE_W))
                                {
                                    sum += d * x;
                                }
                            }
                            filter[ky * K_W + kx] += sum;
                        }
                    }
                }
            }
        }
    }
}

impl<
    const CIN: usize,
    const COUT: usize,
    const GROUPS: usize,
    const IN_H: usize,
    const IN_W: usize,
    const K_H: usize,
    const K_W: usize,
    const STRIDE_H: usize,
    const STRIDE_W: usize,
    const PAD_H: usize,
    const PAD_W: usize,
> Kernels for Conv2d<CIN, COUT, GROUPS, IN_H, IN_W, K_H, K_W, STRIDE_H, STRIDE_W, PAD_H, PAD_W>
{
    fn forward_into(&mut self, input: &[f32], weight: &[f32], output: &mut [f32]) {
        Self::forward_into(input, weight, output);
    }
    fn grad_input_into(&mut self, weight: &[f32], delta: &[f32], grad_input: &mut [f32]) {
        Self::grad_input_into(weight, delta, grad_input);
    }
    fn grad_weight_into(&mut self, input: &[f32], delta: &[f32], grad_weight: &mut [f32]) {
        Self::grad_weight_into(input, delta, grad_weight);
    }
}

/// A layer's passes in the other order a careful user writes: one kernel tap at a time over
/// whole rows ([`Conv2d::forward_rows`] and the others), where [`Conv2d`] itself gathers
/// one output element at a time. Which is faster depends on the layer; the suite runs both.
#[derive(Clone, Copy, Debug, Default)]
pub struct Rows<L>(pub L);

impl<
    const CIN: usize,
    const COUT: usize,
    const GROUPS: usize,
    const IN_H: usize,
    const IN_W: usize,
    const K_H: usize,
    const K_W: usize,
    const STRIDE_H: usize,
    const STRIDE_W: usize,
    const PAD_H: usize,
    const PAD_W: usize,
> Kernels
    for Rows<Conv2d<CIN, COUT, GROUPS, IN_H, IN_W, K_H, K_W, STRIDE_H, STRIDE_W, PAD_H, PAD_W>>
{
    fn forward_into(&mut self, input: &[f32], weight: &[f32], output: &mut [f32]) {
        Conv2d::<CIN, COUT, GROUPS, IN_H, IN_W, K_H, K_W, STRIDE_H, STRIDE_W, PAD_H, PAD_W>::forward_rows(input, weight, output);
    }
    fn grad_input_into(&mut self, weight: &[f32], delta: &[f32], grad_input: &mut [f32]) {
        Conv2d::<CIN, COUT, GROUPS, IN_H, IN_W, K_H, K_W, STRIDE_H, STRIDE_W, PAD_H, PAD_W>::grad_input_rows(weight, delta, grad_input);
    }
    fn grad_weight_into(&mut self, input: &[f32], delta: &[f32], grad_weight: &mut [f32]) {
        Conv2d::<CIN, COUT, GROUPS, IN_H, IN_W, K_H, K_W, STRIDE_H, STRIDE_W, PAD_H, PAD_W>::grad_weight_rows(input, delta, grad_weight);
    }
}
