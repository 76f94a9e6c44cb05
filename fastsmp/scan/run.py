"""A model scan from start to end: :func:`scan_model` checks its arguments,
selects the layers (:mod:`.layers`), records what defines the scan (the run
metadata, with :func:`model_fingerprint`) so that a re-run can resume or
refuse, hooks the layers (:mod:`.hooks`), runs the forward passes over the
data's batches (:mod:`.data`) under ``torch.inference_mode`` and hands the
results to the shards (:mod:`.store`), saving the complete batches when a
forward pass fails or is interrupted.
"""

from __future__ import annotations

import datetime
import hashlib
import itertools

import numpy as np

from .._version import __version__
from .data import check_resumable, data_length, iter_batches
from .hooks import ActivationReducer
from .layers import select_layers
from .store import FORMAT_VERSION, ScanStore, ShardBuffer


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
    length = data_length(obj) if not hasattr(obj, "named_modules") else None
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
        check_resumable(data)
    selected = select_layers(model, layers)
    smp_kwargs = {"height": height, "threshold": threshold, "rtol": rtol}
    metadata = _run_metadata(model, data, selected, axis, reduce, smp_kwargs, model_name, data_name)
    store = ScanStore(out, metadata, overwrite) if out is not None else None
    done = store.open() if store is not None else 0
    if store is not None and store.complete:
        return store.out
    if device is not None:
        model.to(device)
    device = device or next((p.device for p in model.parameters()), torch.device("cpu"))

    reducer = ActivationReducer(None if axis is None else (tuple(axis) if isinstance(axis, list) else axis), reduce, smp_kwargs)
    shards = ShardBuffer(store, metadata, reducer, done, int(shard_size))
    handles = [module.register_forward_hook(reducer.hook_for(name)) for name, module in selected]
    was_training = model.training
    model.eval()
    try:
        _run_batches(model, iter_batches(data, int(batch_size), done), reducer, shards, device,
                     _progress_bar(data_length(data), done, progress))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    if store is None:
        return shards.table()
    store.finish()
    return store.out


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
