"""The ``"numpy"`` backend: SPEC.md written out in plain, vectorised NumPy.

This module is the reference the compiled backends are tested against, so it
is written to be read, not to be fast: it materialises every intermediate.
It shares no arithmetic with them (:mod:`fastsmp.backends.spec`), on purpose.

Every function works on a 3-D view ``(outer, n, inner)`` whose lines run
along axis 1, already in the working dtype (the dispatcher makes both).
"""

from __future__ import annotations

import numpy as np

from .host import cast, on_device, to_host, zeros  # noqa: F401 (the backend interface)

name = "numpy"


def curvature_lines(v):
    """SPEC section 3: ``d[j] = (v[j] + v[j+2]) - 2*v[j+1]``."""
    if v.shape[1] < 3:
        return np.zeros((v.shape[0], 0, v.shape[2]), v.dtype)
    return (v[:, :-2] + v[:, 2:]) - 2 * v[:, 1:-1]


def floored_magnitude(v, rtol):
    """SPEC section 4: ``|d|`` where it rises above ``rtol * s``, else 0."""
    d = curvature_lines(v)
    s = (np.abs(v[:, :-2]) + np.abs(v[:, 2:])) + 2 * np.abs(v[:, 1:-1])
    ad = np.abs(d)
    return np.where(ad > rtol * s, ad, np.zeros((), v.dtype))


def peak_mask(a, filters):
    """SPEC section 5 on every line of ``a``: True at each kept peak.

    A peak is a maximal run of equal values ``a[l..r]`` with a smaller value
    on both sides, reported at ``(l + r) // 2``. NaN != NaN, so a NaN is a
    run of its own, and every comparison with it is false (as in SciPy).
    """
    outer, m, inner = a.shape
    if m < 3:
        return np.zeros(a.shape, bool)
    index = np.broadcast_to(np.arange(m)[None, :, None], a.shape)

    run_starts_here = np.ones(a.shape, bool)
    run_starts_here[:, 1:] = a[:, 1:] != a[:, :-1]
    run_ends_here = np.ones(a.shape, bool)
    run_ends_here[:, :-1] = run_starts_here[:, 1:]
    # For every sample: the first and the last index of the run it is in.
    left = np.maximum.accumulate(np.where(run_starts_here, index, 0), axis=1)
    right = np.flip(
        np.minimum.accumulate(np.flip(np.where(run_ends_here, index, m - 1), 1), axis=1), 1
    )

    before = np.take_along_axis(a, np.maximum(left - 1, 0), axis=1)
    after = np.take_along_axis(a, np.minimum(right + 1, m - 1), axis=1)
    is_peak = (
        (left >= 1)
        & (right <= m - 2)
        & (before < a)
        & (after < a)
        & (index == (left + right) // 2)
    )

    hmin, hmax, tmin, tmax = filters
    a64 = a.astype(np.float64)
    keep = is_peak
    if hmin is not None:
        keep = keep & (hmin <= a64)
    if hmax is not None:
        keep = keep & (a64 <= hmax)
    if tmin is not None or tmax is not None:
        # SciPy: the differences to the direct neighbours of the reported index.
        to_left = np.full(a.shape, np.nan)
        to_left[:, 1:] = a64[:, 1:] - a64[:, :-1]
        to_right = np.full(a.shape, np.nan)
        to_right[:, :-1] = a64[:, :-1] - a64[:, 1:]
        both = np.stack([to_left, to_right])
        if tmin is not None:
            keep = keep & (tmin <= np.min(both, axis=0))
        if tmax is not None:
            keep = keep & (np.max(both, axis=0) <= tmax)
    return keep


def find_peaks_lines(a, filters):
    return peak_mask(a, filters)


def smp_lines(v, rtol, filters):
    """SPEC section 6 per line: (float64 SMP, int64 count); NaN and 0 for a
    line holding a NaN or an inf (section 7)."""
    outer, n, inner = v.shape
    if n >= 3:
        a = floored_magnitude(v, rtol)
        kept = peak_mask(a, filters)
        sums = np.where(kept, a, 0).astype(np.float64).sum(axis=1)
        counts = kept.sum(axis=1, dtype=np.int64)
    else:
        sums = np.zeros((outer, inner))
        counts = np.zeros((outer, inner), np.int64)
    finite = np.isfinite(v).all(axis=1)
    sums[~finite] = np.nan
    counts[~finite] = 0
    return sums.ravel(), counts.ravel()


def sum_blocks(line_sums, line_counts, order, block_sums, block_counts):
    """Add, for every block ``b``, the lines ``order[b, :]`` to the block's
    running totals (the SMP over several axes, SPEC section 6)."""
    block_sums += line_sums[order].sum(axis=1)
    block_counts += line_counts[order].sum(axis=1)


def smp_maps(x, rtol, filters):
    """No fused pass over two axes here: the dispatcher adds the lines."""
    return None
