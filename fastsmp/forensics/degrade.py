"""Degraded outputs: what a black box may hand back instead of exact floats.

Each degradation wraps a function of NumPy inputs. The output range used by
quantisation and noise is measured once on the examples (as a user of a
deployed model would see it). Used by the benchmark and by the calibration
of the thresholds, never by :func:`~fastsmp.forensics.probe` itself.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DEGRADATIONS", "degrade"]

#: name -> (kind, parameter)
DEGRADATIONS = {
    "float32": ("cast", "float32"),
    "float16": ("cast", "float16"),
    "bfloat16": ("cast", "bfloat16"),
    "quant12": ("quant", 12),
    "quant10": ("quant", 10),
    "quant8": ("quant", 8),
    "noise1e-4": ("noise", 1e-4),
    "noise1e-3": ("noise", 1e-3),
    "noise1e-2": ("noise", 1e-2),
    "step": ("step", None),
}


def _bfloat16(y):
    """Round float32 to bfloat16 (nearest even), returned as float32."""
    b = np.ascontiguousarray(y, dtype=np.float32).view(np.uint32).astype(np.uint64)
    b = (b + 0x7FFF + ((b >> 16) & 1)) & 0xFFFF0000
    return b.astype(np.uint32).view(np.float32)


def degrade(f, name, X, seed=0):
    """``(g, X')``: ``f`` with degraded outputs, and the examples to probe it with.

    ``"step"`` leaves the outputs alone and rescales the examples' spread by
    a random factor in [1/10, 10] around their mean, so that the probe does
    not know the scale on which ``f`` varies.

    Examples
    --------
    >>> import numpy as np
    >>> g, X2 = degrade(lambda x: x[:, 0], "quant8", np.linspace(0, 1, 5)[:, None])
    >>> float(g(np.array([[0.3]]))[0] * 255)
    76.0
    """
    kind, param = DEGRADATIONS[name]
    rng = np.random.default_rng(seed)
    X = np.asarray(X)
    if kind == "step":
        c = float(np.exp(rng.uniform(np.log(0.1), np.log(10.0))))
        mean = X.mean(axis=0, keepdims=True)
        return f, (mean + c * (X - mean)).astype(X.dtype)
    if kind == "cast":
        if param == "bfloat16":
            return (lambda x: _bfloat16(np.asarray(f(x), dtype=np.float32))), X
        return (lambda x: np.asarray(f(x)).astype(param)), X
    y = np.asarray(f(X), dtype=np.float64)
    lo, hi = float(y.min()), float(y.max())
    span = hi - lo if hi > lo else max(abs(hi), 1.0)
    if kind == "quant":
        q = span / (2**param - 1)
        return (lambda x: lo + np.round((np.asarray(f(x), dtype=np.float64) - lo) / q) * q), X
    noise_rng = np.random.default_rng(seed + 1)
    return (lambda x: (lambda y: y + param * span * noise_rng.standard_normal(y.shape))(np.asarray(f(x), dtype=np.float64))), X
