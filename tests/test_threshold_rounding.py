"""SPEC 5: filter comparisons are in float64. A ``threshold`` bound that lies
within a float32 rounding of a neighbour difference tells a float64
difference from a float32 one; random bounds almost never land there, so
these tests put them there: exactly at a float64 difference of float32 (and
float16) data, and one float64 ulp either side, on every layout of every
backend, against SciPy (masks) and the reference (sums and counts)."""

import numpy as np
import pytest
import scipy.signal
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import examples

import fastsmp

BACKENDS = ["numpy", "cpu", "cuda"]

#: lines from issue 14, each wrong on the cpu backend when its differences
#: were formed in float32: (samples, dtype, threshold)
ISSUE_LINES = [
    ([0.0, 1.0, 2**-30], np.float32, 1.0),
    ([0.0, 1024.0, 2**-24], np.float16, 1024.0),
]
ISSUE_SMP_LINE = np.array([0.025731798261404037, 0.5679000020027161, 1.5274410247802734,
                           -1.3984112739562988, -0.9090812802314758], np.float32)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("samples, dtype, bound", ISSUE_LINES)
def test_issue_lines_find_peaks(backend, samples, dtype, bound):
    x = np.array(samples, dtype)
    expected = scipy.signal.find_peaks(x, threshold=bound)[0]
    assert expected.tolist() == []  # the float64 difference falls short of the bound
    assert np.flatnonzero(fastsmp.find_peaks(x, threshold=bound, backend=backend)).tolist() == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_issue_line_smp(backend):
    s, k = fastsmp.smp(ISSUE_SMP_LINE, threshold=(None, 3.4680205583572383), backend=backend, return_counts=True)
    assert (float(s), int(k)) == (0.0, 0)  # the left difference in float64, 3.46802055835723876, is above


def _mixed_magnitudes(rng, n, dtype):
    """Samples whose magnitudes differ by up to 2**30 (2**12 in float16), so
    that most neighbour differences are not exact in the sample's dtype."""
    spread = 30 if dtype != np.float16 else 12
    return (rng.standard_normal(n) * 2.0 ** rng.integers(-spread, 4, n)).astype(dtype)


def _bounds_at_differences(a, pick):
    """A float64 neighbour difference of a peak of ``a`` (1-D), and one ulp
    either side of it, or None where ``a`` has no peak."""
    peaks = scipy.signal.find_peaks(a)[0]
    if peaks.size == 0:
        return None
    p = peaks[pick % peaks.size]
    side = p - 1 if pick % 2 else p + 1
    diff = np.float64(a[p]) - np.float64(a[side])
    return [diff, np.nextafter(diff, -np.inf), np.nextafter(diff, np.inf)]


LAYOUTS = {
    # name: ((rows, columns) with -1 for the line's length, axis of smp, memory order)
    "rows": ((3, -1), -1, "F"),  # strided rows: the long-row kernel
    "short rows": ((40, -1), -1, "C"),  # C-contiguous lines up to BLOCK: groups of short lines
    "panels": ((-1, 9), 0, "C"),  # lines down a column: panels
    "maps": ((9, -1), (-2, -1), "C"),  # both axes of one map
}


def _embed(line, layout, rng):
    """An array of ``layout`` holding ``line`` as one of its lines (the
    others are noise in the same dtype), and the axis of smp."""
    (rows, cols), axis, order = LAYOUTS[layout]
    n = line.size
    shape = (rows, n) if cols == -1 else (n, cols)
    x = (rng.standard_normal(shape) * 4).astype(line.dtype)
    if cols == -1:
        x[1] = line
    else:
        x[:, 1] = line
    return np.asarray(x, order=order), axis


def _drawn_lines(dtypes, min_n):
    """The arguments both property tests draw: a dtype, a seed for the line
    and its neighbours, the line's length, which difference to hit, and a
    layout."""
    return given(dtype=st.sampled_from(dtypes), seed=st.integers(0, 2**32 - 1), n=st.integers(min_n, 60),
                 pick=st.integers(0, 50), layout=st.sampled_from(sorted(LAYOUTS)))


@settings(max_examples=examples(60))
@_drawn_lines([np.float32, np.float16], min_n=5)
def test_thresholds_at_float64_differences_agree_with_scipy(dtype, seed, n, pick, layout):
    """Masks on the cpu backend equal SciPy's for bounds exactly at a
    float64 difference and one ulp either side, on every cpu layout."""
    rng = np.random.default_rng(seed)
    line = _mixed_magnitudes(rng, n, dtype)
    bounds = _bounds_at_differences(line, pick)
    if bounds is None:
        return
    x, axis = _embed(line, layout, rng)
    line_axis = -1 if layout != "panels" else 0
    for bound in bounds:
        for threshold in (bound, (None, bound), (bound, None)):
            mask = fastsmp.find_peaks(x, axis=line_axis, threshold=threshold, backend="cpu")
            for i, got in enumerate(np.moveaxis(mask, line_axis, -1)):
                signal = np.moveaxis(x, line_axis, -1)[i]
                expected = scipy.signal.find_peaks(signal, threshold=threshold)[0]
                assert np.flatnonzero(got).tolist() == expected.tolist(), (bound, threshold, i)


@settings(max_examples=examples(60))
@_drawn_lines([np.float32, np.float64], min_n=7)
def test_smp_thresholds_at_float64_differences_agree_with_reference(dtype, seed, n, pick, layout):
    """The same for ``smp``: bounds at the float64 differences of ``|d|``
    (``rtol=0``, so ``|d|`` is exact on every backend); counts exact, sums
    within SPEC 6, on every cpu layout, maps over two axes included."""
    rng = np.random.default_rng(seed)
    line = _mixed_magnitudes(rng, n, dtype)
    x, axis = _embed(line, layout, rng)
    a = np.abs(fastsmp.curvature(line, backend="numpy"))
    bounds = _bounds_at_differences(a, pick)
    if bounds is None:
        return
    for bound in bounds:
        for threshold in (bound, (None, bound)):
            kw = dict(axis=axis, threshold=threshold, rtol=0, return_counts=True)
            s_ref, k_ref = fastsmp.smp(x, backend="numpy", **kw)
            s, k = fastsmp.smp(x, backend="cpu", **kw)
            np.testing.assert_array_equal(k, k_ref, err_msg=str((bound, threshold)))
            np.testing.assert_allclose(s, s_ref, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_cuda_thresholds_at_float64_differences(tiny_cuda, dtype):
    """The cuda kernels (simulator, tiny blocks) on the same kind of bounds."""
    rng = np.random.default_rng(7)
    for _ in range(4):
        line = _mixed_magnitudes(rng, 12, dtype)
        for bound in _bounds_at_differences(line, int(rng.integers(0, 9))) or []:
            expected = scipy.signal.find_peaks(line, threshold=bound)[0]
            got = fastsmp.find_peaks(line, threshold=bound, backend="cuda")
            assert np.flatnonzero(got).tolist() == expected.tolist(), bound
