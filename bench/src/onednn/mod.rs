//! oneDNN's convolution primitives (Debian's `libdnnl`, v2.x, through its C API): forward,
//! backward-data (`dx`) and backward-weights (`dw`), in `f32`, on one thread or the count
//! [`set_threads`] sets; for a transposed layer, its deconvolution primitives of the same
//! three kinds (oneDNN's name for a transposed convolution).
//!
//! Each pass is one primitive created for the layer's exact shape, with oneDNN free to pick
//! the memory formats of its operands (`dnnl_format_tag_any`): on AVX-512 machines it picks
//! blocked layouts (channels in blocks of 16). The user's data are plain row-major
//! (`nchw`/`ncw`, `oihw`/`oiw`, `goihw`/`goiw` for groups; a transposed layer's weights
//! `iohw`/`iow`, PyTorch's layout), as for every other baseline, and
//! reorders convert between the two. A framework built on oneDNN keeps tensors in the
//! blocked layout between calls (PyTorch's `to_mkldnn` tensors, its cached blocked weights),
//! so the timed call is [`Onednn::execute`]: the primitive alone on operands already in its
//! layout, then `dnnl_stream_wait`. [`Onednn::load`] (plain → blocked) and the reorder of the
//! result back to plain happen outside the timed region; the [`Kernels`] implementation does
//! all three, so that the checks see the timed primitive's own results. The algorithm is
//! `dnnl_convolution_direct` (`dnnl_deconvolution_direct`), not Winograd (which would not be
//! exact): what PyTorch asks for.
//!
//! Threads: Debian builds libdnnl with OpenMP (`DNNL_CPU_RUNTIME == DNNL_RUNTIME_OMP`,
//! libgomp), whose pool is sized from `OMP_NUM_THREADS` when the runtime starts; the
//! `kernels` bench sets it to 1 before the program starts (it runs itself again, as for
//! candle) and asserts [`threads`]` == 1`; the `threads` bench sets it per benchmark with
//! [`set_threads`].
//!
//! The unsafe code of the suite lives here, the `allow` below covering the submodules too:
//! hand-written declarations of the C functions used (`ffi`), and owned handles that
//! destroy themselves on drop (`primitive`). The declarations
//! follow `/usr/include/oneapi/dnnl/dnnl.h` of 2.6.3; the two descriptor structures are
//! passed as opaque buffers of the sizes measured there (`sizeof`, 696 and 5976 bytes), which
//! is why [`Onednn::new`] refuses any major version but 2 (v3 replaced these functions).
#![allow(
    unsafe_code,
    reason = "the FFI to libdnnl; each call's contract is stated at its `SAFETY` comment"
)]

mod ffi;
mod geometry;
mod primitive;

use core::fmt;

use conv_runtime::Spec;

use crate::Kernels;
use geometry::Geometry;
use primitive::{Owned, Pass, PrimitiveDesc, descriptor};

/// A oneDNN call that failed: the function and the `dnnl_status_t` it returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    /// The C function.
    pub call: &'static str,
    /// Its status, or a description when the failure is not a status.
    pub status: String,
}

impl fmt::Display for Error {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "`{}` failed: {}", self.call, self.status)
    }
}

impl std::error::Error for Error {}

/// `Ok` for `dnnl_success`, else the call and the status's name.
fn check(call: &'static str, status: ffi::Status) -> Result<(), Error> {
    // The names of `dnnl_status_t`'s values, in order from `dnnl_success` = 0.
    const NAMES: [&str; 8] = [
        "success",
        "out_of_memory",
        "invalid_arguments",
        "unimplemented",
        "iterator_ends",
        "runtime_error",
        "not_required",
        "invalid_graph",
    ];
    if status == 0 {
        return Ok(());
    }
    let name = usize::try_from(status).ok().and_then(|i| NAMES.get(i));
    Err(Error {
        call,
        status: name.map_or_else(
            || format!("status {status}"),
            |name| format!("`dnnl_{name}`"),
        ),
    })
}

/// The library's version and CPU threading runtime, as it reports them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    /// `major.minor.patch`.
    pub version: (i32, i32, i32),
    /// The CPU runtime's name: `OpenMP` for Debian's build.
    pub runtime: &'static str,
}

/// `dnnl_version()`.
pub fn version() -> Version {
    // SAFETY: `dnnl_version` takes nothing and returns a pointer to a static structure.
    let version = unsafe { &*ffi::dnnl_version() };
    Version {
        version: (version.major, version.minor, version.patch),
        runtime: match version.cpu_runtime {
            0 => "none",
            1 => "sequential",
            ffi::RUNTIME_OMP => "OpenMP",
            4 => "TBB",
            8 => "threadpool",
            _ => "other",
        },
    }
}

/// Runs oneDNN's later primitives on `threads` threads (`omp_set_num_threads`, for the
/// calling thread's parallel regions): the `threads` bench compares thread counts.
pub fn set_threads(threads: usize) {
    let threads = i32::try_from(threads).unwrap_or(i32::MAX);
    // SAFETY: `omp_set_num_threads` takes a positive count and only changes the settings
    // of the calling thread's next parallel regions.
    unsafe { ffi::omp_set_num_threads(threads) };
}

/// The threads oneDNN's OpenMP runtime would run a primitive on: `omp_get_max_threads()`.
pub fn threads() -> usize {
    // SAFETY: `omp_get_max_threads` takes nothing and only reads the runtime's settings.
    let threads = unsafe { ffi::omp_get_max_threads() };
    usize::try_from(threads).unwrap_or(0)
}

/// Which pass to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    /// `z = conv(x, w)`.
    Forward,
    /// `∂L/∂x`.
    GradInput,
    /// `∂L/∂w`.
    GradWeight,
}

/// A layer's three oneDNN primitives, with their operands in the layouts they chose.
pub struct Onednn {
    // Declared before the stream and the engine they were made on, so dropped first.
    forward: Pass,
    grad_input: Pass,
    grad_weight: Pass,
    stream: Owned,
    engine: Owned,
}

impl Onednn {
    /// The primitives for `spec`, on a new CPU engine.
    ///
    /// # Errors
    ///
    /// If libdnnl's major version is not 2, if the layer has 3 spatial axes (not
    /// declared here), or if oneDNN refuses a descriptor.
    pub fn new(spec: &Spec) -> Result<Onednn, Error> {
        let found = version();
        if found.version.0 != 2 {
            return Err(Error {
                call: "dnnl_version",
                status: format!("version {:?}; these declarations are v2.x's", found.version),
            });
        }
        let axes = spec.axes();
        // Our weights are `[cout][cin/groups][k…]`, a transposed layer's `[cin][cout/groups][k…]`;
        // oneDNN's weight dimensions are `[o, i, k…]` for both its convolution and its
        // deconvolution, `o` the pass's output channels, `[g, o/g, i/g, k…]` with groups. The
        // tag says in which order they lie in memory: `oihw`, or `iohw` for a transposed
        // layer's, and its reorder into oneDNN's layout happens at `load`, outside the timed
        // call.
        let grouped = spec.groups() > 1;
        let (data_tag, weight_tag) = match (axes.len(), grouped, spec.transposed()) {
            (1, false, false) => (ffi::NCW, ffi::NCW),
            (1, true, false) => (ffi::NCW, ffi::NCHW),
            (2, false, false) => (ffi::NCHW, ffi::NCHW),
            (2, true, false) => (ffi::NCHW, ffi::GOIHW),
            (1, false, true) => (ffi::NCW, ffi::IOW),
            (1, true, true) => (ffi::NCW, ffi::GIOW),
            (2, false, true) => (ffi::NCHW, ffi::IOHW),
            (2, true, true) => (ffi::NCHW, ffi::GIOHW),
            _ => {
                return Err(Error {
                    call: "Onednn::new",
                    status: format!("only 1-D and 2-D layers are declared, not `{spec}`"),
                });
            }
        };
        let groups = grouped.then_some(spec.groups());
        let weight_shape: Vec<usize> = groups
            .into_iter()
            .chain([spec.out_channels_per_group(), spec.in_channels_per_group()])
            .chain(axes.iter().map(conv_runtime::Axis::kernel))
            .collect();
        let plain = [
            descriptor(&spec.input_shape(), data_tag)?,
            descriptor(&weight_shape, weight_tag)?,
            descriptor(&spec.output_shape(), data_tag)?,
        ];
        let input_any = descriptor(&spec.input_shape(), ffi::FORMAT_ANY)?;
        let weight_any = descriptor(&weight_shape, ffi::FORMAT_ANY)?;
        let output_any = descriptor(&spec.output_shape(), ffi::FORMAT_ANY)?;

        let geometry = Geometry::new(spec)?;
        let any = [input_any, weight_any, output_any];

        let engine = Owned::new(
            "dnnl_engine_create",
            ffi::dnnl_engine_destroy,
            // SAFETY: writes a new CPU engine (the only one, index 0) to `out`.
            |out| unsafe { ffi::dnnl_engine_create(out, ffi::CPU, 0) },
        )?;
        let stream = Owned::new(
            "dnnl_stream_create",
            ffi::dnnl_stream_destroy,
            // SAFETY: a live engine; writes a new in-order stream to `out`.
            |out| unsafe { ffi::dnnl_stream_create(out, engine.handle, ffi::STREAM_DEFAULT_FLAGS) },
        )?;

        let op = geometry.operation(Which::Forward, &any)?;
        let forward_desc = PrimitiveDesc::convolution(&op, &engine, None)?;
        let op = geometry.operation(Which::GradInput, &any)?;
        let grad_input_desc = PrimitiveDesc::convolution(&op, &engine, Some(&forward_desc))?;
        let op = geometry.operation(Which::GradWeight, &any)?;
        let grad_weight_desc = PrimitiveDesc::convolution(&op, &engine, Some(&forward_desc))?;

        let forward = Pass::new(Which::Forward, &forward_desc, &plain, &engine)?;
        let grad_input = Pass::new(Which::GradInput, &grad_input_desc, &plain, &engine)?;
        let grad_weight = Pass::new(Which::GradWeight, &grad_weight_desc, &plain, &engine)?;
        Ok(Onednn {
            forward,
            grad_input,
            grad_weight,
            stream,
            engine,
        })
    }

    fn pass(&self, which: Which) -> &Pass {
        match which {
            Which::Forward => &self.forward,
            Which::GradInput => &self.grad_input,
            Which::GradWeight => &self.grad_weight,
        }
    }

    /// The implementation oneDNN chose for each pass (forward, `dx`, `dw`), as its
    /// verbose mode names it: `brg:avx512_core`, `jit:avx512_core`, `gemm:jit`, ….
    pub fn implementations(&self) -> [&str; 3] {
        [Which::Forward, Which::GradInput, Which::GradWeight]
            .map(|which| self.pass(which).implementation.as_str())
    }

    /// Reorders the data of every pass (`x`, `w`, `δ`, flat and row-major like the other
    /// baselines') into the layouts the primitives chose: outside the timed region.
    ///
    /// # Errors
    ///
    /// If a length does not fit the layer, or a reorder fails.
    pub fn load(&mut self, input: &[f32], weight: &[f32], delta: &[f32]) -> Result<(), Error> {
        self.forward.load(input, weight, &self.stream)?;
        self.grad_input.load(weight, delta, &self.stream)?;
        self.grad_weight.load(input, delta, &self.stream)
    }

    /// Runs one pass's primitive on the operands [`Onednn::load`] left, and waits for it:
    /// the timed call.
    ///
    /// # Errors
    ///
    /// If oneDNN reports an error.
    pub fn execute(&self, which: Which) -> Result<(), Error> {
        self.pass(which).execute(&self.stream)
    }

    /// Loads one pass's inputs, runs it and stores its result in the plain layout.
    fn run(&mut self, which: Which, first: &[f32], second: &[f32], result: &mut [f32]) {
        let stream = &self.stream;
        let pass = match which {
            Which::Forward => &mut self.forward,
            Which::GradInput => &mut self.grad_input,
            Which::GradWeight => &mut self.grad_weight,
        };
        pass.load(first, second, stream)
            .and_then(|()| pass.execute(stream))
            .and_then(|()| pass.output.store(result, stream))
            .unwrap_or_else(|error| panic!("oneDNN's {which:?} pass: {error}"));
    }
}

impl fmt::Debug for Onednn {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Onednn")
            .field("implementations", &self.implementations())
            .field("engine", &self.engine.handle)
            .finish_non_exhaustive()
    }
}

/// Each call reorders its inputs, runs the primitive and reorders the result back, for the
/// checks; the benchmarks time [`Onednn::execute`] alone.
///
/// # Panics
///
/// If oneDNN fails, or a slice does not fit the layer.
impl Kernels for Onednn {
    fn forward_into(&mut self, input: &[f32], weight: &[f32], output: &mut [f32]) {
        self.run(Which::Forward, input, weight, output);
    }
    fn grad_input_into(&mut self, weight: &[f32], delta: &[f32], grad_input: &mut [f32]) {
        self.run(Which::GradInput, weight, delta, grad_input);
    }
    fn grad_weight_into(&mut self, input: &[f32], delta: &[f32], grad_weight: &mut [f32]) {
        self.run(Which::GradWeight, input, delta, grad_weight);
    }
}
