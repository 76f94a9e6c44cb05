"""Issue 18, CUDA: SciPy's peak rules on the GPU design (fastsmp/backends/cuda/
selection.py, distance.py) under the simulator, with launch configurations
so small (stretches of 1 to 5 samples, 1 to 4 threads a block, segments of
as many entries) that plateaus, prominence and width walks, ``wlen``
windows, ``distance`` chains and the segments of the sums cross stretch and
block boundaries. SciPy is the oracle line by line: masks and integer
properties exact, float properties within SPEC 6's bound (tests/peak_oracle.py).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

import fastsmp
from fastsmp.backends.cuda import backend as cuda_backend
from fastsmp.backends.cuda import distance as cuda_distance
from fastsmp.backends.cuda import selection as cuda_selection
from peak_oracle import check_find_peaks, check_prominences, check_widths, lines_of, to_numpy
from strategies import assert_bit_identical, assert_smp_close, working_dtype

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

CONFIGS = [(1, 1), (2, 3), (3, 2), (5, 4)]


@pytest.fixture(params=CONFIGS, ids=lambda p: f"stretch{p[0]}-threads{p[1]}")
def shrunk(request, monkeypatch):
    stretch, threads = request.param
    monkeypatch.setattr(cuda_backend, "config", cuda_backend.LaunchConfig(threads=threads, stretch=stretch))
    monkeypatch.setattr(cuda_selection, "THREADS", 2)
    return request.param


def _data(seed, shape, kind):
    rng = np.random.default_rng(seed)
    if kind == "plateaus":  # small integers: plateaus and equal heights within reach
        return rng.integers(0, 3, shape).astype(np.float64)
    if kind == "walk":
        return np.cumsum(rng.standard_normal(shape), axis=-1).astype(np.float32)
    x = rng.standard_normal(shape)
    x[rng.random(shape) < 0.08] = np.nan
    return x


ALL = dict(height=(None, None), threshold=(None, None), prominence=(None, None), width=(None, None),
           plateau_size=(None, None))
KWARGS = [
    dict(distance=3, **ALL),
    dict(distance=2.5, prominence=(0.5, None), wlen=5, **{k: v for k, v in ALL.items() if k != "prominence"}),
    dict(width=(1, 4), rel_height=0.7, wlen=4, plateau_size=(1, 3)),
    dict(distance=5, prominence=1, height=(0.5, None), threshold=(0, None)),
    dict(plateau_size=(2, None), distance=2, width=(None, None), rel_height=1.0),
]


@pytest.mark.parametrize("kind", ["plateaus", "walk", "nan"])
def test_find_peaks_matches_scipy_on_tiny_launches(shrunk, kind):
    for seed, (shape, axis) in enumerate([((3, 19), 1), ((13, 2, 3), 0), ((2, 11, 2), 1)]):
        x = _data(seed, shape, kind)
        before = x.copy()
        for kwargs in KWARGS:
            mask, props = fastsmp.find_peaks(x, axis=axis, backend="cuda", return_properties=True, **kwargs)
            check_find_peaks(x, axis, kwargs, "cuda", mask, props)
            mask = fastsmp.find_peaks(x, axis=axis, backend="cuda", **kwargs)
            check_find_peaks(x, axis, kwargs, "cuda", mask)
        assert_bit_identical(x, before)


def test_long_plateaus_and_bases_cross_stretches(shrunk):
    """Plateaus and prominence walks many stretches long."""
    line = np.array([0, 1, 1, 1, 1, 1, 1, 1, 0, 2, 2, 2, 2, 0.5, 0.5, 3, 3, 3, 3, 3, 3, 1, 4, 0, 0, 0, 1, 0.0])
    x = np.stack([line, line[::-1], np.roll(line, 5)])
    for kwargs in (dict(plateau_size=(None, None), prominence=(None, None), width=(None, None)),
                   dict(plateau_size=(3, 6), distance=4, prominence=(None, None), wlen=9),
                   dict(plateau_size=(None, None), distance=9, width=(2, None), rel_height=0.4)):
        for axis, a in ((1, x), (0, np.ascontiguousarray(x.T))):
            mask, props = fastsmp.find_peaks(a, axis=axis, backend="cuda", return_properties=True, **kwargs)
            check_find_peaks(a, axis, kwargs, "cuda", mask, props)


def _chains():
    """Lines whose peaks rise (or fall, or tie) within reach of each other:
    long chains of decisions for the distance rounds."""
    rising = np.zeros(41)
    rising[1::2] = np.arange(1, 21)
    tied = np.zeros(41)
    tied[1::2] = 1.0
    zigzag = np.zeros(41)
    zigzag[1::2] = np.tile([3.0, 1.0, 2.0, 2.0], 5)
    return np.stack([rising, rising[::-1], tied, zigzag, np.maximum(rising, rising[::-1])])


@pytest.mark.parametrize("rounds", [0, 1, 3, 1000])
def test_distance_rounds_equal_scipys_greedy(monkeypatch, shrunk, rounds):
    """Pure rounds (1000: every chain decided a round at a time), the
    sequential finish only (0) and both (1, 3): SciPy's peaks, ties
    included, on chains that cross stretches, blocks and lines."""
    monkeypatch.setattr(cuda_distance, "ROUNDS", rounds)
    x = _chains()
    rng = np.random.default_rng(rounds)
    y = rng.integers(0, 4, (4, 30)).astype(np.float64)
    for distance in (1, 2, 3, 4.5, 7, 40):
        for a, axis in ((x, 1), (np.ascontiguousarray(x.T), 0), (y, 1)):
            kwargs = dict(distance=distance)
            check_find_peaks(a, axis, kwargs, "cuda", fastsmp.find_peaks(a, axis=axis, backend="cuda", **kwargs))


def test_distance_select_on_a_table(monkeypatch):
    """:func:`cuda.distance.select` on a table of random heights with ties
    against SciPy's loop (peak_rules.keep_distant on the host), every line
    of many peaks, the rounds alone."""
    from fastsmp.backends import peak_table
    from fastsmp.backends.peak_rules import keep_distant

    monkeypatch.setattr(cuda_distance, "ROUNDS", 10_000)
    rng = np.random.default_rng(5)
    sizes = np.array([0, 1, 7, 30, 2, 25])
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    peaks = np.concatenate([np.sort(rng.choice(np.arange(1, 200, 2), s, replace=False)) for s in sizes]).astype(
        np.int64)
    heights = rng.integers(0, 4, peaks.size).astype(np.float64)
    for distance in (2.0, 5.0, 13.0):
        keep = cuda_selection.full(peaks.size, np.uint8, 1)
        cuda_distance.select(cuda_selection, offsets, cuda_selection.to_device(offsets), cuda_selection.to_device(peaks),
                             cuda_selection.to_device(heights), keep, distance)
        expected = np.ones(peaks.size, np.uint8)
        order = peak_table.order_by_height(heights, offsets)
        for line in range(sizes.size):
            keep_distant.py(peaks, order, expected, offsets[line], offsets[line + 1], distance)
        np.testing.assert_array_equal(cuda_selection.to_host(keep), expected)


def test_prominences_and_widths_at_marks(shrunk):
    rng = np.random.default_rng(3)
    x = np.cumsum(rng.standard_normal((3, 17)), axis=1)
    x[1, 6:9] = 2.0
    for axis, a in ((1, x), (0, np.ascontiguousarray(x.T))):
        mask = rng.random(a.shape) < 0.3
        for wlen in (None, 4):
            check_prominences(a, mask, axis, fastsmp.peak_prominences(a, mask, axis=axis, wlen=wlen,
                                                                      backend="cuda"), "cuda", wlen=wlen)
            check_widths(a, mask, axis, fastsmp.peak_widths(a, mask, axis=axis, rel_height=0.6, wlen=wlen,
                                                            backend="cuda"), "cuda", rel_height=0.6, wlen=wlen)


def _smp_oracle(x, axis, kwargs):
    a = np.abs(to_numpy(fastsmp.curvature(x, axis=axis, backend="numpy")))
    out_shape = tuple(n for k, n in enumerate(x.shape) if k != axis % x.ndim)
    sums, counts = [], []
    for line in lines_of(a, axis).astype(np.float64):
        if not np.isfinite(line).all():
            sums.append(np.nan)
            counts.append(0)
            continue
        peaks = scipy.signal.find_peaks(line, **kwargs)[0]
        sums.append(line[peaks].sum())
        counts.append(peaks.size)
    return np.array(sums, np.float64).reshape(out_shape), np.array(counts, np.int64).reshape(out_shape)


@pytest.mark.parametrize("kind", ["plateaus", "walk", "nan"])
def test_smp_with_rules_matches_scipy(shrunk, kind):
    """SMP and counts with every rule: the floored magnitude written stretch
    by stretch, the kept heights added by segments, NaN lines NaN."""
    for seed, (shape, axis) in enumerate([((3, 23), 1), ((14, 3), 0)]):
        x = _data(seed, shape, kind)
        before = x.copy()
        for kwargs in (dict(distance=3, prominence=(0.5, None)), dict(width=(1, None), wlen=6, plateau_size=(1, 2)),
                       dict(distance=2)):
            s, c = fastsmp.smp(x, axis=axis, rtol=0, return_counts=True, backend="cuda", **kwargs)
            sums, counts = _smp_oracle(x, axis, kwargs)
            work = working_dtype(x.dtype)
            assert_smp_close(to_numpy(s), sums.astype(work), work)
            np.testing.assert_array_equal(to_numpy(c), counts)
        assert_bit_identical(x, before)


def test_same_bits_every_run(shrunk):
    x = np.cumsum(np.random.default_rng(9).standard_normal((3, 40)), axis=1)
    kwargs = dict(distance=3, prominence=(0, None), width=(None, None))
    first = fastsmp.find_peaks(x, backend="cuda", return_properties=True, **kwargs)
    again = fastsmp.find_peaks(x, backend="cuda", return_properties=True, **kwargs)
    np.testing.assert_array_equal(to_numpy(first[0]), to_numpy(again[0]))
    for key in first[1]:
        assert_bit_identical(to_numpy(again[1][key]), to_numpy(first[1][key]))
    s1 = fastsmp.smp(x, rtol=0, backend="cuda", **kwargs)
    s2 = fastsmp.smp(x, rtol=0, backend="cuda", **kwargs)
    assert_bit_identical(to_numpy(s2), to_numpy(s1))


def test_segments_cut_lines_in_order(monkeypatch):
    """Segments of at most ``stretch`` entries, line by line, empty lines
    none."""
    monkeypatch.setattr(cuda_backend, "config", cuda_backend.LaunchConfig(threads=4, stretch=3))
    offsets = np.array([0, 0, 7, 8, 8, 14], np.int64)
    seg = cuda_selection.segments(offsets)
    bounds = cuda_selection.to_host(seg.bounds)
    np.testing.assert_array_equal(cuda_selection.to_host(seg.offsets), [0, 0, 3, 4, 4, 6])
    np.testing.assert_array_equal(bounds, [[0, 3, 6, 7, 8, 11], [3, 6, 7, 8, 11, 14], [1, 1, 1, 2, 4, 4]])


def test_no_kernel_is_a_thread_per_line_walk(monkeypatch, shrunk):
    """The launches of a find_peaks call with every rule: the table fill
    has a thread per stretch, the per-peak steps a thread per entry; only
    the short loops over a line's segment partials take a thread per line."""
    launched = []
    real = cuda_selection.on_stream

    def count(kernel, blocks, threads, shared=0):
        launched.append((getattr(kernel, "__name__", None) or kernel.py_func.__name__, blocks * threads))
        return real(kernel, blocks, threads, shared)

    monkeypatch.setattr(cuda_selection, "on_stream", count)
    x = np.cumsum(np.random.default_rng(1).standard_normal((2, 30)), axis=1)
    fastsmp.find_peaks(x, backend="cuda", return_properties=True, prominence=(None, None), width=(None, None))
    names = {name for name, _ in launched}
    assert {"maxima_stretches", "measure_peaks", "mark_peaks", "count_segments", "compact_segments"} <= names
    assert not names & {"maxima_lines", "measure_lines", "mark_lines", "keep_distant_lines"}
