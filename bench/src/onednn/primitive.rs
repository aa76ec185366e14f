//! Owned oneDNN handles and what the passes are built from: primitive descriptors, memories,
//! each operand with its reorders, and a pass's primitive with its operands.

use core::ffi::{CStr, c_char, c_int};
use core::ptr;

use super::{Error, Which, check, ffi};

/// An owned oneDNN handle, destroyed on drop by the function it was made for.
pub(super) struct Owned {
    pub(super) handle: ffi::Handle,
    destroy: unsafe extern "C" fn(ffi::Handle) -> ffi::Status,
}

impl Owned {
    /// Runs `create` on a null handle and owns what it makes.
    pub(super) fn new(
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
pub(super) fn descriptor(dims: &[usize], tag: c_int) -> Result<ffi::MemoryDesc, Error> {
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
pub(super) struct PrimitiveDesc(Owned);

impl PrimitiveDesc {
    /// The descriptor of the convolution `op`, with `hint` the forward pass's for a
    /// backward pass.
    pub(super) fn convolution(
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
pub(super) struct Operand {
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
        fits("load", values.len(), plain.len())?;
        plain.copy_from_slice(values);
        execute(
            &self.to_internal,
            stream,
            [(ffi::ARG_SRC, &self.plain), (ffi::ARG_DST, &self.internal)],
        )
    }

    /// Reorders the primitive's result to the plain layout and copies it to `values`.
    pub(super) fn store(&mut self, values: &mut [f32], stream: &Owned) -> Result<(), Error> {
        execute(
            &self.to_plain,
            stream,
            [(ffi::ARG_SRC, &self.internal), (ffi::ARG_DST, &self.plain)],
        )?;
        let plain = self.plain.values()?;
        fits("store", values.len(), plain.len())?;
        values.copy_from_slice(plain);
        Ok(())
    }
}

/// `Ok` when there are as many `values` as `elements`, else the error of `call`.
fn fits(call: &'static str, values: usize, elements: usize) -> Result<(), Error> {
    if values == elements {
        return Ok(());
    }
    Err(Error {
        call,
        status: format!("{values} values for {elements} elements"),
    })
}

/// One pass: its primitive, two operands read and one written.
pub(super) struct Pass {
    primitive: Owned,
    pub(super) implementation: String,
    inputs: [Operand; 2],
    pub(super) output: Operand,
}

impl Pass {
    /// The pass `which` of the primitive `desc`, on the plain `[input, weight, output]`.
    pub(super) fn new(
        which: Which,
        desc: &PrimitiveDesc,
        [input, weight, output]: &[ffi::MemoryDesc; 3],
        engine: &Owned,
    ) -> Result<Pass, Error> {
        // Its two inputs, then its output: each operand's argument, plain descriptor and the
        // query for the layout the primitive chose.
        let [first, second, result] = match which {
            Which::Forward => [
                (ffi::ARG_SRC, input, ffi::QUERY_SRC_MD),
                (ffi::ARG_WEIGHTS, weight, ffi::QUERY_WEIGHTS_MD),
                (ffi::ARG_DST, output, ffi::QUERY_DST_MD),
            ],
            Which::GradInput => [
                (ffi::ARG_WEIGHTS, weight, ffi::QUERY_WEIGHTS_MD),
                (ffi::ARG_DIFF_DST, output, ffi::QUERY_DIFF_DST_MD),
                (ffi::ARG_DIFF_SRC, input, ffi::QUERY_DIFF_SRC_MD),
            ],
            Which::GradWeight => [
                (ffi::ARG_SRC, input, ffi::QUERY_SRC_MD),
                (ffi::ARG_DIFF_DST, output, ffi::QUERY_DIFF_DST_MD),
                (ffi::ARG_DIFF_WEIGHTS, weight, ffi::QUERY_DIFF_WEIGHTS_MD),
            ],
        };
        let operand = |(argument, plain, query): (c_int, &ffi::MemoryDesc, c_int)| {
            Operand::new(argument, plain, &desc.memory(query)?, engine)
        };
        Ok(Pass {
            primitive: desc.primitive()?,
            implementation: desc.implementation(),
            inputs: [operand(first)?, operand(second)?],
            output: operand(result)?,
        })
    }

    pub(super) fn execute(&self, stream: &Owned) -> Result<(), Error> {
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

    pub(super) fn load(
        &mut self,
        first: &[f32],
        second: &[f32],
        stream: &Owned,
    ) -> Result<(), Error> {
        self.inputs[0].load(first, stream)?;
        self.inputs[1].load(second, stream)
    }
}
