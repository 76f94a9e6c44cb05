"""The host side of a cuda-backend call without a GPU: fastsmp's own Python
(argument checks, dispatch, views, allocations) per call, with the kernel
launches stubbed out, on the simulator's device arrays. It also counts the
launches a call makes. On a GPU, Numba's launch and device-array costs come
on top (``bench/gpu_bench.py`` measures the whole call there).

    NUMBA_ENABLE_CUDASIM=1 python bench/host_overhead.py
"""

import sys
import time

import numpy as np


def main():
    import fastsmp
    from fastsmp.backends.cuda import backend, memory

    if not memory.simulated():
        print("run with NUMBA_ENABLE_CUDASIM=1: the launches are stubbed on the simulator", file=sys.stderr)
        return 2
    from numba import cuda

    launched = []

    def stub(kernel, blocks, threads, shared=0):
        return lambda *args: launched.append(kernel.py_func.__name__)

    backend.on_stream = stub
    x = cuda.to_device(np.random.default_rng(0).random((4096, 4096), dtype=np.float32))
    calls = {
        "smp, axis=-1": lambda: fastsmp.smp(x),
        "smp, axis=0": lambda: fastsmp.smp(x, axis=0),
        "smp, axis=(0, 1) (lines of both axes: too large a map for shared memory)": lambda: fastsmp.smp(x, axis=(0, 1)),
        "find_peaks": lambda: fastsmp.find_peaks(x),
    }
    for name, call in calls.items():
        call()
        launched.clear()
        best = np.inf
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(400):
                call()
            best = min(best, (time.perf_counter() - start) / 400)
        print(f"{name}: {best * 1e6:.1f} us a call, {len(launched) // 2000} launch(es): {sorted(set(launched))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
