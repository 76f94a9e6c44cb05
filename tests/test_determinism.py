"""SPEC 10: same backend, same input, same bits, in every process.

``determinism_battery.py`` goes through every kernel path of a backend and
prints a hash of each result. It runs here in separate processes that differ
in everything but the input: (a) compiling every kernel into an empty
``NUMBA_CACHE_DIR``, (b) loading them all from that cache, (c) on one thread
under another threading layer, and (d) in the reverse order, compiling into
another empty cache (so that the kernels are compiled in another order and
in other company). Every hash must be the same in all of them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BATTERY = Path(__file__).with_name("determinism_battery.py")


def _start(cache_dir, *args, **env):
    environment = {**os.environ, "NUMBA_CACHE_DIR": str(cache_dir), **env}
    return subprocess.Popen([sys.executable, str(BATTERY), *args], env=environment, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _result(process):
    out, err = process.communicate(timeout=1800)
    assert process.returncode == 0, err[-3000:]
    return json.loads(out)


def _battery(cache_dir, *args, **env):
    return _result(_start(cache_dir, *args, **env))


def _differences(reference, other):
    assert reference.keys() == other.keys()
    return sorted(name for name in reference if reference[name] != other[name])


@pytest.mark.slow
def test_cpu_results_do_not_depend_on_cache_threads_or_call_order(tmp_path):
    # the two cold processes (each compiles every kernel variant) side by side
    first, second = _start(tmp_path / "a"), _start(tmp_path / "d", "--reverse", NUMBA_NUM_THREADS="2")
    cold, reversed_cold = _result(first), _result(second)
    assert len(cold) == 56  # every case ran: smp, and find_peaks and curvature along each axis
    warm = _battery(tmp_path / "a")
    one_thread = _battery(tmp_path / "a", "--reverse", NUMBA_NUM_THREADS="1", NUMBA_THREADING_LAYER="workqueue")
    assert _differences(cold, warm) == []
    assert _differences(cold, one_thread) == []
    assert _differences(cold, reversed_cold) == []


@pytest.mark.slow
def test_cuda_simulator_results_do_not_depend_on_cache_or_call_order(tmp_path):
    env = {"NUMBA_ENABLE_CUDASIM": "1"}
    first = _battery(tmp_path / "a", "--backend", "cuda", **env)
    assert len(first) >= 4
    assert _differences(first, _battery(tmp_path / "a", "--backend", "cuda", "--reverse", **env)) == []


def test_battery_digest_sees_a_last_bit():
    """The hash the battery compares changes with one ulp of one result, and
    with the dtype of the same values: a test built on it can fail."""
    import numpy as np

    sys.path.insert(0, str(BATTERY.parent))
    try:
        import determinism_battery as battery
    finally:
        sys.path.remove(str(BATTERY.parent))
    s = np.array([1.0, 2.0, 3.0])
    k = np.array([1, 2, 3])
    bumped = s.copy()
    bumped[1] = np.nextafter(bumped[1], 3.0)
    assert battery._digest(s, k) == battery._digest(s.copy(), k.copy())
    assert battery._digest(s, k) != battery._digest(bumped, k)
    assert battery._digest(s, k) != battery._digest(s.astype(np.float32), k)
