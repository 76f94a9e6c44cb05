"""Checks that need a real NVIDIA GPU (``NUMBA_ENABLE_CUDASIM=0``); skipped
elsewhere, where the simulator runs the same kernels in the other test
files. Run by bench/gpu_check.sh."""

import os

import numpy as np
import pytest

import fastsmp

pytestmark = pytest.mark.gpu


def _real_gpu():
    if os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0"):
        return False
    from numba import cuda

    return cuda.is_available()


if not _real_gpu():
    pytest.skip("needs a real CUDA GPU (NUMBA_ENABLE_CUDASIM=0)", allow_module_level=True)

torch = pytest.importorskip("torch")


def _fma_prone(shape, seed=0):
    """float32 values whose second difference loses bits in every rounding
    step: a contracted (FMA) or reassociated kernel would differ."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal(shape).astype(np.float32) * np.float32(1e3)
    return base + rng.standard_normal(shape).astype(np.float32) * np.float32(1e-4)


@pytest.mark.parametrize("axis", [-1, -2])
def test_masks_and_curvature_bit_identical_to_cpu(axis):
    x = _fma_prone((257, 1031))
    t = torch.from_numpy(x).cuda()
    a = fastsmp.curvature(x, axis=axis)
    np.testing.assert_array_equal(fastsmp.curvature(t, axis=axis).cpu().numpy().view(np.uint32), a.view(np.uint32))
    mask = fastsmp.find_peaks(np.abs(a), axis=axis)
    gpu_mask = fastsmp.find_peaks(torch.from_numpy(np.abs(a)).cuda(), axis=axis).cpu().numpy()
    np.testing.assert_array_equal(gpu_mask, mask)
    s, k = fastsmp.smp(x, axis=axis, return_counts=True)
    gs, gk = fastsmp.smp(t, axis=axis, return_counts=True)
    np.testing.assert_array_equal(gk.cpu().numpy(), k)
    np.testing.assert_allclose(gs.cpu().numpy(), s, rtol=1e-5)


def test_tiny_blocks_on_the_device():
    from fastsmp.backends.cuda import backend as _cuda

    old = _cuda.config
    _cuda.config = _cuda.LaunchConfig(threads=4, stretch=3)
    try:
        x = np.random.default_rng(3).integers(0, 3, size=(5, 6, 70)).astype(np.float32)
        for axis in (-1, 1, (1, 2)):
            s, k = fastsmp.smp(x, axis=axis, return_counts=True, backend="numpy")
            gs, gk = fastsmp.smp(x, axis=axis, return_counts=True, backend="cuda")
            np.testing.assert_array_equal(gk, k)
            np.testing.assert_allclose(gs, s, rtol=1e-5)
    finally:
        _cuda.config = old


def test_torch_cuda_in_and_out_without_host_copy():
    from torch.profiler import ProfilerActivity, profile

    x = torch.randn(512, 4096, device="cuda").relu_()
    fastsmp.smp(x)  # compile outside the profile
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        out = fastsmp.smp(x)
        torch.cuda.synchronize()
    assert out.is_cuda and out.device == x.device and out.dtype == torch.float32
    dtoh = [e for e in prof.events() if "DtoH" in e.name]
    assert not dtoh, f"device-to-host copies during smp: {[e.name for e in dtoh]}"
    np.testing.assert_allclose(out.cpu().numpy(), fastsmp.smp(x.cpu().numpy()), rtol=1e-5)


def test_requires_grad_tensor_read_in_place():
    x = torch.randn(8, 300, device="cuda", requires_grad=True)
    out = fastsmp.smp(x)
    assert out.is_cuda
    np.testing.assert_allclose(out.cpu().numpy(), fastsmp.smp(x.detach().cpu().numpy()), rtol=1e-5)


def test_results_come_from_torchs_caching_allocator():
    """No cudaMalloc/cudaFree (which synchronises the device) per call: the
    result arrays of a torch input are allocated by torch."""
    x = torch.randn(64, 1000, device="cuda")
    fastsmp.smp(x)
    torch.cuda.synchronize()
    before = torch.cuda.memory_stats()["allocation.all.allocated"]
    out, counts = fastsmp.smp(x, return_counts=True)
    mask = fastsmp.find_peaks(x)
    after = torch.cuda.memory_stats()["allocation.all.allocated"]
    assert after - before >= 3  # at least the sums, the counts and the mask
    np.testing.assert_array_equal(mask.cpu().numpy(), fastsmp.find_peaks(x.cpu().numpy()))
    np.testing.assert_array_equal(counts.cpu().numpy(), fastsmp.smp(x.cpu().numpy(), return_counts=True)[1])


def test_kernels_queue_on_torchs_current_stream():
    """Data written on a side stream (non-blocking, as torch makes them) and
    reduced inside ``torch.cuda.stream(side)``: fastsmp's kernels must wait
    for the write, as torch's own operations do. On the legacy default
    stream they would read the tensor before the delayed write lands."""
    src = torch.randn(64, 4096, device="cuda").relu_()
    want = fastsmp.smp(src.cpu().numpy())
    fastsmp.smp(src)  # compile outside the race
    side = torch.cuda.Stream()
    x = torch.zeros_like(src)
    torch.cuda.synchronize()
    with torch.cuda.stream(side):
        torch.cuda._sleep(200_000_000)  # a few hundred ms of GPU time on `side`
        x.copy_(src)
        got = fastsmp.smp(x)
    side.synchronize()
    np.testing.assert_allclose(got.cpu().numpy(), want, rtol=1e-5)
