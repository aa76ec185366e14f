//! oneDNN's convolution primitives (Debian's `libdnnl`, v2.x, through its C API): forward,
//! backward-data (`dx`) and backward-weights (`dw`), in `f32` on one thread.
//!
//! Each pass is one primitive created for the layer's exact shape, with oneDNN free to pick
//! the memory formats of its operands (`dnnl_format_tag_any`): on AVX-512 machines it picks
//! blocked layouts (channels in blocks of 16). The user's data are plain row-major
//! (`nchw`/`ncw`, `oihw`/`oiw`, `goihw`/`goiw` for groups), as for every other baseline, and
//! reorders convert between the two. A framework built on oneDNN keeps tensors in the
//! blocked layout between calls (PyTorch's `to_mkldnn` tensors, its cached blocked weights),
//! so the timed call is [`Onednn::execute`]: the primitive alone on operands already in its
//! layout, then `dnnl_stream_wait`. [`Onednn::load`] (plain → blocked) and the reorder of the
//! result back to plain happen outside the timed region; the [`Kernels`] implementation does
//! all three, so that the checks see the timed primitive's own results. The algorithm is
//! `dnnl_convolution_direct`, not Winograd (which would not be exact): what PyTorch asks
//! for.
//!
//! Threads: Debian builds libdnnl with OpenMP (`DNNL_CPU_RUNTIME == DNNL_RUNTIME_OMP`,
//! libgomp), whose pool is sized from `OMP_NUM_THREADS` when the runtime starts; the
//! `kernels` bench sets it to 1 before the program starts (it runs itself again, as for
//! candle) and asserts [`threads`]` == 1`.
//!
//! The unsafe code of the suite lives here: hand-written declarations of the dozen C
//! functions used, and owned handles that destroy themselves on drop. The declarations
//! follow `/usr/include/oneapi/dnnl/dnnl.h` of 2.6.3; the two descriptor structures are
//! passed as opaque buffers of the sizes measured there (`sizeof`, 696 and 5976 bytes), which
//! is why [`Onednn::new`] refuses any major version but 2 (v3 replaced these functions).
#![allow(
    unsafe_code,
    reason = "the FFI to libdnnl; each call's contract is stated at its `SAFETY` comment"
)]

use core::ffi::{CStr, c_char, c_int};
use core::fmt;
use core::ptr;

use conv_runtime::Spec;

use crate::Kernels;

/// Declarations from `dnnl.h`, `dnnl_types.h` and `dnnl_config.h` (oneDNN 2.6.3).
mod ffi {
    use core::ffi::{c_char, c_int, c_uint, c_void};

    /// `dnnl_status_t`; `dnnl_success` is 0.
    pub type Status = c_int;
    /// `dnnl_dims_t`: `int64_t[DNNL_MAX_NDIMS]`, `DNNL_MAX_NDIMS` = 12.
    pub type Dims = [i64; 12];
    /// `dnnl_engine_t`, `dnnl_stream_t`, `dnnl_memory_t`, `dnnl_primitive_t`,
    /// `dnnl_primitive_desc_t`: pointers to opaque structures.
    pub type Handle = *mut c_void;

    /// `dnnl_memory_desc_t`, a plain structure the caller owns (696 bytes, 8-aligned).
    #[derive(Clone, Copy)]
    #[repr(C, align(8))]
    pub struct MemoryDesc(pub [u8; 696]);

    /// `dnnl_convolution_desc_t`, a plain structure the caller owns (5976 bytes, 8-aligned).
    #[repr(C, align(8))]
    pub struct ConvolutionDesc(pub [u8; 5976]);

    /// `dnnl_exec_arg_t`.
    #[repr(C)]
    pub struct ExecArg {
        pub arg: c_int,
        pub memory: Handle,
    }

    /// `dnnl_version_t`.
    #[repr(C)]
    pub struct Version {
        pub major: c_int,
        pub minor: c_int,
        pub patch: c_int,
        pub hash: *const c_char,
        pub cpu_runtime: c_uint,
        pub gpu_runtime: c_uint,
    }

    pub const F32: c_int = 3; // dnnl_f32
    pub const FORMAT_ANY: c_int = 1; // dnnl_format_tag_any
    pub const NCW: c_int = 4; // dnnl_ncw, also dnnl_oiw
    pub const NCHW: c_int = 5; // dnnl_nchw, also dnnl_oihw and dnnl_goiw
    pub const GOIHW: c_int = 7; // dnnl_goihw
    pub const FORWARD_TRAINING: c_int = 64; // dnnl_forward_training
    pub const CONVOLUTION_DIRECT: c_int = 1; // dnnl_convolution_direct
    pub const CPU: c_int = 1; // dnnl_cpu
    pub const STREAM_DEFAULT_FLAGS: c_uint = 1; // dnnl_stream_default_flags
    pub const RUNTIME_OMP: c_uint = 2; // DNNL_RUNTIME_OMP
    /// `DNNL_MEMORY_ALLOCATE`: `(void *)(size_t)-1`.
    pub const MEMORY_ALLOCATE: Handle = usize::MAX as Handle;

    pub const ARG_SRC: c_int = 1; // also DNNL_ARG_FROM
    pub const ARG_DST: c_int = 17; // also DNNL_ARG_TO
    pub const ARG_WEIGHTS: c_int = 33;
    pub const ARG_DIFF_SRC: c_int = 129;
    pub const ARG_DIFF_DST: c_int = 145;
    pub const ARG_DIFF_WEIGHTS: c_int = 161;

    pub const QUERY_IMPL_INFO_STR: c_int = 8;
    pub const QUERY_SRC_MD: c_int = 129;
    pub const QUERY_DIFF_SRC_MD: c_int = 130;
    pub const QUERY_WEIGHTS_MD: c_int = 131;
    pub const QUERY_DIFF_WEIGHTS_MD: c_int = 132;
    pub const QUERY_DST_MD: c_int = 133;
    pub const QUERY_DIFF_DST_MD: c_int = 134;

    #[link(name = "dnnl")]
    unsafe extern "C" {
        pub fn dnnl_version() -> *const Version;
        pub fn dnnl_engine_create(engine: *mut Handle, kind: c_int, index: usize) -> Status;
        pub fn dnnl_engine_destroy(engine: Handle) -> Status;
        pub fn dnnl_stream_create(stream: *mut Handle, engine: Handle, flags: c_uint) -> Status;
        pub fn dnnl_stream_wait(stream: Handle) -> Status;
        pub fn dnnl_stream_destroy(stream: Handle) -> Status;
        pub fn dnnl_memory_desc_init_by_tag(
            memory_desc: *mut MemoryDesc,
            ndims: c_int,
            dims: *const i64,
            data_type: c_int,
            tag: c_int,
        ) -> Status;
        pub fn dnnl_memory_desc_get_size(memory_desc: *const MemoryDesc) -> usize;
        pub fn dnnl_memory_create(
            memory: *mut Handle,
            memory_desc: *const MemoryDesc,
            engine: Handle,
            handle: Handle,
        ) -> Status;
        pub fn dnnl_memory_get_data_handle(memory: Handle, handle: *mut Handle) -> Status;
        pub fn dnnl_memory_destroy(memory: Handle) -> Status;
        pub fn dnnl_dilated_convolution_forward_desc_init(
            conv_desc: *mut ConvolutionDesc,
            prop_kind: c_int,
            alg_kind: c_int,
            src_desc: *const MemoryDesc,
            weights_desc: *const MemoryDesc,
            bias_desc: *const MemoryDesc,
            dst_desc: *const MemoryDesc,
            strides: *const i64,
            dilates: *const i64,
            padding_l: *const i64,
            padding_r: *const i64,
        ) -> Status;
        pub fn dnnl_dilated_convolution_backward_data_desc_init(
            conv_desc: *mut ConvolutionDesc,
            alg_kind: c_int,
            diff_src_desc: *const MemoryDesc,
            weights_desc: *const MemoryDesc,
            diff_dst_desc: *const MemoryDesc,
            strides: *const i64,
            dilates: *const i64,
            padding_l: *const i64,
            padding_r: *const i64,
        ) -> Status;
        pub fn dnnl_dilated_convolution_backward_weights_desc_init(
            conv_desc: *mut ConvolutionDesc,
            alg_kind: c_int,
            src_desc: *const MemoryDesc,
            diff_weights_desc: *const MemoryDesc,
            diff_bias_desc: *const MemoryDesc,
            diff_dst_desc: *const MemoryDesc,
            strides: *const i64,
            dilates: *const i64,
            padding_l: *const i64,
            padding_r: *const i64,
        ) -> Status;
        pub fn dnnl_primitive_desc_create(
            primitive_desc: *mut Handle,
            op_desc: *const c_void,
            attr: Handle,
            engine: Handle,
            hint_forward_primitive_desc: Handle,
        ) -> Status;
        pub fn dnnl_reorder_primitive_desc_create(
            reorder_primitive_desc: *mut Handle,
            src_desc: *const MemoryDesc,
            src_engine: Handle,
            dst_desc: *const MemoryDesc,
            dst_engine: Handle,
            attr: Handle,
        ) -> Status;
        pub fn dnnl_primitive_desc_query(
            primitive_desc: Handle,
            what: c_int,
            index: c_int,
            result: *mut c_void,
        ) -> Status;
        pub fn dnnl_primitive_desc_query_md(
            primitive_desc: Handle,
            what: c_int,
            index: c_int,
        ) -> *const MemoryDesc;
        pub fn dnnl_primitive_desc_destroy(primitive_desc: Handle) -> Status;
        pub fn dnnl_primitive_create(primitive: *mut Handle, primitive_desc: Handle) -> Status;
        pub fn dnnl_primitive_execute(
            primitive: Handle,
            stream: Handle,
            nargs: c_int,
            args: *const ExecArg,
        ) -> Status;
        pub fn dnnl_primitive_destroy(primitive: Handle) -> Status;
    }

    // libdnnl's OpenMP runtime, to read the size of its thread pool.
    #[link(name = "gomp")]
    unsafe extern "C" {
        pub fn omp_get_max_threads() -> c_int;
    }
}

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

/// The threads oneDNN's OpenMP runtime would run a primitive on: `omp_get_max_threads()`.
pub fn threads() -> usize {
    // SAFETY: `omp_get_max_threads` takes nothing and only reads the runtime's settings.
    let threads = unsafe { ffi::omp_get_max_threads() };
    usize::try_from(threads).unwrap_or(0)
}

/// An owned oneDNN handle, destroyed on drop by the function it was made for.
struct Owned {
    handle: ffi::Handle,
    destroy: unsafe extern "C" fn(ffi::Handle) -> ffi::Status,
}

impl Owned {
    /// Runs `create` on a null handle and owns what it makes.
    fn new(
        call: &'static str,
        destroy: unsafe extern "C" fn(ffi::Handle) -> ffi::Status,
        create: impl FnOnce(*mut ffi::Handle) -> ffi::Status,
    ) -> Result<Owned, Error> {
        let mut handle = ptr::null_mut();
        check(call, create(&raw mut handle))?;
        if handle.is_null() {
            return Err(Error {
                call,
                status: "a null handle".to_owned(),
            });
        }
        Ok(Owned { handle, destroy })
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        // SAFETY: `handle` came from the creation function `destroy` belongs to, is owned
        // by this value alone, and is destroyed once. The handles that depend on another
        // (a memory on its engine) are declared before it in their structures, so they are
        // dropped first.
        unsafe { (self.destroy)(self.handle) };
    }
}

/// A plain `f32` memory descriptor with the given dimensions and format tag.
fn descriptor(dims: &[usize], tag: c_int) -> Result<ffi::MemoryDesc, Error> {
    let mut desc = ffi::MemoryDesc([0; 696]);
    let mut all: ffi::Dims = [0; 12];
    let count = c_int::try_from(dims.len())
        .ok()
        .filter(|&count| count <= 12)
        .ok_or_else(|| Error {
            call: "dnnl_memory_desc_init_by_tag",
            status: format!("{} dimensions, more than `DNNL_MAX_NDIMS`", dims.len()),
        })?;
    for (slot, &dim) in all.iter_mut().zip(dims) {
        *slot = i64::try_from(dim).map_err(|_| Error {
            call: "dnnl_memory_desc_init_by_tag",
            status: format!("dimension {dim} does not fit in `int64_t`"),
        })?;
    }
    // SAFETY: `desc` is a writable descriptor; `all` holds `DNNL_MAX_NDIMS` dimensions, of
    // which the first `dims.len()` (at most 5 here) are read.
    let status = unsafe {
        ffi::dnnl_memory_desc_init_by_tag(&raw mut desc, count, all.as_ptr(), ffi::F32, tag)
    };
    check("dnnl_memory_desc_init_by_tag", status)?;
    Ok(desc)
}

/// A primitive descriptor: what oneDNN chose for an operation.
struct PrimitiveDesc(Owned);

impl PrimitiveDesc {
    /// The descriptor of the convolution `op`, with `hint` the forward pass's for a
    /// backward pass.
    fn convolution(
        op: &ffi::ConvolutionDesc,
        engine: &Owned,
        hint: Option<&PrimitiveDesc>,
    ) -> Result<PrimitiveDesc, Error> {
        let hint = hint.map_or(ptr::null_mut(), |hint| hint.0.handle);
        Owned::new(
            "dnnl_primitive_desc_create",
            ffi::dnnl_primitive_desc_destroy,
            // SAFETY: `op` is an initialised convolution descriptor, read during the call;
            // no attributes; `engine` and `hint` (null or a live forward descriptor) are
            // live handles.
            |out| unsafe {
                ffi::dnnl_primitive_desc_create(
                    out,
                    ptr::from_ref(op).cast(),
                    ptr::null_mut(),
                    engine.handle,
                    hint,
                )
            },
        )
        .map(PrimitiveDesc)
    }

    /// The descriptor of a reorder from `from` to `to`.
    fn reorder(
        from: &ffi::MemoryDesc,
        to: &ffi::MemoryDesc,
        engine: &Owned,
    ) -> Result<PrimitiveDesc, Error> {
        Owned::new(
            "dnnl_reorder_primitive_desc_create",
            ffi::dnnl_primitive_desc_destroy,
            // SAFETY: both descriptors are initialised and only read; `engine` is live.
            |out| unsafe {
                ffi::dnnl_reorder_primitive_desc_create(
                    out,
                    from,
                    engine.handle,
                    to,
                    engine.handle,
                    ptr::null_mut(),
                )
            },
        )
        .map(PrimitiveDesc)
    }

    /// The memory descriptor it chose for an operand (`query`: `dnnl_query_*_md`).
    fn memory(&self, query: c_int) -> Result<ffi::MemoryDesc, Error> {
        // SAFETY: a live primitive descriptor; the result is null or points into it, and is
        // copied out before the descriptor can be destroyed.
        let desc = unsafe { ffi::dnnl_primitive_desc_query_md(self.0.handle, query, 0).as_ref() };
        desc.copied().ok_or(Error {
            call: "dnnl_primitive_desc_query_md",
            status: format!("no memory descriptor for query {query}"),
        })
    }

    /// The name of the implementation it chose, e.g. `brg:avx512_core`.
    fn implementation(&self) -> String {
        let mut name: *const c_char = ptr::null();
        // SAFETY: `dnnl_query_impl_info_str` writes a `const char *` to a string owned by
        // the live descriptor, copied out at once.
        let status = unsafe {
            ffi::dnnl_primitive_desc_query(
                self.0.handle,
                ffi::QUERY_IMPL_INFO_STR,
                0,
                (&raw mut name).cast(),
            )
        };
        if status != 0 || name.is_null() {
            return "unknown".to_owned();
        }
        // SAFETY: non-null, and a NUL-terminated string per the query's contract.
        unsafe { CStr::from_ptr(name) }
            .to_string_lossy()
            .into_owned()
    }

    /// The primitive it describes.
    fn primitive(&self) -> Result<Owned, Error> {
        Owned::new(
            "dnnl_primitive_create",
            ffi::dnnl_primitive_destroy,
            // SAFETY: a live primitive descriptor, only read.
            |out| unsafe { ffi::dnnl_primitive_create(out, self.0.handle) },
        )
    }
}

/// A primitive with its arguments; runs it on `stream` and waits for it.
fn execute<const N: usize>(
    primitive: &Owned,
    stream: &Owned,
    arguments: [(c_int, &Memory); N],
) -> Result<(), Error> {
    // An array, not a `Vec`: no allocation in the timed call.
    let count = c_int::try_from(N).map_err(|_| Error {
        call: "dnnl_primitive_execute",
        status: format!("{N} arguments"),
    })?;
    let arguments = arguments.map(|(arg, memory)| ffi::ExecArg {
        arg,
        memory: memory.handle.handle,
    });
    // SAFETY: live primitive, stream and memories, each memory of the descriptor the
    // primitive was created for (see `Operand`); the argument array outlives the call, and
    // `dnnl_stream_wait` returns once the primitive has finished with the memories.
    let status = unsafe {
        ffi::dnnl_primitive_execute(primitive.handle, stream.handle, count, arguments.as_ptr())
    };
    check("dnnl_primitive_execute", status)?;
    // SAFETY: a live stream.
    check("dnnl_stream_wait", unsafe {
        ffi::dnnl_stream_wait(stream.handle)
    })
}

/// A memory object with a buffer oneDNN allocated and owns.
struct Memory {
    handle: Owned,
    /// The buffer's length in bytes.
    bytes: usize,
}

impl Memory {
    fn new(desc: &ffi::MemoryDesc, engine: &Owned) -> Result<Memory, Error> {
        let handle = Owned::new(
            "dnnl_memory_create",
            ffi::dnnl_memory_destroy,
            // SAFETY: an initialised descriptor and a live engine; `DNNL_MEMORY_ALLOCATE`
            // asks the library to allocate the buffer and own it.
            |out| unsafe {
                ffi::dnnl_memory_create(out, desc, engine.handle, ffi::MEMORY_ALLOCATE)
            },
        )?;
        // SAFETY: an initialised descriptor, only read.
        let bytes = unsafe { ffi::dnnl_memory_desc_get_size(desc) };
        Ok(Memory { handle, bytes })
    }

    /// The buffer, as `f32`s: a plain memory's elements in row-major order.
    fn values(&mut self) -> Result<&mut [f32], Error> {
        let mut data = ptr::null_mut();
        // SAFETY: a live memory; writes its buffer's address to `data`.
        let status = unsafe { ffi::dnnl_memory_get_data_handle(self.handle.handle, &raw mut data) };
        check("dnnl_memory_get_data_handle", status)?;
        if data.is_null() || !data.cast::<f32>().is_aligned() {
            return Err(Error {
                call: "dnnl_memory_get_data_handle",
                status: "no aligned buffer".to_owned(),
            });
        }
        // SAFETY: the buffer is the library's allocation of `bytes` bytes for this memory
        // (aligned, as checked), alive as long as the memory, which this `&mut self` borrows
        // exclusively; every bit pattern is an `f32`.
        Ok(unsafe { core::slice::from_raw_parts_mut(data.cast(), self.bytes / 4) })
    }
}

/// One operand of a pass: a plain buffer in the user's layout, the buffer in the layout the
/// primitive chose, and the reorders between them.
struct Operand {
    /// The primitive's argument: `DNNL_ARG_SRC`, ….
    argument: c_int,
    to_internal: Owned,
    to_plain: Owned,
    plain: Memory,
    internal: Memory,
}

impl Operand {
    fn new(
        argument: c_int,
        plain: &ffi::MemoryDesc,
        internal: &ffi::MemoryDesc,
        engine: &Owned,
    ) -> Result<Operand, Error> {
        Ok(Operand {
            argument,
            to_internal: PrimitiveDesc::reorder(plain, internal, engine)?.primitive()?,
            to_plain: PrimitiveDesc::reorder(internal, plain, engine)?.primitive()?,
            plain: Memory::new(plain, engine)?,
            internal: Memory::new(internal, engine)?,
        })
    }

    /// Copies `values` in and reorders them into the primitive's layout.
    fn load(&mut self, values: &[f32], stream: &Owned) -> Result<(), Error> {
        let plain = self.plain.values()?;
        if plain.len() != values.len() {
            return Err(Error {
                call: "load",
                status: format!("{} values for {} elements", values.len(), plain.len()),
            });
        }
        plain.copy_from_slice(values);
        execute(
            &self.to_internal,
            stream,
            [(ffi::ARG_SRC, &self.plain), (ffi::ARG_DST, &self.internal)],
        )
    }

    /// Reorders the primitive's result to the plain layout and copies it to `values`.
    fn store(&mut self, values: &mut [f32], stream: &Owned) -> Result<(), Error> {
        execute(
            &self.to_plain,
            stream,
            [(ffi::ARG_SRC, &self.internal), (ffi::ARG_DST, &self.plain)],
        )?;
        let plain = self.plain.values()?;
        if plain.len() != values.len() {
            return Err(Error {
                call: "store",
                status: format!("{} values for {} elements", values.len(), plain.len()),
            });
        }
        values.copy_from_slice(plain);
        Ok(())
    }
}

/// One pass: its primitive, two operands read and one written.
struct Pass {
    primitive: Owned,
    implementation: String,
    inputs: [Operand; 2],
    output: Operand,
}

impl Pass {
    /// `inputs` and `output`: each operand's argument, plain descriptor and query.
    fn new(
        desc: &PrimitiveDesc,
        inputs: [(c_int, &ffi::MemoryDesc, c_int); 2],
        output: (c_int, &ffi::MemoryDesc, c_int),
        engine: &Owned,
    ) -> Result<Pass, Error> {
        let operand = |(argument, plain, query): (c_int, &ffi::MemoryDesc, c_int)| {
            Operand::new(argument, plain, &desc.memory(query)?, engine)
        };
        let [first, second] = inputs;
        Ok(Pass {
            primitive: desc.primitive()?,
            implementation: desc.implementation(),
            inputs: [operand(first)?, operand(second)?],
            output: operand(output)?,
        })
    }

    fn execute(&self, stream: &Owned) -> Result<(), Error> {
        let [first, second] = &self.inputs;
        execute(
            &self.primitive,
            stream,
            [
                (first.argument, &first.internal),
                (second.argument, &second.internal),
                (self.output.argument, &self.output.internal),
            ],
        )
    }

    fn load(&mut self, first: &[f32], second: &[f32], stream: &Owned) -> Result<(), Error> {
        self.inputs[0].load(first, stream)?;
        self.inputs[1].load(second, stream)
    }
}

/// A layer's strides, dilations and padding, one per spatial axis, as oneDNN takes them.
struct Geometry {
    strides: ffi::Dims,
    /// oneDNN counts the elements skipped between taps: 0 for none.
    dilations: ffi::Dims,
    before: ffi::Dims,
    after: ffi::Dims,
}

/// `value` as an `int64_t`.
fn signed(value: usize) -> Result<i64, Error> {
    i64::try_from(value).map_err(|_| Error {
        call: "Onednn::new",
        status: format!("{value} does not fit in `int64_t`"),
    })
}

impl Geometry {
    fn new(spec: &Spec) -> Result<Geometry, Error> {
        let mut geometry = Geometry {
            strides: [0; 12],
            dilations: [0; 12],
            before: [0; 12],
            after: [0; 12],
        };
        for (i, axis) in spec.axes().iter().enumerate() {
            geometry.strides[i] = signed(axis.stride())?;
            geometry.dilations[i] = signed(axis.dilation().saturating_sub(1))?;
            geometry.before[i] = signed(axis.pad_before())?;
            geometry.after[i] = signed(axis.pad_after())?;
        }
        Ok(geometry)
    }

    /// The convolution descriptor of one pass, on `[input, weight, output]`'s descriptors.
    fn operation(
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
        // SAFETY: `op` is writable; the memory descriptors are initialised and only read;
        // the four arrays hold `DNNL_MAX_NDIMS` values, of which one per spatial axis is
        // read. No bias, and no bias gradient.
        let (call, status) = unsafe {
            match which {
                Which::Forward => (
                    "dnnl_dilated_convolution_forward_desc_init",
                    ffi::dnnl_dilated_convolution_forward_desc_init(
                        op_ptr,
                        ffi::FORWARD_TRAINING,
                        ffi::CONVOLUTION_DIRECT,
                        input,
                        weight,
                        ptr::null(),
                        output,
                        strides,
                        dilations,
                        before,
                        after,
                    ),
                ),
                Which::GradInput => (
                    "dnnl_dilated_convolution_backward_data_desc_init",
                    ffi::dnnl_dilated_convolution_backward_data_desc_init(
                        op_ptr,
                        ffi::CONVOLUTION_DIRECT,
                        input,
                        weight,
                        output,
                        strides,
                        dilations,
                        before,
                        after,
                    ),
                ),
                Which::GradWeight => (
                    "dnnl_dilated_convolution_backward_weights_desc_init",
                    ffi::dnnl_dilated_convolution_backward_weights_desc_init(
                        op_ptr,
                        ffi::CONVOLUTION_DIRECT,
                        input,
                        weight,
                        ptr::null(),
                        output,
                        strides,
                        dilations,
                        before,
                        after,
                    ),
                ),
            }
        };
        check(call, status)?;
        Ok(op)
    }
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
        let (data_tag, weight_tag) = match (axes.len(), spec.groups()) {
            (1, 1) => (ffi::NCW, ffi::NCW),
            (1, _) => (ffi::NCW, ffi::NCHW),
            (2, 1) => (ffi::NCHW, ffi::NCHW),
            (2, _) => (ffi::NCHW, ffi::GOIHW),
            _ => {
                return Err(Error {
                    call: "Onednn::new",
                    status: format!("only 1-D and 2-D layers are declared, not `{spec}`"),
                });
            }
        };
        let mut weight_shape = spec.weight_shape();
        if spec.groups() > 1 {
            // `goihw`: the output channels split into groups.
            weight_shape[0] = spec.out_channels_per_group();
            weight_shape.insert(0, spec.groups());
        }
        let input = descriptor(&spec.input_shape(), data_tag)?;
        let weight = descriptor(&weight_shape, weight_tag)?;
        let output = descriptor(&spec.output_shape(), data_tag)?;
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

        let forward = Pass::new(
            &forward_desc,
            [
                (ffi::ARG_SRC, &input, ffi::QUERY_SRC_MD),
                (ffi::ARG_WEIGHTS, &weight, ffi::QUERY_WEIGHTS_MD),
            ],
            (ffi::ARG_DST, &output, ffi::QUERY_DST_MD),
            &engine,
        )?;
        let grad_input = Pass::new(
            &grad_input_desc,
            [
                (ffi::ARG_WEIGHTS, &weight, ffi::QUERY_WEIGHTS_MD),
                (ffi::ARG_DIFF_DST, &output, ffi::QUERY_DIFF_DST_MD),
            ],
            (ffi::ARG_DIFF_SRC, &input, ffi::QUERY_DIFF_SRC_MD),
            &engine,
        )?;
        let grad_weight = Pass::new(
            &grad_weight_desc,
            [
                (ffi::ARG_SRC, &input, ffi::QUERY_SRC_MD),
                (ffi::ARG_DIFF_DST, &output, ffi::QUERY_DIFF_DST_MD),
            ],
            (ffi::ARG_DIFF_WEIGHTS, &weight, ffi::QUERY_DIFF_WEIGHTS_MD),
            &engine,
        )?;
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
