"""SMP after one block: a smooth input, ReLU, convolution, max pooling, ReLU then max pooling.

Every kind of peak is an event of :func:`~fastsmp.science.model.process.marked_events`:

* smooth peaks (no kinks): the peaks of ``|d|`` sit at the extrema of the
  curvature process ``d(t) = x(t-1) + x(t+1) - 2 x(t)``, i.e. at zeros of ``d'``,
  with mark ``|d|`` where ``d d'' < 0`` (:func:`smooth_peak_events`);
* ReLU kinks: zeros of ``x``, slope change ``|x'|``, seen as ``max(f, 1-f) |x'|``
  (:func:`relu_kink_events`);
* max-pooling edits: at the extrema of ``x`` (zeros of ``x'``) the arg-max of the
  window moves, which edits the curvature by ``alpha |x''|``
  (:func:`pool_edit_gain`, :func:`pool_edit_events`).

The gains (:func:`peak_gain`, :func:`kink_peak_gain`, :func:`pooled_kink_gain`) say
what a kernel, and a pooling stride, make of one isolated spike or kink of the
curvature; the stacks (:mod:`fastsmp.science.model.stacks`) carry kinks from layer
to layer with them.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np

from .autocorrelation import FilteredAutocorrelation
from .process import EventType, Functional, Prediction, Process, marked_events
from .windows import _interior, _maxpool_np, maxpool_window_mean

__all__ = [
    "conv_process",
    "conv_smp",
    "kink_peak_gain",
    "maxpool_smp",
    "peak_gain",
    "peak_gain_distribution",
    "pool_edit_events",
    "pool_edit_gain",
    "pooled_kink_gain",
    "relu_closed_form_mean",
    "relu_kink_events",
    "relu_pool_smp",
    "relu_smp",
    "smooth_peak_events",
    "smooth_smp",
]


def smooth_peak_events(stride=1, gate=None, scale=1.0):
    """Peaks of ``|d|`` of a smooth process: extrema of the curvature ``d``.

    ``d(t) = x(t - s) + x(t + s) - 2 x(t)`` is the second difference of the line
    sampled with step ``s``; a peak of ``|d|`` is a maximum of ``d`` above 0 or a
    minimum below 0, i.e. a zero of ``d'`` with ``d d'' < 0``; its height is ``|d|``.
    ``gate="positive"`` keeps only peaks where ``x > 0`` (the smooth part that a
    ReLU lets through).
    """
    d = Functional.curvature(stride)
    extra = (d,) if gate is None else (d, Functional.value())

    def mark(gp, y):
        m = np.abs(y[..., 0]) * (y[..., 0] * gp < 0)
        return m if gate is None else m * (y[..., 1] > 0)

    return EventType(d.derivative(), mark, extra, scale=scale, scale_sq=scale * scale)


def smooth_smp(process, n, *, stride=1, **kw):
    """SMP of ``n`` samples of a smooth Gaussian process (no kinks).

    Peaks of ``|d|`` at the extrema of the curvature process; see
    :func:`smooth_peak_events`. With ``stride`` the line is the process sampled
    every ``stride`` input samples (``n`` output samples).

    Examples
    --------
    >>> from fastsmp.science.model import GaussianAutocorrelation
    >>> p = Process(0.0, 1.0, GaussianAutocorrelation(20.0))
    >>> round(smooth_smp(p, 8192, n_tau=24).mean, 2)     # measured: 1.617 (400 lines)
    1.61
    """
    return marked_events(
        process, [smooth_peak_events(stride)], stride * _interior(n), **kw
    )


def relu_closed_form_mean(process, n, smp_in_mean):
    """The issue's closed form: ``Phi(m) E[SMP_in] + 3/4 (n - 4) sigma'^2 phi(m) / sigma``.

    ``m = mu / sigma``, ``sigma'^2 = -sigma^2 r''(0)``.

    Examples
    --------
    >>> from fastsmp.science.model import GaussianAutocorrelation
    >>> p = Process(0.0, 1.0, GaussianAutocorrelation(20.0))
    >>> round(relu_closed_form_mean(p, 20000, 0.0), 4)   # 3/4 * 19996 / 400 / sqrt(2 pi)
    14.9573
    """
    from scipy.stats import norm

    m = process.mu / process.sigma
    slope_var = -(process.sigma**2) * float(process.acf.derivative(0.0, 2))
    kinks = 0.75 * _interior(n) * slope_var * norm.pdf(m) / process.sigma
    return float(norm.cdf(m) * smp_in_mean + kinks)


def relu_kink_events():
    """Kinks of ``max(x, 0)``: zeros of ``x`` with slope change ``|x'|``, seen as
    ``max(f, 1-f) |x'|`` (``f`` uniform: mean 3/4, mean square 7/12)."""
    return EventType(
        Functional.value(), lambda gp, y: np.abs(gp), scale=0.75, scale_sq=7.0 / 12.0
    )


def relu_smp(process, n, **kw):
    """SMP of ``max(x, 0)`` over ``n`` samples of a Gaussian process ``x``.

    Kinks (Kac-Rice on the zeros of ``x``) plus the smooth peaks that fall where
    ``x > 0``; the variance includes the cross terms.

    Examples
    --------
    >>> from fastsmp.science.model import GaussianAutocorrelation
    >>> p = Process(0.0, 1.0, GaussianAutocorrelation(20.0))
    >>> pred = relu_smp(p, 8192, n_tau=16, log2_points=10)
    >>> round(pred.mean, 2)                                # measured: 6.926 (400 lines)
    6.93
    """
    events = [relu_kink_events(), smooth_peak_events(gate="positive")]
    return marked_events(process, events, _interior(n), **kw)


def conv_process(process, kernel, bias=0.0):
    """The Gaussian process at the output of a convolution (cross-correlation).

    ``kernel`` has shape ``(C_in, K)``; the ``C_in`` input channels are independent
    copies of ``process``. Mean ``bias + mu * sum(w)``, variance
    ``sigma^2 sum_m a_m r(m)``, autocorrelation :class:`FilteredAutocorrelation`.

    Examples
    --------
    >>> from fastsmp.science.model import GaussianAutocorrelation
    >>> p = Process(1.0, 1.0, GaussianAutocorrelation(20.0))
    >>> q = conv_process(p, [[1.0]])
    >>> (q.mu, q.sigma)
    (1.0, 1.0)
    """
    w = np.atleast_2d(np.asarray(kernel, dtype=float))
    acf = FilteredAutocorrelation.from_kernel(process.acf, w)
    sigma = process.sigma * math.sqrt(acf.norm)
    return Process(float(bias + process.mu * w.sum()), float(sigma), acf)


def conv_smp(process, kernel, n_out, **kw):
    """SMP after a convolution of a smooth Gaussian input: no new kinks, only the
    curvature of the filtered process (:func:`smooth_smp` of :func:`conv_process`)."""
    return smooth_smp(conv_process(process, kernel), n_out, **kw)


def _peak_sums(rows):
    """Sum of the peaks (SciPy's local maxima) of each row of a 2-D array."""
    import fastsmp

    rows = np.atleast_2d(np.asarray(rows, dtype=float))
    if rows.shape[-1] < 3:
        return np.zeros(rows.shape[0])
    return np.sum(fastsmp.find_peaks(rows, axis=-1, backend="numpy") * rows, axis=-1)


def peak_gain(kernel):
    """Sum of the peaks of ``|w|`` (zero-padded): what one isolated spike of height
    1 in the curvature becomes after the convolution.

    Examples
    --------
    >>> peak_gain([1.0])
    1.0
    >>> peak_gain([0.5, -1.0, 0.25])
    1.0
    """
    w = np.abs(np.asarray(kernel, dtype=float).ravel())
    return float(_peak_sums(np.concatenate([[0.0], w, [0.0]]))[0])


def kink_peak_gain(kernel, n_fractions=64):
    """Expected SMP left by a kink of slope change 1 after the convolution.

    A kink at fraction ``f`` between samples puts ``(1-f, f)`` into the curvature;
    the convolution turns it into ``w * (1-f, f)``; average the sum of its peaks
    over uniform ``f``. The identity kernel gives 3/4.

    Examples
    --------
    >>> round(kink_peak_gain([1.0]), 3)
    0.75
    """
    w = np.asarray(kernel, dtype=float).ravel()
    fs = (np.arange(n_fractions) + 0.5) / n_fractions
    rows = np.zeros((n_fractions, w.size + 3))
    # w * (1-f, f): entry j is w[j](1-f) + w[j-1] f
    conv = np.zeros((n_fractions, w.size + 1))
    conv[:, :-1] += w[None, :] * (1 - fs)[:, None]
    conv[:, 1:] += w[None, :] * fs[:, None]
    rows[:, 1:-1] = np.abs(conv)
    return float(np.mean(_peak_sums(rows)))


def pooled_kink_gain(kernel, s, n_fractions=32):
    """Expected SMP left by a kink of slope change 1 after a convolution and a stride ``s``.

    Along a monotone stretch max pooling keeps every ``s``-th sample (shifted), so
    the second difference of its output is the input's curvature summed with the
    triangle weights ``1, 2, .., s, .., 1`` and kept every ``s``-th sample. The
    kink's curvature after the convolution is ``w * (1-f, f)``; this averages the
    sum of the peaks of the decimated pattern over ``f`` and the ``s`` phases.
    ``s = 1`` is :func:`kink_peak_gain`; the identity kernel gives ``3 s / 4``.

    Examples
    --------
    >>> round(pooled_kink_gain([1.0], 2), 3)
    1.5
    """
    w = np.asarray(kernel, dtype=float).ravel()
    tri = np.concatenate([np.arange(1, s + 1), np.arange(s - 1, 0, -1)]).astype(float)
    fs = (np.arange(n_fractions) + 0.5) / n_fractions
    rows = []
    for f in fs:
        fine = np.convolve(np.convolve(w, [1 - f, f]), tri)
        pad = np.concatenate([np.zeros(2 * s), fine, np.zeros(2 * s)])
        for phase in range(s):
            rows.append(np.abs(pad[phase::s]))
    width = max(len(r) for r in rows)
    rows = np.array([np.concatenate([r, np.zeros(width - len(r))]) for r in rows])
    return float(np.mean(_peak_sums(rows)))


def peak_gain_distribution(k, c_in=1, n=2000, seed=0):
    """Peak gains of random kernels with i.i.d. ``N(0, 1/(c_in k))`` weights.

    Returns the array of ``sum_c peak_gain(w_c)`` over ``n`` draws (the gain of a
    spike that lands in every input channel at once is this sum's bound; spikes in
    one channel see one ``w_c``).

    Examples
    --------
    >>> g = peak_gain_distribution(1, n=20000)
    >>> round(float(g.mean()) / math.sqrt(2 / math.pi), 1)   # E|N(0,1)|
    1.0
    """
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((n, c_in, k)) / math.sqrt(c_in * k)
    padded = np.zeros((n * c_in, k + 2))
    padded[:, 1:-1] = np.abs(w.reshape(n * c_in, k))
    return _peak_sums(padded).reshape(n, c_in).sum(axis=1)


@cache
def pool_edit_gain(k, s, n_positions=64):
    """``(alpha_max, alpha_max_sq, alpha_min, alpha_min_sq)`` of max pooling.

    Where ``l >> k``, a pooling window holds a nearly straight piece of ``x`` and
    its maximum sits at one end, so the output is ``x`` (shifted, every ``s``-th
    sample) except at the extrema of ``x``: there the arg-max moves through the
    window and edits the curvature locally. Locally ``x(t) = c (t - t*)^2 / 2``
    (plus a tiny cubic that tilts the curvature one way or the other), so the SMP
    the edit adds is ``alpha |c|``, with ``alpha`` a function of ``k``, ``s`` and of
    the position of ``t*`` on the sample grid. This averages it (and its square)
    over uniform positions and both tilts, with ``fastsmp.smp`` on the pooled
    quadratic: a numerical predictor, exact in the limit ``l / k -> infinity``.

    Examples
    --------
    >>> a = pool_edit_gain(2, 1)
    >>> round(a[0], 2), round(a[2], 2)      # one new peak |c| at a maximum, 7/4 |c| at a minimum
    (1.0, 1.75)
    """
    import fastsmp

    half = 12 * (k + s) + 8
    t = np.arange(-half, half + 1, dtype=float)
    t0 = (s * (np.arange(n_positions) + 0.5) / n_positions)[:, None, None]
    tilt = np.array([-1e-3, 1e-3])[None, :, None]
    out = []
    for sign in (-1.0, 1.0):  # maximum (c < 0), minimum (c > 0)
        x = sign * (t - t0) ** 2 / 2 + tilt * (t - t0) ** 3 / 6
        g = np.asarray(
            fastsmp.smp(_maxpool_np(x, k, s), rtol=0, backend="numpy")
        ).ravel()
        out += [float(g.mean()), float(np.mean(g * g))]
    return tuple(out)


def pool_edit_events(k, s):
    """Events of max pooling at the maxima / minima of ``x`` (zeros of ``x'``)."""
    a_max, a_max2, a_min, a_min2 = pool_edit_gain(k, s)
    xp = Functional.value().derivative()
    # an extremum is a zero of G = x'; its edit adds alpha |x''| = alpha |G'|
    at_max = EventType(
        xp, lambda gp, y: np.abs(gp) * (gp < 0), scale=a_max, scale_sq=a_max2
    )
    at_min = EventType(
        xp, lambda gp, y: np.abs(gp) * (gp > 0), scale=a_min, scale_sq=a_min2
    )
    return [at_max, at_min]


def maxpool_smp(process, k, s, n_out, *, exact=True, **kw):
    """SMP after max pooling (kernel ``k``, stride ``s``) of a smooth Gaussian process.

    Kac-Rice model (``exact=False``): the smooth peaks of the line sampled every
    ``s`` samples, plus the local edits at every extremum of ``x``
    (:func:`pool_edit_gain`); it holds for ``l >> k s`` and overshoots by about
    ``2.5 s / l`` (``docs/model.md`` has the measured errors). With ``exact=True``
    (default) the mean is :func:`maxpool_window_mean` (exact expectation over the
    deciding window) and the std is the Kac-Rice std rescaled by the ratio of the
    two means (the Kac-Rice coefficient of variation).

    Examples
    --------
    >>> from fastsmp.science.model import GaussianAutocorrelation
    >>> p = Process(0.0, 1.0, GaussianAutocorrelation(20.0))
    >>> pred = maxpool_smp(p, 2, 1, 8191, n_tau=16, log2_points=10)
    >>> round(pred.mean, 2), round(pred.details["kac_rice_mean"], 2)   # measured: 2.956
    (2.95, 3.3)
    """
    events = [smooth_peak_events(stride=s), *pool_edit_events(k, s)]
    asym = marked_events(process, events, s * _interior(n_out), **kw)
    if not exact:
        return asym
    mean = maxpool_window_mean(process, k, s, n_out)
    return Prediction(
        mean,
        asym.std * mean / asym.mean,
        {"kac_rice_mean": asym.mean, "kac_rice_std": asym.std},
    )


def relu_pool_smp(process, k, s, n_out, **kw):
    """SMP after ``ReLU -> max pool`` of a Gaussian process (the end of one layer).

    Events, in input samples: the ReLU kinks, whose slope change per output sample
    is ``s |x'|`` (pooling keeps a kink that sits on a monotone stretch and only
    shifts it); the smooth peaks of the line sampled every ``s`` samples where
    ``x > 0``; and the pooling edits at the extrema of ``x`` where ``x > 0``.

    Examples
    --------
    >>> from fastsmp.science.model import GaussianAutocorrelation
    >>> p = Process(0.0, 1.0, GaussianAutocorrelation(50.0))
    >>> kw = dict(n_tau=16, log2_points=10)
    >>> 2.0 < relu_pool_smp(p, 2, 2, 4096, **kw).mean / relu_smp(p, 8192, **kw).mean < 2.5
    True
    """
    a_max, a_max2, a_min, a_min2 = pool_edit_gain(k, s)
    x, xp = Functional.value(), Functional.value().derivative()

    def gated(sign):
        return lambda gp, y: np.abs(gp) * (sign * gp > 0) * (y[..., 0] > 0)

    events = [
        EventType(
            x, lambda gp, y: np.abs(gp), scale=0.75 * s, scale_sq=7.0 / 12.0 * s * s
        ),
        smooth_peak_events(stride=s, gate="positive"),
        EventType(xp, gated(-1), (x,), scale=a_max, scale_sq=a_max2),
        EventType(xp, gated(1), (x,), scale=a_min, scale_sq=a_min2),
    ]
    return marked_events(process, events, s * _interior(n_out), **kw)
