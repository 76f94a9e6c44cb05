"""The benchmark's own tools (kept out of ``tests/``: they read the clock)."""

import numpy as np
import pytest

from fastsmp import bench


def test_interleaved_best_times_calls_in_turn_and_keeps_each_best():
    """With a fake clock that only the calls move: each call's best is its
    own shortest duration, and the calls alternate round by round."""
    now = [0]
    order = []

    def taking(name, durations):
        durations = iter(durations)

        def call():
            order.append(name)
            now[0] += next(durations)

        return call

    fn = taking("fn", [9, 5, 3, 4, 6])  # the first is the warm-up call
    other = taking("other", [9, 2, 2, 1, 7])
    best = bench.interleaved_best_times(fn, other, rounds=4, min_time=1e9, clock=lambda: now[0])
    assert order == ["fn", "other"] * 5
    assert best == (3, 1)


def test_interleaved_best_times_stops_once_min_time_is_spent():
    now = [0]

    def slow():
        now[0] += 1

    calls = []
    best = bench.interleaved_best_times(lambda: (calls.append(1), slow()), rounds=100, min_time=0.5,
                                        clock=lambda: now[0])
    assert best == (1,)
    assert len(calls) == 1 + 6  # the warm-up, then rounds until more than 10 * 0.5 ticks had passed


@pytest.mark.slow
def test_first_call_latency_tells_numba_start_up_apart():
    """``fastsmp bench``'s first-call figure, and the part of it that is
    Numba's own import and start-up (reported when the target is missed):
    the part is timed inside the whole, so it must be smaller."""
    total, numba_part = bench.first_call_latency(warm=True)
    assert 0 < numba_part < total


@pytest.mark.parametrize("layout, axis", [("rows", -1), ("panels", -2), ("maps", (-2, -1))])
def test_kernel_arithmetic_runs_the_real_kernel(layout, axis):
    """The calls behind the arithmetic bound run the real kernel of each
    layout: each working thread's data comes out as ``passes`` times its
    SMP (for panels, summed over the panel's lines)."""
    import numba
    import numpy as np

    import fastsmp

    shape = {"rows": (300,), "panels": (20, 24), "maps": (9, 11)}[layout]
    alone, busy, samples = bench.kernel_arithmetic(layout, "float32", shape=shape, passes=3)
    assert samples == 3 * int(np.prod(shape))
    x = bench.Case(layout, "", (numba.get_num_threads(), *shape)).make()
    expected = fastsmp.smp(x, axis=axis)
    if layout == "panels":
        expected = expected.sum(axis=-1)
    assert (expected > 0).all()
    np.testing.assert_allclose(busy(), 3 * expected, rtol=1e-5)
    np.testing.assert_allclose(alone(), 3 * expected[:1], rtol=1e-5)


def test_kernel_arithmetic_runs_the_peak_mask_kernel():
    """For (f) the driver runs the peak-mask kernel: each thread's line
    comes out with the peak count of ``find_peaks``."""
    import numba
    import numpy as np

    import fastsmp

    alone, busy, samples = bench.kernel_arithmetic("mask", shape=(300,), passes=2)
    assert samples == 600
    x = bench.Case("mask", "", (numba.get_num_threads(), 300)).make()
    expected = fastsmp.find_peaks(x, axis=-1).sum(axis=-1)
    assert (expected > 0).all()
    np.testing.assert_array_equal(busy(), expected)
    np.testing.assert_array_equal(alone(), expected[:1])


def test_every_case_with_a_target_has_its_kernel_timed():
    """``fastsmp bench`` gives a measured bound for every missed target."""
    assert set(bench.KERNEL_OF_CASE) == {c.name for c in bench.CASES if c.target is not None}


def test_arithmetic_bound_is_the_ceiling_over_the_arithmetic():
    """``fastsmp bench``'s bound for a missed target: the ceiling's ns a
    sample per core over the arithmetic's, with every core busy."""
    import numba

    threads = numba.get_num_threads()
    row = bench.Row(bench.CASES_BY_NAME["a"], seconds=2.0, nbytes=4 * 1000, ceiling_seconds=1e-6,
                    arithmetic_ns=(0.3, 0.4 * threads))
    assert abs(row.ceiling_ns - threads) < 1e-9  # 1 us for 1000 float32 samples on every core
    (line,) = bench.arithmetic_bounds([row, bench.Row(bench.CASES_BY_NAME["b"], 1.0, 4, 1.0)])
    assert line.startswith("a: the rows kernel") and "allows about 2.50 x the ceiling" in line and "measured 0.00" in line
    assert "does not explain the miss" in line  # 2.5 is above the target of 0.7
    row.arithmetic_ns = (0.3, 4.0 * threads)
    (line,) = bench.arithmetic_bounds([row])
    assert "allows about 0.25 x" in line and "does not explain" not in line


def test_arithmetic_rate_is_ns_a_sample_per_core(monkeypatch):
    """``arithmetic_rate`` (the figures in bench/RESULTS.md) divides each
    call's best time by the samples a working thread does per call, in ns:
    with the timer faked, the figures are exactly that, alone first."""
    seen = {}

    def fake_best_times(alone, busy, rounds):
        seen["calls"] = (alone, busy, rounds)
        return 3e-3, 5e-3

    monkeypatch.setattr(bench, "interleaved_best_times", fake_best_times)
    shape, passes = bench.ARITHMETIC_DATA["maps"]
    samples = passes * int(np.prod(shape))
    alone, busy = bench.arithmetic_rate("maps", rounds=2)
    assert (alone, busy) == (3e-3 / samples * 1e9, 5e-3 / samples * 1e9)
    assert seen["calls"][2] == 2 and all(callable(c) for c in seen["calls"][:2])
