"""The ``"cpu"`` backend's functions (:class:`fastsmp.backends.base.Backend`):
choose a layout and a tiling, and call its kernel.

Layouts: ``rows`` (lines along the last axis, :mod:`.rows`, and short ones,
:mod:`.short_rows`), ``panels`` (lines along a middle axis, :mod:`.panels`),
and ``maps`` (both of the last two axes of small maps at once,
:mod:`.maps`). The kernels called from here release the GIL (``nogil``), so
calls from several threads (or Dask workers) run side by side.
"""

from __future__ import annotations

import numpy as np

from .. import peak_table
from ..spec import kernel_filters
from ..host import cast, on_device, to_host, zeros  # noqa: F401 (the backend interface)
from . import selection as peak_selection
from .maps import smp_maps as _smp_maps
from .memory import read_only
from .panels import curvature_panels, find_peaks_panels, smp_panels
from .rows import BLOCK, curvature_rows, find_peaks_rows, smp_peakless, smp_rows
from .short_rows import smp_short_rows
from .sums import combine_chunks
from .sums import sum_blocks as _sum_blocks
from .tiling import (
    MAP_SAMPLES,
    map_run,
    maps_per_task,
    panel_flush,
    panel_width,
    panels_per_task,
    rows_tiling,
    serialized,
    short_rows_per_task,
)

name = "cpu"


def smp_lines(x, rtol, filters, dtype=np.float64):
    sums, counts = _smp_lines(x, rtol, filters)
    return sums.astype(dtype, copy=False), counts


def _smp_lines(x, rtol, filters):
    x = read_only(x)
    outer, n, inner = x.shape
    filters = kernel_filters(filters)
    if x.size == 0:  # no lines, or empty ones
        return np.zeros(outer * inner), np.zeros(outer * inner, np.int64)
    with serialized():
        if n < 5:  # no peaks possible (SPEC 6): only the NaN/inf check is left
            return smp_peakless(x)
        if inner > 1:
            width = panel_width(outer, inner)
            return smp_panels(x, rtol, filters, panel_flush(x.dtype), width, panels_per_task(outer, inner, width),
                              x.flags.c_contiguous)
        rows = x.reshape(outer, n)
        if 5 <= n <= BLOCK and rows.flags.c_contiguous:
            return smp_short_rows(rows.reshape(-1), n, rtol, filters, short_rows_per_task(outer, n))
        totals, counts = smp_rows(rows, rtol, filters, *rows_tiling(outer, n))
    return combine_chunks(totals, counts)


def smp_maps(x, rtol, filters):
    """SMP and counts over the last two axes of ``x`` in one pass, or None
    where that layout does not apply."""
    if x.ndim < 2 or not x.flags.c_contiguous or x.size == 0:
        return None
    h, w = x.shape[-2:]
    if not (5 <= h and 5 <= w <= BLOCK and h * w <= MAP_SAMPLES):
        return None
    maps = read_only(x).reshape(-1, h, w)
    with serialized():
        return _smp_maps(maps, rtol, kernel_filters(filters), panel_flush(x.dtype), maps_per_task(maps.shape[0], h * w),
                         map_run(h * w))


def find_peaks_lines(a, filters):
    a = read_only(a)
    outer, n, inner = a.shape
    mask = np.zeros(a.shape, np.bool_)
    filters = kernel_filters(filters)
    if n < 3 or mask.size == 0:
        return mask
    with serialized():
        if inner > 1:
            find_peaks_panels(a, filters, mask, panel_width(outer, inner))
        else:
            find_peaks_rows(a.reshape(outer, n), filters, *rows_tiling(outer, n), mask.reshape(outer, n))
    return mask


def curvature_lines(x):
    x = read_only(x)
    outer, n, inner = x.shape
    out = np.empty((outer, max(n - 2, 0), inner), x.dtype)
    if out.size == 0:
        return out
    with serialized():
        if inner > 1:
            curvature_panels(x, out)
        else:
            curvature_rows(x.reshape(outer, n), out.reshape(outer, n - 2))
    return out


def sum_blocks(line_sums, line_counts, order, block_sums, block_counts):
    _sum_blocks(line_sums, line_counts, order, block_sums, block_counts)


def select_peaks_lines(a, selection, filters, names):
    with serialized():
        return peak_table.find(peak_selection, a, selection, filters, names, find_peaks_lines)


def measure_peaks_lines(a, mask, selection, prominence_data, names):
    with serialized():
        return peak_table.measure_marks(peak_selection, a, mask, selection, prominence_data, names)


def smp_selected_lines(v, rtol, filters, selection):
    with serialized():
        return peak_table.smp_selected(peak_selection, read_only(v), rtol, filters, selection, find_peaks_lines)
