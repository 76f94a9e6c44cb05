"""Compile every CUDA kernel of fastsmp to PTX for sm_90 (H100) without a
GPU, and print one line per kernel: ``name count``, the number of fused
multiply-adds and fast-math marks (``.ftz``, ``.approx``, a ``fastmath``
option) in its PTX. Run in a subprocess
by tests/test_cuda_ptx.py with the simulator off; needs the CUDA toolkit's
NVVM and NVRTC libraries (exit code 3 when they are missing)."""

import sys

from fastsmp.backends.cuda import sass

sass.pretend_h100()  # device functions ask the (absent) device for its compute capability

from numba import cuda, types  # noqa: E402



def arr(dtype, ndim, layout="C"):
    return types.Array(dtype, ndim, layout)


f32, f64, i64 = types.float32, types.float64, types.int64
from fastsmp.backends.spec import KernelFilters  # noqa: E402

filters = types.NamedUniTuple(f64, 4, KernelFilters)
SIGNATURES = {
    "combine_long_partials": (arr(f64, 3), arr(i64, 3), arr(f64, 1), arr(i64, 1)),
    "fill": (arr(f64, 1), f64),
    "sum_blocks": (arr(f64, 1), arr(i64, 1), arr(i64, 2), arr(f64, 1), arr(i64, 1)),
    "cast": (arr(f64, 1), arr(f32, 1)),
}

try:
    from fastsmp.backends.cuda import kernels as cuda_kernels
    from fastsmp.backends.cuda import sass

    kernels = dict(cuda_kernels.kernels(256))
    compiled = [(name, kernels[name], sig) for name, sig in SIGNATURES.items()]
    # The walkers, each variant a call compiles (float32/float64, with and
    # without filters): ``smp_stretches[float32]`` and so on.
    compiled += [(name, kernel, sig) for name, (kernel, sig) in sass.variants().items()]
    for name, kernel, sig in compiled:
        # Compiled with the kernel's own fastmath option, so that a
        # ``@cuda.jit(fastmath=True)`` would show here: it flushes
        # subnormals (``.ftz``) and lets the compiler reassociate and contract.
        fastmath = bool(kernel.targetoptions.get("fastmath"))
        ptx, _ = cuda.compile_ptx(kernel.py_func, sig, cc=(9, 0), fastmath=fastmath)
        print(name, ptx.count("fma.rn.f32") + ptx.count("fma.rn.f64") + ptx.count(".ftz") + ptx.count(".approx")
              + int(fastmath))
    # The peak-table kernels (SciPy's other rules): float64 lines, a thread
    # per stretch, per table entry or per segment. A fused multiply-add in
    # the width height would change SciPy's bits (README: cuda agrees within
    # SPEC 6 there): counted as fma.rn.f64.
    from fastsmp.backends.cuda import distance, selection
    from fastsmp.backends.cuda.walkers import Stretches
    from fastsmp.backends.peak_rules import PeakRules

    rules = types.NamedUniTuple(f64, len(PeakRules._fields), PeakRules)
    stretches = types.NamedUniTuple(i64, len(Stretches._fields), Stretches)
    u8, b1 = types.uint8, types.boolean
    i1, f1 = arr(i64, 1), arr(f64, 1)
    table = {
        "maxima_stretches": (arr(f64, 3), stretches, rules, filters, i1, i64, i1, f1, i1, i1, i1, f1, f1),
        "marked_stretches": (arr(b1, 3), stretches, i1, i64, i1),
        "floored_stretches": (arr(f32, 3), stretches, f32, arr(f32, 3), arr(b1, 1)),
        "measure_peaks": (arr(f64, 3), rules, i1, i1, arr(u8, 1), b1, f1, i1, i1, f1, f1, f1, f1, f1, i1),
        "mark_peaks": (arr(b1, 3), i1, arr(u8, 1), i1),
        "count_segments": (arr(i64, 2), arr(u8, 1), i1),
        "sum_segments": (arr(i64, 2), arr(u8, 1), f1, f1, i1),
        "prefix_lines": (i1, i1, i1),
        "total_lines": (i1, f1, i1, f1, i1),
        "compact_segments": (arr(i64, 2), arr(u8, 1), i1, i1, f1, f1),
        "void_lines": (arr(b1, 1), f1, i1),
        "distance_round": (i1, i1, i1, f64, arr(u8, 1), arr(u8, 1), arr(u8, 1), arr(u8, 1)),
        "finish_lines": (i1, i1, i1, arr(u8, 1), f64, arr(u8, 1)),
    }
    peak_kernels = {**selection._kernels(), **distance._kernels(selection.line_of())}
    for name, sig in table.items():
        ptx, _ = cuda.compile_ptx(peak_kernels[name].py_func, sig, cc=(9, 0))
        print("peak_table." + name, ptx.count("fma.rn.f32") + ptx.count("fma.rn.f64") + ptx.count(".ftz")
              + ptx.count(".approx"))
    # The shared bodies (d, the floor, the filters) as CUDA device functions:
    # a fastmath option there marks their instructions reassociable without
    # any trace in the PTX text, so their options are checked instead.
    from fastsmp.backends import spec
    for name, body in vars(spec).items():
        if isinstance(body, spec.Elementwise):
            print("elementwise." + name, int(bool(body.cuda.targetoptions.get("fastmath"))))
except Exception as exc:  # the toolkit's libraries are not installed
    text = f"{type(exc).__name__}: {exc}"
    if any(s in text for s in ("nvvm", "NVVM", "nvrtc", "NVRTC", "CUDA_HOME", "libdevice")):
        print(text[:300], file=sys.stderr)
        sys.exit(3)
    raise
