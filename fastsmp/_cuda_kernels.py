"""The CUDA kernels (see :mod:`fastsmp._cuda` for the decomposition).

``cuda`` is a module global on purpose: the simulator swaps it for its own
``cuda`` module in the globals of the kernels it runs.
"""

from __future__ import annotations

import functools

from numba import cuda, float64, int64

from ._elementwise import add_block, curvature, keep_peak, magnitude, peak_sides


def _make_peak_finder(value):
    """Device function ``peak_at(x, o, t, i, m, rtol, filters)``: if sample
    ``t`` of line ``(o, i)`` of the signal ``value`` (length ``m``) is the
    left edge of a kept peak, return ``(p, height)``, else ``(-1, 0.0)``."""
    keep = keep_peak.cuda
    sides = peak_sides.cuda

    @cuda.jit(device=True)
    def peak_at(x, o, t, i, m, rtol, filters):
        prev = value(x, o, t - 1, i, rtol)
        cur = value(x, o, t, i, rtol)
        if cur > prev:
            k = t + 1
            nxt = value(x, o, k, i, rtol)
            while nxt == cur and k < m - 1:
                k += 1
                nxt = value(x, o, k, i, rtol)
            if nxt < cur:
                left, right = sides(t, k - 1, prev, cur, nxt)
                height = float(cur)
                if keep(height, left, right, filters):
                    return (t + k - 1) // 2, height
        return -1, 0.0

    return peak_at


@functools.lru_cache(maxsize=None)
def _device_functions():
    curv = curvature.cuda
    mag = magnitude.cuda

    @cuda.jit(device=True)
    def sample(x, o, j, i, rtol):
        return x[o, j, i]

    @cuda.jit(device=True)
    def floored_curvature(x, o, j, i, rtol):
        v0 = x[o, j, i]
        v1 = x[o, j + 1, i]
        v2 = x[o, j + 2, i]
        return mag(curv(v0, v1, v2), v0, v1, v2, rtol)

    return _make_peak_finder(sample), _make_peak_finder(floored_curvature)


@functools.lru_cache(maxsize=None)
def kernels(threads):
    """The kernels for blocks of ``threads`` threads (a compile-time constant
    because it sizes the shared-memory reduction)."""
    signal_peak_at, curvature_peak_at = _device_functions()
    curv = curvature.cuda
    add = add_block.cuda

    @cuda.jit(device=True)
    def tile(tiling, outer, inner):
        """This thread's line ``(o, i)``, its block's stretch ``jb`` of the
        line, its first sample ``t0`` and its place ``s`` among the ``step``
        threads that share the stretch (thread ``tid`` is lane ``tid %
        lanes``, then place, then row: the fastest index runs along memory)."""
        lanes, step, items, jblocks = tiling
        rows = threads // (lanes * step)
        iblocks = (inner + lanes - 1) // lanes
        b = cuda.blockIdx.x
        ib = b % iblocks
        b //= iblocks
        jb = b % jblocks
        ob = b // jblocks
        tid = cuda.threadIdx.x
        s = (tid // lanes) % step
        o = ob * rows + tid // (lanes * step)
        i = ib * lanes + tid % lanes
        return o, i, jb, jb * step * items + s, s

    @cuda.jit
    def smp_partials(x, rtol, filters, tiling, totals, counts):
        outer, n, inner = x.shape
        lanes, step, items, jblocks = tiling
        o, i, jb, t0, s = tile(tiling, outer, inner)
        m = n - 2
        total = 0.0
        count = 0
        if o < outer and i < inner:
            for k in range(items):
                t = t0 + k * step
                if t < n:
                    total += x[o, t, i] * 0.0  # NaN for a NaN or inf sample
                    if 1 <= t and t <= m - 2:
                        p, height = curvature_peak_at(x, o, t, i, m, rtol, filters)
                        if p >= 0:
                            total += height
                            count += 1
        # Fixed-order tree over the threads that share a line.
        sums = cuda.shared.array(threads, float64)
        ks = cuda.shared.array(threads, int64)
        tid = cuda.threadIdx.x
        sums[tid] = total
        ks[tid] = count
        cuda.syncthreads()
        half = step // 2
        while half > 0:
            if s < half:
                sums[tid] += sums[tid + half * lanes]
                ks[tid] += ks[tid + half * lanes]
            cuda.syncthreads()
            half //= 2
        if s == 0 and o < outer and i < inner:
            totals[o, jb, i] = sums[tid]
            counts[o, jb, i] = ks[tid]

    @cuda.jit
    def combine_partials(totals, counts, sums, line_counts):
        outer, jblocks, inner = totals.shape
        line = cuda.grid(1)
        if line < outer * inner:
            o = line // inner
            i = line % inner
            s = 0.0
            k = 0
            for jb in range(jblocks):
                s += totals[o, jb, i]
                k += counts[o, jb, i]
            sums[line] = s
            line_counts[line] = 0 if s != s else k

    @cuda.jit
    def combine_long_partials(totals, counts, sums, line_counts):
        """One block per line, for lines cut into many partials: strided
        sums, then a fixed-order tree, so the result is the same run to run."""
        outer, jblocks, inner = totals.shape
        line = cuda.blockIdx.x
        o = line // inner
        i = line % inner
        tid = cuda.threadIdx.x
        s = 0.0
        k = 0
        for jb in range(tid, jblocks, threads):
            s += totals[o, jb, i]
            k += counts[o, jb, i]
        part = cuda.shared.array(threads, float64)
        ks = cuda.shared.array(threads, int64)
        part[tid] = s
        ks[tid] = k
        cuda.syncthreads()
        half = threads // 2
        while half > 0:
            if tid < half:
                part[tid] += part[tid + half]
                ks[tid] += ks[tid + half]
            cuda.syncthreads()
            half //= 2
        if tid == 0:
            s = part[0]
            sums[line] = s
            line_counts[line] = 0 if s != s else ks[0]

    @cuda.jit
    def find_peaks(x, filters, tiling, mask):
        outer, n, inner = x.shape
        lanes, step, items, jblocks = tiling
        o, i, jb, t0, s = tile(tiling, outer, inner)
        if o < outer and i < inner:
            for k in range(items):
                t = t0 + k * step
                if 1 <= t and t <= n - 2:
                    p, height = signal_peak_at(x, o, t, i, n, 0.0, filters)
                    if p >= 0:
                        mask[o, p, i] = True

    @cuda.jit
    def curvature_lines(x, tiling, out):
        outer, n, inner = x.shape
        lanes, step, items, jblocks = tiling
        o, i, jb, t0, s = tile(tiling, outer, inner)
        if o < outer and i < inner:
            for k in range(items):
                t = t0 + k * step
                if t < n - 2:
                    out[o, t, i] = curv(x[o, t, i], x[o, t + 1, i], x[o, t + 2, i])

    @cuda.jit
    def fill(flat, value):
        k = cuda.grid(1)
        if k < flat.size:
            flat[k] = value

    @cuda.jit
    def sum_blocks(line_sums, line_counts, order, block_sums, block_counts):
        b = cuda.grid(1)
        if b < order.shape[0]:
            add(line_sums, line_counts, order, b, block_sums, block_counts)

    @cuda.jit
    def cast(src, dst):
        k = cuda.grid(1)
        if k < src.size:
            dst[k] = src[k]

    return dict(
        smp_partials=smp_partials,
        combine_partials=combine_partials,
        combine_long_partials=combine_long_partials,
        find_peaks=find_peaks,
        curvature_lines=curvature_lines,
        fill=fill,
        sum_blocks=sum_blocks,
        cast=cast,
    )
