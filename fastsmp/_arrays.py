"""Input adaptation: any supported array in, a backend's array out, and the
way back.

:func:`prepare` turns NumPy arrays, array-likes, torch tensors (CPU or CUDA),
CuPy arrays and Numba device arrays into a host NumPy array or a Numba
device array in the working dtype, and remembers how to hand a result back
as the caller's kind of array, which allocator results on the GPU come from
and on which stream the kernels run (the input library's own).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from . import backends
from ._args import backend_name, working_dtype
from .backends.cuda import memory as device
from .backends.spec import MAX_LINE

_TORCH_DTYPES = {
    "torch.float64": np.float64,
    "torch.float32": np.float32,
    "torch.float16": np.float16,
    "torch.bfloat16": "bfloat16",
    "torch.int8": np.int8,
    "torch.int16": np.int16,
    "torch.int32": np.int32,
    "torch.int64": np.int64,
    "torch.uint8": np.uint8,
    "torch.uint16": np.uint16,
    "torch.uint32": np.uint32,
    "torch.uint64": np.uint64,
}


def _library(x):
    """The top-level module of ``x``'s type: ``"torch"``, ``"cupy"``, ..."""
    return type(x).__module__.split(".")[0]


def _torch_working_dtype(tensor):
    name = str(tensor.dtype)
    if name not in _TORCH_DTYPES:
        kind = "bool" if "bool" in name else "complex" if "complex" in name else name
        raise TypeError(
            f"fastsmp needs real numbers (floating point or integer); got a "
            f"tensor of dtype {name} ({kind}). Convert it explicitly, e.g. x.float()."
        )
    source = _TORCH_DTYPES[name]
    return np.dtype(np.float32) if source == "bfloat16" else working_dtype(source)


@dataclass
class Prepared:
    """An input in the working dtype, its backend, and how to give a result
    back as the caller's kind of array."""

    array: Any  #: np.ndarray on the host, a Numba device array on the GPU
    backend: Any  #: the backend module (:class:`fastsmp.backends.base.Backend`)
    work: np.dtype
    wrap: Callable[[Any], Any]
    #: how the cuda backend allocates results, and on which stream it works:
    #: the input's own library's (torch, CuPy) where there is one
    allocate: Callable | None = None
    stream: Any = 0
    #: whose scratch the cuda backend uses (the library, device and stream)
    scratch_key: Any = None

    def memory(self):
        """Context in which the cuda backend allocates with :attr:`allocate`,
        works on :attr:`stream` and keeps scratch under :attr:`scratch_key`
        (a no-op on the host)."""
        return device.working_with(self.allocate, self.stream, self.scratch_key)

    def line_view(self, axis):
        """The ``(outer, n, inner)`` view of the input with lines along ``axis``."""
        shape = tuple(self.array.shape)
        shape3 = (math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1 :]))
        if shape3[1] >= MAX_LINE and self.backend.name != "numpy":
            raise ValueError(
                f"lines of {shape3[1]} samples are too long for the {self.backend.name} backend, which "
                f"counts a line's samples in 32 bits (at most {MAX_LINE - 1}); use backend='numpy'"
            )
        if self.backend.on_device:
            return device.lines_view(self.array, shape3)
        try:
            return self.array.reshape(shape3, copy=False)
        except ValueError:
            # Strides that cannot be merged (e.g. a transposed 3-D slice): one
            # contiguous copy. The common cases (contiguous input, any axis) are views.
            return np.ascontiguousarray(self.array).reshape(shape3)
        except TypeError:  # pragma: no cover - NumPy < 2.1 has no copy=
            return self.array.reshape(shape3)


def prepare(x, backend):
    """The :class:`Prepared` form of ``x`` for ``backend`` (a name)."""
    backend = backend_name(backend)
    if _library(x) == "torch" and hasattr(x, "detach"):
        return _prepare_torch(x, backend)
    if device.is_device_array(x):
        wrap, allocate, stream, key = _device_library(x)
        return _prepare_device(x, backend, wrap, allocate, stream, key)
    arr = np.asarray(x)
    return _prepare_host(arr, working_dtype(arr.dtype), backend, wrap=_numpy_result)


def _same(r):
    return r


def _numpy_result(r):
    # A 0-d result comes back as a NumPy scalar, as NumPy's reductions do.
    return r[()] if r.ndim == 0 else r


def _prepare_host(arr, work, backend, wrap):
    if arr.ndim == 0:
        raise ValueError("fastsmp needs an array with at least one dimension; got a 0-d array (a scalar)")
    if arr.dtype != work or not arr.dtype.isnative:
        # Integers, float16/bfloat16 and big-endian data are converted once, a
        # copy of the input in the working dtype (documented in the README).
        arr = arr.astype(work)
    if backend == "cuda":
        device.require()
        return Prepared(device.to_device(arr), backends.get("cuda"), work, lambda r: wrap(device.to_host(r)))
    return Prepared(arr, backends.get("cpu" if backend == "auto" else backend), work, wrap)


def _prepare_torch(t, backend):
    import torch

    work = _torch_working_dtype(t)
    t = t.detach()  # a tensor that requires grad is read, never copied, for it
    if t.device.type == "cpu":
        if t.dtype in (torch.bfloat16, torch.float16):
            t = t.float()  # NumPy has no bfloat16: the float32 copy is the working array
        arr = t.resolve_conj().resolve_neg().numpy()  # zero-copy view
        return _prepare_host(arr, work, backend, wrap=lambda r: torch.from_numpy(np.asarray(r)))
    if t.device.type != "cuda":
        raise TypeError(f"fastsmp reads torch tensors on the CPU or on CUDA; got device {t.device}")
    if t.dim() == 0:
        raise ValueError("fastsmp needs an array with at least one dimension; got a 0-d tensor")
    work_torch = getattr(torch, work.name)
    if t.dtype != work_torch:
        t = t.to(work_torch)  # integers, float16, bfloat16: converted on the device
    if not t.is_contiguous():
        t = t.contiguous()  # a device copy (see README: copies)
    where = t.device
    stream = torch.cuda.current_stream(where).cuda_stream
    return _prepare_device(
        t,
        backend,
        wrap=lambda r: torch.as_tensor(r, device=where),
        allocate=torch_allocator(where),
        stream=device.external_stream(stream),
        scratch_key=("torch", where.index, stream),
    )


@functools.lru_cache(maxsize=16)
def torch_allocator(where):
    """``allocate(shape, dtype)``: a Numba view of a new torch tensor on
    device ``where`` (torch's caching allocator); one function per device."""

    def allocate(shape, dtype):
        import torch

        return device.as_device_array(torch.empty(shape, dtype=getattr(torch, np.dtype(dtype).name), device=where))

    return allocate


def _device_library(x):
    """``(wrap, allocate, stream, scratch_key)`` for a device array ``x``
    that is not a torch tensor: CuPy's own, or (Numba device arrays and
    other libraries) the array as it comes, Numba's allocator and the
    default stream."""
    if _library(x) == "cupy":
        import cupy

        ptr = cupy.cuda.get_current_stream().ptr
        return _cupy_array, _cupy_allocate, device.external_stream(ptr), ("cupy", cupy.cuda.Device().id, ptr)
    return _same, None, 0, ("numba", device.current_device_id())


def _cupy_array(r):
    import cupy

    return cupy.asarray(r)


def _cupy_allocate(shape, dtype):
    import cupy

    return device.as_device_array(cupy.empty(shape, dtype))


def _prepare_device(x, backend, wrap, allocate=None, stream=0, scratch_key=None):
    if backend in ("numpy", "cpu"):
        raise ValueError(
            f"backend={backend!r} works on host memory, but the input lives on a GPU; "
            "use backend='cuda' (or 'auto'), or copy the input to the host first"
        )
    device.require()
    dev = device.as_device_array(x)
    if len(dev.shape) == 0:
        raise ValueError("fastsmp needs an array with at least one dimension; got a 0-d array (a scalar)")
    work = working_dtype(dev.dtype)
    cuda = backends.get("cuda")
    if dev.dtype != work:
        with device.working_with(allocate, stream, scratch_key):
            dev = cuda.cast(dev, work)  # a device copy in the working dtype
    return Prepared(dev, cuda, work, wrap, allocate, stream, scratch_key)
