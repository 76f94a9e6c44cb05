"""The maps layout: both of the last two axes of small C-contiguous maps
(``smp(..., axis=(-2, -1))`` of CNN activations), a map at a time.

A map's rows and its columns are each one flat fill and one masked flat sum,
whatever the size of the map: the input is read once, and 8 x 8 maps pay no
per-line loops. A map with a NaN flag or a rising plateau is redone line by
line, exactly: its rows as short rows, its columns as a panel.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np
from numba import prange

from .fills import fill_flat
from .panels import smp_block_lines
from .peaks import PADDED_RUN, candidate
from .short_rows import smp_short_group
from .sums import SUM_LANES, lanes_like, lanes_total, zero_lanes

#: candidates a map's masked runs take at a time (:func:`_sum_map_axis`): a
#: constant trip count, so LLVM's vector loop has no scalar remainder. Short
#: runs waste little padding on small maps, long ones pay fewer horizontal
#: reductions; :func:`fastsmp.backends.cpu.tiling.map_run` picks per map
#: size. Each run is added in SUM_LANES lanes of at most 8 heights, so a
#: float32 partial sum errs by under (8 + 5) * 2**-24 < 1e-5 relative.
MAP_RUN = 64
MAP_RUN_LONG = 256


def _make_map_sum(run):
    @numba.njit(cache=True)
    def sum_map_axis(a, valid, first, span, step, filters):
        """Sum (NaN if a flagged ``a`` is read), count and plateau flag of the
        kept strict maxima ``a[p]`` between ``a[p - step]`` and ``a[p + step]``,
        for the candidates ``first <= p < first + span`` (a multiple of
        ``run``) where ``valid[p]`` is not 0. One flat loop for all the lines
        of a map along one axis: no loop, and no loop remainder, per line."""
        zero = a.dtype.type(0)
        s = np.uint64(step)
        lanes = lanes_like(a)
        counts = lanes_like(np.int32(0))
        plateaus = lanes_like(np.int32(0))
        zero_lanes(counts)
        zero_lanes(plateaus)
        total = 0.0
        for r in range(0, span, run):
            zero_lanes(lanes)
            for g in range(0, run, SUM_LANES):
                at = np.uint64(first + r + g)
                for l in range(SUM_LANES):
                    j = at + np.uint64(l)
                    h, strict, rise = candidate(a[j - s], a[j], a[j + s], valid[j] != zero, filters)
                    lanes[l] += h
                    counts[l] += strict
                    plateaus[l] += rise
            total += np.float64(lanes_total(lanes))
        count = 0
        rises = 0
        for l in range(SUM_LANES):
            count += counts[l]
            rises += plateaus[l]
        return total, count, rises > 0

    return sum_map_axis


_sum_map_axis = _make_map_sum(MAP_RUN)
_sum_map_axis_long = _make_map_sum(MAP_RUN_LONG)


class MapPlan(NamedTuple):
    """What every ``h`` x ``w`` map shares (:func:`_map_plan`)."""

    long_runs: bool  #: runs of MAP_RUN_LONG, else MAP_RUN
    span_r: int  #: row candidates are ``1 <= p < 1 + span_r``
    span_c: int  #: column candidates are ``w <= p < w + span_c``
    fill_r: int  #: values the rows fill computes
    fill_c: int  #: values the columns fill computes
    size: int  #: samples a fill reads from the map's first on
    valid_r: np.ndarray  #: 1 where a row candidate is a line's interior, else 0
    valid_c: np.ndarray  #: the same for the columns


@numba.njit(inline="always")
def _sum_map(long_runs, a, valid, first, span, step, filters):
    if long_runs:
        return _sum_map_axis_long(a, valid, first, span, step, filters)
    return _sum_map_axis(a, valid, first, span, step, filters)


@numba.njit(cache=True)
def _map_plan(h, w, run, dtype):
    """The :class:`MapPlan` of ``h`` x ``w`` maps with runs of ``run``
    candidates (spans are multiples of it; ``valid_r``, ``valid_c`` in
    ``dtype``, 1 or 0)."""
    hw = h * w
    span_r = -(-hw // run) * run
    span_c = -(-((h - 4) * w) // run) * run
    fill_r = span_r + SUM_LANES  # >= span_r + 2, a multiple of SUM_LANES
    fill_c = -(-(span_c + 2 * w) // SUM_LANES) * SUM_LANES
    size = max(fill_r + 2, fill_c + 2 * w)
    valid_r = np.zeros(span_r + 1, dtype)
    for p in range(1, hw):
        t = p % w
        valid_r[p] = 1 <= t <= w - 4
    valid_c = np.zeros(w + span_c, dtype)
    valid_c[w : (h - 3) * w] = 1
    return MapPlan(run == MAP_RUN_LONG, span_r, span_c, fill_r, fill_c, size, valid_r, valid_c)


@numba.njit(cache=True)
def _smp_map_fast(src, start, w, plan, rtol, filters, a):
    """SMP, count and whether the exact path must redo the map whose
    samples start at ``src[start]`` (readable ``plan.size`` on): its rows
    and its columns, each one flat fill into ``a`` and one masked flat sum."""
    fill_flat(src, start, plan.fill_r, 1, rtol, a)
    total, count, plateau = _sum_map(plan.long_runs, a, plan.valid_r, 1, plan.span_r, 1, filters)
    fill_flat(src, start, plan.fill_c, w, rtol, a)
    s, k, p = _sum_map(plan.long_runs, a, plan.valid_c, w, plan.span_c, w, filters)
    total += s
    return total, count + k, plateau or p or total != total


@numba.njit(cache=True, nogil=True)
def _maps_task(x, first, last, plan, rtol, filters, flush, sums, counts):
    """Maps ``first .. last-1`` of ``x``, one at a time while it is in cache,
    with one set of work arrays. A map too near the end of ``x`` for the
    padded loops is copied into a zero-padded buffer first."""
    maps, h, w = x.shape
    hw = h * w
    flat = x.reshape(-1)
    m = np.zeros(plan.size, x.dtype)
    a = np.empty(max(plan.fill_r, plan.fill_c, hw + PADDED_RUN), x.dtype)  # (and for the exact path)
    line_sums = np.empty(max(h, w))
    line_counts = np.empty(max(h, w), np.int64)
    for o in range(first, last):
        src, start = flat, o * hw
        if start + plan.size > flat.size:
            for k in range(hw):
                m[k] = flat[np.uint64(start + k)]
            src, start = m, 0
        total, count, exact = _smp_map_fast(src, start, w, plan, rtol, filters, a)
        if exact:
            # the exact path: rows as short lines, columns as a panel (the
            # functions of those layouts, called: compiled once for all three)
            smp_short_group(flat, o * hw, h, w, rtol, filters, a, line_sums, line_counts)
            total = 0.0
            count = 0
            for g in range(h):
                total += line_sums[g]
                count += line_counts[g]
            smp_block_lines(x, o, rtol, filters, flush, line_sums, line_counts)
            for g in range(w):
                total += line_sums[g]
                count += line_counts[g]
        sums[o] = total
        counts[o] = count


@numba.njit(parallel=True, cache=True, nogil=True)
def smp_maps(x, rtol, filters, flush, per_task, run):
    """SMP over the last two axes of ``x`` (maps, h, w), C-contiguous, with
    ``5 <= h`` and ``5 <= w``, ``per_task`` maps a task, and no per-line
    results.

    The loops are padded to whole runs of ``run`` candidates (MAP_RUN or
    MAP_RUN_LONG): they read (and mask out) up to ``plan.size - h*w``
    samples past the map, from the next map, or from a zero-padded copy
    for maps too near the end of ``x``. A map with a NaN flag (a NaN or inf
    sample, an overflow, or a NaN or inf in the next map's samples that the
    padding read) or with a plateau is redone line by line, exactly."""
    maps, h, w = x.shape
    sums = np.empty(maps)
    counts = np.empty(maps, np.int64)
    plan = _map_plan(h, w, run, x.dtype)
    # A named tuple cannot cross into a parallel loop (Numba's gufunc builder
    # cannot name its type): its fields cross, and each task rebuilds it.
    long_runs, span_r, span_c, fill_r, fill_c = plan.long_runs, plan.span_r, plan.span_c, plan.fill_r, plan.fill_c
    size, valid_r, valid_c = plan.size, plan.valid_r, plan.valid_c
    for task in prange(-(-maps // per_task)):
        first = np.int64(task) * per_task
        _maps_task(x, first, min(first + per_task, maps),
                   MapPlan(long_runs, span_r, span_c, fill_r, fill_c, size, valid_r, valid_c), rtol, filters, flush,
                   sums, counts)
    return sums, counts
