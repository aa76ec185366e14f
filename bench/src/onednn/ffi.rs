//! Declarations from `dnnl.h`, `dnnl_types.h` and `dnnl_config.h` (oneDNN 2.6.3).

use core::ffi::{c_char, c_int, c_uint, c_void};

/// `dnnl_status_t`; `dnnl_success` is 0.
pub(super) type Status = c_int;
/// `dnnl_dims_t`: `int64_t[DNNL_MAX_NDIMS]`, `DNNL_MAX_NDIMS` = 12.
pub(super) type Dims = [i64; 12];
/// `dnnl_engine_t`, `dnnl_stream_t`, `dnnl_memory_t`, `dnnl_primitive_t`,
/// `dnnl_primitive_desc_t`: pointers to opaque structures.
pub(super) type Handle = *mut c_void;

/// `dnnl_memory_desc_t`, a plain structure the caller owns (696 bytes, 8-aligned).
#[derive(Clone, Copy)]
#[repr(C, align(8))]
pub(super) struct MemoryDesc(pub(super) [u8; 696]);

/// `dnnl_convolution_desc_t`, a plain structure the caller owns (5976 bytes, 8-aligned);
/// also `dnnl_deconvolution_desc_t`, a `typedef` of it.
#[repr(C, align(8))]
pub(super) struct ConvolutionDesc(pub(super) [u8; 5976]);

/// `dnnl_exec_arg_t`.
#[repr(C)]
pub(super) struct ExecArg {
    pub(super) arg: c_int,
    pub(super) memory: Handle,
}

/// `dnnl_version_t`.
#[repr(C)]
pub(super) struct Version {
    pub(super) major: c_int,
    pub(super) minor: c_int,
    pub(super) patch: c_int,
    pub(super) hash: *const c_char,
    pub(super) cpu_runtime: c_uint,
    pub(super) gpu_runtime: c_uint,
}

pub(super) const F32: c_int = 3; // dnnl_f32
pub(super) const FORMAT_ANY: c_int = 1; // dnnl_format_tag_any
pub(super) const NCW: c_int = 4; // dnnl_ncw, also dnnl_oiw
pub(super) const NCHW: c_int = 5; // dnnl_nchw, also dnnl_oihw and dnnl_goiw
pub(super) const GOIHW: c_int = 7; // dnnl_goihw
// A transposed layer's weights `[cin][cout/groups][k…]`, described with oneDNN's deconvolution
// dimensions `[cout, cin, k…]` (`[groups, cout/groups, cin/groups, k…]`): the tags that
// put `i` before `o` in memory.
pub(super) const IOW: c_int = 23; // dnnl_bac (dnnl.h names no `iow`)
pub(super) const IOHW: c_int = 24; // dnnl_iohw, dnnl_bacd
pub(super) const GIOW: c_int = 6; // dnnl_acbd (dnnl.h names no `giow`)
pub(super) const GIOHW: c_int = 18; // dnnl_giohw, dnnl_acbde
pub(super) const FORWARD_TRAINING: c_int = 64; // dnnl_forward_training
pub(super) const CONVOLUTION_DIRECT: c_int = 1; // dnnl_convolution_direct
pub(super) const DECONVOLUTION_DIRECT: c_int = 10; // dnnl_deconvolution_direct
pub(super) const CPU: c_int = 1; // dnnl_cpu
pub(super) const STREAM_DEFAULT_FLAGS: c_uint = 1; // dnnl_stream_default_flags
pub(super) const RUNTIME_OMP: c_uint = 2; // DNNL_RUNTIME_OMP
/// `DNNL_MEMORY_ALLOCATE`: `(void *)(size_t)-1`.
pub(super) const MEMORY_ALLOCATE: Handle = usize::MAX as Handle;

pub(super) const ARG_SRC: c_int = 1; // also DNNL_ARG_FROM
pub(super) const ARG_DST: c_int = 17; // also DNNL_ARG_TO
pub(super) const ARG_WEIGHTS: c_int = 33;
pub(super) const ARG_DIFF_SRC: c_int = 129;
pub(super) const ARG_DIFF_DST: c_int = 145;
pub(super) const ARG_DIFF_WEIGHTS: c_int = 161;

pub(super) const QUERY_IMPL_INFO_STR: c_int = 8;
pub(super) const QUERY_SRC_MD: c_int = 129;
pub(super) const QUERY_DIFF_SRC_MD: c_int = 130;
pub(super) const QUERY_WEIGHTS_MD: c_int = 131;
pub(super) const QUERY_DIFF_WEIGHTS_MD: c_int = 132;
pub(super) const QUERY_DST_MD: c_int = 133;
pub(super) const QUERY_DIFF_DST_MD: c_int = 134;

#[link(name = "dnnl")]
unsafe extern "C" {
    pub(super) fn dnnl_version() -> *const Version;
    pub(super) fn dnnl_engine_create(engine: *mut Handle, kind: c_int, index: usize) -> Status;
    pub(super) fn dnnl_engine_destroy(engine: Handle) -> Status;
    pub(super) fn dnnl_stream_create(stream: *mut Handle, engine: Handle, flags: c_uint) -> Status;
    pub(super) fn dnnl_stream_wait(stream: Handle) -> Status;
    pub(super) fn dnnl_stream_destroy(stream: Handle) -> Status;
    pub(super) fn dnnl_memory_desc_init_by_tag(
        memory_desc: *mut MemoryDesc,
        ndims: c_int,
        dims: *const i64,
        data_type: c_int,
        tag: c_int,
    ) -> Status;
    pub(super) fn dnnl_memory_desc_get_size(memory_desc: *const MemoryDesc) -> usize;
    pub(super) fn dnnl_memory_create(
        memory: *mut Handle,
        memory_desc: *const MemoryDesc,
        engine: Handle,
        handle: Handle,
    ) -> Status;
    pub(super) fn dnnl_memory_get_data_handle(memory: Handle, handle: *mut Handle) -> Status;
    pub(super) fn dnnl_memory_destroy(memory: Handle) -> Status;
    pub(super) fn dnnl_dilated_convolution_forward_desc_init(
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
    pub(super) fn dnnl_dilated_convolution_backward_data_desc_init(
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
    pub(super) fn dnnl_dilated_convolution_backward_weights_desc_init(
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
    pub(super) fn dnnl_dilated_deconvolution_forward_desc_init(
        deconv_desc: *mut ConvolutionDesc,
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
    pub(super) fn dnnl_dilated_deconvolution_backward_data_desc_init(
        deconv_desc: *mut ConvolutionDesc,
        alg_kind: c_int,
        diff_src_desc: *const MemoryDesc,
        weights_desc: *const MemoryDesc,
        diff_dst_desc: *const MemoryDesc,
        strides: *const i64,
        dilates: *const i64,
        padding_l: *const i64,
        padding_r: *const i64,
    ) -> Status;
    pub(super) fn dnnl_dilated_deconvolution_backward_weights_desc_init(
        deconv_desc: *mut ConvolutionDesc,
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
    pub(super) fn dnnl_primitive_desc_create(
        primitive_desc: *mut Handle,
        op_desc: *const c_void,
        attr: Handle,
        engine: Handle,
        hint_forward_primitive_desc: Handle,
    ) -> Status;
    pub(super) fn dnnl_reorder_primitive_desc_create(
        reorder_primitive_desc: *mut Handle,
        src_desc: *const MemoryDesc,
        src_engine: Handle,
        dst_desc: *const MemoryDesc,
        dst_engine: Handle,
        attr: Handle,
    ) -> Status;
    pub(super) fn dnnl_primitive_desc_query(
        primitive_desc: Handle,
        what: c_int,
        index: c_int,
        result: *mut c_void,
    ) -> Status;
    pub(super) fn dnnl_primitive_desc_query_md(
        primitive_desc: Handle,
        what: c_int,
        index: c_int,
    ) -> *const MemoryDesc;
    pub(super) fn dnnl_primitive_desc_destroy(primitive_desc: Handle) -> Status;
    pub(super) fn dnnl_primitive_create(primitive: *mut Handle, primitive_desc: Handle) -> Status;
    pub(super) fn dnnl_primitive_execute(
        primitive: Handle,
        stream: Handle,
        nargs: c_int,
        args: *const ExecArg,
    ) -> Status;
    pub(super) fn dnnl_primitive_destroy(primitive: Handle) -> Status;
}

// libdnnl's OpenMP runtime, to read and set the size of its thread pool.
#[link(name = "gomp")]
unsafe extern "C" {
    pub(super) fn omp_get_max_threads() -> c_int;
    pub(super) fn omp_set_num_threads(threads: c_int);
}
