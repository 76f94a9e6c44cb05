"""The CUDA kernels (see :mod:`fastsmp.backends.cuda.backend` for the
decomposition).

``cuda`` is a module global on purpose: the simulator swaps it for its own
``cuda`` module in the globals of the kernels it runs.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
from numba import cuda, float64, from_dtype, int64, uint32, uint64

from ..spec import add_block, combine_line, curvature, magnitude, plateau_peak


class Geometry(NamedTuple):
    """A problem and its tiling, as the peak kernels take it: ``outer`` x
    ``inner`` lines of ``n`` samples at stride ``inner`` in the flat input;
    a block takes ``lanes`` neighbouring lines of the inner axis, ``step``
    threads share a line's stretch, and each line is cut into ``jblocks``
    stretches."""

    outer: int
    n: int
    inner: int
    lanes: int
    step: int
    jblocks: int


class Window(NamedTuple):
    """Where a thread's line lies in its block's tile: value ``k`` of the
    line (``first - 1 <= k <= first + span``) is at
    ``tile[base + (k - first + 1) * lanes]``."""

    lanes: int
    base: int
    first: int
    span: int


@functools.lru_cache(maxsize=None)
def _values():
    """The two signals peaks are found in, as ``value(x, pos, j, rtol)``:
    the samples themselves, and the floored |second difference|.

    ``x`` is the flat (C-contiguous) input and ``pos = (line, stride)`` puts
    sample ``j`` of a line at ``x[line + j * stride]``, in unsigned
    arithmetic: one multiply-add per load, and no negative-index wraparound
    (3-D indexing cost three 64-bit multiply-adds and three wraparound
    tests per load, which left an H100's kernel compute-bound)."""
    curv = curvature.cuda
    mag = magnitude.cuda

    @cuda.jit(device=True)
    def sample(x, pos, j, rtol):
        line, stride = pos
        return x[line + uint64(j) * stride]

    @cuda.jit(device=True)
    def floored_curvature(x, pos, j, rtol):
        line, stride = pos
        at = line + uint64(j) * stride
        v0 = x[at]
        v1 = x[at + stride]
        v2 = x[at + stride + stride]
        return mag(curv(v0, v1, v2), v0, v1, v2, rtol)

    return sample, floored_curvature


def _make_tiled(value):
    """Device functions over a block's *tile*: the values of its stretch of
    each of its lines, computed once into shared memory (with one value of
    halo on each side, placed by a :class:`Window`) so that each input
    sample is read from global memory about once, in coalesced loads all
    issued before the peak tests. A plateau that runs past the tile is
    followed in global memory."""

    @cuda.jit(device=True)
    def at(src, k):
        """Value ``k`` of a thread's line, ``src = (tile, w, x, pos, rtol)``."""
        tile, w, x, pos, rtol = src
        if k <= w.first + w.span:
            return tile[uint64(w.base + (k - w.first + 1) * w.lanes)]
        return value(x, pos, k, rtol)

    walk = plateau_peak("cuda", at)

    @cuda.jit(device=True)
    def fill(tile, w, x, pos, s, step, items, m, rtol):
        """Values ``first .. first + span - 1``, thread ``s`` of ``step``
        taking every ``step``-th, and the two halo values; needs ``m >= 1``.

        Past the end of the line a slot gets value ``m - 1`` again (never
        read): the loads are unconditional, so the unrolled loop has no
        branch between them and they are all in flight at once."""
        slot = uint64(w.base + (s + 1) * w.lanes)
        for k in range(items):
            tile[slot] = value(x, pos, min(w.first + s + k * step, m - 1), rtol)
            slot += uint64(step * w.lanes)
        if s == 0 and w.first >= 1 and w.first - 1 < m:
            tile[uint64(w.base)] = value(x, pos, w.first - 1, rtol)
        if s == step - 1 and w.first + w.span < m:
            tile[uint64(w.base + (w.span + 1) * w.lanes)] = value(x, pos, w.first + w.span, rtol)

    @cuda.jit(device=True)
    def peak_at(tile, w, slot, x, pos, t, m, rtol, filters):
        """If value ``t`` (``1 <= t <= m - 2``, at ``tile[slot]``) is the left
        edge of a kept peak, ``(p, height)``, else ``(-1, 0.0)``.

        Values ``t - 1`` and ``t + 1`` are always in the tile (the halo sees
        to it), at ``slot -+ lanes``: only a plateau's walk can leave it."""
        lanes = uint64(w.lanes)
        prev = tile[slot - lanes]
        cur = tile[slot]
        if cur > prev:
            k, after, p, height = walk((tile, w, x, pos, rtol), t, prev, cur, tile[slot + lanes], m, filters)
            return p, height
        return -1, 0.0

    return fill, peak_at


@functools.lru_cache(maxsize=None)
def _tree_sum(threads):
    """Device function ``tree_sum(total, count, s, step, lanes)``: a
    fixed-order tree (so results are the same run to run) over the ``step``
    threads, ``lanes`` apart, that share a line; thread ``s == 0`` of each
    line gets the line's sum and count. Every thread of the block calls it."""

    @cuda.jit(device=True)
    def tree_sum(total, count, s, step, lanes):
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
        return sums[tid], ks[tid]

    return tree_sum


def _make_tile(threads, items):
    @cuda.jit(device=True)
    def tile(geometry):
        """This thread's line ``(o, i)`` and its place ``pos`` in the flat
        input, its block's stretch ``jb`` of the line, the thread's place
        ``s`` among the ``step`` threads that share the stretch, and its
        window in the block's tile (thread ``tid`` is lane ``tid % lanes``,
        then place, then row: the fastest index runs along memory)."""
        n, inner, lanes, step, jblocks = geometry.n, geometry.inner, geometry.lanes, geometry.step, geometry.jblocks
        # Block and thread numbers, and the tiling, fit in 32 bits (a grid
        # has under 2**31 blocks, a block 1024 threads): 32-bit divisions
        # cost a fraction of 64-bit ones. Positions in the input stay 64-bit.
        lanes32 = uint32(lanes)
        per_row = uint32(lanes32 * uint32(step))
        rows = uint32(uint32(threads) // per_row)
        iblocks = uint32((inner + lanes - 1) // lanes)
        b = uint32(cuda.blockIdx.x)
        ib = b % iblocks
        b //= iblocks
        jb = b % uint32(jblocks)
        ob = b // uint32(jblocks)
        tid = uint32(cuda.threadIdx.x)
        row = uint32(tid // per_row)
        lane = uint32(tid % lanes32)
        span = step * items
        o = int64(ob) * int64(rows) + int64(row)
        i = int64(ib) * lanes + int64(lane)
        pos = (uint64(o * n * inner + i), uint64(inner))
        window = Window(lanes, int64(row) * (span + 2) * lanes + int64(lane), int64(jb) * span, span)
        return o, i, pos, int64(jb), int64(uint32(tid // lanes32) % uint32(step)), window

    return tile


@functools.lru_cache(maxsize=None)
def tiled_kernels(threads, items, dtype):
    """The peak kernels for blocks of ``threads`` threads testing ``items``
    samples each, on lines of working dtype ``dtype`` (all three size or
    type the shared-memory tile, so they are compile-time constants).

    Each takes the flat input ``x`` and its :class:`Geometry`, chosen by
    :func:`fastsmp.backends.cuda.backend.launch`."""
    sample, floored_curvature = _values()
    fill_signal, signal_peak_at = _make_tiled(sample)
    fill_curvature, curvature_peak_at = _make_tiled(floored_curvature)
    tile = _make_tile(threads, items)
    tree_sum = _tree_sum(threads)
    tile_type = from_dtype(np.dtype(dtype))
    tile_size = threads * (items + 2)
    curv = curvature.cuda

    @cuda.jit
    def smp_partials(x, geometry, rtol, filters, totals, counts):
        n, lanes, step = geometry.n, geometry.lanes, geometry.step
        o, i, pos, jb, s, w = tile(geometry)
        m = n - 2
        values = cuda.shared.array(tile_size, tile_type)
        total = 0.0
        count = 0
        active = o < geometry.outer and i < geometry.inner
        if active:
            for k in range(items):  # NaN for a NaN or inf sample (clamped as in fill)
                total += sample(x, pos, min(w.first + s + k * step, n - 1), rtol) * 0.0
            if m >= 1:
                fill_curvature(values, w, x, pos, s, step, items, m, rtol)
        cuda.syncthreads()
        if active:
            slot = uint64(w.base + (s + 1) * lanes)  # value t's place in the tile
            for k in range(items):
                t = w.first + s + k * step
                if 1 <= t and t <= m - 2:
                    p, height = curvature_peak_at(values, w, slot, x, pos, t, m, rtol, filters)
                    if p >= 0:
                        total += height
                        count += 1
                slot += uint64(step * lanes)
        total, count = tree_sum(total, count, s, step, lanes)
        if s == 0 and active:
            totals[o, jb, i] = total
            counts[o, jb, i] = count

    @cuda.jit
    def find_peaks(x, geometry, filters, mask):
        n, lanes, step = geometry.n, geometry.lanes, geometry.step
        o, i, pos, jb, s, w = tile(geometry)
        values = cuda.shared.array(tile_size, tile_type)
        active = o < geometry.outer and i < geometry.inner
        if active:
            fill_signal(values, w, x, pos, s, step, items, n, 0.0)
        cuda.syncthreads()
        if active:
            slot = uint64(w.base + (s + 1) * lanes)
            for k in range(items):
                t = w.first + s + k * step
                if 1 <= t and t <= n - 2:
                    p, height = signal_peak_at(values, w, slot, x, pos, t, n, 0.0, filters)
                    if p >= 0:
                        mask[o, p, i] = True
                slot += uint64(step * lanes)

    @cuda.jit
    def curvature_lines(x, geometry, out):
        n, step = geometry.n, geometry.step
        o, i, pos, jb, s, w = tile(geometry)
        if o < geometry.outer and i < geometry.inner:
            for k in range(items):
                t = w.first + s + k * step
                if t < n - 2:
                    out[o, t, i] = curv(sample(x, pos, t, 0), sample(x, pos, t + 1, 0), sample(x, pos, t + 2, 0))

    return dict(smp_partials=smp_partials, find_peaks=find_peaks, curvature_lines=curvature_lines)


@functools.lru_cache(maxsize=None)
def kernels(threads):
    """The element-wise and combining kernels, for blocks of ``threads``
    threads (a compile-time constant: it sizes the shared-memory trees)."""
    add = add_block.cuda
    combine = combine_line.cuda
    tree_sum = _tree_sum(threads)

    @cuda.jit
    def combine_partials(totals, counts, sums, line_counts):
        outer, jblocks, inner = totals.shape
        line = cuda.grid(1)
        if line < outer * inner:
            combine(totals, counts, line // inner, line % inner, sums, line_counts, line)

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
        s, k = tree_sum(s, k, tid, threads, 1)
        if tid == 0:
            sums[line] = s
            line_counts[line] = 0 if s != s else k

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
        combine_partials=combine_partials,
        combine_long_partials=combine_long_partials,
        fill=fill,
        sum_blocks=sum_blocks,
        cast=cast,
    )
