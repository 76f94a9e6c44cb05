"""Where a scan's rows go: a long table, one row per (sample, layer[,
channel]), kept in memory or written as sharded Parquet that survives a
crash.

- :class:`ShardBuffer` collects the reduced batches and turns every
  ``shard_size`` samples into a table (the schema is :func:`_schema`);
- :class:`ScanStore` is the output directory: each shard is written under a
  temporary name, synced and renamed, then listed in ``_manifest.json``
  (replaced atomically), so the directory always holds complete shards
  that cover samples ``0 .. done``. On a re-run it resumes after them, or
  refuses a scan of another model or other parameters (``IDENTITY_KEYS``);
- :func:`read_scan` reads the finished shards back.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import warnings
from pathlib import Path

import numpy as np

#: name of the index of finished shards inside a scan's output directory
MANIFEST = "_manifest.json"
#: output format version, stored in the manifest and in every shard
FORMAT_VERSION = 1
#: refuse to start a scan when the output's disk has less free space than this
MIN_FREE_BYTES = 16 << 20
#: the parameters that define a scan: resuming with any of them changed is refused
IDENTITY_KEYS = ("model", "model_fingerprint", "data", "layers", "axis", "reduce", "rtol", "height", "threshold")
_SHARD_RE = re.compile(r"^part-(\d{5,})\.parquet$")


# ---------------------------------------------------------------------------
# rows
# ---------------------------------------------------------------------------


def _rows_table(batches, layer_names, metadata_json):
    """The pyarrow table of the rows of ``batches``: one row per (sample,
    layer[, channel]), ordered by sample, then layer (firing order), then
    channel. ``layer_names`` (a list, grown here) fixes the dictionary codes."""
    import pyarrow as pa

    samples, layers, channels, smps, counts = [], [], [], [], []
    for start, results in batches:
        for label, smp, count in results:
            smp, count = smp.cpu().numpy(), count.cpu().numpy()
            n = smp.shape[0]
            width = smp.shape[1] if smp.ndim == 2 else 1
            if label not in layer_names:
                layer_names.append(label)
            samples.append(np.repeat(np.arange(start, start + n, dtype=np.int64), width))
            layers.append(np.full(n * width, layer_names.index(label), np.int32))
            channels.append(np.tile(np.arange(width, dtype=np.int32), n) if smp.ndim == 2 else np.full(n, -1, np.int32))
            smps.append(smp.reshape(-1))
            counts.append(count.reshape(-1).astype(np.int64, copy=False))
    if not samples:
        return _empty_table(metadata_json)
    sample = np.concatenate(samples)
    order = np.argsort(sample, kind="stable")
    channel = np.concatenate(channels)[order]
    columns = {
        "sample_index": pa.array(sample[order]),
        "layer": pa.DictionaryArray.from_arrays(pa.array(np.concatenate(layers)[order]), pa.array(layer_names, pa.string())),
        "channel": pa.array(channel, mask=channel < 0),
        "smp": pa.array(np.concatenate(smps)[order]),
        "count": pa.array(np.concatenate(counts)[order]),
    }
    return pa.table(columns, schema=_schema(metadata_json))


def _schema(metadata_json):
    import pyarrow as pa

    return pa.schema(
        [
            ("sample_index", pa.int64()),
            ("layer", pa.dictionary(pa.int32(), pa.string())),
            ("channel", pa.int32()),
            ("smp", pa.float64()),
            ("count", pa.int64()),
        ],
        metadata={"fastsmp": metadata_json},
    )


def _empty_table(metadata_json):
    return _schema(metadata_json).empty_table()


class ShardBuffer:
    """The reduced batches not yet written: every ``shard_size`` samples they
    become a shard in ``store`` (or, without a store, a table kept in memory)."""

    def __init__(self, store, metadata, reducer, done, shard_size):
        self.store, self.metadata, self.reducer, self.shard_size = store, metadata, reducer, shard_size
        self.metadata_json = json.dumps(metadata, sort_keys=True)
        self.layer_names, self.tables, self.pending = [], [], []
        self.shard_start = self.position = done

    def add(self, start, results, n):
        self.pending.append((start, results))
        self.position = start + n
        if self.position - self.shard_start >= self.shard_size:
            self.flush()

    def flush(self):
        if not self.pending:
            return
        table = _rows_table(self.pending, self.layer_names, self.metadata_json)
        if self.store is not None:
            self.store.write_shard(table, self.shard_start, self.position, self.reducer.layer_axes)
        else:
            self.tables.append(table)
        self.pending.clear()
        self.shard_start = self.position

    def table(self):
        """All rows, in memory (no store)."""
        import pyarrow as pa

        metadata_json = json.dumps(dict(self.metadata, layer_axes=self.reducer.layer_axes), sort_keys=True)
        table = pa.concat_tables(self.tables) if self.tables else _empty_table(metadata_json)
        return table.replace_schema_metadata({"fastsmp": metadata_json})

    def save_after(self, exc):
        """On an error or Ctrl-C: write the complete batches read so far, and
        say on the error what is saved."""
        try:
            self.flush()
        except Exception as flush_exc:  # noqa: BLE001 - reported on the original error
            exc.add_note(f"fastsmp scan: saving the last complete batches failed too: {flush_exc}")
        if self.store is not None:
            exc.add_note(
                f"fastsmp scan: samples 0..{self.store.done} are saved in {self.store.out} "
                f"({len(self.store.shards)} complete shards); run the same scan again to resume"
            )


# ---------------------------------------------------------------------------
# the output directory: shards, manifest, resume
# ---------------------------------------------------------------------------


def _fsync_path(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _atomic_write_text(path, text):
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_path(path.parent)


class ScanStore:
    """A scan's output directory.

    Invariant: every ``part-NNNNN.parquet`` in it is a complete shard, and
    the shards cover samples ``0 .. done`` without gap or overlap. A shard is
    written under a hidden temporary name, synced, and renamed; then
    ``_manifest.json`` (also replaced atomically) lists it. A crash between
    the rename and the manifest leaves one complete shard the manifest does
    not list yet: the next run adopts it. Names that start with ``.`` or
    ``_`` are skipped by ``pyarrow.dataset`` and pandas, so reading the
    directory as a Parquet dataset gives exactly the finished rows.
    """

    def __init__(self, out, metadata, overwrite):
        self.out = Path(out)
        self.metadata = metadata
        self.metadata_json = json.dumps(metadata, sort_keys=True)
        self.overwrite = overwrite
        self.shards = []
        self.complete = False

    @property
    def done(self):
        return self.shards[-1]["stop"] if self.shards else 0

    # -- opening -----------------------------------------------------------

    def open(self):
        """Check the output can be written, then load (or reset) what an
        earlier run left. Runs before any model work."""
        self._check_writable()
        manifest = self._read_manifest()
        if manifest is not None and not self._same_scan(manifest["metadata"]):
            if not self.overwrite:
                raise ValueError(self._refusal(manifest["metadata"]))
            self._remove_outputs()
            manifest = None
        if manifest is not None:
            self.shards = manifest["shards"]
            self.complete = manifest.get("complete", False)
        self._remove_temporaries()
        self._adopt_or_remove_orphans()
        return self.done

    def _check_writable(self):
        try:
            if self.out.exists() and not self.out.is_dir():
                raise NotADirectoryError(f"{self.out} exists and is not a directory")
            self.out.mkdir(parents=True, exist_ok=True)
            probe = self.out / f".write-test-{os.getpid()}"
            probe.write_bytes(b"fastsmp")
            probe.unlink()
        except OSError as exc:
            raise OSError(f"cannot write the scan output to {self.out}: {exc}") from exc
        free = shutil.disk_usage(self.out).free
        if free < MIN_FREE_BYTES:
            raise OSError(f"cannot write the scan output to {self.out}: only {free / 2**20:.1f} MiB free on its disk")

    def _read_manifest(self):
        path = self.out / MANIFEST
        if not path.exists():
            return None
        try:
            manifest = json.loads(path.read_text())
            manifest["metadata"], manifest["shards"]
        except (ValueError, KeyError) as exc:
            raise ValueError(f"{path} is not a fastsmp scan manifest ({exc}); pass overwrite=True to start again") from None
        return manifest

    def _same_scan(self, metadata):
        return metadata.get("identity") == self.metadata["identity"]

    def _refusal(self, old_metadata):
        old, new = old_metadata.get("identity", {}), self.metadata["identity"]
        diffs = [f"{k}: {old.get(k)!r} there, {new.get(k)!r} now" for k in IDENTITY_KEYS if old.get(k) != new.get(k)]
        return (
            f"{self.out} holds a scan of a different model or different parameters ({'; '.join(diffs)}); "
            "pass overwrite=True (--overwrite) to replace it, or choose another output"
        )

    def _own_files(self):
        for path in self.out.iterdir():
            if _SHARD_RE.match(path.name) or path.name == MANIFEST or re.match(r"^\.(part-|_manifest)", path.name):
                yield path

    def _remove_outputs(self):
        for path in list(self._own_files()):
            path.unlink()

    def _remove_temporaries(self):
        for path in self.out.glob(".*.tmp-*"):
            path.unlink(missing_ok=True)

    def _adopt_or_remove_orphans(self):
        listed = {shard["file"] for shard in self.shards}
        orphans = sorted(p for p in self.out.iterdir() if _SHARD_RE.match(p.name) and p.name not in listed)
        for path in orphans:
            shard = self._orphan_shard(path)
            if shard is not None and path.name == self._shard_name(len(self.shards)):
                self.shards.append(shard)
                self._write_manifest()
            else:
                warnings.warn(f"fastsmp.scan: removing {path}, a shard that does not continue the scan", RuntimeWarning, stacklevel=3)
                path.unlink()

    def _orphan_shard(self, path):
        import pyarrow.parquet as pq

        try:
            meta = json.loads(pq.read_schema(path).metadata[b"fastsmp"])
            rows = pq.read_metadata(path).num_rows
        except Exception:  # noqa: BLE001 - any unreadable file is not a shard to adopt
            return None
        if meta.get("identity") != self.metadata["identity"] or meta.get("start") != self.done:
            return None
        return {"file": path.name, "start": meta["start"], "stop": meta["stop"], "rows": rows}

    # -- writing -------------------------------------------------------------

    @staticmethod
    def _shard_name(index):
        return f"part-{index:05d}.parquet"

    def write_shard(self, table, start, stop, layer_axes):
        import pyarrow.parquet as pq

        name = self._shard_name(len(self.shards))
        meta = dict(self.metadata, start=start, stop=stop, layer_axes=layer_axes)
        table = table.replace_schema_metadata({"fastsmp": json.dumps(meta, sort_keys=True)})
        tmp = self.out / f".{name}.tmp-{os.getpid()}"
        try:
            pq.write_table(table, tmp)
            _fsync_path(tmp)
            os.replace(tmp, self.out / name)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise OSError(
                f"writing shard {name} (samples {start}..{stop}) to {self.out} failed: {exc}; "
                f"the {len(self.shards)} shards before it are complete and a re-run resumes after them"
            ) from exc
        self.shards.append({"file": name, "start": start, "stop": stop, "rows": table.num_rows})
        self._write_manifest()

    def finish(self):
        self.complete = True
        self._write_manifest()

    def _write_manifest(self):
        manifest = {
            "format": FORMAT_VERSION,
            "metadata": self.metadata,
            "shards": self.shards,
            "samples": self.done,
            "complete": self.complete,
        }
        _atomic_write_text(self.out / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True))


def read_scan(out, columns=None):
    """The rows of the finished shards of a scan written by :func:`scan_model`.

    Parameters
    ----------
    out : str or Path
        The scan's output directory.
    columns : list of str, optional
        Read only these columns.

    Returns
    -------
    pyarrow.Table
        Its schema metadata ``b"fastsmp"`` holds the run metadata (JSON),
        with ``layer_axes``: the axes reduced for each layer.

    Examples
    --------
    >>> import tempfile, torch
    >>> from fastsmp.scan import default_model, read_scan, scan_model
    >>> out = tempfile.mkdtemp()
    >>> _ = scan_model(default_model(), torch.rand(4, 3, 32, 32), out=out, progress=False)
    >>> read_scan(out).num_rows      # 4 samples x 5 ReLU/pooling layers
    20
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = Path(out)
    manifest_path = out / MANIFEST
    if not manifest_path.exists():
        raise FileNotFoundError(f"{out} holds no fastsmp scan (no {MANIFEST})")
    manifest = json.loads(manifest_path.read_text())
    tables = [pq.read_table(out / shard["file"], columns=columns) for shard in manifest["shards"]]
    layer_axes = {}
    for table in tables:
        layer_axes.update(json.loads(table.schema.metadata[b"fastsmp"]).get("layer_axes", {}))
    metadata_json = json.dumps(dict(manifest["metadata"], layer_axes=layer_axes), sort_keys=True)
    if not tables:
        table = _empty_table(metadata_json)
        return table.select(columns) if columns else table
    table = pa.concat_tables(tables, promote_options="permissive")
    return table.replace_schema_metadata({"fastsmp": metadata_json})
