"""A model of how SMP statistics propagate through convolution, ReLU and max pooling.

The inputs are stationary Gaussian processes ``x(t)`` sampled at integer ``t``,
with mean ``mu``, standard deviation ``sigma`` and autocorrelation ``r(tau)``
(:class:`GaussianAutocorrelation` by default, anything with ``derivative(tau, n)``
plugs in). For one line of ``N`` output samples every prediction is a pair
``(mean, std)`` of the line's SMP (``fastsmp.smp`` with its default ``rtol``).

All predictions rest on one tool, :func:`marked_events`: the Kac-Rice formula for
the expected sum of marks over the zeros of a Gaussian process ``G(t)``, and the
Cramer-Leadbetter formula for its second moment. Every kind of SMP peak is such an
event:

* smooth peaks (no kinks): the peaks of ``|d|`` sit at the extrema of the
  curvature process ``d(t) = x(t-1) + x(t+1) - 2 x(t)``, i.e. at zeros of ``d'``,
  with mark ``|d|`` where ``d d'' < 0``;
* ReLU kinks: zeros of ``x``, slope change ``|x'|``, shown as ``max(f, 1-f)|x'|``;
* max-pooling edits: at the extrema of ``x`` (zeros of ``x'``), the arg-max of the
  window moves, which edits the curvature by ``alpha |x''|`` (see
  :func:`pool_edit_gain`).

The conditional expectations inside the formulas are low-dimensional Gaussian
integrals evaluated with a fixed scrambled Sobol rule, so predictions are
deterministic and take milliseconds. ``docs/model.md`` derives every formula.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, Sequence

import numpy as np

__all__ = [
    "GaussianAutocorrelation",
    "FilteredAutocorrelation",
    "Process",
    "Functional",
    "EventType",
    "Prediction",
    "marked_events",
    "smooth_smp",
    "relu_smp",
    "relu_closed_form_mean",
    "conv_process",
    "conv_smp",
    "peak_gain",
    "kink_peak_gain",
    "peak_gain_distribution",
    "pool_edit_gain",
    "maxpool_smp",
    "stack_smp",
]

# ---------------------------------------------------------------------------
# autocorrelations
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# linear functionals of the process and their joint Gaussian law
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Functional:
    """``F(t) = sum coef * x^(order)(t + shift)``, a linear functional of ``x``.

    Examples
    --------
    >>> d = Functional.curvature()          # x(t-1) + x(t+1) - 2 x(t)
    >>> d.derivative().terms[0]
    (1.0, -1.0, 1)
    """

    terms: tuple

    @classmethod
    def value(cls):
        return cls(((1.0, 0.0, 0),))

    @classmethod
    def curvature(cls, stride=1):
        """Second difference with step ``stride`` centred at ``t``."""
        s = float(stride)
        return cls(((1.0, -s, 0), (1.0, s, 0), (-2.0, 0.0, 0)))

    def derivative(self):
        return Functional(tuple((c, s, o + 1) for c, s, o in self.terms))


@dataclass(frozen=True)
class Process:
    """A stationary Gaussian process: mean ``mu``, std ``sigma``, autocorrelation ``acf``.

    Examples
    --------
    >>> p = Process(0.0, 2.0, GaussianAutocorrelation(10.0))
    >>> x = Functional.value()
    >>> float(p.cov(x, x.derivative(), 0.0)), round(float(p.cov(x.derivative(), x.derivative(), 0.0)), 4)
    (0.0, 0.04)
    """

    mu: float
    sigma: float
    acf: object

    def mean(self, f):
        return self.mu * sum(c for c, _, o in f.terms if o == 0)

    def cov(self, f1, f2, tau):
        """``Cov(F1(0), F2(tau))`` for an array of ``tau``."""
        tau = np.asarray(tau, dtype=float)
        out = np.zeros(tau.shape)
        for c1, s1, o1 in f1.terms:
            for c2, s2, o2 in f2.terms:
                out = out + c1 * c2 * (-1.0) ** o1 * self.acf.derivative(tau + s2 - s1, o1 + o2)
        return self.sigma**2 * out


# ---------------------------------------------------------------------------
# Kac-Rice / Cramer-Leadbetter for marked zeros of a Gaussian functional
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EventType:
    """Events at the zeros of ``G(t) - level``, each carrying ``scale * |G'| * mark``.

    ``mark(gp, y)`` gets ``G'`` at the event (array ``(..., M)``) and the values of
    ``extra`` functionals (array ``(..., M, len(extra))``) and returns the mark
    without the Kac-Rice factor ``|G'|``. ``scale`` multiplies each mark and
    ``scale_sq`` its square: a random factor independent of the process (the
    ``max(f, 1-f)`` of a kink: mean 3/4, mean square 7/12) enters this way.
    """

    g: Functional
    mark: Callable
    extra: tuple = ()
    level: float = 0.0
    scale: float = 1.0
    scale_sq: float = 1.0


@dataclass(frozen=True)
class Prediction:
    """Predicted mean and standard deviation of the SMP of one line."""

    mean: float
    std: float
    details: dict = field(default_factory=dict, compare=False)


@lru_cache(maxsize=None)
def _normal_rule(dim, log2_points, seed=12345):
    from scipy.stats import norm, qmc

    u = qmc.Sobol(dim, scramble=True, seed=seed).random_base2(log2_points)
    return norm.ppf(np.clip(u, 1e-12, 1 - 1e-12))


def _psd_sqrt(cov):
    vals, vecs = np.linalg.eigh(cov)
    return vecs * np.sqrt(np.clip(vals, 0.0, None))[..., None, :]


def _conditional_expectation(process, cond, cond_taus, levels, rest, rest_taus, weight, log2_points):
    """``E[weight(rest) | cond = levels] * density(cond = levels)`` for arrays of lags.

    ``cond`` and ``rest`` are lists of functionals evaluated at times given by the
    arrays in ``cond_taus`` / ``rest_taus`` (all of shape ``(T,)``).
    """
    funcs = list(cond) + list(rest)
    taus = list(cond_taus) + list(rest_taus)
    nc, d = len(cond), len(funcs)
    t = np.asarray(taus[0]).shape[0]
    cov = np.empty((t, d, d))
    for i in range(d):
        for j in range(i, d):
            cov[:, i, j] = cov[:, j, i] = process.cov(funcs[i], funcs[j], taus[j] - taus[i])
    mean = np.array([process.mean(f) for f in funcs])
    s11, s12, s22 = cov[:, :nc, :nc], cov[:, :nc, nc:], cov[:, nc:, nc:]
    dev = np.asarray(levels, dtype=float) - mean[:nc]
    inv11 = np.linalg.inv(s11)
    gain = np.einsum("tij,tjk->tik", np.transpose(s12, (0, 2, 1)), inv11)  # (t, d-nc, nc)
    cmean = mean[nc:] + gain @ dev
    ccov = s22 - gain @ s12
    ccov = (ccov + np.transpose(ccov, (0, 2, 1))) / 2
    det = np.linalg.det(s11)
    quad = np.einsum("i,tij,j->t", dev, inv11, dev)
    density = np.exp(-quad / 2) / np.sqrt((2 * np.pi) ** nc * det)
    z = _normal_rule(d - nc, log2_points)
    root = np.transpose(_psd_sqrt(ccov), (0, 2, 1))
    out = np.empty(t)
    step = max(1, 2**21 // (z.shape[0] * max(d - nc, 1)))  # bound the sample array
    for lo in range(0, t, step):
        samples = cmean[lo : lo + step, None, :] + z @ root[lo : lo + step]
        out[lo : lo + step] = np.mean(weight(samples), axis=1)
    return out * density


def _event_rate(process, ev, square=False, log2_points=15):
    gp = ev.g.derivative()

    def weight(v):
        w = np.abs(v[..., 0]) * ev.mark(v[..., 0], v[..., 1:])
        return w * w / np.abs(v[..., 0]) if square else w

    zero = np.zeros(1)
    val = _conditional_expectation(
        process, [ev.g], [zero], [ev.level], [gp, *ev.extra], [zero] * (1 + len(ev.extra)), weight, log2_points
    )[0]
    return val * (ev.scale_sq if square else ev.scale)


def _pair_density(process, ea, eb, taus, log2_points=14):
    """Second factorial moment density ``m_ab(tau)`` of the marked events."""
    zero = np.zeros_like(taus)
    na = 1 + len(ea.extra)

    def weight(v):
        wa = np.abs(v[..., 0]) * ea.mark(v[..., 0], v[..., 1:na])
        wb = np.abs(v[..., na]) * eb.mark(v[..., na], v[..., na + 1 :])
        return wa * wb

    rest = [ea.g.derivative(), *ea.extra, eb.g.derivative(), *eb.extra]
    rest_taus = [zero] * na + [taus] * (1 + len(eb.extra))
    val = _conditional_expectation(
        process, [ea.g, eb.g], [zero, taus], [ea.level, eb.level], rest, rest_taus, weight, log2_points
    )
    return val * ea.scale * eb.scale


def marked_events(process, events, length, *, n_tau=96, tau_min=None, tau_max=None):
    """Mean and std of the sum of marks of ``events`` over a stretch of ``length``.

    Mean (Kac-Rice): ``length * sum_a scale_a E[|G_a'| mark_a | G_a = level_a] p(level_a)``.
    Variance (Cramer-Leadbetter): ``length * sum_a scale_sq_a E[|G_a'| mark_a^2 ...] p
    + 2 sum_{a,b} int_0^length (length - tau) (m_ab(tau) - mu_a mu_b) dtau`` with
    ``m_ab`` the density of pairs (event a at 0, event b at tau).

    Parameters
    ----------
    process : Process
    events : sequence of EventType
    length : float
        Length of the stretch in the process's time unit (input samples).

    Returns
    -------
    Prediction

    Examples
    --------
    Zero crossings of a unit Gaussian process with l = 10 (Rice: ``1/(pi l)`` per sample):

    >>> p = Process(0.0, 1.0, GaussianAutocorrelation(10.0))
    >>> x = Functional.value()
    >>> ev = EventType(x, lambda gp, y: 1.0 / np.abs(gp))
    >>> round(marked_events(p, [ev], 1000.0).mean * math.pi / 100, 3)
    1.0
    """
    rates = np.array([_event_rate(process, ev) for ev in events])
    mean = length * rates.sum()
    diag = sum(_event_rate(process, ev, square=True) for ev in events)
    span = min(float(tau_max or process.acf.scale), float(length))
    lo = float(tau_min if tau_min is not None else min(0.5, span / 200))
    taus = np.linspace(lo, span, n_tau)
    cross = 0.0
    for a, ea in enumerate(events):
        for b, eb in enumerate(events):
            # subtract m_ab at the end of the grid (= mu_a mu_b there) computed with
            # the same rule, so that the rule's error cancels in the difference
            m = _pair_density(process, ea, eb, taus)
            base = m[-1]
            m = m - base
            cross += np.trapezoid((length - taus) * m, taus)
            cross -= lo * length * base  # (0, lo): pairs that close are negligible
    var = length * diag + 2 * cross
    return Prediction(float(mean), float(math.sqrt(max(var, 0.0))), {"rates": rates})


# ---------------------------------------------------------------------------
# blocks
# ---------------------------------------------------------------------------


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


def _interior(n_out):
    return max(n_out - 4, 0)


def smooth_smp(process, n, *, stride=1):
    """SMP of ``n`` samples of a smooth Gaussian process (no kinks).

    Peaks of ``|d|`` at the extrema of the curvature process; see
    :func:`smooth_peak_events`. With ``stride`` the line is the process sampled
    every ``stride`` input samples (``n`` output samples).

    Examples
    --------
    >>> p = Process(0.0, 1.0, GaussianAutocorrelation(20.0))
    >>> pred = smooth_smp(p, 20000)
    >>> 1e-3 < pred.mean < 1e-2 and pred.std < pred.mean
    True
    """
    return marked_events(process, [smooth_peak_events(stride)], stride * _interior(n))


def relu_closed_form_mean(process, n, smp_in_mean):
    """The issue's closed form: ``Phi(m) E[SMP_in] + 3/4 (n - 4) sigma'^2 phi(m) / sigma``.

    ``m = mu / sigma``, ``sigma'^2 = -sigma^2 r''(0)``.

    Examples
    --------
    >>> p = Process(0.0, 1.0, GaussianAutocorrelation(20.0))
    >>> round(relu_closed_form_mean(p, 20000, 0.0), 4)   # 3/4 * 19996 / 400 / sqrt(2 pi)
    14.9579
    """
    from scipy.stats import norm

    m = process.mu / process.sigma
    slope_var = -process.sigma**2 * float(process.acf.derivative(0.0, 2))
    kinks = 0.75 * _interior(n) * slope_var * norm.pdf(m) / process.sigma
    return float(norm.cdf(m) * smp_in_mean + kinks)


def relu_kink_events():
    """Kinks of ``max(x, 0)``: zeros of ``x`` with slope change ``|x'|``, seen as
    ``max(f, 1-f) |x'|`` (``f`` uniform: mean 3/4, mean square 7/12)."""
    return EventType(Functional.value(), lambda gp, y: np.abs(gp), scale=0.75, scale_sq=7.0 / 12.0)


def relu_smp(process, n):
    """SMP of ``max(x, 0)`` over ``n`` samples of a Gaussian process ``x``.

    Kinks (Kac-Rice on the zeros of ``x``) plus the smooth peaks that fall where
    ``x > 0``; the variance includes the cross terms.

    Examples
    --------
    >>> p = Process(0.0, 1.0, GaussianAutocorrelation(20.0))
    >>> pred = relu_smp(p, 20000)
    >>> abs(pred.mean / relu_closed_form_mean(p, 20000, smooth_smp(p, 20000).mean) - 1) < 0.01
    True
    """
    events = [relu_kink_events(), smooth_peak_events(gate="positive")]
    return marked_events(process, events, _interior(n))


def conv_process(process, kernel, bias=0.0):
    """The Gaussian process at the output of a convolution (cross-correlation).

    ``kernel`` has shape ``(C_in, K)``; the ``C_in`` input channels are independent
    copies of ``process``. Mean ``bias + mu * sum(w)``, variance
    ``sigma^2 sum_m a_m r(m)``, autocorrelation :class:`FilteredAutocorrelation`.

    Examples
    --------
    >>> p = Process(1.0, 1.0, GaussianAutocorrelation(20.0))
    >>> q = conv_process(p, [[1.0]])
    >>> (q.mu, q.sigma)
    (1.0, 1.0)
    """
    w = np.atleast_2d(np.asarray(kernel, dtype=float))
    acf = FilteredAutocorrelation.from_kernel(process.acf, w)
    sigma = process.sigma * math.sqrt(acf.norm)
    return Process(float(bias + process.mu * w.sum()), float(sigma), acf)


def conv_smp(process, kernel, n_out):
    """SMP after a convolution of a smooth Gaussian input: no new kinks, only the
    curvature of the filtered process (:func:`smooth_smp` of :func:`conv_process`)."""
    return smooth_smp(conv_process(process, kernel), n_out)


def _local_peaks(values):
    v = np.asarray(values, dtype=float)
    if v.size < 3:
        return 0.0
    mid = v[1:-1]
    import fastsmp

    return float(np.sum(fastsmp.find_peaks(v, axis=-1) * v)) if mid.size else 0.0


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
    return _local_peaks(np.concatenate([[0.0], w, [0.0]]))


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
    return float(np.mean([peak_gain(np.convolve(w, [1 - f, f])) for f in fs]))


def peak_gain_distribution(k, c_in=1, n=2000, seed=0):
    """Peak gains of random kernels with i.i.d. ``N(0, 1/(c_in k))`` weights.

    Returns the array of ``sum_c peak_gain(w_c)`` over ``n`` draws (the gain of a
    spike that lands in every input channel at once is this sum's bound; spikes in
    one channel see one ``w_c``).

    Examples
    --------
    >>> g = peak_gain_distribution(1, n=4000)
    >>> round(float(g.mean()) / math.sqrt(2 / math.pi), 1)   # E|N(0,1)|
    1.0
    """
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((n, c_in, k)) / math.sqrt(c_in * k)
    return np.array([sum(peak_gain(wc) for wc in wi) for wi in w])


@lru_cache(maxsize=None)
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
    out = []
    for sign in (-1.0, 1.0):  # maximum (c < 0), minimum (c > 0)
        gains = []
        for j in range(n_positions):
            t0 = s * (j + 0.5) / n_positions
            for tilt in (-1e-3, 1e-3):
                x = sign * (t - t0) ** 2 / 2 + tilt * (t - t0) ** 3 / 6
                y = _maxpool_np(x, k, s)
                gains.append(float(fastsmp.smp(y, rtol=0)))
        g = np.array(gains)
        out += [float(g.mean()), float(np.mean(g * g))]
    return tuple(out)


def _maxpool_np(x, k, s):
    n_out = (x.shape[-1] - k) // s + 1
    idx = np.arange(n_out)[:, None] * s + np.arange(k)[None, :]
    return x[..., idx].max(axis=-1)


def pool_edit_events(k, s):
    """Events of max pooling at the maxima / minima of ``x`` (zeros of ``x'``)."""
    a_max, a_max2, a_min, a_min2 = pool_edit_gain(k, s)
    xp = Functional.value().derivative()
    # an extremum is a zero of G = x'; its edit adds alpha |x''| = alpha |G'|
    at_max = EventType(xp, lambda gp, y: np.abs(gp) * (gp < 0), scale=a_max, scale_sq=a_max2)
    at_min = EventType(xp, lambda gp, y: np.abs(gp) * (gp > 0), scale=a_min, scale_sq=a_min2)
    return [at_max, at_min]


def maxpool_smp(process, k, s, n_out, *, exact=True):
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
    >>> p = Process(0.0, 1.0, GaussianAutocorrelation(50.0))
    >>> base = smooth_smp(p, 20000).mean
    >>> 1.5 < maxpool_smp(p, 2, 1, 19999).mean / base < 2.5
    True
    >>> kr = maxpool_smp(p, 2, 1, 19999, exact=False).mean
    >>> 0 < kr / maxpool_smp(p, 2, 1, 19999).mean - 1 < 0.1
    True
    """
    events = [smooth_peak_events(stride=s), *pool_edit_events(k, s)]
    asym = marked_events(process, events, s * _interior(n_out))
    if not exact:
        return asym
    mean = maxpool_window_mean(process, k, s, n_out)
    return Prediction(mean, asym.std * mean / asym.mean, {"kac_rice_mean": asym.mean, "kac_rice_std": asym.std})


# ---------------------------------------------------------------------------
# stacks: conv -> ReLU -> max pool, repeated
# ---------------------------------------------------------------------------


def _relu_moments(mu, sd):
    from scipy.stats import norm

    a = mu / sd
    m1 = mu * norm.cdf(a) + sd * norm.pdf(a)
    m2 = (mu * mu + sd * sd) * norm.cdf(a) + mu * sd * norm.pdf(a)
    return m1, m2 - m1 * m1


def _relu_cross_moment(mu, sd, rho, n_nodes=48):
    """``E[relu(U) relu(V)]`` for a Gaussian pair (means ``mu``, std ``sd``, corr ``rho``)."""
    z, wts = np.polynomial.hermite_e.hermegauss(n_nodes)
    wts = wts / wts.sum()
    from scipy.stats import norm

    rho = np.clip(np.asarray(rho, dtype=float), -1 + 1e-12, 1 - 1e-12)[..., None]
    u = mu + sd * z  # condition on U
    cm = mu + rho * (u - mu)
    cs = sd * np.sqrt(1 - rho * rho)
    ev = cm * norm.cdf(cm / cs) + cs * norm.pdf(cm / cs)  # E[relu(V) | U]
    return np.sum(wts * np.maximum(u, 0) * ev, axis=-1)


def _fit_length(slope_var, var):
    """Correlation length of the Gaussian autocorrelation with the same
    ``Var(x') / Var(x) = 1 / l^2``."""
    return math.sqrt(var / slope_var)


def stack_smp(process, layers, n, *, c_in=1):
    """Propagate SMP statistics through ``conv -> ReLU -> max pool`` layers.

    ``layers`` is a list of dicts ``{"weight": (C_out, C_in, K) array, "bias":
    (C_out,), "k": int, "s": int}``. The state between blocks is a Gaussian
    approximation of each channel (mean, variance, correlation length fitted to
    the slope variance) plus the SMP already carried by kinks. Per layer:

    * conv: kinks are isolated, each input channel's kinks come out scaled by
      :func:`kink_peak_gain` of its kernel row / (3/4); the pre-activation is
      approximated as Gaussian with the covariance the conv gives it;
    * ReLU: the kinks that land where the pre-activation is positive survive
      (fraction ``Phi(mu/sigma)``), new ones appear at its zeros (Kac-Rice on the
      Gaussian approximation, with :func:`marked_events` for the std);
    * max pool: kinks survive, their slope change grows by ``s`` per output sample.

    Returns a list with one :class:`Prediction` per layer (SMP of output channel 0,
    one line of the layer's output length).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> layer = {"weight": rng.standard_normal((1, 1, 3)) / 3, "bias": np.zeros(1), "k": 2, "s": 2}
    >>> preds = stack_smp(Process(0.0, 1.0, GaussianAutocorrelation(50.0)), [layer], 4096)
    >>> preds[0].mean > 0
    True
    """
    from scipy.stats import norm

    results = []
    length = n
    # channel state: Gaussian approx (mu, var, slope var, length l) + kink SMP (mean, var)
    # of the signal entering the conv; the input is exactly Gaussian and kink-free.
    lam = -float(process.acf.derivative(0.0, 2))
    chans = [dict(mu=process.mu, var=process.sigma**2, l=1 / math.sqrt(lam), kmean=0.0, kvar=0.0)] * c_in
    for layer in layers:
        w = np.asarray(layer["weight"], dtype=float)
        b = np.asarray(layer.get("bias", np.zeros(w.shape[0])), dtype=float)
        k, s = int(layer["k"]), int(layer["s"])
        length = length - w.shape[2] + 1
        new = []
        for o in range(w.shape[0]):
            gains = [kink_peak_gain(w[o, c]) / 0.75 for c in range(w.shape[1])]
            kmean = sum(g * ch["kmean"] for g, ch in zip(gains, chans))
            kvar = sum(g * g * ch["kvar"] for g, ch in zip(gains, chans))
            mu = b[o] + sum(ch["mu"] * w[o, c].sum() for c, ch in enumerate(chans))
            ch0 = chans[0]
            pre = conv_process(Process(0.0, 1.0, GaussianAutocorrelation(ch0["l"])), w[o])
            var = pre.sigma**2 * ch0["var"]
            a = mu / math.sqrt(var)
            gauss = Process(mu, math.sqrt(var), GaussianAutocorrelation(pre_length(pre)))
            kinks = marked_events(gauss, [relu_kink_events()], _interior(length))
            surv = norm.cdf(a)
            kmean_r = surv * kmean + kinks.mean
            kvar_r = surv * surv * kvar + kinks.std**2
            m1, v1 = _relu_moments(mu, math.sqrt(var))
            n_pool = (length - k) // s + 1
            ratio = s * _interior(n_pool) / max(_interior(length), 1)
            new.append(
                dict(
                    mu=m1,
                    var=v1,
                    l=_relu_length(mu, math.sqrt(var), pre_length(pre)) / s,
                    kmean=kmean_r * ratio,
                    kvar=kvar_r * ratio * ratio,
                )
            )
        length = (length - k) // s + 1
        chans = new
        results.append(Prediction(chans[0]["kmean"], math.sqrt(chans[0]["kvar"])))
    return results


def pre_length(process):
    """Correlation length of a process: ``sqrt(-1 / r''(0))``."""
    return 1.0 / math.sqrt(-float(process.acf.derivative(0.0, 2)))


def _relu_length(mu, sd, l):
    """Correlation length of ``relu(z)`` fitted to its slope variance:
    ``Var(relu(z)') = Phi(mu/sd) sd^2 / l^2`` against ``Var(relu(z))``."""
    from scipy.stats import norm

    _, v = _relu_moments(mu, sd)
    slope = norm.cdf(mu / sd) * sd * sd / (l * l)
    return math.sqrt(v / slope)


# ---------------------------------------------------------------------------
# the exact expectation over the window that decides one output peak
# ---------------------------------------------------------------------------


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
    >>> p = Process(0.0, 1.0, GaussianAutocorrelation(20.0))
    >>> 2.5 < maxpool_window_mean(p, 2, 1, 8191) < 3.3   # measured 2.94
    True
    """
    return window_peak_mean(process, lambda x: _maxpool_np(x, k, s), 4 * s + k, n_out, **kw)
