"""SciPy's peak selection for one line, written once for every compiled target.

``scipy.signal.find_peaks`` finds the local maxima of a line (plateaus
reported at their middle), then drops peaks by ``plateau_size``, ``height``
and ``threshold`` (each a test of one peak), by ``distance`` (smaller peaks
go first), by ``prominence`` and by ``width``, in that order, each rule
applied to the survivors of the ones before. The bodies below are those
steps for one line of a ``(outer, n, inner)`` view, line ``(o, i)`` being
``x[o, :, i]``, each sample read as float64 as SciPy reads it. The CPU runs
them in parallel loops over lines (:mod:`fastsmp.backends.cpu.selection`),
CUDA a thread per stretch of a line or per peak (:mod:`fastsmp.backends.cuda.selection`); the
tables of peaks they fill, and the order of the steps, are
:mod:`fastsmp.backends.peak_table`'s.

The arithmetic follows SciPy's ``_peak_finding_utils.pyx`` operation for
operation, so that float properties are SciPy's bits.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np

from .spec import KernelFilters, _jit, curvature, elementwise, keep_peak, magnitude


class PeakRules(NamedTuple):
    """The bounds of every rule, as the kernels take them: float64, NaN for
    an absent bound (validation rejects NaN, so it is free as a marker).

    ``height`` and ``threshold`` travel apart, as
    :class:`~fastsmp.backends.spec.KernelFilters`, shared with the SMP kernels.
    """

    plateau_min: float
    plateau_max: float
    distance: float  #: SciPy's ``ceil(distance)``; NaN: no distance rule
    prominence_min: float
    prominence_max: float
    width_min: float
    width_max: float
    wlen: float  #: SciPy's ``wlen`` after rounding up; -1: the whole line
    rel_height: float
    need_prominence: float  #: 1.0 where prominences are computed (a rule or a property needs them)
    need_width: float  #: 1.0 where widths are computed
    #: 1.0 where the prominences themselves are wanted (a property, or the
    #: widths); 0.0 lets the cpu walk stop once a peak passes ``prominence_min``
    exact_prominence: float = 1.0


#: :func:`maxima` and :func:`marked` store positions
STORE_PEAKS = 1
#: ... float64 heights
STORE_HEIGHTS = 8
#: ... the differences to both neighbours
STORE_THRESHOLDS = 4
#: ... plateau edges and sizes (:func:`maxima` only)
STORE_EDGES = 2


@elementwise
def within(lo, hi, value):
    """SciPy's ``_select_by_property``: ``lo <= value <= hi``, an absent (NaN)
    bound passing."""
    return ((lo != lo) | (lo <= value)) & ((hi != hi) | (value <= hi))


@functools.lru_cache(maxsize=None)
def maxima_between(target):
    """``maxima_between(x, o, i, rules, filters, lo, hi, start, store, peaks,
    heights, lefts, rights, sizes, left_thresholds, right_thresholds) ->
    count``: :func:`maxima` for the maxima whose plateau's left edge ``l``
    lies in ``lo <= l < hi`` (clipped to the line); a plateau that opens
    there is followed past ``hi`` to its end, so that stretches of a line
    that cover it find each maximum once (SciPy's test of a left edge
    depends on nothing before it: the CUDA table fill walks stretches)."""
    within_ = within.on(target)
    keep = keep_peak.on(target)

    def body(x, o, i, rules, filters, lo, hi, start, store, peaks, heights, lefts, rights, sizes, left_thresholds,
             right_thresholds):
        n = x.shape[1]
        count = 0
        j = max(lo, 1)
        stop = min(hi, n - 1)
        while j < stop:
            cur = np.float64(x[o, j, i])
            if np.float64(x[o, j - 1, i]) < cur:  # a rise: j opens a candidate
                ahead = j + 1
                while ahead < n - 1 and np.float64(x[o, ahead, i]) == cur:  # along the plateau
                    ahead += 1
                if np.float64(x[o, ahead, i]) < cur:  # it ends in a fall: a maximum
                    mid = (j + ahead - 1) // 2
                    size = np.float64(ahead - j)
                    left = cur - np.float64(x[o, mid - 1, i])
                    right = cur - np.float64(x[o, mid + 1, i])
                    if within_(rules.plateau_min, rules.plateau_max, size) and keep(cur, left, right, filters):
                        at = start + count
                        if store & STORE_PEAKS:
                            peaks[at] = mid
                        if store & STORE_HEIGHTS:
                            heights[at] = cur
                        if store & STORE_EDGES:
                            lefts[at] = j
                            rights[at] = ahead - 1
                            sizes[at] = ahead - j
                        if store & STORE_THRESHOLDS:
                            left_thresholds[at] = left
                            right_thresholds[at] = right
                        count += 1
                    j = ahead  # the plateau is done; the next candidate rises after it
            j += 1
        return count

    return _jit(target, body)


@functools.lru_cache(maxsize=None)
def maxima(target):
    """``maxima(x, o, i, rules, filters, start, store, peaks, heights, lefts,
    rights, sizes, left_thresholds, right_thresholds) -> count``:
    SciPy's ``_local_maxima_1d`` on line ``(o, i)``, keeping the maxima that
    pass the ``plateau_size``, ``height`` and ``threshold`` rules. ``store``
    is a sum of :data:`STORE_PEAKS` (each kept maximum's position goes to
    ``peaks`` at ``start``, ``start + 1``, ...), :data:`STORE_HEIGHTS` (its
    float64 height), :data:`STORE_EDGES` (plateau edges and size) and
    :data:`STORE_THRESHOLDS` (the differences to the neighbours); 0 only
    counts. Arrays a call does not store into may be empty."""
    between = maxima_between(target)

    def body(x, o, i, rules, filters, start, store, peaks, heights, lefts, rights, sizes, left_thresholds,
             right_thresholds):
        return between(x, o, i, rules, filters, 1, x.shape[1] - 1, start, store, peaks, heights, lefts, rights,
                       sizes, left_thresholds, right_thresholds)

    return _jit(target, body)


@elementwise
def maxima_valleys(x, o, i, steps, mids, lefts, rights, heights, valley_min, valley_first, valley_last):
    """Every local maximum of line ``(o, i)`` as SciPy's ``_local_maxima_1d``
    finds them (no rule applied): the ``count`` maxima's middles, plateau
    edges and float64 heights, and the ``count + 1`` valleys around them,
    valley ``k`` being the samples between maximum ``k - 1`` and maximum
    ``k`` (the line's ends for the first and last): its lowest sample and
    that sample's first and last position. Returns ``(count, clean)``,
    ``clean`` False where the line holds a NaN (whose comparisons this does
    not follow: the caller must not use the result then). ``steps`` (int8)
    needs ``n`` slots, ``lefts`` and ``rights`` ``n + 1``, the others
    ``n // 2 + 2``.

    A line between two neighbouring maxima only falls, then only rises (a
    rise, equal samples, then a fall would be a maximum): maxima and valley
    floors alternate, and each is where the line turns, a run of equal
    samples between a rise and a fall (a maximum) or a fall and a rise (a
    floor). One branch-free sweep over the steps between samples records
    every turn; a line that starts rising starts with a floor (its first
    samples), one that ends falling ends with one. A prominence walk that
    enters a valley passes its floor before any sample higher than the
    peak, so :func:`valley_bases` finds SciPy's bases from the floors."""
    n = x.shape[1]
    clean = True
    for j in range(n - 1):  # the steps, apart: this loop vectorises
        a = np.float64(x[o, j, i])
        b = np.float64(x[o, j + 1, i])
        clean = clean & (a == a)
        steps[j] = np.int8(a < b) - np.int8(b < a)
    turns = np.uint64(0)
    last_step = np.int8(0)  # the direction of the last step that was not flat: 1 up, -1 down, 0 none yet
    last_at = -1  # where it started
    for j in range(n - 1):
        step = steps[j]
        moved = step != 0
        lefts[turns] = last_at + 1
        rights[turns] = j
        turns += np.uint64(moved & (step != last_step))
        last_at = j if moved else last_at
        last_step = step if moved else last_step
    turns = np.int64(turns)
    last = np.float64(x[o, n - 1, i])
    clean = clean & (last == last)
    if last_step < 0:  # a falling end: the last samples are a floor
        lefts[turns] = last_at + 1
        rights[turns] = n - 1
        turns += 1
    skip = 0
    if turns > 0 and not (np.float64(x[o, rights[0], i]) < np.float64(x[o, rights[0] + 1, i])):
        skip = 1  # a falling start: the first turn is no floor
    if turns - skip <= 0:  # flat, or only falling
        valley_min[0] = np.float64(x[o, 0, i])
        valley_first[0] = 0
        valley_last[0] = 0
        return 0, clean
    count = (turns - skip - 1) // 2
    for k in range(count + 1):
        e = skip + 2 * k
        floor_left = lefts[e]
        floor_right = rights[e]
        valley_min[k] = np.float64(x[o, floor_left, i])
        valley_first[k] = floor_left
        valley_last[k] = floor_right
        if k < count:
            left = lefts[e + 1]
            right = rights[e + 1]
            mids[k] = (left + right) // 2
            heights[k] = np.float64(x[o, left, i])
            lefts[k] = left
            rights[k] = right
    return count, clean


@elementwise
def valley_bases(heights, count, valley_min, valley_first, valley_last, left_min, left_base, right_min, right_base,
                 stack):
    """SciPy's prominence walks (no ``wlen``, no NaN) for all ``count``
    maxima of :func:`maxima_valleys` at once: per maximum the lowest sample
    and its position (the one nearest to the peak among equals) on each side
    up to the first higher maximum (the line's end where none is higher).

    A walk left from maximum ``k`` crosses the valleys down to the nearest
    maximum higher than ``heights[k]``; a stack of the maxima not yet
    passed by a higher one, each with the lowest of the valleys it crossed,
    finds all of them in one sweep per side (every maximum pushed and popped
    once). Merging keeps the nearer of equal minima, as the walk does."""
    top = 0
    for k in range(count):
        low = valley_min[k]
        at = valley_last[k]
        while top > 0 and heights[stack[top - 1]] <= heights[k]:
            top -= 1
            e = stack[top]
            if left_min[e] < low:
                low = left_min[e]
                at = left_base[e]
        left_min[k] = low
        left_base[k] = at
        stack[top] = k
        top += 1
    top = 0
    for k in range(count - 1, -1, -1):
        low = valley_min[k + 1]
        at = valley_first[k + 1]
        while top > 0 and heights[stack[top - 1]] <= heights[k]:
            top -= 1
            e = stack[top]
            if right_min[e] < low:
                low = right_min[e]
                at = right_base[e]
        right_min[k] = low
        right_base[k] = at
        stack[top] = k
        top += 1


@elementwise
def keep_distant(peaks, heights_order, keep, start, stop, distance):
    """SciPy's ``_select_by_peak_distance`` on entries ``start..stop - 1``:
    from the highest peak down (``heights_order`` is the argsort of their
    heights within the line, as SciPy takes it), drop the peaks closer than
    ``distance`` (already rounded up) to a peak still kept."""
    for t in range(stop - start - 1, -1, -1):
        j = start + heights_order[start + t]
        if keep[j] == 0:
            continue
        k = j - 1
        while start <= k and peaks[j] - peaks[k] < distance:
            keep[k] = 0
            k -= 1
        k = j + 1
        while k < stop and peaks[k] - peaks[j] < distance:
            keep[k] = 0
            k += 1


@elementwise
def keep_distant_by_height(peaks, heights, keep, start, stop, distance, state, stack):
    """:func:`keep_distant` without sorting, for a line where no two peaks
    closer than ``distance`` have equal heights; returns False (and decides
    nothing) where two such peaks do, since only ``numpy.argsort``'s order
    among equals can settle them as SciPy does.

    SciPy keeps a peak exactly when no kept peak within ``distance`` is
    higher (a kept peak is never removed later), so each peak is decided
    once its higher neighbours are: a walk up to them on ``stack``. ``state``
    (one slot per entry of the line, 0 on entry) is 0 undecided, 1 kept, 2
    removed; ``stack`` has one slot per entry."""
    for j in range(start, stop):  # ties within reach
        k = j + 1
        while k < stop and peaks[k] - peaks[j] < distance:
            if heights[k] == heights[j]:
                return False
            k += 1
    for j in range(start, stop):
        if state[j - start] != 0:
            continue
        top = 0
        stack[0] = j
        while top >= 0:
            t = stack[top]
            pending = -1
            kept_higher = False
            k = t - 1
            while start <= k and peaks[t] - peaks[k] < distance:
                if heights[k] > heights[t]:
                    if state[k - start] == 0:
                        pending = k
                    elif state[k - start] == 1:
                        kept_higher = True
                k -= 1
            k = t + 1
            while k < stop and peaks[k] - peaks[t] < distance:
                if heights[k] > heights[t]:
                    if state[k - start] == 0:
                        pending = k
                    elif state[k - start] == 1:
                        kept_higher = True
                k += 1
            if pending >= 0 and not kept_higher:  # decide the higher neighbour first
                top += 1
                stack[top] = pending
                continue
            state[t - start] = 2 if kept_higher else 1
            top -= 1
    for j in range(start, stop):
        if state[j - start] == 2:
            keep[j] = 0
    return True


@functools.lru_cache(maxsize=None)
def keep_distant_nearby(target):
    """``keep_distant_nearby(peaks, heights, keep, count, distance, reach,
    state, undecided) -> bool``: :func:`keep_distant_by_height` on entries ``0..count - 1`` that are
    a line's maxima, at most ``reach`` of which lie within ``distance`` of
    each other on a side (maxima are at least 2 apart: ``reach`` is
    ``(distance - 1) // 2``); False, deciding nothing, where two within
    reach have equal heights. ``state`` and ``undecided`` have ``count``
    slots.

    A peak is kept exactly when no higher peak within reach is kept. A
    sweep decides every peak with no higher one in reach (kept), then
    sweeps over the undecided ones decide each whose higher neighbours are
    decided, the highest undecided at least, each sweep; the neighbours are
    read in a fixed number of steps, without branches. After a few sweeps
    :func:`keep_distant_by_height` settles what is left."""
    by_height = keep_distant_by_height.on(target)

    def body(peaks, heights, keep, count, distance, reach, state, undecided):
        left_open = 0
        tie = False
        for j in range(count):
            pj = peaks[j]
            hj = heights[j]
            higher = False
            for r in range(1, reach + 1):
                kl = max(j - r, 0)
                kr = min(j + r, count - 1)
                inl = (j - r >= 0) & (pj - peaks[kl] < distance)
                inr = (j + r < count) & (peaks[kr] - pj < distance)
                higher = higher | (inl & (heights[kl] > hj)) | (inr & (heights[kr] > hj))
                tie = tie | (inl & (heights[kl] == hj)) | (inr & (heights[kr] == hj))
            state[j] = np.uint8(0) if higher else np.uint8(1)
            undecided[left_open] = j
            left_open += np.int64(higher)
        if tie:
            return False
        sweeps = 0
        while left_open > 0 and sweeps < 6:
            still = 0
            for t in range(left_open):
                j = undecided[t]
                pj = peaks[j]
                hj = heights[j]
                kept_higher = False
                pending = False
                for r in range(1, reach + 1):
                    kl = max(j - r, 0)
                    kr = min(j + r, count - 1)
                    inl = (j - r >= 0) & (pj - peaks[kl] < distance) & (heights[kl] > hj)
                    inr = (j + r < count) & (peaks[kr] - pj < distance) & (heights[kr] > hj)
                    kept_higher = kept_higher | (inl & (state[kl] == 1)) | (inr & (state[kr] == 1))
                    pending = pending | (inl & (state[kl] == 0)) | (inr & (state[kr] == 0))
                state[j] = np.uint8(2) if kept_higher else (np.uint8(0) if pending else np.uint8(1))
                undecided[still] = j
                still += np.int64(pending and not kept_higher)
            left_open = still
            sweeps += 1
        if left_open > 0:
            return by_height(peaks, heights, keep, 0, count, distance, state, undecided)
        for j in range(count):
            keep[j] = np.uint8(state[j] != 2)
        return True

    return _jit(target, body)


@functools.lru_cache(maxsize=None)
def valley_prominence(target):
    """``valley_prominence(k, heights, count, valley_min, valley_first,
    valley_last, enough, low) -> (prominence, left_base, right_base)``: SciPy's
    prominence walk for maximum ``k`` of :func:`maxima_valleys`
    (no ``wlen``, no NaN), crossing a valley per step: ``(prominence,
    left_base, right_base)``. Each side stops at the first higher maximum,
    at a floor of ``low`` (the line's lowest sample: no later floor is
    lower, and the walk keeps the nearest of equal floors, so the result is
    exact) or, with ``enough`` (not NaN), once ``heights[k]`` minus the
    lowest floor so far reaches it (then the prominence is only a lower
    bound, enough to decide a ``prominence`` rule with a minimum only, as
    in :func:`prominence`)."""
    top_minus_base_ = top_minus_base.on(target)

    def walk(k, heights, count, valley_min, valley_first, valley_last, enough, low):
        top = heights[k]
        left_min = valley_min[k]
        left_base = valley_last[k]
        e = k - 1
        while e >= 0 and heights[e] <= top and left_min > low and not (top - left_min >= enough):
            if valley_min[e] < left_min:
                left_min = valley_min[e]
                left_base = valley_last[e]
            e -= 1
        right_min = valley_min[k + 1]
        right_base = valley_first[k + 1]
        e = k + 1
        while e < count and heights[e] <= top and right_min > low and not (top - right_min >= enough):
            if valley_min[e + 1] < right_min:
                right_min = valley_min[e + 1]
                right_base = valley_first[e + 1]
            e += 1
        return top_minus_base_(top, left_min, right_min), left_base, right_base

    return _jit(target, walk)


@elementwise
def top_minus_base(top, left_min, right_min):
    """SciPy's ``x[peak] - max(left_min, right_min)``, with Cython's ``max``."""
    base = left_min
    if right_min > base:
        base = right_min
    return top - base


@elementwise
def width(x, o, i, peak, prominence, left_base, right_base, rel_height):
    """SciPy's ``_peak_widths`` for one peak: ``(width, width_height,
    left_ip, right_ip)``, the line crossing ``x[peak] - prominence *
    rel_height`` found between the bases and interpolated linearly."""
    top = np.float64(x[o, peak, i])
    height = top - prominence * rel_height
    j = peak
    while left_base < j and height < np.float64(x[o, j, i]):
        j -= 1
    left_ip = np.float64(j)
    if np.float64(x[o, j, i]) < height:  # the crossing lies between samples
        left_ip += (height - np.float64(x[o, j, i])) / (np.float64(x[o, j + 1, i]) - np.float64(x[o, j, i]))
    j = peak
    while j < right_base and height < np.float64(x[o, j, i]):
        j += 1
    right_ip = np.float64(j)
    if np.float64(x[o, j, i]) < height:
        right_ip -= (height - np.float64(x[o, j, i])) / (np.float64(x[o, j - 1, i]) - np.float64(x[o, j, i]))
    return right_ip - left_ip, height, left_ip, right_ip


@elementwise
def width_bound(x, o, i, peak, prominence_bound, rel_height):
    """An upper bound of SciPy's width of ``peak`` (:func:`width`) for any
    prominence up to ``prominence_bound`` and any bases: where both
    neighbours lie below the lowest height the walks can aim at, the width
    is at most the interpolated width between the neighbours at that
    height; else infinity (no bound). It lets a ``width`` rule with a
    minimum drop most peaks without their exact prominence.

    Every step is SciPy's operation on bounds, and rounding is monotone, so
    the bound holds bit for bit: a smaller prominence raises the height,
    which moves both crossings towards the peak (or onto it, where the
    height reaches the top); NaN and infinities fail the comparisons and
    give no bound."""
    top = np.float64(x[o, peak, i])
    height = top - prominence_bound * rel_height
    before = np.float64(x[o, peak - 1, i])
    after = np.float64(x[o, peak + 1, i])
    if not (before < height and after < height):
        return np.inf
    left_ip = np.float64(peak - 1) + (height - before) / (top - before)
    right_ip = np.float64(peak + 1) - (height - after) / (top - after)
    return right_ip - left_ip


#: samples per block of :func:`block_summaries`
BLOCK = 16


@elementwise
def block_summaries(x, o, i, high, low_right, low_right_at, low_left, low_left_at):
    """Per block of :data:`BLOCK` samples of line ``(o, i)``: the highest
    sample (NaN where the block holds a NaN), and the lowest with its last
    and its first position. :func:`prominence` crosses a block in
    one step where no sample of it is higher than the peak."""
    n = x.shape[1]
    for b in range(high.size):
        lo = b * BLOCK
        first = np.float64(x[o, lo, i])
        hi = first
        low_r = first
        low_r_at = lo
        low_l = first
        low_l_at = lo
        for j in range(lo + 1, min(lo + BLOCK, n)):
            v = np.float64(x[o, j, i])
            if not (v <= hi):  # a NaN sticks
                hi = v if hi == hi else hi
            if v <= low_r:
                low_r = v
                low_r_at = j
            if v < low_l:
                low_l = v
                low_l_at = j
        high[b] = hi
        low_right[b] = low_r
        low_right_at[b] = low_r_at
        low_left[b] = low_l
        low_left_at[b] = low_l_at


@functools.lru_cache(maxsize=None)
def prominence(target):
    """``prominence(x, o, i, peak, wlen, high, low_right, low_right_at,
    low_left, low_left_at, enough) -> (prominence, left_base, right_base)``:
    SciPy's ``_peak_prominences`` for one peak. A base is the lowest sample
    between the peak and the first higher sample (or the window's edge,
    ``wlen >= 2``) on its side, the one nearest to the peak among equals; a
    NaN stops the walk as a higher sample would (every comparison with it is
    false, as in SciPy's loop).

    Given :func:`block_summaries` of the line (empty arrays: none), the walk
    crosses in one step every whole block inside the window whose samples
    are all at most the peak's height: its lowest sample (the last position
    on the left, the first on the right) is what the walk through it would
    have found. The same bases, without walking sample by sample over long
    stretches.

    With ``enough`` (not NaN), a side's walk stops once ``x[peak]`` minus the
    lowest sample so far reaches it: for a ``prominence`` rule with a minimum
    only, whose prominences are not wanted, that decides the rule exactly as
    the whole walk would (``top - m`` only falls as ``m`` rises, rounding
    included), though the prominence returned is then only a lower bound."""
    top_minus_base_ = top_minus_base.on(target)

    def walk(x, o, i, peak, wlen, high, low_right, low_right_at, low_left, low_left_at, enough):
        n = x.shape[1]
        jumps = high.size > 0
        i_min = 0
        i_max = n - 1
        if 2 <= wlen:
            half = np.int64(wlen) // 2
            i_min = max(peak - half, i_min)
            i_max = min(peak + half, i_max)
        top = np.float64(x[o, peak, i])
        left_base = peak
        left_min = top
        j = peak
        while i_min <= j:
            if top - left_min >= enough:
                break  # the rule is met on this side: the walk need not go on
            if jumps and j % BLOCK == BLOCK - 1 and i_min <= j - (BLOCK - 1) and high[j // BLOCK] <= top:
                b = j // BLOCK  # a whole block of samples <= top
                if low_right[b] < left_min:
                    left_min = low_right[b]
                    left_base = low_right_at[b]
                j -= BLOCK
                continue
            v = np.float64(x[o, j, i])
            if not (v <= top):
                break
            if v < left_min:
                left_min = v
                left_base = j
            j -= 1
        right_base = peak
        right_min = top
        j = peak
        while j <= i_max:
            if top - right_min >= enough:
                break
            if jumps and j % BLOCK == 0 and j + (BLOCK - 1) <= i_max and high[j // BLOCK] <= top:
                b = j // BLOCK
                if low_left[b] < right_min:
                    right_min = low_left[b]
                    right_base = low_left_at[b]
                j += BLOCK
                continue
            v = np.float64(x[o, j, i])
            if not (v <= top):
                break
            if v < right_min:
                right_min = v
                right_base = j
            j += 1
        return top_minus_base_(top, left_min, right_min), left_base, right_base

    return _jit(target, walk)


@functools.lru_cache(maxsize=None)
def measure(target):
    """``measure(x, o, i, rules, start, stop, peaks, keep, given, prominences,
    left_bases, right_bases, widths, width_heights, left_ips, right_ips,
    blocks, enough)``: on entries ``start..stop - 1`` still kept, the
    prominence and bases (unless ``given``: then read from the arrays, as
    ``peak_widths`` takes ``prominence_data``), the ``prominence`` rule, the
    widths, the ``width`` rule (SciPy computes the widths of the peaks the
    prominence rule kept). ``blocks`` and ``enough`` go to :func:`prominence`
    (``blocks`` the five arrays of :func:`block_summaries`)."""
    within_ = within.on(target)
    prominence_ = prominence(target)
    width_ = width.on(target)

    def body(x, o, i, rules, start, stop, peaks, keep, given, prominences, left_bases, right_bases,
             widths, width_heights, left_ips, right_ips, blocks, enough):
        high, low_right, low_right_at, low_left, low_left_at = blocks
        for k in range(start, stop):
            if keep[k] == 0:
                continue
            if rules.need_prominence != 0 and not given:
                p, lb, rb = prominence_(x, o, i, peaks[k], rules.wlen, high, low_right, low_right_at, low_left,
                                        low_left_at, enough)
                prominences[k] = p
                left_bases[k] = lb
                right_bases[k] = rb
            if not within_(rules.prominence_min, rules.prominence_max, prominences[k]):
                keep[k] = 0
                continue
            if rules.need_width != 0:
                w, h, li, ri = width_(x, o, i, peaks[k], prominences[k], left_bases[k], right_bases[k],
                                     rules.rel_height)
                widths[k] = w
                width_heights[k] = h
                left_ips[k] = li
                right_ips[k] = ri
                if not within_(rules.width_min, rules.width_max, w):
                    keep[k] = 0

    return _jit(target, body)


@elementwise
def count_kept(keep, start, stop):
    """How many of entries ``start..stop - 1`` are kept."""
    c = 0
    for k in range(start, stop):
        c += keep[k]
    return c


@elementwise
def compact(keep, start, stop, src, at, dst):
    """Copy the kept entries of ``src[start..stop - 1]``, in order, to ``dst``
    from ``at``."""
    t = at
    for k in range(start, stop):
        if keep[k] != 0:
            dst[t] = src[k]
            t += 1


@elementwise
def marked(mask, x, o, i, start, store, peaks, heights, left_thresholds, right_thresholds):
    """The positions ``p`` with ``mask[o, p, i]``: their count, and, as
    ``store`` asks (:data:`STORE_PEAKS`, :data:`STORE_HEIGHTS`,
    :data:`STORE_THRESHOLDS`), their positions, float64 heights and
    differences to the neighbours in ``x`` from ``start``. Reads a peak mask
    the fast kernels drew, or the positions ``peak_prominences`` and
    ``peak_widths`` are given (any positions)."""
    count = 0
    for p in range(mask.shape[1]):
        if mask[o, p, i]:
            at = start + count
            if store & STORE_PEAKS:
                peaks[at] = p
            if store & STORE_HEIGHTS:
                heights[at] = np.float64(x[o, p, i])
            if store & STORE_THRESHOLDS:
                left_thresholds[at] = np.float64(x[o, p, i]) - np.float64(x[o, p - 1, i])
                right_thresholds[at] = np.float64(x[o, p, i]) - np.float64(x[o, p + 1, i])
            count += 1
    return count


@elementwise
def mark(mask, o, i, keep, start, stop, peaks):
    """Set ``mask[o, p, i]`` at every kept peak ``p`` of the line."""
    for k in range(start, stop):
        if keep[k] != 0:
            mask[o, peaks[k], i] = True


@elementwise
def line_total(keep, start, stop, heights):
    """The sum of the kept heights, in order (float64), and their count."""
    s = 0.0
    c = 0
    for k in range(start, stop):
        if keep[k] != 0:
            s += heights[k]
            c += 1
    return s, c


@functools.lru_cache(maxsize=None)
def floored(target):
    """``floored(v, o, i, rtol, a) -> finite``: the floored magnitude of SPEC
    4 of line ``(o, i)`` of ``v`` into ``a[o, :, i]`` (the signal whose peaks
    the SMP adds up), and whether every sample of the line is finite (SPEC 7)."""
    curv = curvature.on(target)
    mag = magnitude.on(target)

    def body(v, o, i, rtol, a):
        finite = True
        for j in range(v.shape[1]):
            s = v[o, j, i]
            finite = finite and (s - s) == (s - s)  # False for NaN and +-inf
        for j in range(v.shape[1] - 2):
            v0, v1, v2 = v[o, j, i], v[o, j + 1, i], v[o, j + 2, i]
            a[o, j, i] = mag(curv(v0, v1, v2), v0, v1, v2, rtol)
        return finite

    return _jit(target, body)


def rules(selection):
    """The :class:`PeakRules` of a validated :class:`fastsmp._args.Selection`."""

    def f(b):
        return np.nan if b is None else float(b)

    s = selection
    return PeakRules(
        f(s.plateau_size[0]), f(s.plateau_size[1]),
        np.nan if s.distance is None else float(math.ceil(s.distance)),
        f(s.prominence[0]), f(s.prominence[1]), f(s.width[0]), f(s.width[1]),
        float(s.wlen), float(s.rel_height), float(s.need_prominence), float(s.need_width), 1.0,
    )


def filters_always(filters):
    """The :class:`~fastsmp.backends.spec.KernelFilters` of ``(hmin, hmax,
    tmin, tmax)``, NaN for absent bounds even when all are absent: the
    selection kernels compile one variant, not two."""
    return KernelFilters(*(np.nan if b is None else float(b) for b in filters))
