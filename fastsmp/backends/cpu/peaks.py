"""Peak tests for the CPU kernels: the exact scalar scan of SPEC section 5
(the walk of :func:`fastsmp.backends.spec.walker`, the CUDA walkers' rule),
and the branch-free strict-maximum tests the vector loops use.

Strict maxima are the only peaks in float data almost always. The vector
loops add the heights of the kept strict maxima and raise a flag where a
plateau rises; a flagged block, line or map is redone by the exact scan. A
flag is a NaN in a float sum: a NaN ``|d|`` (a NaN or inf sample, see
:func:`fastsmp.backends.spec.flagged_magnitude`) or a rising plateau.
"""

from __future__ import annotations

import numba
import numpy as np

from ..spec import MAX_WALK, curvature, keep_peak, magnitude, signals, walker
from .memory import U1, U2
from .sums import SUM_LANES, lanes_like, lanes_total, zero_lanes

_curvature = curvature.cpu
_magnitude = magnitude.cpu
_keep_peak = keep_peak.cpu


# --------------------------------------------------------------------------
# the exact scalar scan (plateaus)
# --------------------------------------------------------------------------


_walk_curvature = walker("cpu", signals("cpu").curvature)
_walk_samples = walker("cpu", signals("cpu").sample)


@numba.njit(cache=True)
def scan_curvature(v, lo, hi, m, rtol, filters):
    """The peaks of SPEC section 5 of the floored ``|d|`` of the (strided)
    line ``v`` whose left edges lie in ``lo <= l < hi`` (``1 <= lo``,
    ``hi <= m - 1``, ``m = len(v) - 2``): ``(sum, count)`` of their heights.
    Walks of at most MAX_WALK left edges, each summed in the working dtype
    and added in float64 (SPEC 6), as the CUDA walkers' stretches are; a
    plateau is followed past the end of its walk."""
    big = v.dtype.type(np.inf)
    total = 0.0
    count = 0
    for start in range(lo, hi, MAX_WALK):
        first = np.uint64(start - 1)
        v0 = v[first]
        v1 = v[first + U1]
        v2 = v[first + U2]
        prev = _magnitude(_curvature(v0, v1, v2), v0, v1, v2, rtol)
        w, _ = _walk_curvature(v, first + np.uint64(3), np.uint64(1), (v1, v2), prev, start,
                               min(start + MAX_WALK, hi), m, rtol, big, filters, None, 0)
        total += np.float64(w.total)
        count += w.count
    return total, count


@numba.njit(cache=True)
def scan_signal(v, lo, hi, n, filters, mask):
    """``mask[p] = True`` at the kept peaks ``p`` of the (strided) line ``v``
    of ``n`` samples whose left edges lie in ``lo <= l < hi`` (``1 <= lo``,
    ``hi <= n - 1``); plateaus are followed past ``hi``."""
    zero = v.dtype.type(0)
    _walk_samples(v, np.uint64(lo), np.uint64(1), (zero, zero), v[lo - 1], lo, hi, n, zero, zero, filters, mask,
                  np.uint64(lo))


@numba.njit(cache=True)
def has_non_finite(v):
    """Whether the (strided) line ``v`` holds a NaN or an inf: the exact
    check behind a NaN flag, which an overflow of finite samples raises too."""
    for j in range(v.size):
        if (v[j] - v[j]) != 0:
            return True
    return False


# --------------------------------------------------------------------------
# branch-free tests for the vector loops
# --------------------------------------------------------------------------


@numba.njit(inline="always")
def strict_peak(prev, cur, nxt, filters):
    """``cur`` is a strict local maximum that the filters keep (the common,
    plateau-free case of SPEC section 5); branch-free for SIMD."""
    if filters is None:  # resolved at compile time: no filters, no float64 work
        return (prev < cur) & (nxt < cur)
    # np.float64, not float(): Numba's float() keeps a float32 a float32,
    # and SPEC 5 forms the neighbour differences in float64
    h = np.float64(cur)
    return (prev < cur) & (nxt < cur) & _keep_peak(h, h - np.float64(prev), h - np.float64(nxt), filters)


@numba.njit(inline="always")
def plateau_start(prev, cur, nxt):
    """A rise onto a run of equal values: the scalar scan must decide."""
    return (prev < cur) & (cur == nxt)


@numba.njit(inline="always")
def candidate(prev, cur, nxt, ok, filters):
    """What candidate ``cur`` (between ``prev`` and ``nxt``) adds to a sum:
    its height if it is a kept strict maximum and ``ok``, else ``prev -
    prev`` (+0, or NaN for a flagged ``prev``: a blend rather than one more
    add); whether it counts; and whether a plateau rises there (and ``ok``)."""
    strict = strict_peak(prev, cur, nxt, filters) & ok
    return (cur if strict else prev - prev), strict, plateau_start(prev, cur, nxt) & ok


@numba.njit(inline="always")
def height_or_flag(prev, cur, nxt, strict, plateau_flag):
    """What a sum that carries its plateaus as NaN adds for candidate
    ``cur``: its height if it is a kept strict maximum (``strict``),
    ``plateau_flag`` (NaN) where a plateau rises, else ``prev - prev``."""
    return cur if strict else (plateau_flag if plateau_start(prev, cur, nxt) else prev - prev)


@numba.njit(inline="always")
def strict_run(a, at, width, filters):
    """Sum (working dtype), count and plateau flag of the kept strict maxima
    among ``a[at+1 : at+width-1]`` (at most SUM_RUN candidates), added in
    SUM_LANES lanes; the sum is NaN if one of ``a[at : at+width-2]`` is."""
    lanes = lanes_like(a)
    counts = lanes_like(np.int32(0))  # integer lanes as wide as
    plateaus = lanes_like(np.int32(0))  # float32 ones, no packing
    zero_lanes(lanes)
    zero_lanes(counts)
    zero_lanes(plateaus)
    candidates = width - 2
    whole = candidates - candidates % SUM_LANES
    for g in range(0, whole, SUM_LANES):
        for l in range(SUM_LANES):
            j = at + np.uint64(g + l)
            h, strict, rise = candidate(a[j], a[j + U1], a[j + U2], True, filters)
            lanes[l] += h
            counts[l] += strict
            plateaus[l] += rise
    for k in range(candidates - whole):  # the rest, into the first lanes
        j = at + np.uint64(whole + k)
        h, strict, rise = candidate(a[j], a[j + U1], a[j + U2], True, filters)
        lanes[k] += h
        counts[k] += strict
        plateaus[k] += rise
    count = 0
    rises = 0
    for l in range(SUM_LANES):
        count += counts[l]
        rises += plateaus[l]
    return lanes_total(lanes), count, rises > 0


#: lines up to PADDED_RUN candidate samples are tested in one loop padded to
#: whole groups of SUM_LANES (masked past the line's end), so that a short
#: line runs no scalar remainder
PADDED_RUN = 64


@numba.njit(inline="always")
def strict_run_padded(a, at, stop, filters):
    """Sum (working dtype) and count of the kept strict maxima among
    ``a[at+1 : at+stop+1]``, with ``stop <= PADDED_RUN``, reading (and
    ignoring) ``a`` up to ``at + PADDED_RUN + 1``. The sum is NaN where a
    plateau rises there or one of ``a[at : at+stop]`` is NaN (flags, as in
    :func:`strict_run`): a short line pays one reduction fewer than with a
    plateau counter. Kept apart from :func:`strict_run`, whose long-line
    loop the mask would slow down."""
    zero = a.dtype.type(0)
    plateau_flag = a.dtype.type(np.nan)
    lanes = lanes_like(a)
    counts = lanes_like(np.int32(0))
    zero_lanes(lanes)
    zero_lanes(counts)
    for g in range(0, stop, SUM_LANES):
        for l in range(SUM_LANES):
            k = g + l
            j = at + np.uint64(k)
            prev = a[j]
            cur = a[j + U1]
            nxt = a[j + U2]
            inside = k < stop
            strict = strict_peak(prev, cur, nxt, filters) & inside
            lanes[l] += height_or_flag(prev, cur, nxt, strict, plateau_flag) if inside else zero
            counts[l] += strict
    count = 0
    for l in range(SUM_LANES):
        count += counts[l]
    return lanes_total(lanes), count
