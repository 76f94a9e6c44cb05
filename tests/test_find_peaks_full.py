"""Issue 18: every argument of ``scipy.signal.find_peaks``, batched over any
axis, and the batched ``peak_prominences`` / ``peak_widths`` /
``peak_offsets``, with SciPy as the oracle line by line; the peak filters
of ``smp``; torch input; inputs left untouched.

Data are plateau-heavy small integers (so equal heights within ``distance``,
the tie case, are common), wide floats and quadratics, with NaN and +-inf
sprinkled into some float arrays (tests/strategies.py). Floats are compared
bit for bit on "numpy" and "cpu", within 1e-12 on "cuda" (the simulator,
tiny launch configurations).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.signal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastsmp
from peak_oracle import (TIE_HINT, check_find_peaks, check_prominences, check_widths, lines_of,
                         mask_from_positions, scipy_find_peaks_lines, to_numpy)
from strategies import (assert_bit_identical, assert_smp_close, examples, intervals, line_arrays,
                        working_dtype)

# SciPy warns PeakPropertyWarning (a RuntimeWarning) for zero prominences and
# widths, NumPy for inf - inf; fastsmp may or may not: warnings are not asserted.
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

BACKENDS = ["numpy", "cpu"]
backends = pytest.mark.parametrize("backend", BACKENDS)

#: float32, float64 and one integer dtype: few kernel variants to compile
DTYPES = (np.float32, np.float64, np.int64)

distances = st.one_of(st.integers(1, 6), st.sampled_from([1.0, 1.5, 2.5, 3.0, 4.2, 6.0]))
wlens = st.one_of(st.none(), st.integers(2, 10), st.sampled_from([1.5, 2.0, 2.5, 3.2, 4.0, 5.5, 9.9]))
#: SciPy's tests' values, and two whose products with a prominence round
rel_heights = st.sampled_from([0.0, 0.5, 1.0, 2.5, 0.3, 0.77])

OPEN = st.sampled_from([(None, None), [None, None]])
#: bounds in the range of the data (small integers mostly), so that peaks
#: survive the filters often; the open interval computes a property without
#: filtering, the case that compares the most values
FILTERS = dict(
    height=st.one_of(OPEN, OPEN, intervals(-3, 4)),
    threshold=st.one_of(OPEN, OPEN, intervals(0, 2)),
    distance=distances,
    prominence=st.one_of(OPEN, OPEN, intervals(0, 3)),
    width=st.one_of(OPEN, OPEN, intervals(0, 4)),
    plateau_size=st.one_of(OPEN, OPEN, intervals(1, 3)),
)


@st.composite
def peak_kwargs(draw, filters=tuple(FILTERS)):
    """A random combination of find_peaks's arguments: each filter left out
    (or passed as None) or drawn; wlen and rel_height sometimes."""
    kwargs = {}
    for name in filters:
        choice = draw(st.integers(0, 9))
        if choice < 4:
            kwargs[name] = draw(FILTERS[name])
        elif choice == 4:
            kwargs[name] = None
    if draw(st.booleans()):
        kwargs["wlen"] = draw(wlens)
    if draw(st.booleans()):
        kwargs["rel_height"] = draw(rel_heights)
    return kwargs


@st.composite
def shapes(draw, max_line=40, max_other=3, max_dims=3):
    """``(shape, axis)``: 1-3 dims, the line along ``axis`` 0 to ``max_line``
    samples (mostly 5 or more), the other sides 1 to ``max_other`` (rarely 0;
    "== 7": Hypothesis favours the bounds of a range, 0 in particular)."""
    ndim = draw(st.integers(1, max_dims))
    axis = draw(st.integers(-ndim, ndim - 1))
    shape = [0 if draw(st.integers(0, 19)) == 7 else draw(st.integers(1, max_other)) for _ in range(ndim)]
    if draw(st.integers(0, 9)) == 7:
        shape[axis] = draw(st.integers(0, 4))
    else:  # spread evenly over 5..max_line (Hypothesis would favour 5)
        shape[axis] = 5 + draw(st.integers(0, 2**20)) % (max_line - 4)
    return tuple(shape), axis


@st.composite
def cases(draw, kwargs=peak_kwargs(), nonfinite=True, dtypes=DTYPES, **shape_kwargs):
    """``(x, axis, kwargs)``: plateau-heavy data (tests/strategies.py), NaN
    and +-inf in some float arrays."""
    shape, axis = draw(shapes(**shape_kwargs))
    x = draw(line_arrays(dtypes=dtypes, shape=shape, nonfinite=nonfinite))
    return x, axis, draw(kwargs)


def run_find_peaks(x, axis, kwargs, backend, return_properties):
    before = x.copy()
    out = fastsmp.find_peaks(x, axis=axis, return_properties=return_properties, backend=backend, **kwargs)
    assert_bit_identical(x, before)  # the input is never modified
    if return_properties:
        assert isinstance(out, tuple) and len(out) == 2
        mask, props = out
        check_find_peaks(x, axis, kwargs, backend, mask, props)
    else:
        check_find_peaks(x, axis, kwargs, backend, out)


# --------------------------------------------------------------------------
# find_peaks: every argument
# --------------------------------------------------------------------------


@backends
@settings(max_examples=examples(150))
@given(case=cases(), return_properties=st.booleans())
def test_find_peaks_matches_scipy(backend, case, return_properties):
    run_find_peaks(*case, backend, return_properties)


@st.composite
def tie_cases(draw):
    """Long lines (20 to 48 samples, so several equal peaks within distance)
    of 0/1/2, sometimes with plateaus, along a random axis of a 1-3-D array."""
    ndim = draw(st.integers(1, 3))
    axis = draw(st.integers(-ndim, ndim - 1))
    shape = [draw(st.integers(1, 3)) for _ in range(ndim)]
    shape[axis] = draw(st.integers(20, 48))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.integers(0, draw(st.sampled_from([2, 3, 3])), size=shape)
    if draw(st.booleans()):  # plateaus: repeat the predecessor along the axis
        moved = np.moveaxis(x, axis, -1)
        n = moved.shape[-1]
        keep = np.maximum.accumulate(np.where(rng.random(moved.shape) < 0.7, np.arange(n), 0), axis=-1)
        x = np.moveaxis(np.take_along_axis(moved, keep, axis=-1), -1, axis)
    x = x.astype(draw(st.sampled_from([np.float64, np.float32, np.int64])))
    kwargs = dict(distance=draw(st.one_of(st.integers(2, 6), st.sampled_from([1.5, 2.5, 3.5]))))
    if draw(st.booleans()):
        kwargs.update(draw(peak_kwargs(filters=("height", "prominence"))))
    return x, axis, kwargs


@backends
@settings(max_examples=examples(100))
@given(case=tie_cases())
def test_distance_ties_match_scipy(backend, case):
    """SciPy visits the peaks in np.argsort(x[peaks]) order (unstable: equal
    heights come in an order that depends on NumPy and the CPU); the batched
    result must be SciPy's all the same."""
    run_find_peaks(*case, backend, True)


def test_tie_order_matters():
    """Guard of the test data above: on this machine, SciPy's distance
    result differs on some of these lines from a stable-order reading, so
    the tie tests do exercise SciPy's own order (``TIE_HINT``)."""
    rng = np.random.default_rng(3)
    differs = 0
    for _ in range(200):
        x = rng.integers(0, 3, 40).astype(np.float64)
        peaks = scipy.signal.find_peaks(x)[0]
        order = np.argsort(x[peaks], kind="stable")
        keep = np.ones(peaks.size, bool)
        for j in order[::-1]:
            if keep[j]:
                near = np.abs(peaks - peaks[j]) < 3
                near[j] = False
                keep &= ~near
        differs += not np.array_equal(peaks[keep], scipy.signal.find_peaks(x, distance=3)[0])
    if differs == 0:
        pytest.skip(f"np.argsort is stable on these data here; ties are still compared with SciPy ({TIE_HINT})")


HAND_PICKED = [
    [0, np.inf, np.inf, np.inf, 0],  # prominence inf - inf = NaN with a small wlen
    [0, 1, np.nan, 2, 0, 3, np.nan, 1, 0],  # NaN inside prominence windows stops the walk
    [np.nan, 2, 0, 2, np.nan, 2, 0],
    [-np.inf, 1, -np.inf, 2, 0, -np.inf, 3, -np.inf],  # -inf bases: NaN interpolation
    [0, 1e300, -1e300, 1e300, 0, 1e300, 1e300, 0],
    [3, 1, 3, 1, 3, 1, 3, 1, 3],  # equal peaks, equal bases
    [0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0],
    [0, 2, 2, 1, 2, 2, 0, 2, 1, 2, 2, 2, 0],
    [0, 1, 2, 1, 3, 3, 3, 1, 2, 1, 0],
    [5, 4, 5, 4, 5, 5, 4, 5, 5, 5, 4, 5, 5, 5, 5, 4],
]
HAND_KWARGS = [
    dict(prominence=(None, None), width=(None, None), plateau_size=(None, None)),
    dict(prominence=(None, None), width=(None, None), wlen=2),
    dict(prominence=(None, None), width=(None, None), wlen=3.5, rel_height=0),
    dict(prominence=1, width=(None, None), rel_height=1.0),
    dict(width=(1, None), rel_height=2.5, wlen=4),
    dict(distance=2, prominence=(None, None), height=(None, None), threshold=(None, None)),
    dict(distance=3, width=(None, 3), plateau_size=(1, 2)),
    dict(distance=1.5, threshold=(0, None), wlen=9.9, prominence=(0, 2)),
]


@backends
def test_hand_picked_edge_cases(backend):
    for values in HAND_PICKED:
        line = np.array(values, np.float64)
        x = np.stack([line, line[::-1], np.roll(line, 3)])
        for kwargs in HAND_KWARGS:
            for a, axis in ((line, -1), (x, 1), (np.asfortranarray(x.T), 0)):
                run_find_peaks(a, axis, kwargs, backend, True)


@backends
def test_width_minimum_at_rounding_edge(backend):
    """Spikes whose neighbours lie a hair below the width height, far into a
    long line: the interpolated crossings round onto the neighbours, so the
    width is exactly 2 and ``width=2`` keeps the peak, while a wider hair drops
    it. The cpu drops peaks by an upper bound of their width before their
    prominence is known; the bound must round as SciPy's width does."""
    n = 6000
    hairs = [0.0, 2.0 ** -54, 2.0 ** -53, 2.0 ** -50, 2.0 ** -44, 2.0 ** -40, 1e-9, 0.25]
    x = np.zeros((len(hairs), n))
    for row, hair in enumerate(hairs):
        for peak in (5, 4000, 5990):
            x[row, peak] = 1.0
            x[row, peak - 1] = 0.5 - hair
            x[row, peak + 1] = 0.5 - hair * (peak % 3)
        x[row, 3000:3003] = [0.1, 2.0, 0.1]  # a higher peak elsewhere: the bound is not the prominence
    for kwargs in (dict(width=2), dict(width=(2, 2)), dict(width=1.999999999), dict(width=2, rel_height=0.5),
                   dict(width=(2, None), distance=5), dict(width=2, prominence=0.5)):
        for a, axis in ((x, 1), (np.ascontiguousarray(x.T), 0)):
            run_find_peaks(a, axis, kwargs, backend, False)


@backends
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_rounding_bit_identical(backend, dtype):
    """Random-walk floats and rel_heights whose products round
    (``x[peak] - prominence * rel_height``, then the interpolated
    intersections): the same float64 operations in the same order as SciPy,
    no fused multiply-add."""
    rng = np.random.default_rng(17)
    x = np.cumsum(rng.standard_normal((6, 300)), axis=1).astype(dtype)
    for rel_height in (0.3, 0.77, 2.5, 1 / 3):
        for wlen in (None, 7.5):
            kwargs = dict(prominence=(None, None), width=(None, None), threshold=(None, None),
                          height=(None, None), wlen=wlen, rel_height=rel_height)
            run_find_peaks(x, 1, kwargs, backend, True)
            mask = to_numpy(fastsmp.find_peaks(x, backend=backend))
            result = fastsmp.peak_widths(x, mask, rel_height=rel_height, wlen=wlen, backend=backend)
            check_widths(x, mask, 1, result, backend, rel_height=rel_height, wlen=wlen)


@settings(max_examples=examples(15), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=cases(max_line=14, max_other=2), seed=st.integers(0, 2**32 - 1))
def test_cuda_matches_scipy(tiny_cuda, case, seed):
    """The cuda backend under the simulator: find_peaks with properties, and
    peak_prominences / peak_widths on random masks."""
    x, axis, kwargs = case
    run_find_peaks(x, axis, kwargs, "cuda", True)
    mask = np.random.default_rng(seed).random(x.shape) < 0.3
    wlen, rel_height = kwargs.get("wlen"), kwargs.get("rel_height", 0.5)
    check_prominences(x, mask, axis, fastsmp.peak_prominences(x, mask, axis=axis, wlen=wlen, backend="cuda"),
                      "cuda", wlen=wlen)
    check_widths(x, mask, axis, fastsmp.peak_widths(x, mask, axis=axis, rel_height=rel_height, wlen=wlen,
                                                    backend="cuda"),
                 "cuda", rel_height=rel_height, wlen=wlen)


# --------------------------------------------------------------------------
# peak_prominences / peak_widths on masks of any positions
# --------------------------------------------------------------------------


@st.composite
def masked_cases(draw, **array_kwargs):
    """An array, an axis and a mask: random positions (line edges and
    non-peaks included), SciPy's peaks, or everything."""
    x, axis, _ = draw(cases(kwargs=st.just({}), **array_kwargs))
    kind = draw(st.sampled_from(["random", "random", "peaks", "peaks+edges", "all"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if kind == "random":
        mask = rng.random(x.shape) < draw(st.sampled_from([0.1, 0.3, 0.7]))
    elif kind == "all":
        mask = np.ones(x.shape, bool)
    else:
        positions = [p for p, _ in scipy_find_peaks_lines(x, axis, {})]
        if kind == "peaks+edges" and x.shape[axis]:
            positions = [np.union1d(p, [0, x.shape[axis] - 1]) for p in positions]
        mask = mask_from_positions(x.shape, axis, positions)
    return x, axis, mask, draw(wlens), draw(rel_heights)


@backends
@settings(max_examples=examples(100))
@given(case=masked_cases())
def test_peak_prominences_and_widths_match_scipy(backend, case):
    x, axis, mask, wlen, rel_height = case
    x_before, mask_before = x.copy(), mask.copy()
    prominence_data = fastsmp.peak_prominences(x, mask, axis=axis, wlen=wlen, backend=backend)
    check_prominences(x, mask, axis, prominence_data, backend, wlen=wlen)
    result = fastsmp.peak_widths(x, mask, axis=axis, rel_height=rel_height, wlen=wlen, backend=backend)
    check_widths(x, mask, axis, result, backend, rel_height=rel_height, wlen=wlen)
    # round trip: the prominence data given back gives the same widths
    again = fastsmp.peak_widths(x, mask, axis=axis, rel_height=rel_height, prominence_data=prominence_data,
                                backend=backend)
    for got, expected in zip(again, result):
        assert_bit_identical(to_numpy(got), to_numpy(expected))
    assert_bit_identical(x, x_before)
    np.testing.assert_array_equal(mask, mask_before)


@backends
@settings(max_examples=examples(50))
@given(case=masked_cases(nonfinite=False), seed=st.integers(0, 2**32 - 1))
def test_peak_widths_with_given_prominence_data(backend, case, seed):
    """prominence_data not from peak_prominences: bases anywhere in
    ``[0, peak]`` and ``[peak, n)`` on the peak's line, any prominence; SciPy
    gets the same data line by line. The arrays given are not modified."""
    x, axis, mask, _, rel_height = case
    rng = np.random.default_rng(seed)
    rows = lines_of(mask, axis)
    peaks = [np.flatnonzero(r) for r in rows]
    n = x.shape[axis]
    left = np.concatenate([[rng.integers(0, p + 1) for p in ps] for ps in peaks] + [np.empty(0, np.intp)])
    right = np.concatenate([[rng.integers(p, n) for p in ps] for ps in peaks] + [np.empty(0, np.intp)])
    proms = rng.choice([0.0, 0.5, 1.0, 2.0, 3.25, 7.0], size=left.size)
    data = (proms.astype(np.float64), left.astype(np.intp), right.astype(np.intp))
    copies = tuple(d.copy() for d in data)
    result = fastsmp.peak_widths(x, mask, axis=axis, rel_height=rel_height, prominence_data=data, backend=backend)
    check_widths(x, mask, axis, result, backend, expected_prominence_data=data, rel_height=rel_height)
    for d, c in zip(data, copies):
        np.testing.assert_array_equal(d, c)


@backends
@settings(max_examples=examples(30))
@given(case=cases(kwargs=st.just({})))
def test_peak_offsets(backend, case):
    """peak_offsets: int64, one more entry than lines, cumulative peak
    counts per line in C order of the other axes; it splits the properties."""
    x, axis, _ = case
    mask, props = fastsmp.find_peaks(x, axis=axis, prominence=(None, None), return_properties=True,
                                     backend=backend)
    mask = to_numpy(mask)
    offsets = to_numpy(fastsmp.peak_offsets(mask, axis=axis))
    rows = lines_of(mask, axis)
    assert offsets.dtype == np.int64
    assert offsets.shape == (rows.shape[0] + 1,)
    np.testing.assert_array_equal(offsets, np.concatenate([[0], np.cumsum(rows.sum(axis=1))]))
    assert to_numpy(props["prominences"]).shape == (offsets[-1],)
    # the order of np.nonzero(np.moveaxis(mask, axis, -1)): the line of each peak
    line_of_peak = np.repeat(np.arange(rows.shape[0]), np.diff(offsets))
    nz = np.nonzero(np.moveaxis(mask, axis, -1))
    flat_lines = np.ravel_multi_index(nz[:-1], np.moveaxis(mask, axis, -1).shape[:-1]) if x.ndim > 1 else \
        np.zeros(nz[0].size, np.intp)
    np.testing.assert_array_equal(line_of_peak, flat_lines)
    # any bool mask, not only find_peaks's
    random_mask = np.random.default_rng(x.size).random(x.shape) < 0.5
    np.testing.assert_array_equal(to_numpy(fastsmp.peak_offsets(random_mask, axis=axis)),
                                  np.concatenate([[0], np.cumsum(lines_of(random_mask, axis).sum(axis=1))]))


# --------------------------------------------------------------------------
# smp with the peak filters
# --------------------------------------------------------------------------


def smp_oracle(x, axis, kwargs):
    """Per line of ``a = |curvature(x)|`` (rtol=0): the float64 sum of the
    heights of SciPy's peaks, and their number."""
    a = np.abs(to_numpy(fastsmp.curvature(x, axis=axis, backend="numpy")))
    out_shape = tuple(n for k, n in enumerate(x.shape) if k != axis % x.ndim)
    sums, counts = [], []
    for line in lines_of(a, axis).astype(np.float64):
        peaks = scipy.signal.find_peaks(line, **kwargs)[0]
        sums.append(line[peaks].sum())
        counts.append(peaks.size)
    return np.array(sums, np.float64).reshape(out_shape), np.array(counts, np.int64).reshape(out_shape)


@backends
@settings(max_examples=examples(100))
@given(case=cases(nonfinite=False))
def test_smp_filters_match_scipy_oracle(backend, case):
    x, axis, kwargs = case
    before = x.copy()
    s, c = fastsmp.smp(x, axis=axis, rtol=0, return_counts=True, backend=backend, **kwargs)
    assert_bit_identical(x, before)
    sums, counts = smp_oracle(x, axis, kwargs)
    work = working_dtype(x.dtype)
    assert_smp_close(to_numpy(s), sums.astype(work), work)
    np.testing.assert_array_equal(to_numpy(c), counts)


@backends
def test_smp_filters_over_two_axes(backend):
    """Over axis=(0, 1) the SMP of the block is the sum over both axes of the
    filtered line SMPs."""
    rng = np.random.default_rng(11)
    x = np.cumsum(rng.integers(-3, 4, size=(2, 9, 12)), axis=-1).astype(np.float64)
    kwargs = dict(distance=2.5, prominence=(1, None), width=(None, 6), wlen=5, rel_height=1.0)
    s, c = fastsmp.smp(x, axis=(1, 2), rtol=0, return_counts=True, backend=backend, **kwargs)
    s1, c1 = smp_oracle(x, 1, kwargs)
    s2, c2 = smp_oracle(x, 2, kwargs)
    np.testing.assert_allclose(to_numpy(s), s1.sum(axis=1) + s2.sum(axis=1), rtol=1e-12)
    np.testing.assert_array_equal(to_numpy(c), c1.sum(axis=1) + c2.sum(axis=1))


@settings(max_examples=examples(10), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=cases(nonfinite=False, max_line=16, max_other=3, max_dims=2))
def test_smp_filters_cuda(tiny_cuda, case):
    x, axis, kwargs = case
    s, c = fastsmp.smp(x, axis=axis, rtol=0, return_counts=True, backend="cuda", **kwargs)
    sums, counts = smp_oracle(x, axis, kwargs)
    work = working_dtype(x.dtype)
    assert_smp_close(to_numpy(s), sums.astype(work), work)
    np.testing.assert_array_equal(to_numpy(c), counts)


# --------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------


@backends
def test_errors(backend):
    x = np.array([[0, 2, 1, 3, 0, 1, 0], [1, 0, 2, 0, 3, 3, 1]], dtype=np.float64)
    mask = np.zeros(x.shape, bool)
    mask[:, 2] = True
    for distance in (0, 0.5, -1):
        with pytest.raises(ValueError, match="distance"):
            fastsmp.find_peaks(x, distance=distance, backend=backend)
        with pytest.raises(ValueError, match="distance"):
            fastsmp.smp(x, distance=distance, backend=backend)
    for wlen in (1, 0, -3, 0.5, 1.0):
        with pytest.raises(ValueError, match="wlen"):
            fastsmp.find_peaks(x, prominence=1, wlen=wlen, backend=backend)
        with pytest.raises(ValueError, match="wlen"):
            fastsmp.find_peaks(x, width=1, wlen=wlen, backend=backend)
        with pytest.raises(ValueError, match="wlen"):
            fastsmp.peak_prominences(x, mask, wlen=wlen, backend=backend)
        with pytest.raises(ValueError, match="wlen"):
            fastsmp.peak_widths(x, mask, wlen=wlen, backend=backend)
        with pytest.raises(ValueError, match="wlen"):
            fastsmp.smp(x, prominence=1, wlen=wlen, backend=backend)
    for rel_height in (-1, -0.5):
        with pytest.raises(ValueError, match="rel_height"):
            fastsmp.find_peaks(x, width=1, rel_height=rel_height, backend=backend)
        with pytest.raises(ValueError, match="rel_height"):
            fastsmp.peak_widths(x, mask, rel_height=rel_height, backend=backend)
        with pytest.raises(ValueError, match="rel_height"):
            fastsmp.smp(x, width=1, rel_height=rel_height, backend=backend)
    # SciPy checks wlen and rel_height even when no line has a peak
    with pytest.raises(ValueError, match="wlen"):
        fastsmp.find_peaks(np.zeros((2, 5)), prominence=(None, None), wlen=1, backend=backend)
    with pytest.raises(ValueError, match="rel_height"):
        fastsmp.find_peaks(np.zeros((2, 5)), width=(None, None), rel_height=-1, backend=backend)
    # prominence_data of the wrong length (2 peaks marked)
    good = tuple(to_numpy(v) for v in fastsmp.peak_prominences(x, mask, backend=backend))
    for k in range(3):
        for bad in (good[k][:1], np.concatenate([good[k], good[k][:1]])):
            data = list(good)
            data[k] = bad
            with pytest.raises(ValueError, match="prominence_data"):
                fastsmp.peak_widths(x, mask, prominence_data=tuple(data), backend=backend)
    # bases that do not bracket their peak on its line
    for k, value in ((1, 3), (2, 1), (1, -1), (2, 7)):
        data = [g.copy() for g in good]
        data[k][0] = value
        with pytest.raises(ValueError):
            fastsmp.peak_widths(x, mask, prominence_data=tuple(data), backend=backend)
    # masks of another shape
    for bad_mask in (mask.T, mask[:, :-1], mask[0], mask[None]):
        with pytest.raises(ValueError):
            fastsmp.peak_prominences(x, bad_mask, backend=backend)
        with pytest.raises(ValueError):
            fastsmp.peak_widths(x, bad_mask, backend=backend)
    # fastsmp's own: axis and dtype
    with pytest.raises(ValueError):  # numpy.exceptions.AxisError is a ValueError
        fastsmp.find_peaks(x, axis=2, distance=2, backend=backend)
    with pytest.raises(ValueError):
        fastsmp.peak_prominences(x, mask, axis=-3, backend=backend)
    with pytest.raises(ValueError):
        fastsmp.peak_widths(x, mask, axis=2, backend=backend)
    with pytest.raises(ValueError):
        fastsmp.peak_offsets(mask, axis=5)
    for complex_x in (x.astype(np.complex128), x.astype(np.complex64)):
        with pytest.raises(TypeError):
            fastsmp.find_peaks(complex_x, prominence=1, return_properties=True, backend=backend)
        with pytest.raises(TypeError):
            fastsmp.peak_prominences(complex_x, mask, backend=backend)
        with pytest.raises(TypeError):
            fastsmp.peak_widths(complex_x, mask, backend=backend)


@backends
def test_valid_edge_arguments(backend):
    """What SciPy accepts at the edges: distance 1, wlen just above 1 (rounded
    up to 2, a window of 3), rel_height 0, distance beyond the line, and
    wlen / rel_height ignored (not checked) where no prominence / width is asked for."""
    x = np.array([[0, 2, 1, 3, 0, 1, 0, 4, 4, 0], [1, 0, 2, 0, 3, 3, 1, 1, 2, 0]], dtype=np.float64)
    for kwargs in (dict(distance=1), dict(distance=1.0, prominence=0), dict(prominence=0, wlen=1.0001),
                   dict(width=0, rel_height=0), dict(distance=100),
                   dict(prominence=(None, None), wlen=2, width=(None, None))):
        run_find_peaks(x, -1, kwargs, backend, True)
        run_find_peaks(x.T, 0, kwargs, backend, False)


@backends
def test_unused_wlen_and_rel_height_are_not_checked(backend):
    """SciPy validates ``wlen`` only under ``if prominence is not None or
    width is not None`` and ``rel_height`` only in ``_peak_widths`` (so only
    with ``width``): find_peaks(x, distance=2, wlen=1) and
    find_peaks(x, height=1, rel_height=-1) do not raise there."""
    x = np.array([[0, 2, 1, 3, 0, 1, 0, 4, 4, 0], [1, 0, 2, 0, 3, 3, 1, 1, 2, 0]], dtype=np.float64)
    for kwargs in (dict(distance=2, wlen=1), dict(height=1, rel_height=-1), dict(wlen=0, rel_height=-2)):
        run_find_peaks(x, -1, kwargs, backend, True)


# --------------------------------------------------------------------------
# torch input
# --------------------------------------------------------------------------


@backends
def test_torch_cpu_tensors(backend):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    x = rng.integers(0, 4, size=(3, 17)).astype(np.float32)
    kwargs = dict(height=(None, None), threshold=(None, None), distance=2, prominence=(None, None),
                  width=(None, None), plateau_size=(None, None), wlen=6)
    for axis in (0, 1, -1):
        t = torch.from_numpy(x.copy())
        mask, props = fastsmp.find_peaks(t, axis=axis, return_properties=True, backend=backend, **kwargs)
        assert isinstance(mask, torch.Tensor)
        assert all(isinstance(v, torch.Tensor) for v in props.values())
        check_find_peaks(x, axis, kwargs, backend, mask, props)
        prominence_data = fastsmp.peak_prominences(t, mask, axis=axis, wlen=6, backend=backend)
        assert all(isinstance(v, torch.Tensor) for v in prominence_data)
        check_prominences(x, to_numpy(mask), axis, prominence_data, backend, wlen=6)
        result = fastsmp.peak_widths(t, mask, axis=axis, rel_height=1.0, wlen=6, backend=backend)
        assert all(isinstance(v, torch.Tensor) for v in result)
        check_widths(x, to_numpy(mask), axis, result, backend, rel_height=1.0, wlen=6)
        again = fastsmp.peak_widths(t, mask, axis=axis, rel_height=1.0, prominence_data=prominence_data,
                                    backend=backend)
        for got, expected in zip(again, result):
            assert_bit_identical(to_numpy(got), to_numpy(expected))
        offsets = fastsmp.peak_offsets(mask, axis=axis)
        np.testing.assert_array_equal(to_numpy(offsets),
                                      np.concatenate([[0], np.cumsum(lines_of(to_numpy(mask), axis).sum(1))]))
        s, c = fastsmp.smp(t, axis=axis, rtol=0, return_counts=True, backend=backend, distance=2,
                           prominence=1, width=(None, 4), wlen=6)
        assert isinstance(s, torch.Tensor)
        sums, counts = smp_oracle(x, axis, dict(distance=2, prominence=1, width=(None, 4), wlen=6))
        assert_smp_close(to_numpy(s), sums.astype(np.float32), np.dtype(np.float32))
        np.testing.assert_array_equal(to_numpy(c), counts)
        assert torch.equal(t, torch.from_numpy(x))  # not modified


# --------------------------------------------------------------------------
# inputs never modified; layouts
# --------------------------------------------------------------------------


@backends
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_inputs_not_modified_and_views(backend, dtype):
    """Non-contiguous views, Fortran order and read-only arrays: the same
    results as SciPy, and neither the data, the mask nor the prominence data
    are written to."""
    rng = np.random.default_rng(9)
    base = rng.integers(-2, 3, size=(6, 40)).astype(dtype)
    base[rng.random(base.shape) < 0.05] = np.nan
    readonly = base.copy()
    readonly.flags.writeable = False
    kwargs = dict(distance=2, prominence=(0.5, None), width=(None, None), wlen=7, rel_height=1.0,
                  threshold=(None, None), height=(None, None), plateau_size=(None, 3))
    for x, axis in ((base[:, ::2], 1), (base[::2, :], 0), (np.asfortranarray(base), 1), (base.T, 0),
                    (readonly, -1), (base[1:4, 3:30].T, -1)):
        x_before = x.copy()
        run_find_peaks(x, axis, kwargs, backend, True)
        mask = rng.random(x.shape) < 0.3
        mask_view = np.asfortranarray(mask)
        mask_before = mask.copy()
        data = fastsmp.peak_prominences(x, mask_view, axis=axis, wlen=5, backend=backend)
        check_prominences(x, mask, axis, data, backend, wlen=5)
        data_before = tuple(to_numpy(d).copy() for d in data)
        result = fastsmp.peak_widths(x, mask_view, axis=axis, rel_height=0.5, prominence_data=data, backend=backend)
        check_widths(x, mask, axis, result, backend, expected_prominence_data=data_before)
        fastsmp.smp(x, axis=axis, rtol=0, distance=2, prominence=1, backend=backend)
        assert_bit_identical(x, x_before)
        np.testing.assert_array_equal(mask_view, mask_before)
        for d, b in zip(data, data_before):
            assert_bit_identical(to_numpy(d), b)


def test_integer_input_is_exact():
    """int64 beyond 2**53 is not float64-exact: SciPy casts to float64, and
    so must fastsmp (props bit-identical to SciPy on the cast data)."""
    x = np.array([[0, 2**60 + 1, 2**60, 3, 2**60 + 3, 0], [5, 1, 7, 7, 2, 9]], dtype=np.int64)
    kwargs = dict(prominence=(None, None), width=(None, None), height=(None, None), threshold=(None, None),
                  plateau_size=(None, None))
    for backend in BACKENDS:
        run_find_peaks(x, -1, kwargs, backend, True)



@backends
def test_zero_prominence_and_width_warn_as_scipy(backend):
    """SciPy warns (PeakPropertyWarning) when a measured prominence or width
    is 0; fastsmp warns with its own class of the same name, and only then."""
    x = np.array([[0.0, 2, 1, 3, 0], [1, 1, 1, 1, 1]])
    on_flat = np.zeros(x.shape, bool)
    on_flat[1, 2] = True  # a plateau sample: prominence 0
    with pytest.warns(fastsmp.PeakPropertyWarning, match="prominence of 0"):
        fastsmp.peak_prominences(x, on_flat, backend=backend)
    with pytest.warns(fastsmp.PeakPropertyWarning, match="width of 0"):
        fastsmp.peak_widths(x, on_flat, backend=backend)
    peaks = fastsmp.find_peaks(x, backend=backend)
    with warnings.catch_warnings():
        warnings.simplefilter("error", fastsmp.PeakPropertyWarning)
        prom = fastsmp.peak_prominences(x, peaks, backend=backend)[0]
        fastsmp.peak_widths(x, peaks, backend=backend)
    np.testing.assert_array_equal(prom, [1.0, 3.0])
