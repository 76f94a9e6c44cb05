"""Random functions for calibrating the thresholds, deliberately unlike the
benchmark's zoo (no neural network, kernel machine or spline is fitted):

* smooth: random Fourier features ``sum a_i cos(w_i . x + b_i)`` with
  bandwidths drawn over two decades, and random polynomials of degree 2-4;
* kinked: sums of ``|w_i . x + b_i|`` and maxima of random affine functions
  (for the "smooth" side of the verdict).
"""

from __future__ import annotations

import numpy as np

__all__ = ["random_smooth", "random_kinked"]


def random_smooth(dim, rng):
    """A random smooth function of ``(n, dim)`` inputs, ``(n,)`` outputs.

    Examples
    --------
    >>> f = random_smooth(3, np.random.default_rng(0))
    >>> f(np.zeros((2, 3))).shape
    (2,)
    """
    if rng.random() < 0.6:
        k = int(rng.integers(4, 64))
        bandwidth = float(np.exp(rng.uniform(np.log(0.1), np.log(3.0))))
        W = rng.standard_normal((dim, k)) * bandwidth / np.sqrt(dim)
        b = rng.uniform(0, 2 * np.pi, k)
        a = rng.standard_normal(k) / np.sqrt(k)
        return lambda x: np.cos(x.reshape(len(x), -1) @ W + b) @ a
    degree = int(rng.integers(2, 5))
    P = rng.standard_normal((dim, degree)) / np.sqrt(dim)
    c = rng.standard_normal((degree, degree + 1)) / np.arange(1, degree + 2)
    return lambda x: sum(np.polyval(c[i], x.reshape(len(x), -1) @ P[:, i]) for i in range(degree))


def random_kinked(dim, rng):
    """A random piecewise-linear function of ``(n, dim)`` inputs.

    Examples
    --------
    >>> f = random_kinked(3, np.random.default_rng(0))
    >>> f(np.zeros((2, 3))).shape
    (2,)
    """
    k = int(rng.integers(2, 64))
    W = rng.standard_normal((dim, k)) / np.sqrt(dim)
    b = rng.standard_normal(k)
    if rng.random() < 0.5:
        a = rng.standard_normal(k) / np.sqrt(k)
        return lambda x: np.abs(x.reshape(len(x), -1) @ W + b) @ a
    return lambda x: np.max(x.reshape(len(x), -1) @ W + b, axis=1)
