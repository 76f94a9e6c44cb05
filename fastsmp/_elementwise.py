"""Per-element bodies shared by the CPU and CUDA backends.

Each body is written once, as plain Python on scalars, and compiled for both
targets by :func:`elementwise`: ``body.cpu`` is an ``@njit`` function and
``body.cuda`` a CUDA device function (built on first use, so importing this
module never touches the CUDA driver). The loops around them differ between
targets; the arithmetic that SPEC.md pins down bit for bit does not.

No ``fastmath`` anywhere here: SPEC section 3 forbids reassociating the
second difference and the noise-floor sum.
"""

from __future__ import annotations


import numba
import numpy as np


class _Elementwise:
    """A scalar function compiled lazily for the CPU (njit) and for CUDA."""

    def __init__(self, func):
        self.py = func
        self.__name__ = func.__name__
        self.__doc__ = func.__doc__
        self.cpu = numba.njit(inline="always", cache=True)(func)
        self._cuda = None

    @property
    def cuda(self):
        if self._cuda is None:
            from numba import cuda

            self._cuda = cuda.jit(device=True)(self.py)
        return self._cuda


def elementwise(func):
    """Compile ``func`` for both targets (``.cpu`` and ``.cuda``)."""
    return _Elementwise(func)


@elementwise
def curvature(v0, v1, v2):
    # ``v1 + v1`` is ``2*v1`` exactly, and keeps the working dtype: Numba
    # would promote ``2 * float32`` to float64.
    return (v0 + v2) - (v1 + v1)


@elementwise
def magnitude(d, v0, v1, v2, rtol):
    """|d| with the rounding-noise floor of SPEC section 4 (``rtol`` is 0 or
    positive, already in the working dtype): +0 at or under the floor. The
    CPU fills use their own FMA form with a NaN flag
    (``_cpu._flagged_magnitude``); this one is the exact scans' and CUDA's."""
    # abs(v1 + v1) is 2*|v1| exactly, and shares ``v1 + v1`` with d.
    s = (abs(v0) + abs(v2)) + abs(v1 + v1)
    ad = abs(d)
    # Literally SPEC 4: a NaN |d| (inf - inf from finite samples that
    # overflow) fails the comparison and counts as 0. Lines that hold a NaN
    # or an inf sample are NaN anyway (SPEC 7), whatever ``a`` is there.
    if ad > rtol * s:
        return ad
    return rtol - rtol


@elementwise
def keep_peak(height, left, right, filters):
    """SciPy's ``height`` and ``threshold`` filters on one peak.

    ``height`` and the neighbour differences ``left``/``right`` are float64;
    ``filters`` is None (keep every peak) or ``(hmin, hmax, tmin, tmax)`` in
    float64 with NaN for an absent bound (validation rejects NaN bounds, so NaN is free as a marker).
    Branch-free (``&``/``|`` on booleans) so that the CPU loops around it
    vectorise.
    """
    if filters is None:  # no filter at all; pruned at compile time
        return True
    hmin, hmax, tmin, tmax = filters
    # np.min/np.max over the pair propagate NaN, and NaN fails every bound.
    sides_ok = (left == left) & (right == right)
    return (
        ((hmin != hmin) | (hmin <= height))
        & ((hmax != hmax) | (height <= hmax))
        & ((tmin != tmin) | (sides_ok & (tmin <= min(left, right))))
        & ((tmax != tmax) | (sides_ok & (max(left, right) <= tmax)))
    )


@elementwise
def peak_sides(l, r, before, value, after):
    """float64 ``(a[p]-a[p-1], a[p]-a[p+1])`` for a plateau ``a[l..r] == value``
    reported at ``p = (l + r) // 2``, given ``before = a[l-1]`` and
    ``after = a[r+1]``. Inside a plateau the neighbour equals ``value``; it is
    still subtracted, not assumed 0, so that an inf plateau gives NaN as in
    SciPy."""
    p = (l + r) // 2
    left = before if p == l else value
    right = after if p == r else value
    h = np.float64(value)  # not float(): Numba keeps a float32 a float32
    return h - np.float64(left), h - np.float64(right)


@elementwise
def add_block(line_sums, line_counts, order, b, block_sums, block_counts):
    """Add the lines ``order[b, :]`` to block ``b``'s totals, in that order
    (the SMP over several axes, SPEC section 6)."""
    s = 0.0
    k = 0
    for t in range(order.shape[1]):
        s += line_sums[order[b, t]]
        k += line_counts[order[b, t]]
    block_sums[b] += s
    block_counts[b] += k
