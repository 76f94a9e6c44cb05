"""Single kernels driven in a loop over data held in cache, for the
benchmarks' arithmetic bound (:func:`fastsmp.bench.kernel_arithmetic`): no
memory traffic, no call overhead, one working thread per ``x[t]``."""

from __future__ import annotations

import numba
import numpy as np

from .maps import MapPlan, _map_plan, _smp_map_fast
from .panels import panel_work, smp_panel
from .rows import BLOCK, _mark_strict_peaks, _smp_row_chunk
from .tiling import map_run, panel_flush

# Each thread adds into a local total, not into out[t]: neighbouring threads
# would share that cache line.


@numba.njit(parallel=True, cache=True)
def _rows(x, rtol, passes, option):
    out = np.zeros(x.shape[0])
    for t in numba.prange(x.shape[0]):
        buf = np.empty(BLOCK + 2, x.dtype)
        total = 0.0
        for _ in range(passes):
            total += _smp_row_chunk(x, t, rtol, None, 1, 0, buf)[0]
        out[t] = total
    return out


@numba.njit(parallel=True, cache=True)
def _panels(x, rtol, passes, option):
    threads, n, width = x.shape
    out = np.zeros(threads)
    for t in numba.prange(threads):
        work = panel_work(width, x.dtype)
        sums = np.empty(width)
        counts = np.empty(width, np.int64)
        total = 0.0
        for _ in range(passes):
            smp_panel(x, t, 0, width, width, rtol, None, option, work, sums, counts, 0)
            total += sums.sum()
        out[t] = total
    return out


@numba.njit(parallel=True, cache=True)
def _mask(x, rtol, passes, option):
    # the peak mask of find_peaks (no SMP): each thread's peak count
    mask = np.zeros(x.shape, np.bool_)
    out = np.zeros(x.shape[0])
    for t in numba.prange(x.shape[0]):
        for _ in range(passes):
            _mark_strict_peaks(x, t, 0, x.shape[1], None, mask)
        out[t] = mask[t].sum()
    return out


@numba.njit(parallel=True, cache=True)
def _maps(x, rtol, passes, option):
    threads, h, w = x.shape
    out = np.zeros(threads)
    plan = _map_plan(h, w, option, x.dtype)
    long_runs, span_r, span_c, fill_r, fill_c = plan.long_runs, plan.span_r, plan.span_c, plan.fill_r, plan.fill_c
    size, valid_r, valid_c = plan.size, plan.valid_r, plan.valid_c
    for t in numba.prange(threads):  # (a named tuple cannot cross into it: see maps.smp_maps)
        plan = MapPlan(long_runs, span_r, span_c, fill_r, fill_c, size, valid_r, valid_c)
        m = np.zeros(plan.size, x.dtype)  # the map, then the zeros its padded loops read
        m[: h * w] = x[t].reshape(-1)
        a = np.empty(max(plan.fill_r, plan.fill_c), x.dtype)
        total = 0.0
        for _ in range(passes):
            total += _smp_map_fast(m, 0, w, plan, rtol, None, a)[0]
        out[t] = total
    return out


_DRIVERS = {"rows": _rows, "panels": _panels, "mask": _mask, "maps": _maps}
#: the layouts with a driver
LAYOUTS = tuple(_DRIVERS)


def driver(layout, x):
    """``run(passes)``: run ``layout``'s kernel ``passes`` times on each
    ``x[t]`` and return each thread's total SMP, or for ``"mask"`` its peak
    count. ``x`` is ``(threads, n)`` for rows and mask (a line each: the
    fill and peak sum of a rows chunk, or the strict-peak mask),
    ``(threads, n, width)`` for panels (a panel each) and ``(threads, h, w)``
    for maps (both axes of a map each)."""
    if layout not in _DRIVERS:
        raise ValueError(f"unknown layout {layout!r}; valid layouts are {', '.join(LAYOUTS)}")
    rtol = x.dtype.type(8 * np.finfo(x.dtype).eps)
    option = {"panels": panel_flush(x.dtype), "maps": map_run(int(np.prod(x.shape[1:])))}.get(layout, 0)
    run = _DRIVERS[layout]
    return lambda passes: run(x, rtol, passes, option)
