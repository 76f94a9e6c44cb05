"""SciPy's ``distance`` rule on CUDA: one thread per peak, in rounds.

SciPy's ``_select_by_peak_distance`` takes a line's peaks from the highest
down (``numpy.argsort`` of their heights, read from the end: its *priority*)
and, for each peak still kept, removes every peak closer than ``distance``.
A peak is only ever removed by a kept peak, and a kept peak is never
removed later (a higher-priority kept peak in reach would have removed it
first), so the result is the one set of peaks in which

    a peak is kept  <=>  no kept peak of higher priority lies within reach.

That is a definition by priority, decided from the top down, and it is what
the rounds compute. Each round is one launch, a thread per undecided peak:
it looks at the peaks of higher priority within reach (its neighbours in
the table, which is in position order) and

* is *removed* where one of them is kept,
* is *kept* where all of them are removed,
* stays undecided otherwise.

Every decision agrees with the definition, whatever a thread reads of the
states its neighbours write in the same round (a state changes once, from
undecided to final), so the result is SciPy's exactly, ties included (the
priorities are the host's ``numpy.argsort``, as SciPy's), and the same every
run; only the number of rounds could vary. Each round decides at least the
highest-priority undecided peak of every line, so the rounds end; a long
chain of peaks rising within reach of each other needs a round per peak,
so after :data:`ROUNDS` rounds the lines that still hold undecided peaks
finish with SciPy's own loop (:func:`~fastsmp.backends.peak_rules.keep_distant`,
one thread per such line), which, given peaks already removed, removes
exactly what it would have from scratch.
"""

from __future__ import annotations

import functools

import numpy as np
from numba import cuda  # a module global: the simulator swaps it inside kernels

from .. import peak_table
from ..peak_rules import keep_distant
from .memory import on_stream

#: rounds of one thread per peak before the lines still undecided finish
#: one thread a line (a round costs a launch and a one-byte copy to the host)
ROUNDS = 8

UNDECIDED, KEPT, REMOVED = 0, 1, 2


@functools.lru_cache(maxsize=None)
def _kernels(find_line):
    """The kernels, built on first use around ``find_line`` (the selection
    module's ``line_of()``: the line of a table entry)."""
    keep_distant_ = keep_distant.cuda

    @cuda.jit
    def distance_round(offsets, peaks, priority, distance, state, keep, open_, any_open):
        t = cuda.grid(1)
        if t >= state.size or state[t] != UNDECIDED:
            return
        line = find_line(offsets, t)
        start = offsets[line]
        stop = offsets[line + 1]
        p = peaks[t]
        mine = priority[t]
        kept_higher = False
        pending = False
        k = t - 1
        while start <= k and p - peaks[k] < distance and not kept_higher:
            if priority[k] > mine:
                s = state[k]
                kept_higher = s == KEPT
                pending = pending or s == UNDECIDED
            k -= 1
        k = t + 1
        while k < stop and peaks[k] - p < distance and not kept_higher:
            if priority[k] > mine:
                s = state[k]
                kept_higher = s == KEPT
                pending = pending or s == UNDECIDED
            k += 1
        if kept_higher:
            state[t] = REMOVED
            keep[t] = 0
        elif not pending:
            state[t] = KEPT
        else:  # every writer writes 1
            open_[line] = 1
            any_open[0] = 1

    @cuda.jit
    def finish_lines(offsets, peaks, order, keep, distance, open_):
        line = cuda.grid(1)
        if line < open_.size and open_[line] != 0:
            keep_distant_(peaks, order, keep, offsets[line], offsets[line + 1], distance)

    return dict(distance_round=distance_round, finish_lines=finish_lines)


def priorities(order, offsets):
    """Each entry's place in its line's ``order`` (the inverse of
    :func:`~fastsmp.backends.peak_table.order_by_height`): the higher, the
    earlier SciPy takes it."""
    sizes = np.diff(offsets)
    starts = np.repeat(offsets[:-1], sizes)
    priority = np.empty(order.size, np.int64)
    priority[starts + order] = np.arange(order.size, dtype=np.int64) - starts
    return priority


def select(k, offsets, device_offsets, peaks, heights, keep, distance):
    """Clear ``keep`` (all set on entry) at the peaks SciPy's ``distance``
    rule removes; ``offsets`` the table's line offsets on the host, ``k``
    the kernel module that calls this (:mod:`.selection`: its arrays,
    fills and launch configuration; this module does not import it)."""
    total = int(offsets[-1])
    lines = offsets.size - 1
    if total == 0:
        return
    order = peak_table.order_by_height(k.to_host(heights), offsets)
    priority = k.to_device(priorities(order, offsets))
    state = k.full(total, np.uint8, UNDECIDED)
    open_ = k.full(lines, np.uint8, 1)  # the lines that hold undecided peaks (after the last round)
    any_open = k.empty(1, np.uint8)
    kernels = _kernels(k.line_of())
    threads = k.launch_shape()[0]
    for _ in range(ROUNDS):
        k.fill(open_, 0)
        k.fill(any_open, 0)
        on_stream(kernels["distance_round"], max(1, -(-total // threads)), threads)(
            device_offsets, peaks, priority, distance, state, keep, open_, any_open)
        if not k.to_host(any_open)[0]:
            return
    on_stream(kernels["finish_lines"], max(1, -(-lines // k.THREADS)), k.THREADS)(
        device_offsets, peaks, k.to_device(order), keep, distance, open_)
