"""The table of peaks of every line: SciPy's peak rules, in SciPy's order,
over all lines at once, on a target's kernels.

A table holds one entry per candidate peak, the entries of line ``L`` (C
order over ``(outer, inner)``) at ``offsets[L]:offsets[L + 1]``, with a
``keep`` flag that the rules clear. The steps (:func:`select`):

1. count the local maxima of every line that pass the per-peak rules
   (``plateau_size``, ``height``, ``threshold``), add the counts up into
   ``offsets`` on the host, and fill the table;
2. ``distance``: drop the smaller peaks of each line as SciPy does
   (``k.select_by_distance``); where equal heights are within reach, in the
   order of ``numpy.argsort`` of the line's heights, as SciPy takes it
   (:func:`order_by_height`), so that ties fall as they fall in SciPy on
   the same machine;
3. prominences, the ``prominence`` rule, widths, the ``width`` rule;
4. :func:`kept` compacts the kept entries, :func:`mark` draws the mask,
   :func:`totals` adds the kept heights of each line (the SMP).

``k`` is a target's kernel module (:mod:`fastsmp.backends.cpu.selection`,
:mod:`fastsmp.backends.cuda.selection`): loops around the bodies of
:mod:`fastsmp.backends.peak_rules` (over lines on the cpu; over stretches
of lines, peaks and segments of the table on cuda), ``lines64`` and ``marks``
(the input and a mask as its kernels read them, lines in the same order),
``unlines`` (a mask back in the input's layout), and ``empty``, ``full``,
``to_host``, ``to_device`` for its arrays. Host steps touch only per-line
counts and, for ``distance``, the peaks' heights.

A target that cuts lines into stretches says how many a line of ``n``
samples has (``k.units(n)``): its count and fill passes then count and fill
one unit a stretch, units numbered line by line, so that a line's entries
stay together (:func:`_filled`). A target may replace the per-line loops of
:func:`kept` and :func:`totals` with its own (``k.kept(table, names)``,
``k.totals(table)``, the cuda's: segments of a line's entries, added in a
fixed order).

A target may also decide whole lines without a table where no property is
asked (``k.select_direct``, the cpu's: every rule per line in one pass,
the table only for the lines it leaves undecided); :func:`find` and
:func:`smp_selected` use it where it exists.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .._args import PROPERTIES
from .peak_rules import STORE_EDGES, STORE_HEIGHTS, STORE_PEAKS, STORE_THRESHOLDS, filters_always, rules

class Table(NamedTuple):
    """Candidate peaks of every line and which of them the rules kept."""

    offsets: np.ndarray  #: host int64, lines + 1
    device_offsets: Any  #: the same on the target
    arrays: dict  #: property name (and ``"peaks"``) -> target array, one entry per candidate
    keep: Any  #: uint8 target array


def _offsets(k, counted):
    """Counts in ``counted[1:]`` (a target array) added up in place on the
    host: ``(host offsets, target offsets)``."""
    host = k.to_host(counted)
    np.cumsum(host[1:], out=host[1:])
    return host, k.to_device(host)


def _filled(k, shape, scan, arrays_for, store):
    """Count, add up, fill: ``scan(offsets, 0, arrays_for(0))`` counts the
    entries of every unit into ``offsets[u + 1]``, ``scan(offsets, store,
    arrays)`` fills them from ``offsets[u]``. A unit is a line, or, where
    the target cuts lines into ``k.units(n)`` stretches (cuda), a stretch,
    units numbered line by line; ``(host line offsets, target line
    offsets, arrays)``."""
    outer, n, inner = shape
    units = k.units(n) if hasattr(k, "units") else 1
    counted = k.full(outer * inner * units + 1, np.int64, 0)
    scan(counted, 0, arrays_for(0))
    offsets, device_offsets = _offsets(k, counted)
    arrays = arrays_for(int(offsets[-1]))
    scan(device_offsets, store, arrays)
    if units > 1:
        offsets = np.ascontiguousarray(offsets[::units])
        device_offsets = k.to_device(offsets)
    return offsets, device_offsets, arrays


def order_by_height(heights, offsets, lines=None):
    """Per line, ``numpy.argsort`` of its peaks' heights (positions within the
    line), as SciPy's ``_select_by_peak_distance`` orders them; only for
    ``lines`` (an index array) where given, the other entries left 0. Lines
    with the same number of peaks are sorted in one call along the last
    axis, which sorts each row as ``argsort`` sorts it alone."""
    counts = np.diff(offsets)
    order = np.zeros(heights.size, np.int64)
    starts = offsets[:-1]
    if lines is not None:
        counts, starts = counts[lines], starts[lines]
    for c in np.unique(counts):
        if c < 2:
            continue
        index = starts[counts == c][:, None] + np.arange(c)
        order[index] = np.argsort(heights[index], axis=1)
    return order


def select(k, x, rules, filters, groups, peak_mask=None):
    """The :class:`Table` of SciPy's ``find_peaks`` on every line of ``x``
    (``(outer, n, inner)``, the working dtype): ``rules`` a
    :class:`~fastsmp.backends.peak_rules.PeakRules`, ``filters`` the
    :class:`~fastsmp.backends.spec.KernelFilters` of ``height`` and
    ``threshold``, ``groups`` the groups of :data:`fastsmp._args.PROPERTIES`
    to keep (keyed by argument).

    ``peak_mask``, where given, is the backend's fast ``find_peaks_lines``:
    the table is then read off its mask of the peaks that ``height`` and
    ``threshold`` keep,
    unless a ``plateau_size`` rule or property needs the plateau edges,
    which only the maxima walk finds."""
    edges = "plateau_size" in groups or rules.plateau_min == rules.plateau_min or rules.plateau_max == rules.plateau_max
    store = STORE_PEAKS | STORE_HEIGHTS | (STORE_EDGES if edges else 0) | (
        STORE_THRESHOLDS if "threshold" in groups else 0)

    def arrays_for(total, store):
        def a(bit, dtype):
            return k.empty(total if store & bit else 0, dtype)

        return dict(
            peaks=a(STORE_PEAKS, np.int64), peak_heights=a(STORE_HEIGHTS, np.float64),
            left_edges=a(STORE_EDGES, np.int64), right_edges=a(STORE_EDGES, np.int64),
            plateau_sizes=a(STORE_EDGES, np.int64),
            left_thresholds=a(STORE_THRESHOLDS, np.float64), right_thresholds=a(STORE_THRESHOLDS, np.float64),
        )

    if peak_mask is not None and not edges:
        mask = peak_mask(x, tuple(None if b != b else b for b in filters))

        def scan(offsets, store, arrays):
            k.marked_lines(mask, x, offsets, store, arrays["peaks"], arrays["peak_heights"],
                           arrays["left_thresholds"], arrays["right_thresholds"])
    else:
        def scan(offsets, store, arrays):
            k.maxima_lines(x, rules, filters, offsets, store, arrays["peaks"], arrays["peak_heights"],
                           arrays["left_edges"], arrays["right_edges"], arrays["plateau_sizes"],
                           arrays["left_thresholds"], arrays["right_thresholds"])

    offsets, device_offsets, arrays = _filled(k, x.shape, scan, lambda total: arrays_for(total, store), store)
    keep = k.full(int(offsets[-1]), np.uint8, 1)
    if rules.distance == rules.distance:  # not NaN: a distance rule
        k.select_by_distance(offsets, device_offsets, arrays["peaks"], arrays["peak_heights"], keep, rules.distance)
    table = Table(offsets, device_offsets, arrays, keep)
    if rules.need_prominence or rules.need_width:
        _measure(k, x, rules, table, given=False)
    return table


def _measure(k, x, rules, table, given):
    total = int(table.offsets[-1])
    a = table.arrays
    if not given:
        for name, dtype in (("prominences", np.float64), ("left_bases", np.int64), ("right_bases", np.int64)):
            a[name] = k.empty(total if rules.need_prominence else 0, dtype)
    for name in PROPERTIES["width"]:
        a[name] = k.empty(total if rules.need_width else 0, np.float64)
    k.measure_lines(x, rules, table.device_offsets, a["peaks"], table.keep, given, a["prominences"],
                    a["left_bases"], a["right_bases"], a["widths"], a["width_heights"], a["left_ips"],
                    a["right_ips"])


def at_marks(k, x, mask, rules, prominence_data=None):
    """The :class:`Table` of the positions ``mask`` marks on every line of
    ``x`` (``peak_prominences``, ``peak_widths``), measured as ``rules``
    asks; ``prominence_data`` (target arrays, one entry per mark) is used
    instead of computing prominences where given."""
    none = k.empty(0, np.float64)

    def scan(offsets, store, arrays):
        k.marked_lines(mask, x, offsets, store, arrays["peaks"], none, none, none)

    offsets, device_offsets, arrays = _filled(
        k, x.shape, scan, lambda total: {"peaks": k.empty(total, np.int64)}, STORE_PEAKS)
    total = int(offsets[-1])
    if prominence_data is not None:
        arrays.update(zip(PROPERTIES["prominence"], prominence_data))
    table = Table(offsets, device_offsets, arrays, k.full(total, np.uint8, 1))
    _measure(k, x, rules, table, given=prominence_data is not None)
    return table


def kept(k, table, names):
    """The kept entries of the properties ``names``, compacted in line order:
    ``(host offsets of the kept entries, {name: target array})``."""
    if hasattr(k, "kept"):
        return k.kept(table, names)
    lines = table.offsets.size - 1
    counted = k.full(lines + 1, np.int64, 0)
    k.count_kept_lines(table.device_offsets, table.keep, counted)
    offsets, device_offsets = _offsets(k, counted)
    out = {}
    for name in names:
        src = table.arrays[name]
        dst = k.empty(int(offsets[-1]), src.dtype)
        k.compact_lines(table.device_offsets, table.keep, device_offsets, src, dst)
        out[name] = dst
    return offsets, out


def mark(k, table, shape):
    """The bool mask of the kept peaks, shaped ``shape`` (``(outer, n, inner)``)."""
    mask = k.full(shape, np.bool_, False)
    k.mark_lines(mask, table.device_offsets, table.keep, table.arrays["peaks"])
    return mask


def totals(k, table):
    """Per line: the float64 sum of the kept peaks' heights, in order, and
    their count (the SMP of the selected peaks)."""
    if hasattr(k, "totals"):
        return k.totals(table)
    lines = table.offsets.size - 1
    sums = k.empty(lines, np.float64)
    counts = k.empty(lines, np.int64)
    k.total_lines(table.device_offsets, table.keep, table.arrays["peak_heights"], sums, counts)
    return sums, counts


def _groups(names):
    return {g for g, members in PROPERTIES.items() if any(m in names for m in members)}


def find(k, a, selection, filters, names, peak_mask=None):
    """A backend's ``select_peaks_lines``: SciPy's ``find_peaks`` with every
    rule on every line of ``a`` (``peak_mask``: see :func:`select`) (``selection`` a
    :class:`fastsmp._args.Selection`, ``filters`` the ``height`` and
    ``threshold`` bounds): the mask and the kept entries of the properties
    ``names``, flat in line order.

    Where no property is asked and the target decides lines without a
    table (``k.select_direct``), that is used."""
    if not names and hasattr(k, "select_direct"):
        mask, _, _ = k.select_direct(a, rules(selection), filters_always(filters), True, False)
        return mask, {}
    lines = k.lines64(a)
    wanted = rules(selection)._replace(exact_prominence=float("prominences" in names))
    table = select(k, lines, wanted, filters_always(filters), _groups(names), peak_mask)
    return k.unlines(mark(k, table, lines.shape), a.shape), kept(k, table, names)[1]


def measure_marks(k, a, mask, selection, prominence_data, names):
    """A backend's ``measure_peaks_lines``: ``peak_prominences`` and
    ``peak_widths`` at the positions ``mask`` marks, flat in line order."""
    table = at_marks(k, k.lines64(a), k.marks(mask), rules(selection), prominence_data)
    return {name: table.arrays[name] for name in names}


def smp_selected(k, v, rtol, filters, selection, peak_mask=None):
    """A backend's ``smp_selected_lines``: per line the float64 sum, in
    order, of the heights of the peaks of the floored magnitude that every
    rule keeps, and their count; NaN and 0 for a line that holds a NaN or an
    inf (SPEC 7). ``peak_mask`` as :func:`select` takes it."""
    outer, n, inner = v.shape
    lines = outer * inner
    a = k.empty((outer, max(n - 2, 0), inner), v.dtype)
    finite = k.empty(lines, np.bool_)
    k.floored_lines(v, rtol, a, finite)
    if hasattr(k, "select_direct"):
        _, sums, counts = k.select_direct(a, rules(selection), filters_always(filters), False, True)
        k.void_lines(finite, sums, counts)
        return sums, counts
    table = select(k, k.lines64(a), rules(selection)._replace(exact_prominence=0.0), filters_always(filters), set(),
                   peak_mask)
    sums, counts = totals(k, table)
    k.void_lines(finite, sums, counts)
    return sums, counts
