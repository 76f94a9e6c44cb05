"""The CUDA kernels that combine and fill: a line's partial sums, the
blocks of an SMP over several axes, fills and casts (the peak kernels are in
:mod:`fastsmp.backends.cuda.walkers`).

``cuda`` is a module global on purpose: the simulator swaps it for its own
``cuda`` module in the globals of the kernels it runs.
"""

from __future__ import annotations

import functools

from numba import cuda, float64, int64

from ..spec import add_block


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


@functools.lru_cache(maxsize=None)
def kernels(threads):
    """The element-wise and combining kernels, for blocks of ``threads``
    threads (a compile-time constant: it sizes the shared-memory trees)."""
    add = add_block.cuda
    tree_sum = _tree_sum(threads)

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
        combine_long_partials=combine_long_partials,
        fill=fill,
        sum_blocks=sum_blocks,
        cast=cast,
    )
