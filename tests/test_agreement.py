"""SPEC section 9: the "numpy", "cpu" and "cuda" backends agree.

The reference ("numpy") is the expectation; every other backend must give
identical counts, masks and curvature bits, SMPs within the accuracy bound of
SPEC section 6, NaN in the same places, and raise for ``nan_policy="raise"``
exactly when the reference does. Independently of any backend, NaN blocks and
``nan_policy="raise"`` errors are predicted from ``np.isfinite`` of the input.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import scipy.signal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastsmp
from strategies import (
    examples,
    assert_bit_identical,
    assert_smp_close,
    axes_for,
    call,
    heights,
    line_arrays,
    rtols,
    thresholds,
    working_dtype,
)

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

# Arrays small enough for the CUDA simulator (at most 3 x 4 x 13 or so).
TINY = dict(max_dims=3, max_side=4, max_size=80, long_side=40)
CUDA_SETTINGS = settings(
    max_examples=examples(30), suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@st.composite
def smp_cases(draw, **array_kwargs):
    x = draw(line_arrays(**array_kwargs))
    kwargs = dict(
        axis=draw(axes_for(x.ndim)),
        height=draw(heights),
        threshold=draw(thresholds),
        rtol=draw(rtols),
        nan_policy=draw(st.sampled_from(["propagate", "raise"])),
        keepdims=draw(st.booleans()),
    )
    return x, kwargs


@st.composite
def peak_cases(draw, **array_kwargs):
    x = draw(line_arrays(**array_kwargs))
    kwargs = dict(axis=draw(axes_for(x.ndim, multi=False)), height=draw(heights), threshold=draw(thresholds))
    return x, kwargs


@st.composite
def curvature_cases(draw, **array_kwargs):
    x = draw(line_arrays(**array_kwargs))
    return x, dict(axis=draw(axes_for(x.ndim, multi=False)))


def _named(axis, ndim):
    return tuple(sorted(a % ndim for a in (axis if isinstance(axis, (tuple, list)) else (axis,))))


def check_smp(x, kwargs, backend):
    x_before = x.copy()
    expected = call(fastsmp.smp, x, backend="numpy", return_counts=True, **kwargs)
    got = call(fastsmp.smp, x, backend=backend, return_counts=True, **kwargs)
    assert np.array_equal(x, x_before, equal_nan=True), "the input was modified"
    finite = bool(np.isfinite(x).all())
    if kwargs["nan_policy"] == "raise":
        # SPEC 7: raise exactly when some line holds a NaN or an inf.
        assert isinstance(expected, ValueError) == (not finite), expected
        assert isinstance(got, ValueError) == (not finite), got
        if not finite:
            assert str(got) == str(expected)
            return
    assert not isinstance(expected, ValueError), expected
    assert not isinstance(got, ValueError), got

    work = working_dtype(x.dtype)
    axes = _named(kwargs["axis"], x.ndim)
    (s_ref, n_ref), (s, n) = expected, got
    s_ref, n_ref, s, n = map(np.asarray, (s_ref, n_ref, s, n))

    out_shape = tuple(
        1 if a in axes else d for a, d in enumerate(x.shape) if kwargs["keepdims"] or a not in axes
    )
    assert s.shape == n.shape == s_ref.shape == out_shape
    assert n.dtype == n_ref.dtype == np.int64
    # Independent of every backend: a block is NaN iff it holds a non-finite sample.
    nan_blocks = ~np.isfinite(x).all(axis=axes, keepdims=kwargs["keepdims"])
    assert np.array_equal(np.isnan(s_ref), nan_blocks)
    if len(axes) == 1:  # a NaN line counts 0 (over several axes, the other lines still count)
        assert np.all(n_ref[nan_blocks] == 0)
    assert np.all(s_ref[~nan_blocks] >= 0)

    assert_smp_close(s, s_ref, work)
    assert np.array_equal(n, n_ref)


def _reference_and(func, x, kwargs, backend):
    """``func`` on the reference and on ``backend``; the input must come
    out unmodified."""
    x_before = x.copy()
    expected = func(x, backend="numpy", **kwargs)
    got = func(x, backend=backend, **kwargs)
    assert np.array_equal(x, x_before, equal_nan=True), "the input was modified"
    return expected, got


def check_find_peaks(x, kwargs, backend):
    expected, got = _reference_and(fastsmp.find_peaks, x, kwargs, backend)
    assert expected.dtype == got.dtype == np.bool_
    assert expected.shape == got.shape == x.shape
    assert np.array_equal(got, expected)


def check_curvature(x, kwargs, backend):
    expected, got = _reference_and(fastsmp.curvature, x, kwargs, backend)
    axis = kwargs["axis"] % x.ndim
    shape = list(x.shape)
    shape[axis] = max(shape[axis] - 2, 0)
    assert expected.shape == tuple(shape)
    assert expected.dtype == working_dtype(x.dtype)
    assert_bit_identical(got, expected)


# --------------------------------------------------------------------------
# numpy vs cpu: hundreds of cases
# --------------------------------------------------------------------------


@settings(max_examples=examples(300))
@given(smp_cases())
def test_smp_cpu_agrees_with_reference(case):
    check_smp(*case, "cpu")


@settings(max_examples=examples(200))
@given(peak_cases())
def test_find_peaks_cpu_agrees_with_reference(case):
    check_find_peaks(*case, "cpu")


@settings(max_examples=examples(100))
@given(curvature_cases())
def test_curvature_cpu_agrees_with_reference(case):
    check_curvature(*case, "cpu")


@settings(max_examples=examples(100))
@given(smp_cases(max_dims=2, max_side=4, long_side=200, max_size=600))
def test_smp_auto_is_cpu(case):
    x, kwargs = case
    a = call(fastsmp.smp, x, return_counts=True, **kwargs)
    c = call(fastsmp.smp, x, backend="cpu", return_counts=True, **kwargs)
    if isinstance(c, ValueError):
        assert isinstance(a, ValueError) and str(a) == str(c)
        return
    assert_bit_identical(a[0], c[0])
    assert np.array_equal(a[1], c[1])


# --------------------------------------------------------------------------
# long lines (the CPU backend cuts them into chunks and blocks) and many
# lines (it walks them in panels): plateaus cover most of each line, so
# whatever the cuts are, plateaus straddle them. Expected values from SciPy.
# --------------------------------------------------------------------------


def _line_from_curvature(d):
    """The integer line ``v`` with ``v[0] = v[1] = 0`` whose second difference is ``d``."""
    v = np.zeros(d.size + 2, np.int64)
    v[2:] = np.cumsum(np.cumsum(d))
    return v


def _runs(rng, size, low, high, values):
    """Runs of random length in [low, high) of values drawn from ``values``."""
    lengths = rng.integers(low, high, size=size // low + 2)
    return np.repeat(rng.choice(values, size=lengths.size), lengths)[:size]


def _scipy_smp(a, **kwargs):
    peaks = scipy.signal.find_peaks(a, **kwargs)[0]
    return math.fsum(a[peaks]), peaks.size


@settings(max_examples=examples(5))
@given(
    seed=st.integers(0, 2**32 - 1),
    lines=st.sampled_from([1, 3]),
    layout=st.sampled_from(["rows", "panels"]),
    height=heights,
    threshold=thresholds,
)
def test_long_plateau_lines_match_scipy(seed, lines, layout, height, threshold):
    rng = np.random.default_rng(seed)
    n = (1 << 18) + int(rng.integers(0, 5000))
    kwargs = dict(height=height, threshold=threshold)
    # |d| in runs of 20..400 equal values: v is piecewise quadratic, exact in float64
    d = np.stack([_runs(rng, n - 2, 20, 400, np.arange(-3, 4)) for _ in range(lines)])
    x = np.stack([_line_from_curvature(row) for row in d]).astype(np.float64)
    expected = [_scipy_smp(np.abs(row).astype(np.float64), **kwargs) for row in d]
    sig = np.stack([_runs(rng, n, 20, 400, np.arange(5)) for _ in range(lines)]).astype(np.float32)
    expected_peaks = [scipy.signal.find_peaks(row, **kwargs)[0] for row in sig]
    axis = -1
    if layout == "panels":  # lines along axis 0 of a C-ordered array
        x, sig, axis = np.ascontiguousarray(x.T), np.ascontiguousarray(sig.T), 0
    for backend in ("numpy", "cpu"):
        s, c = fastsmp.smp(x, axis=axis, backend=backend, return_counts=True, **kwargs)
        np.testing.assert_allclose(s, [e[0] for e in expected], rtol=1e-12, atol=0)
        np.testing.assert_array_equal(c, [e[1] for e in expected])
        mask = fastsmp.find_peaks(sig, axis=axis, backend=backend, **kwargs)
        for row in range(lines):
            line = mask[row] if axis == -1 else mask[:, row]
            np.testing.assert_array_equal(np.flatnonzero(line), expected_peaks[row])


@settings(max_examples=examples(15))
@given(
    seed=st.integers(0, 2**32 - 1),
    dtype=st.sampled_from([np.float32, np.float64, np.int16]),
    n=st.integers(3, 40),
    inner=st.integers(200, 700),
    plateaus=st.booleans(),
    height=heights,
    threshold=thresholds,
)
def test_many_lines_agree_with_reference(seed, dtype, n, inner, plateaus, height, threshold):
    """Hundreds of lines along axis 0 (the CPU backend's panels), rare or
    frequent plateaus, a NaN line or two."""
    rng = np.random.default_rng(seed)
    x = (rng.integers(-3, 4, size=(n, inner)) if plateaus else rng.standard_normal((n, inner)) * 100).astype(dtype)
    if dtype != np.int16 and rng.random() < 0.5:
        x[rng.integers(n), rng.integers(inner)] = np.nan
    kwargs = dict(height=height, threshold=threshold, nan_policy="propagate", rtol=None, keepdims=False)
    for axis in (0, 1, (0, 1)):
        check_smp(x, dict(kwargs, axis=axis), "cpu")
    for axis in (0, 1):
        check_find_peaks(x, dict(axis=axis, height=height, threshold=threshold), "cpu")
        check_curvature(x, dict(axis=axis), "cpu")


# --------------------------------------------------------------------------
# numpy vs cuda (simulator): few, tiny cases with tiny blocks
# --------------------------------------------------------------------------


@CUDA_SETTINGS
@given(case=smp_cases(**TINY))
def test_smp_cuda_agrees_with_reference(tiny_cuda, case):
    check_smp(*case, "cuda")


@settings(CUDA_SETTINGS, max_examples=examples(25))
@given(case=peak_cases(**TINY))
def test_find_peaks_cuda_agrees_with_reference(tiny_cuda, case):
    check_find_peaks(*case, "cuda")


@settings(CUDA_SETTINGS, max_examples=examples(15))
@given(case=curvature_cases(**TINY))
def test_curvature_cuda_agrees_with_reference(tiny_cuda, case):
    check_curvature(*case, "cuda")


@pytest.mark.parametrize("layout", ["last", "first", "lanes"])
def test_cuda_plateaus_across_blocks(tiny_cuda, layout):
    """Plateaus of the signal and of |d| longer than a block (4 threads x 2
    items), lines along the last axis and across lanes."""
    sig = np.array([0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 2, 2, 2, 2, 2, 2, 2, 2, 3, 0, 1], np.float64)
    quad = _line_from_curvature(np.array([0, 0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, -3, -3, -3, -3, -3, -3, 0, 0, 0]))
    # peaks whose plateau starts in the last block of the line, and a NaN in the last sample
    sig_end = np.zeros_like(sig)
    sig_end[-4:-1] = [1, 2, 2]
    sig_end[-1] = 1
    quad_end = _line_from_curvature(np.r_[np.zeros(19, np.int64), 4, 0, 0])
    quad_nan = quad.astype(np.float64)
    quad_nan[-1] = np.nan
    x = np.stack([sig, sig[::-1], np.roll(sig, 3), sig_end])
    q = np.stack([quad, quad[::-1], -quad, quad_end, quad_nan]).astype(np.float64)
    axis = -1
    if layout == "first":  # lines along axis 0, fewer of them than lanes
        x, q, axis = x.T.copy(), q.T.copy(), 0
    elif layout == "lanes":  # lines along axis 0, 9 of them: lanes of a block walk across lines
        x = np.ascontiguousarray(x.T[:, :, None].repeat(3, 2))
        q = np.ascontiguousarray(q.T[:, :, None].repeat(3, 2))
        axis = 0
    check_find_peaks(x, dict(axis=axis, height=None, threshold=None), "cuda")
    check_smp(q, dict(axis=axis, height=None, threshold=None, rtol=None, nan_policy="propagate", keepdims=False), "cuda")
    check_curvature(q, dict(axis=axis), "cuda")
    # and against SciPy, by hand
    lines = np.moveaxis(q, axis, -1).reshape(-1, q.shape[axis])
    expected = []
    for line in lines:
        a = np.abs(np.diff(line, 2))
        expected.append(a[scipy.signal.find_peaks(a)[0]].sum() if np.isfinite(line).all() else np.nan)
    got = fastsmp.smp(q, axis=axis, backend="cuda")
    np.testing.assert_array_equal(got.ravel(), expected)
    assert np.count_nonzero(np.isnan(got)) == got.size // 5 and np.count_nonzero(got == 4) == got.size // 5
    mask = fastsmp.find_peaks(x, axis=axis, backend="cuda")
    assert np.moveaxis(mask, axis, -1)[3, ..., -3].all()  # sig_end's plateau [2, 2] at -3, -2


@pytest.mark.parametrize("layout", ["short line", "long line, across a block edge", "panels"])
def test_finite_overflow_in_curvature_agrees(layout):
    """Finite input whose second difference overflows to inf - inf = NaN.
    SPEC 4 taken literally: ``a = |d| if |d| > rtol*s else 0``, and NaN > x
    is false, so ``a`` is 0 there (what the reference computes); the line is
    finite, so SPEC 7 does not apply. Every backend must agree (SPEC 9).
    The cpu fills flag a non-finite noise-floor sum s with NaN, so this also
    checks that an overflow is told apart from a NaN or an inf sample, in
    every layout. The second kink overflows s where d stays finite (0.6 M,
    0.3 M, -0.6 M: d = -0.6 M, s = 1.8 M): a is 0 there, and the cpu fills,
    which compute d with an FMA, must still take the exact path."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for dtype, kink in [
            (np.float32, [0, 0, 3.4e38, 1.8e38, 1e37, 0, 0, 0]),
            (np.float64, [0, 0, 1.7e308, 1e308, 1e307, 0, 0, 0]),
            (np.float32, [0, 0, 2.04e38, 1.02e38, -2.04e38, 0, 0, 0]),
            (np.float64, [0, 0, 1.07e308, 0.54e308, -1.07e308, 0, 0, 0]),
        ]:
            kink = np.array(kink, dtype)
            if layout == "short line":
                v, axis = kink, -1
            else:
                v = np.random.default_rng(0).standard_normal((2, 2100)).astype(dtype)
                v[1, 1020:1028] = kink  # a d around the first block edge (1024) overflows
                v, axis = (v, -1) if layout.startswith("long") else (np.ascontiguousarray(v.T), 0)
            assert np.isfinite(v).all()
            ref = fastsmp.smp(v, axis=axis, backend="numpy", return_counts=True)
            for backend in ("cpu", "cuda") if layout == "short line" else ("cpu",):
                got = fastsmp.smp(v, axis=axis, backend=backend, return_counts=True)
                np.testing.assert_array_equal(got[1], ref[1], err_msg=f"{dtype} {backend}")
                assert not np.isnan(got[0]).any()  # an overflow is not a NaN sample
                assert_smp_close(got[0], ref[0], np.dtype(dtype))


@pytest.mark.parametrize("long_line_partials", [0, 1000])
@pytest.mark.parametrize("shape, axis", [((3, 5, 37), -1), ((37, 3), 0), ((6, 4, 3), -1), ((2, 3, 9, 5), (-2, -1))])
def test_cuda_tilings_agree(tiny_cuda, monkeypatch, long_line_partials, shape, axis):
    """Every tiling of the CUDA kernels: several short lines packed into one
    block (rows), lanes across lines, many blocks per line, and the partials
    of a line added by one thread or by a whole block."""
    from fastsmp.backends.cuda import backend as cuda_backend

    monkeypatch.setattr(cuda_backend, "LONG_LINE_PARTIALS", long_line_partials)
    x = np.random.default_rng(sum(shape)).integers(-2, 3, size=shape).astype(np.float64)
    x.flat[7] = np.nan
    check_smp(x, dict(axis=axis, height=None, threshold=None, rtol=None, nan_policy="propagate", keepdims=False), "cuda")
    check_smp(x, dict(axis=axis, height=0.5, threshold=0.2, rtol=None, nan_policy="propagate", keepdims=True), "cuda")
    first = axis if isinstance(axis, int) else axis[0]
    check_find_peaks(x, dict(axis=first, height=None, threshold=None), "cuda")
    check_curvature(x, dict(axis=first), "cuda")
