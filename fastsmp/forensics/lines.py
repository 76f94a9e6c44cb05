"""Probe lines: where in input space ``f`` is sampled.

A line is ``origin + t * direction`` for ``n`` evenly spaced ``t`` in
``[-1, 1]``. Coarse lines pass through the examples and through points
between two examples, in random directions (each input feature moved in
proportion to its spread over the examples) and along single input axes.
Zoom lines (:func:`zoom`) re-sample a short stretch of a line around a
suspected kink with a finer step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Lines", "draw", "zoom", "feature_scale"]


@dataclass(frozen=True)
class Lines:
    """A batch of probe lines.

    Attributes
    ----------
    origin : ndarray, shape (L, D)
        The point at ``t = 0``.
    direction : ndarray, shape (L, D)
        The point at ``t = 1`` minus the origin.
    n : int
        Samples per line (``t = linspace(-1, 1, n)``).
    axis : ndarray of bool, shape (L,)
        True for lines along a single input axis.
    """

    origin: np.ndarray
    direction: np.ndarray
    n: int
    axis: np.ndarray

    def __len__(self):
        return self.origin.shape[0]

    @property
    def t(self):
        return np.linspace(-1.0, 1.0, self.n)

    @property
    def step(self):
        """The sampling step in input space, per line."""
        return np.linalg.norm(self.direction, axis=1) * (2.0 / (self.n - 1))

    def points(self):
        """The sample points, ``(L * n, D)``, line after line."""
        pts = self.origin[:, None, :] + self.t[None, :, None] * self.direction[:, None, :]
        return pts.reshape(-1, self.origin.shape[1])


def feature_scale(X):
    """The spread of each input feature over the examples (standard
    deviation; the RMS of the varying features' spreads where a feature does not vary, 1 if
    nothing does).

    Examples
    --------
    >>> feature_scale(np.array([[0.0, 1.0], [2.0, 1.0]])).tolist()
    [1.0, 1.0]
    """
    X = np.asarray(X, dtype=np.float64)
    scale = X.std(axis=0) if X.shape[0] > 1 else np.zeros(X.shape[1])
    fallback = np.sqrt(np.mean(scale[scale > 0] ** 2)) if np.any(scale > 0) else np.sqrt(np.mean(X**2))
    fallback = fallback if fallback > 0 else 1.0
    return np.where(scale > 0, scale, fallback)


def draw(X, count, n, rng, axis_share=0.25, span=(0.1, 4.0)):
    """``count`` coarse lines through and between the examples ``X`` (``(m, D)``).

    Parameters
    ----------
    X : ndarray, shape (m, D)
    count : int
    n : int
        Samples per line.
    rng : numpy.random.Generator
    axis_share : float
        The share of lines along a single input axis (the others go in random
        directions).
    span : (float, float)
        Half-lengths of the lines, in units of the features' spread, are
        drawn log-uniformly in this range.

    Examples
    --------
    >>> lines = draw(np.eye(3), 4, 9, np.random.default_rng(0))
    >>> len(lines), lines.points().shape, int(lines.axis.sum())
    (4, (36, 3), 1)
    """
    X = np.asarray(X, dtype=np.float64)
    m, D = X.shape
    scale = feature_scale(X)
    a = rng.integers(0, m, count)
    b = rng.integers(0, m, count)
    mix = np.where(rng.random(count) < 0.5, 0.0, rng.random(count))  # half through an example
    origin = X[a] + mix[:, None] * (X[b] - X[a])
    half = np.exp(rng.uniform(np.log(span[0]), np.log(span[1]), count))
    n_axis = int(round(axis_share * count))
    along_axis = np.zeros(count, dtype=bool)
    along_axis[:n_axis] = True
    rng.shuffle(along_axis)
    g = rng.standard_normal((count, D))
    g /= np.linalg.norm(g, axis=1, keepdims=True)
    direction = g * scale * np.sqrt(D)  # RMS move of one spread per feature
    varying = np.flatnonzero(scale > 0) if np.any(scale > 0) else np.arange(D)
    for i in np.flatnonzero(along_axis):
        k = rng.choice(varying)
        direction[i] = 0.0
        direction[i, k] = scale[k] * rng.choice([-1.0, 1.0])
    return Lines(origin, direction * half[:, None], n, along_axis)


def zoom(lines, index, center, half_width):
    """Finer lines: for each ``index``, the stretch of ``lines[index]`` at
    ``t`` in ``center -+ half_width``, sampled with the same ``n``.

    Examples
    --------
    >>> lines = draw(np.eye(2), 2, 9, np.random.default_rng(0))
    >>> fine = zoom(lines, np.array([1]), np.array([0.5]), np.array([0.25]))
    >>> bool(np.allclose(fine.step * 4, lines.step[1]))
    True
    """
    index = np.asarray(index)
    origin = lines.origin[index] + center[:, None] * lines.direction[index]
    direction = lines.direction[index] * half_width[:, None]
    return Lines(origin, direction, lines.n, lines.axis[index])
