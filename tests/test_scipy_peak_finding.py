"""SciPy's own tests of find_peaks, peak_prominences and peak_widths
(``scipy/signal/tests/test_peak_finding.py``, SciPy 1.17), ported to the
batched API of issue 18.

Every case runs on the "numpy" and "cpu" backends, and in three layouts:
the 1-D signal as given (lists, tuples and views included), and the signal
as the second line of a 2-D array along axis 1 and along axis 0, next to a
different companion line, so that batching, strides and the flat order of
the properties are exercised. The literal values of SciPy's tests are
asserted on the signal's line; in addition every line of every call is
compared with live SciPy (bit-identical floats), the companion included.

Not ported: TestRidgeLines, TestArgrel, TestFindPeaksCwt (functions outside
issue 18), and the parts of SciPy's tests that check its private helpers'
argument validation or inputs a mask cannot express (see the skips).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
from numpy.testing import assert_allclose, assert_array_equal

import fastsmp
from peak_oracle import check_find_peaks, check_prominences, check_widths, lines_of, mask_from_positions, to_numpy

# SciPy warns PeakPropertyWarning (a RuntimeWarning) for zero prominences and
# widths; fastsmp may or may not: warnings are not asserted.
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

BACKENDS = ["numpy", "cpu"]
LAYOUTS = ["1d", "axis1", "axis0"]

backends = pytest.mark.parametrize("backend", BACKENDS)
layouts = pytest.mark.parametrize("layout", LAYOUTS)

PROPERTY_KEYS = {"peak_heights", "left_thresholds", "right_thresholds", "prominences", "left_bases",
                 "right_bases", "widths", "width_heights", "left_ips", "right_ips"}


def companion(n):
    """A second line for the 2-D layouts: small integers with plateaus and
    peaks, different from the signals of the tests."""
    return np.array([(7 * k) % 5 + (k % 3 == 0) for k in range(n)], dtype=np.float64)


def embed(x, layout):
    """``(array, axis, line of x)``: the signal as given, or stacked after
    the companion line along axis 1 (rows) or axis 0 (columns)."""
    if layout == "1d":
        return x, -1, 0
    x = np.asarray(x, dtype=np.float64)
    other = companion(x.size)
    if layout == "axis1":
        return np.stack([other, x]), 1, 1
    return np.stack([other, x], axis=1), 0, 1


def find_peaks(x, backend, layout, **kwargs):
    """fastsmp.find_peaks on the embedded signal, checked against SciPy on
    every line; returns the signal's ``(peaks, properties)``."""
    a, axis, row = embed(x, layout)
    mask, props = fastsmp.find_peaks(a, axis=axis, return_properties=True, backend=backend, **kwargs)
    check_find_peaks(np.asarray(a, dtype=np.float64), axis, kwargs, backend, mask, props)
    mask_only = fastsmp.find_peaks(a, axis=axis, backend=backend, **kwargs)
    assert_array_equal(to_numpy(mask_only), to_numpy(mask))
    mask = to_numpy(mask)
    offsets = to_numpy(fastsmp.peak_offsets(mask, axis=axis))
    part = slice(offsets[row], offsets[row + 1])
    return np.flatnonzero(lines_of(mask, axis)[row]), {k: to_numpy(v)[part] for k, v in props.items()}


def embed_mask(x, peaks, layout):
    """``(array, mask, axis, line of x)``; the companion line's mask marks
    every third sample from 0 (line edges and non-peaks included)."""
    a, axis, row = embed(x, layout)
    shape = np.shape(a)
    n = shape[axis]
    positions = [peaks] if layout == "1d" else [np.arange(0, n, 3), peaks]
    return a, mask_from_positions(shape, axis, positions), axis, row


def line_part(result, mask, axis, row):
    offsets = to_numpy(fastsmp.peak_offsets(mask, axis=axis))
    return tuple(to_numpy(r)[offsets[row]:offsets[row + 1]] for r in result)


def peak_prominences(x, peaks, backend, layout, wlen=None):
    a, mask, axis, row = embed_mask(x, peaks, layout)
    result = fastsmp.peak_prominences(a, mask, axis=axis, wlen=wlen, backend=backend)
    check_prominences(np.asarray(a, dtype=np.float64), mask, axis, result, backend, wlen=wlen)
    return line_part(result, mask, axis, row)


def peak_widths(x, peaks, backend, layout, rel_height=0.5, prominence_data=None, wlen=None):
    """With ``prominence_data`` of the signal's peaks, the companion's
    (SciPy's) is put in front in the 2-D layouts."""
    a, mask, axis, row = embed_mask(x, peaks, layout)
    if prominence_data is not None and layout != "1d":
        other = lines_of(np.asarray(a, dtype=np.float64), axis)[0]
        other_data = scipy.signal.peak_prominences(other, np.flatnonzero(lines_of(mask, axis)[0]))
        prominence_data = tuple(np.concatenate([o, np.asarray(p)]) for o, p in zip(other_data, prominence_data))
    result = fastsmp.peak_widths(a, mask, axis=axis, rel_height=rel_height, prominence_data=prominence_data,
                                 wlen=wlen, backend=backend)
    check_widths(np.asarray(a, dtype=np.float64), mask, axis, result, backend,
                 expected_prominence_data=prominence_data, rel_height=rel_height, wlen=wlen)
    return line_part(result, mask, axis, row)


def as_mask(x, peaks):
    mask = np.zeros(np.shape(x), bool)
    mask[np.asarray(peaks, dtype=np.intp)] = True
    return mask


# --------------------------------------------------------------------------
# TestLocalMaxima1d: SciPy's private _local_maxima_1d, observed through
# find_peaks(plateau_size=(None, None)): peaks are the midpoints, and the
# left_edges / right_edges properties its edges.
# --------------------------------------------------------------------------


class TestLocalMaxima1d:

    @backends
    @layouts
    def test_empty(self, backend, layout):
        peaks, props = find_peaks(np.array([], dtype=np.float64), backend, layout, plateau_size=(None, None))
        assert peaks.size == 0
        for key in ("plateau_sizes", "left_edges", "right_edges"):
            assert props[key].size == 0

    @backends
    @layouts
    def test_linear(self, backend, layout):
        peaks, props = find_peaks(np.linspace(0, 100), backend, layout, plateau_size=(None, None))
        assert peaks.size == 0
        for key in ("left_edges", "right_edges"):
            assert props[key].size == 0

    @backends
    @layouts
    def test_simple(self, backend, layout):
        x = np.linspace(-10, 10, 50)
        x[2::3] += 1
        expected = np.arange(2, 50, 3, dtype=np.intp)
        peaks, props = find_peaks(x, backend, layout, plateau_size=(None, None))
        # for plateaus of size 1 the edges are identical with the midpoints
        for array in (peaks, props["left_edges"], props["right_edges"]):
            assert_array_equal(array, expected)

    @backends
    @layouts
    def test_flat_maxima(self, backend, layout):
        x = np.array([-1.3, 0, 1, 0, 2, 2, 0, 3, 3, 3, 2.99, 4, 4, 4, 4, -10,
                      -5, -5, -5, -5, -5, -10])
        peaks, props = find_peaks(x, backend, layout, plateau_size=(None, None))
        assert_array_equal(peaks, [2, 4, 8, 12, 18])
        assert_array_equal(props["left_edges"], [2, 4, 7, 11, 16])
        assert_array_equal(props["right_edges"], [2, 5, 9, 14, 20])

    @backends
    @layouts
    @pytest.mark.parametrize("x", [
        np.array([1., 0, 2]),
        np.array([3., 3, 0, 4, 4]),
        np.array([5., 5, 5, 0, 6, 6, 6]),
    ])
    def test_signal_edges(self, backend, layout, x):
        peaks, props = find_peaks(x, backend, layout, plateau_size=(None, None))
        assert peaks.size == 0
        for key in ("left_edges", "right_edges"):
            assert props[key].size == 0

    @backends
    def test_exceptions(self, backend):
        """SciPy's private helper rejects 2-D, integer and list input and
        None; the public batched API accepts the first three and rejects None."""
        assert not to_numpy(fastsmp.find_peaks(np.ones((1, 1)), backend=backend)).any()
        assert_array_equal(np.flatnonzero(to_numpy(fastsmp.find_peaks(np.array([0, 1, 0]), backend=backend))), [1])
        assert_array_equal(np.flatnonzero(to_numpy(fastsmp.find_peaks([1., 2., 1.], backend=backend))), [1])
        with pytest.raises(TypeError):
            fastsmp.find_peaks(None, backend=backend)


# --------------------------------------------------------------------------
# _select_by_peak_distance (private in SciPy, no test of its own there):
# its behaviour observed through find_peaks(distance=...).
# --------------------------------------------------------------------------


class TestSelectByPeakDistance:

    @backends
    @layouts
    def test_higher_peak_wins(self, backend, layout):
        x = [0, 1, 0, 3, 0, 2, 0, 1, 0]
        assert_array_equal(find_peaks(x, backend, layout, distance=2)[0], [1, 3, 5, 7])
        assert_array_equal(find_peaks(x, backend, layout, distance=3)[0], [3, 7])
        assert_array_equal(find_peaks(x, backend, layout, distance=4)[0], [3, 7])
        assert_array_equal(find_peaks(x, backend, layout, distance=5)[0], [3])

    @backends
    @layouts
    def test_distance_is_rounded_up(self, backend, layout):
        """SciPy: ``distance_ = <np.intp_t>ceil(distance)``; peaks exactly
        ``distance_`` apart are both kept."""
        x = [0, 2, 0, 1, 0, 3, 0]
        assert_array_equal(find_peaks(x, backend, layout, distance=2)[0], [1, 3, 5])
        assert_array_equal(find_peaks(x, backend, layout, distance=1.0001)[0], [1, 3, 5])
        assert_array_equal(find_peaks(x, backend, layout, distance=2.0001)[0], [1, 5])
        assert_array_equal(find_peaks(x, backend, layout, distance=4)[0], [1, 5])
        assert_array_equal(find_peaks(x, backend, layout, distance=4.5)[0], [5])

    @backends
    @layouts
    def test_removed_peak_does_not_remove(self, backend, layout):
        """A peak removed by a higher one no longer removes its own neighbours."""
        x = [0, 3, 0, 2, 0, 1, 0]
        assert_array_equal(find_peaks(x, backend, layout, distance=3)[0], [1, 5])

    @backends
    @layouts
    def test_plateau_midpoints(self, backend, layout):
        """Distance is measured between the (rounded down) plateau middles,
        so edges of flat peaks may be closer."""
        x = [0, 2, 2, 2, 2, 0, 1, 1, 1, 0]
        assert_array_equal(find_peaks(x, backend, layout, distance=5)[0], [2, 7])
        assert_array_equal(find_peaks(x, backend, layout, distance=6)[0], [2])

    @backends
    @layouts
    @pytest.mark.parametrize("x", [
        [0, 1, 0, 1, 0, 1, 0],
        [0, 1, 0, 1, 0, 1, 0, 1, 0],
        [0, 2, 0, 1, 0, 2, 0, 2, 0, 1, 0, 2, 0, 2, 0],
        np.tile([0., 1.], 12),
        np.tile([0., 1., 1., 0., 2.], 6),
    ])
    @pytest.mark.parametrize("distance", [2, 3, 4, 5.5])
    def test_ties(self, backend, layout, x, distance):
        """Equal heights closer than ``distance``: SciPy's result depends on
        np.argsort's order among them; fastsmp must give SciPy's (compared
        live, line by line, inside :func:`find_peaks`)."""
        find_peaks(x, backend, layout, distance=distance)


# --------------------------------------------------------------------------
# TestPeakProminences
# --------------------------------------------------------------------------


class TestPeakProminences:

    @backends
    @layouts
    def test_empty(self, backend, layout):
        """No peaks: empty float64 prominences and integer bases."""
        for x in ([1, 2, 3], []):
            out = peak_prominences(x, [], backend, layout)
            for arr, kind in zip(out, "fii"):
                assert arr.size == 0
                assert arr.dtype.kind == kind
            assert out[0].dtype == np.float64

    @backends
    @layouts
    def test_basic(self, backend, layout):
        x = np.array([-1, 1.2, 1.2, 1, 3.2, 1.3, 2.88, 2.1])
        peaks = np.array([1, 2, 4, 6])
        lbases = np.array([0, 0, 0, 5])
        rbases = np.array([3, 3, 5, 7])
        proms = x[peaks] - np.max([x[lbases], x[rbases]], axis=0)
        out = peak_prominences(x, peaks, backend, layout)
        assert_array_equal(out[0], proms)
        assert_array_equal(out[1], lbases)
        assert_array_equal(out[2], rbases)

    @backends
    @layouts
    def test_edge_cases(self, backend, layout):
        # peaks have same height, prominence and bases
        proms, lbases, rbases = peak_prominences([0, 2, 1, 2, 1, 2, 0], [1, 3, 5], backend, layout)
        assert_array_equal(proms, [2.0, 2, 2])
        assert_array_equal(lbases, [0, 0, 0])
        assert_array_equal(rbases, [6, 6, 6])
        # peaks have same height & prominence but different bases
        peaks = np.array([1, 3, 5])
        proms, lbases, rbases = peak_prominences([0, 1, 0, 1, 0, 1, 0], peaks, backend, layout)
        assert_array_equal(proms, [1.0, 1, 1])
        assert_array_equal(lbases, peaks - 1)
        assert_array_equal(rbases, peaks + 1)

    @backends
    @layouts
    def test_non_contiguous(self, backend, layout):
        x = np.repeat([-9, 9, 9, 0, 3, 1], 2)
        peaks = np.repeat([1, 2, 4], 2)
        proms, lbases, rbases = peak_prominences(x[::2], peaks[::2], backend, layout)
        assert_array_equal(proms, [9.0, 9, 2])
        assert_array_equal(lbases, [0, 0, 3])
        assert_array_equal(rbases, [3, 3, 5])

    @backends
    @layouts
    def test_wlen(self, backend, layout):
        """wlen shrinks the window; floats are rounded up and the window is
        then ``peak - wlen // 2 .. peak + wlen // 2``."""
        x = [0, 1, 2, 3, 1, 0, -1]
        peak = [3]
        for prom, val in zip(peak_prominences(x, peak, backend, layout), [3.0, 0, 6]):
            assert prom == val
        for wlen, i in [(8, 0), (7, 0), (6, 0), (5, 1), (3.2, 1), (3, 2), (1.1, 2)]:
            for prom, val in zip(peak_prominences(x, peak, backend, layout, wlen=wlen), [3. - i, 0 + i, 6 - i]):
                assert prom == val, f"wlen={wlen}"

    @backends
    def test_exceptions(self, backend):
        """SciPy's '1-D array' and 'not a valid index' errors become, in the
        batched API, a mask whose shape differs from the signal's."""
        with pytest.raises(ValueError):  # x with dimension > 1, peaks not
            fastsmp.peak_prominences([[0, 1, 1, 0]], as_mask([0, 1, 1, 0], [1, 2]), backend=backend)
        with pytest.raises(ValueError):  # peaks with dimension > 1
            fastsmp.peak_prominences([0, 1, 1, 0], np.array([[False, True, True, False]]), backend=backend)
        with pytest.raises(ValueError):  # x with dimension < 1
            fastsmp.peak_prominences(np.array(3.0), np.array(True), backend=backend)
        with pytest.raises(ValueError):  # empty x with supplied peaks
            fastsmp.peak_prominences(np.array([], dtype=np.float64), np.array([True]), backend=backend)
        for n in (2, 4, 1000):  # peaks beyond x
            with pytest.raises(ValueError):
                fastsmp.peak_prominences([1, 0, 2], np.zeros(n, bool), backend=backend)
        with pytest.raises(ValueError, match="wlen"):  # wlen < 3
            fastsmp.peak_prominences(np.arange(10), as_mask(np.arange(10), [3, 5]), wlen=1, backend=backend)

    @pytest.mark.skip(reason="SciPy's peaks must cast safely to intp ('cannot safely cast'); "
                             "the batched API takes a bool mask, so float peak indices cannot occur")
    def test_exceptions_unsafe_cast(self):
        pass

    @backends
    @layouts
    def test_warnings(self, backend, layout):
        """SciPy warns for these zero prominences; only the values are asserted."""
        for p in [0, 1, 2]:
            assert_array_equal(peak_prominences([1, 0, 2], [p], backend, layout)[0], [0.0])
        assert_array_equal(peak_prominences([0, 1, 1, 1, 0], [2], backend, layout, wlen=2)[0], [0.0])


# --------------------------------------------------------------------------
# TestPeakWidths
# --------------------------------------------------------------------------


class TestPeakWidths:

    @backends
    @layouts
    def test_empty(self, backend, layout):
        for x in ([], [1, 2, 3]):
            out = peak_widths(x, [], backend, layout)
            assert len(out) == 4
            for arr in out:
                assert isinstance(arr, np.ndarray)
                assert arr.size == 0
                assert arr.dtype == np.float64

    @backends
    @layouts
    def test_basic(self, backend, layout):
        x = np.array([1, 0, 1, 2, 1, 0, -1])
        prominence = 2
        for rel_height, width_true, lip_true, rip_true in [
            (0., 0., 3., 3.),  # SciPy warns
            (0.25, 1., 2.5, 3.5),
            (0.5, 2., 2., 4.),
            (0.75, 3., 1.5, 4.5),
            (1., 4., 1., 5.),
            (2., 5., 1., 6.),
            (3., 5., 1., 6.),
        ]:
            width_calc, height, lip_calc, rip_calc = peak_widths(x, [3], backend, layout, rel_height=rel_height)
            assert_allclose(width_calc, [width_true])
            assert_allclose(height, [2 - rel_height * prominence])
            assert_allclose(lip_calc, [lip_true])
            assert_allclose(rip_calc, [rip_true])

    @backends
    @layouts
    def test_non_contiguous(self, backend, layout):
        x = np.repeat([0, 100, 50], 4)
        peaks = np.repeat([1], 3)
        result = peak_widths(x[::4], peaks[::3], backend, layout)
        assert_array_equal(np.array(result), [[0.75], [75], [0.75], [1.5]])

    @backends
    def test_exceptions(self, backend):
        with pytest.raises(ValueError):  # x with dimension > 1, mask not
            fastsmp.peak_widths(np.zeros((3, 4)), np.ones(3, bool), backend=backend)
        with pytest.raises(ValueError):  # x with dimension < 1
            fastsmp.peak_widths(np.array(3.0), np.array(True), backend=backend)
        with pytest.raises(ValueError):  # peaks with dimension > 1
            fastsmp.peak_widths(np.arange(10), np.ones((3, 2), bool), backend=backend)
        with pytest.raises(ValueError):  # peaks with dimension < 1
            fastsmp.peak_widths(np.arange(10), np.array(True), backend=backend)
        with pytest.raises(ValueError):  # peak position beyond x
            fastsmp.peak_widths(np.arange(10), np.zeros(12, bool), backend=backend)
        with pytest.raises(ValueError):  # empty x with peaks supplied
            fastsmp.peak_widths(np.array([], dtype=np.float64), np.ones(2, bool), backend=backend)
        with pytest.raises(ValueError, match="rel_height"):  # rel_height < 0
            fastsmp.peak_widths([0, 1, 0, 1, 0], as_mask(np.zeros(5), [1, 3]), rel_height=-1, backend=backend)
        with pytest.raises((TypeError, ValueError)):  # prominence data holds None
            fastsmp.peak_widths([1, 2, 1], as_mask(np.zeros(3), [1]), prominence_data=(None, None, None),
                                backend=backend)

    @pytest.mark.skip(reason="SciPy's peaks must cast safely to intp ('cannot safely cast'); "
                             "the batched API takes a bool mask, so float peak indices cannot occur")
    def test_exceptions_unsafe_cast(self):
        pass

    @backends
    @layouts
    def test_warnings(self, backend, layout):
        """SciPy warns for these zero widths; only the values are asserted."""
        assert_array_equal(peak_widths([0, 1, 0], [1], backend, layout, rel_height=0)[0], [0.0])
        prominence_data = (np.array([0.], np.float64), np.array([2], np.intp), np.array([2], np.intp))
        out = peak_widths([0, 1, 1, 1, 0], [2], backend, layout, prominence_data=prominence_data)
        assert_array_equal(out[0], [0.0])

    @backends
    @layouts
    def test_mismatching_prominence_data(self, backend, layout):
        x = [0, 1, 0]
        peak = [1]
        for i, (prominences, left_bases, right_bases) in enumerate([
            ((1.,), (-1,), (2,)),  # left base not in x
            ((1.,), (0,), (3,)),  # right base not in x
            ((1.,), (2,), (0,)),  # swapped bases same as peak
            ((1., 1.), (0, 0), (2, 2)),  # array shapes don't match peaks
            ((1., 1.), (0,), (2,)),  # arrays with different shapes
            ((1.,), (0, 0), (2,)),  # arrays with different shapes
            ((1.,), (0,), (2, 2)),  # arrays with different shapes
        ]):
            prominence_data = (np.array(prominences, dtype=np.float64),
                               np.array(left_bases, dtype=np.intp),
                               np.array(right_bases, dtype=np.intp))
            a, mask, axis, _ = embed_mask(x, peak, layout)
            if layout != "1d":  # the companion line's valid data in front
                other = lines_of(np.asarray(a, dtype=np.float64), axis)[0]
                other_data = scipy.signal.peak_prominences(other, np.flatnonzero(lines_of(mask, axis)[0]))
                prominence_data = tuple(np.concatenate([o, p]) for o, p in zip(other_data, prominence_data))
            # SciPy: "prominence data is invalid for peak" for i < 3, "arrays in
            # `prominence_data` must have the same shape as `peaks`" otherwise
            match = None if i < 3 else "prominence_data"
            with pytest.raises(ValueError, match=match):
                fastsmp.peak_widths(a, mask, axis=axis, prominence_data=prominence_data, backend=backend)

    @backends
    @layouts
    def test_intersection_rules(self, backend, layout):
        """x == eval_height counts as an intersection."""
        x = [0, 1, 2, 1, 3, 3, 3, 1, 2, 1, 0]
        # relative height is 0 -> width is 0 as well
        assert_allclose(np.array(peak_widths(x, [5], backend, layout, rel_height=0)), [(0.,), (3.,), (5.,), (5.,)])
        # width_height == x counts as intersection -> nearest 1 is chosen
        assert_allclose(np.array(peak_widths(x, [5], backend, layout, rel_height=2 / 3)),
                        [(4.,), (1.,), (3.,), (7.,)])


# --------------------------------------------------------------------------
# test_unpack_condition_args: SciPy's private parser, observed through the
# intervals find_peaks accepts.
# --------------------------------------------------------------------------


@backends
@layouts
def test_unpack_condition_args(backend, layout):
    x = np.array([0, 1, 0, 2, 0, 3, 0, 4.5, 0, 5, 0])
    heights = x[[1, 3, 5, 7, 9]]
    for interval, keep in [
        ((None, None), [True] * 5),
        (1, heights >= 1),
        ((1, None), heights >= 1),
        ([1, None], heights >= 1),
        ((None, 2), heights <= 2),
        ((3., 4.5), (heights >= 3) & (heights <= 4.5)),
    ]:
        peaks, props = find_peaks(x, backend, layout, height=interval)
        assert_array_equal(peaks, np.array([1, 3, 5, 7, 9])[keep])
        assert_array_equal(props["peak_heights"], heights[keep])


@pytest.mark.skip(reason="interval borders given as arrays matching x (SciPy's _unpack_condition_args "
                         "with ndarrays, 'array size of lower/upper interval border') are not part of "
                         "the batched API's contract")
def test_unpack_condition_args_array_borders():
    pass


# --------------------------------------------------------------------------
# TestFindPeaks
# --------------------------------------------------------------------------


class TestFindPeaks:

    @backends
    @layouts
    def test_constant(self, backend, layout):
        """No local maxima: no peaks, and empty properties."""
        open_interval = (None, None)
        peaks, props = find_peaks(np.ones(10), backend, layout, height=open_interval, threshold=open_interval,
                                  prominence=open_interval, width=open_interval)
        assert peaks.size == 0
        assert set(props) == PROPERTY_KEYS
        for key in PROPERTY_KEYS:
            assert props[key].size == 0

    @backends
    @layouts
    def test_plateau_size(self, backend, layout):
        # peaks with peak_height == plateau_size
        plateau_sizes = np.array([1, 2, 3, 4, 8, 20, 111])
        x = np.zeros(plateau_sizes.size * 2 + 1)
        x[1::2] = plateau_sizes
        repeats = np.ones(x.size, dtype=int)
        repeats[1::2] = x[1::2]
        x = np.repeat(x, repeats)

        peaks, props = find_peaks(x, backend, layout, plateau_size=(None, None))
        assert_array_equal(peaks, [1, 3, 7, 11, 18, 33, 100])
        assert_array_equal(props["plateau_sizes"], plateau_sizes)
        assert_array_equal(props["left_edges"], peaks - (plateau_sizes - 1) // 2)
        assert_array_equal(props["right_edges"], peaks + plateau_sizes // 2)

        assert_array_equal(find_peaks(x, backend, layout, plateau_size=4)[0], [11, 18, 33, 100])
        assert_array_equal(find_peaks(x, backend, layout, plateau_size=(None, 3.5))[0], [1, 3, 7])
        assert_array_equal(find_peaks(x, backend, layout, plateau_size=(5, 50))[0], [18, 33])

    @backends
    @layouts
    def test_height_condition(self, backend, layout):
        x = (0., 1 / 3, 0., 2.5, 0, 4., 0)
        peaks, props = find_peaks(x, backend, layout, height=(None, None))
        assert_array_equal(peaks, [1, 3, 5])
        assert_array_equal(props["peak_heights"], np.array([1 / 3, 2.5, 4.]))
        assert_array_equal(find_peaks(x, backend, layout, height=0.5)[0], [3, 5])
        assert_array_equal(find_peaks(x, backend, layout, height=(None, 3))[0], [1, 3])
        assert_array_equal(find_peaks(x, backend, layout, height=(2, 3))[0], [3])

    @backends
    @layouts
    def test_threshold_condition(self, backend, layout):
        x = (0, 2, 1, 4, -1)
        peaks, props = find_peaks(x, backend, layout, threshold=(None, None))
        assert_array_equal(peaks, [1, 3])
        assert_array_equal(props["left_thresholds"], np.array([2.0, 3.0]))
        assert_array_equal(props["right_thresholds"], np.array([1.0, 5.0]))
        assert_array_equal(find_peaks(x, backend, layout, threshold=2)[0], [3])
        assert_array_equal(find_peaks(x, backend, layout, threshold=3.5)[0], np.array([], dtype=int))
        assert_array_equal(find_peaks(x, backend, layout, threshold=(None, 5))[0], [1, 3])
        assert_array_equal(find_peaks(x, backend, layout, threshold=(None, 4))[0], [1])
        assert_array_equal(find_peaks(x, backend, layout, threshold=(2, 4))[0], np.array([], dtype=int))

    @backends
    @layouts
    def test_distance_condition(self, backend, layout):
        # peaks of different height with constant distance 3
        peaks_all = np.arange(1, 21, 3)
        x = np.zeros(21)
        x[peaks_all] += np.linspace(1, 2, peaks_all.size)

        # peaks with "minimal" distance are still selected (distance = 3)
        assert_array_equal(find_peaks(x, backend, layout, distance=3)[0], peaks_all)

        # every second peak is removed (distance > 3)
        peaks_subset = find_peaks(x, backend, layout, distance=3.0001)[0]
        assert np.setdiff1d(peaks_subset, peaks_all, assume_unique=True).size == 0
        dfs = np.diff(peaks_subset)
        assert_array_equal(dfs, 6 * np.ones_like(dfs))

        # priority of peak removal
        peaks_subset = find_peaks([-2, 1, -1, 0, -3], backend, layout, distance=10)[0]  # distance > x size
        assert peaks_subset.size == 1 and peaks_subset[0] == 1

    @backends
    @layouts
    def test_prominence_condition(self, backend, layout):
        x = np.linspace(0, 10, 100)
        peaks_true = np.arange(1, 99, 2)
        offset = np.linspace(1, 10, peaks_true.size)
        x[peaks_true] += offset
        prominences = x[peaks_true] - x[peaks_true + 1]
        interval = (3, 9)
        keep = np.nonzero((interval[0] <= prominences) & (prominences <= interval[1]))

        peaks_calc, properties = find_peaks(x, backend, layout, prominence=interval)
        assert_array_equal(peaks_calc, peaks_true[keep])
        assert_array_equal(properties["prominences"], prominences[keep])
        assert_array_equal(properties["left_bases"], np.zeros_like(properties["left_bases"]))
        assert_array_equal(properties["right_bases"], peaks_true[keep] + 1)

    @backends
    @layouts
    def test_width_condition(self, backend, layout):
        x = np.array([1, 0, 1, 2, 1, 0, -1, 4, 0])
        peaks, props = find_peaks(x, backend, layout, width=(None, 2), rel_height=0.75)
        assert peaks.size == 1
        assert_array_equal(peaks, 7 * np.ones_like(peaks))
        assert_allclose(props["widths"], [1.35])
        assert_allclose(props["width_heights"], [1.])
        assert_allclose(props["left_ips"], [6.4])
        assert_allclose(props["right_ips"], [7.75])

    @backends
    @layouts
    def test_properties(self, backend, layout):
        open_interval = (None, None)
        x = [0, 1, 0, 2, 1.5, 0, 3, 0, 5, 9]
        peaks, props = find_peaks(x, backend, layout, height=open_interval, threshold=open_interval,
                                  prominence=open_interval, width=open_interval)
        assert len(props) == len(PROPERTY_KEYS)
        for key in PROPERTY_KEYS:
            assert peaks.size == props[key].size

    @backends
    def test_raises(self, backend):
        """SciPy's '1-D array' errors: a 0-d signal is rejected; a 2-D one is
        the batched API's business (both its lines are checked against SciPy)."""
        with pytest.raises(ValueError):
            fastsmp.find_peaks(np.array(1), backend=backend)
        x = np.array([[0, 1, 0, 2], [3, 1, 2, 0]], dtype=np.float64)
        check_find_peaks(x, -1, {}, backend, fastsmp.find_peaks(x, backend=backend))
        with pytest.raises(ValueError, match="distance"):
            fastsmp.find_peaks(np.arange(10), distance=-1, backend=backend)

    @backends
    @layouts
    def test_wlen_smaller_plateau(self, backend, layout):
        """wlen smaller than a peak's plateau (SciPy gh-9110)."""
        peaks, props = find_peaks([0, 1, 1, 1, 0], backend, layout, prominence=(None, None),
                                  width=(None, None), wlen=2)
        assert_array_equal(peaks, 2 * np.ones_like(peaks))
        assert_array_equal(props["prominences"], np.zeros_like(props["prominences"]))
        assert_array_equal(props["widths"], np.zeros_like(props["widths"]))
        assert_array_equal(props["width_heights"], np.ones_like(props["width_heights"]))
        for key in ("left_bases", "right_bases", "left_ips", "right_ips"):
            assert_array_equal(props[key], peaks)

    @backends
    @pytest.mark.parametrize("kwargs", [
        {},
        {"distance": 3.0},
        {"prominence": (None, None)},
        {"width": (None, 2)},
    ])
    def test_readonly_array(self, backend, kwargs):
        """Read-only arrays are accepted, 1-D and 2-D."""
        x = np.linspace(0, 10, 15)
        x_readonly = x.copy()
        x_readonly.flags.writeable = False
        peaks = scipy.signal.find_peaks(x)[0]
        mask = to_numpy(fastsmp.find_peaks(x_readonly, backend=backend, **kwargs))
        assert_array_equal(np.flatnonzero(mask), peaks)
        x2 = np.stack([x, np.sin(x)])
        x2.flags.writeable = False
        mask, props = fastsmp.find_peaks(x2, axis=1, return_properties=True, backend=backend, **kwargs)
        check_find_peaks(x2, 1, kwargs, backend, mask, props)
        x2t = x2.T
        check_find_peaks(x2t, 0, kwargs, backend, *fastsmp.find_peaks(x2t, axis=0, return_properties=True,
                                                                      backend=backend, **kwargs))
        mask = mask_from_positions(x2.shape, 1, [[0, 5, 14], [3, 4]])
        check_prominences(x2, mask, 1, fastsmp.peak_prominences(x2, mask, axis=1, backend=backend), backend)
        check_widths(x2, mask, 1, fastsmp.peak_widths(x2, mask, axis=1, backend=backend), backend)

