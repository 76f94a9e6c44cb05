"""The fills: the floored ``|d|`` of a stretch of samples into a work buffer,
one vector loop each, NaN where the noise floor's ``s`` is not finite (a NaN
or inf sample, or rarely an overflow of finite samples; see
:func:`fastsmp.backends.spec.flagged_magnitude`). The sums that read the
buffers carry that NaN, and a NaN sum sends its block, line or map to an
exact check: the flag costs one vector subtraction here, where an
or-reduction of flags cost five.
"""

from __future__ import annotations

import numba
import numpy as np

from ..spec import flagged_magnitude
from .memory import U1, U2, prefetch

#: a fill loop asks for the samples PREFETCH_AHEAD ahead of those it reads,
#: once per FILL_GROUP samples (whose inner loop, a constant trip count,
#: vectorises: a prefetch inside the vector loop stops LLVM from vectorising
#: it). Chosen by measurement: bench/RESULTS.md, "prefetch distance".
PREFETCH_AHEAD = 512
FILL_GROUP = 64


@numba.njit(inline="always")
def floored_at(x, row, j, rtol):
    """The flagged floored ``|d|`` of line ``row`` of ``x`` (2-D) at ``j``."""
    return flagged_magnitude(x[row, j], x[row, j + U1], x[row, j + U2], rtol)


@numba.njit(cache=True)
def fill_row(x, line, start, width, rtol, a):
    """``a[k]`` = flagged floored ``|d|`` of line ``line`` of ``x`` (2-D) at
    ``start + k``, for ``k < width``, with the samples PREFETCH_AHEAD ahead
    asked for."""
    row = np.uint64(line)
    base = np.uint64(start)
    n = x.shape[1]
    per_cache_line = max(1, 64 // x.itemsize)
    groups = width // FILL_GROUP
    for g in range(groups):
        ahead = start + g * FILL_GROUP + PREFETCH_AHEAD
        if ahead < n:
            for q in range(0, FILL_GROUP, per_cache_line):
                prefetch(x, (line, min(ahead + q, n - 1)))
        at = np.uint64(g * FILL_GROUP)
        for k in range(FILL_GROUP):
            a[at + np.uint64(k)] = floored_at(x, row, base + at + np.uint64(k), rtol)
    done = np.uint64(groups * FILL_GROUP)
    for k in range(width - groups * FILL_GROUP):  # from 0: see memory.U1
        a[done + np.uint64(k)] = floored_at(x, row, base + done + np.uint64(k), rtol)


@numba.njit(cache=True)
def fill_flat(m, start, count, step, rtol, a):
    """``a[p]`` = flagged floored ``|d|`` of ``m[q], m[q+step], m[q+2*step]``
    with ``q = start + p``, for ``p < count``: along the rows of a flattened
    map or of a group of short lines with ``step = 1``, along a map's
    columns with ``step = w``."""
    s = np.uint64(step)
    base = np.uint64(start)
    for k in range(count):
        j = base + np.uint64(k)
        a[k] = flagged_magnitude(m[j], m[j + s], m[j + s + s], rtol)


@numba.njit(inline="always")
def floored_down(x, o, j, i, rtol):
    """The flagged floored ``|d|`` at row ``j`` of line ``i`` of block ``o``
    of ``x`` (3-D, lines along axis 1)."""
    return flagged_magnitude(x[o, j, i], x[o, j + U1, i], x[o, j + U2, i], rtol)


@numba.njit(inline="always")
def fill_panel_row(x, o, j, i0, width, rtol, ring, r):
    """``ring[r, k]`` = flagged floored ``|d|`` of line ``i0 + k`` of block
    ``o`` at row ``j``, for ``k < width``."""
    oo = np.uint64(o)
    j0 = np.uint64(j)
    base = np.uint64(i0)
    rr = np.uint64(r)
    for k in range(width):
        ring[rr, k] = floored_down(x, oo, j0, base + np.uint64(k), rtol)
