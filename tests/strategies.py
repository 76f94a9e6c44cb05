"""Hypothesis strategies and comparison helpers shared by the test modules.

Arrays are plateau-heavy on purpose: small integers, repeated samples and
piecewise-quadratic data (constant second difference, hence plateaus in the
curvature signal ``a`` too), with NaN and +-inf sprinkled into float data.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

#: examples the ``ci`` profile runs per unit of :func:`examples` (tests/conftest.py)
CI_EXAMPLES = 100


def examples(ci):
    """How many examples a property test runs: ``ci`` under the ``ci``
    Hypothesis profile (the default, tests/conftest.py), proportionally
    fewer under ``dev`` (``--hypothesis-profile dev``). Read when the test
    module is imported, after the profile is loaded."""
    return max(2, ci * settings.default.max_examples // CI_EXAMPLES)


FLOAT_DTYPES = (np.float16, np.float32, np.float64)
INT_DTYPES = (np.int8, np.int16, np.int32, np.int64, np.uint8)
ALL_DTYPES = FLOAT_DTYPES + INT_DTYPES

#: SPEC section 6: relative accuracy of an SMP, by working dtype
REL_TOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}
#: a tiny absolute term for sums at or near 0
ABS_TOL = {np.dtype(np.float32): 1e-30, np.dtype(np.float64): 1e-300}


def working_dtype(dtype):
    """SPEC section 2, written out independently of the package."""
    dtype = np.dtype(dtype)
    if dtype in (np.dtype(np.float16), np.dtype(np.float32)):
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def _shapes(max_dims, max_side, max_size, long_side):
    short = hnp.array_shapes(min_dims=1, max_dims=max_dims, min_side=0, max_side=max_side)
    strategies = [short]
    if long_side:
        # a few long-ish lines, so that plateaus and many peaks occur per line
        strategies.append(hnp.array_shapes(min_dims=1, max_dims=2, min_side=0, max_side=long_side))
    return st.one_of(*strategies).filter(lambda s: math.prod(s) <= max_size)


def _clip_cast(values, dtype):
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        values = np.clip(values, info.min, info.max)
    elif dtype == np.float16:
        values = np.clip(values, -60000, 60000)
    return np.asarray(values).astype(dtype)


@st.composite
def line_arrays(draw, dtypes=ALL_DTYPES, max_dims=4, max_side=6, max_size=400, long_side=48,
                nonfinite=True, shape=None):
    """An array of a random real dtype and shape (size-0 and short lines
    included) with plateau-heavy values, optionally NaN/inf sprinkled."""
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    if shape is None:
        shape = draw(_shapes(max_dims, max_side, max_size, long_side))
    elif isinstance(shape, st.SearchStrategy):
        shape = tuple(draw(shape))
    mode = draw(st.sampled_from(["smallint", "wide", "quadratic", "repeat"]))
    if mode == "smallint":
        values = draw(hnp.arrays(np.int64, shape, elements=st.integers(-3, 3)))
    elif mode == "wide":
        if dtype.kind == "f":
            bound = 1e4 if dtype == np.float16 else 1e6
            elements = st.floats(-bound, bound, width=8 * dtype.itemsize, allow_subnormal=False)
        else:
            elements = hnp.from_dtype(dtype)
        values = draw(hnp.arrays(dtype, shape, elements=elements))
    else:
        seed = draw(st.integers(0, 2**32 - 1))
        rng = np.random.default_rng(seed)
        if mode == "quadratic":
            # piecewise-constant second difference: runs of equal |d|
            steps = rng.integers(-2, 3, size=shape)
            runs = rng.random(shape) < 0.7
            if len(shape) and shape[-1]:
                idx = np.arange(shape[-1])
                keep = np.maximum.accumulate(np.where(~runs, idx, 0), axis=-1)
                steps = np.take_along_axis(steps, keep, axis=-1)
            values = np.cumsum(np.cumsum(steps, axis=-1), axis=-1) if len(shape) else steps
            values = values + rng.integers(-5, 6)
        else:  # "repeat": each sample repeats its predecessor with probability 1/2
            values = rng.integers(-4, 5, size=shape)
            if len(shape) and shape[-1]:
                axis = rng.integers(len(shape))
                idx = np.arange(shape[axis]).reshape([-1 if k == axis else 1 for k in range(len(shape))])
                idx = np.broadcast_to(idx, shape)
                new = rng.random(shape) < 0.5
                keep = np.maximum.accumulate(np.where(new, idx, 0), axis=axis)
                values = np.take_along_axis(values, keep, axis=axis)
            values = values * draw(st.sampled_from([1, 3, 7]))
    x = _clip_cast(values, dtype)
    if nonfinite and dtype.kind == "f" and x.size:
        fraction = draw(st.sampled_from([0.0, 0.0, 0.02, 0.1, 0.3]))
        if fraction:
            rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
            where = rng.random(x.shape) < fraction
            x[where] = rng.choice(np.array([np.nan, np.inf, -np.inf], dtype), size=int(where.sum()))
    return x


@st.composite
def axes_for(draw, ndim, multi=True):
    """An int axis (negative allowed) or, if ``multi``, a tuple of distinct axes."""
    one = st.integers(-ndim, ndim - 1)
    if not multi or draw(st.booleans()):
        return draw(one)
    chosen = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    return tuple(a - ndim if draw(st.booleans()) else a for a in chosen)


def _bound(lo, hi):
    return st.one_of(st.integers(lo, hi).map(float), st.floats(lo, hi, allow_nan=False))


@st.composite
def intervals(draw, lo, hi, allow_negative_min=True):
    """None, a scalar minimum, or a (min, max) pair with either side None."""
    kind = draw(st.sampled_from(["none", "scalar", "pair"]))
    if kind == "none":
        return None
    if kind == "scalar":
        return draw(_bound(lo, hi))
    a = draw(st.one_of(st.none(), _bound(lo, hi)))
    b = draw(st.one_of(st.none(), _bound(lo, hi)))
    if a is not None and b is not None and a > b:
        a, b = b, a
    pair = (a, b)
    return pair if draw(st.booleans()) else list(pair)


heights = intervals(-2, 12)
thresholds = intervals(0, 6)
rtols = st.one_of(st.none(), st.just(0.0), st.floats(0, 0.5), st.sampled_from([1e-7, 2.0**-20, 1e-3]))


# --------------------------------------------------------------------------
# comparisons
# --------------------------------------------------------------------------


def bits(a):
    a = np.asarray(a)
    return a.view({2: np.uint16, 4: np.uint32, 8: np.uint64}[a.dtype.itemsize])


def assert_bit_identical(got, expected):
    """Same dtype, shape and bits; NaN positions identical (a NaN's payload
    is not compared)."""
    got, expected = np.asarray(got), np.asarray(expected)
    assert got.dtype == expected.dtype
    assert got.shape == expected.shape
    gn, en = np.isnan(got), np.isnan(expected)
    assert np.array_equal(gn, en), "NaN positions differ"
    assert np.array_equal(bits(got)[~gn], bits(expected)[~en]), "bits differ"


def assert_smp_close(got, expected, work):
    """SPEC section 9: SMPs within the accuracy bound of section 6, NaN
    positions identical."""
    got, expected = np.asarray(got), np.asarray(expected)
    assert got.dtype == expected.dtype == work
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=REL_TOL[work], atol=ABS_TOL[work], equal_nan=True)


def call(func, *args, **kwargs):
    """The result of ``func``, or the ValueError it raised."""
    try:
        return func(*args, **kwargs)
    except ValueError as exc:
        return exc
