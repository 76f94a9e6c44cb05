"""Synthetic inputs with known statistics: Gaussian lines and fields, smooth signals.

The lines and fields are stationary Gaussian processes with a given mean,
standard deviation and autocorrelation (exact at integer lags), so that the
model's predictions for them can be checked against measurements.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["gaussian_fields", "gaussian_lines", "smooth_signals"]


def _spectrum(acf, m):
    lags = np.arange(m)
    spec = np.fft.rfft(acf(np.minimum(lags, m - lags).astype(float))).real
    spec[spec < spec.max() * 1e-13] = 0.0  # FFT round-off, not signal: keep it out
    return spec


def gaussian_lines(acf, n, lines, rng, mu=0.0, sigma=1.0):
    """``lines`` stationary Gaussian lines of ``n`` samples (float64), autocorrelation ``acf``.

    Spectral synthesis on a circle of ``n + 2 * acf.scale`` samples, so the
    autocorrelation at integer lags is exactly ``acf`` (up to round-off);
    spectral values below 1e-13 of the peak are set to zero so that FFT
    round-off does not add white noise to the curvature of very smooth lines.

    Examples
    --------
    >>> from fastsmp.science.model import GaussianAutocorrelation
    >>> x = gaussian_lines(GaussianAutocorrelation(10.0), 4096, 64, np.random.default_rng(0))
    >>> x.shape, abs(float(x.std()) - 1) < 0.05
    ((64, 4096), True)
    """
    m = n + math.ceil(2 * acf.scale)
    spec = _spectrum(acf, m)
    white = rng.standard_normal((lines, m))
    x = np.fft.irfft(np.sqrt(spec) * np.fft.rfft(white, axis=-1), n=m, axis=-1)[:, :n]
    return mu + sigma * x


def gaussian_fields(acf, size, count, rng, mu=0.0, sigma=1.0):
    """``count`` separable stationary Gaussian fields ``size x size``, ``r(a) r(b)``.

    Examples
    --------
    >>> from fastsmp.science.model import GaussianAutocorrelation
    >>> f = gaussian_fields(GaussianAutocorrelation(8.0), 64, 4, np.random.default_rng(0))
    >>> f.shape
    (4, 64, 64)
    """
    m = size + math.ceil(2 * acf.scale)
    s_row = np.fft.fft(
        acf(np.minimum(np.arange(m), m - np.arange(m)).astype(float))
    ).real
    s_row[s_row < s_row.max() * 1e-13] = 0.0
    spec = np.sqrt(np.outer(s_row, s_row))
    white = rng.standard_normal((count, m, m))
    x = np.fft.ifft2(spec * np.fft.fft2(white)).real[:, :size, :size]
    return mu + sigma * x


def smooth_signals(n=4096):
    """Deterministic smooth test signals: a sum of sinusoids and a chirp.

    Examples
    --------
    >>> sorted(smooth_signals(512))
    ['chirp', 'sinusoids']
    """
    t = np.arange(n, dtype=float)
    sines = (
        np.sin(2 * np.pi * t / 400)
        + 0.5 * np.sin(2 * np.pi * t / 157 + 1)
        + 0.3 * np.sin(2 * np.pi * t / 91 + 2)
    )
    chirp = np.sin(2 * np.pi * (t / 800 + t * t / (2 * n * 250)))
    return {"sinusoids": sines, "chirp": chirp}
