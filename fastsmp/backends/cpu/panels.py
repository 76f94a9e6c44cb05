"""The panels layout: lines along a middle axis (``inner > 1``, e.g.
``axis=-2`` of a C-ordered array), walked row by row.

A task walks down a panel of neighbouring lines, so every read is contiguous
and the loop over the panel's lines vectorises; no transposed copy is made.
A pass takes PANEL_ROWS rows: one loop computes their floored ``|d|`` and
tests each against the two rows above it; the last two rows are kept in a
ring for the next pass. A line whose sum is NaN (a NaN or inf sample, an
overflow, or a rising plateau) is redone by the exact scan.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np
from numba import prange

from ..spec import curvature
from .fills import fill_panel_row, floored_down
from .memory import prefetch
from .peaks import has_non_finite, height_or_flag, plateau_start, scan_curvature, scan_signal, strict_peak
from .sums import add_compensated, compensated_total

_curvature = curvature.cpu

#: rows a panel takes per pass over its lines (see :func:`_add_panel_rows`)
PANEL_ROWS = 4

#: a panel asks for the rows PANEL_AHEAD rows below those it reads next: a
#: row of a narrow panel is a short stretch of memory, too short for the
#: hardware prefetcher (bench/RESULTS.md, "panel prefetch")
PANEL_AHEAD = 4

#: lanes LLVM's vector loop over a panel takes per iteration (8 float32 or
#: 4 float64 with AVX2: the four-row body is not interleaved); the lanes of a
#: panel that do not fill one are left to a scalar loop, unless
#: :func:`padded_lanes` rounds them up
LANE_GROUP = 8


class PanelWork(NamedTuple):
    """Work arrays of :func:`smp_panel`, one entry per lane."""

    ring: np.ndarray  #: (2, lanes) working dtype: the last two rows of |d|
    part: np.ndarray  #: working dtype: partial sums since the last flush
    total: np.ndarray  #: float64: compensated totals
    compensation: np.ndarray  #: float64
    count: np.ndarray  #: int32: peaks since the last flush
    total_count: np.ndarray  #: int64


@numba.njit(cache=True)
def panel_work(width, dtype):
    """The :class:`PanelWork` for panels up to ``width`` lanes wide (called,
    not inlined: Numba's parallel array analysis fails on a named tuple of
    arrays built inside a parallel loop)."""
    return PanelWork(
        np.empty((2, width), dtype),
        np.empty(width, dtype),
        np.empty(width),
        np.empty(width),
        np.empty(width, np.int32),
        np.empty(width, np.int64),
    )


@numba.njit(inline="always")
def _add_panel_rows(x, o, j, i0, width, rtol, filters, ring, part, count, rows):
    """Rows ``j .. j+rows-1`` of a panel in one pass over its lines: each
    row's floored ``|d|`` (``nxt``) decides whether the row above it
    (``cur``) is a kept strict maximum between ``prev`` and ``nxt``.
    ``ring[0]`` and ``ring[1]`` hold rows ``j-2`` and ``j-1`` on entry and
    the last two rows on return. ``part`` (working dtype) gets the peak
    heights, and NaN where a plateau rises or a flagged ``prev`` is read;
    ``count`` (int32) the peaks. Both are flushed often (:func:`smp_panel`):
    narrow lanes run twice as fast as float64 ones.

    With a constant ``rows`` (PANEL_ROWS) LLVM unrolls the inner loop, and
    the ring, the sums and the samples two rows share are loaded once per
    ``rows`` rows instead of once per row."""
    oo = np.uint64(o)
    j0 = np.uint64(j)
    base = np.uint64(i0)
    plateau_flag = ring.dtype.type(np.nan)
    for k in range(width):
        i = base + np.uint64(k)
        prev = ring[0, k]
        cur = ring[1, k]
        p = part[k]
        c = count[k]
        for r in range(rows):
            nxt = floored_down(x, oo, j0 + np.uint64(r), i, rtol)
            strict = strict_peak(prev, cur, nxt, filters)
            p += height_or_flag(prev, cur, nxt, strict, plateau_flag)
            c += np.int32(strict)
            prev = cur
            cur = nxt
        ring[0, k] = prev
        ring[1, k] = cur
        part[k] = p
        count[k] = c


@numba.njit(inline="always")
def _prefetch_panel_row(x, o, j, i0, width):
    per_cache_line = max(1, 64 // x.itemsize)
    for q in range(0, width, per_cache_line):
        prefetch(x, (o, j, i0 + q))


@numba.njit(inline="always")
def smp_panel(x, o, i0, w, lanes, rtol, filters, flush, work, sums, counts, at):
    """SMP of lines ``i0 .. i0+w-1`` of block ``o`` into ``sums[at : at+w]``
    (and ``counts``), walked down PANEL_ROWS rows at a time with ``work``
    (a :class:`PanelWork` at least ``lanes`` wide, any content). The passes
    compute ``lanes >= w`` lanes (see :func:`padded_lanes`); only the first
    ``w`` are results. Partial sums are folded into float64 every ``flush``
    rows (a multiple of PANEL_ROWS). Inlined into the task loop: no call,
    and no reference counting per panel."""
    outer, n, inner = x.shape
    m = n - 2  # at least 3: shorter lines go to smp_peakless
    zero = rtol - rtol
    ring, part, total, compensation, count, total_count = work
    for k in range(lanes):
        total_count[k] = 0
        part[k] = zero
        total[k] = 0.0
        compensation[k] = 0.0
        count[k] = 0
    fill_panel_row(x, o, 0, i0, lanes, rtol, ring, 0)
    fill_panel_row(x, o, 1, i0, lanes, rtol, ring, 1)
    j = 2  # next row of |d|: a[j-1] may be a peak only when 1 <= j-1 <= m-2
    added = 0  # rows added to ``part`` since the last flush
    while j < m:
        for r in range(PANEL_ROWS):
            if j + 2 + PANEL_AHEAD + r < n:
                _prefetch_panel_row(x, o, j + 2 + PANEL_AHEAD + r, i0, lanes)
        # two calls, so that each passes a constant ``rows`` (see _add_panel_rows)
        if j + PANEL_ROWS <= m:
            _add_panel_rows(x, o, j, i0, lanes, rtol, filters, ring, part, count, PANEL_ROWS)
            rows = PANEL_ROWS
        else:
            _add_panel_rows(x, o, j, i0, lanes, rtol, filters, ring, part, count, 1)
            rows = 1
        j += rows
        added += rows
        if j == m:  # the two rows no ``prev`` has seen: their NaN flags
            for k in range(lanes):
                part[k] += ring[0, k] * zero + ring[1, k] * zero
        if added >= flush or j == m:
            added = 0
            for k in range(lanes):
                total[k], compensation[k] = add_compensated(total[k], compensation[k], float(part[k]))
                total_count[k] += count[k]
                part[k] = zero
                count[k] = 0
    for k in range(w):
        s = compensated_total(total[k], compensation[k])
        c = total_count[k]
        if s != s:  # a NaN or an inf, an overflow of finite samples, or a plateau
            if has_non_finite(x[o, :, i0 + k]):
                c = 0
            else:
                s, c = scan_curvature(x[o, :, i0 + k], 1, m - 1, m, rtol, filters)
        sums[at + k] = s
        counts[at + k] = c


@numba.njit(inline="always")
def padded_lanes(x, o, i0, w, contiguous):
    """``w`` rounded up to a multiple of LANE_GROUP where ``x`` is
    C-contiguous and the extra lanes' samples lie inside it (they are the
    samples of the next lines, or of the next rows: computed and thrown
    away), else ``w``: a 28-wide panel then runs as four vector iterations
    instead of three and four scalar lanes."""
    outer, n, inner = x.shape
    lanes = -(-w // LANE_GROUP) * LANE_GROUP
    if contiguous and (o * n + n - 1) * inner + i0 + lanes <= x.size:
        return lanes
    return w


@numba.njit(parallel=True, cache=True, nogil=True)
def smp_panels(x, rtol, filters, flush, width, per_task, contiguous):
    """Panels of ``width`` lines, ``per_task`` panels a task: one set of
    work arrays per task, so that narrow panels (8- to 64-wide activation
    maps) do not pay an allocation each. ``contiguous``: ``x`` is
    C-contiguous (see :func:`padded_lanes`). The panels are walked in the
    parallel loop itself (:func:`smp_panel` inlined): through a called task
    function narrow panels ran slower (bench/RESULTS.md, "compile times")."""
    outer, n, inner = x.shape
    panels = -(-inner // width)
    sums = np.empty(outer * inner)
    counts = np.empty(outer * inner, np.int64)
    jobs = outer * panels
    for task in prange(-(-jobs // per_task)):
        work = panel_work(-(-width // LANE_GROUP) * LANE_GROUP, x.dtype)
        for job in range(task * per_task, min((task + 1) * per_task, jobs)):
            o = job // panels
            i0 = (job - o * panels) * width
            w = min(width, inner - i0)
            smp_panel(x, o, i0, w, padded_lanes(x, o, i0, w, contiguous), rtol, filters, flush, work, sums, counts,
                      o * inner + i0)
    return sums, counts


@numba.njit(cache=True, nogil=True)
def smp_block_lines(x, o, rtol, filters, flush, sums, counts):
    """SMP and count of every line of block ``o`` of ``x`` (3-D, lines along
    axis 1) into ``sums[:inner]`` and ``counts[:inner]``, as one panel: a
    function to call (the maps layout's exact path does), where
    :func:`smp_panels` inlines its panels."""
    outer, n, inner = x.shape
    work = panel_work(-(-inner // LANE_GROUP) * LANE_GROUP, x.dtype)
    smp_panel(x, o, 0, inner, inner, rtol, filters, flush, work, sums, counts, 0)


@numba.njit(cache=True)
def _mark_panel_row(r0, r1, r2, filters, mask, plateau):
    for k in range(r0.size):
        mask[k] = strict_peak(r0[k], r1[k], r2[k], filters)
        plateau[k] |= plateau_start(r0[k], r1[k], r2[k])


@numba.njit(parallel=True, cache=True, nogil=True)
def find_peaks_panels(x, filters, mask, width):
    """The peak mask of every line of ``x`` (3-D), panels of ``width`` lines."""
    outer, n, inner = x.shape
    panels = -(-inner // width)
    for task in prange(outer * panels):
        o = task // panels
        i0 = (task - o * panels) * width
        i1 = min(i0 + width, inner)
        plateau = np.zeros(i1 - i0, np.bool_)
        for j in range(1, n - 1):
            _mark_panel_row(x[o, j - 1, i0:i1], x[o, j, i0:i1], x[o, j + 1, i0:i1], filters, mask[o, j, i0:i1], plateau)
        # After the sweep: a plateau's peak lies further down than its start.
        for k in range(i1 - i0):
            if plateau[k]:
                scan_signal(x[o, :, i0 + k], 1, n - 1, n, filters, mask[o, :, i0 + k])


@numba.njit(parallel=True, cache=True, nogil=True)
def curvature_panels(x, out):
    """``out[o, :, i] = d`` of every line of ``x`` (3-D), row by row."""
    outer, n, inner = x.shape
    for row in prange(outer * max(n - 2, 0)):
        o = row // (n - 2)
        j = row - o * (n - 2)
        for i in range(inner):
            out[o, j, i] = _curvature(x[o, j, i], x[o, j + 1, i], x[o, j + 2, i])
