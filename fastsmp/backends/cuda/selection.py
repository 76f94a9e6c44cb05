"""SciPy's peak rules on CUDA, for :mod:`fastsmp.backends.peak_table`, on
the GPU design of :mod:`.walkers`: no kernel walks a whole line.

* The table fill: one thread per *stretch* of a line (``k.units(n)``
  stretches of :attr:`.backend.LaunchConfig.stretch` samples a line),
  threads numbered with the inner-axis line fastest, as the walkers are,
  so that neighbouring threads read neighbouring columns. Each counts the
  maxima whose plateau opens in its stretch (following a plateau past its
  end, :func:`~fastsmp.backends.peak_rules.maxima_between`), the host adds
  the counts up into offsets (one unit a stretch), and a second launch
  fills the table. ``peak_prominences`` and ``peak_widths`` read their
  positions off a mask the same way (:func:`marked_lines`), and the
  floored magnitude of ``smp`` is written stretch by stretch.
* Every step that looks at one peak runs one thread per table entry: the
  prominence walks and bases, widths, the ``prominence`` and ``width``
  rules (:func:`~fastsmp.backends.peak_rules.measure` on one entry), the
  mask. A thread finds its line by a binary search in the offsets.
* ``distance``: rounds of one thread per peak (:mod:`.distance`), each
  deciding the peaks whose higher-priority neighbours are decided; the
  few lines left after :data:`.distance.ROUNDS` rounds finish with SciPy's
  sequential loop.
* Sums and compaction (:func:`kept`, :func:`totals`): one thread per
  *segment* of at most ``stretch`` entries of a line, then one short loop
  per line over its segments' partials, in order: the same bits every run,
  no float atomics.

The bodies are :mod:`fastsmp.backends.peak_rules`', shared with the CPU
(:mod:`fastsmp.backends.cpu.selection`). Kernels are built on first use
(importing this module never touches the CUDA driver; the cuda backend
imports it on first use) and queued on the call's stream. ``cuda`` is a
module global: the simulator swaps it inside kernels.
"""

from __future__ import annotations

import functools
import sys
from typing import NamedTuple

import numpy as np
from numba import cuda  # a module global: the simulator swaps it inside kernels

from ..peak_rules import STORE_PEAKS, compact, count_kept, line_total, mark, maxima_between, measure
from ..spec import curvature, magnitude
from . import distance as _distance
from .kernels import kernels
from .memory import device_array, on_stream
from .memory import to_device as _to_device
from .memory import to_host as _to_host
from .walkers import MAX_STRETCH, Stretches, _place

#: threads per block of the kernels that still take one thread per line
#: (a line's few segment partials; the fills)
THREADS = 128


#: the backend's launch configuration, read at every call (tests shrink it):
#: the backend sets this when it imports this module, which does not import
#: the backend
launch_config = None


def launch_shape():
    """``(threads per block, stretch length)`` of the backend's
    :class:`~.backend.LaunchConfig`."""
    config = launch_config()
    return config.threads, max(1, min(config.stretch, MAX_STRETCH))


def units(n):
    """Stretches per line of ``n`` samples (the table's units while it is
    filled, :func:`fastsmp.backends.peak_table._filled`)."""
    return max(1, -(-n // launch_shape()[1]))


@functools.lru_cache(maxsize=None)
def line_of():
    """``line_of(offsets, t)``: the line ``L`` whose entries
    ``offsets[L]:offsets[L + 1]`` hold entry ``t`` (a binary search; empty
    lines are skipped, as the last ``L`` with ``offsets[L] <= t`` is taken)."""

    @cuda.jit(device=True)
    def find(offsets, t):
        lo = 0
        hi = offsets.size - 1  # offsets[lo] <= t < offsets[hi]
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if offsets[mid] <= t:
                lo = mid
            else:
                hi = mid
        return lo

    return find


@functools.lru_cache(maxsize=None)
def _kernels():
    maxima_ = maxima_between("cuda")
    measure_ = measure("cuda")
    count_kept_, compact_, mark_, line_total_ = count_kept.cuda, compact.cuda, mark.cuda, line_total.cuda
    curv, mag = curvature.cuda, magnitude.cuda
    place = _place()
    find_line = line_of()

    @cuda.jit(device=True)
    def unit_of(stretches):
        # this thread's line (o, i), its unit in the table's order (line by
        # line) and its stretch's first sample; o == outer past the end
        o, i, c, _ = place(stretches)
        return o, i, (o * stretches.inner + i) * stretches.count + c, c * stretches.length

    @cuda.jit
    def maxima_stretches(x, stretches, rules, filters, offsets, store, peaks, heights, lefts, rights, sizes,
                         left_thresholds, right_thresholds):
        o, i, unit, lo = unit_of(stretches)
        if o >= stretches.outer:
            return
        count = maxima_(x, o, i, rules, filters, lo, lo + stretches.length, offsets[unit], store, peaks, heights,
                        lefts, rights, sizes, left_thresholds, right_thresholds)
        if store == 0:
            offsets[unit + 1] = count

    @cuda.jit
    def marked_stretches(mask, stretches, offsets, store, peaks):
        o, i, unit, lo = unit_of(stretches)
        if o >= stretches.outer:
            return
        at = offsets[unit]
        count = 0
        for p in range(lo, min(lo + stretches.length, stretches.n)):
            if mask[o, p, i]:
                if store != 0:
                    peaks[at + count] = p
                count += 1
        if store == 0:
            offsets[unit + 1] = count

    @cuda.jit
    def floored_stretches(v, stretches, rtol, a, finite):
        # ``finite`` is True on entry; a stretch that reads a NaN or an inf
        # clears its line's (every writer writes the same value)
        o, i, _, lo = unit_of(stretches)
        if o >= stretches.outer:
            return
        hi = min(lo + stretches.length, stretches.n)
        ok = True
        for j in range(lo, hi):
            s = v[o, j, i]
            ok = ok and (s - s) == (s - s)  # False for NaN and +-inf
        if not ok:
            finite[o * stretches.inner + i] = False
        for j in range(lo, min(hi, stretches.n - 2)):
            v0, v1, v2 = v[o, j, i], v[o, j + 1, i], v[o, j + 2, i]
            a[o, j, i] = mag(curv(v0, v1, v2), v0, v1, v2, rtol)

    @cuda.jit
    def measure_peaks(x, rules, offsets, peaks, keep, given, prominences, left_bases, right_bases, widths,
                      width_heights, left_ips, right_ips, no_floats, no_ints):
        # one entry a thread; no block summaries (no per-thread scratch): SciPy's plain walk
        t = cuda.grid(1)
        if t < keep.size and keep[t] != 0:
            line = find_line(offsets, t)
            inner = x.shape[2]
            measure_(x, line // inner, line % inner, rules, t, t + 1, peaks, keep, given, prominences, left_bases,
                     right_bases, widths, width_heights, left_ips, right_ips,
                     (no_floats, no_floats, no_ints, no_floats, no_ints), np.nan)

    @cuda.jit
    def mark_peaks(mask, offsets, keep, peaks):
        t = cuda.grid(1)
        if t < keep.size and keep[t] != 0:
            line = find_line(offsets, t)
            inner = mask.shape[2]
            mark_(mask, line // inner, line % inner, keep, t, t + 1, peaks)

    @cuda.jit
    def count_segments(segments, keep, counts):
        s = cuda.grid(1)
        if s < counts.size:
            counts[s] = count_kept_(keep, segments[0, s], segments[1, s])

    @cuda.jit
    def sum_segments(segments, keep, heights, sums, counts):
        s = cuda.grid(1)
        if s < counts.size:
            sums[s], counts[s] = line_total_(keep, segments[0, s], segments[1, s], heights)

    @cuda.jit
    def prefix_lines(segment_offsets, counts, counted):
        # a line's segment counts -> their running sum before each (in
        # place), and the line's total into ``counted[line + 1]``
        line = cuda.grid(1)
        if line < segment_offsets.size - 1:
            total = 0
            for s in range(segment_offsets[line], segment_offsets[line + 1]):
                c = counts[s]
                counts[s] = total
                total += c
            counted[line + 1] = total

    @cuda.jit
    def total_lines(segment_offsets, partial_sums, partial_counts, sums, counts):
        # a line's segments added in order: the same bits every run
        line = cuda.grid(1)
        if line < sums.size:
            total = 0.0
            count = 0
            for s in range(segment_offsets[line], segment_offsets[line + 1]):
                total += partial_sums[s]
                count += partial_counts[s]
            sums[line] = total
            counts[line] = count

    @cuda.jit
    def compact_segments(segments, keep, new_offsets, before, src, dst):
        s = cuda.grid(1)
        if s < before.size:
            compact_(keep, segments[0, s], segments[1, s], src, new_offsets[segments[2, s]] + before[s], dst)

    @cuda.jit
    def void_lines(finite, sums, counts):
        line = cuda.grid(1)
        if line < finite.size and not finite[line]:
            sums[line] = np.nan
            counts[line] = 0

    return dict(maxima_stretches=maxima_stretches, marked_stretches=marked_stretches,
                floored_stretches=floored_stretches, measure_peaks=measure_peaks, mark_peaks=mark_peaks,
                count_segments=count_segments, sum_segments=sum_segments, prefix_lines=prefix_lines,
                total_lines=total_lines, compact_segments=compact_segments, void_lines=void_lines)


def _launch(name, threads_for, *args, threads=None):
    """``name`` over ``threads_for`` threads (none launched for 0)."""
    if threads_for <= 0:
        return
    threads = threads or launch_shape()[0]
    on_stream(_kernels()[name], max(1, -(-threads_for // threads)), threads)(*args)


def _stretches(shape):
    """The :class:`~.walkers.Stretches` of a ``(outer, n, inner)`` line view
    (``units(n)`` a line) and their number."""
    outer, n, inner = shape
    length = launch_shape()[1]
    count = units(n)
    return Stretches(outer, n, inner, length, count, 0), outer * count * inner


def maxima_lines(x, rules, filters, offsets, store, *arrays):
    """The maxima of every stretch (``offsets`` one unit a stretch,
    :func:`units`): counted into ``offsets[u + 1]`` (``store == 0``) or
    stored from ``offsets[u]``."""
    stretches, total = _stretches(x.shape)
    _launch("maxima_stretches", total, x, stretches, rules, filters, offsets, store, *arrays)


def marked_lines(mask, x, offsets, store, peaks, heights, left_thresholds, right_thresholds):
    """The positions ``mask`` marks, stretch by stretch as :func:`maxima_lines`;
    only positions are stored (``peak_prominences``' and ``peak_widths``'
    table: the cuda backend hands :func:`~fastsmp.backends.peak_table.select`
    no peak mask)."""
    if store & ~STORE_PEAKS:
        raise NotImplementedError("cuda marked_lines stores positions only")
    stretches, total = _stretches(mask.shape)
    _launch("marked_stretches", total, mask, stretches, offsets, store, peaks)


def measure_lines(x, rules, offsets, peaks, keep, given, *arrays):
    """Prominences, bases, widths and their rules: one thread per entry."""
    _launch("measure_peaks", keep.size, x, rules, offsets, peaks, keep, given, *arrays, empty(0, np.float64),
            empty(0, np.int64))


def mark_lines(mask, offsets, keep, peaks):
    _launch("mark_peaks", keep.size, mask, offsets, keep, peaks)


def floored_lines(v, rtol, a, finite):
    """The floored magnitude into ``a`` and each line's finiteness, stretch
    by stretch."""
    if finite.size == 0:
        return
    fill(finite, True)
    stretches, total = _stretches(v.shape)
    _launch("floored_stretches", total, v, stretches, rtol, a, finite)


def void_lines(finite, sums, counts):
    _launch("void_lines", finite.size, finite, sums, counts)


def select_by_distance(offsets, device_offsets, peaks, heights, keep, distance):
    """The ``distance`` rule (:func:`.distance.select`), in the order of
    :func:`fastsmp.backends.peak_table.order_by_height` sorted on the host
    (a GPU sort would not break ties as ``numpy.argsort`` does)."""
    _distance.select(sys.modules[__name__], offsets, device_offsets, peaks, heights, keep, distance)


class Segments(NamedTuple):
    """A table cut into segments of at most ``stretch`` entries of one
    line, line by line: ``bounds`` (target int64, ``(3, count)``: first
    entry, end, line), ``offsets`` (target int64, the segments of line
    ``L`` at ``offsets[L]:offsets[L + 1]``)."""

    bounds: object
    offsets: object
    count: int


def segments(offsets):
    """The :class:`Segments` of a table whose line offsets (host) are
    ``offsets``."""
    length = launch_shape()[1]
    sizes = np.diff(offsets)
    per_line = -(-sizes // length)
    seg_offsets = np.zeros(sizes.size + 1, np.int64)
    np.cumsum(per_line, out=seg_offsets[1:])
    count = int(seg_offsets[-1])
    lines = np.repeat(np.arange(sizes.size, dtype=np.int64), per_line)
    first = offsets[lines] + (np.arange(count, dtype=np.int64) - seg_offsets[lines]) * length
    bounds = np.stack([first, np.minimum(first + length, offsets[lines + 1]), lines])
    return Segments(_to_device(bounds), _to_device(seg_offsets), count)


def kept(table, names):
    """:func:`fastsmp.backends.peak_table.kept`: per segment the kept count,
    per line their running sums, the line offsets on the host, then each
    segment copies its kept entries."""
    lines = table.offsets.size - 1
    seg = segments(table.offsets)
    before = empty(seg.count, np.int64)
    counted = full(lines + 1, np.int64, 0)
    _launch("count_segments", seg.count, seg.bounds, table.keep, before)
    _launch("prefix_lines", lines, seg.offsets, before, counted, threads=THREADS)
    offsets = to_host(counted)
    np.cumsum(offsets[1:], out=offsets[1:])
    device_offsets = to_device(offsets)
    out = {}
    for name in names:
        src = table.arrays[name]
        dst = empty(int(offsets[-1]), src.dtype)
        _launch("compact_segments", seg.count, seg.bounds, table.keep, device_offsets, before, src, dst)
        out[name] = dst
    return offsets, out


def totals(table):
    """:func:`fastsmp.backends.peak_table.totals`: each segment's kept
    heights added in order, then each line's segments in order."""
    lines = table.offsets.size - 1
    seg = segments(table.offsets)
    partial_sums = empty(seg.count, np.float64)
    partial_counts = empty(seg.count, np.int64)
    sums = empty(lines, np.float64)
    counts = empty(lines, np.int64)
    _launch("sum_segments", seg.count, seg.bounds, table.keep, table.arrays["peak_heights"], partial_sums,
            partial_counts)
    _launch("total_lines", lines, seg.offsets, partial_sums, partial_counts, sums, counts, threads=THREADS)
    return sums, counts


def lines64(x):
    """``x`` as it is: a kernel compiles for the dtype it gets."""
    return x


def marks(mask):
    return mask


def unlines(mask, shape):
    return mask


def empty(shape, dtype):
    return device_array(shape, dtype)


def fill(dev, value):
    """Set every element of the device array ``dev`` to ``value``."""
    if dev.size:
        kernel = kernels(THREADS)["fill"]  # the backend's own
        on_stream(kernel, max(1, -(-dev.size // THREADS)), THREADS)(dev.reshape(dev.size), value)


def full(shape, dtype, value):
    dev = device_array(shape, dtype)
    fill(dev, value)
    return dev


def to_host(arr):
    return _to_host(arr)


def to_device(host):
    return _to_device(host)
