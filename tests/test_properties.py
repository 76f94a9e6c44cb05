"""Properties of SMP, find_peaks and curvature that follow from SPEC.md,
with expectations derived by hand (not from the code under test)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fastsmp
from fastsmp.backends import numpy as reference
from strategies import (
    examples,
    ALL_DTYPES,
    assert_bit_identical,
    assert_smp_close,
    heights,
    line_arrays,
    thresholds,
    working_dtype,
)

HOST = ["numpy", "cpu"]
ALL = ["numpy", "cpu", "cuda"]
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def smp_n(x, **kwargs):
    return fastsmp.smp(x, return_counts=True, **kwargs)


# --------------------------------------------------------------------------
# reversal and scaling
# --------------------------------------------------------------------------


@pytest.mark.parametrize("backend", HOST)
@settings(max_examples=examples(100))
@given(
    x=line_arrays(dtypes=(np.float32, np.float64, np.int16), max_dims=3, nonfinite=True),
    height=heights,
    tmin=st.one_of(st.none(), st.sampled_from([0.0, 0.5, 1.0, 2.0])),
)
def test_reversing_lines_keeps_smp(backend, x, height, tmin):
    """|d| of the reversed line is the reversed |d| (v[j] + v[j+2] commutes),
    so the peaks have the same heights; only the order of summation changes.
    (A plateau of length 2 is reported at its left sample, so the *maximum*
    neighbour difference is not reversal-invariant: no threshold maximum.)"""
    kwargs = dict(height=height, threshold=tmin, backend=backend, axis=-1)
    s, n = smp_n(x, **kwargs)
    r, m = smp_n(x[..., ::-1], **kwargs)
    assert_smp_close(r, s, working_dtype(x.dtype))
    np.testing.assert_array_equal(m, n)


@pytest.mark.parametrize("backend", HOST)
@settings(max_examples=examples(100))
@given(
    x=st.one_of(
        line_arrays(dtypes=(np.float32, np.float64), max_dims=3, nonfinite=False),
        hnp.arrays(
            st.sampled_from([np.float32, np.float64]),
            hnp.array_shapes(min_dims=1, max_dims=2, max_side=40),
            elements=st.floats(-1e3, 1e3, width=32).map(lambda v: 0.0 if abs(v) < 1e-3 else v),
        ),
    ),
    k=st.integers(-20, 20),
    rtol=st.sampled_from([None, 0.0, 1e-6]),
)
def test_power_of_two_scaling_is_exact(backend, x, k, rtol):
    """Multiplying by 2**k is exact and commutes with every rounding of d, s,
    rtol*s and the sums (no overflow or underflow at these magnitudes)."""
    # far from overflow and underflow (subnormals do not scale exactly)
    x = np.where(np.abs(x) < 1e-3, 0, np.clip(x, -1e6, 1e6)).astype(x.dtype)
    scale = x.dtype.type(2.0**k)
    s, n = smp_n(x, backend=backend, rtol=rtol)
    t, m = smp_n(x * scale, backend=backend, rtol=rtol)
    assert_bit_identical(t, np.asarray(s * scale))
    np.testing.assert_array_equal(m, n)


# --------------------------------------------------------------------------
# lines with a known answer
# --------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ALL)
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int32, np.int64])
def test_linear_integer_ramp_has_zero_smp(backend, dtype, tiny_cuda):
    j = np.arange(40)
    x = np.stack([3 + 5 * j, -7 * j, 0 * j, 1000 - 2 * j]).astype(dtype)
    s, n = smp_n(x, backend=backend)
    np.testing.assert_array_equal(s, np.zeros(4))
    np.testing.assert_array_equal(n, np.zeros(4))
    # and no floor at all: still exactly zero
    s, n = smp_n(x, backend=backend, rtol=0)
    np.testing.assert_array_equal(s, np.zeros(4))
    np.testing.assert_array_equal(n, np.zeros(4))


@pytest.mark.parametrize("backend", HOST)
@settings(max_examples=examples(60))
@given(
    n=st.integers(5, 60),
    data=st.data(),
    a=st.integers(-1000, 1000),
    b=st.integers(-50, 50),
    s=st.integers(-200, 200).filter(bool),
    dtype=st.sampled_from([np.float64, np.float32, np.int32]),
)
def test_kink_at_a_sample(backend, n, data, a, b, s, dtype):
    """v[j] = a + b*j + s*max(0, j - k): d is s at j = k - 1 and 0
    elsewhere, so a kink at an interior position gives SMP |s|, count 1."""
    k = data.draw(st.integers(2, n - 3), label="k")
    j = np.arange(n)
    v = (a + b * j + s * np.maximum(0, j - k)).astype(dtype)
    smp, count = smp_n(v, backend=backend)
    assert smp == abs(s) and count == 1
    # at the first or last sample of d, a kink is never a peak
    for edge in (1, n - 2):
        v = (a + b * j + s * np.maximum(0, j - edge)).astype(dtype)
        assert smp_n(v, backend=backend) == (0, 0)


@pytest.mark.parametrize("backend", ALL)
@pytest.mark.parametrize("f", [0.0, 0.125, 0.25, 0.5, 0.6875, 0.875])
def test_kink_between_samples(backend, f, tiny_cuda):
    """A kink of slope change s at k + f splits into (1-f)*s and f*s on two
    adjacent samples of d: the peak is max(f, 1-f)*s (SPEC section 0);
    dyadic f and integer s keep everything exact."""
    s, k, n = 12.0, 6, 14
    t = np.arange(n, dtype=np.float64)
    v = s * np.maximum(0.0, t - (k + f))
    for dtype in (np.float64, np.float32):
        smp, count = smp_n(v.astype(dtype), backend=backend)
        assert smp == max(f, 1 - f) * s
        assert count == 1


@pytest.mark.parametrize("backend", HOST)
@settings(max_examples=examples(30))
@given(f=st.floats(0.01, 0.99), s=st.floats(0.5, 100), k=st.integers(2, 20))
def test_kink_between_samples_any_fraction(backend, f, s, k):
    t = np.arange(k + 6, dtype=np.float64)
    v = s * np.maximum(0.0, t - (k + f))
    smp, count = smp_n(v, backend=backend)
    assert count == 1
    assert math.isclose(smp, max(f, 1 - f) * s, rel_tol=1e-12)


@pytest.mark.parametrize("backend", ALL)
def test_curvature_of_a_quadratic(backend, tiny_cuda):
    j = np.arange(17)
    for c, b, a in [(1, 0, 0), (3, -4, 7), (-2, 5, 100)]:
        v = c * j**2 + b * j + a  # d = 2c exactly
        for dtype, work in [(np.float64, np.float64), (np.int64, np.float64), (np.float32, np.float32), (np.float16, np.float32)]:
            d = fastsmp.curvature(v.astype(dtype), backend=backend)
            assert_bit_identical(d, np.full(15, 2 * c, work))
        # a constant second difference is one long plateau in |d|, with
        # no descent at either end: no peak at all
        assert smp_n(v.astype(np.float64), backend=backend) == (0, 0)
    # along axis 0 of a 2-D array
    x = np.stack([j**2, 3 * j**2, -j**2], axis=1).astype(np.float64)
    d = fastsmp.curvature(x, axis=0, backend=backend)
    assert_bit_identical(d, np.tile([2.0, 6.0, -2.0], (15, 1)))


# --------------------------------------------------------------------------
# dtypes and shapes
# --------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ALL)
@pytest.mark.parametrize("dtype", ALL_DTYPES + (np.uint16, np.uint32, np.uint64, ">f8", ">f4", "<f4"))
def test_result_dtypes(backend, dtype, tiny_cuda):
    dtype = np.dtype(dtype)
    expected = np.dtype(np.float32) if dtype.kind == "f" and dtype.itemsize <= 4 else np.dtype(np.float64)
    x = np.arange(24).reshape(2, 12).astype(dtype)
    s, n = smp_n(x, backend=backend)
    assert s.dtype == expected and n.dtype == np.int64
    assert s.shape == n.shape == (2,)
    assert fastsmp.curvature(x, backend=backend).dtype == expected
    assert fastsmp.find_peaks(x, backend=backend).dtype == np.bool_
    s1, n1 = smp_n(x[0], backend=backend)  # 1-D: a NumPy scalar, as NumPy's reductions
    assert s1.dtype == expected and n1.dtype == np.int64 and np.ndim(s1) == 0


@pytest.mark.parametrize("backend", HOST)
@settings(max_examples=examples(60))
@given(x=line_arrays(max_dims=4, nonfinite=True), data=st.data())
def test_keepdims(backend, x, data):
    axes = tuple(data.draw(st.lists(st.integers(0, x.ndim - 1), min_size=1, unique=True), label="axes"))
    s, n = smp_n(x, axis=axes, backend=backend)
    sk, nk = smp_n(x, axis=axes, keepdims=True, backend=backend)
    expected_shape = tuple(1 if a in axes else d for a, d in enumerate(x.shape))
    assert np.shape(sk) == np.shape(nk) == expected_shape
    assert np.shape(s) == tuple(d for a, d in enumerate(x.shape) if a not in axes)
    assert_bit_identical(np.reshape(sk, np.shape(s)), s)
    np.testing.assert_array_equal(np.reshape(nk, np.shape(n)), n)


@pytest.mark.parametrize("backend", HOST)
@settings(max_examples=examples(40))
@given(
    x=line_arrays(dtypes=(np.float64, np.int16), shape=st.tuples(*[st.integers(1, 7)] * 4), nonfinite=True),
    height=heights,
    threshold=thresholds,
)
def test_nchw_rows_plus_columns(backend, x, height, threshold):
    """axis=(-2, -1) on (N, C, H, W) is the SMP along H summed over W plus the
    SMP along W summed over H (SPEC section 6)."""
    kwargs = dict(height=height, threshold=threshold, backend=backend)
    s, n = smp_n(x, axis=(-2, -1), **kwargs)
    assert np.shape(s) == x.shape[:2]
    cols, ncols = smp_n(x, axis=-2, **kwargs)  # (N, C, W)
    rows, nrows = smp_n(x, axis=-1, **kwargs)  # (N, C, H)
    expected = cols.sum(axis=-1) + rows.sum(axis=-1)
    np.testing.assert_allclose(s, expected, rtol=1e-12, atol=0, equal_nan=True)
    np.testing.assert_array_equal(n, ncols.sum(axis=-1) + nrows.sum(axis=-1))
    # the same with the axes named the other way round, or positively
    s2, n2 = smp_n(x, axis=(3, 2), **kwargs)
    np.testing.assert_allclose(s2, s, rtol=1e-12, atol=0, equal_nan=True)
    np.testing.assert_array_equal(n2, n)


# --------------------------------------------------------------------------
# the input: never modified; any memory layout
# --------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ALL)
def test_input_never_modified_and_read_only_works(backend, tiny_cuda):
    rng = np.random.default_rng(1)
    x = rng.integers(-3, 4, size=(2, 3, 7) if backend == "cuda" else (3, 5, 9)).astype(np.float64)
    x[0, 1, 2] = np.nan
    for dtype in (np.float32, np.int32) if backend == "cuda" else (np.float64, np.float32, np.float16, np.int32):
        y = x.astype(dtype) if dtype in (np.float64, np.float32, np.float16) else np.nan_to_num(x).astype(dtype)
        copy = y.copy()
        y.flags.writeable = False
        results = [
            smp_n(y, axis=axis, backend=backend, keepdims=True) for axis in (-1, 0, 1, (0, 2), (0, 1, 2))
        ]
        maps = smp_n(y, axis=(1, 2), backend=backend)  # the cpu backend's maps kernel
        for axis in (-1, 0, 1):
            results.append(fastsmp.find_peaks(y, axis=axis, backend=backend, height=0, threshold=(0, 2)))
            results.append(fastsmp.curvature(y, axis=axis, backend=backend))
        assert np.array_equal(y, copy, equal_nan=True)
        assert not y.flags.writeable
        # and the results equal those of a writeable copy
        w = copy.copy()
        assert_bit_identical(smp_n(w, axis=(0, 2), backend=backend, keepdims=True)[0], results[3][0])
        assert np.array_equal(fastsmp.find_peaks(w, axis=0, backend=backend, height=0, threshold=(0, 2)), results[7])
        assert_bit_identical(smp_n(w, axis=(1, 2), backend=backend)[0], maps[0])


def _layouts(x):
    """Views of (a copy of) ``x`` with other memory layouts, each with the
    array it must be equivalent to."""
    c = np.ascontiguousarray(x)
    big = np.concatenate([c, c[..., :3] + 1], axis=-1)  # room for a strided slice
    yield "fortran", np.asfortranarray(c), c
    yield "transposed", np.ascontiguousarray(c.T).T, c
    yield "reversed", c[..., ::-1].copy()[..., ::-1], c
    yield "negative stride", c[::-1], np.ascontiguousarray(c[::-1])
    yield "strided slice", big[..., : c.shape[-1]], c
    double = np.repeat(c, 2, axis=0)
    yield "step 2", double[::2], c
    yield "big-endian", c.astype(c.dtype.newbyteorder(">")), c
    yield "big-endian transposed", np.ascontiguousarray(c.T).astype(c.dtype.newbyteorder(">")).T, c


def _check_layouts(x, backend, smp_axes, line_axes, only=None):
    for name, y, expected in _layouts(x):
        if only is not None and name not in only:
            continue
        assert np.array_equal(y, expected, equal_nan=True), name
        for axis in smp_axes:
            s, n = smp_n(y, axis=axis, backend=backend)
            se, ne = smp_n(expected, axis=axis, backend=backend)
            assert_smp_close(s, se, working_dtype(x.dtype))
            np.testing.assert_array_equal(n, ne, err_msg=f"{name} {axis}")
        for axis in line_axes:
            assert np.array_equal(
                fastsmp.find_peaks(y, axis=axis, backend=backend, threshold=0),
                fastsmp.find_peaks(expected, axis=axis, backend=backend, threshold=0),
            ), f"{name} {axis}"
            assert_bit_identical(
                fastsmp.curvature(y, axis=axis, backend=backend),
                fastsmp.curvature(expected, axis=axis, backend=backend),
            )


@pytest.mark.parametrize("backend", HOST)
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int16])
def test_memory_layouts_give_the_same_results(backend, dtype):
    rng = np.random.default_rng(2)
    x = rng.integers(-3, 4, size=(5, 6, 17)).astype(dtype)
    if dtype != np.int16:
        x[1, 2, 3] = np.inf
    _check_layouts(x, backend, (-1, 0, 1, (0, 2), (1, 2), (0, 1, 2)), (-1, 0, 1))


def test_memory_layouts_cuda(tiny_cuda):
    rng = np.random.default_rng(2)
    x = rng.integers(-3, 4, size=(2, 3, 7)).astype(np.float32)
    _check_layouts(x, "cuda", (-1, (0, 2)), (1,), only=("fortran", "negative stride", "strided slice", "big-endian transposed"))


# --------------------------------------------------------------------------
# zero-size and short lines
# --------------------------------------------------------------------------

ZERO_SIZE = [
    ((0,), 0),
    ((0,), -1),
    ((0, 5), -1),
    ((0, 5), 0),
    ((5, 0), -1),
    ((5, 0), 0),
    ((0, 0), 0),
    ((0, 0), 1),
    ((3, 0, 4), 1),
    ((3, 0, 4), (0, 1)),
    ((3, 0, 4), (0, 2)),
    ((0, 5, 6), (1, 2)),
    ((0, 5, 6), (0, 1)),
    ((2, 0, 7), (0, 1, 2)),
    ((2, 3, 0), (0, 1)),
]


@pytest.mark.parametrize("backend", ALL)
@pytest.mark.parametrize("shape, axis", ZERO_SIZE)
def test_zero_size_inputs(backend, shape, axis, tiny_cuda):
    x = np.zeros(shape, np.float32)
    axes = tuple(a % len(shape) for a in (axis if isinstance(axis, tuple) else (axis,)))
    out_shape = tuple(d for a, d in enumerate(shape) if a not in axes)
    s, n = smp_n(x, axis=axis, backend=backend)
    assert np.shape(s) == np.shape(n) == out_shape
    assert s.dtype == np.float32 and n.dtype == np.int64
    assert not np.any(s) and not np.any(n)  # every line is empty or shorter than 5: 0 and 0
    sk, _ = smp_n(x, axis=axis, backend=backend, keepdims=True)
    assert np.shape(sk) == tuple(1 if a in axes else d for a, d in enumerate(shape))
    if len(axes) == 1:
        (ax,) = axes
        mask = fastsmp.find_peaks(x, axis=ax, backend=backend)
        assert mask.shape == shape and not mask.any()
        d = fastsmp.curvature(x, axis=ax, backend=backend)
        assert d.shape == tuple(max(k - 2, 0) if a == ax else k for a, k in enumerate(shape))


@pytest.mark.parametrize("backend", ALL)
@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_lines_shorter_than_five_give_zero(backend, n, tiny_cuda):
    x = np.array([[0, 5, 0, 5][:n], [9, -9, 9, -9][:n]], np.float64)
    s, c = smp_n(x, backend=backend)
    np.testing.assert_array_equal(s, [0, 0])
    np.testing.assert_array_equal(c, [0, 0])
    # five samples are enough: |d| = [5, 10, 5]
    s, c = smp_n(np.array([0.0, 0, 5, 0, 0]), backend=backend)
    assert (s, c) == (10.0, 1)


# --------------------------------------------------------------------------
# accuracy on a long line
# --------------------------------------------------------------------------


def _reference_kept_heights(v, rtol):
    v3 = v.reshape(1, -1, 1)
    a = reference.floored_magnitude(v3, v.dtype.type(rtol))
    kept = reference.peak_mask(a, (None, None, None, None))
    return a[kept].astype(np.float64)


@pytest.mark.parametrize("dtype, bound", [(np.float32, 1e-5), (np.float64, 1e-12)])
def test_accuracy_on_a_long_line(dtype, bound):
    """SPEC section 6: within relative 1e-5 (float32) / 1e-12 (float64) of
    math.fsum of the kept peak heights, on a line of 2**22 samples."""
    rng = np.random.default_rng(3)
    n = 1 << 22
    t = np.linspace(0, 400 * np.pi, n)
    v = (np.maximum(np.sin(t), 0) * 1000 + rng.standard_normal(n).cumsum() * 0.01).astype(dtype)
    rtol = 8 * np.finfo(dtype).eps
    heights_ = _reference_kept_heights(v, rtol)
    assert heights_.size > n // 10  # many peaks: a real test of the summation
    exact = math.fsum(heights_)
    for backend in HOST:
        s, count = smp_n(v, backend=backend)
        assert count == heights_.size
        assert abs(float(s) - exact) <= bound * exact, (backend, float(s), exact)


# --------------------------------------------------------------------------
# non-finite input
# --------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ALL)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_line_is_nan_others_unaffected(backend, bad, tiny_cuda):
    rng = np.random.default_rng(4)
    x = rng.integers(-3, 4, size=(4, 11)).astype(np.float64)
    y = x.copy()
    y[2, 7] = bad
    s, n = smp_n(y, backend=backend)
    expected, expected_n = smp_n(x, backend=backend)
    assert np.isnan(s[2]) and n[2] == 0
    keep = [0, 1, 3]
    assert_bit_identical(s[keep], expected[keep])
    np.testing.assert_array_equal(n[keep], expected_n[keep])
    # along the other axis: only column 7 is affected
    s, n = smp_n(y, axis=0, backend=backend)
    expected, expected_n = smp_n(x, axis=0, backend=backend)
    assert np.isnan(s[7]) and n[7] == 0
    assert_bit_identical(np.delete(s, 7), np.delete(expected, 7))
    # nan_policy="raise" names the line
    with pytest.raises(ValueError, match=r"x\[2, :\]"):
        fastsmp.smp(y, backend=backend, nan_policy="raise")
    with pytest.raises(ValueError, match=r"x\[:, 7\]"):
        fastsmp.smp(y, axis=0, backend=backend, nan_policy="raise")


@pytest.mark.parametrize("backend", ALL)
def test_nan_next_to_a_sample_never_makes_it_a_peak(backend, tiny_cuda):
    lines = np.array(
        [
            [0, 1, np.nan, 1, 0, 0, 0],  # 1 > 0 on one side only: a NaN on the other
            [np.nan, 5, 0, 1, np.nan, 2, 2],
            [0, 2, 2, np.nan, 0, 3, 0],  # a plateau whose right end meets a NaN
            [0, np.nan, 0, 4, 4, 4, np.nan],
        ]
    )
    mask = fastsmp.find_peaks(lines, backend=backend)
    expected = np.zeros(lines.shape, bool)
    expected[2, 5] = True  # the only sample with finite, smaller neighbours
    np.testing.assert_array_equal(mask, expected)
    # threshold: the differences to NaN neighbours are NaN and fail every bound
    mask = fastsmp.find_peaks(np.array([0, 1, 0, np.nan, 3, 1]), backend=backend, threshold=0)
    np.testing.assert_array_equal(np.flatnonzero(mask), [1])
