"""Features of the outputs along each line, computed with fastsmp's kernels.

For a line ``v`` with step ``h``, the second difference ``d`` (from
:func:`fastsmp.curvature`) of a piecewise-linear function is zero except at
a kink, where it is a two-sample tent whose two values add up to exactly
``s * h`` (``s`` the change of slope). A smooth function has ``d ~ f'' h^2``
on every sample. So, after the noise floor is subtracted:

* **concentration**: the share of ``sum |d|`` (within :data:`LOCAL`
  samples) held by the largest pair of neighbouring samples: 1 for one
  kink, about ``2 / 9`` to ``2 / 17`` for a resolved smooth curve;
* **pair**: the largest sum of two neighbouring ``|d|`` (the tent's mass),
  and where it lies (the kink's position, read from how the tent splits);
* **peaks and SMP**: the peaks of the floored ``|d|`` (from
  :func:`fastsmp.find_peaks`) and the sum of their heights.

How the pair scales from a line to a finer one through the same spot (the
multi-scale exponent) is taken in :mod:`.probe`.

A tent has to stand above the floor on its own two samples. Where it cannot
(8-bit outputs, noise), :func:`shape_fit` uses every sample of a zoom line:
it fits a hinge (a line plus ``c |t - t0|``, ``t0`` searched) and a cubic
(as many parameters) by least squares and returns their log-likelihood
ratio. Noise and quantisation errors average out over the ``n`` samples, so
a kink of slope change ``2c`` over a window ``[-1, 1]`` is told from a
smooth bend once ``c`` is about ``15`` error standard deviations, against
``1900`` for its two-sample tent to clear the floor (65 samples).
"""

from __future__ import annotations

from typing import NamedTuple

from functools import lru_cache

import numpy as np

__all__ = ["LineFeatures", "line_features", "tent_near", "LOCAL", "ShapeFit", "shape_fit", "HINGE_KAPPA"]

#: the concentration counts ``sum |d|`` this many samples either side of the tent
LOCAL = 8


class LineFeatures(NamedTuple):
    """Per-line features (arrays of length L, except ``floored`` and ``peaks``)."""

    floored: np.ndarray  #: (L, n-2) |d| minus the floor, clipped at 0
    peaks: np.ndarray  #: (L, n-2) bool, peaks of ``floored``
    pair: np.ndarray  #: largest sum of two neighbouring raw |d|, at the floored argmax
    pair_floored: np.ndarray  #: the same pair, floored
    concentration: np.ndarray  #: pair_floored / sum(floored nearby), 0 where nothing is above the floor
    position: np.ndarray  #: estimated kink position, in samples of the line (fractional)
    smp: np.ndarray  #: sum of the peak heights of ``floored``
    count: np.ndarray  #: number of peaks of ``floored``


def line_features(V, floor):
    """Features of each line (row) of ``V`` above the per-line ``floor``.

    Parameters
    ----------
    V : ndarray, shape (L, n)
        Outputs along the lines, ``n >= 5``.
    floor : ndarray, shape (L,)
        The noise floor of |second difference| per line (:mod:`.noise`).

    Returns
    -------
    LineFeatures

    Examples
    --------
    >>> import numpy as np
    >>> x = np.linspace(-1, 1, 33)
    >>> V = np.stack([np.abs(x - 0.01), x**2])
    >>> feats = line_features(V, np.full(2, 1e-12))
    >>> feats.concentration.round(2).tolist()
    [1.0, 0.22]
    """
    import fastsmp

    V = np.ascontiguousarray(V, dtype=np.float64)
    d = np.abs(fastsmp.curvature(V))
    floored = np.maximum(d - np.asarray(floor, dtype=np.float64)[:, None], 0.0)
    peaks = fastsmp.find_peaks(floored)
    pairs_f = floored[:, :-1] + floored[:, 1:]
    j = np.argmax(pairs_f, axis=1)
    rows = np.arange(V.shape[0])
    pair_floored = pairs_f[rows, j]
    pair = d[rows, j] + d[rows, j + 1]
    # the tent's share of sum |d| within LOCAL samples either side: other
    # kinks further along the line do not dilute it
    cols = np.arange(floored.shape[1])[None, :]
    near = np.abs(cols - j[:, None]) <= LOCAL
    total = np.where(near, floored, 0.0).sum(axis=1)
    concentration = np.divide(pair_floored, total, out=np.zeros_like(total), where=total > 0)
    left, right = d[rows, j], d[rows, j + 1]
    share = np.divide(right, left + right, out=np.full_like(left, 0.5), where=(left + right) > 0)
    # d[j] is centred on sample j+1: a tent split (1-f, f) puts the kink at j+1+f
    position = j + 1.0 + share
    smp = np.where(peaks, floored, 0.0).sum(axis=1)
    return LineFeatures(floored, peaks, pair, pair_floored, concentration, position, smp, peaks.sum(axis=1))


def tent_near(V, floor, position, reach=2):
    """The largest floored two-sample tent of each line within ``reach``
    samples of ``position`` (in samples of the line, as
    :attr:`LineFeatures.position`): ``(pair_floored, position, anything)``,
    ``anything`` telling whether the line has a tent above the floor at all.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.linspace(-1, 1, 33)
    >>> V = np.stack([np.abs(x - 0.01) + np.abs(x - 0.5), np.abs(x - 0.013)])
    >>> pf, pos, anything = tent_near(V, np.full(2, 1e-9), np.array([16.08, 16.08]))
    >>> pos.round(3).tolist(), anything.tolist()
    ([16.16, 16.208], [True, True])
    """
    import fastsmp

    V = np.ascontiguousarray(V, dtype=np.float64)
    d = np.abs(fastsmp.curvature(V))
    floored = np.maximum(d - np.asarray(floor, dtype=np.float64)[:, None], 0.0)
    pairs = floored[:, :-1] + floored[:, 1:]
    j0 = np.floor(np.asarray(position, dtype=np.float64) - 1.0).astype(np.int64)
    cols = np.arange(pairs.shape[1])[None, :]
    masked = np.where(np.abs(cols - j0[:, None]) <= reach, pairs, -1.0)
    j = np.argmax(masked, axis=1)
    rows = np.arange(V.shape[0])
    pair_floored = np.maximum(masked[rows, j], 0.0)
    left, right = d[rows, j], d[rows, j + 1]
    share = np.divide(right, left + right, out=np.full_like(left, 0.5), where=(left + right) > 0)
    return pair_floored, j + 1.0 + share, (pairs > 0).any(axis=1)


#: the cubic's residual sum of squares per sample on ``|t|``, ``t`` in ``[-1, 1]`` (65 samples): a
#: kink ``c |t - t0|`` near the middle of a zoom line costs the cubic ``HINGE_KAPPA * n * c**2``
HINGE_KAPPA = 0.0054


class ShapeFit(NamedTuple):
    """Per line: the hinge against the cubic (:func:`shape_fit`)."""

    llr: np.ndarray  #: (RSS_cubic - RSS_hinge) / (2 sigma^2): > 0 kink, < 0 smooth bend
    position: np.ndarray  #: the hinge's ``t0``, in samples of the line (fractional)
    amplitude: np.ndarray  #: the hinge's ``|c|`` (output units per half-line)
    sigma: np.ndarray  #: the error standard deviation used


@lru_cache(maxsize=8)
def _bases(n):
    """Orthonormal bases (QR) of the cubic and of the hinges ``[1, t, |t - t0|]``
    for ``t0`` every quarter sample from sample 2 to ``n - 3``."""
    t = np.linspace(-1.0, 1.0, n)
    qc, _ = np.linalg.qr(np.stack([np.ones(n), t, t * t, t**3], axis=1))
    grid = np.linspace(2.0, n - 3.0, 4 * (n - 5) + 1)  # in samples
    t0 = -1.0 + grid * (2.0 / (n - 1))
    H = np.stack([np.broadcast_to(np.ones(n), (grid.size, n)), np.broadcast_to(t, (grid.size, n)), np.abs(t[None, :] - t0[:, None])], axis=2)
    qh, rh = np.linalg.qr(H)  # (G, n, 3), (G, 3, 3)
    return qc, qh, rh, grid, t


def shape_fit(V, sigma):
    """Fit each line (row of ``V``) with a hinge and with a cubic.

    Parameters
    ----------
    V : ndarray, shape (L, n)
        Outputs along the lines, ``n >= 9``.
    sigma : ndarray, shape (L,)
        The standard deviation of the outputs' errors (noise, rounding,
        quantisation: :mod:`.noise`). The residual of the better model, per
        degree of freedom, is used instead where it is larger (several kinks
        or a rough function in the window: neither model fits, and the ratio
        shrinks).

    Returns
    -------
    ShapeFit

    Examples
    --------
    >>> t = np.linspace(-1, 1, 33)
    >>> V = np.stack([np.abs(t - 0.1), t**2]) + np.random.default_rng(0).normal(0, 0.01, (2, 33))
    >>> fit = shape_fit(V, np.full(2, 0.01))
    >>> bool(fit.llr[0] > 10), bool(fit.llr[1] < -10), round(float(fit.position[0]), 1)
    (True, True, 17.5)
    """
    V = np.ascontiguousarray(V, dtype=np.float64)
    L, n = V.shape
    qc, qh, rh, grid, t = _bases(n)
    V = V - V.mean(axis=1, keepdims=True)
    total = np.einsum("ln,ln->l", V, V)
    rss_c = np.maximum(total - np.sum((V @ qc) ** 2, axis=1), 0.0)
    proj = np.einsum("ln,gnk->lgk", V, qh)  # (L, G, 3)
    rss_g = np.maximum(total[:, None] - np.sum(proj * proj, axis=2), 0.0)
    g = np.argmin(rss_g, axis=1)
    rows = np.arange(L)
    rss_h = rss_g[rows, g]
    coef = np.linalg.solve(rh[g], proj[rows, g][:, :, None])[:, :, 0]  # in [1, t, |t - t0|]
    sig2 = np.maximum(np.asarray(sigma, dtype=np.float64) ** 2, np.minimum(rss_c, rss_h) / (n - 4))
    sig2 = np.maximum(sig2, 1e-300)
    llr = (rss_c - rss_h) / (2.0 * sig2)
    return ShapeFit(llr, grid[g], np.abs(coef[:, 2]), np.sqrt(sig2))
