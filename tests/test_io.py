"""fastsmp.io: stored arrays (.npy, zarr, HDF5) scanned in tiles, in bounded
memory, and ``fastsmp smp FILE``. None of it needs torch."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import fastsmp
from fastsmp import cli
from fastsmp.io import scan_array, tile_shape

REPO = Path(__file__).resolve().parents[1]


def test_importing_io_and_scan_does_not_import_torch():
    code = "import sys, fastsmp.io, fastsmp.scan; assert 'torch' not in sys.modules, 'torch imported'"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr


def test_the_old_paths_in_fastsmp_scan_still_work():
    import fastsmp.scan

    assert fastsmp.scan.scan_array is scan_array
    assert fastsmp.scan.tile_shape is tile_shape


@pytest.fixture
def stored(tmp_path):
    rng = np.random.default_rng(1)
    x = np.maximum(rng.standard_normal((13, 6, 40)), 0).astype(np.float32)
    path = tmp_path / "x.npy"
    np.save(path, x)
    return x, path


@pytest.mark.parametrize("axis", [-1, 0, (0, 2), (1, 2)])
def test_scan_array_npy_in_small_tiles_equals_smp(stored, axis):
    x, path = stored
    s, n = scan_array(path, axis=axis, chunk_bytes=1000, return_counts=True, progress=False)
    want_s, want_n = fastsmp.smp(x, axis=axis, return_counts=True)
    np.testing.assert_array_equal(s, want_s)
    np.testing.assert_array_equal(n, want_n)


def test_scan_array_fortran_order_npy(tmp_path):
    x = np.asfortranarray(np.abs(np.sin(np.arange(3000.0))).reshape(30, 100))
    np.save(tmp_path / "f.npy", x)
    np.testing.assert_array_equal(scan_array(tmp_path / "f.npy", chunk_bytes=2000, progress=False), fastsmp.smp(x))


def test_scan_array_writes_npy_and_parquet(stored, tmp_path):
    x, path = stored
    result = scan_array(path, axis=-1, out=tmp_path / "r.npy", chunk_bytes=2000, return_counts=True, progress=False)
    want_s, want_n = fastsmp.smp(x, axis=-1, return_counts=True)
    assert result == tmp_path / "r.npy"
    np.testing.assert_array_equal(np.load(tmp_path / "r.npy"), want_s)
    np.testing.assert_array_equal(np.load(tmp_path / "r-counts.npy"), want_n)
    pq = pytest.importorskip("pyarrow.parquet")
    scan_array(path, axis=(0, 2), out=tmp_path / "r.parquet", chunk_bytes=2000, progress=False)
    table = pq.read_table(tmp_path / "r.parquet")
    assert table.column_names == ["index_1", "smp", "count"]
    s2, n2 = fastsmp.smp(x, axis=(0, 2), return_counts=True)
    order = np.argsort(table.column("index_1").to_numpy())
    np.testing.assert_array_equal(table.column("smp").to_numpy()[order], s2)
    np.testing.assert_array_equal(table.column("count").to_numpy()[order], n2)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # temporaries renamed


def test_scan_array_zarr_and_hdf5(tmp_path, stored):
    zarr = pytest.importorskip("zarr")
    h5py = pytest.importorskip("h5py")
    x, _ = stored
    z = zarr.open(str(tmp_path / "x.zarr"), mode="w", shape=x.shape, chunks=(4, 6, 40), dtype=x.dtype)
    z[:] = x
    np.testing.assert_array_equal(scan_array(tmp_path / "x.zarr", chunk_bytes=5000, progress=False), fastsmp.smp(x))
    with h5py.File(tmp_path / "x.h5", "w") as f:
        f.create_dataset("acts", data=x, chunks=(2, 6, 40))
        f.create_dataset("other", data=x[:2])
    with pytest.raises(ValueError, match="acts, other"):
        scan_array(tmp_path / "x.h5", progress=False)
    got = scan_array(tmp_path / "x.h5", axis=(1, 2), key="acts", chunk_bytes=5000, progress=False)
    np.testing.assert_array_equal(got, fastsmp.smp(x, axis=(1, 2)))


def test_cli_smp_reads_zarr_and_writes_out(tmp_path, stored, capsys):
    zarr = pytest.importorskip("zarr")
    x, path = stored
    z = zarr.open(str(tmp_path / "x.zarr"), mode="w", shape=x.shape, dtype=x.dtype)
    z[:] = x
    assert cli.main(["smp", str(tmp_path / "x.zarr"), "--out", str(tmp_path / "s.npy")]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "s.npy"), fastsmp.smp(x))
    assert cli.main(["smp", str(path), "--axis", "1,2"]) == 0
    printed = capsys.readouterr().out
    assert np.array2string(fastsmp.smp(x, axis=(1, 2)))[:30] in printed


def test_tile_shape_keeps_lines_whole_and_aligns_to_storage_chunks():
    assert tile_shape((100, 64, 1000), (2,), 4, 64 * 1000 * 4 * 10) == [10, 64, 1000]
    assert tile_shape((100, 64, 1000), (2,), 4, 64 * 1000 * 4 * 10, storage_chunks=(4, 64, 1000)) == [8, 64, 1000]
    assert tile_shape((100, 64, 1000), (0, 2), 4, 10) == [100, 1, 1000]  # one block even over budget


RSS_SCRIPT = textwrap.dedent(
    """
    import sys
    import fastsmp, numpy as np
    from fastsmp.io import scan_array
    fastsmp.smp(np.zeros((2, 8), np.float32))
    def status(key):
        for line in open("/proc/self/status"):
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    before = status("VmRSS")
    s = scan_array(sys.argv[1], axis=-1, chunk_bytes=16 << 20, progress=False)
    print(before, status("VmHWM"), float(s.sum()), s.shape[0])
    """
)


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_scanning_a_large_npy_keeps_rss_bounded(tmp_path):
    rows, n = 80_000, 1000  # 320 MB of float32
    path = tmp_path / "big.npy"
    big = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, n))
    line = np.abs(np.sin(np.arange(n, dtype=np.float32) / 3)).astype(np.float32)
    for start in range(0, rows, 10_000):
        big[start : start + 10_000] = line
    big.flush()
    del big
    script = tmp_path / "rss.py"
    script.write_text(RSS_SCRIPT)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    run = subprocess.run([sys.executable, str(script), str(path)], capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    before, peak, total, lines = run.stdout.split()
    growth = int(peak) - int(before)
    assert int(lines) == rows
    assert float(total) == pytest.approx(rows * float(fastsmp.smp(line)), rel=1e-6)
    assert growth < 120 << 20, f"RSS grew by {growth / 2**20:.0f} MiB scanning a 320 MB file"
