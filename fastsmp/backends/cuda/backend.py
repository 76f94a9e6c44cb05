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

Results come from the call's allocator and kernels go to its stream
(:mod:`.memory`).

Every backend function takes a 3-D device view ``(outer, n, inner)``, lines along
axis 1, in the working dtype. Tests shrink :data:`config` to a few threads so
that plateaus across block boundaries are exercised under the simulator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import peak_table
from ..spec import kernel_filters
from . import selection as peak_selection
from .memory import device_array, on_stream, to_device, to_host

name = "cuda"
on_device = True


@dataclass
class LaunchConfig:
    #: threads per block; a power of two
    threads: int = 256
    #: samples each thread tests along the line
    items: int = 16
    #: neighbouring lines per block when the line axis is not the last one
    lanes: int = 32


#: the launch configuration every call uses (tests shrink it, so that
#: plateaus cross block boundaries under the simulator)
config = LaunchConfig()


def _kernels(threads):
    from .kernels import kernels

    return kernels(threads)


#: shared memory a block's tile may take (the static limit is 48 KiB, and
#: the reduction trees take 16 bytes a thread)
TILE_BYTES = 40 * 1024


def launch(x_shape, along, dtype):
    """Peak kernels, grid and tiling for a 3-D ``(outer, n, inner)`` problem
    whose line axis has ``along`` positions to cover: ``(kernels, blocks,
    threads, geometry)``, the :class:`~.kernels.Geometry` as the kernels
    take it."""
    from .kernels import Geometry, tiled_kernels

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
    geometry = Geometry(outer, n, inner, lanes, step, jblocks)
    return tiled_kernels(threads, items, np.dtype(dtype).name), blocks, threads, geometry


def _flat(dev):
    """The flat view the peak kernels index (line views are C-contiguous:
    :func:`lines_view` refuses anything else)."""
    return dev.reshape(dev.size)


def _flat_grid(size):
    threads = config.threads
    return max(1, -(-size // threads)), threads


def _fill(dev, value):
    flat = dev.reshape(dev.size)
    if flat.size:
        kernels = _kernels(config.threads)
        on_stream(kernels["fill"], *_flat_grid(flat.size))(flat, value)


#: partials per line above which one block, not one thread, adds them up
LONG_LINE_PARTIALS = 64


def smp_lines(x, rtol, filters):
    outer, n, inner = x.shape
    lines = outer * inner
    kernels, blocks, threads, geometry = launch(x.shape, n, x.dtype)
    sums = device_array(lines, np.float64)
    line_counts = device_array(lines, np.int64)
    if lines == 0:
        return sums, line_counts
    if n == 0:
        _fill(sums, 0.0)
        _fill(line_counts, 0)
        return sums, line_counts
    jblocks = geometry.jblocks
    totals = device_array((outer, jblocks, inner), np.float64)
    counts = device_array((outer, jblocks, inner), np.int64)
    on_stream(kernels["smp_partials"], blocks, threads)(_flat(x), geometry, rtol, kernel_filters(filters), totals, counts)
    combine = _kernels(threads)
    if jblocks > LONG_LINE_PARTIALS:  # few long lines: a block per line
        on_stream(combine["combine_long_partials"], lines, threads)(totals, counts, sums, line_counts)
    else:
        on_stream(combine["combine_partials"], *_flat_grid(lines))(totals, counts, sums, line_counts)
    return sums, line_counts


def find_peaks_lines(a, filters):
    mask = device_array(a.shape, np.bool_)
    _fill(mask, False)
    if mask.size:
        kernels, blocks, threads, geometry = launch(a.shape, a.shape[1], a.dtype)
        on_stream(kernels["find_peaks"], blocks, threads)(_flat(a), geometry, kernel_filters(filters), mask)
    return mask


def curvature_lines(x):
    outer, n, inner = x.shape
    out = device_array((outer, max(n - 2, 0), inner), x.dtype)
    if out.size:
        kernels, blocks, threads, geometry = launch(x.shape, n - 2, x.dtype)
        on_stream(kernels["curvature_lines"], blocks, threads)(_flat(x), geometry, out)
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
        on_stream(kernels["sum_blocks"], *_flat_grid(blocks))(line_sums, line_counts, _device_order(order), block_sums, block_counts)


def cast(dev, dtype):
    """``dev`` converted to ``dtype`` (a device copy; ``dev`` itself where
    it already has that dtype)."""
    if dev.dtype == np.dtype(dtype):
        return dev
    out = device_array(dev.shape, dtype)
    if dev.size:
        kernels = _kernels(config.threads)
        on_stream(kernels["cast"], *_flat_grid(dev.size))(dev.reshape(dev.size), out.reshape(out.size))
    return out


def zeros(shape, dtype):
    dev = device_array(shape, dtype)
    _fill(dev, 0)
    return dev


def smp_maps(x, rtol, filters):
    """No fused pass over two axes on the GPU yet: the dispatcher adds the
    lines along each axis."""
    return None


__all__ = ["name", "on_device", "smp_lines", "smp_maps", "find_peaks_lines", "curvature_lines", "sum_blocks", "zeros",
           "cast", "to_host", "config", "LaunchConfig", "launch"]


def select_peaks_lines(a, selection, filters, names):
    return peak_table.find(peak_selection, a, selection, filters, names, find_peaks_lines)


def measure_peaks_lines(a, mask, selection, prominence_data, names):
    return peak_table.measure_marks(peak_selection, a, mask, selection, prominence_data, names)


def smp_selected_lines(v, rtol, filters, selection):
    return peak_table.smp_selected(peak_selection, v, rtol, filters, selection, find_peaks_lines)
