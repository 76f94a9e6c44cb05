"""GPU benchmark: fastsmp's cuda backend on torch CUDA tensors, against
``torch.sum`` over the same tensor (the bandwidth ceiling on a GPU), the same
SMP written in torch ops, and ``cupyx.scipy.signal.find_peaks`` in a loop
(where CuPy is installed). Also checks that no host copy of the input is
made (device-to-host copies seen by the torch profiler, CUPTI) and that the
results match the CPU backend. Run by bench/gpu_check.sh.

Two timings per case, both with CUDA events:

* **stream**: 20 calls queued back to back, the time per call. This is the
  throughput of a scan that reduces tensor after tensor: Python's work for
  call k+1 overlaps the GPU's work for call k. The ratios use it.
* **latency**: one call, synchronised before and after (median of 20): what
  a lone call costs, Python and launches included.
"""

import argparse
import datetime
import statistics
import sys
import time
import warnings

import numpy as np
import torch

import fastsmp
from fastsmp import _arrays, bench
from fastsmp.backends.cuda import backend as _cuda

CASES = [
    # key, title, shape, axis, op
    ("a", "8192x8192 f32, axis=-1", (8192, 8192), -1, "smp"),
    ("a+", "16384x16384 f32, axis=-1", (16384, 16384), -1, "smp"),
    ("b", "8192x8192 f32, axis=-2", (8192, 8192), -2, "smp"),
    ("b+", "16384x16384 f32, axis=-2", (16384, 16384), -2, "smp"),
    ("c", "256x64x56x56 f32, axis=(-2,-1)", (256, 64, 56, 56), (-2, -1), "smp"),
    ("d", "8 x 2**26 f32, axis=-1", (8, 1 << 26), -1, "smp"),
    ("f+", "find_peaks on (a+)", (16384, 16384), -1, "find_peaks"),
    ("fb+", "find_peaks on (b+)", (16384, 16384), -2, "find_peaks"),
    ("g+", "return_counts on (a+)", (16384, 16384), -1, "smp_counts"),
]
#: (threads per block, stretch) pairs the sweep tries
SWEEP = [(128, 512), (256, 512), (128, 256), (128, 128), (512, 512), (64, 512)]


def _events():
    return torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)


def stream_time(fn, calls=20):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    start, end = _events()
    start.record()
    for _ in range(calls):
        fn()
    end.record()
    end.synchronize()
    return start.elapsed_time(end) / 1e3 / calls


def latency(fn, repeat=20):
    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeat):
        start, end = _events()
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / 1e3)
    return statistics.median(times)


def host_time(fn, calls=50):
    """Python's own time per call (no synchronisation inside the loop)."""
    fn()
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(calls):
        fn()
    host = (time.perf_counter() - t) / calls
    torch.cuda.synchronize()
    return host


def dtoh_copies(fn):
    """Device-to-host copies (count, bytes) while ``fn`` runs, from CUPTI."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CUDA, ProfilerActivity.CPU]) as prof:
        fn()
        torch.cuda.synchronize()
    events = list(prof.events())
    copies = [e for e in events if "DtoH" in e.name or "Device -> Host" in e.name]
    try:
        kernels = sorted({e.name.split("(")[0][-60:] for e in events if e.device_type.name == "CUDA"})
    except Exception:  # only a diagnostic
        kernels = []
    return len(copies), kernels


def cupy_loop_seconds(x, axis, lines=64):
    """cupyx.scipy.signal.find_peaks on ``lines`` lines of |d|, scaled to all lines."""
    try:
        import cupy
        from cupyx.scipy.signal import find_peaks
    except ImportError:
        return None
    ax = axis if isinstance(axis, int) else axis[-1]
    v = cupy.asarray(x.movedim(ax, -1).reshape(-1, x.shape[ax])[:lines].contiguous())
    a = cupy.abs(v[:, :-2] + v[:, 2:] - 2 * v[:, 1:-1])

    def run():
        for line in a:
            find_peaks(line)

    run()
    cupy.cuda.Device().synchronize()
    t = time.perf_counter()
    run()
    cupy.cuda.Device().synchronize()
    all_lines = x.numel() // x.shape[ax]
    return (time.perf_counter() - t) * all_lines / lines


def call(op, x, axis):
    if op == "find_peaks":
        return fastsmp.find_peaks(x, axis=axis)
    return fastsmp.smp(x, axis=axis, return_counts=op == "smp_counts")


def check_against_cpu(op, x, axis):
    small = x[:3] if x.dim() > 1 else x
    got = call(op, small, axis)
    want = call(op, small.cpu(), axis)
    if op == "smp_counts":
        return np.array_equal(got[1].cpu().numpy(), want[1].numpy()) and np.allclose(
            got[0].cpu().numpy(), want[0].numpy(), rtol=1e-5
        )
    if op == "find_peaks":
        return np.array_equal(got.cpu().numpy(), want.numpy())
    return np.allclose(got.cpu().numpy(), want.numpy(), rtol=1e-5)


def run_case(key, title, shape, axis, op):
    g = torch.Generator(device="cuda").manual_seed(0)
    x = torch.randn(shape, device="cuda", generator=g).relu_()
    case = bench.Case(key, title, shape, axis=axis, op=op)
    fn = lambda: call(op, x, axis)  # noqa: E731
    row = dict(key=key, title=title)
    row["stream"] = stream_time(fn)
    row["latency"] = latency(fn)
    row["host"] = host_time(fn)
    row["sum"] = stream_time(lambda: x.sum())
    row["sum_latency"] = latency(lambda: x.sum())
    row["stream_again"] = stream_time(fn)  # the spread between two runs
    row["ops"] = stream_time(lambda: bench.torch_ops(case, x), calls=3)
    row["cupy"] = cupy_loop_seconds(x, axis)
    row["dtoh"], row["kernels"] = dtoh_copies(fn)
    out = fn()
    out = out[0] if isinstance(out, tuple) else out
    row["stays_on_gpu"] = out.is_cuda and out.device == x.device
    row["agrees"] = check_against_cpu(op, x, axis)
    row["gbps"] = x.numel() * 4 / row["stream"] / 1e9
    row["sum_gbps"] = x.numel() * 4 / row["sum"] / 1e9
    del x
    torch.cuda.empty_cache()
    return row


def peak_rules_case(case, scipy_lines=64):
    """Issue 18 on the GPU: ``find_peaks`` with SciPy's other rules (bench
    cases h-k, 4096 x 4096 float32) on a torch CUDA tensor: seconds per call,
    the SciPy loop's seconds scaled from ``scipy_lines`` lines, the cpu
    backend's seconds on the same array, and whether the masks agree."""
    import time

    import scipy.signal

    host = case.make()
    x = torch.from_numpy(host).cuda()
    rules = dict(case.rules)
    fn = lambda: fastsmp.find_peaks(x, axis=case.axis, backend="cuda", **rules)  # noqa: E731
    seconds = stream_time(fn, calls=5)
    lines = np.moveaxis(host, case.axis, -1)
    start = time.perf_counter()
    for line in lines[:scipy_lines]:
        scipy.signal.find_peaks(line, **rules)
    scipy_s = (time.perf_counter() - start) * lines.shape[0] / scipy_lines
    start = time.perf_counter()
    want = fastsmp.find_peaks(host, axis=case.axis, backend="cpu", **rules)
    cpu_s = time.perf_counter() - start
    agrees = np.array_equal(fn().cpu().numpy(), want)
    return seconds, scipy_s, cpu_s, agrees


def sweep(shape, axis):
    """Kernel time of smp for each launch configuration (stream timing)."""
    g = torch.Generator(device="cuda").manual_seed(1)
    x = torch.randn(shape, device="cuda", generator=g).relu_()
    old = _cuda.config
    out = {}
    try:
        for threads, stretch in SWEEP:
            _cuda.config = _cuda.LaunchConfig(threads=threads, stretch=stretch)
            out[(threads, stretch)] = x.numel() * 4 / stream_time(lambda: fastsmp.smp(x, axis=axis)) / 1e9
    finally:
        _cuda.config = old
    del x
    torch.cuda.empty_cache()
    return out


def host_breakdown():
    """Python's cost of the pieces of one call, microseconds."""
    from numba import cuda

    x = torch.randn(4096, 4096, device="cuda")
    dev = cuda.as_cuda_array(x)
    parts = {
        "as_cuda_array": lambda: cuda.as_cuda_array(x),
        "reshape to 3-D": lambda: dev.reshape((1, 4096, 4096)),
        "numba device_array": lambda: cuda.device_array(4096, np.float64),
        "torch alloc + as_cuda_array": lambda: _arrays.torch_allocator(x.device)(4096, np.float64),
        "torch.as_tensor(device array)": lambda: torch.as_tensor(dev, device="cuda"),
        "fastsmp.smp whole call": lambda: fastsmp.smp(x),
        "torch.sum whole call": lambda: x.sum(),
    }
    return {k: host_time(f, calls=200) * 1e6 for k, f in parts.items()}


def resnet_style(width=64):
    """A ResNet-style CNN (issue 16's scan case): a 7x7 stem, ReLU and a
    max pool, then four stages of two basic residual blocks (64-512
    channels, a strided 1x1 shortcut where the shape changes)."""
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self, c_in, c_out, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(c_out)
            self.relu1 = nn.ReLU()
            self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(c_out)
            self.short = (nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
                          if stride != 1 or c_in != c_out else nn.Identity())
            self.relu2 = nn.ReLU()

        def forward(self, x):
            return self.relu2(self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x))))) + self.short(x))

    torch.manual_seed(0)
    layers = [nn.Conv2d(3, width, 7, 2, 3, bias=False), nn.BatchNorm2d(width), nn.ReLU(), nn.MaxPool2d(3, 2, 1)]
    c = width
    for stage, c_out in enumerate((width, 2 * width, 4 * width, 8 * width)):
        layers += [Block(c, c_out, 1 if stage == 0 else 2), Block(c_out, c_out, 1)]
        c = c_out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 10)]
    return nn.Sequential(*layers).eval()


def scan_overhead(batches=8, batch=64, size=112):
    """``scan_model`` over ``batches`` CUDA batches of a ResNet-style CNN,
    every ReLU and pooling layer hooked, against the bare forward passes
    over the same batches: ``(scan seconds, bare seconds, hooked layers)``,
    the best of three rounds each."""
    from fastsmp.scan import scan_model, select_layers

    model = resnet_style().cuda()
    g = torch.Generator(device="cuda").manual_seed(2)
    data = [torch.rand((batch, 3, size, size), device="cuda", generator=g) for _ in range(batches)]

    def bare():
        with torch.inference_mode():
            for x in data:
                model(x)
        torch.cuda.synchronize()

    def scan():
        scan_model(model, data, progress=False)
        torch.cuda.synchronize()

    bare(), scan()  # warm-up: cuDNN plans, kernel compiles
    times = {}
    for name, fn in (("bare", bare), ("scan", scan)) * 3:
        start = time.perf_counter()
        fn()
        times[name] = min(times.get(name, np.inf), time.perf_counter() - start)
    return times["scan"], times["bare"], len(select_layers(model))


def main():
    warnings.filterwarnings("ignore", message=".*Grid size.*under-utilization")
    p = argparse.ArgumentParser()
    p.add_argument("--out", default=None)
    p.add_argument("--cases", default=",".join(c[0] for c in CASES))
    p.add_argument("--no-sweep", action="store_true")
    args = p.parse_args()
    name = torch.cuda.get_device_name()
    wanted = args.cases.split(",")
    lines = [
        f"GPU benchmark, {datetime.date.today().isoformat()}, {name}, torch {torch.__version__}",
        "",
        "| case | what | GB/s (stream) | x torch.sum (stream) | latency ms (x torch.sum) | host us/call |"
        " stream GB/s, again | vs torch ops | vs cupy find_peaks loop | DtoH copies | on GPU, agrees with cpu |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    ok = True
    for key, title, shape, axis, op in CASES:
        if key not in wanted:
            continue
        try:
            r = run_case(key, title, shape, axis, op)
            cupy = f"{r['cupy'] / r['stream']:.0f}x" if r["cupy"] else "n/a"
            lines.append(
                f"| {key} | {title} | {r['gbps']:.0f} | {r['sum'] / r['stream']:.2f} |"
                f" {r['latency'] * 1e3:.3f} ({r['sum_latency'] / r['latency']:.2f}) |"
                f" {r['host'] * 1e6:.0f} |"
                f" {x_gbps(shape, r['stream_again']):.0f} |"
                f" {r['ops'] / r['stream']:.1f}x | {cupy} | {r['dtoh']} |"
                f" {'yes' if r['stays_on_gpu'] else 'NO'}, {'yes' if r['agrees'] else 'NO'} |"
            )
            print(lines[-1], "kernels:", r["kernels"], flush=True)
            ok &= r["dtoh"] == 0 and r["stays_on_gpu"] and r["agrees"]
        except Exception as exc:  # one failing case must not hide the others
            ok = False
            lines.append(f"| {key} | {title} | error: {type(exc).__name__}: {exc} |")
            print(lines[-1], file=sys.stderr, flush=True)
    lines += ["", "SciPy's other rules (issue 18), 4096 x 4096 f32, find_peaks on the cuda backend:", "",
              "| case | rules | axis | ms/call | vs SciPy loop | vs cpu backend (this machine) | agrees with cpu |",
              "|---|---|---|---|---|---|---|"]
    for key in "hijk":
        case = bench.CASES_BY_NAME[key]
        try:
            t, scipy_s, cpu_s, agrees = peak_rules_case(case)
            lines.append(f"| {key} | {dict(case.rules)} | {case.axis} | {t * 1e3:.2f} | {scipy_s / t:.0f}x |"
                         f" {cpu_s / t:.1f}x | {'yes' if agrees else 'NO'} |")
            ok &= agrees
        except Exception as exc:
            ok = False
            lines.append(f"| {key} | error: {type(exc).__name__}: {exc} |")
        print(lines[-1], flush=True)
    try:
        scan_s, bare_s, hooked = scan_overhead()
        lines += ["", f"scan_model, ResNet-style CNN, batch 64 x 3 x 112 x 112, 8 batches, {hooked} layers hooked: "
                  f"{scan_s * 1e3:.1f} ms against {bare_s * 1e3:.1f} ms bare forward = {scan_s / bare_s:.2f} x "
                  "(target <= 1.15 x)"]
        print(lines[-1], flush=True)
    except Exception as exc:
        lines.append(f"scan overhead failed: {type(exc).__name__}: {exc}")
    try:
        lines += ["", "Python's time per call, us (perf_counter, 200 calls, 4096x4096 f32):", ""]
        lines += [f"- {k}: {v:.1f}" for k, v in host_breakdown().items()]
    except Exception as exc:
        lines.append(f"host breakdown failed: {type(exc).__name__}: {exc}")
    if not args.no_sweep:
        for key, shape, axis in [
            ("a+", (16384, 16384), -1),
            ("b+", (16384, 16384), -2),
            ("c", (256, 64, 56, 56), (-2, -1)),
            ("d", (8, 1 << 26), -1),
        ]:
            try:
                res = sweep(shape, axis)
                lines += ["", f"Launch configurations, case {key}, GB/s (stream):", ""]
                lines += [" ".join(f"{t}x{k}={v:.0f}" for (t, k), v in res.items())]
            except Exception as exc:
                lines.append(f"sweep {key} failed: {type(exc).__name__}: {exc}")
            print(lines[-1], flush=True)
    table = "\n".join(lines)
    print(table)
    if args.out:
        with open(args.out, "w") as f:
            f.write(table + "\n")
    return 0 if ok else 1


def x_gbps(shape, seconds):
    return int(np.prod(shape)) * 4 / seconds / 1e9


if __name__ == "__main__":
    sys.exit(main())
