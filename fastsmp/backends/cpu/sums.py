"""Sums whose order is written in the source: lanes of peak heights, the
compensated float64 totals, and the combines of partial sums.

No loop here carries ``fastmath``: every compile, cached or fresh, inlined
anywhere, adds in the one order written here (SPEC section 10).
"""

from __future__ import annotations

import numba
import numpy as np
from numba.extending import overload

from ..spec import add_block, combine_line
from .memory import stack_array

#: peak heights are added in the working dtype in SUM_LANES lanes: lane
#: ``l`` takes candidates ``l, l + SUM_LANES, ...`` of a run, in order, and
#: the lanes are then added pairwise (:func:`lanes_total`). LLVM keeps the
#: lanes in vector registers. A float32 lane adds at most SUM_RUN / SUM_LANES
#: heights before the partial sum goes into a float64 total, so a partial
#: sum errs by under (32 + 5) * 2**-24 < 2.3e-6 relative (SPEC 6: 1e-5).
SUM_LANES = 32
SUM_RUN = 1024


@numba.njit(inline="always")
def lanes_like(like):
    """SUM_LANES lanes of ``like``'s dtype on the stack (any content)."""
    return stack_array(like, SUM_LANES)


@numba.njit(inline="always")
def zero_lanes(lanes):
    for l in range(SUM_LANES):
        lanes[l] = 0


@numba.njit(inline="always")
def lanes_total(lanes):
    """Sum of the SUM_LANES lanes, pairwise in a fixed order (destroys them)."""
    half = SUM_LANES // 2
    while half > 0:
        for l in range(half):
            lanes[l] += lanes[l + half]
        half //= 2
    return lanes[0]


def lane_counter(a):
    """A zero counter as wide as the elements of ``a``: integer lanes as
    wide as the float ones, and no packing."""


@overload(lane_counter, inline="always")
def _lane_counter_impl(a):
    if a.dtype.bitwidth == 32:
        return lambda a: np.int32(0)
    return lambda a: np.int64(0)


def count_in(counter, flag):
    """``counter + flag`` kept in the counter's width: Numba widens an int32
    sum to int64, and int64 lanes would halve a float32 vector loop."""


@overload(count_in, inline="always")
def _count_in_impl(counter, flag):
    if counter.bitwidth == 32:
        return lambda counter, flag: np.int32(counter + flag)
    return lambda counter, flag: counter + flag


@numba.njit(inline="always")
def add_compensated(total, compensation, x):
    """Neumaier's step: ``total + compensation`` carries the exact sum's
    rounding error to well below the 1e-12 bound of SPEC section 6."""
    t = total + x
    if abs(total) >= abs(x):
        compensation += (total - t) + x
    else:
        compensation += (x - t) + total
    return t, compensation


@numba.njit(inline="always")
def compensated_total(total, compensation):
    """``total + compensation``; once the sum has overflowed to inf, the
    compensation is inf - inf = NaN and is dropped: the sum is inf, not NaN
    (a NaN heights sum comes from a NaN flag, and leaves ``total`` NaN)."""
    return total if compensation != compensation else total + compensation


_combine_line = combine_line.cpu
_add_block = add_block.cpu


@numba.njit(cache=True, nogil=True)
def combine_chunks(totals, counts):
    """Per line, the SMP and count from the partials of its chunks
    (``totals[line, chunk]``), in chunk order."""
    lines, chunks = totals.shape
    sums = np.empty(lines)
    line_counts = np.empty(lines, np.int64)
    totals3 = totals.reshape(lines, chunks, 1)
    counts3 = counts.reshape(lines, chunks, 1)
    for line in range(lines):
        _combine_line(totals3, counts3, line, 0, sums, line_counts, line)
    return sums, line_counts


@numba.njit(cache=True, nogil=True)
def sum_blocks(line_sums, line_counts, order, block_sums, block_counts):
    """Add the lines ``order[b, :]`` to each block ``b`` (see SPEC 6)."""
    for b in range(order.shape[0]):
        _add_block(line_sums, line_counts, order, b, block_sums, block_counts)
