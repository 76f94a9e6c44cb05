"""Short C-contiguous rows (``5 <= n <= BLOCK``), a group of lines at a time:
one flat fill and one sum for the whole group, then the exact scan of each
line whose sum is NaN. Also the rows pass of a map's exact path
(:mod:`fastsmp.backends.cpu.maps`).
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange

from .fills import fill_flat
from .peaks import PADDED_RUN, has_non_finite, scan_curvature, strict_run, strict_run_padded
from .sums import SUM_RUN


@numba.njit(cache=True)
def _sum_short_lines(a, lines, n, filters, sums, counts):
    """Per line ``g`` of ``lines`` consecutive short lines (``a`` filled by
    :func:`fill_flat` with step 1, readable PADDED_RUN past its lines): sum
    and count, the sum NaN for a NaN flag or a rising plateau, in one
    function so that a line costs no call."""
    m = n - 2
    zero = a.dtype.type(0)
    plateau_flag = a.dtype.type(np.nan)
    for g in range(lines):
        at = np.uint64(g * n)
        if m - 2 <= PADDED_RUN:
            run, count = strict_run_padded(a, at, m - 2, filters)
            total = np.float64(run)
        else:
            total = 0.0
            count = 0
            for r in range(0, m - 2, SUM_RUN):
                run, k, plateau = strict_run(a, at + np.uint64(r), min(SUM_RUN, m - 2 - r) + 2, filters)
                total += np.float64(plateau_flag if plateau else run)
                count += k
        # the line's last two values are no candidate's ``prev``: their flags
        sums[g] = total + np.float64(a[at + np.uint64(m - 2)] * zero + a[at + np.uint64(m - 1)] * zero)
        counts[g] = count


@numba.njit(cache=True, nogil=True)
def smp_short_group(flat, start, group, n, rtol, filters, a, sums, counts):
    """SMP and count of the ``group`` lines of length ``n`` stored from
    ``flat[start]`` on, into ``sums[:group]`` and ``counts[:group]``, with
    ``a`` (``group * n + PADDED_RUN`` long) as work space. A line whose sum
    is NaN holds a NaN or an inf (SMP NaN, count 0), or else finite samples
    overflowed or a plateau rises, and the exact scan redoes it. The samples
    are read again only there."""
    fill_flat(flat, start, group * n - 2, 1, rtol, a)  # values straddling two lines are never read
    _sum_short_lines(a, group, n, filters, sums, counts)
    for g in range(group):
        if sums[g] != sums[g]:
            at = start + g * n
            if has_non_finite(flat[at : at + n]):
                counts[g] = 0
            else:
                sums[g], counts[g] = scan_curvature(flat[at : at + n], 1, n - 3, n - 2, rtol, filters)


@numba.njit(cache=True, nogil=True)
def _short_rows_task(flat, n, first, group, rtol, filters, sums, counts):
    """Lines ``first .. first+group-1`` of length ``n`` stored in ``flat``,
    as one group (:func:`smp_short_group`)."""
    a = np.empty(group * n + PADDED_RUN, flat.dtype)  # + what padded runs read
    smp_short_group(flat, first * n, group, n, rtol, filters, a, sums[first:], counts[first:])


@numba.njit(parallel=True, cache=True, nogil=True)
def smp_short_rows(flat, n, rtol, filters, lines_per_task):
    """SMP of the C-contiguous lines of length ``n`` stored in ``flat``,
    ``lines_per_task`` at a time."""
    lines = flat.size // n
    sums = np.empty(lines)
    counts = np.empty(lines, np.int64)
    for task in prange(-(-lines // lines_per_task)):
        first = np.int64(task) * lines_per_task
        _short_rows_task(flat, n, first, min(lines_per_task, lines - first), rtol, filters, sums, counts)
    return sums, counts
