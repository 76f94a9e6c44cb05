"""Scans at scale (being split into modules; see run.py for now)."""

from .run import (
    FORMAT_VERSION,
    IDENTITY_KEYS,
    MANIFEST,
    MIN_FREE_BYTES,
    add_command,
    default_axis,
    default_data,
    default_layer_types,
    default_model,
    import_from_cwd,
    load_factory,
    model_fingerprint,
    read_scan,
    scan_array,
    scan_model,
    select_layers,
    tile_shape,
)
from .run import _synthetic_dataset_class


def __getattr__(name):
    if name == "SyntheticImages":
        return _synthetic_dataset_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
