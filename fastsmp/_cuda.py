"""The ``"cuda"`` backend: Numba CUDA kernels (NVIDIA's numba-cuda target).

Decomposition: a block takes a stretch of ``step * items`` samples of
``rows * lanes`` lines: ``lanes`` neighbouring lines of the ``inner`` axis
(contiguous in memory, so a warp reads consecutive addresses whether the line
axis is the last one, ``lanes == 1``, or not, ``lanes == 32``), times
``rows`` lines of the ``outer`` axis when lines are short (several 56-sample
image rows share a block instead of leaving most of it idle). The block first
computes the values it tests (the floored |second difference|, or the samples
for :func:`find_peaks_lines`) into a shared-memory tile with one value of
halo on each side, then every thread tests its ``items`` samples for being
the *left edge* of a peak (``a[t-1] < a[t]``) and, if so, walks right over
the plateau to see whether it ends in a descent; a plateau that leaves the
tile is followed in global memory, so it may cross any block boundary.
Each block reduces its heights in shared memory in a fixed order and writes
one partial per line; a second kernel adds the partials of each line in
order (one thread per line, or one block per line when there are many), so
results are deterministic run to run.

Result arrays come from the input's own allocator where it has one (torch,
CuPy: :func:`working_with`), so that a call neither waits for
``cudaMalloc`` nor synchronises the device in ``cudaFree``, and its kernels
are queued on that library's current stream, as its own operations are.

Every function takes a 3-D device view ``(outer, n, inner)``, lines along
axis 1, in the working dtype. Tests shrink :data:`config` to a few threads so
that plateaus across block boundaries are exercised under the simulator.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import os
from dataclasses import dataclass

import numpy as np


@dataclass
class LaunchConfig:
    #: threads per block; a power of two
    threads: int = 256
    #: samples each thread tests along the line
    items: int = 16
    #: neighbouring lines per block when the line axis is not the last one
    lanes: int = 32


config = LaunchConfig()


def simulated():
    return os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")


def available():
    """True where the CUDA backend can run: a GPU with a driver, or the
    simulator."""
    if simulated():
        return True
    try:
        from numba import cuda

        return bool(cuda.is_available())
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


def require():
    if available() and not simulated():
        _check_numpy_supported()
    if not available():
        raise RuntimeError(
            "backend='cuda' needs an NVIDIA GPU with a working CUDA driver, and "
            "numba.cuda.is_available() is False on this machine. Use "
            "backend='cpu', or set NUMBA_ENABLE_CUDASIM=1 before importing "
            "numba to run the CUDA kernels on the (slow) simulator."
        )


def is_device_array(x):
    """Objects that live in GPU memory: anything with
    ``__cuda_array_interface__`` (torch CUDA tensors, CuPy, Numba device
    arrays) and the simulator's device arrays."""
    return hasattr(x, "__cuda_array_interface__") or bool(
        getattr(type(x), "__cuda_ndarray__", False)
    )


# --------------------------------------------------------------------------
# device-array plumbing
# --------------------------------------------------------------------------


def as_device_array(x):
    from numba import cuda

    if getattr(type(x), "__cuda_ndarray__", False):
        return x
    return cuda.as_cuda_array(x)


def to_device(host):
    from numba import cuda

    return cuda.to_device(np.ascontiguousarray(host))


# Who allocates result arrays during a call: the input's own library where
# it has a caching allocator (torch, CuPy), so that a call neither waits for
# cudaMalloc nor synchronises the device in cudaFree; Numba's allocator else.
_allocator = contextvars.ContextVar("fastsmp_cuda_allocator", default=None)
# Where a call's kernels and copies are queued: the input library's current
# stream (torch and CuPy hand out non-blocking streams, which the legacy
# default stream does not wait for), else the default stream (0).
_stream = contextvars.ContextVar("fastsmp_cuda_stream", default=0)


@contextlib.contextmanager
def working_with(allocate=None, stream=0):
    """Within the block, :func:`device_array` calls ``allocate(shape, dtype)``
    (``None``: Numba's own allocator) and kernels and copies go to
    ``stream`` (a Numba stream, or 0 for the default stream)."""
    tokens = _allocator.set(allocate), _stream.set(stream)
    try:
        yield
    finally:
        _allocator.reset(tokens[0])
        _stream.reset(tokens[1])


def torch_stream(device):
    """torch's current stream on ``device``, as a Numba stream."""
    import torch
    from numba import cuda

    ptr = torch.cuda.current_stream(device).cuda_stream
    return cuda.external_stream(ptr) if ptr else 0


def cupy_stream():
    import cupy
    from numba import cuda

    ptr = cupy.cuda.get_current_stream().ptr
    return cuda.external_stream(ptr) if ptr else 0


def _on_stream(kernel, blocks, threads):
    """``kernel`` configured for ``blocks`` x ``threads`` on the call's stream."""
    return kernel[blocks, threads, _stream.get()]


def torch_allocator(device):
    def allocate(shape, dtype):
        import torch
        from numba import cuda

        dtype = np.dtype(dtype)
        return cuda.as_cuda_array(torch.empty(shape, dtype=getattr(torch, dtype.name), device=device))

    return allocate


def cupy_allocator():
    def allocate(shape, dtype):
        import cupy
        from numba import cuda

        return cuda.as_cuda_array(cupy.empty(shape, dtype))

    return allocate


def device_array(shape, dtype):
    allocate = _allocator.get()
    if allocate is not None:
        return allocate(shape, dtype)
    from numba import cuda

    return cuda.device_array(shape, dtype)


def lines_view(dev, shape3):
    try:
        return dev.reshape(shape3)
    except NotImplementedError:
        raise ValueError(
            "this non-contiguous device array cannot be viewed as lines without "
            "a copy; pass a contiguous array (torch: .contiguous(), CuPy: "
            "cupy.ascontiguousarray)"
        ) from None


def to_host(dev):
    stream = _stream.get()
    host = dev.copy_to_host(stream=stream)
    if stream:
        stream.synchronize()  # the copy is asynchronous on a stream of its own
    return host


# --------------------------------------------------------------------------
# the backend interface (kernels in _cuda_kernels, imported on first use so
# that ``import fastsmp`` does not pay for ``numba.cuda``)
# --------------------------------------------------------------------------


def _kernels(threads):
    from ._cuda_kernels import kernels

    return kernels(threads)


#: shared memory a block's tile may take (the static limit is 48 KiB, and
#: the reduction trees take 16 bytes a thread)
TILE_BYTES = 40 * 1024


def _launch(x_shape, along, dtype):
    """Peak kernels, grid and tiling for a 3-D ``(outer, n, inner)`` problem
    whose line axis has ``along`` positions to cover: ``(kernels, blocks,
    threads, geometry)`` with ``geometry = (outer, n, inner, lanes, step,
    jblocks)`` as the kernels take it."""
    outer, n, inner = x_shape
    threads, items = config.threads, config.items
    while items > 1 and threads * (items + 2) * np.dtype(dtype).itemsize > TILE_BYTES:
        items //= 2
    # Lanes across lines only where there are enough of them to fill a warp.
    lanes = min(config.lanes, threads) if inner >= config.lanes else 1
    # Threads along the line: a power of two, no more than it takes to cover
    # the line in ``items`` steps; the rest of the block takes more lines of
    # the outer axis (short lines, e.g. 56-sample image rows, would leave
    # most of a block idle otherwise).
    step = threads // lanes
    while step > 1 and (step // 2) * items >= along:
        step //= 2
    rows = threads // (lanes * step)
    jblocks = max(1, -(-along // (step * items)))
    blocks = -(-outer // rows) * jblocks * -(-inner // lanes)
    from ._cuda_kernels import tiled_kernels

    geometry = (outer, n, inner, lanes, step, jblocks)
    return tiled_kernels(threads, items, np.dtype(dtype).name), blocks, threads, geometry


def _flat(dev):
    """The flat view the peak kernels index (line views are C-contiguous:
    :func:`lines_view` refuses anything else)."""
    return dev.reshape(dev.size)


def _flat_grid(size):
    threads = config.threads
    return max(1, -(-size // threads)), threads


def _as_kernel_filters(filters):
    return tuple(np.nan if b is None else float(b) for b in filters)


def _fill(dev, value):
    flat = dev.reshape(dev.size)
    if flat.size:
        kernels = _kernels(config.threads)
        _on_stream(kernels["fill"], *_flat_grid(flat.size))(flat, value)


#: partials per line above which one block, not one thread, adds them up
LONG_LINE_PARTIALS = 64


def smp_lines(x, rtol, filters):
    outer, n, inner = x.shape
    lines = outer * inner
    kernels, blocks, threads, geometry = _launch(x.shape, n, x.dtype)
    sums = device_array(lines, np.float64)
    line_counts = device_array(lines, np.int64)
    if lines == 0:
        return sums, line_counts
    if n == 0:
        _fill(sums, 0.0)
        _fill(line_counts, 0)
        return sums, line_counts
    jblocks = geometry[5]
    totals = device_array((outer, jblocks, inner), np.float64)
    counts = device_array((outer, jblocks, inner), np.int64)
    _on_stream(kernels["smp_partials"], blocks, threads)(_flat(x), geometry, rtol, _as_kernel_filters(filters), totals, counts)
    combine = _kernels(threads)
    if jblocks > LONG_LINE_PARTIALS:  # few long lines: a block per line
        _on_stream(combine["combine_long_partials"], lines, threads)(totals, counts, sums, line_counts)
    else:
        _on_stream(combine["combine_partials"], *_flat_grid(lines))(totals, counts, sums, line_counts)
    return sums, line_counts


def find_peaks_lines(a, filters):
    mask = device_array(a.shape, np.bool_)
    _fill(mask, False)
    if mask.size:
        kernels, blocks, threads, geometry = _launch(a.shape, a.shape[1], a.dtype)
        _on_stream(kernels["find_peaks"], blocks, threads)(_flat(a), geometry, _as_kernel_filters(filters), mask)
    return mask


def curvature_lines(x):
    outer, n, inner = x.shape
    out = device_array((outer, max(n - 2, 0), inner), x.dtype)
    if out.size:
        kernels, blocks, threads, geometry = _launch(x.shape, n - 2, x.dtype)
        _on_stream(kernels["curvature_lines"], blocks, threads)(_flat(x), geometry, out)
    return out


_device_orders = {}  # id(host order) -> (host order, device copy), newest last


def _device_order(order):
    """The device copy of a block order. The dispatcher hands the same
    (memoised) host array for the same shape and axes, so a scan that calls
    ``smp`` once per batch copies it to the device once (a blocking copy),
    not once per call."""
    hit = _device_orders.get(id(order))
    if hit is None or hit[0] is not order:
        hit = (order, to_device(order))
        _device_orders[id(order)] = hit
        while len(_device_orders) > 16:
            del _device_orders[next(iter(_device_orders))]
    return hit[1]


def sum_blocks(line_sums, line_counts, order, block_sums, block_counts):
    blocks = order.shape[0]
    if blocks:
        kernels = _kernels(config.threads)
        _on_stream(kernels["sum_blocks"], *_flat_grid(blocks))(line_sums, line_counts, _device_order(order), block_sums, block_counts)


def zeros(shape, dtype):
    dev = device_array(shape, dtype)
    _fill(dev, 0)
    return dev


def cast(dev, dtype):
    out = device_array(dev.shape, dtype)
    if dev.size:
        kernels = _kernels(config.threads)
        _on_stream(kernels["cast"], *_flat_grid(dev.size))(dev.reshape(dev.size), out.reshape(out.size))
    return out
