"""SciPy's peak rules on CUDA: one thread per line around each body of
:mod:`fastsmp.backends.peak_rules`, for :mod:`fastsmp.backends.peak_table`.

The same loops as :mod:`fastsmp.backends.cpu.selection`, with the same
names; a line's walk is sequential, as SciPy's is, so a launch has as many
threads as lines. Kernels are built on first use (importing this module
never touches the CUDA driver; the cuda backend imports it on first use) and queued on the call's stream.
"""

from __future__ import annotations

import functools

import numpy as np
from numba import cuda  # a module global: the simulator swaps it inside kernels

from .. import peak_table
from ..peak_rules import compact, count_kept, floored, keep_distant, line_total, mark, marked, maxima, measure
from .kernels import kernels
from .memory import device_array, on_stream
from .memory import to_device as _to_device
from .memory import to_host as _to_host

#: threads per block of the one-thread-per-line kernels
THREADS = 128


@functools.lru_cache(maxsize=None)
def _kernels():
    maxima_ = maxima("cuda")
    measure_ = measure("cuda")
    floored_ = floored("cuda")
    marked_, keep_distant_, count_kept_ = marked.cuda, keep_distant.cuda, count_kept.cuda
    compact_, mark_, line_total_ = compact.cuda, mark.cuda, line_total.cuda

    @cuda.jit
    def maxima_lines(x, rules, filters, offsets, store, peaks, heights, lefts, rights, sizes, left_thresholds,
                     right_thresholds):
        line = cuda.grid(1)
        if line < offsets.size - 1:
            inner = x.shape[2]
            count = maxima_(x, line // inner, line % inner, rules, filters, offsets[line], store, peaks, heights,
                            lefts, rights, sizes, left_thresholds, right_thresholds)
            if store == 0:
                offsets[line + 1] = count

    @cuda.jit
    def marked_lines(mask, x, offsets, store, peaks, heights, left_thresholds, right_thresholds):
        line = cuda.grid(1)
        if line < offsets.size - 1:
            inner = mask.shape[2]
            count = marked_(mask, x, line // inner, line % inner, offsets[line], store, peaks, heights,
                            left_thresholds, right_thresholds)
            if store == 0:
                offsets[line + 1] = count

    @cuda.jit
    def keep_distant_lines(offsets, peaks, order, keep, distance):
        line = cuda.grid(1)
        if line < offsets.size - 1:
            keep_distant_(peaks, order, keep, offsets[line], offsets[line + 1], distance)

    @cuda.jit
    def measure_lines(x, rules, offsets, peaks, keep, given, prominences, left_bases, right_bases, widths,
                      width_heights, left_ips, right_ips, no_floats, no_ints):
        # no block summaries here (no per-thread scratch): SciPy's plain walk
        line = cuda.grid(1)
        if line < offsets.size - 1:
            inner = x.shape[2]
            measure_(x, line // inner, line % inner, rules, offsets[line], offsets[line + 1], peaks, keep, given,
                     prominences, left_bases, right_bases, widths, width_heights, left_ips, right_ips,
                     (no_floats, no_floats, no_ints, no_floats, no_ints), np.nan)

    @cuda.jit
    def count_kept_lines(offsets, keep, counted):
        line = cuda.grid(1)
        if line < offsets.size - 1:
            counted[line + 1] = count_kept_(keep, offsets[line], offsets[line + 1])

    @cuda.jit
    def compact_lines(offsets, keep, new_offsets, src, dst):
        line = cuda.grid(1)
        if line < offsets.size - 1:
            compact_(keep, offsets[line], offsets[line + 1], src, new_offsets[line], dst)

    @cuda.jit
    def mark_lines(mask, offsets, keep, peaks):
        line = cuda.grid(1)
        if line < offsets.size - 1:
            inner = mask.shape[2]
            mark_(mask, line // inner, line % inner, keep, offsets[line], offsets[line + 1], peaks)

    @cuda.jit
    def total_lines(offsets, keep, heights, sums, counts):
        line = cuda.grid(1)
        if line < offsets.size - 1:
            sums[line], counts[line] = line_total_(keep, offsets[line], offsets[line + 1], heights)

    @cuda.jit
    def floored_lines(v, rtol, a, finite):
        line = cuda.grid(1)
        if line < finite.size:
            inner = v.shape[2]
            finite[line] = floored_(v, line // inner, line % inner, rtol, a)

    @cuda.jit
    def void_lines(finite, sums, counts):
        line = cuda.grid(1)
        if line < finite.size and not finite[line]:
            sums[line] = np.nan
            counts[line] = 0

    return dict(maxima_lines=maxima_lines, marked_lines=marked_lines, keep_distant_lines=keep_distant_lines,
                measure_lines=measure_lines, count_kept_lines=count_kept_lines, compact_lines=compact_lines,
                mark_lines=mark_lines, total_lines=total_lines, floored_lines=floored_lines, void_lines=void_lines)


def _launch(name, threads_for, *args):
    blocks = max(1, -(-threads_for // THREADS))
    on_stream(_kernels()[name], blocks, THREADS)(*args)


def maxima_lines(x, rules, filters, offsets, *rest):
    _launch("maxima_lines", offsets.size - 1, x, rules, filters, offsets, *rest)


def marked_lines(mask, x, offsets, store, peaks, heights, left_thresholds, right_thresholds):
    _launch("marked_lines", offsets.size - 1, mask, x, offsets, store, peaks, heights, left_thresholds,
            right_thresholds)


def keep_distant_lines(offsets, *rest):
    _launch("keep_distant_lines", offsets.size - 1, offsets, *rest)


def measure_lines(x, rules, offsets, *rest):
    _launch("measure_lines", offsets.size - 1, x, rules, offsets, *rest, empty(0, np.float64), empty(0, np.int64))


def count_kept_lines(offsets, keep, counted):
    _launch("count_kept_lines", offsets.size - 1, offsets, keep, counted)


def compact_lines(offsets, *rest):
    _launch("compact_lines", offsets.size - 1, offsets, *rest)


def mark_lines(mask, offsets, *rest):
    _launch("mark_lines", offsets.size - 1, mask, offsets, *rest)


def total_lines(offsets, *rest):
    _launch("total_lines", offsets.size - 1, offsets, *rest)


def floored_lines(v, rtol, a, finite):
    _launch("floored_lines", finite.size, v, rtol, a, finite)


def void_lines(finite, sums, counts):
    _launch("void_lines", finite.size, finite, sums, counts)


def select_by_distance(offsets, device_offsets, peaks, heights, keep, distance):
    """The ``distance`` rule, in the order of
    :func:`fastsmp.backends.peak_table.order_by_height` sorted on the host
    (a GPU sort would not break ties as ``numpy.argsort`` does)."""
    order = _to_device(peak_table.order_by_height(_to_host(heights), offsets))
    keep_distant_lines(device_offsets, peaks, order, keep, distance)


def lines64(x):
    """``x`` as it is: a kernel compiles for the dtype it gets."""
    return x


def marks(mask):
    return mask


def unlines(mask, shape):
    return mask


def empty(shape, dtype):
    return device_array(shape, dtype)


def full(shape, dtype, value):
    dev = device_array(shape, dtype)
    if dev.size:
        fill = kernels(THREADS)["fill"]  # the backend's own
        on_stream(fill, max(1, -(-dev.size // THREADS)), THREADS)(dev.reshape(dev.size), value)
    return dev


def to_host(arr):
    return _to_host(arr)


def to_device(host):
    return _to_device(host)
