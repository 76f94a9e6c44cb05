"""The benchmark suite (pytest-benchmark), driven by the case table in
:mod:`fastsmp.bench`.

Full run: ``pytest bench/ --benchmark-only`` (minutes; see bench/README.md).
In the ordinary test run (``--benchmark-disable``, or benchmarks skipped by
pytest-benchmark's defaults) every case runs once on a tiny array as a smoke
test and its result is checked against the reference backend, so the suite
cannot rot. The ratios to the ceiling and to every baseline, per case, are
printed at the end of a full run (bench/conftest.py), with the ratio to the
ceiling timed a second way, alternating the call and the ceiling.
"""

import numpy as np
import pytest

import fastsmp
from fastsmp import bench

# Imported here, not inside the first timed round of a slow baseline.
pytest.importorskip("scipy.signal")

IMPLEMENTATIONS = ["fastsmp cpu", "ceiling", "numpy.sum", "reference", "scipy loop", "torch ops"]
# The pure-Python baselines on the biggest arrays would take minutes a round.
TOO_SLOW = {("scipy loop", "c"), ("reference", "d"), ("reference", "c")} | {
    ("reference", c.name) for c in bench.CASES if c.rules}
#: no such baseline for these cases
MISSING = {("torch ops", c.name) for c in bench.CASES if c.rules}


def _size(benchmark):
    return "smoke" if benchmark.disabled else "full"


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
@pytest.mark.parametrize("case", bench.CASES, ids=lambda c: c.name)
def test_speed(benchmark, case, impl):
    if impl == "torch ops":
        pytest.importorskip("torch")
    if (impl, case.name) in MISSING:
        pytest.skip(f"no {impl} version of case {case.name}")
    if not benchmark.disabled and (impl, case.name) in TOO_SLOW:
        pytest.skip(f"{impl} on case {case.name} would take minutes per round")
    x = case.make(_size(benchmark))
    benchmark.group = f"case {case.name}: {case.title}"
    benchmark.extra_info.update(nbytes=x.nbytes, case=case.name, impl=impl)
    fn = {
        "fastsmp cpu": lambda: case.call(fastsmp, x, backend="cpu"),
        "ceiling": lambda: bench.ceiling_read(x),
        "numpy.sum": lambda: bench.numpy_sum(x),
        "reference": lambda: bench.reference(case, x),
        "scipy loop": lambda: bench.scipy_loop(case, x),
        "torch ops": lambda: bench.torch_ops(case, x),
    }[impl]
    if impl in ("reference", "scipy loop", "torch ops"):
        result = benchmark.pedantic(fn, rounds=1 if not benchmark.disabled else 1, iterations=1, warmup_rounds=0)
    else:
        result = benchmark(fn)
    if impl == "fastsmp cpu" and not benchmark.disabled:
        # The same ratio, with the call and the ceiling timed alternately:
        # the separate benchmarks above run seconds apart on a machine whose
        # speed drifts (bench/RESULTS.md).
        t, ceiling = bench.interleaved_best_times(fn, lambda: bench.ceiling_read(x))
        benchmark.extra_info["x_ceiling_interleaved"] = round(ceiling / t, 3)

    if impl == "fastsmp cpu":
        # What was timed is right: it equals the reference on the same array.
        expected = bench.reference(case, x)
        if case.op == "smp_counts":
            np.testing.assert_allclose(result[0], expected[0], rtol=1e-5)
            np.testing.assert_array_equal(result[1], expected[1])
        elif case.op == "find_peaks":
            np.testing.assert_array_equal(result, expected)
        else:
            np.testing.assert_allclose(result, expected, rtol=1e-5)
    elif impl == "ceiling":
        np.testing.assert_allclose(result.sum(), x.sum(dtype=np.float64), rtol=1e-4)
    elif impl == "scipy loop" and case.op != "find_peaks":
        assert np.isfinite(result) and result > 0
