"""fastsmp.scan: model scans (layers, hooks, shards, resume, faults, the ``fastsmp scan`` command).

Stored-array scans (``fastsmp.io``) are tested in test_io.py."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
nn = torch.nn

import fastsmp
from fastsmp import cli
from fastsmp.scan import (
    MANIFEST,
    default_data,
    default_model,
    read_scan,
    scan_model,
    select_layers,
)
from fastsmp.scan.data import iter_batches

REPO = Path(__file__).resolve().parents[1]


def sorted_rows(table):
    """The rows as a list of tuples in (sample, layer, channel) order."""
    rows = table.select(["sample_index", "layer", "channel", "smp", "count"]).to_pylist()
    return sorted(
        (r["sample_index"], str(r["layer"]), -1 if r["channel"] is None else r["channel"], r["smp"], r["count"])
        for r in rows
    )


def expected_sequential(model, images, layer_names, reduce="sample"):
    """Rows recomputed by running the Sequential model layer by layer and
    calling fastsmp.smp on each chosen output directly."""
    rows = []
    x = images
    with torch.no_grad():
        for name, layer in model.named_children():
            x = layer(x)
            if name not in layer_names:
                continue
            s, n = fastsmp.smp(x.numpy(), axis=(-2, -1), return_counts=True)
            for i in range(len(images)):
                if reduce == "sample":
                    rows.append((i, name, -1, float(s[i].astype(np.float64).sum()), int(n[i].sum())))
                else:
                    rows += [(i, name, c, float(s[i, c]), int(n[i, c])) for c in range(s.shape[1])]
    return sorted(rows)


def assert_rows_close(got, want):
    assert [r[:3] + (r[4],) for r in got] == [r[:3] + (r[4],) for r in want]
    np.testing.assert_allclose([r[3] for r in got], [r[3] for r in want], rtol=1e-12, atol=0)


# ---------------------------------------------------------------------------
# the default scan, end to end
# ---------------------------------------------------------------------------


def test_cli_scan_with_no_model_matches_direct_smp(tmp_path, capsys):
    out = tmp_path / "scan"
    assert cli.main(["scan", "--out", str(out), "--samples", "48", "--no-progress"]) == 0
    assert "240 rows, 48 samples" in capsys.readouterr().out
    table = read_scan(out)
    meta = json.loads(table.schema.metadata[b"fastsmp"])
    assert meta["identity"]["layers"] == ["1", "2", "4", "5", "7"]
    assert meta["fastsmp_version"] == fastsmp.__version__
    assert meta["layer_axes"] == {name: [2, 3] for name in ["1", "2", "4", "5", "7"]}
    images = torch.stack([default_data(n=48)[i][0] for i in range(48)])
    want = expected_sequential(default_model(), images, {"1", "2", "4", "5", "7"})
    assert_rows_close(sorted_rows(table), want)
    assert any(r[3] > 0 for r in want)  # the check compares real, non-zero SMPs


def test_reduce_channel_rows_equal_per_channel_smp():
    model = default_model()
    images = torch.rand(6, 3, 32, 32)
    table = scan_model(model, images, ["1", "5"], reduce="channel", progress=False)
    assert table.num_rows == 6 * (16 + 32)
    assert table.schema.field("channel").type == pa.int32()
    assert_rows_close(sorted_rows(table), expected_sequential(model, images, {"1", "5"}, reduce="channel"))


def test_rows_are_ordered_by_sample_then_layer_then_channel():
    table = scan_model(default_model(), torch.rand(5, 3, 32, 32), ["1", "2"], reduce="channel", batch_size=2, progress=False)
    keys = list(zip(table.column("sample_index").to_pylist(), map(str, table.column("layer").to_pylist()), table.column("channel").to_pylist()))
    assert keys == sorted(keys, key=lambda k: (k[0], {"1": 0, "2": 1}[k[1]], k[2]))


def test_explicit_axis_applies_to_every_layer():
    images = torch.rand(3, 3, 32, 32)
    table = scan_model(default_model(), images, "1", axis=-1, progress=False)
    x = default_model()[1](default_model()[0](images))
    want = fastsmp.smp(x.detach().numpy(), axis=-1).astype(np.float64).reshape(3, -1).sum(1)
    np.testing.assert_allclose(table.column("smp").to_numpy(), want, rtol=1e-12)


# ---------------------------------------------------------------------------
# layer selection
# ---------------------------------------------------------------------------


class Nested(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 4, 3), nn.ReLU())
        self.pool = nn.AdaptiveMaxPool2d(6)
        self.head = nn.Linear(4 * 36, 2)

    def forward(self, x):
        return self.head(self.pool(self.features(x)).flatten(1))


def test_layers_by_name_glob_and_type():
    model = Nested()
    assert [n for n, _ in select_layers(model)] == ["features.1", "features.3", "pool"]
    assert [n for n, _ in select_layers(model, "features.*")] == ["features.0", "features.1", "features.2", "features.3"]
    assert [n for n, _ in select_layers(model, [nn.Conv2d, "head"])] == ["features.0", "features.2", "head"]


@pytest.mark.parametrize(
    "spec, listed",
    [("features.7", "'features.1'"), ("featurs.*", "'features'"), ("pooll", "'pool'")],
)
def test_a_layer_spec_matching_nothing_lists_close_names(spec, listed):
    with pytest.raises(ValueError, match="matches no module") as info:
        select_layers(Nested(), spec)
    assert listed in str(info.value)


def test_a_module_type_absent_lists_the_types_present():
    with pytest.raises(ValueError, match="Conv2d"):
        select_layers(Nested(), nn.BatchNorm2d)


def test_layer_error_comes_before_any_output_is_made(tmp_path):
    with pytest.raises(ValueError, match="close names"):
        scan_model(Nested(), torch.rand(2, 3, 10, 10), "feature.1", out=tmp_path / "o", progress=False)
    assert not (tmp_path / "o").exists()


# ---------------------------------------------------------------------------
# awkward outputs
# ---------------------------------------------------------------------------


class TupleAndDict(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 3)
        self.pool = nn.MaxPool2d(2, return_indices=True)  # (values, int64 indices)
        self.split = DictOut()

    def forward(self, x):
        values, _ = self.pool(torch.relu(self.conv(x)))
        return self.split(values)


class DictOut(nn.Module):
    def forward(self, x):
        return {"pos": torch.relu(x), "neg": torch.relu(-x), "note": "not a tensor"}


def test_tuple_and_dict_outputs_are_reduced_per_tensor_and_the_rest_skipped_with_a_warning():
    model = TupleAndDict()
    images = torch.rand(4, 3, 20, 20)
    with pytest.warns(RuntimeWarning) as record:
        table = scan_model(model, images, ["pool", "split"], progress=False)
    messages = " ".join(str(w.message) for w in record)
    assert "'pool[1]'" in messages and "torch.int64" in messages
    assert "'split[note]'" in messages
    assert sorted(set(map(str, table.column("layer").to_pylist()))) == ["pool[0]", "split[neg]", "split[pos]"]
    pooled = model.pool(torch.relu(model.conv(images)))[0].detach()
    want = fastsmp.smp(pooled.numpy(), axis=(-2, -1)).astype(np.float64).sum(1)
    got = table.filter(pa.compute.equal(table.column("layer").cast(pa.string()), "pool[0]")).column("smp").to_numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12)


class ReusedRelu(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(1, 2, 3)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.conv(self.relu(x)))


def test_a_module_called_twice_per_forward_gets_two_labels():
    x = torch.randn(3, 1, 40)
    table = scan_model(ReusedRelu(), x, progress=False)
    assert set(map(str, table.column("layer").to_pylist())) == {"relu", "relu#2"}
    first = table.filter(pa.compute.equal(table.column("layer").cast(pa.string()), "relu")).column("smp").to_numpy()
    np.testing.assert_allclose(first, fastsmp.smp(torch.relu(x).numpy(), axis=-1).astype(np.float64).sum(1), rtol=1e-12)


# ---------------------------------------------------------------------------
# shards, resume, refusal, faults
# ---------------------------------------------------------------------------


class FailsAt(nn.Module):
    """The default CNN, raising ``error`` on the forward pass of batch ``fail_at``."""

    def __init__(self, fail_at=None, error=RuntimeError):
        super().__init__()
        self.net = default_model()
        self.fail_at, self.calls, self.error = fail_at, 0, error

    def forward(self, x):
        self.calls += 1
        if self.calls == self.fail_at:
            raise self.error("boom in the model")
        return self.net(x)


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt], ids=["model-error", "ctrl-c"])
def test_a_model_raising_mid_scan_keeps_complete_shards_and_resume_completes(tmp_path, error):
    data = default_data(n=40)
    reference = sorted_rows(scan_model(FailsAt(), data, batch_size=8, progress=False))
    out = tmp_path / "scan"
    with pytest.raises(error, match="boom") as info:
        scan_model(FailsAt(fail_at=4, error=error), data, batch_size=8, shard_size=16, out=out, progress=False, model_name="m")
    assert "samples 0..24 are saved" in "\n".join(info.value.__notes__)
    partial = read_scan(out)
    assert sorted(set(partial.column("sample_index").to_pylist())) == list(range(24))
    assert sorted_rows(partial) == [r for r in reference if r[0] < 24]
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "part-00000.parquet", "part-00001.parquet"]
    resumed = FailsAt()
    scan_model(resumed, data, batch_size=8, shard_size=16, out=out, progress=False, model_name="m")
    assert resumed.calls == 2  # only the 16 missing samples ran
    assert sorted_rows(read_scan(out)) == reference
    assert sorted_rows(pq.read_table(out)) == reference  # the directory reads as a dataset too


def test_a_finished_scan_is_not_run_again(tmp_path):
    model = FailsAt()
    scan_model(model, default_data(n=8), out=tmp_path / "s", progress=False, model_name="m")
    calls = model.calls
    scan_model(model, default_data(n=8), out=tmp_path / "s", progress=False, model_name="m")
    assert calls == 1 and model.calls == 1


def test_other_parameters_against_an_existing_output_are_refused_unless_overwrite(tmp_path):
    out = tmp_path / "scan"
    data = default_data(n=8)
    scan_model(default_model(), data, out=out, progress=False)
    with pytest.raises(ValueError, match=r"rtol: None there, 0\.001 now.*overwrite"):
        scan_model(default_model(), data, out=out, rtol=1e-3, progress=False)
    with pytest.raises(ValueError, match="model_fingerprint"):
        scan_model(default_model(seed=1), data, out=out, progress=False)
    scan_model(default_model(), data, out=out, rtol=1e-3, overwrite=True, progress=False)
    meta = json.loads(read_scan(out).schema.metadata[b"fastsmp"])
    assert meta["identity"]["rtol"] == 1e-3
    assert read_scan(out).num_rows == 8 * 5


def test_unwritable_output_fails_before_any_forward_pass(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    model = FailsAt()
    with pytest.raises(OSError, match="cannot write the scan output"):
        scan_model(model, default_data(n=8), out=blocker / "scan", progress=False)
    assert model.calls == 0
    assert cli.main(["scan", "--out", str(blocker), "--no-progress"]) == 1


def test_a_shard_renamed_but_not_yet_in_the_manifest_is_adopted(tmp_path):
    out = tmp_path / "scan"
    data = default_data(n=24)
    scan_model(FailsAt(), data, batch_size=8, shard_size=8, out=out, progress=False)
    reference = sorted_rows(read_scan(out))
    manifest = json.loads((out / MANIFEST).read_text())
    manifest["shards"] = manifest["shards"][:2]  # as if killed between rename and manifest write
    manifest["complete"] = False
    (out / MANIFEST).write_text(json.dumps(manifest))
    (out / ".part-00003.parquet.tmp-999").write_bytes(b"half a shard")
    model = FailsAt()
    (out / "part-00003.parquet").write_bytes(b"not a shard of this scan")
    with pytest.warns(RuntimeWarning, match="part-00003"):
        scan_model(model, data, batch_size=8, shard_size=8, out=out, progress=False)
    assert model.calls == 0  # the orphan shard held the last samples: nothing to recompute
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    assert sorted_rows(read_scan(out)) == reference


def test_a_shuffling_loader_is_refused_for_a_resumable_scan(tmp_path):
    loader = torch.utils.data.DataLoader(default_data(n=8), batch_size=4, shuffle=True)
    with pytest.raises(ValueError, match="shuffles"):
        scan_model(default_model(), loader, out=tmp_path / "s", progress=False)
    assert scan_model(default_model(), loader, progress=False).num_rows == 8 * 5  # in memory: fine


def test_batches_skip_resumes_mid_batch_for_any_iterable():
    batches = [torch.arange(5 * k, 5 * k + 5).float()[:, None] for k in range(4)]
    got = [(start, x[:, 0].tolist()) for start, x in iter_batches(iter(batches), 5, skip=7)]
    assert got == [(7, [7.0, 8.0, 9.0]), (10, [10.0, 11.0, 12.0, 13.0, 14.0]), (15, [15.0, 16.0, 17.0, 18.0, 19.0])]
    loader = torch.utils.data.DataLoader(default_data(n=10), batch_size=4)
    starts = [(start, len(x)) for start, x in iter_batches(loader, 4, skip=4)]
    assert starts == [(4, 4), (8, 2)]


SCAN_SCRIPT = textwrap.dedent(
    """
    import sys, time, torch
    from fastsmp.scan import default_data, default_model, scan_model

    class Slow(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = default_model()
        def forward(self, x):
            time.sleep(float(sys.argv[2]))
            return self.net(x)

    scan_model(Slow(), default_data(n=96), batch_size=4, shard_size=8, out=sys.argv[1],
               progress=False, model_name="slow")
    print("done")
    """
)


@pytest.mark.slow
def test_sigkill_mid_scan_then_rerun_gives_exactly_the_rows_of_an_uninterrupted_run(tmp_path):
    script = tmp_path / "scan_script.py"
    script.write_text(SCAN_SCRIPT)
    out = tmp_path / "scan"
    # passive OpenMP waiting: torch's and Numba's spinning thread teams slow
    # each other down badly on a busy 2-core machine (correctness unaffected)
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_WAIT_POLICY="PASSIVE")
    victim = subprocess.Popen([sys.executable, str(script), str(out), "0.05"], env=env)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            manifest = out / MANIFEST
            if manifest.exists() and len(json.loads(manifest.read_text())["shards"]) >= 3:
                break
            time.sleep(0.02)
        victim.send_signal(signal.SIGKILL)
    finally:
        victim.wait()
    assert victim.returncode == -signal.SIGKILL
    killed_at = json.loads((out / MANIFEST).read_text())["samples"]
    assert 0 < killed_at < 96  # killed mid-run
    rerun = subprocess.run([sys.executable, str(script), str(out), "0"], env=env, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    uninterrupted = scan_model(FailsAt(), default_data(n=96), batch_size=4, progress=False)
    got = sorted_rows(read_scan(out))
    assert len(got) == len(set(got)) == 96 * 5
    assert got == sorted_rows(uninterrupted)


FACTORIES = textwrap.dedent(
    """
    import torch

    def make_model():
        torch.manual_seed(3)
        return torch.nn.Sequential(torch.nn.Conv1d(2, 3, 5), torch.nn.ReLU(), torch.nn.Conv1d(3, 3, 5), torch.nn.ReLU())

    def make_data():
        g = torch.Generator().manual_seed(4)
        return torch.utils.data.DataLoader(torch.randn(10, 2, 50, generator=g), batch_size=4)
    """
)


def test_cli_scan_with_user_factories_and_options(tmp_path, capsys):
    factories = tmp_path / "factories.py"
    factories.write_text(FACTORIES)
    out = tmp_path / "scan"
    argv = ["scan", "--model", f"{factories}:make_model", "--data", f"{factories}:make_data",
            "--layers", "nn.ReLU", "--reduce", "channel", "--out", str(out), "--no-progress"]
    assert cli.main(argv) == 0
    table = read_scan(out)
    assert table.num_rows == 10 * 2 * 3  # samples x ReLU layers x channels
    assert json.loads(table.schema.metadata[b"fastsmp"])["identity"]["model"] == f"{factories}:make_model"
    namespace = {}
    exec(FACTORIES, namespace)
    model, x = namespace["make_model"](), torch.cat(list(namespace["make_data"]()))
    want = fastsmp.smp(model[:2](x).detach().numpy(), axis=-1)
    got = table.filter(pa.compute.equal(table.column("layer").cast(pa.string()), "1")).column("smp").to_numpy()
    np.testing.assert_array_equal(got, want.reshape(-1).astype(np.float64))
    assert cli.main(["scan", "--model", "no_such_module_xyz:f", "--out", str(tmp_path / "o")]) == 1
    assert "cannot import 'no_such_module_xyz'" in capsys.readouterr().err


@pytest.mark.slow
def test_console_script_finds_factories_in_the_current_directory(tmp_path):
    """``fastsmp scan --model zoo:make_model`` run from the folder that holds
    ``zoo.py``, as uvicorn and gunicorn resolve ``module:attr``: the
    console script's own ``sys.path`` does not hold the current directory."""
    import shutil
    import subprocess

    (tmp_path / "zoo.py").write_text(FACTORIES)
    script = shutil.which("fastsmp")
    assert script, "the fastsmp console script is installed with the package"
    run = subprocess.run([script, "scan", "--model", "zoo:make_model", "--data", "zoo:make_data", "--layers", "nn.ReLU",
                          "--out", "out", "--no-progress"], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    assert read_scan(tmp_path / "out").num_rows == 10 * 2  # samples x ReLU layers
    assert "zoo" not in sys.modules  # the test process imported nothing


def test_synthetic_images_pickle_and_keep_their_name():
    """``fastsmp.scan.SyntheticImages`` (made on first use) pickles, e.g. for
    DataLoader workers, and keeps the name a scan's metadata records."""
    import pickle

    import fastsmp.scan

    data = default_data(n=3)
    assert type(data) is fastsmp.scan.SyntheticImages
    assert f"{type(data).__module__}.{type(data).__qualname__}" == "fastsmp.scan.SyntheticImages"
    clone = pickle.loads(pickle.dumps(data))
    assert type(clone) is type(data) and repr(clone) == repr(data)
    assert torch.equal(clone[2][0], data[2][0])


def test_import_from_cwd_leaves_sys_path_as_it_was(tmp_path, monkeypatch):
    from fastsmp.scan import import_from_cwd

    (tmp_path / "zoo_cwd_probe.py").write_text("VALUE = 7\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    before = list(sys.path)
    try:
        assert import_from_cwd("zoo_cwd_probe").VALUE == 7
    finally:
        sys.modules.pop("zoo_cwd_probe", None)
    assert sys.path == before
