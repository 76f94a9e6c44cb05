"""Autocorrelations of the stationary Gaussian inputs that the model takes.

The model needs an autocorrelation's derivatives, not only its values: the slope
and the curvature of a Gaussian process are Gaussian too, with covariances
``-r''``, ``r^(4)`` and so on. Anything with ``__call__(tau)``,
``derivative(tau, n)``, ``lags(count)`` and ``scale`` (a length beyond which ``r``
and its derivatives are negligible) plugs in. :class:`GaussianAutocorrelation` is
the built-in family (optionally oscillating); :class:`FilteredAutocorrelation` is
what a convolution makes of an input's autocorrelation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["FilteredAutocorrelation", "GaussianAutocorrelation"]


@dataclass(frozen=True)
class GaussianAutocorrelation:
    """``r(tau) = exp(-tau**2 / (2 length**2)) * cos(frequency * tau)``.

    ``frequency=0`` (default) is the Gaussian autocorrelation of the issue;
    a nonzero frequency gives an oscillating (band-pass) process, the second
    built-in family. Derivatives of every order are exact (Hermite polynomials).

    Examples
    --------
    >>> r = GaussianAutocorrelation(10.0)
    >>> float(r(0.0)), round(float(r.derivative(0.0, 2)), 6)   # r''(0) = -1/l^2
    (1.0, -0.01)
    """

    length: float
    frequency: float = 0.0

    def __call__(self, tau):
        return self.derivative(tau, 0)

    def derivative(self, tau, n):
        """The ``n``-th derivative of ``r`` at ``tau`` (array-like)."""
        tau = np.asarray(tau, dtype=float)
        l = self.length
        # r = Re[exp(-w^2 l^2/2) g(tau - i w l^2)], g(u) = exp(-u^2/(2 l^2))
        z = (tau - 1j * self.frequency * l * l) / l if self.frequency else tau / l
        coeffs = np.zeros(n + 1)
        coeffs[n] = 1.0
        he = np.polynomial.hermite_e.hermeval(z, coeffs)
        val = (-1.0 / l) ** n * he * np.exp(-z * z / 2)
        if self.frequency:
            val = (val * math.exp(-((self.frequency * l) ** 2) / 2)).real
        return np.asarray(val, dtype=float)

    def lags(self, count):
        """``r`` at the integer lags ``0 .. count-1`` (what a simulator needs)."""
        return self(np.arange(count, dtype=float))

    @property
    def scale(self):
        """A length beyond which ``r`` and its derivatives are negligible (6 l)."""
        return 6.0 * self.length


@dataclass(frozen=True)
class FilteredAutocorrelation:
    """Autocorrelation of a linear filter's output: ``sum_m a_m r(tau + m) / a_0``.

    ``a`` is the kernel autocorrelation ``a_m = sum_c sum_i w[c, i] w[c, i+m]``
    over the input channels (independent, each with autocorrelation ``base``);
    ``shifts`` are the ``m`` and ``weights`` the ``a_m``.

    Examples
    --------
    >>> r = FilteredAutocorrelation.from_kernel(GaussianAutocorrelation(20.0), [[1.0]])
    >>> float(r(0.0))
    1.0
    """

    base: object
    shifts: tuple
    weights: tuple
    norm: float

    @classmethod
    def from_kernel(cls, base, kernel):
        """Build from a ``(C_in, K)`` kernel (one output channel)."""
        w = np.atleast_2d(np.asarray(kernel, dtype=float))
        k = w.shape[1]
        shifts, weights = [], []
        for m in range(-(k - 1), k):
            lo, hi = max(0, -m), min(k, k - m)
            a = float(np.sum(w[:, lo:hi] * w[:, lo + m : hi + m]))
            shifts.append(float(m))
            weights.append(a)
        shifts, weights = np.array(shifts), np.array(weights)
        norm = float(np.sum(weights * base(shifts)))
        return cls(base, tuple(shifts), tuple(weights), norm)

    @classmethod
    def from_kernel_2d(cls, base, kernel, axis=-1):
        """Lines along ``axis`` of a 2-D conv output of a separable field ``r(a) r(b)``.

        ``kernel`` is ``(C_in, KH, KW)``; along rows (``axis=-1``) the weight of lag
        ``m`` is ``sum r(i - i') w[c, i, j] w[c, i', j + m]`` (rows of the kernel see
        correlated rows of the field).
        """
        w = np.asarray(kernel, dtype=float)
        w = w[None] if w.ndim == 2 else w
        if axis in (-2, 0):
            w = np.swapaxes(w, -1, -2)
        kh, kw = w.shape[-2:]
        rr = base(np.subtract.outer(np.arange(kh), np.arange(kh)).astype(float))
        shifts, weights = [], []
        for m in range(-(kw - 1), kw):
            lo, hi = max(0, -m), min(kw, kw - m)
            a = float(
                np.einsum("ab,cai,cbi->", rr, w[:, :, lo:hi], w[:, :, lo + m : hi + m])
            )
            shifts.append(float(m))
            weights.append(a)
        shifts, weights = np.array(shifts), np.array(weights)
        return cls(
            base, tuple(shifts), tuple(weights), float(np.sum(weights * base(shifts)))
        )

    def __call__(self, tau):
        return self.derivative(tau, 0)

    def derivative(self, tau, n):
        tau = np.asarray(tau, dtype=float)
        out = np.zeros(np.shape(tau))
        for m, a in zip(self.shifts, self.weights):
            out = out + a * self.base.derivative(tau + m, n)
        return out / self.norm

    def lags(self, count):
        return self(np.arange(count, dtype=float))

    @property
    def scale(self):
        return self.base.scale + max(abs(m) for m in self.shifts)
