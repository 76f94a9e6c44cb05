"""Device memory for the cuda backend: whether a GPU is there, device arrays,
the allocator and stream a call works with, and copies to and from the host.

Result arrays come from the input's own allocator where it has one (torch,
CuPy: :func:`working_with`, set up by :mod:`fastsmp._arrays`), so that a call
neither waits for ``cudaMalloc`` nor synchronises the device in
``cudaFree``, and its kernels are queued on that library's current stream,
as its own operations are. ``numba.cuda`` is imported on first use, so that
``import fastsmp`` does not pay for it.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import importlib
import os

import numpy as np


@functools.lru_cache(maxsize=None)
def _numba_cuda():
    """``numba.cuda``, imported on first use (``import fastsmp`` does not
    pay for it) and looked up once."""
    from numba import cuda

    return cuda


def simulated():
    return os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")


def available():
    """True where the CUDA backend can run: a GPU with a driver, or the
    simulator."""
    if simulated():
        return True
    try:
        return bool(_numba_cuda().is_available())
    except Exception:  # a broken driver install must not break import
        return False


def _check_numpy_supported():
    """numba-cuda releases up to at least 0.30.4 call ``np.row_stack``, which
    NumPy 2.5 removed: every kernel compile then fails deep inside Numba with
    an ``AttributeError``. Say so plainly, before the first compile."""
    if hasattr(np, "row_stack"):
        return
    try:
        importlib.import_module("numba.cuda.np.arrayobj")
    except AttributeError as exc:
        from importlib.metadata import version

        raise RuntimeError(
            f"numba-cuda {version('numba-cuda')} cannot compile kernels with NumPy "
            f"{np.__version__} ({exc}). Install NumPy < 2.5 (pip install 'numpy<2.5') "
            "or a numba-cuda release that supports your NumPy."
        ) from exc


_ready = False  # require() has passed once: the answer does not change


def require():
    """Raise a RuntimeError that says what is missing where the backend
    cannot run (checked until it first passes)."""
    global _ready
    if _ready:
        return
    if available() and not simulated():
        _check_numpy_supported()
    if not available():
        raise RuntimeError(
            "backend='cuda' needs an NVIDIA GPU with a working CUDA driver, and "
            "numba.cuda.is_available() is False on this machine. Use "
            "backend='cpu', or set NUMBA_ENABLE_CUDASIM=1 before importing "
            "numba to run the CUDA kernels on the (slow) simulator."
        )
    _ready = True


def is_device_array(x):
    """Objects that live in GPU memory: anything with
    ``__cuda_array_interface__`` (torch CUDA tensors, CuPy, Numba device
    arrays) and the simulator's device arrays."""
    return hasattr(x, "__cuda_array_interface__") or bool(getattr(type(x), "__cuda_ndarray__", False))


def as_device_array(x):
    """``x`` as a Numba device array, no copy."""
    cuda = _numba_cuda()

    if getattr(type(x), "__cuda_ndarray__", False):
        return x
    return cuda.as_cuda_array(x)


def to_device(host):
    cuda = _numba_cuda()

    return cuda.to_device(np.ascontiguousarray(host))


# Who allocates result arrays during a call: the input's own library where
# it has a caching allocator, Numba's allocator else.
_allocator = contextvars.ContextVar("fastsmp_cuda_allocator", default=None)
# Where a call's kernels and copies are queued: the input library's current
# stream (torch and CuPy hand out non-blocking streams, which the legacy
# default stream does not wait for), else the default stream (0).
_stream = contextvars.ContextVar("fastsmp_cuda_stream", default=0)
# Whose scratch a call uses (kept between calls): the library, device and
# stream, e.g. ("torch", 0, stream handle); None for Numba's allocator on
# the default stream.
_scratch_key = contextvars.ContextVar("fastsmp_cuda_scratch_key", default=None)


@contextlib.contextmanager
def working_with(allocate=None, stream=0, key=None):
    """Within the block, :func:`device_array` calls ``allocate(shape, dtype)``
    (``None``: Numba's own allocator), kernels and copies go to ``stream``
    (a Numba stream, or 0 for the default stream), and scratch is kept
    under ``key`` (hashable: the library, device and stream)."""
    tokens = _allocator.set(allocate), _stream.set(stream), _scratch_key.set(key)
    try:
        yield
    finally:
        _allocator.reset(tokens[0])
        _stream.reset(tokens[1])
        _scratch_key.reset(tokens[2])


def current_device_id():
    """The id of Numba's current CUDA device (0 on the simulator)."""
    cuda = _numba_cuda()

    try:
        return cuda.get_current_device().id
    except Exception:  # the simulator's device, or none
        return 0


def scratch_key():
    """The key the call's scratch is kept under (see :func:`working_with`)."""
    return _scratch_key.get()


@functools.lru_cache(maxsize=64)
def external_stream(ptr):
    """A Numba stream for a CUDA stream handle of another library (0 for the
    default stream); one object per handle, made once (a scan calls with the
    same stream every time)."""
    cuda = _numba_cuda()

    return cuda.external_stream(ptr) if ptr else 0


def on_stream(kernel, blocks, threads, shared=0):
    """``kernel`` configured for ``blocks`` x ``threads`` on the call's
    stream, with ``shared`` bytes of dynamic shared memory a block."""
    return kernel[blocks, threads, _stream.get(), shared]


def device_array(shape, dtype):
    """An uninitialised device array from the call's allocator."""
    allocate = _allocator.get()
    if allocate is not None:
        return allocate(shape, dtype)
    cuda = _numba_cuda()

    return cuda.device_array(shape, dtype)


def lines_view(dev, shape3):
    """The ``(outer, n, inner)`` view of a device array, or a ValueError
    where that needs a copy."""
    try:
        return dev.reshape(shape3)
    except NotImplementedError:
        raise ValueError(
            "this non-contiguous device array cannot be viewed as lines without "
            "a copy; pass a contiguous array (torch: .contiguous(), CuPy: "
            "cupy.ascontiguousarray)"
        ) from None


def to_host(dev):
    """A host copy of ``dev``, made on the call's stream."""
    stream = _stream.get()
    host = dev.copy_to_host(stream=stream)
    if stream:
        stream.synchronize()  # the copy is asynchronous on a stream of its own
    return host
