"""Where the GPU time of one ``smp`` call goes: the torch profiler's
per-kernel device time for cases (a+), (c) and (d), next to ``torch.sum``.
A diagnostic for bench/gpu_bench.py's numbers; needs a CUDA GPU."""

import re
import warnings

import torch

import fastsmp

warnings.filterwarnings("ignore")
CASES = [("a+", (16384, 16384), -1), ("c", (256, 64, 56, 56), (-2, -1)), ("d", (8, 1 << 26), -1)]


def short(name):
    m = re.search(r"(smp_stretches|smp_maps|combine_long_partials|find_peaks|fill|cast|sum_blocks|curvature_stretches)", name)
    return m.group(1) if m else name[:50]


def main():
    for key, shape, axis in CASES:
        x = torch.randn(shape, device="cuda").relu_()
        for _ in range(2):
            fastsmp.smp(x, axis=axis)
            x.sum()
        torch.cuda.synchronize()
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            fastsmp.smp(x, axis=axis)
            x.sum()
            torch.cuda.synchronize()
        rows = {}
        for e in prof.events():
            t = getattr(e, "device_time", None) or getattr(e, "cuda_time", 0)
            if t:
                rows[short(e.name)] = rows.get(short(e.name), 0) + t
        print(key, " ".join(f"{k}={v:.0f}us" for k, v in sorted(rows.items(), key=lambda kv: -kv[1])), flush=True)
        del x
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
