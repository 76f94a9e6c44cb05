"""The ``"cpu"`` backend: Numba, parallel over lines and over chunks of lines.

Two layouts of the ``(outer, n, inner)`` view, one fused pass each; the
second difference is never materialised beyond a block of 1024 values, and
the extra memory is O(number of lines):

* **rows** (``inner == 1``, the line is the last axis): a task takes whole
  lines, or one chunk of a line when there are too few lines to keep every
  core busy. Each block of the line is done in two SIMD loops: fill a small
  buffer with the floored ``|d|``, then sum its *strict* local maxima.
* **panels** (``inner > 1``, e.g. ``axis=-2`` of a C-ordered array): a task
  walks down a panel of neighbouring lines row by row, so every read is
  contiguous and the loop over the panel's lines vectorises; no transposed
  copy is made. A pass takes four rows: one loop computes their floored
  ``|d|`` and tests each against the two rows above it; the last two rows
  are kept in a ring for the next pass.

And one layout for a pair of axes, the last two of small C-ordered maps
(``smp(..., axis=(-2, -1))`` of CNN activations): **maps**, a map at a time,
its rows and its columns each one flat fill and one masked flat sum, so the
input is read once and small maps pay no per-line loops.

NaN and inf samples are found without a pass of their own: the fills store
NaN where the noise floor's ``s`` is not finite (a NaN or inf sample, or an
overflow), and the sums carry it (``prev - prev``); a
NaN sum sends the block, line or map to an exact check.

Strict maxima are the only peaks in float data almost always; where a block
(rows) or a line (panels, whose sums carry a plateau as one more NaN flag)
has a plateau that rises on its left, the exact scalar scan of SPEC
section 5 redoes that block or line. A chunk owns the
peaks whose *left edge* lies in it and follows a plateau past its end, so
every peak is found exactly once however the line is cut.

The kernels called from Python release the GIL (``nogil``), so calls from
several threads (or Dask workers) run side by side.

No kernel carries ``fastmath``: SPEC section 3 forbids reassociating d, s
and the floor, and the loops that add peak heights add in SUM_LANES lanes
in an order written in the source, so that every compile, cached or fresh,
gives the same bits (SPEC section 10).
"""

from __future__ import annotations

import contextlib
import threading

import numba
import numpy as np
from llvmlite import ir
from numba import prange, types
from numba.core import cgutils
from numba.extending import intrinsic, overload

from ._elementwise import add_block, curvature, keep_peak, magnitude, peak_sides

#: values of the floored second difference per block (rows layout)
BLOCK = 1024
#: a chunk of a long line is at least this many samples
MIN_CHUNK = 1 << 16
#: most lines per task in the panels layout (see _panel_width)
MAX_PANEL = 4096

_curvature = curvature.cpu
_magnitude = magnitude.cpu
_keep_peak = keep_peak.cpu
_peak_sides = peak_sides.cpu
_add_block = add_block.cpu


# --------------------------------------------------------------------------
# the exact scalar scan (plateaus)
# --------------------------------------------------------------------------


def _make_scanner(value):
    """The peak scan of SPEC section 5 over the signal ``value(v, j, rtol)``.

    ``scan(v, lo, hi, m, rtol, filters, mask)`` visits the candidate left
    edges ``lo <= l < hi`` (``1 <= lo``, ``hi <= m - 1``) of the signal of
    length ``m`` and returns ``(sum, count)`` of the kept peaks' heights
    (float64). If ``mask`` is not empty, each kept peak ``p`` also sets
    ``mask[p]``.
    """

    @numba.njit(cache=True)
    def scan(v, lo, hi, m, rtol, filters, mask):
        total = 0.0
        count = 0
        prev = value(v, lo - 1, rtol)
        cur = value(v, lo, rtol)
        j = lo
        while j < hi:
            nxt = value(v, j + 1, rtol)
            if cur > prev:
                # j is a left edge: find where its plateau ends (SciPy stops
                # the search at the last sample, which is never in a peak).
                k = j + 1
                while nxt == cur and k < m - 1:
                    k += 1
                    nxt = value(v, k, rtol)
                if nxt < cur:
                    left, right = _peak_sides(j, k - 1, prev, cur, nxt)
                    if _keep_peak(np.float64(cur), left, right, filters):
                        total += np.float64(cur)
                        count += 1
                        if mask.size:
                            mask[(j + k - 1) // 2] = True
                prev = cur  # a[k-1] == a[j]
                cur = nxt
                j = k
            else:
                prev = cur
                cur = nxt
                j += 1
        return total, count

    return scan


@numba.njit(inline="always")
def _sample(v, j, rtol):
    return v[j]


@numba.njit(inline="always")
def _floored_curvature(v, j, rtol):
    v0 = v[j]
    v1 = v[j + 1]
    v2 = v[j + 2]
    return _magnitude(_curvature(v0, v1, v2), v0, v1, v2, rtol)


_scan_signal = _make_scanner(_sample)
_scan_curvature = _make_scanner(_floored_curvature)


# --------------------------------------------------------------------------
# SIMD building blocks
# --------------------------------------------------------------------------


@numba.njit(inline="always")
def _strict_peak(prev, cur, nxt, filters):
    """``cur`` is a strict local maximum that the filters keep (the common,
    plateau-free case of SPEC section 5); branch-free for SIMD."""
    if filters is None:  # resolved at compile time: no filters, no float64 work
        return (prev < cur) & (nxt < cur)
    # np.float64, not float(): Numba's float() keeps a float32 a float32,
    # and SPEC 5 forms the neighbour differences in float64
    h = np.float64(cur)
    return (prev < cur) & (nxt < cur) & _keep_peak(h, h - np.float64(prev), h - np.float64(nxt), filters)


@numba.njit(inline="always")
def _plateau_start(prev, cur, nxt):
    """A rise onto a run of equal values: the scalar scan must decide."""
    return (prev < cur) & (cur == nxt)


@numba.njit(inline="always")
def _height_or_flag(prev, cur, nxt, strict, plateau_flag):
    """What a sum that carries its plateaus as NaN adds for candidate
    ``cur``: its height if it is a kept strict maximum (``strict``),
    ``plateau_flag`` (NaN) where a plateau rises, else ``prev - prev``: +0,
    or NaN for a flagged ``prev`` (see :func:`_strict_run`)."""
    return cur if strict else (plateau_flag if _plateau_start(prev, cur, nxt) else prev - prev)


# Loops below index with unsigned integers or from 0: with a signed index of
# unknown sign Numba keeps its negative-index wraparound, and LLVM then does
# not vectorise. They take whole arrays plus offsets, never slices: a slice
# updates the array's reference count atomically, and with many short lines
# two cores fighting over that counter cost more than the arithmetic.
_1 = np.uint64(1)
_2 = np.uint64(2)


@intrinsic
def _prefetch(typingctx, arr, index):
    """Ask the cache for the line that holds ``arr[index]`` (``index`` a
    tuple, in bounds): a hint, with no effect on any result. A fill loop
    that works at full speed from L1 otherwise finds the hardware
    prefetcher too little ahead of it (see :func:`_fill_magnitudes`)."""

    def codegen(context, builder, signature, args):
        array_type, index_type = signature.args
        array = context.make_array(array_type)(context, builder, args[0])
        indices = cgutils.unpack_tuple(builder, args[1], len(index_type))
        ptr = cgutils.get_item_pointer(context, builder, array_type, array, indices, wraparound=False)
        ptr = builder.bitcast(ptr, cgutils.voidptr_t)
        i32 = ir.IntType(32)
        # declare_intrinsic names it for the LLVM at hand (llvm.prefetch.p0i8
        # with typed pointers, llvm.prefetch.p0 with opaque ones)
        fn = builder.module.declare_intrinsic(
            "llvm.prefetch", [cgutils.voidptr_t], ir.FunctionType(ir.VoidType(), [cgutils.voidptr_t, i32, i32, i32])
        )
        builder.call(fn, [ptr, i32(0), i32(3), i32(1)])  # read, keep in every level, data
        return context.get_dummy_value()

    return types.void(arr, index), codegen


#: a fill loop asks for the samples PREFETCH_AHEAD ahead of those it reads,
#: once per FILL_GROUP samples (whose inner loop, a constant trip count,
#: vectorises as before: a prefetch inside the vector loop stops LLVM from
#: vectorising it). 512 and 1024 made case (a) about 10% faster, on one
#: core and on two; 2048 gained nothing (measured).
PREFETCH_AHEAD = 512
FILL_GROUP = 64


@intrinsic
def _fma(typingctx, a, b, c):
    """``a * b + c`` rounded once (``llvm.fma``), in the type of ``a`` (``b``
    and ``c`` are cast to it). A CPU without FMA instructions gets LLVM's
    library call: the same result, slower."""

    def codegen(context, builder, signature, args):
        ty = context.get_value_type(signature.return_type)
        fn = builder.module.declare_intrinsic("llvm.fma", [ty], ir.FunctionType(ty, [ty, ty, ty]))
        return builder.call(fn, [context.cast(builder, v, t, a) for v, t in zip(args, signature.args)])

    return a(a, b, c), codegen


@numba.njit(inline="always")
def _flagged_magnitude(v0, v1, v2, rtol):
    """The floored ``|d|`` of three samples, NaN where the noise floor's
    ``s`` is not finite: the flag every fill stores and every sum carries
    (see :func:`_fill_magnitudes`).

    ``d`` and ``s`` are SPEC 3 and 4's, bit for bit, with one FMA each: the
    product ``2*v1`` is exact, so ``fma(v1, -2, v0 + v2)`` rounds once where
    SPEC rounds once. Where ``s`` is finite nothing overflows (every term of
    ``d`` is at most ``s``); where it is not, the flag sends the block to
    the exact scan. The FMAs move two of the seven additions per sample
    off the adder pipes, the fill's bottleneck on Zen 3 (cases (a)-(d):
    0.96-1.01 x the time, measured)."""
    s = _fma(abs(v1), 2.0, abs(v0) + abs(v2))
    ad = abs(_fma(v1, -2.0, v0 + v2))
    return ad if ad > rtol * s else s - s


@numba.njit(inline="always")
def _floored_at(x, row, j, rtol):
    """The flagged floored ``|d|`` of line ``row`` of ``x`` at ``j``."""
    return _flagged_magnitude(x[row, j], x[row, j + _1], x[row, j + _2], rtol)


@numba.njit(cache=True)
def _fill_magnitudes(x, line, start, width, rtol, a):
    """``a[k]`` = floored ``|d|`` of line ``line`` of ``x`` at ``start + k``,
    made NaN where that ``s`` is not finite (see :func:`_flagged_magnitude`).
    A NaN or inf sample always makes its ``s`` non-finite (so does, rarely,
    an overflow of finite samples): :func:`_sum_strict_peaks` then returns
    NaN and the caller looks at the samples. The flag costs one vector
    subtraction here, where an or-reduction of flags cost five."""
    row = np.uint64(line)
    base = np.uint64(start)
    n = x.shape[1]
    per_cache_line = max(1, 64 // x.itemsize)
    groups = width // FILL_GROUP
    for g in range(groups):
        ahead = start + g * FILL_GROUP + PREFETCH_AHEAD
        if ahead < n:
            for q in range(0, FILL_GROUP, per_cache_line):
                _prefetch(x, (line, min(ahead + q, n - 1)))
        at = np.uint64(g * FILL_GROUP)
        for k in range(FILL_GROUP):
            a[at + np.uint64(k)] = _floored_at(x, row, base + at + np.uint64(k), rtol)
    done = np.uint64(groups * FILL_GROUP)
    for k in range(width - groups * FILL_GROUP):  # from 0: see _1, _2
        a[done + np.uint64(k)] = _floored_at(x, row, base + done + np.uint64(k), rtol)


#: peak heights are added in the working dtype in SUM_LANES lanes: lane
#: ``l`` takes candidates ``l, l + SUM_LANES, ...`` of a run, in order, and
#: the lanes are then added pairwise (:func:`_lanes_total`). The order is
#: written in the source, not left to the compiler: no loop here carries
#: ``fastmath``, so every compile, cached or fresh, inlined anywhere, adds
#: in this one order (SPEC 10). LLVM keeps the lanes in vector registers
#: (:func:`_stack_lanes`). A float32 lane adds at most SUM_RUN / SUM_LANES
#: heights before the partial sum goes into a float64 total, so a partial
#: sum errs by under (32 + 5) * 2**-24 < 2.3e-6 relative (SPEC 6: 1e-5).
SUM_LANES = 32
SUM_RUN = 1024


@intrinsic
def _stack_lanes(typingctx, like, lanes):
    """A C array of ``lanes`` (a literal) elements of ``like``'s dtype on
    the stack of the function it is inlined into: no allocation, and LLVM
    promotes it to registers once the loops over it are unrolled."""
    if not isinstance(lanes, types.IntegerLiteral):
        return None  # Numba retries with the literal
    dtype = like.dtype if isinstance(like, types.Array) else like
    array_type = types.Array(dtype, 1, "C")

    def codegen(context, builder, signature, args):
        item = context.get_value_type(dtype)
        data = cgutils.alloca_once(builder, item, size=lanes.literal_value)
        array = context.make_array(array_type)(context, builder)
        itemsize = context.get_constant(types.intp, context.get_abi_sizeof(item))
        context.populate_array(array, data=data, shape=[context.get_constant(types.intp, lanes.literal_value)],
                               strides=[itemsize], itemsize=itemsize, meminfo=None)
        return array._getvalue()

    return array_type(like, lanes), codegen


@numba.njit(inline="always")
def _zero_lanes(lanes):
    for l in range(SUM_LANES):
        lanes[l] = 0


@numba.njit(inline="always")
def _lanes_total(lanes):
    """Sum of the SUM_LANES lanes, pairwise in a fixed order (destroys them)."""
    half = SUM_LANES // 2
    while half > 0:
        for l in range(half):
            lanes[l] += lanes[l + half]
        half //= 2
    return lanes[0]


def _lane_counter(a):
    """A zero counter as wide as the elements of ``a``: integer lanes as
    wide as the float ones, and no packing (see :func:`_mark_strict_peaks`)."""


@overload(_lane_counter, inline="always")
def _lane_counter_impl(a):
    if a.dtype.bitwidth == 32:
        return lambda a: np.int32(0)
    return lambda a: np.int64(0)


def _count(counter, flag):
    """``counter + flag`` kept in the counter's width: Numba widens an int32
    sum to int64, and int64 lanes would halve a float32 vector loop."""


@overload(_count, inline="always")
def _count_impl(counter, flag):
    if counter.bitwidth == 32:
        return lambda counter, flag: np.int32(counter + flag)
    return lambda counter, flag: counter + flag


@numba.njit(inline="always")
def _candidate(a, j, filters):
    """What candidate ``a[j+1]`` adds to a sum (its height if it is a kept
    strict maximum, else ``prev - prev``: +0, or NaN for a flagged
    ``a[j]``, a blend rather than one more add), whether it counts, and
    whether a plateau rises there."""
    prev = a[j]
    cur = a[j + _1]
    nxt = a[j + _2]
    strict = _strict_peak(prev, cur, nxt, filters)
    return (cur if strict else prev - prev), strict, _plateau_start(prev, cur, nxt)


@numba.njit(inline="always")
def _strict_run(a, at, width, filters):
    """Sum (working dtype), count and plateau flag of the kept strict maxima
    among ``a[at+1 : at+width-1]`` (at most SUM_RUN candidates), added in
    SUM_LANES lanes (see SUM_LANES); the sum is NaN if one of ``a[at :
    at+width-2]`` is (see :func:`_fill_magnitudes`)."""
    lanes = _stack_lanes(a, SUM_LANES)
    counts = _stack_lanes(np.int32(0), SUM_LANES)  # integer lanes as wide as
    plateaus = _stack_lanes(np.int32(0), SUM_LANES)  # float32 ones, no packing
    _zero_lanes(lanes)
    _zero_lanes(counts)
    _zero_lanes(plateaus)
    candidates = width - 2
    whole = candidates - candidates % SUM_LANES
    for g in range(0, whole, SUM_LANES):
        for l in range(SUM_LANES):
            h, strict, rise = _candidate(a, at + np.uint64(g + l), filters)
            lanes[l] += h
            counts[l] += strict
            plateaus[l] += rise
    for k in range(candidates - whole):  # the rest, into the first lanes
        h, strict, rise = _candidate(a, at + np.uint64(whole + k), filters)
        lanes[k] += h
        counts[k] += strict
        plateaus[k] += rise
    count = 0
    rises = 0
    for l in range(SUM_LANES):
        count += counts[l]
        rises += plateaus[l]
    return _lanes_total(lanes), count, rises > 0


#: lines up to PADDED_RUN candidate samples are tested in one loop padded to
#: whole groups of SUM_LANES (masked past the line's end), so that a short
#: line runs no scalar remainder
PADDED_RUN = 64


@numba.njit(inline="always")
def _strict_run_padded(a, at, stop, filters):
    """Sum (working dtype) and count of the kept strict maxima among
    ``a[at+1 : at+stop+1]``, with ``stop <= PADDED_RUN``, reading (and
    ignoring) ``a`` up to ``at + PADDED_RUN + 1``. The sum is NaN where a
    plateau rises there or one of ``a[at : at+stop]`` is NaN (flags, as in
    :func:`_strict_run`): a short line pays one reduction fewer than with a
    plateau counter. Kept apart from :func:`_strict_run`, whose long-line
    loop the mask would slow down."""
    zero = a.dtype.type(0)
    plateau_flag = a.dtype.type(np.nan)
    lanes = _stack_lanes(a, SUM_LANES)
    counts = _stack_lanes(np.int32(0), SUM_LANES)
    _zero_lanes(lanes)
    _zero_lanes(counts)
    for g in range(0, stop, SUM_LANES):
        for l in range(SUM_LANES):
            k = g + l
            j = at + np.uint64(k)
            prev = a[j]
            cur = a[j + _1]
            nxt = a[j + _2]
            inside = k < stop
            strict = _strict_peak(prev, cur, nxt, filters) & inside
            lanes[l] += _height_or_flag(prev, cur, nxt, strict, plateau_flag) if inside else zero
            counts[l] += strict
    count = 0
    for l in range(SUM_LANES):
        count += counts[l]
    return _lanes_total(lanes), count


@numba.njit(cache=True)
def _sum_strict_peaks(a, width, filters):
    """Sum and count of the kept strict maxima among ``a[1 : width-1]``, and
    whether a plateau starts there; the sum is NaN if any of ``a`` is (a NaN
    flag)."""
    total = 0.0
    count = 0
    plateau = False
    for r in range(0, width - 2, SUM_RUN):
        s, k, p = _strict_run(a, np.uint64(r), min(SUM_RUN, width - 2 - r) + 2, filters)
        total += np.float64(s)
        count += k
        plateau |= p
    zero = a.dtype.type(0)
    return total + np.float64(a[width - 2] * zero + a[width - 1] * zero), count, plateau


@numba.njit(cache=True)
def _mark_strict_peaks(x, line, start, width, filters, mask):
    """``mask[line, j] = True`` exactly at the kept strict maxima ``j`` of
    ``x[line, start+1 : start+width-1]`` (plain stores of every value: a
    conditional byte store does not vectorise); return whether a plateau
    starts there."""
    row = np.uint64(line)
    base = np.uint64(start)
    plateaus = _lane_counter(x)
    for k in range(width - 2):
        j = base + np.uint64(k)
        prev = x[row, j]
        cur = x[row, j + _1]
        nxt = x[row, j + _2]
        mask[row, j + _1] = _strict_peak(prev, cur, nxt, filters)
        plateaus = _count(plateaus, _plateau_start(prev, cur, nxt))
    return plateaus > 0


@numba.njit(cache=True)
def _has_non_finite(v):
    """Whether the (strided) line ``v`` holds a NaN or an inf: the exact
    check behind a NaN flag, which an overflow of finite samples raises too."""
    for j in range(v.size):
        if (v[j] - v[j]) != 0:
            return True
    return False


@numba.njit(inline="always")
def _add_compensated(total, compensation, x):
    """Neumaier's step: ``total + compensation`` carries the exact sum's
    rounding error to well below the 1e-12 bound of SPEC section 6."""
    t = total + x
    if abs(total) >= abs(x):
        compensation += (total - t) + x
    else:
        compensation += (x - t) + total
    return t, compensation


@numba.njit(inline="always")
def _compensated_total(total, compensation):
    """``total + compensation``; once the sum has overflowed to inf, the
    compensation is inf - inf = NaN and is dropped: the sum is inf, not NaN
    (a NaN heights sum comes from a NaN flag, and leaves ``total`` NaN)."""
    return total if compensation != compensation else total + compensation


@numba.njit(cache=True)
def _chunk_bounds(m, chunks, c):
    """Candidate left edges ``[lo, hi)`` of chunk ``c`` of ``chunks``: the
    interior ``1 .. m-2`` of a signal of length ``m``, cut evenly."""
    interior = max(m - 2, 0)
    lo = 1 + (interior * c) // chunks
    hi = 1 + (interior * (c + 1)) // chunks
    return lo, hi


# --------------------------------------------------------------------------
# rows layout: lines along the last axis
# --------------------------------------------------------------------------


@numba.njit(inline="always")
def _task(task, chunks, lines_per_task, lines):
    """Task ``task`` of the rows layout: chunk ``c`` of lines ``[first, end)``."""
    group = task // chunks
    return task - group * chunks, group * lines_per_task, min((group + 1) * lines_per_task, lines)


@numba.njit(cache=True)
def _smp_row_chunk(x, line, rtol, filters, chunks, c, buf, no_mask):
    n = x.shape[1]
    m = n - 2
    total = 0.0
    compensation = 0.0
    count = 0
    lo, hi = _chunk_bounds(m, chunks, c)
    # A block's d values use x[b-1 .. e+2], so the chunk's blocks see
    # x[lo-1 .. hi+1], and the chunks together every sample (an empty chunk
    # checks its own).
    bad = False
    for b in range(lo, hi, BLOCK):
        e = min(b + BLOCK, hi)
        _fill_magnitudes(x, line, b - 1, e - b + 2, rtol, buf)  # buf[k] = a[b - 1 + k]
        s, k, plateau = _sum_strict_peaks(buf, e - b + 2, filters)
        if s != s:  # an s that is not finite
            bad = _has_non_finite(x[line, b - 1 : e + 3])
            if bad:
                break
            plateau = True  # finite samples overflowed: the exact scan floors d as SPEC 4 says
        if plateau:
            s, k = _scan_curvature(x[line], b, e, m, rtol, filters, no_mask)
        total, compensation = _add_compensated(total, compensation, s)
        count += k
    if hi <= lo:
        bad = _has_non_finite(x[line, lo - 1 : min(hi + 1, n)])
    return (np.nan if bad else _compensated_total(total, compensation)), count


@numba.njit(parallel=True, cache=True, nogil=True)
def _smp_rows(x, rtol, filters, lines_per_task, chunks):
    lines, n = x.shape
    totals = np.zeros((lines, chunks))
    counts = np.zeros((lines, chunks), np.int64)
    no_mask = np.zeros(0, np.bool_)
    for task in prange(-(-lines // lines_per_task) * chunks):
        c, first, end = _task(task, chunks, lines_per_task, lines)
        buf = np.empty(BLOCK + 2, x.dtype)
        for line in range(first, end):
            totals[line, c], counts[line, c] = _smp_row_chunk(x, line, rtol, filters, chunks, c, buf, no_mask)
    return totals, counts


@numba.njit(cache=True)
def _sum_short_lines(a, lines, n, filters, sums, counts):
    """Per line ``g`` of ``lines`` consecutive short lines (``a`` filled by
    :func:`_fill_map_axis` with step 1, readable PADDED_RUN past its lines):
    sum and count, the sum NaN for a NaN flag or a rising plateau (see
    :func:`_smp_short_group`), in one function so that a line costs no call
    (see _1, _2)."""
    m = n - 2
    zero = a.dtype.type(0)
    plateau_flag = a.dtype.type(np.nan)
    for g in range(lines):
        at = np.uint64(g * n)
        if m - 2 <= PADDED_RUN:
            run, count = _strict_run_padded(a, at, m - 2, filters)
            total = np.float64(run)
        else:
            total = 0.0
            count = 0
            for r in range(0, m - 2, SUM_RUN):
                run, k, plateau = _strict_run(a, at + np.uint64(r), min(SUM_RUN, m - 2 - r) + 2, filters)
                total += np.float64(plateau_flag if plateau else run)
                count += k
        # the line's last two values are no candidate's ``prev``: their flags
        sums[g] = total + np.float64(a[at + np.uint64(m - 2)] * zero + a[at + np.uint64(m - 1)] * zero)
        counts[g] = count


@numba.njit(parallel=True, cache=True, nogil=True)
def _smp_short_rows(flat, n, rtol, filters, lines_per_task):
    """SMP of the C-contiguous lines of length ``n`` (``5 <= n <= BLOCK``)
    stored in ``flat``, ``lines_per_task`` at a time: one fill and one sum
    for a whole group of lines."""
    lines = flat.size // n
    sums = np.empty(lines)
    counts = np.empty(lines, np.int64)
    no_mask = np.zeros(0, np.bool_)
    for task in prange(-(-lines // lines_per_task)):
        first = task * lines_per_task
        group = min(lines_per_task, lines - first)
        a = np.empty(group * n + PADDED_RUN, flat.dtype)  # + what padded runs read
        _smp_short_group(flat, first * n, group, n, rtol, filters, a, sums[first:], counts[first:], no_mask)
    return sums, counts


@numba.njit(inline="always")
def _smp_short_group(flat, start, group, n, rtol, filters, a, sums, counts, no_mask):
    """SMP and count of the ``group`` lines of length ``n`` stored from
    ``flat[start]`` on, into ``sums[:group]`` and ``counts[:group]``, with
    ``a`` (``group * n + PADDED_RUN`` long) as work space: one fill and one
    sum for the whole group, then a look at each line whose sum is NaN. It
    holds a NaN or an inf (SMP NaN, count 0), or else finite samples
    overflowed or a plateau rises, and the exact scan redoes it. The
    samples are read again only there: a check of every line cost a
    quarter of the sums' time (measured)."""
    _fill_map_axis(flat, start, group * n - 2, 1, rtol, a)  # values straddling two lines are never read
    _sum_short_lines(a, group, n, filters, sums, counts)
    for g in range(group):
        if sums[g] != sums[g]:
            at = start + g * n
            if _has_non_finite(flat[at : at + n]):
                counts[g] = 0
            else:
                sums[g], counts[g] = _scan_curvature(flat[at : at + n], 1, n - 3, n - 2, rtol, filters, no_mask)


@numba.njit(parallel=True, cache=True, nogil=True)
def _find_peaks_rows(x, filters, lines_per_task, chunks, mask):
    """Two passes, so that no store can undo another: all strict maxima
    first, then the exact scan of the blocks where a plateau starts (its
    peak may lie in a later block or chunk, written by another task)."""
    lines, n = x.shape
    blocks = -(-(n // chunks + 2) // BLOCK)  # per chunk, at most
    plateaus = np.zeros((lines, chunks, blocks), np.bool_)
    tasks = -(-lines // lines_per_task) * chunks
    for task in prange(tasks):
        c, first, end = _task(task, chunks, lines_per_task, lines)
        lo, hi = _chunk_bounds(n, chunks, c)
        for line in range(first, end):
            for b in range(lo, hi, BLOCK):
                e = min(b + BLOCK, hi)
                plateaus[line, c, (b - lo) // BLOCK] = _mark_strict_peaks(x, line, b - 1, e - b + 2, filters, mask)
    for task in prange(tasks):
        c, first, end = _task(task, chunks, lines_per_task, lines)
        lo, hi = _chunk_bounds(n, chunks, c)
        for line in range(first, end):
            for b in range(lo, hi, BLOCK):
                if plateaus[line, c, (b - lo) // BLOCK]:
                    _scan_signal(x[line], b, min(b + BLOCK, hi), n, 0.0, filters, mask[line])


@numba.njit(parallel=True, cache=True, nogil=True)
def _curvature_rows(x, out):
    lines, n = x.shape
    for line in prange(lines):
        v = x[line]
        d = out[line]
        for j in range(n - 2):
            d[j] = _curvature(v[j], v[j + 1], v[j + 2])


# --------------------------------------------------------------------------
# panels layout: lines along a middle axis, walked row by row
# --------------------------------------------------------------------------


@numba.njit(inline="always")
def _fill_panel_row(x, o, j, i0, width, rtol, ring, r):
    """``ring[r, k]`` = floored ``|d|`` of line ``i0 + k`` of block ``o`` at
    row ``j`` (see _1, _2 for the indexing), NaN where ``s`` is not finite
    (as in :func:`_fill_magnitudes`)."""
    oo = np.uint64(o)
    j0 = np.uint64(j)
    base = np.uint64(i0)
    rr = np.uint64(r)
    for k in range(width):
        ring[rr, k] = _floored_down(x, oo, j0, base + np.uint64(k), rtol)


@numba.njit(inline="always")
def _floored_down(x, o, j, i, rtol):
    """The flagged floored ``|d|`` at row ``j`` of line ``i`` of block ``o``
    of ``x`` (3-D)."""
    return _flagged_magnitude(x[o, j, i], x[o, j + _1, i], x[o, j + _2, i], rtol)


@numba.njit(inline="always")
def _add_panel_rows(x, o, j, i0, width, rtol, filters, ring, part, count, rows):
    """Rows ``j .. j+rows-1`` of a panel in one pass over its lines: each
    row's floored ``|d|`` (``nxt``) decides whether the row above it
    (``cur``) is a kept strict maximum between ``prev`` and ``nxt``.
    ``ring[0]`` and ``ring[1]`` hold rows ``j-2`` and ``j-1`` on entry and
    the last two rows on return. ``part`` (working dtype) gets the peak
    heights, and NaN where a plateau rises or a flagged ``prev`` is read
    (see :func:`_strict_run`); ``count`` (int32) the peaks. Both are
    flushed often (:func:`_smp_panel`): narrow lanes run twice as fast as
    float64 ones.

    With a constant ``rows`` (PANEL_ROWS) LLVM unrolls the inner loop, and
    the ring, the sums and the samples two rows share are loaded once per
    ``rows`` rows instead of once per row: case (b) took 0.66-0.70 x the
    time of one row per pass (0.68-0.81 in float64; 2 and 8 rows gained
    less, measured)."""
    oo = np.uint64(o)
    j0 = np.uint64(j)
    base = np.uint64(i0)
    plateau_flag = ring.dtype.type(np.nan)
    for k in range(width):
        i = base + np.uint64(k)
        prev = ring[0, k]
        cur = ring[1, k]
        p = part[k]
        c = count[k]
        for r in range(rows):
            nxt = _floored_down(x, oo, j0 + np.uint64(r), i, rtol)
            strict = _strict_peak(prev, cur, nxt, filters)
            p += _height_or_flag(prev, cur, nxt, strict, plateau_flag)
            c += np.int32(strict)
            prev = cur
            cur = nxt
        ring[0, k] = prev
        ring[1, k] = cur
        part[k] = p
        count[k] = c


#: rows a panel takes per pass over its lines (see :func:`_add_panel_rows`)
PANEL_ROWS = 4

#: a panel asks for the rows PANEL_AHEAD rows below those it reads next: a
#: row of a narrow panel is a short stretch of memory, too short for the
#: hardware prefetcher, and without it each row waited for DRAM (256-wide
#: panels of case (b), one row a pass: 2 and 8 rows ahead were 1.6-2.1 x
#: faster than none, measured; 4 lies between them)
PANEL_AHEAD = 4


@numba.njit(inline="always")
def _prefetch_panel_row(x, o, j, i0, width):
    per_cache_line = max(1, 64 // x.itemsize)
    for q in range(0, width, per_cache_line):
        _prefetch(x, (o, j, i0 + q))


@numba.njit(inline="always")
def _smp_panel(x, o, i0, w, lanes, rtol, filters, flush, work, sums, counts, at, no_mask):
    """SMP of lines ``i0 .. i0+w-1`` of block ``o`` into ``sums[at : at+w]``
    (and ``counts``), walked down PANEL_ROWS rows at a time with the arrays
    of ``work`` (from :func:`_panel_work`, at least ``lanes`` wide, any
    content) as work space. The passes compute ``lanes >= w`` lanes (see
    :func:`_padded_lanes`); only the first ``w`` are results. Inlined into
    the task loop: no call, and no reference counting per panel, which for
    8-wide panels cost more than their arithmetic."""
    outer, n, inner = x.shape
    m = n - 2  # at least 3: shorter lines go to _smp_peakless
    zero = rtol - rtol
    ring, part, total, compensation, count, total_count = work
    for k in range(lanes):
        total_count[k] = 0
        part[k] = zero
        total[k] = 0.0
        compensation[k] = 0.0
        count[k] = 0
    _fill_panel_row(x, o, 0, i0, lanes, rtol, ring, 0)
    _fill_panel_row(x, o, 1, i0, lanes, rtol, ring, 1)
    j = 2  # next row of |d|: a[j-1] may be a peak only when 1 <= j-1 <= m-2
    added = 0  # rows added to ``part`` since the last flush
    while j < m:
        for r in range(PANEL_ROWS):
            if j + 2 + PANEL_AHEAD + r < n:
                _prefetch_panel_row(x, o, j + 2 + PANEL_AHEAD + r, i0, lanes)
        # two calls, so that each passes a constant ``rows`` (see _add_panel_rows)
        if j + PANEL_ROWS <= m:
            _add_panel_rows(x, o, j, i0, lanes, rtol, filters, ring, part, count, PANEL_ROWS)
            rows = PANEL_ROWS
        else:
            _add_panel_rows(x, o, j, i0, lanes, rtol, filters, ring, part, count, 1)
            rows = 1
        j += rows
        added += rows
        if j == m:  # the two rows no ``prev`` has seen: their NaN flags
            for k in range(lanes):
                part[k] += ring[0, k] * zero + ring[1, k] * zero
        if added >= flush or j == m:  # flush is a multiple of PANEL_ROWS
            added = 0
            for k in range(lanes):
                total[k], compensation[k] = _add_compensated(total[k], compensation[k], float(part[k]))
                total_count[k] += count[k]
                part[k] = zero
                count[k] = 0
    for k in range(w):
        s = _compensated_total(total[k], compensation[k])
        c = total_count[k]
        if s != s:  # a NaN or an inf, an overflow of finite samples, or a plateau
            if _has_non_finite(x[o, :, i0 + k]):
                c = 0
            else:
                s, c = _scan_curvature(x[o, :, i0 + k], 1, m - 1, m, rtol, filters, no_mask)
        sums[at + k] = s
        counts[at + k] = c


#: lanes LLVM's vector loop over a panel takes per iteration (8 float32 or
#: 4 float64 with AVX2: the four-row body is not interleaved); the lanes
#: of a panel that do not fill one are left to a scalar loop, unless
#: :func:`_padded_lanes` rounds them up. Rounding to 32 made 40-wide panels
#: 1.24-1.45 x slower (60% more lanes) and 56-wide ones no faster.
LANE_GROUP = 8


@numba.njit(inline="always")
def _padded_lanes(x, o, i0, w, contiguous):
    """``w`` rounded up to a multiple of LANE_GROUP where ``x`` is
    C-contiguous and the extra lanes' samples lie inside it (they are the
    samples of the next lines, or of the next rows: computed and thrown
    away), else ``w``. A 28-wide panel then runs as four vector iterations
    instead of three and four scalar lanes (``axis=-2`` of 64 x 64 x 28 x 28
    activations: 0.56-0.57 x the time, measured)."""
    outer, n, inner = x.shape
    lanes = -(-w // LANE_GROUP) * LANE_GROUP
    if contiguous and (o * n + n - 1) * inner + i0 + lanes <= x.size:
        return lanes
    return w


@numba.njit(parallel=True, cache=True, nogil=True)
def _smp_panels(x, rtol, filters, flush, width, per_task, contiguous):
    """Panels of ``width`` lines, ``per_task`` panels a task: one set of
    work arrays per task, so that narrow panels (8- to 64-wide activation
    maps) do not pay an allocation each. ``contiguous``: ``x`` is
    C-contiguous (see :func:`_padded_lanes`)."""
    outer, n, inner = x.shape
    panels = -(-inner // width)
    sums = np.empty(outer * inner)
    counts = np.empty(outer * inner, np.int64)
    no_mask = np.zeros(0, np.bool_)
    jobs = outer * panels
    for task in prange(-(-jobs // per_task)):
        work = _panel_work(-(-width // LANE_GROUP) * LANE_GROUP, x.dtype)
        for job in range(task * per_task, min((task + 1) * per_task, jobs)):
            o = job // panels
            i0 = (job - o * panels) * width
            w = min(width, inner - i0)
            _smp_panel(x, o, i0, w, _padded_lanes(x, o, i0, w, contiguous), rtol, filters, flush, work, sums, counts,
                       o * inner + i0, no_mask)
    return sums, counts


@numba.njit(inline="always")
def _panel_work(width, dtype):
    """The work arrays of :func:`_smp_panel`, for panels up to ``width`` wide."""
    return (
        np.empty((2, width), dtype),  # ring: the last two rows of |d|
        np.empty(width, dtype),  # partial sums in the working dtype
        np.empty(width),  # total
        np.empty(width),  # compensation
        np.empty(width, np.int32),  # count since the last flush
        np.empty(width, np.int64),  # total count
    )


# --------------------------------------------------------------------------
# maps layout: both of the last two axes of small C-contiguous maps
# --------------------------------------------------------------------------


#: candidates a map's masked runs take at a time (:func:`_sum_map_axis`): a
#: constant trip count, so LLVM's vector loop has no scalar remainder. Short
#: runs waste little padding on small maps, long ones pay fewer horizontal
#: reductions; :func:`smp_maps` picks per map size. Each run is added in
#: SUM_LANES lanes of at most 8 heights, so a float32 partial sum errs by
#: under (8 + 5) * 2**-24 < 1e-5 relative.
MAP_RUN = 64
MAP_RUN_LONG = 256


@numba.njit(cache=True)
def _fill_map_axis(m, start, count, step, rtol, a):
    """``a[p]`` = floored ``|d|`` of ``m[q], m[q+step], m[q+2*step]`` with
    ``q = start + p``, for ``p < count``, NaN where that ``s`` is not finite
    (as in :func:`_fill_magnitudes`): along the rows of a flattened map with
    ``step = 1`` (and of a group of short lines, :func:`_smp_short_group`),
    along its columns with ``step = w``."""
    s = np.uint64(step)
    base = np.uint64(start)
    for k in range(count):
        j = base + np.uint64(k)
        a[k] = _flagged_magnitude(m[j], m[j + s], m[j + s + s], rtol)


def _make_map_sum(run):
    @numba.njit(cache=True)
    def sum_map_axis(a, valid, first, span, step, filters):
        """Sum (NaN if a flagged ``a`` is read), count and plateau flag of the
        kept strict maxima ``a[p]`` between ``a[p - step]`` and ``a[p + step]``,
        for the candidates ``first <= p < first + span`` (a multiple of
        ``run``) where ``valid[p]`` is not 0. One flat loop for all the lines
        of a map along one axis: no loop, and no loop remainder, per line.
        Each run is added in SUM_LANES lanes (see SUM_LANES)."""
        zero = a.dtype.type(0)
        s = np.uint64(step)
        lanes = _stack_lanes(a, SUM_LANES)
        counts = _stack_lanes(np.int32(0), SUM_LANES)
        plateaus = _stack_lanes(np.int32(0), SUM_LANES)
        _zero_lanes(counts)
        _zero_lanes(plateaus)
        total = 0.0
        for r in range(0, span, run):
            _zero_lanes(lanes)
            for g in range(0, run, SUM_LANES):
                at = np.uint64(first + r + g)
                for l in range(SUM_LANES):
                    j = at + np.uint64(l)
                    prev = a[j - s]
                    cur = a[j]
                    nxt = a[j + s]
                    ok = valid[j] != zero
                    strict = _strict_peak(prev, cur, nxt, filters) & ok
                    lanes[l] += cur if strict else prev - prev  # NaN flags: as in _candidate
                    counts[l] += strict
                    plateaus[l] += _plateau_start(prev, cur, nxt) & ok
            total += np.float64(_lanes_total(lanes))
        count = 0
        rises = 0
        for l in range(SUM_LANES):
            count += counts[l]
            rises += plateaus[l]
        return total, count, rises > 0

    return sum_map_axis


_sum_map_axis = _make_map_sum(MAP_RUN)
_sum_map_axis_long = _make_map_sum(MAP_RUN_LONG)


@numba.njit(inline="always")
def _sum_map(long_runs, a, valid, first, span, step, filters):
    if long_runs:
        return _sum_map_axis_long(a, valid, first, span, step, filters)
    return _sum_map_axis(a, valid, first, span, step, filters)


@numba.njit(cache=True)
def _map_plan(h, w, run, dtype):
    """What every ``h`` x ``w`` map shares in :func:`_smp_maps`: ``(long_runs,
    span_r, span_c, fill_r, fill_c, size, valid_r, valid_c)``, with
    ``long_runs`` for ``run == MAP_RUN_LONG``. Row candidates are
    ``1 <= p < 1 + span_r``, column candidates ``w <= p < w + span_c``
    (multiples of ``run``); a fill computes ``fill_r`` or ``fill_c`` values
    and reads up to ``size`` samples from the map's first; ``valid_r`` and
    ``valid_c`` (``dtype``, 1 or 0) mask the candidates that are no peak of
    a line of the map."""
    hw = h * w
    span_r = -(-hw // run) * run
    span_c = -(-((h - 4) * w) // run) * run
    fill_r = span_r + SUM_LANES  # >= span_r + 2, a multiple of SUM_LANES
    fill_c = -(-(span_c + 2 * w) // SUM_LANES) * SUM_LANES
    size = max(fill_r + 2, fill_c + 2 * w)
    valid_r = np.zeros(span_r + 1, dtype)
    for p in range(1, hw):
        t = p % w
        valid_r[p] = 1 <= t <= w - 4
    valid_c = np.zeros(w + span_c, dtype)
    valid_c[w : (h - 3) * w] = 1
    return run == MAP_RUN_LONG, span_r, span_c, fill_r, fill_c, size, valid_r, valid_c


@numba.njit(cache=True)
def _smp_map_fast(src, start, w, plan, rtol, filters, a):
    """SMP, count and whether the exact path must redo the map whose
    samples start at ``src[start]`` (readable ``plan``'s ``size`` on): its
    rows and its columns, each one flat fill into ``a`` and one masked flat
    sum (see :func:`_smp_maps`)."""
    long_runs, span_r, span_c, fill_r, fill_c, size, valid_r, valid_c = plan
    _fill_map_axis(src, start, fill_r, 1, rtol, a)
    total, count, plateau = _sum_map(long_runs, a, valid_r, 1, span_r, 1, filters)
    _fill_map_axis(src, start, fill_c, w, rtol, a)
    s, k, p = _sum_map(long_runs, a, valid_c, w, span_c, w, filters)
    total += s
    return total, count + k, plateau or p or total != total


@numba.njit(parallel=True, cache=True, nogil=True)
def _smp_maps(x, rtol, filters, flush, per_task, run):
    """SMP over the last two axes of ``x`` (maps, h, w), C-contiguous, with
    ``5 <= h`` and ``5 <= w``, a map at a time while it is in cache (the
    two axes read the input once, not twice), and no per-line results.

    A map's rows and its columns are each one flat fill and one masked flat
    sum (:func:`_sum_map_axis`), whatever the size of the map: 8 x 8 maps
    cost no per-line loops. The loops are padded to whole runs of ``run``
    candidates (MAP_RUN or MAP_RUN_LONG, see :func:`smp_maps`): they read
    (and mask out) up to ``size - hw`` samples past the map, from the next
    map, or from a zero-padded copy ``m`` for maps too near the end of
    ``x``. A map with a NaN flag (a NaN or inf sample, an overflow, or a NaN
    or inf in the next map's samples that the padding read) or with a
    plateau is redone line by line, exactly."""
    maps, h, w = x.shape
    hw = h * w
    flat = x.reshape(-1)
    sums = np.empty(maps)
    counts = np.empty(maps, np.int64)
    no_mask = np.zeros(0, np.bool_)
    plan = _map_plan(h, w, run, x.dtype)
    long_runs, span_r, span_c, fill_r, fill_c, size, valid_r, valid_c = plan
    for task in prange(-(-maps // per_task)):
        m = np.zeros(size, x.dtype)
        a = np.empty(max(fill_r, fill_c, hw + PADDED_RUN), x.dtype)  # (and for the exact path)
        work = _panel_work(w, x.dtype)
        line_sums = np.empty(max(h, w))
        line_counts = np.empty(max(h, w), np.int64)
        for o in range(task * per_task, min((task + 1) * per_task, maps)):
            src, start = flat, o * hw
            if start + size > flat.size:
                for k in range(hw):
                    m[k] = flat[np.uint64(start + k)]
                src, start = m, 0
            total, count, exact = _smp_map_fast(src, start, w, plan, rtol, filters, a)
            if exact:
                # the exact path: rows as short lines, columns as a panel
                _smp_short_group(flat, o * hw, h, w, rtol, filters, a, line_sums, line_counts, no_mask)
                total = 0.0
                count = 0
                for g in range(h):
                    total += line_sums[g]
                    count += line_counts[g]
                _smp_panel(x, o, 0, w, w, rtol, filters, flush, work, line_sums, line_counts, 0, no_mask)
                for g in range(w):
                    total += line_sums[g]
                    count += line_counts[g]
            sums[o] = total
            counts[o] = count
    return sums, counts


@numba.njit(cache=True)
def _mark_panel_row(r0, r1, r2, filters, mask, plateau):
    for k in range(r0.size):
        mask[k] = _strict_peak(r0[k], r1[k], r2[k], filters)
        plateau[k] |= _plateau_start(r0[k], r1[k], r2[k])


@numba.njit(parallel=True, cache=True, nogil=True)
def _find_peaks_panels(x, filters, mask, width):
    outer, n, inner = x.shape
    panels = -(-inner // width)
    for task in prange(outer * panels):
        o = task // panels
        i0 = (task - o * panels) * width
        i1 = min(i0 + width, inner)
        plateau = np.zeros(i1 - i0, np.bool_)
        for j in range(1, n - 1):
            _mark_panel_row(x[o, j - 1, i0:i1], x[o, j, i0:i1], x[o, j + 1, i0:i1], filters, mask[o, j, i0:i1], plateau)
        # After the sweep: a plateau's peak lies further down than its start.
        for k in range(i1 - i0):
            if plateau[k]:
                _scan_signal(x[o, :, i0 + k], 1, n - 1, n, 0.0, filters, mask[o, :, i0 + k])


@numba.njit(parallel=True, cache=True, nogil=True)
def _curvature_panels(x, out):
    outer, n, inner = x.shape
    for row in prange(outer * max(n - 2, 0)):
        o = row // (n - 2)
        j = row - o * (n - 2)
        for i in range(inner):
            out[o, j, i] = _curvature(x[o, j, i], x[o, j + 1, i], x[o, j + 2, i])


# --------------------------------------------------------------------------
# reductions
# --------------------------------------------------------------------------


@numba.njit(cache=True, nogil=True)
def _combine_chunks(totals, counts):
    lines, chunks = totals.shape
    sums = np.empty(lines)
    line_counts = np.empty(lines, np.int64)
    for line in range(lines):
        s = 0.0
        k = 0
        for c in range(chunks):
            s += totals[line, c]
            k += counts[line, c]
        sums[line] = s
        line_counts[line] = 0 if s != s else k
    return sums, line_counts


@numba.njit(parallel=True, cache=True, nogil=True)
def _smp_peakless(x):
    """Lines shorter than 5 samples: SMP 0 and count 0, or NaN for a line
    with a NaN or an inf (decided in the README): a NaN check per line, with
    no allocation and no call per tiny line."""
    outer, n, inner = x.shape
    sums = np.zeros(outer * inner)
    counts = np.zeros(outer * inner, np.int64)
    for o in prange(outer):
        for j in range(n):  # memory order; a bad sample marks its line
            for i in range(inner):
                v = x[o, j, i]
                if (v - v) != 0:
                    sums[o * inner + i] = np.nan
    return sums, counts


@numba.njit(cache=True, nogil=True)
def _sum_blocks(line_sums, line_counts, order, block_sums, block_counts):
    for b in range(order.shape[0]):
        _add_block(line_sums, line_counts, order, b, block_sums, block_counts)


# --------------------------------------------------------------------------
# the backend interface
# --------------------------------------------------------------------------


def _panel_flush(dtype):
    """Rows a panel adds up in the working dtype before folding the partial
    sums into float64: 64 float32 terms keep the rounding error under
    64 x 2**-24 < 1e-5 relative (SPEC 6) however the loop is vectorised."""
    return 64 if dtype == np.float32 else 1024


def _panel_width(outer, inner):
    """Panels as wide as possible, yet one per thread when there are few of
    them (rounded up to 16 lines, a few whole vectors). With PANEL_AHEAD,
    narrow panels cost about the same: 256 and 2048 lines wide timed within
    noise of each other on case (b) (without the prefetch, 256 took 1.7 x
    as long: each short row waited for DRAM)."""
    threads = numba.get_num_threads()
    per_outer = max(1, -(-threads // max(outer, 1)))
    width = -(-inner // per_outer)
    return max(1, min(MAX_PANEL, -(-width // 16) * 16))


def _panels_per_task(outer, inner, width):
    """Enough panels per task to cover about MAX_PANEL lines, yet at least
    eight tasks a thread when there are that many panels."""
    jobs = outer * -(-inner // width)
    return max(1, min(MAX_PANEL // width, jobs // (8 * numba.get_num_threads())))


#: the rows layout cuts lines into chunks when there are fewer than
#: CHUNK_LINES of them (enough tasks for 8 threads, 8 each)
CHUNK_LINES = 64


def _rows_tiling(lines, n):
    """``(lines_per_task, chunks)``: whole lines per task when there are
    enough of them, otherwise each line cut into chunks. The chunks, which
    decide how a line's sum is split, depend on the shape alone, not on the
    thread count, so that neither does the result (SPEC 10)."""
    if lines >= CHUNK_LINES or n < 2 * MIN_CHUNK:
        return max(1, lines // (8 * numba.get_num_threads())), 1
    return 1, max(1, min(-(-CHUNK_LINES // max(lines, 1)), n // MIN_CHUNK))


_launch_lock = threading.Lock()


def _serialized():
    """Numba's ``workqueue`` threading layer (the fallback where neither TBB
    nor OpenMP is available) aborts when two threads launch parallel kernels
    at once; under it, calls take turns. ``omp`` and ``tbb`` run them
    concurrently. Until the first launch has picked a layer, assume the worst."""
    try:
        layer = numba.threading_layer()
    except ValueError:
        return _launch_lock
    return _launch_lock if layer == "workqueue" else contextlib.nullcontext()


def _as_kernel_filters(filters):
    """NaN marks an absent bound; ``None`` when there is no filter at all, so
    that the kernels compile a version without the float64 filter work."""
    if all(b is None for b in filters):
        return None
    return tuple(np.nan if b is None else float(b) for b in filters)


def _read_only(x):
    """A read-only view of ``x``, no copy: every kernel reads its input as a
    read-only array, so Numba compiles one variant for writable and
    read-only input alike, and a kernel that wrote its input would not
    compile."""
    if not x.flags.writeable:
        return x
    view = x.view()
    view.flags.writeable = False
    return view


def smp_lines(x, rtol, filters):
    x = _read_only(x)
    outer, n, inner = x.shape
    filters = _as_kernel_filters(filters)
    if x.size == 0:  # no lines, or empty ones
        return np.zeros(outer * inner), np.zeros(outer * inner, np.int64)
    with _serialized():
        if n < 5:  # no peaks possible (SPEC 6): only the NaN/inf check is left
            return _smp_peakless(x)
        if inner > 1:
            width = _panel_width(outer, inner)
            return _smp_panels(x, rtol, filters, _panel_flush(x.dtype), width, _panels_per_task(outer, inner, width),
                               x.flags.c_contiguous)
        rows = x.reshape(outer, n)
        if 5 <= n <= BLOCK and rows.flags.c_contiguous:
            tasks = 8 * numba.get_num_threads()
            per_task = max(1, min(-(-outer // tasks), (1 << 14) // n))
            return _smp_short_rows(rows.reshape(-1), n, rtol, filters, per_task)
        totals, counts = _smp_rows(rows, rtol, filters, *_rows_tiling(outer, n))
    return _combine_chunks(totals, counts)


#: largest map (h * w samples) that :func:`smp_maps` takes: 64 KiB of
#: float32, so that the columns pass finds the map in L2
MAP_SAMPLES = 1 << 14


def smp_maps(x, rtol, filters):
    """SMP and counts over the last two axes of ``x`` in one pass (see
    :func:`_smp_maps`), or None where that layout does not apply."""
    if x.ndim < 2 or not x.flags.c_contiguous or x.size == 0:
        return None
    h, w = x.shape[-2:]
    if not (5 <= h and 5 <= w <= BLOCK and h * w <= MAP_SAMPLES):
        return None
    maps = _read_only(x).reshape(-1, h, w)
    per_task = max(1, min(-(-maps.shape[0] // (8 * numba.get_num_threads())), MAP_SAMPLES // (h * w)))
    with _serialized():
        return _smp_maps(maps, rtol, _as_kernel_filters(filters), _panel_flush(x.dtype), per_task, _map_run(h * w))


def _map_run(samples):
    """MAP_RUN_LONG where its padding costs less than its faster runs
    save (about a third, measured on 56 x 56 maps), else MAP_RUN."""
    padded = {run: -(-samples // run) * run for run in (MAP_RUN, MAP_RUN_LONG)}
    return MAP_RUN_LONG if 2 * padded[MAP_RUN_LONG] <= 3 * padded[MAP_RUN] else MAP_RUN


def find_peaks_lines(a, filters):
    a = _read_only(a)
    outer, n, inner = a.shape
    mask = np.zeros(a.shape, np.bool_)
    filters = _as_kernel_filters(filters)
    if n < 3 or mask.size == 0:
        return mask
    with _serialized():
        if inner > 1:
            _find_peaks_panels(a, filters, mask, _panel_width(outer, inner))
        else:
            _find_peaks_rows(a.reshape(outer, n), filters, *_rows_tiling(outer, n), mask.reshape(outer, n))
    return mask


def curvature_lines(x):
    x = _read_only(x)
    outer, n, inner = x.shape
    out = np.empty((outer, max(n - 2, 0), inner), x.dtype)
    if out.size == 0:
        return out
    with _serialized():
        if inner > 1:
            _curvature_panels(x, out)
        else:
            _curvature_rows(x.reshape(outer, n), out.reshape(outer, n - 2))
    return out


def sum_blocks(line_sums, line_counts, order, block_sums, block_counts):
    _sum_blocks(line_sums, line_counts, order, block_sums, block_counts)
