"""The CUDA peak kernels: one sequential walker per thread.

A thread takes one *stretch* of one line: the candidate left edges
``lo <= t < hi`` of the signal ``a`` (the floored |second difference| for
:func:`kernels` ``["smp_stretches"]``, the samples themselves for
``["find_peaks"]``). It reads one new sample per step and keeps everything
else in registers: the last two samples, the previous value of ``a``, and
the open candidate. SciPy's peak rule is then a small state machine: a rise
opens a candidate, an equal value extends its plateau, a fall closes it as a
peak, anything else (a rise, a NaN) closes it without one. The filters
(SPEC 5, float64) are checked only when a peak closes. A candidate still
open at ``hi`` is followed into the next stretch, so every peak is found
exactly once, by the thread that owns its left edge, however lines are cut.

Threads are numbered with the inner-axis line fastest: where lines run along
an axis other than the last (``inner > 1``, "columns"), neighbouring threads
walk neighbouring lines and a warp's loads are coalesced; where they run
along the last axis ("rows"), a warp's threads walk neighbouring stretches of
one line and each thread's next samples come from the cache line its
previous load brought in.

Arithmetic is in the working dtype (no float64 in the per-sample loop of a
float32 line); a stretch's heights are summed in it (at most
:data:`MAX_STRETCH` samples, SPEC 6's bound, as the CPU's runs), and the
stretches of a line are added in float64, in order, by the last of them to
finish (or, for lines of many stretches, by a second launch:
``kernels(threads)["combine_long_partials"]``).

``cuda`` is a module global on purpose: the simulator swaps it for its own
``cuda`` module in the globals of the kernels it runs.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
from numba import cuda, float64, from_dtype, int64, uint64

from ..spec import MAX_WALK, curvature, magnitude, signals, walker

#: the longest stretch a thread walks (its heights are summed in the
#: working dtype: :data:`fastsmp.backends.spec.MAX_WALK`)
MAX_STRETCH = MAX_WALK


class Stretches(NamedTuple):
    """A problem as the walkers take it: ``outer`` x ``inner`` lines of
    ``n`` samples, sample ``j`` of line ``(o, i)`` at
    ``x[(o * n + j) * inner + i]`` of the flat input, each line cut into
    ``count`` stretches of ``length`` candidate left edges; ``fused`` (1
    or 0): whether the SMP kernel adds each line's stretches itself."""

    outer: int
    n: int
    inner: int
    length: int
    count: int
    fused: int


@functools.lru_cache(maxsize=None)
def _place():
    """``place(stretches)``: this thread's line ``(o, i)``, stretch ``c``
    and where its line starts in the flat input; ``o == outer`` for a
    thread past the end."""

    @cuda.jit(device=True)
    def place(stretches):
        g = uint64(cuda.grid(1))
        inner = uint64(stretches.inner)
        i = g % inner
        rest = g // inner
        count = uint64(stretches.count)
        c = rest % count
        o = rest // count
        start = (o * uint64(stretches.n)) * inner + i
        return int(o), int(i), int(c), start

    return place


@functools.lru_cache(maxsize=None)
def _stretch_smp():
    """``stretch_smp(x, start, stride, n, lo, hi, rtol, big, filters)``: the
    float64 sum and the count of the kept peaks of the floored |d| whose
    left edge lies in ``[lo, hi)`` (clipped to the line), on the line of
    ``n`` samples at ``x[start + j * stride]``; NaN and 0 where a sample it
    reads is NaN or inf. The last stretch of a line (``hi >= n - 2``) reads
    the line's last sample, so the stretches together read every sample."""
    walk_curvature = walker("cuda", signals("cuda").curvature)
    curv = curvature.cuda
    mag = magnitude.cuda

    @cuda.jit(device=True)
    def stretch_smp(x, start, stride, n, lo, hi, rtol, big, filters):
        m = n - 2  # values of a
        lo = max(1, lo)
        hi = min(hi, m)
        total = float64(0.0)
        count = 0
        if m >= 1:
            first = start + uint64(lo - 1) * stride  # sample lo - 1
            v0 = x[first]
            v1 = x[first + stride]
            v2 = x[first + stride + stride]
            prev = mag(curv(v0, v1, v2), v0, v1, v2, rtol)
            w, finite = walk_curvature(x, first + uint64(3) * stride, stride, (v1, v2), prev, lo, hi, m, rtol, big,
                                       filters, None, 0)
            total = float64(w.total)
            count = int(w.count)
            finite &= ((abs(v0) + abs(v2)) + abs(v1 + v1)) < big
            span = hi + 2 - (lo - 1)  # the samples this stretch reads: lo-1 .. hi+1
        else:  # fewer than 3 samples: no d at all, only the NaN/inf check
            first = start
            finite = False
            span = n
        if not finite:  # a NaN or an inf, or finite samples whose s overflowed
            for k in range(span):
                v = x[first + uint64(k) * stride]
                if v - v != 0:
                    return np.nan, 0
        return total, count

    return stretch_smp


class LineResults(NamedTuple):
    """Where :func:`kernels` ``["smp_stretches"]`` puts its results: each
    line's ``sums`` (float64, or the working dtype where the call returns
    them as they are) and ``counts``, and its scratch: each stretch's
    ``partial_sums`` (float64) and ``partial_counts``, flat in ``(outer,
    count, inner)`` order, and each line's ``arrivals`` (int32, zero before
    and after every launch)."""

    sums: object
    counts: object
    partial_sums: object
    partial_counts: object
    arrivals: object


@functools.lru_cache(maxsize=None)
def kernels():
    """The walker kernels (compiled per dtype on first launch).

    ``smp_stretches(x, stretches, rtol, big, filters, results)``: each
    line's SMP and count into the :class:`LineResults` (NaN and 0 for a line
    that holds a NaN or an inf sample; ``big`` is the working dtype's inf).
    Each stretch's sum goes to the scratch; the last stretch of a line to
    finish adds the line's stretches in order (``stretches.fused``), or a
    second launch does (``kernels(threads)["combine_long_partials"]``, for lines
    of many stretches). A line of one stretch writes its result directly.

    ``find_peaks(x, stretches, zero, filters, mask)``: ``True`` in the flat
    ``mask`` (zeroed beforehand) at every kept peak.

    ``curvature_stretches(x, stretches, out)``: ``d`` of each stretch into
    the flat ``out`` (lines of ``n - 2``, same layout)."""
    place = _place()
    stretch_smp = _stretch_smp()
    walk_samples = walker("cuda", signals("cuda").sample)
    curv = curvature.cuda

    @cuda.jit
    def smp_stretches(x, stretches, rtol, big, filters, results):
        o, i, c, start = place(stretches)
        if o >= stretches.outer:
            return
        total, count = stretch_smp(x, start, uint64(stretches.inner), stretches.n, c * stretches.length,
                                   (c + 1) * stretches.length, rtol, big, filters)
        line = o * stretches.inner + i
        if stretches.count == 1:  # the line's one stretch: its result
            results.sums[line] = total
            results.counts[line] = count
            return
        part = (o * stretches.count + c) * stretches.inner + i
        results.partial_sums[part] = total
        results.partial_counts[part] = count
        if stretches.fused:
            cuda.threadfence()  # this stretch's partials are seen before its arrival
            if cuda.atomic.add(results.arrivals, line, 1) == stretches.count - 1:
                # The line's last stretch: add them all, in order. Atomic
                # reads, so that no stale copy in this SM's cache is read.
                total = 0.0
                count = 0
                for c2 in range(stretches.count):
                    at = (o * stretches.count + c2) * stretches.inner + i
                    total += cuda.atomic.add(results.partial_sums, at, 0.0)
                    count += cuda.atomic.add(results.partial_counts, at, 0)
                results.sums[line] = total
                results.counts[line] = 0 if total != total else count
                results.arrivals[line] = 0

    @cuda.jit
    def find_peaks(x, stretches, zero, filters, mask):
        o, i, c, start = place(stretches)
        if o >= stretches.outer:
            return
        n = stretches.n
        stride = uint64(stretches.inner)
        lo = max(1, c * stretches.length)
        hi = min((c + 1) * stretches.length, n - 1)
        if lo >= hi:
            return
        first = start + uint64(lo) * stride
        walk_samples(x, first, stride, (zero, zero), x[first - stride], lo, hi, n, zero, zero, filters, mask, first)

    @cuda.jit
    def curvature_stretches(x, stretches, out):
        o, i, c, start = place(stretches)
        if o >= stretches.outer:
            return
        n = stretches.n
        stride = uint64(stretches.inner)
        lo = c * stretches.length
        hi = min((c + 1) * stretches.length, n - 2)
        at = start + uint64(lo) * stride
        dst = (uint64(o) * uint64(n - 2)) * stride + uint64(i) + uint64(lo) * stride
        v0 = x[at]
        v1 = x[at + stride]
        for _ in range(hi - lo):
            v2 = x[at + stride + stride]
            out[dst] = curv(v0, v1, v2)
            v0 = v1
            v1 = v2
            at += stride
            dst += stride

    return dict(smp_stretches=smp_stretches, find_peaks=find_peaks, curvature_stretches=curvature_stretches)


class Maps(NamedTuple):
    """``count`` maps of ``h`` x ``w`` samples, one after another in the
    flat (C-contiguous) input; a map's rows lie ``pitch`` apart in shared
    memory (odd, so that the threads walking rows hit different banks)."""

    count: int
    h: int
    w: int
    pitch: int


@functools.lru_cache(maxsize=None)
def map_kernel(dtype, threads):
    """``smp_maps(x, maps, rtol, big, filters, sums, counts)``, for maps of
    working dtype ``dtype`` and blocks of ``threads`` threads (both size
    shared arrays, so they are compile-time constants): a block per map
    loads it into shared memory in coalesced rows, then its threads walk
    the rows and the columns (the same walk as a stretch's), and one sum
    and count per map come out, the SMP over both axes (SPEC 6), added in
    a fixed order. The launch gives ``maps.h * maps.pitch`` items of
    dynamic shared memory."""
    stretch_smp = _stretch_smp()
    tile_type = from_dtype(np.dtype(dtype))

    @cuda.jit
    def smp_maps(x, maps, rtol, big, filters, sums, counts):
        tile = cuda.shared.array(0, tile_type)
        thread_sums = cuda.shared.array(threads, float64)
        thread_counts = cuda.shared.array(threads, int64)
        h, w, pitch = maps.h, maps.w, maps.pitch
        b = cuda.blockIdx.x
        tid = cuda.threadIdx.x
        base = uint64(b) * uint64(h * w)
        if w <= threads:  # several whole rows at a time: one division a thread, not one a sample
            rows = threads // w
            dr = tid // w
            c = tid - dr * w
            if dr < rows:
                for r in range(dr, h, rows):
                    tile[r * pitch + c] = x[base + uint64(r * w + c)]
        else:
            for r in range(h):
                for c in range(tid, w, threads):
                    tile[r * pitch + c] = x[base + uint64(r * w + c)]
        cuda.syncthreads()
        total = 0.0
        count = 0
        for line in range(tid, h + w, threads):  # rows first, then columns
            if line < h:
                s, k = stretch_smp(tile, uint64(line * pitch), uint64(1), w, 0, w, rtol, big, filters)
            else:
                s, k = stretch_smp(tile, uint64(line - h), uint64(pitch), h, 0, h, rtol, big, filters)
            total += s
            count += k
        thread_sums[tid] = total
        thread_counts[tid] = count
        cuda.syncthreads()
        if tid == 0:  # the threads' sums in order: the same bits every run
            total = 0.0
            count = 0
            for t in range(threads):
                total += thread_sums[t]
                count += thread_counts[t]
            sums[b] = total
            counts[b] = count

    return smp_maps
