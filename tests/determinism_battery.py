"""A battery of calls through every kernel path of one backend, run as a
script in a subprocess by ``test_determinism.py``; prints one JSON object,
``{case: sha256 of the result's bytes}``.

    python tests/determinism_battery.py [--backend cpu|cuda] [--reverse] [--full]

``--reverse`` runs the cases in the opposite order (so that other kernels
are compiled, or loaded, first). Not a test module: collected by nobody.
"""

from __future__ import annotations

import argparse
import hashlib
import json

import numpy as np


def _relu_noise(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    x = np.maximum(rng.standard_normal(shape), 0) + np.sin(np.arange(shape[-1]) / 7.0)
    return x.astype(dtype)


def _plateaus(shape, dtype, seed):
    """Quantised data: plateaus in ``|d|``, so the exact scan runs too."""
    return np.round(_relu_noise(shape, dtype, seed) * 4).astype(dtype) / dtype(4)


def _read_only(x):
    x = x.copy()
    x.setflags(write=False)
    return x


def cpu_cases(full=False):
    """``{name: (array, kwargs)}``: long rows, chunked very long rows, short
    rows, panels, maps, a Fortran-ordered array, read-only input, plateaus,
    NaN lines, filters, float32 and float64. Each path once, in one dtype,
    so that a cold process compiles each kernel variant once (about a minute
    on one core); ``full`` runs every case in both dtypes."""
    f32, f64 = np.float32, np.float64
    cases = {}
    for dtype in (f32, f64) if full else (None,):
        def pick(default):
            return default if dtype is None else dtype

        t = "" if dtype is None else "-" + np.dtype(dtype).name
        rows = _relu_noise((70, 3000), pick(f32), 1)
        cases[f"rows{t}"] = (rows, {})
        cases[f"rows-plateaus{t}"] = (_plateaus((70, 3000), pick(f32), 2), {})
        cases[f"rows-filters{t}"] = (_plateaus((70, 3000), pick(f64), 2), {"height": 0.1, "threshold": (0.01, 2.0)})
        cases[f"chunked{t}"] = (_relu_noise((2, 300_000), pick(f32), 3), {})
        cases[f"chunked-filters{t}"] = (_plateaus((3, 200_000), pick(f64), 4), {"height": 0.1, "threshold": (0.01, 2.0)})
        cases[f"short{t}"] = (_relu_noise((500, 56), pick(f64), 5), {})
        cases[f"short-plateaus{t}"] = (_plateaus((500, 30), pick(f64), 6), {})
        cases[f"panels{t}"] = (_relu_noise((4, 300, 40), pick(f32), 7), {"axis": -2, "threshold": (0, 1)})
        cases[f"panels-plateaus{t}"] = (_plateaus((4, 300, 40), pick(f32), 8), {"axis": -2, "threshold": (0, 1)})
        cases[f"maps{t}"] = (_relu_noise((16, 8, 32, 32), pick(f32), 9), {"axis": (-2, -1)})
        cases[f"maps56{t}"] = (_relu_noise((4, 4, 56, 56), pick(f32), 10), {"axis": (-2, -1)})
        cases[f"maps-plateaus{t}"] = (_plateaus((8, 4, 16, 16), pick(f32), 11), {"axis": (-2, -1)})
        cases[f"fortran{t}"] = (np.asfortranarray(_relu_noise((30, 100), pick(f64), 12)), {})
        cases[f"read-only-rows{t}"] = (_read_only(rows), {})
        cases[f"read-only-maps{t}"] = (_read_only(_relu_noise((16, 8, 32, 32), pick(f32), 9)), {"axis": (-2, -1)})
        nan = _relu_noise((20, 500), pick(f32), 13)
        nan[3, 17] = np.nan
        nan[5, 0] = np.inf
        cases[f"nan{t}"] = (nan, {})
    return cases


def cuda_cases():
    """Tiny arrays, for the simulator: rows, panels and maps."""
    return {
        "rows-float32": (_relu_noise((3, 40), np.float32, 1), {}),
        "rows-filters-float64": (_plateaus((3, 40), np.float64, 2), {"threshold": (0, 1)}),
        "panels-float32": (_relu_noise((2, 20, 5), np.float32, 3), {"axis": -2}),
        "maps-float64": (_relu_noise((2, 8, 8), np.float64, 4), {"axis": (-2, -1)}),
    }


def _digest(*arrays):
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str((a.dtype.str, a.shape)).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def run(backend, reverse, full=False):
    import fastsmp

    cases = cpu_cases(full) if backend == "cpu" else cuda_cases()
    names = sorted(cases, reverse=reverse)
    out = {}
    for name in names:
        x, kw = cases[name]
        before = x.copy()
        s, k = fastsmp.smp(x, return_counts=True, backend=backend, **kw)
        out[f"smp:{name}"] = _digest(s, k)
        peak_kw = {key: v for key, v in kw.items() if key != "axis"}
        axis = kw.get("axis", -1)
        for a in (axis,) if isinstance(axis, int) else axis:
            out[f"find_peaks:{name}:{a}"] = _digest(fastsmp.find_peaks(x, axis=a, backend=backend, **peak_kw))
            out[f"curvature:{name}:{a}"] = _digest(fastsmp.curvature(x, axis=a, backend=backend))
        assert np.array_equal(x, before, equal_nan=True), name  # the input is never modified
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--reverse", action="store_true")
    parser.add_argument("--full", action="store_true", help="every cpu case in float32 and float64")
    args = parser.parse_args()
    print(json.dumps(run(args.backend, args.reverse, args.full), sort_keys=True))


if __name__ == "__main__":
    main()
