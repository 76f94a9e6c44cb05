"""How the CPU kernels cut a problem into tasks (plain Python, run once a
call). Choices that decide how a sum is split depend on the shape alone,
never on the thread count, so that neither does the result (SPEC 10); the
thread count only decides how many lines a task takes."""

from __future__ import annotations

import contextlib
import threading

import numba
import numpy as np

from .maps import MAP_RUN, MAP_RUN_LONG

#: a chunk of a long line is at least this many samples
MIN_CHUNK = 1 << 16
#: most lines per task in the panels layout (see panel_width)
MAX_PANEL = 4096
#: the rows layout cuts lines into chunks when there are fewer than
#: CHUNK_LINES of them (enough tasks for 8 threads, 8 each)
CHUNK_LINES = 64
#: largest map (h * w samples) that the maps layout takes: 64 KiB of
#: float32, so that the columns pass finds the map in L2
MAP_SAMPLES = 1 << 14


def panel_flush(dtype):
    """Rows a panel adds up in the working dtype before folding the partial
    sums into float64: 64 float32 terms keep the rounding error under
    64 x 2**-24 < 1e-5 relative (SPEC 6) however the loop is vectorised."""
    return 64 if dtype == np.float32 else 1024


def panel_width(outer, inner):
    """Panels as wide as possible, yet one per thread when there are few of
    them (rounded up to 16 lines, a few whole vectors). Each line is summed
    alone, so the width does not change any result."""
    threads = numba.get_num_threads()
    per_outer = max(1, -(-threads // max(outer, 1)))
    width = -(-inner // per_outer)
    return max(1, min(MAX_PANEL, -(-width // 16) * 16))


def panels_per_task(outer, inner, width):
    """Enough panels per task to cover about MAX_PANEL lines, yet at least
    eight tasks a thread when there are that many panels."""
    jobs = outer * -(-inner // width)
    return max(1, min(MAX_PANEL // width, jobs // (8 * numba.get_num_threads())))


def rows_tiling(lines, n):
    """``(lines_per_task, chunks)``: whole lines per task when there are
    enough of them, otherwise each line cut into chunks (from the shape
    alone)."""
    if lines >= CHUNK_LINES or n < 2 * MIN_CHUNK:
        return max(1, lines // (8 * numba.get_num_threads())), 1
    return 1, max(1, min(-(-CHUNK_LINES // max(lines, 1)), n // MIN_CHUNK))


def short_rows_per_task(lines, n):
    """Short lines per task: eight tasks a thread, at most 16 Ki samples."""
    tasks = 8 * numba.get_num_threads()
    return max(1, min(-(-lines // tasks), (1 << 14) // n))


def maps_per_task(maps, samples):
    """Maps of ``samples`` samples per task: eight tasks a thread, at most
    MAP_SAMPLES samples."""
    return max(1, min(-(-maps // (8 * numba.get_num_threads())), MAP_SAMPLES // samples))


def map_run(samples):
    """MAP_RUN_LONG where its padding costs less than its faster runs save
    (bench/RESULTS.md, "map runs"), else MAP_RUN."""
    padded = {run: -(-samples // run) * run for run in (MAP_RUN, MAP_RUN_LONG)}
    return MAP_RUN_LONG if 2 * padded[MAP_RUN_LONG] <= 3 * padded[MAP_RUN] else MAP_RUN


# Reentrant: a call that takes turns may call another that does (the
# selection pipeline draws its first mask with the plain peak kernel).
_launch_lock = threading.RLock()


def serialized():
    """Numba's ``workqueue`` threading layer (the fallback where neither TBB
    nor OpenMP is available) aborts when two threads launch parallel kernels
    at once; under it, calls take turns. ``omp`` and ``tbb`` run them
    concurrently. Until the first launch has picked a layer, assume the worst."""
    try:
        layer = numba.threading_layer()
    except ValueError:
        return _launch_lock
    return _launch_lock if layer == "workqueue" else contextlib.nullcontext()
