"""Scans at scale: the SMP of chosen layers of a torch model over a dataset,
and of stored arrays bigger than memory.

Two entry points:

- :func:`scan_model` hooks the chosen layers of a model, reduces each
  activation to SMP and peak counts on the device it lives on (with
  :func:`fastsmp.smp`) as the model runs, and writes a long table, one row per
  (sample, layer[, channel]), as sharded Parquet that survives a crash and
  resumes where it stopped.
- :func:`scan_array` streams a ``.npy`` (memory-mapped), zarr or HDF5 array
  in tiles that hold whole lines, so memory stays bounded whatever the size
  of the array, and writes the result as ``.npy`` or Parquet.

``fastsmp scan`` (see :func:`add_command`) drives :func:`scan_model` from the
command line; with no ``--model``/``--data`` it scans a small built-in CNN
over synthetic images. torch, pyarrow, tqdm, zarr and h5py are imported only
when a function needs them. See ``docs/scan.md``.
"""

from __future__ import annotations

import contextlib
import datetime
import difflib
import fnmatch
import functools
import hashlib
import importlib
import importlib.util
import itertools
import json
import math
import mmap
import os
import re
import shutil
import sys
import warnings
from pathlib import Path

import numpy as np

from .._args import parse_axis
from .._version import __version__

#: name of the index of finished shards inside a scan's output directory
MANIFEST = "_manifest.json"
#: output format version, stored in the manifest and in every shard
FORMAT_VERSION = 1
#: refuse to start a scan when the output's disk has less free space than this
MIN_FREE_BYTES = 16 << 20
#: the parameters that define a scan: resuming with any of them changed is refused
IDENTITY_KEYS = ("model", "model_fingerprint", "data", "layers", "axis", "reduce", "rtol", "height", "threshold")

_SHARD_RE = re.compile(r"^part-(\d{5,})\.parquet$")
_GLOB_CHARS = set("*?[")
_INPUT_KEYS = ("input", "inputs", "x", "image", "images", "pixel_values")


# ---------------------------------------------------------------------------
# layer selection
# ---------------------------------------------------------------------------


def default_layer_types():
    """The module types scanned when no ``layers`` are given.

    Returns
    -------
    tuple of type
        The ReLU family (``ReLU``, ``ReLU6``, ``LeakyReLU``, ``PReLU``,
        ``RReLU``) and every pooling layer of ``torch.nn`` (max, average,
        adaptive, LP and fractional pooling, 1-D to 3-D).

    Examples
    --------
    >>> import torch.nn as nn
    >>> from fastsmp.scan import default_layer_types
    >>> nn.ReLU in default_layer_types() and nn.MaxPool2d in default_layer_types()
    True
    """
    from torch import nn

    relus = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.RReLU)
    pools = tuple(
        getattr(nn, name) for name in dir(nn) if re.fullmatch(r"(Adaptive)?(Max|Avg|LP|FractionalMax)Pool[123]d", name)
    )
    return relus + pools


def _is_type_spec(spec):
    return isinstance(spec, type) or (
        isinstance(spec, tuple) and len(spec) > 0 and all(isinstance(s, type) for s in spec)
    )


def _close_names(pattern, names, n=8):
    plain = "".join(ch for ch in pattern if ch not in _GLOB_CHARS)
    close = difflib.get_close_matches(plain, names, n=n, cutoff=0.4)
    return close or names[:n]


def select_layers(model, layers=None):
    """The ``(name, module)`` pairs of ``model`` that ``layers`` selects.

    Parameters
    ----------
    model : torch.nn.Module
    layers : None, str, type, or a list of them
        ``None``: every module of :func:`default_layer_types`. A string is
        an exact name from ``model.named_modules()`` or, when it holds
        ``*``, ``?`` or ``[``, a glob over those names (``"features.*"``).
        A type (or tuple of types) selects every module of that type.

    Returns
    -------
    list of (str, torch.nn.Module)
        In ``named_modules()`` order, each module once.

    Raises
    ------
    ValueError
        When a name, glob or type matches nothing; the message lists the
        closest names (or the types present).

    Examples
    --------
    >>> import torch.nn as nn
    >>> from fastsmp.scan import select_layers
    >>> net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2))
    >>> [name for name, _ in select_layers(net)]
    ['1', '2']
    >>> [name for name, _ in select_layers(net, [nn.Conv2d, "2"])]
    ['0', '2']
    """
    named = [(name, module) for name, module in model.named_modules() if name]
    names = [name for name, _ in named]
    specs = [default_layer_types()] if layers is None else layers
    if isinstance(specs, (str, type)) or _is_type_spec(specs):
        specs = [specs]
    chosen = set()
    for spec in specs:
        hits = _match(spec, named)
        if not hits:
            raise ValueError(_no_match_message(spec, named, names, default=layers is None))
        chosen.update(hits)
    return [(name, module) for name, module in named if name in chosen]


def _match(spec, named):
    if _is_type_spec(spec):
        return {name for name, module in named if isinstance(module, spec)}
    if not isinstance(spec, str):
        raise TypeError(f"layers takes names, globs or module types; got {spec!r}")
    if _GLOB_CHARS & set(spec):
        return {name for name, _ in named if fnmatch.fnmatchcase(name, spec)}
    return {name for name, _ in named if name == spec}


def _no_match_message(spec, named, names, default):
    if default:
        return "the model has no ReLU or pooling module to scan by default; name the layers to scan with layers=[...]"
    if _is_type_spec(spec):
        present = sorted({type(m).__name__ for _, m in named})
        return f"no module of type {spec!r} in the model; its module types are: {', '.join(present)}"
    kind = "glob" if _GLOB_CHARS & set(spec) else "layer name"
    close = _close_names(spec, names)
    return f"the {kind} {spec!r} matches no module of the model; close names: {', '.join(map(repr, close))}"


def default_axis(ndim):
    """The axes reduced for an activation of ``ndim`` dimensions: every axis
    after (batch, channel), i.e. ``(-2, -1)`` for 4-D, ``-1`` for 3-D;
    ``-1`` for a 2-D (batch, feature) output.

    Examples
    --------
    >>> from fastsmp.scan import default_axis
    >>> default_axis(4), default_axis(3), default_axis(2)
    ((-2, -1), -1, -1)
    """
    if ndim <= 3:
        return -1
    return tuple(range(2 - ndim, 0))


# ---------------------------------------------------------------------------
# the built-in model and data, and user factories
# ---------------------------------------------------------------------------


def default_model(seed=0):
    """A small CNN with fixed-seed weights for 3 x 32 x 32 images: two
    conv-ReLU-maxpool stages, a conv-ReLU stage and a linear head (five
    ReLU/pooling layers, the smallest 8 x 8). The global torch RNG is untouched.

    Examples
    --------
    >>> import torch
    >>> from fastsmp.scan import default_model
    >>> default_model()(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 10])
    """
    import torch
    from torch import nn

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
            nn.Flatten(), nn.Linear(32 * 8 * 8, 10),
        )
    return model.eval()


@functools.cache
def _synthetic_dataset_class():
    import torch
    from torch.utils.data import Dataset

    class SyntheticImages(Dataset):
        """``n`` smooth random 3 x ``size`` x ``size`` images, each made on
        the fly from its own seed (random access, identical on every run),
        with label ``i % 10``."""

        def __init__(self, n=512, size=32, seed=0):
            self.n, self.size, self.seed = int(n), int(size), int(seed)

        def __len__(self):
            return self.n

        def __getitem__(self, i):
            if not 0 <= i < self.n:
                raise IndexError(i)
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + int(i))
            coarse = torch.rand(1, 3, 8, 8, generator=g)
            image = torch.nn.functional.interpolate(coarse, size=(self.size, self.size), mode="bilinear")[0]
            return image + 0.05 * torch.randn(image.shape, generator=g), int(i) % 10

        def __repr__(self):
            return f"SyntheticImages(n={self.n}, size={self.size}, seed={self.seed})"

    SyntheticImages.__module__, SyntheticImages.__qualname__ = __package__, "SyntheticImages"
    return SyntheticImages


def __getattr__(name):
    # ``fastsmp.scan.SyntheticImages`` without importing torch with the module
    # (and so that pickle, e.g. for DataLoader workers, finds the class).
    if name == "SyntheticImages":
        return _synthetic_dataset_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def default_data(n=512, size=32, seed=0):
    """The built-in dataset: ``n`` synthetic 3 x ``size`` x ``size`` images
    generated on the fly (a map-style torch ``Dataset`` of (image, label)).

    Examples
    --------
    >>> from fastsmp.scan import default_data
    >>> data = default_data(n=4)
    >>> len(data), tuple(data[0][0].shape)
    (4, (3, 32, 32))
    """
    return _synthetic_dataset_class()(n=n, size=size, seed=seed)


def import_from_cwd(module_name):
    """``importlib.import_module``, looking in the current directory first,
    as ``python -m``, uvicorn and gunicorn do: the ``fastsmp`` console
    script's ``sys.path`` does not hold it, so ``--model zoo:factory``
    would not find ``./zoo.py``. ``sys.path`` is restored afterwards."""
    cwd = os.getcwd()
    if cwd in sys.path or "" in sys.path:
        return importlib.import_module(module_name)
    sys.path.insert(0, cwd)
    try:
        return importlib.import_module(module_name)
    finally:
        sys.path.remove(cwd)


def load_factory(spec):
    """Call the factory named by ``"pkg.module:function"`` (or
    ``"path/to/file.py:function"``) with no arguments and return its result.

    Examples
    --------
    >>> from fastsmp.scan import load_factory
    >>> load_factory("fastsmp.scan:default_data")[0][1]
    0
    """
    module_name, sep, attr = spec.rpartition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"a factory is given as 'pkg.module:function'; got {spec!r}")
    if module_name.endswith(".py"):
        path = Path(module_name)
        if not path.is_file():
            raise ValueError(f"factory {spec!r}: no file {path}")
        module_spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
    else:
        try:
            module = import_from_cwd(module_name)
        except ImportError as exc:
            raise ValueError(f"factory {spec!r}: cannot import {module_name!r} ({exc})") from exc
    try:
        factory = getattr(module, attr)
    except AttributeError:
        raise ValueError(f"factory {spec!r}: module {module_name!r} has no attribute {attr!r}") from None
    return factory()


# ---------------------------------------------------------------------------
# batches
# ---------------------------------------------------------------------------


def _inputs_of(batch):
    """The model input of one batch: the tensor, the first item of a
    (inputs, targets) pair, or a dict's ``input``/``image``/... entry."""
    import torch

    if isinstance(batch, (tuple, list)):
        batch = batch[0]
    elif isinstance(batch, dict):
        key = next((k for k in _INPUT_KEYS if k in batch), None)
        if key is None:
            raise ValueError(f"a dict batch needs one of the keys {_INPUT_KEYS} for the model input; got {list(batch)}")
        batch = batch[key]
    if isinstance(batch, np.ndarray):
        batch = torch.from_numpy(batch)
    if not isinstance(batch, torch.Tensor):
        raise TypeError(f"a batch must be a tensor, an (inputs, targets) pair or a dict; got {type(batch).__name__}")
    return batch


def _is_map_dataset(data):
    from torch.utils.data import Dataset, IterableDataset

    return isinstance(data, Dataset) and not isinstance(data, IterableDataset) and hasattr(data, "__len__")


def _sequential_loader_tail(loader, skip):
    """A loader like ``loader`` over its samples ``skip ...``, when it reads a
    map-style dataset in order in batches that ``skip`` falls between;
    otherwise None (the caller then reads and drops the first batches)."""
    from torch.utils.data import BatchSampler, DataLoader, SequentialSampler, Subset

    batch_sampler = getattr(loader, "batch_sampler", None)
    if not (
        isinstance(batch_sampler, BatchSampler)
        and isinstance(batch_sampler.sampler, SequentialSampler)
        and _is_map_dataset(loader.dataset)
        and skip % batch_sampler.batch_size == 0
    ):
        return None
    tail = Subset(loader.dataset, range(skip, len(loader.dataset)))
    return DataLoader(
        tail, batch_size=batch_sampler.batch_size, drop_last=batch_sampler.drop_last,
        num_workers=loader.num_workers, collate_fn=loader.collate_fn, pin_memory=loader.pin_memory,
    )


def _batches(data, batch_size, skip):
    """Yield ``(first_sample_index, inputs)`` over ``data`` from sample
    ``skip`` on. Sample indices count samples in the order ``data`` gives them."""
    import torch
    from torch.utils.data import DataLoader

    if isinstance(data, (torch.Tensor, np.ndarray)):
        for start in range(skip, len(data), batch_size):
            yield start, _inputs_of(data[start : start + batch_size])
        return
    if _is_map_dataset(data):
        data = DataLoader(data, batch_size=batch_size, shuffle=False)
    if isinstance(data, DataLoader) and skip:
        tail = _sequential_loader_tail(data, skip)
        if tail is not None:
            start = skip
            for batch in tail:
                inputs = _inputs_of(batch)
                yield start, inputs
                start += len(inputs)
            return
    start = 0
    for batch in data:
        inputs = _inputs_of(batch)
        stop = start + len(inputs)
        if stop > skip:
            yield max(start, skip), inputs[max(0, skip - start) :]
        start = stop


def _data_length(data):
    try:
        from torch.utils.data import DataLoader

        if isinstance(data, DataLoader):
            return len(data.dataset)
        return len(data) if _is_map_dataset(data) or hasattr(data, "shape") else None
    except TypeError:
        return None


# ---------------------------------------------------------------------------
# hooks: reduce each activation on its device as the model runs
# ---------------------------------------------------------------------------


def _tensors_in(output, prefix=""):
    """``(suffix, item)`` for every leaf of a (nested) tuple/list/dict output."""
    if isinstance(output, (tuple, list)):
        for i, item in enumerate(output):
            yield from _tensors_in(item, f"{prefix}[{i}]")
    elif isinstance(output, dict):
        for key, item in output.items():
            yield from _tensors_in(item, f"{prefix}[{key}]")
    else:
        yield prefix, output


class _ActivationReducer:
    """Forward hooks that turn each chosen layer's output into SMP and
    counts, kept on the output's device until the shard is written."""

    def __init__(self, axis, reduce, smp_kwargs):
        self.axis, self.reduce, self.smp_kwargs = axis, reduce, smp_kwargs
        self.layer_axes = {}  # label -> the axes reduced, as given to fastsmp.smp
        self._warned = set()
        self._batch_size = 0
        self._calls = {}
        self._results = []

    def begin_batch(self, batch_size):
        self._batch_size, self._calls, self._results = batch_size, {}, []

    def end_batch(self):
        return self._results

    def hook_for(self, name):
        def hook(module, inputs, output):
            self._reduce_output(name, output)

        return hook

    def _reduce_output(self, name, output):
        import torch

        k = self._calls.get(name, 0) + 1
        self._calls[name] = k
        label = name if k == 1 else f"{name}#{k}"  # a module called twice per forward
        for suffix, item in _tensors_in(output):
            why = self._unusable(item, torch)
            if why:
                self._warn_once(label + suffix, why)
                continue
            self._results.append((label + suffix, *self._reduce_tensor(label + suffix, item, torch)))

    def _unusable(self, item, torch):
        if not isinstance(item, torch.Tensor):
            return f"is a {type(item).__name__}, not a tensor"
        if not (item.is_floating_point() or item.dtype == torch.bfloat16):
            return f"is a {item.dtype} tensor, not floating point"
        if item.dim() < 2 or item.shape[0] != self._batch_size:
            return f"has shape {tuple(item.shape)}, not (batch={self._batch_size}, ...)"
        return None

    def _warn_once(self, label, why):
        if label not in self._warned:
            self._warned.add(label)
            warnings.warn(f"fastsmp.scan: the output of layer {label!r} {why}; skipped", RuntimeWarning, stacklevel=4)

    def _reduce_tensor(self, label, tensor, torch):
        import fastsmp

        axis = self.axis if self.axis is not None else default_axis(tensor.dim())
        if label not in self.layer_axes:
            axes = np.atleast_1d(axis) % tensor.dim()
            if 0 in axes:
                raise ValueError(f"axis={axis!r} includes the batch axis 0 of layer {label!r}'s output")
            self.layer_axes[label] = [int(a) for a in axes]
        smp, count = fastsmp.smp(tensor, axis=axis, return_counts=True, **self.smp_kwargs)
        n = tensor.shape[0]
        smp, count = smp.reshape(n, -1), count.reshape(n, -1)
        channels = tensor.dim() - len(self.layer_axes[label]) > 1
        if self.reduce == "sample" or not channels:
            return smp.sum(1, dtype=torch.float64), count.sum(1)
        return smp.to(torch.float64), count


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


class _ScanStore:
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


# ---------------------------------------------------------------------------
# scan_model
# ---------------------------------------------------------------------------


def model_fingerprint(model):
    """A short hash of a model's parameter and buffer names, shapes, dtypes
    and sums (6 significant digits), to tell one model from another.

    Examples
    --------
    >>> from fastsmp.scan import default_model, model_fingerprint
    >>> model_fingerprint(default_model(0)) == model_fingerprint(default_model(0))
    True
    >>> model_fingerprint(default_model(0)) == model_fingerprint(default_model(1))
    False
    """
    import torch

    digest = hashlib.sha256()
    sums = []
    with torch.no_grad():
        for name, t in itertools.chain(model.named_parameters(), model.named_buffers()):
            digest.update(f"{name}:{tuple(t.shape)}:{t.dtype};".encode())
            if t.numel():
                wide = t.detach().float() if t.device.type == "mps" else t.detach().double()
                sums.append(torch.stack([wide.sum(), wide.abs().sum()]).cpu())
    for value in torch.cat(sums).tolist() if sums else []:
        digest.update(f"{value:.6e};".encode())
    return digest.hexdigest()[:16]


def _describe(obj):
    kind = type(obj)
    text = f"{kind.__module__}.{kind.__qualname__}"
    length = _data_length(obj) if not hasattr(obj, "named_modules") else None
    return text if length is None else f"{text}[{length}]"


def _run_metadata(model, data, selected, axis, reduce, smp_kwargs, model_name, data_name):
    import torch

    identity = {
        "model": model_name or _describe(model),
        "model_fingerprint": model_fingerprint(model),
        "data": data_name or _describe(data),
        "layers": [name for name, _ in selected],
        "axis": "auto" if axis is None else list(np.atleast_1d(axis).tolist()),
        "reduce": reduce,
        **{k: (list(v) if isinstance(v, tuple) else v) for k, v in smp_kwargs.items()},
    }
    return {
        "format": FORMAT_VERSION,
        "identity": identity,
        "fastsmp_version": __version__,
        "torch_version": torch.__version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def _progress_bar(total, initial, enabled):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="sample", desc="fastsmp scan", disable=not enabled, dynamic_ncols=True)


def _check_scan_args(reduce, batch_size, shard_size, axis):
    if reduce not in ("sample", "channel"):
        raise ValueError(f"reduce must be 'sample' or 'channel'; got {reduce!r}")
    if int(batch_size) < 1 or int(shard_size) < 1:
        raise ValueError(f"batch_size and shard_size must be >= 1; got {batch_size}, {shard_size}")
    if axis is not None and not isinstance(axis, (int, tuple, list)):
        raise TypeError(f"axis must be None, an int or a tuple of ints; got {axis!r}")


def _check_resumable(data):
    """A resumable scan counts samples in the data's order: refuse a
    DataLoader that shuffles (a re-run would see another order)."""
    from torch.utils.data import DataLoader, RandomSampler

    sampler = getattr(data, "sampler", None) if isinstance(data, DataLoader) else None
    if isinstance(sampler, RandomSampler):
        raise ValueError(
            "the DataLoader shuffles, so a resumed scan would skip or repeat samples; "
            "use shuffle=False (or out=None for a one-off in-memory scan)"
        )


def scan_model(model, data, layers=None, *, axis=None, reduce="sample", out=None, device=None,
               batch_size=64, shard_size=1024, height=None, threshold=None, rtol=None,
               overwrite=False, progress=True, model_name=None, data_name=None):
    """The SMP of chosen layers of ``model`` over every sample of ``data``.

    Forward hooks reduce each chosen layer's output with :func:`fastsmp.smp`
    on the device it lives on (a CUDA activation never leaves the GPU; the
    hooks do not synchronise the device) under ``torch.inference_mode`` with
    the model in eval mode (its mode is restored afterwards).

    Parameters
    ----------
    model : torch.nn.Module
    data : DataLoader, Dataset, tensor/array of samples, or iterable of batches
        A batch is a tensor, an ``(inputs, targets, ...)`` tuple or a dict with
        an ``input``/``image``/``pixel_values``-like key. Sample indices count
        samples in the order ``data`` yields them; resuming needs that order
        to be the same on every run (no shuffling).
    layers : None, str, type or list of them
        See :func:`select_layers`; default every ReLU and pooling layer.
    axis : None, int or tuple of int
        The line axes; ``None``: per layer, :func:`default_axis` of its
        output's dimensions (``(-2, -1)`` for 4-D, ``-1`` for 3-D).
    reduce : {"sample", "channel"}
        One row per (sample, layer), summing SMP and counts over channels, or
        one row per (sample, layer, channel).
    out : str or Path, optional
        A directory for sharded Parquet output (resumable). Without it the
        rows are returned as a ``pyarrow.Table``.
    device : str or torch.device, optional
        Move the model (in place) and the batches there; default the device
        of the model's first parameter.
    batch_size : int
        Batch size when ``data`` is a Dataset or a tensor of samples.
    shard_size : int
        Samples per shard (a shard holds whole batches, so at least one).
    height, threshold, rtol
        As in :func:`fastsmp.smp`.
    overwrite : bool
        Replace an existing output made by a different model or parameters
        (otherwise refused with a ValueError).
    progress : bool
        Show a tqdm progress bar (samples/s) on stderr.
    model_name, data_name : str, optional
        Recorded in the metadata and compared on resume; default the class
        names (and the dataset length).

    Returns
    -------
    pyarrow.Table or pathlib.Path
        The table (``out=None``) or the output directory; read it with
        :func:`read_scan`. Columns: ``sample_index`` (int64), ``layer``
        (dictionary string; a module called k > 1 times per forward pass
        gives ``name#k``, an item of a tuple/dict output ``name[i]``),
        ``channel`` (int32, null with ``reduce="sample"``), ``smp`` (float64),
        ``count`` (int64). The run metadata (JSON, with ``layer_axes``: the
        axes reduced for each layer) is in the schema metadata ``b"fastsmp"``.

    Raises
    ------
    ValueError
        A layer spec that matches nothing (close names listed); an output
        made by another model or parameters without ``overwrite``; a
        shuffling DataLoader with ``out`` (resuming needs a fixed order).
    OSError
        An output that cannot be written, before any forward pass.

    Examples
    --------
    >>> import torch
    >>> from fastsmp.scan import default_model, scan_model
    >>> table = scan_model(default_model(), torch.rand(8, 3, 32, 32), layers="1", progress=False)
    >>> table.column_names
    ['sample_index', 'layer', 'channel', 'smp', 'count']
    >>> table.num_rows
    8
    """
    import torch

    _check_scan_args(reduce, batch_size, shard_size, axis)
    if out is not None:
        _check_resumable(data)
    selected = select_layers(model, layers)
    smp_kwargs = {"height": height, "threshold": threshold, "rtol": rtol}
    metadata = _run_metadata(model, data, selected, axis, reduce, smp_kwargs, model_name, data_name)
    store = _ScanStore(out, metadata, overwrite) if out is not None else None
    done = store.open() if store is not None else 0
    if store is not None and store.complete:
        return store.out
    if device is not None:
        model.to(device)
    device = device or next((p.device for p in model.parameters()), torch.device("cpu"))

    reducer = _ActivationReducer(None if axis is None else (tuple(axis) if isinstance(axis, list) else axis), reduce, smp_kwargs)
    shards = _ShardBuffer(store, metadata, reducer, done, int(shard_size))
    handles = [module.register_forward_hook(reducer.hook_for(name)) for name, module in selected]
    was_training = model.training
    model.eval()
    try:
        _run_batches(model, _batches(data, int(batch_size), done), reducer, shards, device,
                     _progress_bar(_data_length(data), done, progress))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    if store is None:
        return shards.table()
    store.finish()
    return store.out


class _ShardBuffer:
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


def _run_batches(model, batches, reducer, shards, device, bar):
    """The forward passes, under ``torch.inference_mode``; the hooks fill
    ``reducer``, whose results go to ``shards`` batch by batch."""
    import torch

    try:
        with torch.inference_mode():
            for start, inputs in batches:
                if len(inputs) == 0:
                    continue
                reducer.begin_batch(len(inputs))
                model(inputs.to(device, non_blocking=True))
                shards.add(start, reducer.end_batch(), len(inputs))
                bar.update(len(inputs))
            shards.flush()
    except BaseException as exc:
        shards.save_after(exc)
        raise
    finally:
        bar.close()


# ---------------------------------------------------------------------------
# scan_array: stored arrays in bounded memory
# ---------------------------------------------------------------------------


class _StoredArray:
    """A uniform face for the arrays :func:`scan_array` reads: ``shape``,
    ``dtype``, ``chunks`` (storage chunks or None), ``read(slices)`` (the
    tile as a NumPy array) and ``close()``."""

    chunks = None

    def __init__(self, array):
        self.array = array
        self.shape = tuple(array.shape)
        self.dtype = np.dtype(array.dtype)
        chunks = getattr(array, "chunks", None)
        self.chunks = tuple(chunks) if isinstance(chunks, tuple) and all(isinstance(c, int) for c in chunks) else None

    def read(self, slices):
        return np.asarray(self.array[slices])

    def close(self):
        pass


class _NpyFile(_StoredArray):
    """A ``.npy`` file mapped read-only. Each tile is copied out and the
    pages it touched are dropped from the process (``madvise(MADV_DONTNEED)``),
    so the resident memory stays about one tile whatever the file size."""

    def __init__(self, path):
        header = np.load(path, mmap_mode="r", allow_pickle=False)  # parses the header; no data read
        shape, dtype, offset = header.shape, header.dtype, getattr(header, "offset", 0)
        fortran = header.ndim > 1 and header.flags.f_contiguous and not header.flags.c_contiguous
        del header
        with open(path, "rb") as f:
            self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if math.prod(shape) else None
        array = (
            np.ndarray(shape, dtype, buffer=self._map, offset=offset, order="F" if fortran else "C")
            if self._map is not None
            else np.empty(shape, dtype)
        )
        super().__init__(array)
        self._offset = offset

    def read(self, slices):
        # A C-ordered private copy: the kernels see the same array type for
        # every source (no extra compilation for read-only strided views), and
        # the mapped pages can be released before the tile is reduced.
        tile = self.array[slices].copy(order="C")
        self._release_pages(slices)
        return tile

    def _release_pages(self, slices):
        if self._map is None or not hasattr(mmap, "MADV_DONTNEED"):
            return
        first = [s.start for s in slices]
        last = [s.stop - 1 for s in slices]
        strides = self.array.strides
        lo = self._offset + sum(i * st for i, st in zip(first, strides))
        hi = self._offset + sum(i * st for i, st in zip(last, strides)) + self.dtype.itemsize
        page = mmap.PAGESIZE
        lo = lo // page * page
        self._map.madvise(mmap.MADV_DONTNEED, lo, min(hi, len(self._map)) - lo)

    def close(self):
        self.array = None
        if self._map is not None:
            with contextlib.suppress(BufferError):
                self._map.close()


def _sole_member(names, what, path):
    if len(names) == 1:
        return names[0]
    raise ValueError(f"{path} holds {len(names)} {what}s ({', '.join(names)}); choose one with key=... (--key)")


def _open_hdf5(path, key):
    import h5py

    f = h5py.File(path, "r")
    if key is None:
        names = []
        f.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
        key = _sole_member(names, "dataset", path)
    stored = _StoredArray(f[key])
    stored.close = f.close
    return stored


def _open_zarr(path, key):
    import zarr

    node = zarr.open(str(path), mode="r")
    if not hasattr(node, "shape"):  # a group
        if key is None:
            key = _sole_member([name for name, _ in node.arrays()], "array", path)
        node = node[key]
    return _StoredArray(node)


def _open_stored(source, key):
    if not isinstance(source, (str, os.PathLike)):
        if not all(hasattr(source, a) for a in ("shape", "dtype", "__getitem__")):
            raise TypeError(f"scan_array reads a path or an array-like with shape, dtype and slicing; got {type(source).__name__}")
        return _StoredArray(source)
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"no such file or directory: {path}")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return _NpyFile(path)
    if suffix in (".h5", ".hdf5", ".hdf", ".he5"):
        return _open_hdf5(path, key)
    if suffix == ".zarr" or path.is_dir():
        return _open_zarr(path, key)
    raise ValueError(f"scan_array reads .npy, zarr (.zarr directory) and HDF5 (.h5/.hdf5) arrays; got {path}")


def tile_shape(shape, axes, itemsize, budget_bytes, storage_chunks=None):
    """The tile :func:`scan_array` reads at a time: whole along the line
    ``axes``; along the other axes, outermost first, cut until the tile
    holds at most ``budget_bytes`` (one block of whole lines at least),
    rounded down to whole storage chunks where it can be.

    Examples
    --------
    >>> from fastsmp.scan import tile_shape
    >>> tile_shape((1000, 50, 400), axes=(2,), itemsize=4, budget_bytes=1_000_000)
    [12, 50, 400]
    >>> tile_shape((1000, 50, 400), axes=(0,), itemsize=4, budget_bytes=100_000)
    [1000, 1, 25]
    """
    tile = list(shape)
    for a in (a for a in range(len(shape)) if a not in axes):
        nbytes = math.prod(tile) * itemsize
        if nbytes <= budget_bytes:
            break
        per_step = nbytes // max(tile[a], 1)
        tile[a] = max(1, budget_bytes // max(per_step, 1))
        chunk = storage_chunks[a] if storage_chunks else None
        if chunk and tile[a] >= chunk:
            tile[a] -= tile[a] % chunk
    return tile


def _tiles(shape, tile):
    ranges = [range(0, n, t) for n, t in zip(shape, tile)]
    for corner in itertools.product(*ranges):
        yield tuple(slice(c, min(c + t, n)) for c, t, n in zip(corner, tile, shape))


class _MemoryResult:
    def __init__(self, shape, dtype):
        self.smp = np.empty(shape, dtype)
        self.count = np.empty(shape, np.int64)

    def put(self, kept_slices, smp, count):
        self.smp[kept_slices], self.count[kept_slices] = smp, count

    def finish(self, return_counts):
        smp = self.smp[()] if self.smp.ndim == 0 else self.smp
        count = self.count[()] if self.count.ndim == 0 else self.count
        return (smp, count) if return_counts else smp

    def abort(self):
        pass


class _NpyResult:
    """Results written into ``.npy`` files (SMP, and counts next to it as
    ``NAME-counts.npy``) under temporary names, renamed when complete."""

    def __init__(self, path, shape, dtype, with_counts):
        self.path = Path(path)
        self.paths = [self.path] + ([self.path.with_name(self.path.stem + "-counts.npy")] if with_counts else [])
        self.tmps = [p.with_name(f".{p.name}.tmp-{os.getpid()}") for p in self.paths]
        self.arrays = [np.lib.format.open_memmap(self.tmps[0], mode="w+", dtype=dtype, shape=shape)]
        if with_counts:
            self.arrays.append(np.lib.format.open_memmap(self.tmps[1], mode="w+", dtype=np.int64, shape=shape))

    def put(self, kept_slices, smp, count):
        for array, values in zip(self.arrays, (smp, count)):
            array[kept_slices] = values

    def finish(self, return_counts):
        for array, tmp, path in zip(self.arrays, self.tmps, self.paths):
            array.flush()
            del array
            os.replace(tmp, path)
        self.arrays = []
        return self.path

    def abort(self):
        self.arrays = []
        for tmp in self.tmps:
            tmp.unlink(missing_ok=True)


class _ParquetResult:
    """Results as a long Parquet table: ``index_<axis>`` for each kept axis,
    ``smp``, ``count``, one row per block, written tile by tile."""

    def __init__(self, path, kept_axes, dtype, metadata):
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.path = Path(path)
        self.tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        fields = [(f"index_{a}", pa.int64()) for a in kept_axes]
        fields += [("smp", pa.from_numpy_dtype(dtype)), ("count", pa.int64())]
        self.schema = pa.schema(fields, metadata={"fastsmp": json.dumps(metadata, sort_keys=True)})
        self.writer = pq.ParquetWriter(self.tmp, self.schema)

    def put(self, kept_slices, smp, count):
        import pyarrow as pa

        grids = np.indices(np.shape(smp), dtype=np.int64) if np.ndim(smp) else np.zeros((0, 1), np.int64)
        columns = [(g + s.start).reshape(-1) for g, s in zip(grids, kept_slices)]
        columns += [np.reshape(smp, -1), np.reshape(count, -1)]
        self.writer.write_table(pa.table(columns, schema=self.schema))

    def finish(self, return_counts):
        self.writer.close()
        os.replace(self.tmp, self.path)
        return self.path

    def abort(self):
        with contextlib.suppress(Exception):
            self.writer.close()
        self.tmp.unlink(missing_ok=True)


def _result_sink(out, result_shape, kept_axes, work, return_counts, metadata):
    if out is None:
        return _MemoryResult(result_shape, work)
    out = Path(out)
    if not out.parent.is_dir():
        raise OSError(f"cannot write {out}: the directory {out.parent} does not exist")
    if out.suffix == ".npy":
        return _NpyResult(out, result_shape, work, return_counts)
    if out.suffix == ".parquet":
        return _ParquetResult(out, kept_axes, work, metadata)
    raise ValueError(f"scan_array writes .npy or .parquet; got {out}")


def scan_array(source, axis=-1, *, out=None, key=None, chunk_bytes=64 << 20, height=None, threshold=None,
               rtol=None, nan_policy="propagate", return_counts=False, backend="auto", progress=True):
    """:func:`fastsmp.smp` of a stored array of any size, in bounded memory.

    The array is read in tiles that are whole along every line axis and cut
    along the other axes (outermost first, on storage-chunk boundaries where
    possible) to at most ``chunk_bytes``; each tile is reduced and its pages
    released before the next is read. Peak memory is about two tiles (a tile
    may be converted to the working dtype) plus the result, unless one block
    of whole lines is itself bigger than ``chunk_bytes``.

    Parameters
    ----------
    source : str, Path or array-like
        A ``.npy`` file (memory-mapped), a zarr array or group (directory),
        an HDF5 file (``.h5``/``.hdf5``), or an opened array (``zarr.Array``,
        ``h5py.Dataset``, ``np.memmap``...).
    axis : int or tuple of int
        As in :func:`fastsmp.smp`.
    out : str or Path, optional
        ``.npy``: SMP saved there (and counts in ``NAME-counts.npy`` with
        ``return_counts``); ``.parquet``: a long table with ``index_<axis>``
        columns for the kept axes, ``smp`` and ``count``. Written under a
        temporary name and renamed when complete. Without ``out`` the result
        is returned in memory.
    key : str, optional
        The dataset (HDF5) or array (zarr group) to read; needed only when
        the file holds more than one.
    chunk_bytes : int
        The tile budget in bytes.
    height, threshold, rtol, nan_policy, backend
        As in :func:`fastsmp.smp`.
    return_counts : bool
        Also return (or save) the peak counts.
    progress : bool
        Show a tqdm progress bar in bytes read.

    Returns
    -------
    numpy.ndarray, tuple of them, or pathlib.Path
        What :func:`fastsmp.smp` returns for the whole array, or ``out``.

    Examples
    --------
    >>> import os, tempfile, numpy as np, fastsmp
    >>> from fastsmp.scan import scan_array
    >>> path = os.path.join(tempfile.mkdtemp(), "x.npy")
    >>> x = np.abs(np.sin(np.arange(6000.0))).reshape(60, 100)
    >>> np.save(path, x)
    >>> s = scan_array(path, axis=-1, chunk_bytes=8000, progress=False)
    >>> np.array_equal(s, fastsmp.smp(x, axis=-1))
    True
    """
    from .._args import axes as normalize_axes, working_dtype

    stored = _open_stored(source, key)
    sink = None
    try:
        axes = normalize_axes(axis, len(stored.shape))
        work = working_dtype(stored.dtype)
        kept = [a for a in range(len(stored.shape)) if a not in axes]
        metadata = {"source": str(source), "axis": list(axes), "fastsmp_version": __version__}
        sink = _result_sink(out, tuple(stored.shape[a] for a in kept), kept, work, return_counts, metadata)
        tile = tile_shape(stored.shape, axes, stored.dtype.itemsize, int(chunk_bytes), stored.chunks)
        smp_kwargs = dict(axis=axes, height=height, threshold=threshold, rtol=rtol, nan_policy=nan_policy, backend=backend)
        _reduce_tiles(stored, tile, kept, sink, smp_kwargs, progress)
        return sink.finish(return_counts)
    except BaseException:
        if sink is not None:
            sink.abort()
        raise
    finally:
        stored.close()


def _reduce_tiles(stored, tile, kept, sink, smp_kwargs, progress):
    from tqdm.auto import tqdm

    import fastsmp

    total = math.prod(stored.shape) * stored.dtype.itemsize
    with tqdm(total=total, unit="B", unit_scale=True, desc="fastsmp smp", disable=not progress) as bar:
        for slices in _tiles(stored.shape, tile):
            block = stored.read(slices)
            smp, count = fastsmp.smp(block, return_counts=True, **smp_kwargs)
            sink.put(tuple(slices[a] for a in kept), smp, count)
            del block
            bar.update(math.prod(s.stop - s.start for s in slices) * stored.dtype.itemsize)


# ---------------------------------------------------------------------------
# command line: fastsmp scan
# ---------------------------------------------------------------------------


def _parse_layer_spec(text):
    """``nn.ReLU``, ``torch.nn.ReLU`` and ``pkg.module:Class`` are types;
    anything else is a module name or glob."""
    text = text.strip()
    if text.startswith(("nn.", "torch.nn.")):
        from torch import nn

        name = text.rsplit(".", 1)[1]
        if not isinstance(getattr(nn, name, None), type):
            raise ValueError(f"--layers: torch.nn has no module type {name!r}")
        return getattr(nn, name)
    if ":" in text:
        module_name, _, attr = text.partition(":")
        return getattr(import_from_cwd(module_name), attr)
    return text


def add_command(subparsers):
    """Add the ``scan`` subcommand (see :mod:`fastsmp.cli`)."""
    p = subparsers.add_parser(
        "scan",
        help="SMP of every chosen layer of a torch model over a dataset, as sharded Parquet",
        description=(
            "Scan a model over a dataset: the SMP and peak count of each chosen layer's output, per sample "
            "(and channel), written as resumable sharded Parquet. With no --model/--data it scans a small "
            "built-in CNN over synthetic images."
        ),
    )
    p.add_argument("--model", help="pkg.module:factory (or file.py:factory) returning a torch.nn.Module (default: built-in CNN)")
    p.add_argument("--data", help="pkg.module:factory returning a DataLoader, Dataset or iterable of batches (default: synthetic images)")
    p.add_argument("--samples", type=int, default=512, help="size of the built-in synthetic dataset (default 512)")
    p.add_argument("--layers", action="append", help="module name, glob ('features.*') or type (nn.ReLU); repeat or comma-separate (default: every ReLU and pooling layer)")
    p.add_argument("--axis", type=parse_axis, default=None, help="line axes (default: (-2,-1) for 4-D outputs, -1 for 3-D)")
    p.add_argument("--reduce", choices=("sample", "channel"), default="sample", help="one row per sample and layer, or per channel too")
    p.add_argument("--out", default="fastsmp-scan", help="output directory (default ./fastsmp-scan)")
    p.add_argument("--device", default=None, help="torch device (default: the model's)")
    p.add_argument("--batch-size", type=int, default=64, help="batch size for a Dataset (default 64)")
    p.add_argument("--shard-size", type=int, default=1024, help="samples per Parquet shard (default 1024)")
    p.add_argument("--rtol", type=float, default=None, help="noise floor (default: 8 x machine epsilon)")
    p.add_argument("--height", type=float, default=None, help="minimum peak height")
    p.add_argument("--threshold", type=float, default=None, help="minimum peak threshold")
    p.add_argument("--overwrite", action="store_true", help="replace an output made by another model or parameters")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_run_scan)


def _run_scan(args):
    # torch and Numba each bring an OpenMP thread team; spinning idle teams
    # slow each other down several-fold on a busy CPU. Passive waiting costs
    # microseconds per kernel. Set before torch or Numba's OpenMP loads.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    model = load_factory(args.model) if args.model else default_model()
    data = load_factory(args.data) if args.data else default_data(n=args.samples)
    layers = None
    if args.layers:
        layers = [_parse_layer_spec(t) for entry in args.layers for t in entry.split(",") if t.strip()]
    out = scan_model(
        model, data, layers, axis=args.axis, reduce=args.reduce, out=args.out, device=args.device,
        batch_size=args.batch_size, shard_size=args.shard_size, height=args.height, threshold=args.threshold,
        rtol=args.rtol, overwrite=args.overwrite, progress=not args.no_progress,
        model_name=args.model or "fastsmp.scan:default_model",
        data_name=args.data or f"fastsmp.scan:default_data(n={args.samples})",
    )
    _print_summary(out)
    return 0


def _print_summary(out):
    table = read_scan(out, columns=["sample_index", "layer", "smp"])
    samples = len(np.unique(table.column("sample_index").to_numpy())) if table.num_rows else 0
    print(f"{out}: {table.num_rows} rows, {samples} samples (read them with fastsmp.scan.read_scan or pandas.read_parquet)")
    if table.num_rows:
        means = table.group_by("layer").aggregate([("smp", "mean")]).to_pylist()
        width = max(len(str(row["layer"])) for row in means)
        print(f"{'layer'.ljust(width)}  mean SMP")
        for row in means:
            print(f"{str(row['layer']).ljust(width)}  {row['smp_mean']:.6g}")
    sys.stdout.flush()
