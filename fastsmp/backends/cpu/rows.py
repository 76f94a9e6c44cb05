"""The rows layout: lines along the last axis (``inner == 1``), at least one
block long.

A task takes whole lines, or one chunk of a line when there are too few
lines to keep every core busy (:func:`fastsmp.backends.cpu.tiling.rows_tiling`).
Each block of BLOCK values is done in two SIMD loops: fill a buffer with the
flagged floored ``|d|``, then sum its strict local maxima. A block with a
rising plateau, or a NaN flag from finite samples, is redone by the exact
scan. A chunk owns the peaks whose *left edge* lies in it and follows a
plateau past its end, so every peak is found exactly once however the line
is cut.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange

from ..spec import curvature
from .fills import fill_row
from .memory import U1, U2
from .peaks import has_non_finite, plateau_start, scan_curvature, scan_signal, strict_peak, strict_run
from .sums import SUM_RUN, add_compensated, compensated_total, count_in, lane_counter

#: values of the floored second difference per block
BLOCK = 1024

_curvature = curvature.cpu


@numba.njit(cache=True)
def sum_strict_peaks(a, width, filters):
    """Sum and count of the kept strict maxima among ``a[1 : width-1]``, and
    whether a plateau starts there; the sum is NaN if any of ``a`` is (a NaN
    flag)."""
    total = 0.0
    count = 0
    plateau = False
    for r in range(0, width - 2, SUM_RUN):
        s, k, p = strict_run(a, np.uint64(r), min(SUM_RUN, width - 2 - r) + 2, filters)
        total += np.float64(s)
        count += k
        plateau |= p
    zero = a.dtype.type(0)
    return total + np.float64(a[width - 2] * zero + a[width - 1] * zero), count, plateau


@numba.njit(cache=True)
def _mark_strict_peaks(x, line, start, width, filters, mask):
    """``mask[line, j] = True`` exactly at the kept strict maxima ``j`` of
    ``x[line, start+1 : start+width-1]`` (plain stores of every value: a
    conditional byte store does not vectorise); return whether a plateau
    starts there."""
    row = np.uint64(line)
    base = np.uint64(start)
    plateaus = lane_counter(x)
    for k in range(width - 2):
        j = base + np.uint64(k)
        prev = x[row, j]
        cur = x[row, j + U1]
        nxt = x[row, j + U2]
        mask[row, j + U1] = strict_peak(prev, cur, nxt, filters)
        plateaus = count_in(plateaus, plateau_start(prev, cur, nxt))
    return plateaus > 0


@numba.njit(cache=True)
def chunk_bounds(m, chunks, c):
    """Candidate left edges ``[lo, hi)`` of chunk ``c`` of ``chunks``: the
    interior ``1 .. m-2`` of a signal of length ``m``, cut evenly."""
    interior = max(m - 2, 0)
    lo = 1 + (interior * c) // chunks
    hi = 1 + (interior * (c + 1)) // chunks
    return lo, hi


@numba.njit(inline="always")
def _task(task, chunks, lines_per_task, lines):
    """Task ``task``: chunk ``c`` of lines ``[first, end)``."""
    group = task // chunks
    return task - group * chunks, group * lines_per_task, min((group + 1) * lines_per_task, lines)


@numba.njit(cache=True)
def _smp_row_chunk(x, line, rtol, filters, chunks, c, buf):
    """Sum and count of chunk ``c`` of line ``line`` (NaN for a NaN or inf
    sample), block by block into the work buffer ``buf``."""
    n = x.shape[1]
    m = n - 2
    total = 0.0
    compensation = 0.0
    count = 0
    lo, hi = chunk_bounds(m, chunks, c)
    # A block's d values use x[b-1 .. e+2], so the chunk's blocks see
    # x[lo-1 .. hi+1], and the chunks together every sample (an empty chunk
    # checks its own).
    bad = False
    for b in range(lo, hi, BLOCK):
        e = min(b + BLOCK, hi)
        fill_row(x, line, b - 1, e - b + 2, rtol, buf)  # buf[k] = a[b - 1 + k]
        s, k, plateau = sum_strict_peaks(buf, e - b + 2, filters)
        if s != s:  # an s that is not finite
            bad = has_non_finite(x[line, b - 1 : e + 3])
            if bad:
                break
            plateau = True  # finite samples overflowed: the exact scan floors d as SPEC 4 says
        if plateau:
            s, k = scan_curvature(x[line], b, e, m, rtol, filters)
        total, compensation = add_compensated(total, compensation, s)
        count += k
    if hi <= lo:
        bad = has_non_finite(x[line, lo - 1 : min(hi + 1, n)])
    return (np.nan if bad else compensated_total(total, compensation)), count


@numba.njit(parallel=True, cache=True, nogil=True)
def smp_rows(x, rtol, filters, lines_per_task, chunks):
    """Per line of ``x`` (2-D) and chunk: the partial sums and counts
    (``(lines, chunks)`` each, combined by
    :func:`fastsmp.backends.cpu.sums.combine_chunks`)."""
    lines, n = x.shape
    totals = np.zeros((lines, chunks))
    counts = np.zeros((lines, chunks), np.int64)
    for task in prange(-(-lines // lines_per_task) * chunks):
        c, first, end = _task(task, chunks, lines_per_task, lines)
        buf = np.empty(BLOCK + 2, x.dtype)
        for line in range(first, end):
            totals[line, c], counts[line, c] = _smp_row_chunk(x, line, rtol, filters, chunks, c, buf)
    return totals, counts


@numba.njit(parallel=True, cache=True, nogil=True)
def find_peaks_rows(x, filters, lines_per_task, chunks, mask):
    """Two passes, so that no store can undo another: all strict maxima
    first, then the exact scan of the blocks where a plateau starts (its
    peak may lie in a later block or chunk, written by another task)."""
    lines, n = x.shape
    blocks = -(-(n // chunks + 2) // BLOCK)  # per chunk, at most
    plateaus = np.zeros((lines, chunks, blocks), np.bool_)
    tasks = -(-lines // lines_per_task) * chunks
    for task in prange(tasks):
        c, first, end = _task(task, chunks, lines_per_task, lines)
        lo, hi = chunk_bounds(n, chunks, c)
        for line in range(first, end):
            for b in range(lo, hi, BLOCK):
                e = min(b + BLOCK, hi)
                plateaus[line, c, (b - lo) // BLOCK] = _mark_strict_peaks(x, line, b - 1, e - b + 2, filters, mask)
    for task in prange(tasks):
        c, first, end = _task(task, chunks, lines_per_task, lines)
        lo, hi = chunk_bounds(n, chunks, c)
        for line in range(first, end):
            for b in range(lo, hi, BLOCK):
                if plateaus[line, c, (b - lo) // BLOCK]:
                    scan_signal(x[line], b, min(b + BLOCK, hi), n, filters, mask[line])


@numba.njit(parallel=True, cache=True, nogil=True)
def curvature_rows(x, out):
    """``out[line] = d`` of every line of ``x`` (2-D)."""
    lines, n = x.shape
    for line in prange(lines):
        v = x[line]
        d = out[line]
        for j in range(n - 2):
            d[j] = _curvature(v[j], v[j + 1], v[j + 2])


@numba.njit(parallel=True, cache=True, nogil=True)
def smp_peakless(x):
    """Lines (3-D view, any layout) shorter than 5 samples: SMP 0 and count
    0, or NaN for a line with a NaN or an inf (decided in the README): a NaN
    check per line, with no allocation and no call per tiny line."""
    outer, n, inner = x.shape
    sums = np.zeros(outer * inner)
    counts = np.zeros(outer * inner, np.int64)
    for o in prange(outer):
        for j in range(n):  # memory order; a bad sample marks its line
            for i in range(inner):
                v = x[o, j, i]
                if (v - v) != 0:
                    sums[o * inner + i] = np.nan
    return sums, counts
