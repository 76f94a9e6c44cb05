"""What a scan runs: the built-in model and data, user factories, and the
data read as numbered batches.

- :func:`default_model` and :func:`default_data` (``SyntheticImages``, made
  on the fly from a seed) are what ``fastsmp scan`` scans with no
  ``--model``/``--data``.
- :func:`load_factory` calls a ``pkg.module:function`` (or
  ``file.py:function``) given on the command line; :func:`import_from_cwd`
  finds such modules in the current directory.
- :func:`iter_batches` reads a tensor, an array, a Dataset, a DataLoader or
  any iterable of batches as ``(first_sample_index, inputs)``, from any
  sample on, so that a scan resumes where it stopped;
  :func:`check_resumable` refuses data whose order changes between runs.

torch is imported only when a function needs it.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
import sys
from pathlib import Path

import numpy as np

_INPUT_KEYS = ("input", "inputs", "x", "image", "images", "pixel_values")


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
def synthetic_dataset_class():
    """The class of :func:`default_data`, made on first use so that importing
    the package does not import torch. It is ``fastsmp.scan.SyntheticImages``
    (the package's ``__getattr__`` returns it), where pickle, e.g. for
    DataLoader workers, finds it."""
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

    # "fastsmp.scan", not this module: the name is also recorded in a scan's
    # metadata (the data's description), which a resumed scan compares.
    SyntheticImages.__module__, SyntheticImages.__qualname__ = __package__, "SyntheticImages"
    return SyntheticImages


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
    return synthetic_dataset_class()(n=n, size=size, seed=seed)


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
# batches, from any sample on
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


def iter_batches(data, batch_size, skip):
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


def data_length(data):
    """The number of samples of ``data``, or None when it does not tell
    (an iterable of batches)."""
    try:
        from torch.utils.data import DataLoader

        if isinstance(data, DataLoader):
            return len(data.dataset)
        return len(data) if _is_map_dataset(data) or hasattr(data, "shape") else None
    except TypeError:
        return None


def check_resumable(data):
    """A resumable scan counts samples in the data's order: refuse a
    DataLoader that shuffles (a re-run would see another order)."""
    from torch.utils.data import DataLoader, RandomSampler

    sampler = getattr(data, "sampler", None) if isinstance(data, DataLoader) else None
    if isinstance(sampler, RandomSampler):
        raise ValueError(
            "the DataLoader shuffles, so a resumed scan would skip or repeat samples; "
            "use shuffle=False (or out=None for a one-off in-memory scan)"
        )
