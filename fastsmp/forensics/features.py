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
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["LineFeatures", "line_features", "tent_near", "LOCAL"]

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
