"""The arithmetic SPEC.md pins down, written once for every compiled target.

Each body is plain Python on scalars. :func:`elementwise` compiles it for the
CPU (``body.cpu``, an inlined ``@njit`` function) and for CUDA (``body.cuda``,
a device function built on first use, so importing this module never touches
the CUDA driver). The loops around the bodies differ between targets; the
arithmetic does not. Bodies that call other bodies, or a target's own way of
reading a value (:func:`walker`, the peak rule as a walk), are built by
factories that close over the target's versions: a closure, unlike a global,
is part of Numba's cache key.

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


#: lines must be shorter than this: a walk counts its values in 32 bits
MAX_LINE = 2**32

#: the most left edges one walk takes: its heights are summed in the working
#: dtype, and SPEC 6's accuracy bound holds for runs of up to 1024 samples
MAX_WALK = 512


class Walk(NamedTuple):
    """A walk's state between two values of the signal: whether a peak
    candidate is open (``open``), its value ``height``, its left edge
    ``left`` (relative to where the walk started) and the value ``before``
    it, and the kept peaks' ``total`` (working dtype) and ``count`` so far."""

    open: bool
    height: float
    left: int
    before: float
    total: float
    count: int


class Signals(NamedTuple):
    """The two signals peaks are found in, each read one value at a time as
    ``(value, carry, ok) = next(x, at, carry, rtol, big)``: ``x[at]`` is the
    next sample, ``carry`` the samples before it that the value needs."""

    #: the samples themselves (``find_peaks``; ``ok`` is always True)
    sample: object
    #: the floored |d| of SPEC 3-4 (``smp``); ``ok`` is whether the noise
    #: floor's ``s`` was below ``big`` (False for a NaN or an inf sample,
    #: and for finite samples whose ``s`` overflows: look again)
    curvature: object


@functools.lru_cache(maxsize=None)
def signals(target):
    """The :class:`Signals` compiled for ``target``."""
    curv = curvature.on(target)
    mag = magnitude.on(target)

    def next_sample(x, at, carry, rtol, big):
        return x[at], carry, True

    def next_curvature(x, at, carry, rtol, big):
        v0, v1 = carry
        v2 = x[at]
        s = (abs(v0) + abs(v2)) + abs(v1 + v1)  # SPEC 4's s, as magnitude has it
        return mag(curv(v0, v1, v2), v0, v1, v2, rtol), (v1, v2), s < big

    return Signals(_jit(target, next_sample), _jit(target, next_curvature))


@functools.lru_cache(maxsize=None)
def walker(target, advance):
    """SPEC section 5 as a walk over a signal read one value at a time by
    ``advance`` (a :class:`Signals` member), compiled for ``target``.

    ``walk(x, at, stride, carry, prev, first, hi, end, rtol, big, filters,
    mask, mask_at)`` starts at value ``first`` of the signal, whose
    predecessor is ``prev``; ``x[at]`` is the sample the value needs and
    ``x[at + k * stride]`` the next ones. It reports the peaks whose left
    edge ``l`` is in ``first <= l < hi``, following a plateau past ``hi``
    up to value ``end - 1`` at most (the signal's last value, never in a
    peak), so that walks over neighbouring stretches find every peak once.
    It returns the final :class:`Walk` and whether every ``ok`` was True;
    kept peaks are marked in ``mask`` at ``mask_at + p * stride`` (``p``
    relative to ``first``) unless ``mask`` is None.

    The rule is a small state machine, one step a value: a rise opens a
    candidate, an equal value extends its plateau, a fall closes it as a
    peak (kept if the filters keep it), anything else (a rise, a NaN)
    closes it without one. It is exactly SciPy's ``_local_maxima_1d``; the
    filters, in float64, run only where a peak closes."""
    sides = peak_sides.on(target)
    keep = keep_peak.on(target)

    def step(w, value, prev, t, filters, mask, mask_at, stride):
        closes = w.open & (value < prev)
        if closes:  # filters and marks only where a peak closes
            right = numba.uint32(t - 1)
            p = numba.uint32(w.left + right) >> numba.uint32(1)
            left_side, right_side = sides(w.left, right, w.before, w.height, value)
            closes = keep(np.float64(w.height), left_side, right_side, filters)
            if mask is not None:
                if closes:
                    mask[mask_at + numba.uint64(p) * stride] = True
        rises = value > prev
        return Walk(
            rises | (w.open & (value == prev)),
            value if rises else w.height,
            t if rises else w.left,
            prev if rises else w.before,
            w.total + w.height if closes else w.total,
            numba.int32(w.count + 1) if closes else w.count,
        )

    step = _jit(target, step)

    def walk(x, at, stride, carry, prev, first, hi, end, rtol, big, filters, mask, mask_at):
        zero = rtol - rtol  # the working dtype's 0 (rtol is finite)
        w = Walk(False, zero, numba.uint32(0), zero, zero, numba.int32(0))
        finite = True
        # Positions relative to ``first`` in 32 bits: lines are shorter than
        # MAX_LINE (the dispatcher refuses longer ones).
        steps = numba.uint32(hi - first)
        t = numba.uint32(0)
        while t < steps:  # the stretch: every step the same few instructions
            value, carry, ok = advance(x, at, carry, rtol, big)
            finite &= ok
            w = step(w, value, prev, t, filters, mask, mask_at, stride)
            prev = value
            at += stride
            t = numba.uint32(t + 1)
        more = numba.uint32(end - first)
        while w.open and t < more:  # a plateau that runs past the stretch
            value, carry, ok = advance(x, at, carry, rtol, big)
            finite &= ok
            w = step(w, value, prev, t, filters, mask, mask_at, stride)
            if value > prev:  # a new candidate: the next stretch's
                break
            prev = value
            at += stride
            t = numba.uint32(t + 1)
        return w, finite

    return _jit(target, walk)


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
