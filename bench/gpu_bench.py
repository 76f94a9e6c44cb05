"""GPU benchmark: fastsmp's cuda backend on torch CUDA tensors, against
``torch.sum`` over the same tensor (the bandwidth ceiling on a GPU), the same
SMP written in torch ops, and ``cupyx.scipy.signal.find_peaks`` in a loop
(where CuPy is installed). Also checks that no host copy of the input is
made (CUDA memcpy activity seen by the torch profiler) and that the results
match the CPU backend. Run by bench/gpu_check.sh."""

import argparse
import datetime
import sys

import numpy as np
import torch

import fastsmp
from fastsmp import bench

CASES = [
    ("a", "8192x8192 f32, axis=-1", (8192, 8192), -1),
    ("a+", "16384x16384 f32, axis=-1", (16384, 16384), -1),
    ("c", "256x64x56x56 f32, axis=(-2,-1)", (256, 64, 56, 56), (-2, -1)),
    ("d", "8 x 2**26 f32, axis=-1", (8, 1 << 26), -1),
]


def cuda_time(fn, repeat=10):
    fn()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    best = float("inf")
    for _ in range(repeat):
        start.record()
        fn()
        end.record()
        end.synchronize()
        best = min(best, start.elapsed_time(end) / 1e3)
    return best


def host_copy_bytes(fn):
    """Bytes moved device -> host while ``fn`` runs (CUPTI, all libraries)."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CUDA, ProfilerActivity.CPU]) as prof:
        fn()
        torch.cuda.synchronize()
    total = 0
    for e in prof.events():
        if "Memcpy DtoH" in e.name or "Memcpy DtoH" in str(getattr(e, "key", "")):
            total += int(getattr(e, "bytes", 0) or 0) or 1
    return total


def cupy_loop_seconds(x, axis, lines=64):
    """cupyx.scipy.signal.find_peaks on ``lines`` lines, scaled to all."""
    try:
        import cupy
        from cupyx.scipy.signal import find_peaks
    except ImportError:
        return None
    v = cupy.asarray(x.movedim(axis if isinstance(axis, int) else -1, -1).reshape(-1, x.shape[-1]))
    some = v[:lines]
    a = cupy.abs(some[:, :-2] + some[:, 2:] - 2 * some[:, 1:-1])

    def run():
        for line in a:
            find_peaks(line)

    run()
    cupy.cuda.Device().synchronize()
    t = datetime.datetime.now()
    run()
    cupy.cuda.Device().synchronize()
    return (datetime.datetime.now() - t).total_seconds() * v.shape[0] / lines


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", default=None)
    args = p.parse_args()
    name = torch.cuda.get_device_name()
    rows = []
    for key, title, shape, axis in CASES:
        try:
            g = torch.Generator(device="cuda").manual_seed(0)
            x = torch.randn(shape, device="cuda", generator=g).relu_()
            case = bench.Case(key, title, shape, axis=axis)
            t = cuda_time(lambda: fastsmp.smp(x, axis=axis))
            t_sum = cuda_time(lambda: x.sum())
            t_ops = cuda_time(lambda: bench.torch_ops(case, x), repeat=3)
            t_cupy = cupy_loop_seconds(x, axis)
            copied = host_copy_bytes(lambda: fastsmp.smp(x, axis=axis))
            got, counts = fastsmp.smp(x, axis=axis, return_counts=True)
            assert got.is_cuda and counts.is_cuda, "results must stay on the GPU"
            small = x[:2] if x.dim() > 1 else x
            exp_s, exp_k = fastsmp.smp(small.cpu().numpy(), axis=axis, return_counts=True, backend="cpu")
            s2, k2 = fastsmp.smp(small, axis=axis, return_counts=True)
            agree = np.array_equal(k2.cpu().numpy(), exp_k) and np.allclose(s2.cpu().numpy(), exp_s, rtol=1e-5)
            gbps = x.numel() * 4 / t / 1e9
            rows.append(
                f"| {key} | {title} | {gbps:.0f} | {t_sum / t:.2f} | {t_ops / t:.1f}x | "
                + (f"{t_cupy / t:.0f}x" if t_cupy else "n/a")
                + f" | {copied} | {'yes' if agree else 'NO'} |"
            )
            print(rows[-1], flush=True)
            x = None  # free the GPU memory before the next case
            torch.cuda.empty_cache()
        except Exception as exc:  # one failing case must not hide the others
            rows.append(f"| {key} | {title} | error: {type(exc).__name__}: {exc} | | | | | |")
            print(rows[-1], file=sys.stderr, flush=True)
    head = (
        f"GPU benchmark, {datetime.date.today().isoformat()}, {name}, torch {torch.__version__}\n\n"
        "| case | what | GB/s | x torch.sum | vs torch ops | vs cupy find_peaks loop | DtoH bytes | agrees with cpu |\n"
        "|---|---|---|---|---|---|---|---|"
    )
    table = head + "\n" + "\n".join(rows)
    print(table)
    if args.out:
        with open(args.out, "w") as f:
            f.write(table + "\n")
    return 0 if all("error" not in r and "NO" not in r for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
