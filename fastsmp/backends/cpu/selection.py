"""SciPy's peak rules on the CPU: a loop over lines around each
body of :mod:`fastsmp.backends.peak_rules`, for :mod:`fastsmp.backends.peak_table`.

A line ``L`` is ``x[L // inner, :, L % inner]``; its table entries are
``offsets[L]:offsets[L + 1]``. Lines are independent, so each loop's result
does not depend on how the lines are shared out among threads.
"""

from __future__ import annotations

import sys
from typing import NamedTuple

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
    keep_distant_nearby,
    line_total,
    keep_peak,
    mark,
    marked,
    maxima,
    maxima_valleys,
    measure,
    prominence,
    top_minus_base,
    valley_bases,
    valley_prominence,
    width,
    width_bound,
    within,
)
from .dense_selection import PAD, applies, dense_scratch, select_line_dense
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
_maxima_valleys = maxima_valleys.cpu
_valley_bases = valley_bases.cpu
_valley_prominence = valley_prominence("cpu")
_keep_distant_nearby = keep_distant_nearby("cpu")
_prominence = prominence("cpu")
_top_minus_base = top_minus_base.cpu
_width = width.cpu
_width_bound = width_bound.cpu
_within = within.cpu
_keep_peak = keep_peak.cpu

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


class LineScratch(NamedTuple):
    """One task's working arrays for :func:`select_line`, one slot per
    possible maximum of a line (``n // 2 + 2``) unless said, reused line after line."""

    steps: np.ndarray  #: int8, ``n`` slots
    mids: np.ndarray  #: int64, every maximum's middle
    lefts: np.ndarray  #: int64, plateau edges (``n + 1`` slots)
    rights: np.ndarray
    heights: np.ndarray  #: float64
    valley_min: np.ndarray  #: float64, the valleys of ``maxima_valleys``
    valley_first: np.ndarray  #: int64
    valley_last: np.ndarray  #: int64
    left_min: np.ndarray  #: float64, the bases of ``valley_bases``
    left_base: np.ndarray  #: int64
    right_min: np.ndarray  #: float64
    right_base: np.ndarray  #: int64
    stack: np.ndarray  #: int64
    chosen: np.ndarray  #: int64, the maximum behind each candidate
    peaks: np.ndarray  #: int64, the candidates' positions
    peak_heights: np.ndarray  #: float64
    keep: np.ndarray  #: uint8
    state: np.ndarray  #: uint8, for ``keep_distant_by_height``


@_serial
def line_scratch(n):
    """A :class:`LineScratch` for lines of ``n`` samples."""
    m = n // 2 + 2
    return LineScratch(np.empty(n, np.int8), np.empty(m, np.int64), np.empty(n + 1, np.int64),
                       np.empty(n + 1, np.int64), np.empty(m), np.empty(m), np.empty(m, np.int64),
                       np.empty(m, np.int64), np.empty(m), np.empty(m, np.int64), np.empty(m),
                       np.empty(m, np.int64), np.empty(m, np.int64), np.empty(m, np.int64), np.empty(m, np.int64),
                       np.empty(m), np.empty(m, np.uint8), np.empty(m, np.uint8))


#: lines of a middle axis read per task by :func:`select_lines` (16 float32 = one cache line)
LANES = 16

#: the widest ``distance`` reach (peaks per side) that :func:`select_line`
#: decides with ``keep_distant_nearby``
NEARBY = 4


@_serial
def select_line(x, o, rules, filters, s):
    """Every rule of SciPy's ``find_peaks`` on line ``(o, 0)`` of ``x``
    (float64 rows, at least 3 samples), all in ``s``
    (:class:`LineScratch`): returns the number of candidates (maxima that
    pass ``plateau_size``, ``height``, ``threshold``), their positions and
    heights in ``s.peaks``, ``s.peak_heights``, and which of them the other
    rules keep in ``s.keep``; -1, deciding nothing, for a line with a NaN
    (whose comparisons :func:`~fastsmp.backends.peak_rules.maxima_valleys`
    does not follow) or where equal heights within ``distance`` leave the
    order to ``numpy.argsort``: the caller decides those lines with the
    table of peaks.

    The maxima and the valley floors between them come from one sweep over
    the steps between samples; the prominences from the floors
    (:func:`~fastsmp.backends.peak_rules.valley_bases` where the exact
    values are needed, for the widths; else a walk from floor to floor that
    stops once a minimum prominence is met), without walking the samples;
    with a ``wlen`` the walks go sample by sample as SciPy's do."""
    # the fields as locals: no reference counting per access
    (steps, mids, lefts, rights, heights, valley_min, valley_first, valley_last, left_min, left_base, right_min,
     right_base, stack, chosen, peaks, peak_heights, keep, state) = s
    count, clean = _maxima_valleys(x, o, 0, steps, mids, lefts, rights, heights, valley_min, valley_first,
                                   valley_last)
    if not clean:
        return -1
    c = 0
    # no plateau_size, height or threshold bound: every maximum is a candidate
    per_peak = ((rules.plateau_min == rules.plateau_min) | (rules.plateau_max == rules.plateau_max)
                | (filters.hmin == filters.hmin) | (filters.hmax == filters.hmax)
                | (filters.tmin == filters.tmin) | (filters.tmax == filters.tmax))
    if not per_peak:
        for k in range(count):  # copies: this loop vectorises
            chosen[k] = k
            peaks[k] = mids[k]
            peak_heights[k] = heights[k]
            keep[k] = 1
        c = count
    for k in range(count if per_peak else 0):
        mid = mids[k]
        top = heights[k]
        size = np.float64(rights[k] - lefts[k] + 1)
        left = top - x[o, mid - 1, 0]
        right = top - x[o, mid + 1, 0]
        if _within(rules.plateau_min, rules.plateau_max, size) and _keep_peak(top, left, right, filters):
            chosen[c] = k
            peaks[c] = mid
            peak_heights[c] = top
            keep[c] = 1
            c += 1
    if rules.distance == rules.distance and c > 1:
        reach = (rules.distance - 1) // 2
        if reach == 2:  # a constant reach: the compiler unrolls the sweeps over the neighbours
            decided = _keep_distant_nearby(peaks, peak_heights, keep, c, rules.distance, 2, state, stack)
        elif reach <= NEARBY:
            decided = _keep_distant_nearby(peaks, peak_heights, keep, c, rules.distance, np.int64(reach), state,
                                           stack)
        else:
            state[:c] = 0
            decided = _keep_distant_by_height(peaks, peak_heights, keep, 0, c, rules.distance, state, stack)
        if not decided:
            return -1
    if rules.need_prominence == 0 and rules.need_width == 0:
        return c
    # a minimum only, and no widths: a walk may stop once the minimum is met
    enough = rules.prominence_min if rules.need_width == 0 and rules.prominence_max != rules.prominence_max else np.nan
    by_valleys = rules.wlen < 2
    # a width minimum: a bound from the line's lowest sample drops most peaks
    # before their prominence is known; the others walk the valleys
    screen = rules.need_width != 0 and rules.width_min == rules.width_min
    low = np.inf
    for k in range(count + 1):
        low = min(low, valley_min[k])
    all_bases = by_valleys and enough != enough and not screen
    if all_bases:
        _valley_bases(heights, count, valley_min, valley_first, valley_last, left_min, left_base, right_min,
                      right_base, stack)
    if by_valleys and enough == enough:
        # a minimum only: the floors next to a peak bound its prominence from
        # below, and most peaks pass on them; only the others walk
        walks = 0
        for t in range(c):
            k = chosen[t]
            passes = _top_minus_base(heights[k], valley_min[k], valley_min[k + 1]) >= enough
            stack[walks] = t
            walks += np.int64((keep[t] != 0) and not passes)
        for u in range(walks):
            t = stack[u]
            p, lb, rb = _valley_prominence(chosen[t], heights, count, valley_min, valley_first, valley_last, enough,
                                              low)
            if not _within(rules.prominence_min, rules.prominence_max, p):
                keep[t] = 0
        return c
    none = np.empty(0)
    none_at = np.empty(0, np.int64)
    for t in range(c):
        if keep[t] == 0:
            continue
        k = chosen[t]
        if screen and _width_bound(x, o, 0, peaks[t], heights[k] - low, rules.rel_height) < rules.width_min:
            keep[t] = 0
            continue
        if all_bases:
            p = _top_minus_base(heights[k], left_min[k], right_min[k])
            lb = left_base[k]
            rb = right_base[k]
        elif by_valleys:
            p, lb, rb = _valley_prominence(k, heights, count, valley_min, valley_first, valley_last, enough,
                                              low)
        else:
            p, lb, rb = _prominence(x, o, 0, peaks[t], rules.wlen, none, none, none_at, none, none_at, np.nan)
        if not _within(rules.prominence_min, rules.prominence_max, p):
            keep[t] = 0
            continue
        if rules.need_width != 0:
            w, h, li, ri = _width(x, o, 0, peaks[t], p, lb, rb, rules.rel_height)
            if not _within(rules.width_min, rules.width_max, w):
                keep[t] = 0
    return c


@_jit
def select_lines(x, outer, n, inner, rules, filters, lanes, dense, mask, sums, counts, deferred):
    """Every rule of SciPy's ``find_peaks`` on every line of ``x`` (the
    flat C-order samples of an ``(outer, n, inner)`` array, ``n >= 3``),
    each line decided on its own, with no table of peaks in between: by
    :func:`~fastsmp.backends.cpu.dense_selection.select_line_dense` where
    ``dense`` (the rules allow it, :func:`~fastsmp.backends.cpu.dense_selection.applies`)
    and the line's maxima are single samples, else read into a float64 row
    and decided by :func:`select_line`. The mask of the kept peaks goes into
    ``mask`` (flat like ``x``; size 0: not drawn), their float64 sum in
    order and count into ``sums`` and ``counts`` (size 0: not added). Lines
    that :func:`select_line` leaves undecided (a NaN, ``distance`` ties) are
    flagged in ``deferred`` and left empty.

    A task takes ``lanes`` neighbouring lines; lines along a middle axis
    (``inner > 1``) are read ``lanes`` columns at a time into rows (a
    transpose through the cache, instead of a copy of the array) and their
    marks written back the same way."""
    column = inner > 1
    groups = -(-inner // lanes) if column else -(-outer // lanes)
    tasks = outer * groups if column else groups
    for task in numba.prange(tasks):
        select_task(x, task, groups, outer, n, inner, rules, filters, lanes, dense, mask, sums, counts, deferred)


@_serial
def select_task(x, task, groups, outer, n, inner, rules, filters, lanes, dense, mask, sums, counts, deferred):
    """Task ``task`` of :func:`select_lines`: its ``lanes`` lines (a
    function apart: the parallel loop only hands out tasks)."""
    column = inner > 1
    per_peak = ((rules.plateau_min == rules.plateau_min) | (rules.plateau_max == rules.plateau_max)
                | (filters.hmin == filters.hmin) | (filters.hmax == filters.hmax)
                | (filters.tmin == filters.tmin) | (filters.tmax == filters.tmax))
    if column:
        o = task // groups
        i0 = (task % groups) * lanes
        width = min(lanes, inner - i0)
    else:
        o = task * lanes
        i0 = 0
        width = min(lanes, outer - o)
    # the per-line pass's row and scratch: grown for the first line the vector path gives back
    rows = np.empty((1, 3 if dense else n, 1))
    s = line_scratch(3 if dense else n)
    d = dense_scratch(n, x)
    gathered = np.empty((width if column else 0, n), x.dtype)
    marks = np.zeros((width if column and mask.size > 0 else 0, n), np.bool_)
    if column:
        base = o * n * inner + i0
        # in tiles of LANES samples a lane: row after row at the same offset
        # would fall into one cache set (rows n samples apart) and evict each other
        for j0 in range(0, n, LANES):
            for lane in range(width):
                for j in range(j0, min(j0 + LANES, n)):
                    gathered[lane, j] = x[base + j * inner + lane]
    for lane in range(width):
        line = o * inner + i0 + lane if column else o + lane
        row = gathered[lane] if column else x[line * n:(line + 1) * n]
        listed = -1
        if dense:  # a call per layout: each compiled for its own
            if column:
                listed = select_line_dense(gathered[lane], rules, filters, per_peak, d)
            else:
                listed = select_line_dense(x[line * n:(line + 1) * n], rules, filters, per_peak, d)
        if listed >= 0:
            if mask.size > 0:
                if not column:
                    for j in range(n):
                        mask[line * n + j] = False
                for t in range(PAD, PAD + listed):  # distinct positions: no branch
                    if column:
                        marks[lane, d.at[t]] = d.kept[t] != 0
                    else:
                        mask[line * n + d.at[t]] = d.kept[t] != 0
            if sums.size > 0:
                sums[line], counts[line] = _line_total(d.kept, PAD, PAD + listed, d.heights)
            continue
        if s.steps.size < n:
            rows = np.empty((1, n, 1))
            s = line_scratch(n)
        for j in range(n):
            rows[0, j, 0] = row[j]
        if not column and mask.size > 0:
            for j in range(n):
                mask[line * n + j] = False
        c = select_line(rows, 0, rules, filters, s)
        if c < 0:
            deferred[line] = True
            continue
        if mask.size > 0:
            for t in range(c):
                if s.keep[t] != 0:
                    if column:
                        marks[lane, s.peaks[t]] = True
                    else:
                        mask[line * n + s.peaks[t]] = True
        if sums.size > 0:
            sums[line], counts[line] = _line_total(s.keep, 0, c, s.peak_heights)
    if column and mask.size > 0:
        base = o * n * inner + i0
        for j0 in range(0, n, LANES):
            for j in range(j0, min(j0 + LANES, n)):
                for lane in range(width):
                    mask[base + j * inner + lane] = marks[lane, j]



def select_direct(x, rules, filters, want_mask, want_totals):
    """SciPy's ``find_peaks`` with every rule on every line of ``x``
    (``(outer, n, inner)``, the working dtype), without a table of peaks
    (:func:`select_lines`): ``(mask shaped like x or None, sums or None,
    counts or None)``. The lines it leaves undecided (a NaN, ``distance``
    ties that only ``numpy.argsort`` settles) go through
    :func:`fastsmp.backends.peak_table.select` instead."""
    outer, n, inner = x.shape
    lines = outer * inner
    mask = np.zeros(x.shape if want_mask else 0, np.bool_)
    sums = np.zeros(lines if want_totals else 0)
    counts = np.zeros(lines if want_totals else 0, np.int64)
    if n < 3 or lines == 0:
        return (mask if want_mask else None), (sums if want_totals else None), (counts if want_totals else None)
    flat = read_only(np.ascontiguousarray(x).reshape(-1))
    out = np.empty(x.size if want_mask else 0, np.bool_)
    deferred = np.zeros(lines, np.bool_)
    lanes = LANES if inner > 1 else max(1, min(64, outer // (8 * numba.get_num_threads())))
    select_lines(flat, outer, n, inner, rules, filters, lanes, applies(rules), out, sums, counts, deferred)
    mask = out.reshape(x.shape) if want_mask else None
    if deferred.any():
        at = np.flatnonzero(deferred)
        o, i = np.divmod(at, inner)
        rows = read_only(np.ascontiguousarray(x[o, :, i], dtype=np.float64).reshape(at.size, n, 1))
        k = sys.modules[__name__]
        table = peak_table.select(k, rows, rules, filters, set())
        if want_mask:
            mask[o, :, i] = peak_table.mark(k, table, rows.shape)[:, :, 0]
        if want_totals:
            sums[at], counts[at] = peak_table.totals(k, table)
    return mask, (sums if want_totals else None), (counts if want_totals else None)
