"""SciPy's peak rules on the CPU: a loop over lines around each
body of :mod:`fastsmp.backends.peak_rules`, for :mod:`fastsmp.backends.peak_table`.

A line ``L`` is ``x[L // inner, :, L % inner]``; its table entries are
``offsets[L]:offsets[L + 1]``. Lines are independent, so each loop's result
does not depend on how the lines are shared out among threads.
"""

from __future__ import annotations

import numba
import numpy as np

from .. import peak_table
from ..peak_rules import (
    BLOCK,
    block_summaries,
    compact,
    count_kept,
    floored,
    keep_distant,
    keep_distant_by_height,
    line_total,
    mark,
    marked,
    maxima,
    measure,
)
from .memory import read_only

_floored = floored("cpu")
_maxima = maxima("cpu")
_measure = measure("cpu")
_keep_distant = keep_distant.cpu
_count_kept = count_kept.cpu
_compact = compact.cpu
_mark = mark.cpu
_marked = marked.cpu
_line_total = line_total.cpu
_block_summaries = block_summaries.cpu
_keep_distant_by_height = keep_distant_by_height.cpu

_jit = numba.njit(parallel=True, cache=True, nogil=True)
# The loops over the table do a few operations per peak: one thread keeps
# up with memory, and a serial loop compiles in a fraction of the time.
_serial = numba.njit(cache=True, nogil=True)


@_jit
def maxima_lines(x, rules, filters, offsets, store, peaks, heights, lefts, rights, sizes, left_thresholds,
                 right_thresholds):
    """``store == 0``: each line's count of kept maxima into ``offsets[L + 1]``;
    else the maxima into the table from ``offsets[L]``."""
    inner = x.shape[2]
    for line in numba.prange(offsets.size - 1):
        count = _maxima(x, line // inner, line % inner, rules, filters, offsets[line], store, peaks, heights,
                        lefts, rights, sizes, left_thresholds, right_thresholds)
        if store == 0:
            offsets[line + 1] = count


@_jit
def marked_lines(mask, x, offsets, store, peaks, heights, left_thresholds, right_thresholds):
    """Like :func:`maxima_lines` for the positions a mask marks."""
    inner = mask.shape[2]
    for line in numba.prange(offsets.size - 1):
        count = _marked(mask, x, line // inner, line % inner, offsets[line], store, peaks, heights, left_thresholds,
                            right_thresholds)
        if store == 0:
            offsets[line + 1] = count


@_serial
def keep_distant_lines(offsets, peaks, order, keep, distance, lines):
    """The ``distance`` rule in the order ``order`` on the lines flagged in ``lines``."""
    for line in range(offsets.size - 1):
        if lines[line]:
            _keep_distant(peaks, order, keep, offsets[line], offsets[line + 1], distance)


@_jit
def measure_lines(x, rules, offsets, peaks, keep, given, prominences, left_bases, right_bases, widths,
                  width_heights, left_ips, right_ips):
    """Prominences, the ``prominence`` rule, widths, the ``width`` rule. The
    prominence walks cross whole blocks of low samples in one step
    (:func:`~fastsmp.backends.peak_rules.block_summaries`), and stop early
    where only a minimum prominence is asked and nobody reads the values."""
    outer, n, inner = x.shape
    lower_bound_only = (rules.exact_prominence == 0 and rules.need_width == 0
                        and rules.prominence_max != rules.prominence_max)
    enough = rules.prominence_min if lower_bound_only else np.nan
    for line in numba.prange(offsets.size - 1):
        o, i = line // inner, line % inner
        start, stop = offsets[line], offsets[line + 1]
        blocks = -(-n // BLOCK) if rules.need_prominence != 0 and not given and stop > start else 0
        high = np.empty(blocks)
        low_right = np.empty(blocks)
        low_right_at = np.empty(blocks, np.int64)
        low_left = np.empty(blocks)
        low_left_at = np.empty(blocks, np.int64)
        _block_summaries(x, o, i, high, low_right, low_right_at, low_left, low_left_at)
        _measure(x, o, i, rules, start, stop, peaks, keep, given, prominences, left_bases, right_bases, widths,
                 width_heights, left_ips, right_ips, (high, low_right, low_right_at, low_left, low_left_at), enough)


@_serial
def count_kept_lines(offsets, keep, counted):
    for line in range(offsets.size - 1):
        counted[line + 1] = _count_kept(keep, offsets[line], offsets[line + 1])


@_serial
def compact_lines(offsets, keep, new_offsets, src, dst):
    for line in range(offsets.size - 1):
        _compact(keep, offsets[line], offsets[line + 1], src, new_offsets[line], dst)


@_serial
def mark_lines(mask, offsets, keep, peaks):
    inner = mask.shape[2]
    for line in range(offsets.size - 1):
        _mark(mask, line // inner, line % inner, keep, offsets[line], offsets[line + 1], peaks)


@_serial
def total_lines(offsets, keep, heights, sums, counts):
    for line in range(offsets.size - 1):
        sums[line], counts[line] = _line_total(keep, offsets[line], offsets[line + 1], heights)


@_jit
def keep_distant_lines_unsorted(offsets, peaks, heights, keep, distance, tied):
    """The ``distance`` rule on every line where no two peaks within reach
    have equal heights (:func:`~fastsmp.backends.peak_rules.keep_distant_by_height`);
    the others are flagged in ``tied``."""
    for line in numba.prange(offsets.size - 1):
        start, stop = offsets[line], offsets[line + 1]
        if stop - start < 2:
            continue
        state = np.zeros(stop - start, np.uint8)
        stack = np.empty(stop - start, np.int64)
        tied[line] = not _keep_distant_by_height(peaks, heights, keep, start, stop, distance, state, stack)


def select_by_distance(offsets, device_offsets, peaks, heights, keep, distance):
    """The ``distance`` rule on every line: without sorting where no equal
    heights are within reach, else in SciPy's order (``numpy.argsort`` of
    the line's heights, :func:`fastsmp.backends.peak_table.order_by_height`)."""
    tied = np.zeros(offsets.size - 1, np.bool_)
    keep_distant_lines_unsorted(device_offsets, peaks, heights, keep, distance, tied)
    if tied.any():
        lines = np.flatnonzero(tied)
        order = peak_table.order_by_height(heights, offsets, lines)
        keep_distant_lines(device_offsets, peaks, order, keep, distance, tied)


@_jit
def floored_lines(v, rtol, a, finite):
    """The floored magnitude of every line of ``v`` into ``a``, and whether
    each line is finite."""
    inner = v.shape[2]
    for line in numba.prange(finite.size):
        finite[line] = _floored(v, line // inner, line % inner, rtol, a)


@_serial
def void_lines(finite, sums, counts):
    """SPEC 7: NaN and 0 for the lines that are not finite."""
    for line in range(finite.size):
        if not finite[line]:
            sums[line] = np.nan
            counts[line] = 0


def lines64(x):
    """``x`` as the kernels here read it: one line per row, ``(outer *
    inner, n, 1)``, float64 (as SciPy reads it; exact for every working
    dtype), C-contiguous and read-only. Each kernel then compiles once, not
    once per dtype and layout, and the walks along a line read neighbouring
    samples (lines along a middle axis are copied transposed: their strided
    walks cost more than the copy). Lines keep their order."""
    outer, n, inner = x.shape
    rows = np.moveaxis(x, 1, 2) if inner > 1 else x
    return read_only(np.ascontiguousarray(rows, dtype=np.float64).reshape(outer * inner, n, 1))


def marks(mask):
    """A mask as the kernels here read it: laid out as :func:`lines64` lays
    out the lines, read-only."""
    outer, n, inner = mask.shape
    rows = np.moveaxis(mask, 1, 2) if inner > 1 else mask
    return read_only(np.ascontiguousarray(rows, dtype=np.bool_).reshape(outer * inner, n, 1))


def unlines(mask, shape):
    """A mask drawn on :func:`lines64`'s rows, back in the ``(outer, n,
    inner)`` layout ``shape``."""
    outer, n, inner = shape
    return np.moveaxis(mask.reshape(outer, inner, n), 2, 1)


def empty(shape, dtype):
    return np.empty(shape, dtype)


def full(shape, dtype, value):
    return np.full(shape, value, dtype)


def to_host(arr):
    return arr


def to_device(host):
    return host
