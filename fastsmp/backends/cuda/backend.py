"""The ``"cuda"`` backend: Numba CUDA kernels (NVIDIA's numba-cuda target).

Decomposition (:mod:`.walkers`): each thread walks one *stretch* of one
line, sample by sample, with the last samples, the previous value and the
open candidate in registers and SciPy's peak rule as a small state machine;
threads are numbered with the inner-axis line fastest, so where lines run
down columns a warp's loads are coalesced, and where they run along rows a
warp walks neighbouring stretches of one line. A candidate open at the end
of a stretch is followed into the next, so every peak is found once. For
``smp`` the last stretch of a line to finish adds the line's stretches in
order (a per-line arrival counter in scratch that every launch leaves
zeroed); lines of more than :data:`LONG_LINE_PARTIALS` stretches are added
by a second launch, one block per line. Over both axes of small maps
(``axis=(-2, -1)`` on ``(N, C, 56, 56)`` activations) a block takes a whole
map into shared memory and walks its rows and columns: one pass instead
of two. Every sum is in a fixed order: results are the same run to run.
SciPy's other rules (``distance``, ``prominence``, ``width``, ...) run on the
same design (:mod:`.selection`, :mod:`.distance`): the table of peaks is
filled a thread per stretch, then a thread per peak.

A call allocates only its results (from the input's own allocator, in the
dtype it returns them in) and queues its kernels on that library's stream
(:mod:`.memory`); scratch is kept between calls per library, device and
stream (:func:`scratch`).

Every backend function takes a 3-D device view ``(outer, n, inner)``, lines along
axis 1, in the working dtype. Tests shrink :data:`config` to a few threads and
stretches of a few samples, so that plateaus, NaNs and line ends fall between
threads and blocks under the simulator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import peak_table
from ..spec import kernel_filters
from . import selection as peak_selection
from . import kernels, walkers
from .memory import device_array, on_stream, scratch_key, to_device, to_host
from .walkers import MAX_STRETCH, LineResults

name = "cuda"
on_device = True


@dataclass
class LaunchConfig:
    #: threads per block
    threads: int = 128
    #: values of the signal each thread walks (at most
    #: :data:`~.walkers.MAX_STRETCH`)
    stretch: int = MAX_STRETCH


#: the launch configuration every call uses (tests shrink it, so that
#: plateaus cross stretches and blocks under the simulator)
config = LaunchConfig()
peak_selection.launch_config = lambda: config  # read at each call: tests rebind ``config``


def _kernels(threads):
    return kernels.kernels(threads)


def launch(x_shape, values):
    """The walkers' :class:`~.walkers.Stretches` for a 3-D ``(outer, n,
    inner)`` problem whose threads cover ``values`` positions of each line
    (at least one stretch a line), and the grid: ``(stretches, blocks,
    threads)``."""
    outer, n, inner = x_shape
    length = max(1, min(config.stretch, MAX_STRETCH))
    count = max(1, -(-values // length))
    threads = config.threads
    blocks = max(1, -(-(outer * count * inner) // threads))
    return walkers.Stretches(outer, n, inner, length, count, int(count <= LONG_LINE_PARTIALS)), blocks, threads


def _walkers():
    return walkers.kernels()


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


#: stretches per line above which a second launch, one block per line, adds
#: them up (below, the last stretch of a line to finish does)
LONG_LINE_PARTIALS = 64

_scratch = {}  # (scratch_key(), name) -> device array


def scratch(name, size, dtype):
    """A device array of at least ``size`` items of ``dtype``, kept between
    calls for the call's library, device and stream (:func:`.memory.scratch_key`),
    so that a scan's calls allocate none; zeroed when it is allocated (the
    kernels that count in it leave it zeroed). Sizes grow in powers of two."""
    key = (scratch_key(), name)
    have = _scratch.get(key)
    if have is None or have.size < size:
        have = device_array(1 << max(0, size - 1).bit_length(), dtype)
        _fill(have, 0)
        _scratch[key] = have
    return have


def free_scratch():
    """Give back the device memory :func:`scratch` keeps (about 1/128 of
    the largest float32 input of a call, per stream)."""
    _scratch.clear()


def smp_lines(x, rtol, filters, dtype=np.float64):
    outer, n, inner = x.shape
    lines = outer * inner
    sums = device_array(lines, dtype)
    line_counts = device_array(lines, np.int64)
    if lines == 0:
        return sums, line_counts
    stretches, blocks, threads = launch(x.shape, n - 2)
    parts = lines * stretches.count if stretches.count > 1 else 1
    results = LineResults(sums, line_counts, scratch("partial_sums", parts, np.float64),
                          scratch("partial_counts", parts, np.int64), scratch("arrivals", lines, np.int32))
    big = x.dtype.type(np.inf)
    on_stream(_walkers()["smp_stretches"], blocks, threads)(_flat(x), stretches, rtol, big, kernel_filters(filters),
                                                            results)
    if stretches.count > 1 and not stretches.fused:  # few long lines: a block per line adds them
        shape = (outer, stretches.count, inner)
        on_stream(_kernels(threads)["combine_long_partials"], lines, threads)(
            results.partial_sums[:parts].reshape(shape), results.partial_counts[:parts].reshape(shape), sums,
            line_counts)
    return sums, line_counts


def find_peaks_lines(a, filters):
    mask = device_array(a.shape, np.bool_)
    _fill(mask, False)
    if mask.size:
        stretches, blocks, threads = launch(a.shape, a.shape[1] - 1)
        on_stream(_walkers()["find_peaks"], blocks, threads)(_flat(a), stretches, a.dtype.type(0),
                                                             kernel_filters(filters), _flat(mask))
    return mask


def curvature_lines(x):
    outer, n, inner = x.shape
    out = device_array((outer, max(n - 2, 0), inner), x.dtype)
    if out.size:
        stretches, blocks, threads = launch(x.shape, n - 2)
        on_stream(_walkers()["curvature_stretches"], blocks, threads)(_flat(x), stretches, _flat(out))
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
        on_stream(kernels["sum_blocks"], *_flat_grid(blocks))(line_sums, line_counts, _device_order(order), block_sums,
                                                              block_counts)


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


#: shared memory a map may take (48 KiB a block without opting in)
MAP_BYTES = 40 * 1024


def smp_maps(x, rtol, filters):
    """SMP and count over the last two axes of ``x``, a block per map in
    shared memory (:func:`.walkers.map_kernel`): one pass over the input
    where the two axes' lines would take two. Sums in the working dtype;
    None where a map does not fit (the dispatcher then adds the lines)."""
    from .walkers import Maps, map_kernel

    if len(x.shape) < 2 or x.size == 0:
        return None
    h, w = x.shape[-2:]
    pitch = w | 1
    if h * pitch * x.dtype.itemsize > MAP_BYTES:
        return None
    maps = Maps(x.size // (h * w), h, w, pitch)
    sums = device_array(maps.count, x.dtype)
    counts = device_array(maps.count, np.int64)
    threads = config.threads
    on_stream(map_kernel(x.dtype.name, threads), maps.count, threads, h * pitch * x.dtype.itemsize)(
        _flat(x), maps, rtol, x.dtype.type(np.inf), kernel_filters(filters), sums, counts)
    return sums, counts


__all__ = ["name", "on_device", "smp_lines", "smp_maps", "find_peaks_lines", "curvature_lines", "sum_blocks", "zeros",
           "cast", "to_host", "config", "LaunchConfig", "launch"]


def select_peaks_lines(a, selection, filters, names):
    return peak_table.find(peak_selection, a, selection, filters, names)


def measure_peaks_lines(a, mask, selection, prominence_data, names):
    return peak_table.measure_marks(peak_selection, a, mask, selection, prominence_data, names)


def smp_selected_lines(v, rtol, filters, selection):
    return peak_table.smp_selected(peak_selection, v, rtol, filters, selection)
