"""The CUDA walkers on the simulator, with stretches and blocks shrunk so
that every kind of edge falls between two threads: plateaus that run
through several stretches and end in a fall, a rise or the line's end,
peaks on a stretch's first and last value, NaN and inf at every place, and
finite samples whose noise-floor sum overflows. Masks, counts and curvature
must equal the numpy reference exactly, sums within SPEC 6, along rows and
columns."""

import numpy as np
import pytest

import fastsmp
from fastsmp.backends.cuda import backend as cuda_backend

N = 16


def _lines():
    rng = np.random.default_rng(7)
    plateau = np.zeros(N)
    plateau[2:11] = 1.0  # 9 equal values, through several stretches, then a fall
    rising = plateau.copy()
    rising[11:] = 2.0  # the same plateau ends in a rise
    at_end = np.zeros(N)
    at_end[5:] = 3.0  # a plateau that reaches the last sample: no peak
    zigzag = np.tile([0.0, 1.0], N // 2)  # a peak on every other value
    steps = np.repeat([0.0, 2.0, 1.0, 3.0], N // 4)
    lines = [plateau, rising, at_end, zigzag, steps, rng.integers(0, 3, N).astype(float)]
    for k in (0, 1, 2, 7, N - 2, N - 1):  # a NaN, then an inf, at the edges and inside
        for bad in (np.nan, -np.inf):
            line = rng.integers(0, 3, N).astype(float)
            line[k] = bad
            lines.append(line)
    huge = rng.integers(0, 3, N).astype(float) * 1e308  # s overflows, the samples are finite
    lines.append(huge)
    return np.stack(lines)


LINES = _lines()


@pytest.fixture(params=[(1, 1), (2, 3), (3, 2), (5, 32)], ids=lambda p: f"stretch{p[0]}-threads{p[1]}")
def shrunk(request, monkeypatch):
    stretch, threads = request.param
    monkeypatch.setattr(cuda_backend, "config", cuda_backend.LaunchConfig(threads=threads, stretch=stretch))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("axis", [-1, 0])
def test_walkers_match_the_reference_on_every_edge(shrunk, dtype, axis):
    with np.errstate(over="ignore", invalid="ignore"):
        x = LINES.astype(dtype)
    if axis == 0:
        x = np.ascontiguousarray(x.T)  # lines down the columns: neighbouring threads walk neighbouring lines
    for kw in ({}, {"height": 0.5, "threshold": (0.0, None)}):
        want = fastsmp.smp(x, axis=axis, return_counts=True, backend="numpy", **kw)
        got = fastsmp.smp(x, axis=axis, return_counts=True, backend="cuda", **kw)
        np.testing.assert_array_equal(got[1], want[1])
        np.testing.assert_allclose(got[0], want[0], rtol=1e-6, equal_nan=True)
        np.testing.assert_array_equal(fastsmp.find_peaks(x, axis=axis, backend="cuda", **kw),
                                      fastsmp.find_peaks(x, axis=axis, backend="numpy", **kw))
    np.testing.assert_array_equal(fastsmp.curvature(x, axis=axis, backend="cuda"),
                                  fastsmp.curvature(x, axis=axis, backend="numpy"))


def test_stretches_cover_each_line_once():
    stretches, blocks, threads = cuda_backend.launch((3, 1000, 5), 998)
    assert stretches.count * stretches.length >= 998 > (stretches.count - 1) * stretches.length
    assert blocks * threads >= 3 * 5 * stretches.count


def test_lines_far_apart_keep_whole_stretches():
    """Positions are 64-bit: lines 2**31 samples apart walk stretches of
    the full length (only a walk's count of values is 32-bit)."""
    stretches, _, _ = cuda_backend.launch((1, 1000, 2**31), 998)
    assert stretches.length == cuda_backend.MAX_STRETCH
    assert stretches.count == 2


def test_long_lines_add_their_stretches_in_a_second_launch(monkeypatch):
    """More than LONG_LINE_PARTIALS stretches a line: one block per line
    adds them (the path of a few very long lines)."""
    monkeypatch.setattr(cuda_backend, "config", cuda_backend.LaunchConfig(threads=8, stretch=2))
    x = np.random.default_rng(1).integers(0, 4, size=(2, 2 * cuda_backend.LONG_LINE_PARTIALS + 41)).astype(np.float32)
    x[1, 77] = np.nan
    assert not cuda_backend.launch((2, x.shape[1], 1), x.shape[1] - 2)[0].fused
    want = fastsmp.smp(x, return_counts=True, backend="numpy")
    got = fastsmp.smp(x, return_counts=True, backend="cuda")
    np.testing.assert_array_equal(got[1], want[1])
    np.testing.assert_allclose(got[0], want[0], rtol=1e-6, equal_nan=True)


class _Launches:
    """Counts the kernel launches and the device allocations of the cuda
    backend (scratch included)."""

    def __init__(self, monkeypatch):
        self.launched, self.allocated = [], []
        on_stream, device_array = cuda_backend.on_stream, cuda_backend.device_array

        def count_launch(kernel, blocks, threads, shared=0):
            self.launched.append(kernel.py_func.__name__)
            return on_stream(kernel, blocks, threads, shared)

        def count_allocation(shape, dtype):
            self.allocated.append(np.dtype(dtype).name)
            return device_array(shape, dtype)

        monkeypatch.setattr(cuda_backend, "on_stream", count_launch)
        monkeypatch.setattr(cuda_backend, "device_array", count_allocation)


def test_an_smp_call_is_one_launch_and_two_allocations(monkeypatch, tiny_cuda):
    """The launch path: per call one kernel (the last stretch of each line
    adds the line up), the two results allocated in the result's dtype (no
    float64 copy to cast), and scratch that is kept between calls; the
    arrivals it counts in are left zeroed, so the next call is right."""
    from numba import cuda

    cuda_backend.free_scratch()
    spy = _Launches(monkeypatch)
    rng = np.random.default_rng(5)
    shapes = [((3, 9, 50), 1), ((6, 40), -1), ((6, 40), -1), ((30, 7), 0), ((3, 9, 50), -1)]
    for call, (shape, axis) in enumerate(shapes):
        x = rng.integers(0, 3, size=shape).astype(np.float32)
        spy.launched.clear()
        spy.allocated.clear()
        s, k = fastsmp.smp(cuda.to_device(x), axis=axis, return_counts=True)
        if call == 0:  # the first call allocates and zeroes the scratch
            assert spy.launched == ["fill", "fill", "fill", "smp_stretches"], spy.launched
            assert sorted(spy.allocated) == ["float32", "float64", "int32", "int64", "int64"], spy.allocated
        else:
            assert spy.launched == ["smp_stretches"], spy.launched
            assert sorted(spy.allocated) == ["float32", "int64"], spy.allocated
        want = fastsmp.smp(x, axis=axis, return_counts=True, backend="numpy")
        np.testing.assert_array_equal(k.copy_to_host(), want[1])
        np.testing.assert_allclose(s.copy_to_host(), want[0], rtol=1e-6)
    assert len(cuda_backend._scratch) == 3


@pytest.mark.parametrize("threads, dtype", [(1, np.float64), (3, np.float32), (32, np.float64)])
def test_maps_a_block_each_match_the_reference(monkeypatch, threads, dtype):
    """Both axes of each map in one block (rows and columns walked from
    shared memory): maps wider and narrower than a block, a NaN, an inf,
    plateaus, and maps too small for any peak."""
    monkeypatch.setattr(cuda_backend, "config", cuda_backend.LaunchConfig(threads=threads, stretch=3))
    rng = np.random.default_rng(11)
    for shape in [(3, 2, 7, 9), (2, 16, 5), (4, 3, 3), (1, 6, 40)]:
        x = rng.integers(0, 3, size=shape).astype(dtype)
        x.reshape(-1)[5] = np.nan
        x.reshape(-1)[-4] = np.inf
        for kw in ({}, {"height": 1.5}):
            assert cuda_backend.smp_maps(cuda_backend.to_device(x), dtype(0), (None,) * 4) is not None
            want = fastsmp.smp(x, axis=(-2, -1), return_counts=True, backend="numpy", **kw)
            got = fastsmp.smp(x, axis=(-2, -1), return_counts=True, backend="cuda", **kw)
            np.testing.assert_array_equal(got[1], want[1])
            np.testing.assert_allclose(got[0], want[0], rtol=1e-6, equal_nan=True)


def test_maps_too_large_for_shared_memory_fall_back_to_lines():
    x = cuda_backend.to_device(np.zeros((1, 200, 200)))
    assert cuda_backend.smp_maps(x, 0.0, (None,) * 4) is None
