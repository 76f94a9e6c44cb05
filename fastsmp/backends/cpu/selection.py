"""SciPy's peak rules on the CPU: a parallel loop over lines around each
body of :mod:`fastsmp.backends.peak_rules`, for :mod:`fastsmp.backends.peak_table`.

A line ``L`` is ``x[L // inner, :, L % inner]``; its table entries are
``offsets[L]:offsets[L + 1]``. Lines are independent, so each loop's result
does not depend on how the lines are shared out among threads.
"""

from __future__ import annotations

import numba
import numpy as np

from ..peak_rules import compact, count_kept, floored, keep_distant, line_total, mark, marked, maxima, measure

_floored = floored("cpu")
_maxima = maxima("cpu")
_measure = measure("cpu")
_keep_distant = keep_distant.cpu
_count_kept = count_kept.cpu
_compact = compact.cpu
_mark = mark.cpu
_marked = marked.cpu
_line_total = line_total.cpu

_jit = numba.njit(parallel=True, cache=True, nogil=True)


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
def marked_lines(mask, offsets, store, peaks):
    """Like :func:`maxima_lines` for the positions a mask marks."""
    inner = mask.shape[2]
    for line in numba.prange(offsets.size - 1):
        count = _marked(mask, line // inner, line % inner, offsets[line], store, peaks)
        if not store:
            offsets[line + 1] = count


@_jit
def keep_distant_lines(offsets, peaks, order, keep, distance):
    for line in numba.prange(offsets.size - 1):
        _keep_distant(peaks, order, keep, offsets[line], offsets[line + 1], distance)


@_jit
def measure_lines(x, rules, offsets, peaks, keep, given, prominences, left_bases, right_bases, widths,
                  width_heights, left_ips, right_ips):
    inner = x.shape[2]
    for line in numba.prange(offsets.size - 1):
        _measure(x, line // inner, line % inner, rules, offsets[line], offsets[line + 1], peaks, keep, given,
                 prominences, left_bases, right_bases, widths, width_heights, left_ips, right_ips)


@_jit
def count_kept_lines(offsets, keep, counted):
    for line in numba.prange(offsets.size - 1):
        counted[line + 1] = _count_kept(keep, offsets[line], offsets[line + 1])


@_jit
def compact_lines(offsets, keep, new_offsets, src, dst):
    for line in numba.prange(offsets.size - 1):
        _compact(keep, offsets[line], offsets[line + 1], src, new_offsets[line], dst)


@_jit
def mark_lines(mask, offsets, keep, peaks):
    inner = mask.shape[2]
    for line in numba.prange(offsets.size - 1):
        _mark(mask, line // inner, line % inner, keep, offsets[line], offsets[line + 1], peaks)


@_jit
def total_lines(offsets, keep, heights, sums, counts):
    for line in numba.prange(offsets.size - 1):
        sums[line], counts[line] = _line_total(keep, offsets[line], offsets[line + 1], heights)


@_jit
def floored_lines(v, rtol, a, finite):
    """The floored magnitude of every line of ``v`` into ``a``, and whether
    each line is finite."""
    inner = v.shape[2]
    for line in numba.prange(finite.size):
        finite[line] = _floored(v, line // inner, line % inner, rtol, a)


@_jit
def void_lines(finite, sums, counts):
    """SPEC 7: NaN and 0 for the lines that are not finite."""
    for line in numba.prange(finite.size):
        if not finite[line]:
            sums[line] = np.nan
            counts[line] = 0


def empty(shape, dtype):
    return np.empty(shape, dtype)


def full(shape, dtype, value):
    return np.full(shape, value, dtype)


def to_host(arr):
    return arr


def to_device(host):
    return host
