"""SciPy's peak rules with vector loops, on lines whose maxima are single
samples.

On real-valued data (activations, noisy measurements) a local maximum is
almost always one sample above both neighbours. Then every rule of
``find_peaks`` short of ``width`` compares a peak with the peaks or samples
within a fixed reach, and loops over the line's list of maxima, each
neighbour a shifted view of the list, decide it several peaks at a time
with no branch per peak. :func:`select_line_dense` does that for one line
and gives the line back (returns False) where its assumptions fail: a NaN,
a rise onto equal samples (a plateau, whose middle SciPy reports), equal
heights within ``distance`` (only ``numpy.argsort``'s order settles
those), or chains of ``distance`` decisions longer than :data:`MAX_PASSES`.
The caller then decides the line with
:func:`fastsmp.backends.cpu.selection.select_line`, SciPy's steps peak by
peak.

``distance``: SciPy keeps a peak exactly when no kept peak within reach is
higher (it visits peaks from the highest down). A peak with no higher peak
within reach is kept; then each pass removes the peaks that have a kept
higher one within reach and keeps those whose higher neighbours are all
removed, until none is left open. The highest open peak is decided in
every pass; on random data three passes settle almost every line.
Single-sample maxima are at least 2 samples apart, so a reach of ``r``
samples spans at most ``r // 2`` neighbours in the list on each side.

``prominence`` with a minimum only: a side passes where the walk from the
peak meets a sample at least the minimum below the peak before any higher
sample, and fails where it meets a higher one (or the line's end) first.
The floors of the valleys next to a peak settle most peaks (a walk
crosses the neighbouring valley before any higher sample); a peak less
than the minimum above the line's lowest sample fails at once; the rest
walk as SciPy does (:func:`fastsmp.backends.peak_rules.prominence`).

Every comparison is SciPy's, on float64 values where SciPy subtracts
(float32 samples compare the same in either precision), so the result is
SciPy's bit for bit. Shifted neighbours are views indexed from 0: an index
the compiler can prove non-negative needs no wraparound test, and the
loops vectorise.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from ..peak_rules import keep_peak, prominence, top_minus_base, valley_prominence, width, within

_keep_peak = keep_peak.cpu
_within = within.cpu
_prominence = prominence("cpu")
_valley_prominence = valley_prominence("cpu")
_top_minus_base = top_minus_base.cpu
_width = width.cpu

_inline = numba.njit(inline="always", cache=True, nogil=True)
# functions apart: inlined into a larger one, their loops stop vectorising
_apart = numba.njit(cache=True, nogil=True)
# ... and one whose divisions may meet a zero it then ignores: IEEE results, no
# test of the divisor per division (which would keep the loop from vectorising)
_divide = numba.njit(cache=True, nogil=True, error_model="numpy")

#: the widest ``distance`` reach (``distance - 1`` samples) decided here
MAX_REACH = 16
#: list neighbours on each side within :data:`MAX_REACH` samples, and the
#: sentinel entries padding the list of maxima on each side
PAD = MAX_REACH // 2
#: the passes of the ``distance`` rule before a line is given back
MAX_PASSES = 8
#: a position no peak is within reach of (the list's sentinels)
FAR = 1 << 40


class DenseScratch(NamedTuple):
    """One task's working arrays for :func:`select_line_dense`, made by
    :func:`dense_scratch` and reused line after line. The lists have one
    entry per maximum (at most ``n // 2``) between :data:`PAD` sentinels on
    each side."""

    flags: np.ndarray  #: uint8, per sample: a single-sample maximum or a floor
    turns: np.ndarray  #: int64: the positions of the floors and maxima, in order
    values: np.ndarray  #: their samples (the line's dtype)
    at: np.ndarray  #: int64 list: the maxima's positions (sentinels: ``-FAR``, ``+FAR``)
    heights: np.ndarray  #: list, the line's dtype: their heights, ``-inf`` where out of play
    floors: np.ndarray  #: list: the lowest sample between a maximum and the one before (the line's start)
    floor_at: np.ndarray  #: int64, from 0: the last position of each floor (widths only)
    walk_at: np.ndarray  #: int64, from 0: the kept peaks that walk (widths only)
    spare: np.ndarray  #: list: the heights still in play in a ``distance`` pass
    nearby: np.ndarray  #: list: the highest in play within reach
    near: np.ndarray  #: uint8, ``(PAD, list)``: entry ``t + k`` within reach of entry ``t``
    kept: np.ndarray  #: uint8 list: decided kept (``distance``), then the result
    removed: np.ndarray  #: uint8 list: decided removed (``distance``)
    passing: np.ndarray  #: uint8 list: passes the ``prominence`` rule
    pending: np.ndarray  #: uint8 list: its ``prominence`` needs a walk


@_apart
def dense_scratch(n, like):
    """A :class:`DenseScratch` for lines of ``n`` samples of ``like``'s dtype."""
    m = n // 2 + 2 + 2 * PAD
    at = np.empty(m, np.int64)
    at[:PAD] = -FAR

    def ones():
        return np.ones(m, np.uint8)

    def lists():
        return np.full(m, -np.inf, like.dtype)

    return DenseScratch(np.zeros(n, np.uint8), np.empty(n, np.int64), np.empty(n, like.dtype), at, lists(), lists(),
                        np.empty(m, np.int64), np.empty(m, np.int64), lists(),
                        lists(), np.zeros((PAD, m), np.uint8), ones(), ones(), ones(), ones())


def applies(rules):
    """Whether :func:`select_line_dense` decides lines under ``rules``
    (:class:`~fastsmp.backends.peak_rules.PeakRules`): ``prominence`` and
    ``width`` over the whole line (no ``wlen``), a ``distance`` reach up to
    :data:`MAX_REACH`."""
    if (rules.need_prominence != 0 or rules.need_width != 0) and not rules.wlen < 2:
        return False
    return not (rules.distance - 1 > MAX_REACH)  # NaN: no distance rule


@_inline
def minimum_only(rules):
    """A ``prominence`` rule with a minimum only and no widths: decided on
    the floors (:func:`prominent_dense`), most peaks without a walk."""
    return (rules.need_width == 0 and rules.prominence_min == rules.prominence_min
            and rules.prominence_max != rules.prominence_max)


@_inline
def lowest_floor(s, count):
    """The line's lowest sample: the lowest of the ``count + 1`` floors
    listed (every sample lies in a valley or is a maximum, and a valley's
    floor is its lowest sample)."""
    floors = s.floors[PAD:PAD + count + 1]
    low = floors[0]
    for t in range(1, count + 1):
        v = floors[t]
        low = v if v < low else low
    return low


@_inline
def reach_max(values, near, q, count, out):
    """``out[t]`` for the ``count`` list entries: the largest of
    ``values`` over the entries within reach (``near``), up to ``q`` on
    each side; ``-inf`` where none is."""
    none = values[0]
    for t in range(count):
        out[PAD + t] = none
    for k in range(1, q + 1):
        before = values[PAD - k:PAD - k + count]
        after = values[PAD + k:PAD + k + count]
        near_before = near[k - 1, PAD - k:PAD - k + count]
        near_after = near[k - 1, PAD:PAD + count]
        o = out[PAD:PAD + count]
        for t in range(count):
            a = before[t]
            b = after[t]
            c = o[t]
            a = a if near_before[t] != 0 else none
            b = b if near_after[t] != 0 else none
            a = a if a > b else b
            o[t] = a if a > c else c


@_apart
def keep_distant_dense(s, count, distance):
    """SciPy's ``distance`` rule on the ``count`` maxima listed in ``s``
    (``distance >= 2``), the kept ones flagged in ``s.kept``; False
    (deciding nothing) where two within reach are equal or
    :data:`MAX_PASSES` passes leave some open."""
    q = min((np.int64(distance) - 1) // 2, PAD)
    at = s.at
    h = s.heights[PAD:PAD + count]
    spare = s.spare[PAD:PAD + count]
    nearby = s.nearby[PAD:PAD + count]
    kept = s.kept[PAD:PAD + count]
    removed = s.removed[PAD:PAD + count]
    none = s.heights[0]  # -inf in the line's dtype
    ties = np.uint8(0)
    for k in range(1, q + 1):  # entry t + k within reach of entry t, and equal?
        here = at[PAD:PAD + count]
        there = at[PAD + k:PAD + k + count]
        shifted = s.heights[PAD + k:PAD + k + count]
        near = s.near[k - 1, PAD:PAD + count]
        for t in range(count):
            within_ = np.uint8(there[t] - here[t] < distance)
            near[t] = within_
            ties |= within_ & np.uint8(h[t] == shifted[t])
    if ties != 0:
        return False
    reach_max(s.heights, s.near, q, count, s.nearby)
    for t in range(count):  # no higher one within reach: kept
        kept[t] = np.uint8(h[t] > nearby[t])
        removed[t] = 0
    for _ in range(MAX_PASSES):
        for t in range(count):
            v = h[t]
            spare[t] = v if kept[t] != 0 else none
        reach_max(s.spare, s.near, q, count, s.nearby)
        still = 0
        for t in range(count):  # a kept higher one within reach: removed
            v = h[t]
            waiting = (kept[t] == 0) & (removed[t] == 0)
            gone = waiting & (nearby[t] > v)
            removed[t] |= np.uint8(gone)
            still += np.int64(waiting & (not gone))
        if still == 0:
            return True
        for t in range(count):
            v = h[t]
            spare[t] = v if removed[t] == 0 else none
        reach_max(s.spare, s.near, q, count, s.nearby)
        for t in range(count):  # every higher one within reach removed: kept
            kept[t] |= np.uint8((removed[t] == 0) & (nearby[t] < h[t]))
    return False


@_apart
def prominent_dense(s, count, least, low):
    """SciPy's ``prominence`` rule with the minimum ``least`` (> 0) on the
    ``count`` listed maxima, into ``s.passing``, except for those flagged
    in ``s.pending``, which need a walk (:func:`walk_pending`); ``low`` is
    the line's lowest sample.

    Walking from a peak, the first valley (between the peak and the
    neighbouring maximum, or the line's end) is crossed before any higher
    sample: a side passes if that valley's floor is low enough, and fails
    if not and the neighbouring maximum is higher (or the line ends there)."""
    h = s.heights[PAD:PAD + count]
    before = s.heights[PAD - 1:PAD - 1 + count]
    after = s.heights[PAD + 1:PAD + 1 + count]
    floor_left = s.floors[PAD:PAD + count]
    floor_right = s.floors[PAD + 1:PAD + 1 + count]
    passing = s.passing[PAD:PAD + count]
    pending = s.pending[PAD:PAD + count]
    floor = np.float64(low)
    for t in range(count):
        top = h[t]
        top64 = np.float64(top)
        left_ok = top64 - np.float64(floor_left[t]) >= least
        right_ok = top64 - np.float64(floor_right[t]) >= least
        left_stop = (t == 0) | (before[t] > top)
        right_stop = (t == count - 1) | (after[t] > top)
        fails = (top64 - floor < least) | (left_stop & (not left_ok)) | (right_stop & (not right_ok))
        passing[t] = np.uint8(left_ok & right_ok)
        pending[t] = np.uint8((not fails) & (not (left_ok & right_ok)))


@_inline
def walk_pending(row, s, count, least):
    """SciPy's walks on ``row`` (:func:`fastsmp.backends.peak_rules.prominence`)
    for the kept peaks whose ``prominence`` :func:`prominent_dense` left open."""
    line = row.reshape((1, row.size, 1))
    no = np.empty(0)
    no_at = np.empty(0, np.int64)
    for t in range(PAD, PAD + count):
        if s.pending[t] != 0 and s.kept[t] != 0:
            prom, _, _ = _prominence(line, 0, 0, s.at[t], -1.0, no, no, no_at, no, no_at, least)
            s.passing[t] = np.uint8(prom >= least)


@_divide
def screen_widths(row, rules, s, count, low):
    """Clear ``s.kept`` at the listed peaks whose width cannot reach
    ``rules.width_min`` whatever their prominence: where both neighbours lie
    below the width's height at the largest prominence possible (``top -
    low``), the width interpolated between them bounds the width (SciPy's
    walks stop there or nearer;
    :func:`~fastsmp.backends.peak_rules.width_bound`, the same arithmetic,
    here several peaks at a time)."""
    at = s.at[PAD:PAD + count]
    heights = s.heights[PAD:PAD + count]
    kept = s.kept[PAD:PAD + count]
    befores = s.spare[PAD:PAD + count]  # the neighbours, gathered first: the loop
    afters = s.nearby[PAD:PAD + count]  # after them vectorises
    for t in range(count):
        befores[t] = row[at[t] - 1]
        afters[t] = row[at[t] + 1]
    least = np.float64(low)
    for t in range(count):
        peak = at[t]
        top = np.float64(heights[t])
        height = top - (top - least) * rules.rel_height
        before = np.float64(befores[t])
        after = np.float64(afters[t])
        below = (before < height) & (after < height)
        left_ip = np.float64(peak - 1) + (height - before) / (top - before)
        right_ip = np.float64(peak + 1) - (height - after) / (top - after)
        kept[t] &= np.uint8(not (below & (right_ip - left_ip < rules.width_min)))


@_apart
def measure_kept(row, rules, s, count, low):
    """SciPy's ``prominence`` and ``width`` rules, exactly, on the kept
    peaks among the ``count`` listed maxima (every maximum of the line);
    ``low`` is the line's lowest sample. A ``width`` minimum first drops
    the peaks whose width cannot reach it whatever their prominence
    (:func:`~fastsmp.backends.peak_rules.width_bound`); the others walk the
    floors from valley to valley
    (:func:`~fastsmp.backends.peak_rules.valley_prominence`), then the line
    (:func:`~fastsmp.backends.peak_rules.width`), as SciPy's walks do."""
    line = row.reshape((1, row.size, 1))
    heights = s.heights[PAD:PAD + count]
    floors = s.floors[PAD:PAD + count + 1]
    floor_at = s.floor_at[:count + 1]
    if rules.need_width != 0 and rules.width_min == rules.width_min:
        screen_widths(row, rules, s, count, low)
    walks = 0
    for t in range(count):  # the kept ones listed first: no branch per maximum
        s.walk_at[walks] = t
        walks += np.int64(s.kept[PAD + t] != 0)
    for u in range(walks):
        t = s.walk_at[u]
        peak = s.at[PAD + t]
        top = np.float64(heights[t])
        # the floors' last samples are the left bases, as SciPy's walk left
        # finds them; a right base is the first sample of its floor
        _, left_base, right_base = _valley_prominence(t, heights, count, floors, floor_at, floor_at, np.nan, low)
        while row[right_base - 1] == row[right_base]:
            right_base -= 1
        prom = _top_minus_base(top, np.float64(row[left_base]), np.float64(row[right_base]))
        if not _within(rules.prominence_min, rules.prominence_max, prom):
            s.kept[PAD + t] = 0
            continue
        if rules.need_width != 0:
            w, _, _, _ = _width(line, 0, 0, peak, prom, left_base, right_base, rules.rel_height)
            s.kept[PAD + t] = np.uint8(_within(rules.width_min, rules.width_max, w))


@_apart
def select_line_dense(row, rules, filters, per_peak, s):
    """Every rule of SciPy's ``find_peaks`` on ``row`` (one line, float32 or
    float64, at least 3 samples) under rules that :func:`applies` allows:
    returns the number of maxima listed in ``s.at[PAD:]`` (positions) and
    ``s.heights[PAD:]``, the ones every rule keeps flagged in
    ``s.kept[PAD:]``; -1, deciding nothing, for a line this cannot decide
    (see the module's docstring). ``per_peak``: whether ``plateau_size``,
    ``height`` or ``threshold`` has a bound."""
    n = row.size
    flags, at, h, floors, turns_at, turns_value = s.flags, s.at, s.heights, s.floors, s.turns, s.values
    none = h[0]
    inf = -none
    # single-sample maxima; a rise onto equal samples may start a plateau.
    # Between two such maxima the line falls (or stays) then rises: one
    # floor each, where it turns up, and one at each end (the line turns up
    # towards an imagined +inf beyond it). NaN and +inf: given back
    before = row[0:n - 2]
    inner = row[1:n - 1]
    after = row[2:n]
    marks = flags[1:n - 1]
    bad = np.uint8(0)
    for j in range(n - 2):
        a = before[j]
        b = inner[j]
        c = after[j]
        bad |= np.uint8((b != b) | (b == inf) | ((a < b) & (b == c)))
        marks[j] = np.uint8(((a < b) & (b > c)) | ((a >= b) & (b < c)))
    first = row[0]
    last = row[n - 1]
    bad |= np.uint8((first != first) | (first == inf) | (last != last) | (last == inf))
    flags[0] = np.uint8(first < row[1])
    flags[n - 1] = np.uint8(row[n - 2] >= last)
    if bad != 0:
        return -1
    turns = 0
    for j in range(n):  # the turns in order, floor first: stores per sample, advanced at turns
        v = row[j]
        turns_at[turns] = j
        turns_value[turns] = v
        turns += np.int64(flags[j])
    if turns % 2 == 0:
        return -1  # cannot happen: floors and maxima alternate, floors at both ends
    count = (turns - 1) // 2
    listed = at[PAD:PAD + count]
    heights = h[PAD:PAD + count]
    for t in range(count):
        listed[t] = turns_at[2 * t + 1]
        heights[t] = turns_value[2 * t + 1]
    for t in range(count + 1):
        floors[PAD + t] = turns_value[2 * t]
    for k in range(PAD):
        at[PAD + count + k] = FAR
        h[PAD + count + k] = none
    exact = (rules.need_prominence != 0 or rules.need_width != 0) and not minimum_only(rules)
    if exact and per_peak:
        return -1  # the walks need every maximum in the list: the peak-by-peak path
    low = lowest_floor(s, count)
    # a minimum only: decided on the floors (a prominence is never negative)
    prominent = rules.need_prominence != 0 and minimum_only(rules) and rules.prominence_min > 0
    if prominent:
        prominent_dense(s, count, rules.prominence_min, low)
    if per_peak:  # the candidates, in place (the prominence flags travel along)
        size_ok = _within(rules.plateau_min, rules.plateau_max, 1.0)
        kept_ = 0
        for t in range(PAD, PAD + count):
            j = at[t]
            top = np.float64(h[t])
            at[PAD + kept_] = j
            h[PAD + kept_] = h[t]
            s.passing[PAD + kept_] = s.passing[t]
            s.pending[PAD + kept_] = s.pending[t]
            kept_ += np.int64(size_ok and _keep_peak(top, top - np.float64(row[j - 1]),
                                                     top - np.float64(row[j + 1]), filters))
        count = kept_
        for k in range(PAD):
            at[PAD + count + k] = FAR
            h[PAD + count + k] = none
    kept = s.kept[PAD:PAD + count]
    if rules.distance == rules.distance and rules.distance > 1 and count > 1:
        if not keep_distant_dense(s, count, rules.distance):
            return -1
    else:
        for t in range(count):
            kept[t] = 1
    if prominent:
        walk_pending(row, s, count, rules.prominence_min)
        passing = s.passing[PAD:PAD + count]
        for t in range(count):
            kept[t] &= passing[t]
    elif exact:
        floor_at = s.floor_at[:count + 1]
        for t in range(count + 1):
            floor_at[t] = turns_at[2 * t]
        measure_kept(row, rules, s, count, low)
    return count
