"""The ``"cpu"`` backend: Numba, parallel over lines and over chunks of lines.

Work items are ``(line, chunk)`` pairs: a line is cut into chunks when there
are too few lines to keep every core busy. A chunk owns the peaks whose *left
edge* (the first sample of the plateau) lies in it, and follows a plateau
past its own end when it has to, so every peak is found exactly once however
the line is cut. Only O(lines x chunks) numbers are allocated; the second
difference is never materialised.

Each function takes a 3-D view ``(outer, n, inner)`` with the lines along
axis 1, in the working dtype.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import prange

from ._elementwise import curvature, keep_peak, magnitude, peak_sides

# A chunk is at least this many samples: enough to amortise the work item.
MIN_CHUNK = 1 << 14
_curvature = curvature.cpu
_magnitude = magnitude.cpu
_keep_peak = keep_peak.cpu
_peak_sides = peak_sides.cpu


def _make_scanner(value):
    """The peak scan of SPEC section 5 over the signal ``value(v, j, rtol)``.

    ``scan(v, lo, hi, m, rtol, filters, mask)`` visits the candidate left
    edges ``lo <= l < hi`` (``1 <= lo``, ``hi <= m - 1``) of the signal of
    length ``m`` and returns ``(sum, compensation, count)`` of the kept
    peaks' heights in float64 (Neumaier-compensated, so that float64 lines of
    2**24 samples meet the 1e-12 bound). If ``mask`` is not empty, each kept
    peak ``p`` also sets ``mask[p]``.
    """

    @numba.njit(cache=True)
    def scan(v, lo, hi, m, rtol, filters, mask):
        total = 0.0
        compensation = 0.0
        count = 0
        prev = value(v, lo - 1, rtol)
        cur = value(v, lo, rtol)
        j = lo
        while j < hi:
            nxt = value(v, j + 1, rtol)
            if cur > prev:
                # j is a left edge: find where its plateau ends (SciPy stops
                # the search at the last sample, which is never in a peak).
                k = j + 1
                while nxt == cur and k < m - 1:
                    k += 1
                    nxt = value(v, k, rtol)
                if nxt < cur:
                    left, right = _peak_sides(j, k - 1, prev, cur, nxt)
                    height = float(cur)
                    if _keep_peak(height, left, right, filters):
                        t = total + height
                        if abs(total) >= height:
                            compensation += (total - t) + height
                        else:
                            compensation += (height - t) + total
                        total = t
                        count += 1
                        if mask.size:
                            mask[(j + k - 1) // 2] = True
                prev = cur  # a[k-1] == a[j]
                cur = nxt
                j = k
            else:
                prev = cur
                cur = nxt
                j += 1
        return total, compensation, count

    return scan


@numba.njit(inline="always")
def _sample(v, j, rtol):
    return v[j]


@numba.njit(inline="always")
def _floored_curvature(v, j, rtol):
    v0 = v[j]
    v1 = v[j + 1]
    v2 = v[j + 2]
    return _magnitude(_curvature(v0, v1, v2), v0, v1, v2, rtol)


_scan_signal = _make_scanner(_sample)
_scan_curvature = _make_scanner(_floored_curvature)


@numba.njit(cache=True)
def _chunk_bounds(m, chunks, c):
    """Candidate left edges ``[lo, hi)`` of chunk ``c`` of ``chunks``: the
    interior ``1 .. m-2`` of a signal of length ``m``, cut evenly."""
    interior = max(m - 2, 0)
    lo = 1 + (interior * c) // chunks
    hi = 1 + (interior * (c + 1)) // chunks
    return lo, hi


@numba.njit(parallel=True, cache=True)
def _smp_chunks(x, rtol, filters, chunks):
    outer, n, inner = x.shape
    lines = outer * inner
    m = n - 2
    totals = np.zeros((lines, chunks))
    counts = np.zeros((lines, chunks), np.int64)
    no_mask = np.zeros(0, np.bool_)
    for item in prange(lines * chunks):
        line = item // chunks
        c = item - line * chunks
        v = x[line // inner, :, line % inner]
        # The line is NaN if any sample is non-finite: each chunk checks its
        # own share of the samples (inf * 0 and NaN * 0 are NaN).
        poison = 0.0
        for t in range(n * c // chunks, n * (c + 1) // chunks):
            poison += v[t] * 0.0
        total = poison
        count = 0
        if m >= 3:
            lo, hi = _chunk_bounds(m, chunks, c)
            if lo < hi:
                s, comp, count = _scan_curvature(v, lo, hi, m, rtol, filters, no_mask)
                total += s + comp
        totals[line, c] = total
        counts[line, c] = count
    return totals, counts


@numba.njit(cache=True)
def _combine_chunks(totals, counts):
    lines, chunks = totals.shape
    sums = np.empty(lines)
    line_counts = np.empty(lines, np.int64)
    for line in range(lines):
        s = 0.0
        k = 0
        for c in range(chunks):
            s += totals[line, c]
            k += counts[line, c]
        sums[line] = s
        line_counts[line] = 0 if s != s else k
    return sums, line_counts


@numba.njit(parallel=True, cache=True)
def _find_peaks_chunks(x, filters, chunks, mask):
    outer, n, inner = x.shape
    lines = outer * inner
    for item in prange(lines * chunks):
        line = item // chunks
        c = item - line * chunks
        o = line // inner
        i = line % inner
        lo, hi = _chunk_bounds(n, chunks, c)
        if lo < hi:
            _scan_signal(x[o, :, i], lo, hi, n, 0.0, filters, mask[o, :, i])


@numba.njit(parallel=True, cache=True)
def _curvature_lines(x, out):
    outer, n, inner = x.shape
    for line in prange(outer * inner):
        o = line // inner
        i = line % inner
        for j in range(n - 2):
            out[o, j, i] = _curvature(x[o, j, i], x[o, j + 1, i], x[o, j + 2, i])


@numba.njit(cache=True)
def _sum_blocks(line_sums, line_counts, order, block_sums, block_counts):
    blocks, per_block = order.shape
    for b in range(blocks):
        s = 0.0
        k = 0
        for t in range(per_block):
            s += line_sums[order[b, t]]
            k += line_counts[order[b, t]]
        block_sums[b] += s
        block_counts[b] += k


def _chunks_per_line(lines, m):
    """Cut lines only when there are too few of them to feed every thread."""
    threads = numba.get_num_threads()
    if lines >= 4 * threads or m < 2 * MIN_CHUNK:
        return 1
    return max(1, min(math.ceil(4 * threads / max(lines, 1)), m // MIN_CHUNK))


def _as_kernel_filters(filters):
    return tuple(np.nan if b is None else float(b) for b in filters)


def smp_lines(x, rtol, filters):
    outer, n, inner = x.shape
    chunks = _chunks_per_line(outer * inner, n)
    totals, counts = _smp_chunks(x, rtol, _as_kernel_filters(filters), chunks)
    return _combine_chunks(totals, counts)


def find_peaks_lines(a, filters):
    outer, n, inner = a.shape
    mask = np.zeros(a.shape, np.bool_)
    chunks = _chunks_per_line(outer * inner, n)
    _find_peaks_chunks(a, _as_kernel_filters(filters), chunks, mask)
    return mask


def curvature_lines(x):
    outer, n, inner = x.shape
    out = np.empty((outer, max(n - 2, 0), inner), x.dtype)
    _curvature_lines(x, out)
    return out


def sum_blocks(line_sums, line_counts, order, block_sums, block_counts):
    _sum_blocks(line_sums, line_counts, order, block_sums, block_counts)
