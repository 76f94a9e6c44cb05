"""The pooled multi-scale exponent: how the mean squared second difference
grows with the step, over all the coarse lines of an output component.

Subsampling a line by ``m`` multiplies its step by ``m``. Per sample, the
mean of ``d**2`` grows like ``m**3`` for kinks (each kink's tent scales like
the step, and there are ``1/m`` fewer samples to share them), like ``m**4``
for a smooth function (``d ~ f'' h**2``), and stays put for noise or
quantisation. Fitting ``M(m) = C + A * m**alpha`` over ``m = 1, 2, 4, ...``
pools every sample of every line, so kinks far too small to stand above the
noise floor one by one still move ``alpha`` towards 3: this is the probe's
evidence when outputs are rounded, quantised or noisy.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["Scaling", "pooled_exponent"]

ALPHAS = np.arange(1.0, 5.0001, 0.05)


class Scaling(NamedTuple):
    """The fit ``M(m) = noise + amplitude * m**alpha``."""

    alpha: float  #: NaN when there is no signal above the noise
    confidence: float  #: 0..1: share of the signal in M at the second-largest m, rescaled
    m: np.ndarray  #: the subsamplings
    M: np.ndarray  #: the mean squared second difference at each


def _fit(m, M):
    """Best ``(residual, alpha, C, A)`` with C, A >= 0, relative errors."""
    best = (np.inf, np.nan, 0.0, 0.0)
    w = 1.0 / M
    for a in ALPHAS:
        basis = np.stack([np.ones_like(m), m**a], axis=1) * w[:, None]
        coef, *_ = np.linalg.lstsq(basis, np.ones_like(m), rcond=None)
        if coef[0] < 0:
            coef = np.array([0.0, max(basis[:, 1].sum() / np.dot(basis[:, 1], basis[:, 1]), 0.0)])
        elif coef[1] < 0:
            coef = np.array([max(basis[:, 0].sum() / np.dot(basis[:, 0], basis[:, 0]), 0.0), 0.0])
        res = float(np.sum((basis @ coef - 1.0) ** 2))
        if res < best[0]:
            best = (res, a, coef[0], coef[1])
    return best


def pooled_exponent(V):
    """Fit the growth of the mean squared second difference of the lines
    (rows of ``V``) with the subsampling.

    Parameters
    ----------
    V : ndarray, shape (L, n)
        Outputs along lines of one component; ``n >= 17``.

    Returns
    -------
    Scaling

    Examples
    --------
    >>> import numpy as np
    >>> t = np.linspace(0, 1, 65)
    >>> shifts = np.random.default_rng(0).random((50, 1))
    >>> round(pooled_exponent(np.sin(3 * t + 5 * shifts)).alpha, 1)
    4.0
    >>> round(pooled_exponent(np.abs(t - shifts)).alpha, 1)
    3.0
    """
    import fastsmp

    V = np.ascontiguousarray(V, dtype=np.float64)
    n = V.shape[1]
    ms, Ms = [], []
    m = 1
    while (n - 1) // m + 1 >= 5:
        d = fastsmp.curvature(np.ascontiguousarray(V[:, ::m]))
        ms.append(m)
        Ms.append(float(np.mean(d * d)))
        m *= 2
    ms, Ms = np.array(ms, dtype=np.float64), np.array(Ms)
    if len(ms) < 3 or not np.all(Ms > 0):
        return Scaling(float("nan"), 0.0, ms, Ms)
    _, alpha, C, A = _fit(ms, Ms)
    if A <= 0:
        return Scaling(float("nan"), 0.0, ms, Ms)
    signal = A * ms[-2] ** alpha
    share = signal / (C + signal)
    return Scaling(float(alpha), float(np.clip((share - 0.2) / 0.5, 0.0, 1.0)), ms, Ms)
