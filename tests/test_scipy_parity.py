"""SPEC section 9: ``fastsmp.find_peaks`` equals ``scipy.signal.find_peaks``
line by line, plateaus, filters and NaN included."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastsmp
from strategies import axes_for, examples, heights, line_arrays, thresholds

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


@st.composite
def cases(draw, nonfinite, **array_kwargs):
    x = draw(line_arrays(nonfinite=nonfinite, **array_kwargs))
    axis = draw(axes_for(x.ndim, multi=False))
    return x, axis, draw(heights), draw(thresholds)


def scipy_lines(x, axis, **kwargs):
    """SciPy's peaks of every line along ``axis``, in C order of the others."""
    lines = np.moveaxis(x, axis, -1).reshape(-1, x.shape[axis])
    return [scipy.signal.find_peaks(line, **kwargs)[0] for line in lines]


def check(x, axis, height, threshold, backend):
    mask = fastsmp.find_peaks(x, axis=axis, height=height, threshold=threshold, backend=backend)
    assert mask.dtype == np.bool_ and mask.shape == x.shape
    if x.size == 0:
        assert not mask.any()
        return
    expected = scipy_lines(x, axis, height=height, threshold=threshold)
    got = np.moveaxis(mask, axis, -1).reshape(-1, x.shape[axis])
    assert len(expected) == got.shape[0]
    for line, (g, e) in enumerate(zip(got, expected)):
        np.testing.assert_array_equal(np.flatnonzero(g), e, err_msg=f"line {line}")


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
@settings(max_examples=examples(250))
@given(case=cases(nonfinite=False))
def test_finite_data_matches_scipy(backend, case):
    check(*case, backend)


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
@settings(max_examples=examples(100))
@given(case=cases(nonfinite=True, dtypes=(np.float16, np.float32, np.float64)))
def test_nonfinite_data_matches_scipy(backend, case):
    check(*case, backend)


@settings(max_examples=examples(25), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=cases(nonfinite=True, max_dims=3, max_side=4, max_size=60, long_side=13))
def test_cuda_matches_scipy(tiny_cuda, case):
    check(*case, "cuda")


# Hand-picked lines: plateaus of every parity at every position, NaN and inf
# around peaks, and filters that sit exactly on peak heights and neighbour
# differences.
LINES = [
    [0, 1, 0],
    [0, 1, 1, 0],
    [0, 1, 1, 1, 0],
    [0, 1, 1, 1, 1, 0],
    [1, 1, 0, 1, 1],
    [0, 2, 2, 3, 3, 1],
    [0, 2, 2, 1, 3, 3, 3],
    [5, 5, 5, 5],
    [0, 1, 2, 3, 2, 1, 0, 1, 0],
    [0, 1, np.nan, 1, 0],
    [np.nan, 1, 0, 1, np.nan],
    [0, 2, 2, np.nan, 2, 2, 0],
    [0, np.nan, np.nan, 0],
    [0, 3, np.inf, 3, 0],
    [0, np.inf, np.inf, 0, -np.inf, 1, -np.inf],
    [0, 1, 0, np.inf, np.inf, np.inf, 0],
    [-np.inf, 1, -np.inf],
    [0, 1e300, -1e300, 1e300, 0],
]
FILTERS = [
    dict(),
    dict(height=1),
    dict(height=(None, 1)),
    dict(height=(1, 2)),
    dict(height=(2, None)),
    dict(threshold=0),
    dict(threshold=1),
    dict(threshold=(0, 0)),
    dict(threshold=(None, 1)),
    dict(threshold=(1, None), height=(0, 3)),
    dict(threshold=(0, np.inf)),
]


@pytest.mark.parametrize("backend", ["numpy", "cpu", "cuda"])
def test_hand_picked_lines_match_scipy(backend, tiny_cuda):
    for values in LINES:
        line = np.array(values, np.float64)
        for kwargs in FILTERS:
            expected = scipy.signal.find_peaks(line, **kwargs)[0]
            for dtype in (np.float64, np.float32):
                got = np.flatnonzero(fastsmp.find_peaks(line.astype(dtype), backend=backend, **kwargs))
                np.testing.assert_array_equal(got, expected, err_msg=f"{values} {kwargs} {dtype.__name__}")


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_integer_and_list_input_matches_scipy(backend):
    rng = np.random.default_rng(7)
    for dtype in (np.int8, np.uint8, np.int32, np.int64):
        x = rng.integers(0, 5, size=(4, 50)).astype(dtype)
        for kwargs in FILTERS[:5]:
            mask = fastsmp.find_peaks(x, backend=backend, **kwargs)
            for row in range(4):
                np.testing.assert_array_equal(np.flatnonzero(mask[row]), scipy.signal.find_peaks(x[row], **kwargs)[0])
    line = [0, 3, 3, 1, 4, 0]
    np.testing.assert_array_equal(np.flatnonzero(fastsmp.find_peaks(line, backend=backend)), scipy.signal.find_peaks(line)[0])
