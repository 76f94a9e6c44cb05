"""SPEC section 8: backends and dispatch (torch CPU tensors, device arrays)."""

from __future__ import annotations

import os

import numpy as np
import pytest

import fastsmp
from fastsmp import _arrays, backends
from strategies import assert_bit_identical

torch = pytest.importorskip("torch")


def _data(shape=(3, 4, 13), seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(-3, 4, size=shape).astype(np.float32)


class _Spy:
    """Wraps the backend modules and records every array they are given."""

    def __init__(self, monkeypatch):
        self.calls = []
        original = backends.get

        def backend_module(name):
            module = original(name)
            spy = self

            class Wrapped:
                def __getattr__(self, attr):
                    func = getattr(module, attr)
                    if not callable(func):
                        return func

                    def wrapper(*args, **kwargs):
                        spy.calls.append((name, attr, args))
                        return func(*args, **kwargs)

                    return wrapper

            return Wrapped()

        monkeypatch.setattr(backends, "get", backend_module)

    def arrays(self):
        return [(name, attr, args[0]) for name, attr, args in self.calls if attr.endswith("_lines")]


# --------------------------------------------------------------------------
# torch CPU tensors
# --------------------------------------------------------------------------


@pytest.mark.parametrize("axis", [-1, 0, 1, (1, 2)])
def test_torch_cpu_tensor_in_torch_tensor_out(axis):
    x = _data()
    t = torch.from_numpy(x.copy())
    s, n = fastsmp.smp(t, axis=axis, return_counts=True)
    assert isinstance(s, torch.Tensor) and isinstance(n, torch.Tensor)
    assert s.dtype == torch.float32 and n.dtype == torch.int64 and s.device.type == "cpu"
    es, en = fastsmp.smp(x, axis=axis, return_counts=True, backend="numpy")
    assert_bit_identical(s.numpy(), es)
    np.testing.assert_array_equal(n.numpy(), en)
    if not isinstance(axis, tuple):
        mask = fastsmp.find_peaks(t, axis=axis)
        assert isinstance(mask, torch.Tensor) and mask.dtype == torch.bool
        np.testing.assert_array_equal(mask.numpy(), fastsmp.find_peaks(x, axis=axis, backend="numpy"))
        d = fastsmp.curvature(t, axis=axis)
        assert isinstance(d, torch.Tensor) and d.dtype == torch.float32
        assert_bit_identical(d.numpy(), fastsmp.curvature(x, axis=axis, backend="numpy"))
    assert torch.equal(t, torch.from_numpy(x)), "the input was modified"


def test_torch_1d_tensor_gives_0d_tensor():
    t = torch.tensor([0.0, 0, 5, 0, 0], dtype=torch.float64)
    s = fastsmp.smp(t)
    assert isinstance(s, torch.Tensor) and s.dim() == 0 and s.dtype == torch.float64
    assert s.item() == 10.0


@pytest.mark.parametrize("axis", [-1, 0])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_torch_cpu_is_read_zero_copy(monkeypatch, axis, dtype):
    t = torch.from_numpy(_data().astype(dtype))
    spy = _Spy(monkeypatch)
    fastsmp.smp(t, axis=axis)
    fastsmp.find_peaks(t, axis=axis)
    fastsmp.curvature(t, axis=axis)
    seen = spy.arrays()
    assert [(name, attr) for name, attr, _ in seen] == [
        ("cpu", "smp_lines"),
        ("cpu", "find_peaks_lines"),
        ("cpu", "curvature_lines"),
    ]
    for _, _, arr in seen:
        assert isinstance(arr, np.ndarray)
        assert np.shares_memory(arr, t.numpy()), "the tensor was copied"


def test_torch_requires_grad_is_read_without_copy(monkeypatch):
    x = _data()
    t = torch.from_numpy(x.copy()).requires_grad_(True)
    spy = _Spy(monkeypatch)
    s, n = fastsmp.smp(t, axis=1, return_counts=True)
    arr = spy.arrays()[0][2]
    assert np.shares_memory(arr, t.detach().numpy())
    assert not s.requires_grad
    es, en = fastsmp.smp(x, axis=1, return_counts=True, backend="numpy")
    assert_bit_identical(s.numpy(), es)
    np.testing.assert_array_equal(n.numpy(), en)
    assert fastsmp.find_peaks(t).shape == t.shape
    assert fastsmp.curvature(t).shape == (3, 4, 11)
    assert t.grad is None


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_torch_half_precision_gives_float32(dtype):
    x = _data()  # small integers: exact in bfloat16 and float16
    t = torch.from_numpy(x).to(getattr(torch, dtype))
    s = fastsmp.smp(t)
    assert isinstance(s, torch.Tensor) and s.dtype == torch.float32
    assert_bit_identical(s.numpy(), fastsmp.smp(x, backend="numpy"))
    d = fastsmp.curvature(t)
    assert d.dtype == torch.float32
    assert_bit_identical(d.numpy(), fastsmp.curvature(x, backend="numpy"))


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "int64", "uint8"])
def test_torch_integers_give_float64(dtype):
    x = _data().astype(np.int64)
    t = torch.from_numpy(x).to(getattr(torch, dtype)) if dtype != "uint8" else torch.from_numpy(x + 3).to(torch.uint8)
    s = fastsmp.smp(t)
    assert s.dtype == torch.float64
    assert_bit_identical(s.numpy(), fastsmp.smp(t.numpy().astype(np.float64), backend="numpy"))


def test_torch_non_contiguous_tensor():
    x = _data((4, 6, 13))
    t = torch.from_numpy(x).transpose(0, 2)[::2]  # strided, transposed
    assert not t.is_contiguous()
    expected = fastsmp.smp(np.ascontiguousarray(t.numpy()), axis=1, backend="numpy")
    assert_bit_identical(fastsmp.smp(t, axis=1).numpy(), expected)


@pytest.mark.parametrize("dtype", [torch.bool, torch.complex64])
def test_torch_non_real_dtypes(dtype):
    with pytest.raises(TypeError, match="real numbers"):
        fastsmp.smp(torch.zeros(8, dtype=dtype))


def test_torch_backend_numpy_explicit():
    x = _data()
    s = fastsmp.smp(torch.from_numpy(x), backend="numpy")
    assert isinstance(s, torch.Tensor)
    assert_bit_identical(s.numpy(), fastsmp.smp(x, backend="numpy"))


# --------------------------------------------------------------------------
# device arrays (the CUDA simulator's)
# --------------------------------------------------------------------------


def _cuda():
    from numba import cuda

    return cuda


def test_available_backends():
    backends = fastsmp.available_backends()
    assert backends[:2] == ["numpy", "cpu"]
    assert set(backends) <= {"numpy", "cpu", "cuda"} and len(set(backends)) == len(backends)
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        assert backends == ["numpy", "cpu", "cuda"]
    else:
        assert ("cuda" in backends) == _cuda().is_available()


@pytest.mark.parametrize("axis", [-1, 0, (0, 2)])
def test_device_array_auto_dispatches_to_cuda(monkeypatch, tiny_cuda, axis):
    x = _data((2, 3, 9))
    dev = _cuda().to_device(x)
    spy = _Spy(monkeypatch)
    s, n = fastsmp.smp(dev, axis=axis, return_counts=True)
    assert {name for name, _, _ in spy.calls} == {"cuda"}
    assert hasattr(s, "copy_to_host") and hasattr(n, "copy_to_host"), type(s)
    es, en = fastsmp.smp(x, axis=axis, return_counts=True, backend="numpy")
    assert_bit_identical(s.copy_to_host(), es)
    np.testing.assert_array_equal(n.copy_to_host(), en)
    np.testing.assert_array_equal(dev.copy_to_host(), x)  # not modified
    if not isinstance(axis, tuple):
        mask = fastsmp.find_peaks(dev, axis=axis)
        assert hasattr(mask, "copy_to_host")
        np.testing.assert_array_equal(mask.copy_to_host(), fastsmp.find_peaks(x, axis=axis, backend="numpy"))
        d = fastsmp.curvature(dev, axis=axis)
        assert hasattr(d, "copy_to_host")
        assert_bit_identical(d.copy_to_host(), fastsmp.curvature(x, axis=axis, backend="numpy"))


def test_device_array_float16_and_int(tiny_cuda):
    for dtype in (np.float16, np.int32):
        x = _data((2, 9)).astype(dtype)
        s = fastsmp.smp(_cuda().to_device(x))
        assert hasattr(s, "copy_to_host")
        assert_bit_identical(s.copy_to_host(), fastsmp.smp(x, backend="numpy"))


@pytest.mark.parametrize("backend", ["cpu", "numpy"])
@pytest.mark.parametrize("func", [fastsmp.smp, fastsmp.find_peaks, fastsmp.curvature], ids=lambda f: f.__name__)
def test_device_array_with_host_backend_is_refused(backend, func):
    dev = _cuda().to_device(_data((2, 9)))
    with pytest.raises(ValueError, match=rf"backend='{backend}' works on host memory.*GPU"):
        func(dev, backend=backend)


def test_numpy_input_with_cuda_backend_returns_numpy(tiny_cuda):
    x = _data((2, 3, 9))
    s, n = fastsmp.smp(x, backend="cuda", return_counts=True)
    assert type(s) is np.ndarray and type(n) is np.ndarray
    assert_bit_identical(s, fastsmp.smp(x, backend="numpy"))
    mask = fastsmp.find_peaks(x, axis=1, backend="cuda")
    assert type(mask) is np.ndarray
    np.testing.assert_array_equal(mask, fastsmp.find_peaks(x, axis=1, backend="numpy"))
    d = fastsmp.curvature(x, backend="cuda")
    assert type(d) is np.ndarray
    s1 = fastsmp.smp(x[0, 0], backend="cuda")  # 1-D: a NumPy scalar, as on the host
    assert isinstance(s1, np.floating) and s1 == fastsmp.smp(x[0, 0], backend="numpy")


def test_array_likes_dispatch_to_cpu(monkeypatch):
    spy = _Spy(monkeypatch)
    line = [0, 0, 5, 0, 0, 1, 0]
    assert fastsmp.smp(line) == 10.0  # |d| = [5, 10, 5, 1, 2]: one peak, 10 (the last sample never is)
    assert {name for name, _, _ in spy.calls} == {"cpu"}


def test_cuda_results_use_the_inputs_allocator(monkeypatch, tiny_cuda):
    """Device inputs from a library with its own allocator (torch, CuPy) get
    their results allocated by it; Numba's allocator is left alone."""
    from numba import cuda

    calls = []

    def allocate(shape, dtype):
        calls.append(np.dtype(dtype))
        return cuda.device_array(shape, dtype)

    monkeypatch.setattr(_arrays, "_device_library", lambda x: ((lambda r: r), allocate, 0, ("test", 0)))
    x = _data((3, 4, 9))
    s, n = fastsmp.smp(_cuda().to_device(x), axis=(1, 2), return_counts=True)
    assert np.dtype(np.int64) in calls and len(calls) >= 2  # the sums and the counts
    assert_bit_identical(s.copy_to_host(), fastsmp.smp(x, axis=(1, 2), backend="numpy"))
    calls.clear()
    fastsmp.smp(x, backend="cuda")  # host input: Numba's allocator
    assert calls == []
