"""Random functions for calibrating the thresholds, deliberately unlike the
benchmark's zoo (no neural network, kernel machine or spline is fitted):

* smooth: random Fourier features ``sum a_i cos(w_i . x + b_i)`` with
  bandwidths drawn over two decades, and random polynomials of degree 2-4;
* kinked: sums of ``|w_i . x + b_i|`` and maxima of random affine functions
  (for the "smooth" side of the verdict);
* confounders, nonsmooth but not ReLU networks (for :mod:`.network`):
  random additive piecewise-linear splines and sums of ``|x_j - c|``
  (kinks on planes ``x_j = const``), sums of random decision stumps
  (axis-aligned jumps), nearest neighbours of random points (jumps on slanted
  bisector planes), and random Laplacian-kernel sums (kinks on planes
  ``x_j = const`` between smooth stretches); :func:`random_network` the
  positives: random (untrained) ReLU-family networks of depth 1-3.
"""

from __future__ import annotations

import numpy as np

__all__ = ["random_smooth", "random_kinked", "random_confounder", "random_network", "random_activation_network", "CONFOUNDERS", "ACTIVATIONS"]


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


def _spline(dim, rng):
    knots = [np.sort(rng.standard_normal(int(rng.integers(2, 12))) * rng.uniform(0.5, 2.0)) for _ in range(dim)]
    values = [rng.standard_normal(k.size) / np.sqrt(dim) for k in knots]
    return lambda x: sum(np.interp(x.reshape(len(x), -1)[:, j], knots[j], values[j]) for j in range(dim))


def _stumps(dim, rng):
    k = int(rng.integers(8, 128))
    feat = rng.integers(0, dim, k)
    cut = rng.standard_normal(k)
    a = rng.standard_normal(k) / np.sqrt(k)
    return lambda x: (x.reshape(len(x), -1)[:, feat] > cut).astype(np.float64) @ a


def _neighbours(dim, rng):
    P = rng.standard_normal((int(rng.integers(20, 400)), dim))
    y = rng.standard_normal(P.shape[0])
    k = int(rng.integers(1, 10))
    weighted = rng.random() < 0.5

    def f(x):
        x = x.reshape(len(x), -1)
        d2 = (x * x).sum(1)[:, None] - 2 * x @ P.T + (P * P).sum(1)[None, :]
        idx = np.argpartition(d2, k - 1, axis=1)[:, :k]
        if not weighted:
            return y[idx].mean(axis=1)
        w = 1.0 / np.sqrt(np.maximum(np.take_along_axis(d2, idx, axis=1), 1e-12))
        return (w * y[idx]).sum(axis=1) / w.sum(axis=1)

    return f


def _laplacian(dim, rng):
    C = rng.standard_normal((int(rng.integers(10, 300)), dim))
    gamma = float(np.exp(rng.uniform(np.log(0.02), np.log(1.0))))
    a = rng.standard_normal(C.shape[0]) / np.sqrt(C.shape[0])
    return lambda x: np.exp(-gamma * np.abs(x.reshape(len(x), -1)[:, None, :] - C[None]).sum(-1)) @ a


#: the confounder kinds of :func:`random_confounder`
CONFOUNDERS = {"spline": _spline, "stumps": _stumps, "neighbours": _neighbours, "laplacian": _laplacian}


def random_confounder(dim, rng, kind=None):
    """A random nonsmooth function that is not a ReLU network (see the module
    docstring): ``kind`` one of :data:`CONFOUNDERS`, random if ``None``.

    Examples
    --------
    >>> [random_confounder(3, np.random.default_rng(0), k)(np.zeros((2, 3))).shape for k in CONFOUNDERS]
    [(2,), (2,), (2,), (2,)]
    """
    kind = kind or list(CONFOUNDERS)[int(rng.integers(len(CONFOUNDERS)))]
    return CONFOUNDERS[kind](dim, rng)


def random_network(dim, rng):
    """A random ReLU-family network (ReLU, leaky ReLU or max of two units;
    1-3 hidden layers of 8-128 units, He-scaled Gaussian weights).

    Examples
    --------
    >>> random_network(3, np.random.default_rng(0))(np.zeros((2, 3))).shape
    (2,)
    """
    depth = int(rng.integers(1, 4))
    width = int(rng.choice([8, 16, 32, 64, 128]))
    slope = float(rng.choice([0.0, 0.0, 0.01, 0.2]))
    return _mlp(dim, rng, depth, width, lambda z: np.where(z > 0, z, slope * z))


def _mlp(dim, rng, depth, width, act):
    """An MLP of ``depth`` hidden layers of ``width`` units with activation
    ``act``, He-scaled Gaussian weights and biases of sd 0.5 drawn from
    ``rng`` (in this order: weights, biases, output weights)."""
    sizes = [dim] + [width] * depth
    W = [rng.standard_normal((a, b)) * np.sqrt(2.0 / a) for a, b in zip(sizes[:-1], sizes[1:])]
    b = [rng.standard_normal(s) * 0.5 for s in sizes[1:]]
    out = rng.standard_normal(width) / np.sqrt(width)

    def f(x):
        h = x.reshape(len(x), -1)
        for Wi, bi in zip(W, b):
            h = act(h @ Wi + bi)
        return h @ out

    return f


#: activations of :func:`random_activation_network`: name -> (function, kinked?)
ACTIVATIONS = {
    "relu": (lambda z: np.maximum(z, 0.0), True),
    "hardswish": (lambda z: z * np.clip(z + 3.0, 0.0, 6.0) / 6.0, True),
    "relu6": (lambda z: np.clip(z, 0.0, 6.0), True),
    "hardtanh": (lambda z: np.clip(z, -1.0, 1.0), True),
    "tanh": (np.tanh, False),
    "gelu": (lambda z: z / (1.0 + np.exp(-1.702 * z)), False),
    "softplus1": (lambda z: np.logaddexp(0.0, z), False),
    "softplus10": (lambda z: np.logaddexp(0.0, 10.0 * z) / 10.0, False),
    "softplus100": (lambda z: np.logaddexp(0.0, 100.0 * z) / 100.0, False),
}


def random_activation_network(dim, rng, activation):
    """A random (untrained) MLP with one of :data:`ACTIVATIONS`: 1-3 hidden
    layers of 8-128 units, He-scaled Gaussian weights. Held-out generators
    for the degraded-output study (:mod:`.heldout`): smooth activations
    (tanh, a GELU, softplus with beta 1, 10, 100) and kinked ones unlike
    :func:`random_network` (Hardswish, ReLU6, Hardtanh).

    Examples
    --------
    >>> random_activation_network(3, np.random.default_rng(0), "softplus100")(np.zeros((2, 3))).shape
    (2,)
    """
    act = ACTIVATIONS[activation][0]
    depth = int(rng.integers(1, 4))
    width = int(rng.choice([8, 16, 32, 64, 128]))
    return _mlp(dim, rng, depth, width, act)
