"""The cpu backend's vector path for SciPy's peak rules
(``fastsmp/backends/cpu/dense_selection.py``): lines whose maxima are
single samples, decided with loops over the list of maxima.

The SciPy-oracle tests of test_find_peaks_full.py draw plateau-heavy data,
which this path gives back to the peak-by-peak path; here the data are
continuous (every maximum one sample), so the path decides the lines, and
the edges where it must give a line back are built on purpose: a NaN, an
inf, a plateau, equal heights within ``distance``, ``distance`` chains
longer than its passes, prominences its floors cannot settle.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastsmp
from fastsmp.backends.cpu import dense_selection as dense
from fastsmp.backends.peak_rules import PeakRules, filters_always
from peak_oracle import check_find_peaks
from strategies import assert_smp_close, examples

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


@numba.njit
def _decide(row, peak_rules, filters, per_peak):
    s = dense.dense_scratch(row.size, row)
    count = dense.select_line_dense(row, peak_rules, filters, per_peak, s)
    keep = np.zeros(row.size, np.bool_)
    for t in range(dense.PAD, dense.PAD + max(count, 0)):
        keep[s.at[t]] = s.kept[t] != 0
    return count, keep


def decide(row, distance=None, prominence=None, width=None, rel_height=0.5):
    """``(count, mask)`` of :func:`select_line_dense` on one line (count -1:
    given back); ``width`` a minimum."""
    nan = np.nan
    peak_rules = PeakRules(nan, nan, nan if distance is None else float(np.ceil(distance)),
                           nan if prominence is None else float(prominence), nan,
                           nan if width is None else float(width), nan, -1.0, rel_height,
                           float(prominence is not None or width is not None), float(width is not None))
    return _decide(np.asarray(row), peak_rules, filters_always((None,) * 4), False)


@st.composite
def continuous_cases(draw):
    """``(x, axis, kwargs)``: random real samples (ReLU'd, smooth-plus-noise
    or plain), 1-4 lines of 3-300 samples, and rules the vector path takes
    (``distance`` up to 20: beyond its reach too; a ``prominence`` minimum
    decided on the floors, or bounds and ``width`` decided by walks;
    ``rel_height`` up to 1.5, where the width walks reach the bases;
    ``height`` or ``threshold`` bounds) or gives to the peak-by-peak path
    (a ``wlen``)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = draw(st.integers(3, 300))
    lines = draw(st.integers(1, 4))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    kind = draw(st.sampled_from(["relu", "smooth", "plain"]))
    x = rng.standard_normal((lines, n))
    if kind == "relu":
        x = np.maximum(x, 0)
    elif kind == "smooth":
        x = np.sin(np.linspace(0, rng.uniform(1, 40), n)) * 3 + 0.3 * x
    x = x.astype(dtype)
    axis = draw(st.sampled_from([0, -1]))
    if axis == 0:
        x = np.ascontiguousarray(x.T)
    kwargs = {}
    if draw(st.booleans()):
        kwargs["distance"] = draw(st.one_of(st.integers(1, 20), st.sampled_from([1.5, 4.2, 16.5, 17.0])))
    choice = draw(st.integers(0, 5))
    if choice < 3:
        kwargs["prominence"] = draw(st.sampled_from([0.0, 0.1, 0.5, 1.0, 2.5]))
    elif choice == 3:
        kwargs["prominence"] = (draw(st.sampled_from([0.2, 0.8])), draw(st.sampled_from([None, 1.5])))
    if draw(st.integers(0, 3)) == 0:
        kwargs["width"] = draw(st.sampled_from([2, 0.5, (1.5, None), (None, 3.0), (1.0, 4.0)]))
        if draw(st.booleans()):  # 1 and above: the walks go down to the bases
            kwargs["rel_height"] = draw(st.sampled_from([0.5, 1.0, 1.5]))
    if draw(st.integers(0, 5)) == 0:
        kwargs["wlen"] = draw(st.sampled_from([3, 7.5, 40]))
    if draw(st.integers(0, 4)) == 0:
        kwargs["height"] = draw(st.sampled_from([0.3, (None, 1.0), (0.1, 2.0)]))
    if draw(st.integers(0, 4)) == 0:
        kwargs["threshold"] = draw(st.sampled_from([0.05, (None, 0.7)]))
    return x, axis, kwargs


@settings(max_examples=examples(150))
@given(case=continuous_cases())
def test_find_peaks_on_continuous_lines_matches_scipy(case):
    x, axis, kwargs = case
    before = x.copy()
    mask = fastsmp.find_peaks(x, axis=axis, backend="cpu", **kwargs)
    np.testing.assert_array_equal(x, before)
    check_find_peaks(x, axis, kwargs, "cpu", mask)


@settings(max_examples=examples(60))
@given(case=continuous_cases())
def test_smp_filters_on_continuous_lines_match_numpy(case):
    x, axis, kwargs = case
    s, c = fastsmp.smp(x, axis=axis, rtol=0, return_counts=True, backend="cpu", **kwargs)
    s_ref, c_ref = fastsmp.smp(x, axis=axis, rtol=0, return_counts=True, backend="numpy", **kwargs)
    assert_smp_close(s, s_ref, s_ref.dtype)
    np.testing.assert_array_equal(c, c_ref)


def test_continuous_lines_are_decided_here():
    """The path decides a continuous line, with the mask SciPy gives."""
    import scipy.signal

    rng = np.random.default_rng(3)
    for dtype in (np.float32, np.float64):
        row = np.maximum(rng.standard_normal(500), 0).astype(dtype)
        for distance, prominence in [(None, None), (5, None), (None, 0.5), (5, 0.5), (17, 0.2)]:
            count, keep = decide(row, distance, prominence)
            assert count > 100
            kwargs = {k: v for k, v in dict(distance=distance, prominence=prominence).items() if v is not None}
            np.testing.assert_array_equal(np.flatnonzero(keep), scipy.signal.find_peaks(row, **kwargs)[0])


@pytest.mark.parametrize("why, row", [
    ("nan", [0.0, 1.0, np.nan, 1.0, 0.0]),
    ("inf", [0.0, 1.0, np.inf, 1.0, 0.0]),
    ("plateau", [0.0, 1.0, 2.0, 2.0, 1.0, 0.0]),
    ("rise onto equal samples", [0.0, 1.0, 1.0, 3.0, 0.0]),
    ("equal heights within distance", [0.0, 2.0, 0.0, 1.0, 0.0, 2.0, 0.0]),
])
def test_lines_given_back(why, row):
    count, _ = decide(np.array(row), distance=5)
    assert count == -1, why
    mask = fastsmp.find_peaks(np.array([row]), distance=5, backend="cpu")
    check_find_peaks(np.array([row]), -1, dict(distance=5), "cpu", mask)


def test_equal_heights_beyond_distance_stay_here():
    count, keep = decide(np.array([0.0, 2.0, 0.0, 1.0, 0.0, 0.5, 0.0, 2.0, 0.0]), distance=5)
    assert count == 4
    np.testing.assert_array_equal(np.flatnonzero(keep), [1, 7])


def test_long_distance_chain_is_given_back_and_still_right():
    """Peaks rising to the right, 2 apart, ``distance=3``: each peak's fate
    waits on its right neighbour's, a chain longer than the passes allow."""
    n = 4 * dense.MAX_PASSES + 11
    row = np.zeros(2 * n + 1)
    row[1::2] = np.arange(1, n + 1)
    count, _ = decide(row, distance=3)
    assert count == -1
    short = row[:2 * 5 + 1]  # a chain of 5: settled by the passes
    count, keep = decide(short, distance=3)
    assert count == 5
    np.testing.assert_array_equal(np.flatnonzero(keep), [1, 5, 9])
    for x in (row, short):
        mask = fastsmp.find_peaks(x[None], distance=3, backend="cpu")
        check_find_peaks(x[None], -1, dict(distance=3), "cpu", mask)


def test_prominence_beyond_the_neighbouring_valleys():
    """Shallow valleys next to the peaks and lower maxima beyond them: the
    floors settle nothing, SciPy's walks must go on to the deep valleys."""
    import scipy.signal

    row = np.array([0.0, 5.0, 4.5, 4.8, 4.6, 6.0, 4.7, 4.9, 4.4, 5.5, 0.2, 3.0, 2.9, 3.1, 0.0])
    for least in (0.3, 1.0, 1.6, 5.0, 5.9, 6.0, 6.1):
        count, keep = decide(row, prominence=least)
        assert count == 7
        np.testing.assert_array_equal(np.flatnonzero(keep), scipy.signal.find_peaks(row, prominence=least)[0],
                                      err_msg=str(least))


def test_mask_of_a_middle_axis_and_float32_rounding():
    """Lines along a middle axis (read in columns), float32 samples whose
    differences round in float64 as SciPy's do."""
    rng = np.random.default_rng(5)
    x = (1e4 + rng.standard_normal((3, 200, 17))).astype(np.float32)
    for kwargs in (dict(distance=4, prominence=1.0), dict(prominence=0.25), dict(distance=9)):
        mask = fastsmp.find_peaks(x, axis=1, backend="cpu", **kwargs)
        check_find_peaks(x, 1, kwargs, "cpu", mask)


def test_widths_with_bases_on_plateaus():
    """Zero runs (ReLU) as floors: a right base is the first sample of its
    floor, a left base the last, as SciPy's walks find them; ``rel_height``
    1 and more walks down to them."""
    import scipy.signal

    rng = np.random.default_rng(9)
    row = np.maximum(rng.standard_normal(400), 0).astype(np.float32)
    row[50:60] = 0
    for rel_height in (0.5, 1.0, 1.7):
        for width in (0.5, 2.0, 3.5):
            count, keep = decide(row, distance=3, width=width, rel_height=rel_height)
            assert count > 50
            expected = scipy.signal.find_peaks(row, distance=3, width=width, rel_height=rel_height)[0]
            np.testing.assert_array_equal(np.flatnonzero(keep), expected, err_msg=f"{rel_height} {width}")
