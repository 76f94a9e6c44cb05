"""The ``"numpy"`` backend: SPEC.md written out in plain, vectorised NumPy.

This module is the reference the compiled backends are tested against, so it
is written to be read, not to be fast: it materialises every intermediate.
It shares no arithmetic with them (:mod:`fastsmp.backends.spec`), on purpose.

Every function works on a 3-D view ``(outer, n, inner)`` whose lines run
along axis 1, already in the working dtype (the dispatcher makes both).
"""

from __future__ import annotations

import math

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


def smp_lines(v, rtol, filters, dtype=np.float64):
    """SPEC section 6 per line: (SMP, summed in float64 and returned in
    ``dtype``, int64 count); NaN and 0 for a line holding a NaN or an inf
    (section 7)."""
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
    return sums.ravel().astype(dtype, copy=False), counts.ravel()


def sum_blocks(line_sums, line_counts, order, block_sums, block_counts):
    """Add, for every block ``b``, the lines ``order[b, :]`` to the block's
    running totals (the SMP over several axes, SPEC section 6)."""
    block_sums += line_sums[order].sum(axis=1)
    block_counts += line_counts[order].sum(axis=1)


def smp_maps(x, rtol, filters):
    """No fused pass over two axes here: the dispatcher adds the lines."""
    return None


# --------------------------------------------------------------------------
# SciPy's other peak rules (distance, prominence, width, plateau_size):
# scipy.signal.find_peaks's steps, one line at a time, in plain Python
# --------------------------------------------------------------------------


def _lines64(a):
    """The lines of an ``(outer, n, inner)`` view as float64 rows, C order."""
    outer, n, inner = a.shape
    return np.ascontiguousarray(np.moveaxis(a, 1, 2).reshape(outer * inner, n), dtype=np.float64)


def _local_maxima(x):
    """SciPy's ``_local_maxima_1d``: midpoints, left and right edges."""
    peaks, lefts, rights = [], [], []
    i, i_max = 1, x.size - 1
    while i < i_max:
        if x[i - 1] < x[i]:
            ahead = i + 1
            while ahead < i_max and x[ahead] == x[i]:
                ahead += 1
            if x[ahead] < x[i]:
                lefts.append(i)
                rights.append(ahead - 1)
                peaks.append((i + ahead - 1) // 2)
                i = ahead
        i += 1
    return (np.array(peaks, np.int64), np.array(lefts, np.int64), np.array(rights, np.int64))


def _within(values, bounds):
    lo, hi = bounds
    keep = np.ones(values.size, bool)
    if lo is not None:
        keep &= lo <= values
    if hi is not None:
        keep &= values <= hi
    return keep


def _by_distance(peaks, heights, distance):
    """SciPy's ``_select_by_peak_distance``."""
    keep = np.ones(peaks.size, bool)
    d = math.ceil(distance)
    for j in np.argsort(heights)[::-1]:
        if not keep[j]:
            continue
        k = j - 1
        while 0 <= k and peaks[j] - peaks[k] < d:
            keep[k] = False
            k -= 1
        k = j + 1
        while k < peaks.size and peaks[k] - peaks[j] < d:
            keep[k] = False
            k += 1
    return keep


def _prominences(x, peaks, wlen):
    """SciPy's ``_peak_prominences``."""
    prom = np.empty(peaks.size)
    lbs = np.empty(peaks.size, np.int64)
    rbs = np.empty(peaks.size, np.int64)
    for t, peak in enumerate(peaks):
        i_min, i_max = 0, x.size - 1
        if 2 <= wlen:
            i_min, i_max = max(peak - wlen // 2, i_min), min(peak + wlen // 2, i_max)
        i = lbs[t] = peak
        left_min = x[peak]
        while i_min <= i and x[i] <= x[peak]:
            if x[i] < left_min:
                left_min, lbs[t] = x[i], i
            i -= 1
        i = rbs[t] = peak
        right_min = x[peak]
        while i <= i_max and x[i] <= x[peak]:
            if x[i] < right_min:
                right_min, rbs[t] = x[i], i
            i += 1
        prom[t] = x[peak] - (right_min if right_min > left_min else left_min)
    return prom, lbs, rbs


def _widths(x, peaks, rel_height, prom, lbs, rbs):
    """SciPy's ``_peak_widths``: widths, width heights, left and right
    interpolated positions."""
    out = np.empty((4, peaks.size))
    for t, peak in enumerate(peaks):
        height = x[peak] - prom[t] * rel_height
        i = peak
        while lbs[t] < i and height < x[i]:
            i -= 1
        left = float(i)
        if x[i] < height:
            left += (height - x[i]) / (x[i + 1] - x[i])
        i = peak
        while i < rbs[t] and height < x[i]:
            i += 1
        right = float(i)
        if x[i] < height:
            right -= (height - x[i]) / (x[i - 1] - x[i])
        out[:, t] = right - left, height, left, right
    return tuple(out)


def _select_line(x, sel, filters):
    """SciPy's ``find_peaks`` on one float64 line: peaks and every property."""
    hmin, hmax, tmin, tmax = filters
    peaks, lefts, rights = _local_maxima(x)
    props = {"plateau_sizes": rights - lefts + 1, "left_edges": lefts, "right_edges": rights}
    keep = _within(props["plateau_sizes"].astype(np.float64), sel.plateau_size)
    props["peak_heights"] = x[peaks]
    keep &= _within(props["peak_heights"], (hmin, hmax))
    left, right = x[peaks] - x[peaks - 1], x[peaks] - x[peaks + 1]
    props["left_thresholds"], props["right_thresholds"] = left, right
    if tmin is not None:
        keep &= tmin <= np.minimum(left, right)
    if tmax is not None:
        keep &= np.maximum(left, right) <= tmax
    peaks, props = peaks[keep], {k: v[keep] for k, v in props.items()}
    if sel.distance is not None:
        keep = _by_distance(peaks, props["peak_heights"], sel.distance)
        peaks, props = peaks[keep], {k: v[keep] for k, v in props.items()}
    if sel.need_prominence:
        props.update(zip(("prominences", "left_bases", "right_bases"), _prominences(x, peaks, sel.wlen)))
        keep = _within(props["prominences"], sel.prominence)
        peaks, props = peaks[keep], {k: v[keep] for k, v in props.items()}
    if sel.need_width:
        props.update(zip(("widths", "width_heights", "left_ips", "right_ips"),
                         _widths(x, peaks, sel.rel_height, props["prominences"], props["left_bases"],
                                 props["right_bases"])))
        keep = _within(props["widths"], sel.width)
        peaks, props = peaks[keep], {k: v[keep] for k, v in props.items()}
    return peaks, props


def _mask_of(shape, line_peaks):
    outer, n, inner = shape
    mask = np.zeros((outer * inner, n), bool)
    for line, peaks in enumerate(line_peaks):
        mask[line, peaks] = True
    return np.ascontiguousarray(np.moveaxis(mask.reshape(outer, inner, n), 2, 1))


def select_peaks_lines(a, selection, filters, names):
    """SciPy's ``find_peaks`` with every rule on every line: the bool mask
    and the properties ``names``, flat in line order."""
    results = [_select_line(x, selection, filters) for x in _lines64(a)]
    props = {name: np.concatenate([np.zeros(0, _DTYPES[name])] + [p[name] for _, p in results])
             for name in names}
    return _mask_of(a.shape, [peaks for peaks, _ in results]), props


_DTYPES = dict.fromkeys(("plateau_sizes", "left_edges", "right_edges", "left_bases", "right_bases"), np.int64)
_DTYPES.update(dict.fromkeys(("peak_heights", "left_thresholds", "right_thresholds", "prominences", "widths",
                              "width_heights", "left_ips", "right_ips"), np.float64))


def measure_peaks_lines(a, mask, selection, prominence_data, names):
    """``peak_prominences`` / ``peak_widths`` at the positions ``mask``
    marks on every line (``prominence_data``: three flat arrays, or None)."""
    lines = _lines64(a)
    marks = np.moveaxis(mask, 1, 2).reshape(lines.shape)
    props = {name: [] for name in names}
    at = 0
    for x, m in zip(lines, marks):
        peaks = np.flatnonzero(m)
        if prominence_data is None:
            prom, lbs, rbs = _prominences(x, peaks, selection.wlen)
        else:
            prom, lbs, rbs = (d[at:at + peaks.size] for d in prominence_data)
        at += peaks.size
        got = {"prominences": prom, "left_bases": lbs, "right_bases": rbs}
        if selection.need_width:
            got.update(zip(("widths", "width_heights", "left_ips", "right_ips"),
                           _widths(x, peaks, selection.rel_height, prom, lbs, rbs)))
        for name in names:
            props[name].append(got[name])
    return {name: np.concatenate([np.zeros(0, _DTYPES[name])] + parts) for name, parts in props.items()}


def smp_selected_lines(v, rtol, filters, selection):
    """SPEC 6 with SciPy's other rules: per line, the float64 sum in order of
    the heights of the peaks of ``a`` that every rule keeps, and their count;
    NaN and 0 for a line that holds a NaN or an inf (SPEC 7)."""
    outer, n, inner = v.shape
    sums = np.zeros(outer * inner)
    counts = np.zeros(outer * inner, np.int64)
    if n >= 3:
        a = floored_magnitude(v, rtol)
        for line, x in enumerate(_lines64(a)):
            _, props = _select_line(x, selection, filters)
            total = 0.0
            for h in props["peak_heights"]:
                total += h
            sums[line], counts[line] = total, props["peak_heights"].size
    finite = np.isfinite(v).all(axis=1).ravel()
    sums[~finite] = np.nan
    counts[~finite] = 0
    return sums, counts
