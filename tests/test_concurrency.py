"""Calling fastsmp from several Python threads at once gives the results of
serial calls, under the threading layer this process picked and under
Numba's ``workqueue`` layer (which needs fastsmp's guard)."""

import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import fastsmp

SCRIPT = textwrap.dedent(
    """
    import numpy as np, numba, fastsmp
    from concurrent.futures import ThreadPoolExecutor
    rng = np.random.default_rng(0)
    arrays = [np.maximum(rng.standard_normal((64, 3000)), 0).astype(np.float32) for _ in range(8)]
    serial = [fastsmp.smp(a, return_counts=True) for a in arrays]
    with ThreadPoolExecutor(8) as pool:
        for _ in range(5):
            results = list(pool.map(lambda a: fastsmp.smp(a, return_counts=True), arrays))
            for (s, k), (es, ek) in zip(results, serial):
                assert np.array_equal(s, es) and np.array_equal(k, ek)
    print(numba.threading_layer())
    """
)


def _run(layer):
    env = dict(os.environ, NUMBA_THREADING_LAYER=layer)
    return subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300)


def test_threads_in_this_process_match_serial_calls():
    rng = np.random.default_rng(1)
    arrays = [rng.integers(0, 5, size=(16, 40, 50)).astype(np.float64) for _ in range(6)]
    jobs = [(a, ax) for a in arrays for ax in (-1, 1, (1, 2))]
    serial = [fastsmp.smp(a, axis=ax, return_counts=True) for a, ax in jobs]
    masks = [fastsmp.find_peaks(a, axis=1) for a in arrays]
    with ThreadPoolExecutor(6) as pool:
        parallel = list(pool.map(lambda job: fastsmp.smp(job[0], axis=job[1], return_counts=True), jobs))
        parallel_masks = list(pool.map(lambda a: fastsmp.find_peaks(a, axis=1), arrays))
    for (s, k), (es, ek) in zip(parallel, serial):
        np.testing.assert_array_equal(s, es)
        np.testing.assert_array_equal(k, ek)
    for m, em in zip(parallel_masks, masks):
        np.testing.assert_array_equal(m, em)


@pytest.mark.slow
def test_workqueue_layer_is_guarded():
    done = _run("workqueue")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "workqueue"
