"""Every error of issue 2, requirement 6, with its message."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastsmp

FUNCS = [fastsmp.smp, fastsmp.find_peaks, fastsmp.curvature]
GOOD = np.arange(12, dtype=np.float64).reshape(2, 6)


@pytest.mark.parametrize("func", FUNCS, ids=lambda f: f.__name__)
@pytest.mark.parametrize(
    "x, what",
    [
        (np.array([True, False, True, False, True]), "bool"),
        (np.arange(6) * (1 + 1j), "complex"),
        (np.array([1.0, 2.0, 3.0, 4.0, 5.0], dtype=object), "object"),
        (np.array(["a", "b", "c", "d", "e"]), "string"),
        (np.array([b"a", b"b", b"c", b"d", b"e"]), "bytes"),
        (np.arange(6).astype("datetime64[s]"), "datetime"),
        (np.arange(6).astype("timedelta64[s]"), "timedelta"),
        ([1, 2, "3", 4, 5], "string"),
    ],
)
@pytest.mark.parametrize("backend", ["auto", "numpy", "cpu", "cuda"])
def test_non_real_dtypes_raise_type_error(func, x, what, backend):
    with pytest.raises(TypeError, match=rf"(?i)real numbers.*{what}"):
        func(x, backend=backend)


@pytest.mark.parametrize("func", FUNCS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("x", [np.float64(3.0), np.array(3.0), 3.0, 7])
def test_zero_dim_input_raises(func, x):
    with pytest.raises(ValueError, match="at least one dimension"):
        func(x)


@pytest.mark.parametrize("func", FUNCS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("axis", [2, -3, 10])
def test_out_of_range_axis(func, axis):
    with pytest.raises(np.exceptions.AxisError, match="out of bounds"):
        func(GOOD, axis=axis)
    assert issubclass(np.exceptions.AxisError, ValueError)


@pytest.mark.parametrize("axis", [(0, 0), (1, -1), (-2, 0, 1)])
def test_repeated_axis(axis):
    with pytest.raises(ValueError, match="repeated axis"):
        fastsmp.smp(GOOD, axis=axis)


def test_out_of_range_axis_in_tuple():
    with pytest.raises(np.exceptions.AxisError, match="out of bounds"):
        fastsmp.smp(GOOD, axis=(0, 2))


def test_empty_axis_tuple():
    with pytest.raises(ValueError, match="axis"):
        fastsmp.smp(GOOD, axis=())


@pytest.mark.parametrize("func", [fastsmp.find_peaks, fastsmp.curvature], ids=lambda f: f.__name__)
def test_single_axis_functions_refuse_tuples(func):
    with pytest.raises(TypeError, match="single int"):
        func(GOOD, axis=(0, 1))


@pytest.mark.parametrize("backend", ["numpy", "cpu", "cuda"])
@pytest.mark.parametrize("rtol", [-1e-9, -1, float("nan"), float("inf"), -float("inf")])
def test_bad_rtol(rtol, backend):
    with pytest.raises(ValueError, match="rtol must be finite and >= 0"):
        fastsmp.smp(GOOD, rtol=rtol, backend=backend)


def test_good_rtol_values_are_accepted():
    """Accepted, and used: a floor below the one kink of a line keeps it, one
    above drops it."""
    line = np.array([0.0, 1.0, 2.0, 3.0, 0.0, -3.0, -6.0])
    for rtol in (0, 0.0, 1e-300, 0.2, 3):
        s, k = fastsmp.smp(line, rtol=rtol, return_counts=True)
        np.testing.assert_array_equal(fastsmp.smp(GOOD, rtol=rtol), [0.0, 0.0])  # straight lines
        # the kink: |d| = 4 at v = (2, 3, 0), where s = (2 + 0) + 2*3 = 8 (SPEC 4)
        assert (s, k) == ((4.0, 1) if 4.0 > rtol * 8.0 else (0.0, 0)), rtol


@pytest.mark.parametrize("func", [fastsmp.smp, fastsmp.find_peaks], ids=lambda f: f.__name__)
@pytest.mark.parametrize("name", ["height", "threshold"])
@pytest.mark.parametrize("pair", [(2, 1), [5.0, -5.0], (0.5, 0.25)])
def test_min_above_max(func, name, pair):
    with pytest.raises(ValueError, match=rf"{name}: the minimum .* is above the maximum"):
        func(GOOD, **{name: pair})


@pytest.mark.parametrize("func", [fastsmp.smp, fastsmp.find_peaks], ids=lambda f: f.__name__)
@pytest.mark.parametrize("threshold", [-1, -1e-12, (-0.5, None), (-2, 3)])
def test_negative_minimum_threshold(func, threshold):
    with pytest.raises(ValueError, match="threshold: the minimum must be >= 0"):
        func(GOOD, threshold=threshold)


@pytest.mark.parametrize("func", [fastsmp.smp, fastsmp.find_peaks], ids=lambda f: f.__name__)
@pytest.mark.parametrize("kwargs", [dict(height=float("nan")), dict(threshold=(None, float("nan")))])
def test_nan_bounds(func, kwargs):
    with pytest.raises(ValueError, match="NaN"):
        func(GOOD, **kwargs)


def test_equal_min_and_max_and_negative_height_are_fine():
    """Accepted, and applied as SciPy applies them."""
    from scipy.signal import find_peaks as scipy_find_peaks

    line = np.array([0.0, 2.0, 0.0, 3.0, 3.0, 1.0, 5.0, 4.0, 5.0, 0.0])
    for kw in ({"height": (2, 2)}, {"height": (-3, -3)}, {"threshold": (2, 2)}, {"threshold": (0, 0)},
               {"height": -1, "threshold": (None, -1)}, {"height": -1, "threshold": (None, 2)}):
        expected = scipy_find_peaks(line, **kw)[0]
        np.testing.assert_array_equal(np.flatnonzero(fastsmp.find_peaks(line, **kw)), expected, err_msg=str(kw))
    assert np.flatnonzero(fastsmp.find_peaks(line, height=(2, 2))).tolist() == [1]
    assert np.flatnonzero(fastsmp.find_peaks(line, threshold=(None, -1))).tolist() == []  # no peak is below its neighbours
    np.testing.assert_array_equal(fastsmp.smp(GOOD, height=(-3, -3), threshold=(0, 0), return_counts=True)[1], [0, 0])


@pytest.mark.parametrize("nan_policy", ["omit", "Raise", "", None])
def test_unknown_nan_policy(nan_policy):
    with pytest.raises(ValueError, match=r"unknown nan_policy.*'propagate'.*'raise'"):
        fastsmp.smp(GOOD, nan_policy=nan_policy)


@pytest.mark.parametrize("func", FUNCS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("backend", ["gpu", "CPU", "", None, "torch"])
def test_unknown_backend(func, backend):
    with pytest.raises(ValueError, match=r"unknown backend") as info:
        func(GOOD, backend=backend)
    for name in ("auto", "numpy", "cpu", "cuda"):
        assert repr(name) in str(info.value)


@pytest.mark.parametrize("nan_policy_raise_case", [(np.nan, "x[1, :]"), (np.inf, "x[1, :]")])
def test_nan_policy_raise_names_the_line(nan_policy_raise_case):
    bad, where = nan_policy_raise_case
    x = GOOD.copy()
    x[1, 3] = bad
    with pytest.raises(ValueError, match=r"nan_policy='raise'.*" + where.replace("[", r"\[").replace("]", r"\]")):
        fastsmp.smp(x, nan_policy="raise")
    fastsmp.smp(GOOD, nan_policy="raise")  # finite input: no error


def test_cuda_without_gpu_raises_runtime_error():
    """A child process without the simulator, on this GPU-less machine."""
    code = textwrap.dedent(
        """
        import numpy as np, fastsmp
        print('available:', fastsmp.available_backends())
        for func in (fastsmp.smp, fastsmp.find_peaks, fastsmp.curvature):
            try:
                func(np.arange(10.0), backend='cuda')
            except RuntimeError as exc:
                print('RuntimeError:', exc)
            else:
                print('no error')
        print('cpu:', fastsmp.smp(np.array([0.0, 0, 5, 0, 0]), backend='cpu'))
        """
    )
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="0")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    available, *lines = proc.stdout.strip().splitlines()
    if "cuda" in available:
        pytest.skip("this machine has a usable GPU: the no-GPU error cannot be provoked here")
    assert available == "available: ['numpy', 'cpu']"
    assert len(lines) == 4, proc.stdout + proc.stderr
    for line in lines[:3]:
        assert line.startswith("RuntimeError:"), line
        assert "GPU" in line and "backend='cpu'" in line and "NUMBA_ENABLE_CUDASIM" in line
    assert lines[3] == "cpu: 10.0"


@pytest.mark.parametrize("backend", ["numpy", "cpu", "cuda"])
def test_short_lines_give_zero(backend, tiny_cuda):
    for n in range(5):
        x = np.array([[0.0, 7, -7, 7][:n], [9.0, -9, 0, 9][:n], [1.0, 2, 4, 8][:n]])
        for y, axis in ((x, -1), (x.T, 0), (x.T.copy(), 0)):
            s, c = fastsmp.smp(y, axis=axis, backend=backend, return_counts=True)
            assert s.shape == c.shape == (3,)
            assert np.all(s == 0) and np.all(c == 0)


def test_numba_cuda_without_numpy_support_is_named(monkeypatch):
    """numba-cuda <= 0.30.4 on NumPy 2.5 (np.row_stack removed) fails every
    kernel compile with a bare AttributeError; fastsmp says what to do."""
    from fastsmp.backends.cuda import memory

    def broken(name):
        raise AttributeError("module 'numpy' has no attribute 'row_stack'")

    monkeypatch.delattr(np, "row_stack", raising=False)
    monkeypatch.setattr(memory.importlib, "import_module", broken)
    with pytest.raises(RuntimeError, match=r"numba-cuda .* cannot compile kernels with NumPy .*numpy<2\.5"):
        memory._check_numpy_supported()


@pytest.mark.parametrize("call", ["smp", "find_peaks"])
def test_a_line_of_2_to_the_32_samples_is_refused_on_the_compiled_backends(call):
    """The walks count a line's values in 32 bits: a longer line is an
    error, not a wrapped count (a zero-stride view: no memory is used)."""
    x = np.broadcast_to(np.float32(0), (2**32,))
    with pytest.raises(ValueError, match="32 bits"):
        getattr(fastsmp, call)(x, backend="cpu")
