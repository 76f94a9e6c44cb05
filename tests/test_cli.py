"""The ``fastsmp`` command line: ``--version`` and ``smp FILE.npy``."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

import fastsmp
from fastsmp import cli

NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|nan|inf"


def numbers(text):
    """Every number printed in ``text``, in order."""
    return np.array([float(t) for t in re.findall(NUMBER, text)])


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "fastsmp.cli", *args], capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def stored(tmp_path):
    """A (3, 4, 20) float64 array with kinks of known size, saved as .npy."""
    rng = np.random.default_rng(5)
    x = np.cumsum(np.cumsum(rng.integers(-2, 3, size=(3, 4, 20)), axis=-1), axis=-1).astype(np.float64)
    x[1, 2, 3] = np.nan
    path = tmp_path / "acts.npy"
    np.save(path, x)
    return path, x


def test_version_subprocess():
    proc = run_cli("--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"fastsmp {fastsmp.__version__}"


def test_version_in_process(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"fastsmp {fastsmp.__version__}"


@pytest.mark.slow
def test_smp_subprocess(stored):
    path, x = stored
    proc = run_cli("smp", str(path), "--axis", "-1")
    assert proc.returncode == 0, proc.stderr
    expected = fastsmp.smp(x, axis=-1, backend="numpy")
    got = numbers(proc.stdout)
    assert got.shape == (expected.size,)
    np.testing.assert_allclose(got, expected.ravel(), rtol=1e-7, atol=0, equal_nan=True)
    assert np.isnan(got[1 * 4 + 2])


@pytest.mark.parametrize("axis", ["-1", "0", "1", "1,2", "(-2,-1)"])
def test_smp_in_process(stored, capsys, axis):
    path, x = stored
    assert cli.main(["smp", str(path), "--axis", axis]) == 0
    out = capsys.readouterr().out
    parsed = eval(axis) if "," in axis else int(axis)
    expected = fastsmp.smp(x, axis=parsed, backend="numpy")
    np.testing.assert_allclose(numbers(out), np.ravel(expected), rtol=1e-7, atol=0, equal_nan=True)


def test_smp_counts_and_backend(stored, capsys):
    path, x = stored
    assert cli.main(["smp", str(path), "--axis", "0", "--counts", "--backend", "numpy"]) == 0
    out = capsys.readouterr().out
    expected, counts = fastsmp.smp(x, axis=0, return_counts=True, backend="numpy")
    assert out.startswith("smp:") and "\ncount:" in out, out
    smp_text = out[out.index("smp:") : out.index("count:")]
    count_text = out[out.index("count:") :]
    np.testing.assert_allclose(numbers(smp_text), expected.ravel(), rtol=1e-7, atol=0)
    np.testing.assert_array_equal(numbers(count_text), counts.ravel())


def test_smp_exact_values(tmp_path, capsys):
    """Kinks of known size: the printed SMPs are the slope changes (by hand)."""
    j = np.arange(12.0)
    x = np.stack([3 * np.maximum(0, j - 4), 0.5 * np.maximum(0, j - 7) - 2 * np.maximum(0, j - 3), 2 * j + 1])
    path = tmp_path / "kinks.npy"
    np.save(path, x)
    assert cli.main(["smp", str(path)]) == 0
    np.testing.assert_array_equal(numbers(capsys.readouterr().out), [3.0, 2.5, 0.0])


@pytest.mark.parametrize(
    "content, message",
    [
        (None, r"No such file|not found|does not exist"),
        (b"this is not an array", r"pickle|magic|format|npy"),
        ("complex", r"real numbers|complex"),
        ("scalar", r"at least one dimension|dimension 0"),
    ],
)
def test_bad_file_exit_code_1(tmp_path, capsys, content, message):
    path = tmp_path / "bad.npy"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content == "complex":
        np.save(path, np.ones(8, complex))
    elif content == "scalar":
        np.save(path, np.float64(3.0))
    assert cli.main(["smp", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("fastsmp smp: error:"), err
    assert re.search(message, err, re.IGNORECASE), err


def test_bad_file_subprocess(tmp_path):
    proc = run_cli("smp", str(tmp_path / "missing.npy"))
    assert proc.returncode == 1
    assert "error" in proc.stderr and "missing.npy" in proc.stderr
    assert proc.stdout == ""


def test_bad_axis(stored, capsys):
    path, _ = stored
    assert cli.main(["smp", str(path), "--axis", "5"]) == 1
    assert "out of bounds" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        cli.main(["smp", str(path), "--axis", "x"])
    assert info.value.code == 2  # argparse: a usage error


def test_bench_prints_one_row_per_case(capsys):
    from fastsmp.cli import main

    assert main(["bench", "--size", "smoke", "--cases", "af", "--no-latency"]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line[:2] in ("a ", "f ")]
    assert [r[0] for r in rows] == ["a", "f"]
    assert "x ceiling" in out and "vs scipy loop" in out
    targets = {"a": 0.7, "f": 0.5}  # issue #3's
    for r in rows:
        fraction = float(r[r.index("cpu") + 2])
        assert fraction > 0  # the fraction of the ceiling was measured
        line = " ".join(r)
        assert f">= {targets[r[0]]}" in line
        assert ("(met)" in line) == (fraction >= targets[r[0]]) and ("(not met)" in line) == (fraction < targets[r[0]])
    if "(not met)" in out:  # a missed target comes with its reason
        assert "targets not met (" in out and "smoke-size arrays time the call overhead" in out


def test_bench_rejects_unknown_cases(capsys):
    from fastsmp.cli import main

    assert main(["bench", "--cases", "az"]) == 1
    assert "unknown case" in capsys.readouterr().err

