"""The forward hooks of a scan: :class:`ActivationReducer` reduces each
chosen layer's output to SMP and peak counts with :func:`fastsmp.smp` on the
device it lives on, as the model runs. A CUDA activation never leaves the
GPU and is not kept once its layer has fired; only the per-sample (or
per-channel) sums wait on the device until their shard is written, and the
hooks do not synchronise the device.

Every tensor of a tuple/dict output is reduced (``name[i]``), a module
called twice per forward pass gives ``name#2``, and an output that is not a
floating-point (batch, ...) tensor is skipped with one warning.
"""

from __future__ import annotations

import warnings

import numpy as np

from .layers import default_axis


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


class ActivationReducer:
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
