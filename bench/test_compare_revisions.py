"""Tests of bench/compare_revisions.py, so that it does not rot: HEAD's whole
``fastsmp/``, extracted and imported as a package of its own, against the
working tree's, on a tiny array. The two tests that compile the extracted
package's kernels (about 10 s, 25 s with the working tree's too, with a cold
cache; 2 s warm) are ``slow``."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _in_git_checkout():
    if shutil.which("git") is None:
        return False
    return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True).returncode == 0


needs_git = pytest.mark.skipif(not _in_git_checkout(), reason="needs a git checkout of fastsmp")


def _call(case, package, x):
    return lambda: case.call(package, x, backend="cpu")


@pytest.mark.slow
@needs_git
def test_the_old_package_is_another_package_that_runs_its_own_code():
    import fastsmp
    from fastsmp import bench

    from bench import compare_revisions

    old = compare_revisions.load_old("HEAD")
    assert old.__name__.startswith("fastsmp_old_")
    assert old is not fastsmp and old.smp is not fastsmp.smp
    assert compare_revisions.load_old("HEAD") is old  # imported once per process
    old_dir = Path(old.__file__).resolve().parent
    assert old_dir != (ROOT / "fastsmp").resolve()

    case = bench.CASES_BY_NAME["a"]
    x = case.make("smoke")
    result = compare_revisions.call_old_checked(old, _call(case, old, x), harness=[bench.__file__])
    compare_revisions.assert_same_answer(result, _call(case, fastsmp, x)())
    old_modules = {name: sys.modules[name] for name in sys.modules if name.startswith(old.__name__ + ".")}
    assert len(old_modules) >= 2  # the dispatcher and the kernels, wherever they live
    for module in old_modules.values():
        assert old_dir in Path(module.__file__).resolve().parents
    new_modules = [m for name, m in sys.modules.items() if name == "fastsmp" or name.startswith("fastsmp.")]
    assert not {id(m) for m in old_modules.values()} & {id(m) for m in new_modules}


@needs_git
def test_a_package_that_calls_the_working_trees_code_is_caught(tmp_path):
    """A tree whose ``smp`` is the working tree's (what an absolute ``import
    fastsmp...`` on the call path would give) fails the isolation check (on
    the numpy backend: nothing to compile)."""
    import numpy as np

    from bench import compare_revisions

    (tmp_path / "fastsmp").mkdir()
    (tmp_path / "fastsmp" / "__init__.py").write_text("from fastsmp import curvature, find_peaks, smp\n")
    leaky = compare_revisions.load_old(str(tmp_path))  # a directory instead of a revision
    assert leaky.__name__.startswith("fastsmp_dir_")
    x = np.ones((4, 16), np.float32)
    with pytest.raises(RuntimeError, match="not isolated.*it ran .*fastsmp.*no Python code of"):
        compare_revisions.call_old_checked(leaky, lambda: leaky.smp(x, backend="numpy"))


@needs_git
def test_a_single_file_is_refused(tmp_path):
    from bench import compare_revisions

    variant = tmp_path / "_cpu.py"
    variant.write_text("")
    with pytest.raises(RuntimeError, match="is a file"):
        compare_revisions.load_old(str(variant))
    assert compare_revisions.main([str(variant), "--cases", "a", "--rounds", "1", "--size", "smoke"]) == 2


@pytest.mark.slow
@needs_git
def test_compare_revisions_prints_the_ratios(capsys):
    from bench import compare_revisions

    assert compare_revisions.main(["HEAD", "--cases", "a", "--rounds", "2", "--size", "smoke"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "HEAD against the working tree" in lines[0]
    header = next(k for k, line in enumerate(lines) if line.startswith("case"))
    name, old_ms, new_ms, ratio, ceiling_old, ceiling_new = lines[header + 1].replace(",", " ").split()
    assert name == "a"
    assert float(old_ms) > 0 and float(new_ms) > 0
    # the times are printed to 0.005 ms, the ratio to 0.005: it must lie in
    # the range the printed times allow (smoke cases take hundredths of a ms)
    old_t, new_t, half = float(old_ms), float(new_ms), 0.005
    assert (new_t - half) / (old_t + half) - half <= float(ratio) <= (new_t + half) / max(old_t - half, 1e-9) + half
    assert float(ceiling_old) > 0 and float(ceiling_new) > 0
    assert "own code only" in lines[header + 2]
