//! A layer's geometry as oneDNN takes it, and the convolution (or, for a transposed layer,
//! deconvolution) descriptor of each pass.

use core::ptr;

use conv_runtime::Spec;

use super::{Error, Which, check, ffi};

/// A layer's strides, dilations and padding, one per spatial axis, as oneDNN takes them.
pub(super) struct Geometry {
    strides: ffi::Dims,
    /// oneDNN counts the elements skipped between taps: 0 for none.
    dilations: ffi::Dims,
    before: ffi::Dims,
    after: ffi::Dims,
    /// A deconvolution: oneDNN's name for a transposed convolution.
    transposed: bool,
}

/// `value` as an `int64_t`.
fn signed(value: usize) -> Result<i64, Error> {
    i64::try_from(value).map_err(|_| Error {
        call: "Onednn::new",
        status: format!("{value} does not fit in `int64_t`"),
    })
}

impl Geometry {
    pub(super) fn new(spec: &Spec) -> Result<Geometry, Error> {
        let mut geometry = Geometry {
            strides: [0; 12],
            dilations: [0; 12],
            before: [0; 12],
            after: [0; 12],
            transposed: spec.transposed(),
        };
        for (i, axis) in spec.axes().iter().enumerate() {
            geometry.strides[i] = signed(axis.stride())?;
            geometry.dilations[i] = signed(axis.dilation().saturating_sub(1))?;
            geometry.before[i] = signed(axis.pad_before())?;
            // oneDNN has no output padding: a deconvolution's output is
            // `(in − 1)·s − pad_l − pad_r + d·(k − 1) + 1`, so the `output_padding` positions
            // PyTorch adds at the end are taken off the padding after (which may go negative).
            geometry.after[i] = signed(axis.pad_after())? - signed(axis.output_padding())?;
        }
        Ok(geometry)
    }

    /// The convolution or deconvolution descriptor of one pass, on `[input, weight,
    /// output]`'s descriptors.
    pub(super) fn operation(
        &self,
        which: Which,
        [input, weight, output]: &[ffi::MemoryDesc; 3],
    ) -> Result<ffi::ConvolutionDesc, Error> {
        let mut op = ffi::ConvolutionDesc([0; 5976]);
        let (op_ptr, input, weight, output) = (
            &raw mut op,
            ptr::from_ref(input),
            ptr::from_ref(weight),
            ptr::from_ref(output),
        );
        let (strides, dilations) = (self.strides.as_ptr(), self.dilations.as_ptr());
        let (before, after) = (self.before.as_ptr(), self.after.as_ptr());
        // Every pass's descriptor ends with the same geometry; the call is named for errors.
        macro_rules! init {
            ($function:ident($($argument:expr),*)) => {
                (
                    stringify!($function),
                    ffi::$function($($argument,)* strides, dilations, before, after),
                )
            };
        }
        // SAFETY: `op` is writable; the memory descriptors are initialised and only read;
        // the four arrays hold `DNNL_MAX_NDIMS` values, of which one per spatial axis is
        // read. No bias, and no bias gradient. A deconvolution descriptor is a convolution
        // descriptor (`typedef`).
        let (call, status) = unsafe {
            match (which, self.transposed) {
                (Which::Forward, false) => init!(dnnl_dilated_convolution_forward_desc_init(
                    op_ptr,
                    ffi::FORWARD_TRAINING,
                    ffi::CONVOLUTION_DIRECT,
                    input,
                    weight,
                    ptr::null(),
                    output
                )),
                (Which::GradInput, false) => {
                    init!(dnnl_dilated_convolution_backward_data_desc_init(
                        op_ptr,
                        ffi::CONVOLUTION_DIRECT,
                        input,
                        weight,
                        output
                    ))
                }
                (Which::GradWeight, false) => {
                    init!(dnnl_dilated_convolution_backward_weights_desc_init(
                        op_ptr,
                        ffi::CONVOLUTION_DIRECT,
                        input,
                        weight,
                        ptr::null(),
                        output
                    ))
                }
                (Which::Forward, true) => init!(dnnl_dilated_deconvolution_forward_desc_init(
                    op_ptr,
                    ffi::FORWARD_TRAINING,
                    ffi::DECONVOLUTION_DIRECT,
                    input,
                    weight,
                    ptr::null(),
                    output
                )),
                (Which::GradInput, true) => {
                    init!(dnnl_dilated_deconvolution_backward_data_desc_init(
                        op_ptr,
                        ffi::DECONVOLUTION_DIRECT,
                        input,
                        weight,
                        output
                    ))
                }
                (Which::GradWeight, true) => {
                    init!(dnnl_dilated_deconvolution_backward_weights_desc_init(
                        op_ptr,
                        ffi::DECONVOLUTION_DIRECT,
                        input,
                        weight,
                        ptr::null(),
                        output
                    ))
                }
            }
        };
        check(call, status)?;
        Ok(op)
    }
}
