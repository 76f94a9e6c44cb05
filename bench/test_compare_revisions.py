"""Smoke test of bench/compare_revisions.py, so that it does not rot: HEAD
against the working tree on a tiny array, one round."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _in_git_checkout():
    if shutil.which("git") is None:
        return False
    return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True).returncode == 0


@pytest.mark.slow
@pytest.mark.skipif(not _in_git_checkout(), reason="needs a git checkout of fastsmp")
def test_compare_revisions_prints_a_row_per_case(capsys):
    from bench import compare_revisions

    assert compare_revisions.main(["HEAD", "--cases", "af", "--rounds", "1", "--size", "smoke"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[2:]]
    assert [r[0] for r in rows] == ["a", "f"]
    for r in rows:
        old_ms, new_ms = float(r[1]), float(r[2])
        assert old_ms > 0 and new_ms > 0


@pytest.mark.slow
def test_compare_revisions_takes_a_file(tmp_path, capsys):
    """A ``_cpu.py`` variant kept outside git compares like a revision."""
    from bench import compare_revisions

    variant = tmp_path / "variant_cpu.py"
    variant.write_text((ROOT / "fastsmp" / "_cpu.py").read_text())
    assert compare_revisions.main([str(variant), "--cases", "a", "--rounds", "1", "--size", "smoke"]) == 0
    out = capsys.readouterr().out
    assert f"{variant} against the working tree" in out
    assert [line.split()[0] for line in out.splitlines()[2:]] == ["a"]
