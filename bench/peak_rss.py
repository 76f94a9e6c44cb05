"""Extra memory while reducing a large array: the peak RSS during the call
minus the RSS just before it, with the array already in memory (Linux: the
peak is reset through /proc/self/clear_refs, read as VmHWM).

    python bench/peak_rss.py            # 2 GiB float32, every layout
    python bench/peak_rss.py --gib 0.25
"""

import argparse
import numpy as np

import fastsmp


def _status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def reset_peak():
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM to the current RSS


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--gib", type=float, default=2.0)
    args = p.parse_args()
    fastsmp.warmup(dtypes=["float32"])
    n = int(args.gib * 2**30 // 4)
    cols = 4096
    x = np.empty((n // cols, cols), np.float32)
    rng = np.random.default_rng(0)
    for i in range(0, x.shape[0], 4096):  # fill in slices: no temporary the size of x
        x[i : i + 4096] = np.maximum(rng.standard_normal((min(4096, x.shape[0] - i), cols), dtype=np.float32), 0)
    cases = [
        ("axis=-1 (rows)", lambda: fastsmp.smp(x, axis=-1)),
        ("axis=-2 (panels)", lambda: fastsmp.smp(x, axis=-2)),
        ("axis=(-2,-1)", lambda: fastsmp.smp(x, axis=(-2, -1))),
        ("8 long lines (chunks)", lambda: fastsmp.smp(x.reshape(8, -1), axis=-1)),
    ]
    print(f"array: {x.nbytes / 2**30:.2f} GiB float32 {x.shape}")
    for name, fn in cases:
        fn()  # first call: lazy imports and cache loads are not the kernel's memory
        reset_peak()
        before = _status("VmRSS")
        fn()
        extra = _status("VmHWM") - before
        print(f"{name:24s} extra peak RSS {extra / 2**20:8.1f} MiB = {100 * extra / x.nbytes:.3f}% of the array")


if __name__ == "__main__":
    main()
