"""fastsmp.dask: equal to the in-memory result, chunked any way, on the
threaded scheduler and on distributed, and safe under Numba's threading layers."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

da = pytest.importorskip("dask.array")

import fastsmp
import fastsmp.dask as fdask

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def acts():
    rng = np.random.default_rng(7)
    x = np.maximum(rng.standard_normal((6, 5, 23, 31)), 0).astype(np.float32)
    x[2, 1, 4, 7] = np.nan
    return x


CHUNKINGS = [(6, 5, 23, 31), (1, 2, 5, 7), ((2, 4), (1, 4), (20, 3), (1, 30))]


@pytest.mark.parametrize("chunks", CHUNKINGS, ids=["one", "small", "irregular"])
@pytest.mark.parametrize("axis", [-1, 2, (-2, -1), (0, 3)])
def test_smp_equals_in_memory_on_the_threaded_scheduler(acts, chunks, axis):
    lazy_s, lazy_n = fdask.smp(da.from_array(acts, chunks=chunks), axis=axis, return_counts=True)
    s, n = da.compute(lazy_s, lazy_n, scheduler="threads", num_workers=4)
    want_s, want_n = fastsmp.smp(acts, axis=axis, return_counts=True)
    np.testing.assert_array_equal(s, want_s)  # NaN lines included
    np.testing.assert_array_equal(n, want_n)
    assert s.dtype == np.float32 and n.dtype == np.int64
    assert lazy_s.shape == want_s.shape


def test_keepdims_parameters_and_float64(acts):
    x = acts.astype(np.float64)
    kwargs = dict(axis=(1, 3), keepdims=True, height=0.01, threshold=(0, 2.0), rtol=1e-9)
    got = fdask.smp(da.from_array(x, chunks=(4, 2, 9, 10)), **kwargs).compute()
    want = fastsmp.smp(x, **kwargs)
    assert got.shape == want.shape == (6, 1, 23, 1)
    np.testing.assert_array_equal(got, want)


def test_nan_policy_raise_raises_on_compute(acts):
    lazy = fdask.smp(da.from_array(acts, chunks=(3, 5, 23, 31)), axis=-1, nan_policy="raise")
    with pytest.raises(ValueError, match="NaN"):
        lazy.compute(scheduler="threads")


def test_rechunk_keeps_line_axes_whole_and_leaves_ready_arrays_alone():
    x = da.zeros((40, 1000, 30), chunks=(40, 100, 30))
    whole = fdask._whole_along(x, (1,))
    assert whole.chunks[1] == (1000,)
    ready = da.zeros((40, 1000), chunks=(3, 1000))
    assert fdask._whole_along(ready, (1,)) is ready


@pytest.mark.parametrize("axis", [0, -1])
def test_find_peaks_equals_in_memory(axis):
    a = np.random.default_rng(3).random((37, 41))
    a[5, 5] = np.nan
    got = fdask.find_peaks(da.from_array(a, chunks=(6, 11)), axis=axis, height=(0.2, 0.9), threshold=0.01)
    np.testing.assert_array_equal(got.compute(scheduler="threads"), fastsmp.find_peaks(a, axis=axis, height=(0.2, 0.9), threshold=0.01))


def test_bool_input_is_refused_before_compute():
    with pytest.raises(TypeError, match="bool"):
        fdask.smp(da.zeros((4, 8), dtype=bool))


def test_kernels_are_threadsafe_reports_the_layer_numba_picked():
    import numba

    assert fdask.kernels_are_threadsafe() is (numba.threading_layer() in ("omp", "tbb"))


WORKQUEUE_SCRIPT = textwrap.dedent(
    """
    import dask.array as da, numba, numpy as np
    import fastsmp, fastsmp.dask as fdask
    x = np.random.default_rng(0).random((64, 20000))
    lazy = fdask.smp(da.from_array(x, chunks=(2, 20000)), axis=-1)
    got = lazy.compute(scheduler="threads", num_workers=8)
    print(numba.threading_layer(), fdask.kernels_are_threadsafe(), np.array_equal(got, fastsmp.smp(x)))
    """
)


@pytest.mark.slow
def test_workqueue_layer_is_serialised_instead_of_aborting(tmp_path):
    """Numba's workqueue layer aborts the process on concurrent parallel
    launches (checked by hand: 8 dask threads on unguarded kernels abort it);
    under it the launches from dask's threads must take turns."""
    script = tmp_path / "wq.py"
    script.write_text(WORKQUEUE_SCRIPT)
    env = dict(os.environ, NUMBA_THREADING_LAYER="workqueue", PYTHONPATH=str(REPO))
    run = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == ["workqueue", "False", "True"]


def test_distributed_in_process_cluster_equals_in_memory(acts):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            lazy = fdask.smp(da.from_array(acts, chunks=(2, 3, 8, 31)), axis=(-2, -1))
            np.testing.assert_array_equal(client.compute(lazy).result(), fastsmp.smp(acts, axis=(-2, -1)))


@pytest.mark.slow
def test_distributed_process_cluster_equals_in_memory(acts):
    """One real LocalCluster with worker processes: the tasks run in other
    interpreters, each choosing its own Numba threading layer."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=2, processes=True, dashboard_address=None, worker_dashboard_address=None
    ) as cluster:
        with distributed.Client(cluster) as client:
            lazy_s, lazy_n = fdask.smp(da.from_array(acts, chunks=(1, 5, 23, 10)), axis=-1, return_counts=True)
            s, n = client.compute([lazy_s, lazy_n], sync=True)
            layers = client.run(lambda: fdask.kernels_are_threadsafe())
    want_s, want_n = fastsmp.smp(acts, axis=-1, return_counts=True)
    np.testing.assert_array_equal(s, want_s)
    np.testing.assert_array_equal(n, want_n)
    assert len(layers) == 2 and all(isinstance(v, bool) for v in layers.values())


def test_scipy_rules_through_dask_match_numpy():
    """SciPy's other rules on a dask array, chunked across the lines, give
    the masks and SMPs of the same call on the NumPy array; bad rules raise
    when the graph is built."""
    rng = np.random.default_rng(3)
    a = rng.integers(0, 6, (17, 40)).astype(np.float64)
    d = da.from_array(a, chunks=(5, 11))
    rules = dict(distance=2.5, prominence=(1, None), width=(0.5, 6), wlen=7)
    mask = fastsmp.dask.find_peaks(d, axis=-1, **rules).compute(scheduler="threads")
    np.testing.assert_array_equal(mask, fastsmp.find_peaks(a, axis=-1, **rules))
    s, n = fastsmp.dask.smp(d, axis=0, return_counts=True, distance=2, plateau_size=(1, 2))
    expected = fastsmp.smp(a, axis=0, return_counts=True, distance=2, plateau_size=(1, 2))
    np.testing.assert_array_equal(s.compute(scheduler="threads"), expected[0])
    np.testing.assert_array_equal(n.compute(scheduler="threads"), expected[1])
    with pytest.raises(ValueError, match="distance"):
        fastsmp.dask.find_peaks(d, distance=0.5)
    with pytest.raises(ValueError, match="wlen"):
        fastsmp.dask.smp(d, prominence=1, wlen=1)
