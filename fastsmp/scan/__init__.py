"""Model scans: the SMP of chosen layers of a torch model over a dataset.

:func:`scan_model` hooks the chosen layers of a model, reduces each
activation to SMP and peak counts on the device it lives on (with
:func:`fastsmp.smp`) as the model runs, and writes a long table, one row per
(sample, layer[, channel]), as sharded Parquet that survives a crash and
resumes where it stopped; :func:`read_scan` reads it back. ``fastsmp scan``
drives it from the command line; with no ``--model``/``--data`` it scans a
small built-in CNN over synthetic images. See ``docs/scan.md``.

One module per concern:

- :mod:`.layers`: which layers are scanned (default types, names, globs) and
  which axes of their outputs are reduced;
- :mod:`.data`: the built-in model and data, ``pkg.module:factory``
  loading, and the data read as numbered batches from any sample on;
- :mod:`.hooks`: the forward hooks that reduce each activation on its device;
- :mod:`.store`: the rows, the Parquet shards, the manifest, resuming, and
  :func:`read_scan`;
- :mod:`.run`: :func:`scan_model`, the run metadata (what a resumed scan
  must match) and the forward passes;
- :mod:`.command`: the ``fastsmp scan`` subcommand.

Stored arrays bigger than memory (``.npy``, zarr, HDF5) have nothing to do
with torch and live in :mod:`fastsmp.io`; ``fastsmp.scan.scan_array`` and
``fastsmp.scan.tile_shape`` still work. torch, pyarrow and tqdm are imported
only when a function needs them.
"""

from __future__ import annotations

from ..io import scan_array, tile_shape
from .command import add_command
from .data import default_data, default_model, import_from_cwd, load_factory
from .layers import default_axis, default_layer_types, select_layers
from .run import model_fingerprint, scan_model
from .store import FORMAT_VERSION, IDENTITY_KEYS, MANIFEST, MIN_FREE_BYTES, read_scan

__all__ = [
    "scan_model",
    "read_scan",
    "select_layers",
    "default_layer_types",
    "default_axis",
    "default_model",
    "default_data",
    "load_factory",
    "import_from_cwd",
    "model_fingerprint",
    "add_command",
    "scan_array",
    "tile_shape",
    "MANIFEST",
    "FORMAT_VERSION",
    "MIN_FREE_BYTES",
    "IDENTITY_KEYS",
]


def __getattr__(name):
    # ``fastsmp.scan.SyntheticImages`` without importing torch with the package
    # (and so that pickle, e.g. for DataLoader workers, finds the class).
    if name == "SyntheticImages":
        from .data import synthetic_dataset_class

        return synthetic_dataset_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
