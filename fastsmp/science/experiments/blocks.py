"""Real torch blocks, float64, and the SMP measurement of their outputs.

torch is imported when a block is first built, so that importing the
experiments does not import torch.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["apply", "conv_block", "measure", "random_kernel"]


def _torch():
    import torch

    return torch


def conv_block(weight, bias=None):
    """An ``nn.Conv1d``/``nn.Conv2d`` (by the weight's rank) holding the given weights, float64."""
    torch = _torch()
    w = torch.as_tensor(np.asarray(weight, dtype=float))
    cls = torch.nn.Conv1d if w.ndim == 3 else torch.nn.Conv2d
    block = cls(
        w.shape[1], w.shape[0], tuple(w.shape[2:]), bias=bias is not None
    ).double()
    with torch.no_grad():
        block.weight.copy_(w)
        if bias is not None:
            block.bias.copy_(torch.as_tensor(np.asarray(bias, dtype=float)))
    return block


def apply(block, x):
    """Run a torch block on a NumPy array, return NumPy."""
    torch = _torch()
    with torch.no_grad():
        return block(torch.from_numpy(np.ascontiguousarray(x))).numpy()


def random_kernel(rng, shape):
    """Gaussian weights ``N(0, 1/fan_in)``."""
    fan_in = int(np.prod(shape[1:]))
    return rng.standard_normal(shape) / math.sqrt(fan_in)


def measure(y, axis=-1):
    """SMP of every line (or 2-D block for ``axis=(-2, -1)``): mean and std."""
    import fastsmp

    s = np.asarray(fastsmp.smp(y, axis=axis), dtype=float).ravel()
    return float(s.mean()), float(s.std(ddof=1)), s.size
