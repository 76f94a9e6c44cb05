"""Time the ``cpu`` backend of another revision against the working tree's,
side by side, with the bandwidth ceiling.

    python bench/compare_revisions.py 74584e0            # every case
    python bench/compare_revisions.py HEAD~1 --cases ab --rounds 25
    python bench/compare_revisions.py /tmp/variant_cpu.py      # a file instead

Only ``fastsmp/_cpu.py`` and the per-element bodies it imports
(``fastsmp/_elementwise.py``) are taken from the revision (``git show``); the
rest of the package is the working tree's. A path to a file instead of a
revision compares that ``_cpu.py`` on the working tree's bodies. Both
versions of the kernels are compiled in this one process (uncached, so the
first round of each takes seconds), and in every round each case is called
with the old kernels, the new ones and the ceiling in turn. On a shared
machine whose speed drifts from second to second (bench/RESULTS.md), the
drift then falls on all three alike; the best time of each over the rounds
is printed, with the ratios
(:func:`fastsmp.bench.interleaved_best_times`).
"""

import argparse
import subprocess
import sys
import types
from pathlib import Path

import numpy as np

import fastsmp
from fastsmp import _dispatch, bench

ROOT = Path(__file__).resolve().parent.parent


def _load_module(qualname, source, label):
    module = types.ModuleType(qualname)
    module.__package__ = "fastsmp"
    sys.modules[qualname] = module
    exec(compile(source.replace("cache=True", "cache=False"), label, "exec"), module.__dict__)
    return module


def load_cpu_backend(name, source, elementwise_source=None):
    """``fastsmp/_cpu.py`` from ``source``, compiled as a module of its own,
    on ``fastsmp/_elementwise.py`` from ``elementwise_source`` (the shared
    per-element bodies it imports) or, if None, on the working tree's."""
    if elementwise_source is not None:
        _load_module(f"fastsmp._elementwise_{name}", elementwise_source, f"<_elementwise.py at {name}>")
        source = source.replace("from ._elementwise import", f"from ._elementwise_{name} import")
    return _load_module(f"fastsmp._cpu_{name}", source, f"<_cpu.py at {name}>")


def _git_show(revision, path):
    return subprocess.run(["git", "-C", str(ROOT), "show", f"{revision}:{path}"],
                          capture_output=True, text=True, check=True).stdout


def on_backend(module, fn):
    """``fn()`` with the dispatcher's ``cpu`` backend replaced by ``module``."""

    def call():
        real = _dispatch._backend_module
        _dispatch._backend_module = lambda backend: module
        try:
            return fn()
        finally:
            _dispatch._backend_module = real

    return call


def assert_same_answer(old, new):
    """Masks and counts equal; SMPs within SPEC 6's float32 bound (the two
    revisions may add the heights in different orders)."""
    if isinstance(old, tuple):
        for a, b in zip(old, new, strict=True):
            assert_same_answer(a, b)
        return
    old, new = np.asarray(old), np.asarray(new)
    if old.dtype.kind in "biu":
        np.testing.assert_array_equal(old, new)
    else:
        np.testing.assert_allclose(old, new, rtol=1e-5)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("revision", help="a git revision of this repository (e.g. HEAD~1), or the path of a _cpu.py")
    p.add_argument("--cases", default="abcdefg")
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--size", choices=("full", "short", "smoke"), default="full")
    args = p.parse_args(argv)
    if Path(args.revision).is_file():  # a variant of the working tree's _cpu.py
        old = load_cpu_backend("old", Path(args.revision).read_text())
    else:
        old = load_cpu_backend("old", _git_show(args.revision, "fastsmp/_cpu.py"),
                               _git_show(args.revision, "fastsmp/_elementwise.py"))
    new = load_cpu_backend("new", (ROOT / "fastsmp" / "_cpu.py").read_text())
    print(f"machine: {bench.machine()}; {args.revision} against the working tree")
    print("case  old ms   new ms   new/old  x ceiling (old, new)")
    for name in args.cases:
        case = bench.CASES_BY_NAME[name]
        x = case.make(args.size)
        assert_same_answer(on_backend(old, lambda: case.call(fastsmp, x, backend="cpu"))(),
                           on_backend(new, lambda: case.call(fastsmp, x, backend="cpu"))())
        t_old, t_new, t_ceiling = bench.interleaved_best_times(
            on_backend(old, lambda: case.call(fastsmp, x, backend="cpu")),
            on_backend(new, lambda: case.call(fastsmp, x, backend="cpu")),
            lambda: bench.ceiling_read(x),
            rounds=args.rounds,
            min_time=float("inf"),  # every round
        )
        print(f"{name:4}  {t_old * 1e3:7.2f}  {t_new * 1e3:7.2f}  {t_new / t_old:7.2f}"
              f"  {t_ceiling / t_old:.2f}, {t_ceiling / t_new:.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
