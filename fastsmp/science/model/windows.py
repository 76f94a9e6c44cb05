"""The exact expectation over the small window that decides one output peak.

Whether output sample ``i`` of a line is a peak of ``|d|``, and its height, depend
on five output samples only, so the mean SMP of a local block is an expectation
over one Gaussian vector: the input samples that those five outputs read.
:func:`window_peak_mean` evaluates it for any block, :func:`maxpool_window_mean`
for max pooling, where the Kac-Rice pooling model of
:mod:`fastsmp.science.model.blocks` holds only for correlation lengths much longer
than the window.
"""

from __future__ import annotations

import numpy as np

from .process import _normal_rule, _psd_sqrt

__all__ = ["maxpool_window_mean", "window_peak_mean"]


def _interior(n_out):
    """The output samples that can hold a peak: a peak of ``|d|`` needs a
    neighbour on each side, and ``d`` is two samples shorter than the line."""
    return max(n_out - 4, 0)


def _maxpool_np(x, k, s):
    """Max pooling (window ``k``, stride ``s``, no padding) along the last axis, in
    NumPy: the model's own blocks run it on small arrays, without torch."""
    n_out = (x.shape[-1] - k) // s + 1
    idx = np.arange(n_out)[:, None] * s + np.arange(k)[None, :]
    return x[..., idx].max(axis=-1)


def window_peak_mean(process, block, width, n_out, *, log2_points=17, seed=7):
    """Mean SMP from the small Gaussian window that decides one output peak.

    Whether output sample ``i`` is a peak of ``|d|``, and its height, depend only
    on the five output samples ``y[i-2 .. i+2]``, which a local block computes from
    a window of ``width`` input samples. So ``E[SMP] = (n_out - 4) E[|d_i|
    1{|d_i| > |d_(i-1)|, |d_i| > |d_(i+1)|}]``, an expectation over one Gaussian
    vector of ``width`` samples (covariance ``sigma^2 r(i - j)``), evaluated here
    with a scrambled Sobol rule. Exact for any ``l`` up to the rule's error (about
    ``1/sqrt(points * P(peak))``); ``block`` maps ``(M, width)`` to ``(M, 5)``.

    Examples
    --------
    >>> from fastsmp.science.model import GaussianAutocorrelation, Process, smooth_smp
    >>> p = Process(0.0, 1.0, GaussianAutocorrelation(20.0))
    >>> m = window_peak_mean(p, lambda x: x, 5, 20000)
    >>> abs(m / smooth_smp(p, 20000).mean - 1) < 0.03
    True
    """
    idx = np.arange(width, dtype=float)
    cov = process.sigma**2 * process.acf(idx[:, None] - idx[None, :])
    z = _normal_rule(width, log2_points, seed)
    x = process.mu + z @ _psd_sqrt(cov).T
    y = block(x)
    d = (y[:, :-2] + y[:, 2:]) - 2 * y[:, 1:-1]
    a = np.abs(d)
    peak = (a[:, 1] > a[:, 0]) & (a[:, 1] > a[:, 2])
    return float(np.mean(a[:, 1] * peak) * _interior(n_out))


def maxpool_window_mean(process, k, s, n_out, **kw):
    """:func:`window_peak_mean` for max pooling: ``4 s + k`` input samples.

    Examples
    --------
    >>> from fastsmp.science.model import GaussianAutocorrelation, Process
    >>> p = Process(0.0, 1.0, GaussianAutocorrelation(20.0))
    >>> 2.5 < maxpool_window_mean(p, 2, 1, 8191) < 3.3   # measured 2.94
    True
    """
    return window_peak_mean(
        process, lambda x: _maxpool_np(x, k, s), 4 * s + k, n_out, **kw
    )
