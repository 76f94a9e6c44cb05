"""The arithmetic SPEC.md pins down, written once for every compiled target.

Each body is plain Python on scalars. :func:`elementwise` compiles it for the
CPU (``body.cpu``, an inlined ``@njit`` function) and for CUDA (``body.cuda``,
a device function built on first use, so importing this module never touches
the CUDA driver). The loops around the bodies differ between targets; the
arithmetic does not. Bodies that call other bodies, or a target's own way of
reading a value (:func:`plateau_peak`), are built by factories that close
over the target's versions: a closure, unlike a global, is part of Numba's
cache key.

The numpy backend (:mod:`fastsmp.backends.numpy`) is the same SPEC written
out in vectorised NumPy, kept apart on purpose: it is the reference the
compiled targets are tested against.

No ``fastmath`` anywhere: SPEC section 3 forbids reassociating the second
difference and the noise-floor sum.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numba
import numpy as np
from llvmlite import ir
from numba.extending import intrinsic

from . import cache_guard

cache_guard.install()  # before the first @njit(cache=True) of the package


class Elementwise:
    """A scalar function compiled lazily for the CPU (njit) and for CUDA."""

    def __init__(self, func):
        self.py = func
        self.__name__ = func.__name__
        self.__doc__ = func.__doc__
        self.cpu = numba.njit(inline="always", cache=True)(func)
        self._cuda = None

    @property
    def cuda(self):
        if self._cuda is None:
            from numba import cuda

            self._cuda = cuda.jit(device=True)(self.py)
        return self._cuda

    def on(self, target):
        """The body compiled for ``target`` (``"cpu"`` or ``"cuda"``)."""
        return self.cpu if target == "cpu" else self.cuda


def elementwise(func):
    """Compile ``func`` for both targets (``.cpu`` and ``.cuda``)."""
    return Elementwise(func)


def _jit(target, func):
    if target == "cpu":
        return numba.njit(inline="always", cache=True)(func)
    from numba import cuda

    return cuda.jit(device=True)(func)


class KernelFilters(NamedTuple):
    """SciPy's ``height`` and ``threshold`` bounds as the kernels take them:
    float64, NaN for an absent bound (validation rejects NaN bounds, so NaN
    is free as a marker)."""

    hmin: float
    hmax: float
    tmin: float
    tmax: float


def kernel_filters(filters):
    """The :class:`KernelFilters` of ``filters`` (``(hmin, hmax, tmin, tmax)``,
    ``None`` for an absent bound), or ``None`` when no bound is set: the
    kernels then compile a version without the float64 filter work."""
    if all(b is None for b in filters):
        return None
    return KernelFilters(*(np.nan if b is None else float(b) for b in filters))


# --------------------------------------------------------------------------
# SPEC 3 and 4: the second difference and its noise floor
# --------------------------------------------------------------------------


@elementwise
def curvature(v0, v1, v2):
    # ``v1 + v1`` is ``2*v1`` exactly, and keeps the working dtype: Numba
    # would promote ``2 * float32`` to float64.
    return (v0 + v2) - (v1 + v1)


@elementwise
def magnitude(d, v0, v1, v2, rtol):
    """|d| with the rounding-noise floor of SPEC section 4 (``rtol`` is 0 or
    positive, already in the working dtype): +0 at or under the floor. The
    exact scans' and CUDA's form; the CPU fills use :func:`flagged_magnitude`,
    the same bits where ``s`` is finite."""
    # abs(v1 + v1) is 2*|v1| exactly, and shares ``v1 + v1`` with d.
    s = (abs(v0) + abs(v2)) + abs(v1 + v1)
    ad = abs(d)
    # Literally SPEC 4: a NaN |d| (inf - inf from finite samples that
    # overflow) fails the comparison and counts as 0. Lines that hold a NaN
    # or an inf sample are NaN anyway (SPEC 7), whatever ``a`` is there.
    if ad > rtol * s:
        return ad
    return rtol - rtol


@intrinsic
def fma(typingctx, a, b, c):
    """``a * b + c`` rounded once (``llvm.fma``), in the type of ``a`` (``b``
    and ``c`` are cast to it). A CPU without FMA instructions gets LLVM's
    library call: the same result, slower."""

    def codegen(context, builder, signature, args):
        ty = context.get_value_type(signature.return_type)
        fn = builder.module.declare_intrinsic("llvm.fma", [ty], ir.FunctionType(ty, [ty, ty, ty]))
        return builder.call(fn, [context.cast(builder, v, t, a) for v, t in zip(args, signature.args)])

    return a(a, b, c), codegen


@numba.njit(inline="always", cache=True)
def flagged_magnitude(v0, v1, v2, rtol):
    """:func:`magnitude` of three samples (CPU only), NaN where the noise
    floor's ``s`` is not finite: the flag every CPU fill stores and every
    sum carries, so that NaN/inf samples need no pass of their own.

    ``d`` and ``s`` are SPEC 3 and 4's, bit for bit, with one FMA each: the
    product ``2*v1`` is exact, so ``fma(v1, -2, v0 + v2)`` rounds once where
    SPEC rounds once. Where ``s`` is finite nothing overflows (every term of
    ``d`` is at most ``s``); where it is not, the flag sends the block to
    the exact scan. The FMAs take two of the seven additions per sample off
    the adder pipes."""
    s = fma(abs(v1), 2.0, abs(v0) + abs(v2))
    ad = abs(fma(v1, -2.0, v0 + v2))
    return ad if ad > rtol * s else s - s


# --------------------------------------------------------------------------
# SPEC 5: peaks and SciPy's filters
# --------------------------------------------------------------------------


@elementwise
def keep_peak(height, left, right, filters):
    """SciPy's ``height`` and ``threshold`` filters on one peak.

    ``height`` and the neighbour differences ``left``/``right`` are float64;
    ``filters`` is None (keep every peak) or :class:`KernelFilters`.
    Branch-free (``&``/``|`` on booleans) so that the CPU loops around it
    vectorise.
    """
    if filters is None:  # no filter at all; pruned at compile time
        return True
    hmin, hmax, tmin, tmax = filters
    # np.min/np.max over the pair propagate NaN, and NaN fails every bound.
    sides_ok = (left == left) & (right == right)
    return (
        ((hmin != hmin) | (hmin <= height))
        & ((hmax != hmax) | (height <= hmax))
        & ((tmin != tmin) | (sides_ok & (tmin <= min(left, right))))
        & ((tmax != tmax) | (sides_ok & (max(left, right) <= tmax)))
    )


@elementwise
def peak_sides(l, r, before, value, after):
    """float64 ``(a[p]-a[p-1], a[p]-a[p+1])`` for a plateau ``a[l..r] == value``
    reported at ``p = (l + r) // 2``, given ``before = a[l-1]`` and
    ``after = a[r+1]``. Inside a plateau the neighbour equals ``value``; it is
    still subtracted, not assumed 0, so that an inf plateau gives NaN as in
    SciPy."""
    p = (l + r) // 2
    left = before if p == l else value
    right = after if p == r else value
    h = np.float64(value)  # not float(): Numba keeps a float32 a float32
    return h - np.float64(left), h - np.float64(right)


@functools.lru_cache(maxsize=None)
def plateau_peak(target, value):
    """The plateau walk of SPEC section 5, for ``target`` (``"cpu"`` or
    ``"cuda"``), reading the signal with ``value(src, k)`` (compiled for that
    target; ``src`` is whatever it needs to find value ``k``).

    ``peak(src, t, prev, cur, nxt, m, filters)`` takes a left edge: value
    ``t`` is ``cur`` (``1 <= t <= m - 2``), ``prev < cur`` is value ``t - 1``
    and ``nxt`` value ``t + 1``, of a signal of length ``m``. It returns
    ``(k, after, p, height)``: ``k`` is one past the run of values equal to
    ``cur`` and ``after`` the value there; ``p`` the kept peak's position
    (the run's middle, rounded down) or -1, and ``height`` its float64
    height (0 for none). Like SciPy it stops at the last value, which is
    never in a peak."""
    sides = peak_sides.on(target)
    keep = keep_peak.on(target)

    def peak(src, t, prev, cur, nxt, m, filters):
        k = t + 1
        while nxt == cur and k < m - 1:  # along the plateau
            k += 1
            nxt = value(src, k)
        if nxt < cur:  # it ends in a fall: a peak, if the filters keep it
            left, right = sides(t, k - 1, prev, cur, nxt)
            height = np.float64(cur)  # not float(): Numba keeps a float32 a float32
            if keep(height, left, right, filters):
                return k, nxt, (t + k - 1) // 2, height
        return k, nxt, -1, 0.0

    return _jit(target, peak)


# --------------------------------------------------------------------------
# SPEC 6: sums of partial sums, in a fixed order
# --------------------------------------------------------------------------


@elementwise
def combine_line(totals, counts, o, i, sums, line_counts, line):
    """Line ``line``'s SMP and count from its partials ``totals[o, :, i]``
    (``counts``), added in order (a NaN partial makes the line NaN, count
    0: SPEC 7)."""
    s = 0.0
    k = 0
    for c in range(totals.shape[1]):
        s += totals[o, c, i]
        k += counts[o, c, i]
    sums[line] = s
    line_counts[line] = 0 if s != s else k


@elementwise
def add_block(line_sums, line_counts, order, b, block_sums, block_counts):
    """Add the lines ``order[b, :]`` to block ``b``'s totals, in that order
    (the SMP over several axes, SPEC section 6)."""
    s = 0.0
    k = 0
    for t in range(order.shape[1]):
        s += line_sums[order[b, t]]
        k += line_counts[order[b, t]]
    block_sums[b] += s
    block_counts[b] += k
