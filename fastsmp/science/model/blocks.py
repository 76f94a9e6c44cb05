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
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

import numpy as np

__all__ = [
    "EventType",
    "FilteredAutocorrelation",
    "Functional",
    "GaussianAutocorrelation",
    "Prediction",
    "Process",
    "conv_process",
    "conv_smp",
    "kink_peak_gain",
    "marked_events",
    "maxpool_smp",
    "maxpool_window_mean",
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
    "stack_smp",
    "stack_smp_hybrid",
    "stack_smp_levels",
    "window_peak_mean",
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
                out = out + c1 * c2 * (-1.0) ** o1 * self.acf.derivative(
                    tau + s2 - s1, o1 + o2
                )
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


@cache
def _normal_rule(dim, log2_points, seed=12345):
    from scipy.stats import norm, qmc

    u = qmc.Sobol(dim, scramble=True, seed=seed).random_base2(log2_points)
    return norm.ppf(np.clip(u, 1e-12, 1 - 1e-12))


def _psd_sqrt(cov):
    vals, vecs = np.linalg.eigh(cov)
    return vecs * np.sqrt(np.clip(vals, 0.0, None))[..., None, :]


def _conditional_expectation(
    process, cond, cond_taus, levels, rest, rest_taus, weight, log2_points
):
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
            cov[:, i, j] = cov[:, j, i] = process.cov(
                funcs[i], funcs[j], taus[j] - taus[i]
            )
    mean = np.array([process.mean(f) for f in funcs])
    s11, s12, s22 = cov[:, :nc, :nc], cov[:, :nc, nc:], cov[:, nc:, nc:]
    dev = np.asarray(levels, dtype=float) - mean[:nc]
    inv11 = np.linalg.inv(s11)
    gain = np.einsum(
        "tij,tjk->tik", np.transpose(s12, (0, 2, 1)), inv11
    )  # (t, d-nc, nc)
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
        process,
        [ev.g],
        [zero],
        [ev.level],
        [gp, *ev.extra],
        [zero] * (1 + len(ev.extra)),
        weight,
        log2_points,
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
        process,
        [ea.g, eb.g],
        [zero, taus],
        [ea.level, eb.level],
        rest,
        rest_taus,
        weight,
        log2_points,
    )
    return val * ea.scale * eb.scale


def marked_events(
    process, events, length, *, n_tau=96, tau_min=None, tau_max=None, log2_points=14
):
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
    >>> ev = EventType(x, lambda gp, y: np.ones_like(gp))     # mark 1: count the zeros
    >>> round(marked_events(p, [ev], 1000.0, n_tau=8, log2_points=8).mean * math.pi / 100, 3)
    1.0
    """
    rates = np.array([_event_rate(process, ev) for ev in events])
    mean = length * rates.sum()
    diag = sum(_event_rate(process, ev, square=True) for ev in events)
    span = min(float(tau_max or process.acf.scale), float(length))
    lo = float(
        tau_min
        if tau_min is not None
        else min(max(0.5, process.acf.scale / 600), span / 200)
    )
    taus = np.linspace(lo, span, n_tau)
    cross = 0.0
    for a, ea in enumerate(events):
        for b, eb in enumerate(events):
            # subtract m_ab at the end of the grid (= mu_a mu_b there) computed with
            # the same rule, so that the rule's error cancels in the difference
            m = _pair_density(process, ea, eb, taus, log2_points)
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


def smooth_smp(process, n, *, stride=1, **kw):
    """SMP of ``n`` samples of a smooth Gaussian process (no kinks).

    Peaks of ``|d|`` at the extrema of the curvature process; see
    :func:`smooth_peak_events`. With ``stride`` the line is the process sampled
    every ``stride`` input samples (``n`` output samples).

    Examples
    --------
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


def _maxpool_np(x, k, s):
    n_out = (x.shape[-1] - k) // s + 1
    idx = np.arange(n_out)[:, None] * s + np.arange(k)[None, :]
    return x[..., idx].max(axis=-1)


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


# ---------------------------------------------------------------------------
# stacks: conv -> ReLU -> max pool, repeated
# ---------------------------------------------------------------------------


def relu_pool_smp(process, k, s, n_out, **kw):
    """SMP after ``ReLU -> max pool`` of a Gaussian process (the end of one layer).

    Events, in input samples: the ReLU kinks, whose slope change per output sample
    is ``s |x'|`` (pooling keeps a kink that sits on a monotone stretch and only
    shifts it); the smooth peaks of the line sampled every ``s`` samples where
    ``x > 0``; and the pooling edits at the extrema of ``x`` where ``x > 0``.

    Examples
    --------
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


def _relu_moments(mu, sd):
    """Mean and variance of ``relu(U)``, ``U ~ N(mu, sd^2)``."""
    from scipy.stats import norm

    a = mu / sd
    m1 = mu * norm.cdf(a) + sd * norm.pdf(a)
    m2 = (mu * mu + sd * sd) * norm.cdf(a) + mu * sd * norm.pdf(a)
    return m1, m2 - m1 * m1


def _relu_pair_moment(m1, s1, m2, s2, cov, n_nodes=40):
    """``E[relu(U) relu(V)]`` for Gaussian ``U ~ (m1, s1^2)``, ``V ~ (m2, s2^2)``."""
    from scipy.stats import norm

    z, wts = np.polynomial.hermite_e.hermegauss(n_nodes)
    wts = wts / wts.sum()
    m1, s1, m2, s2, cov = (
        np.asarray(v, dtype=float)[..., None] for v in (m1, s1, m2, s2, cov)
    )
    u = m1 + s1 * z
    beta = cov / (s1 * s1)
    cm = m2 + beta * (u - m1)
    cs = np.sqrt(np.clip(s2 * s2 - beta * cov, 1e-300, None))
    ev = cm * norm.cdf(cm / cs) + cs * norm.pdf(cm / cs)
    return np.sum(wts * np.maximum(u, 0) * ev, axis=-1)


@dataclass
class _StackState:
    """Gaussian approximation of a multichannel signal plus the SMP of its kinks."""

    mean: np.ndarray  # (C,)
    cov: np.ndarray  # (C, C, 2T+1): Cov(ch_c(t), ch_c'(t + tau)), tau = -T..T
    kink_mean: np.ndarray  # (C,) SMP per line carried by kinks
    kink_var: np.ndarray  # (C,)

    @property
    def lag0(self):
        return (self.cov.shape[2] - 1) // 2


def _conv_state(state, w, b, s=1):
    t0 = state.lag0
    k = w.shape[2]
    cov = np.zeros((w.shape[0], w.shape[0], 2 * (t0 - k) + 1))
    t1 = t0 - k
    for i in range(k):
        for j in range(k):
            # Cov(y_o(t), y_o'(t+tau)) += w[o,c,i] w[o',c',j] C_cc'(tau + j - i)
            block = state.cov[:, :, t0 - t1 + j - i : t0 + t1 + j - i + 1]
            cov += np.einsum("oc,pd,cdt->opt", w[:, :, i], w[:, :, j], block)
    mean = b + w.sum(axis=2) @ state.mean
    gains = np.array(
        [
            [pooled_kink_gain(w[o, c], s) / 0.75 for c in range(w.shape[1])]
            for o in range(w.shape[0])
        ]
    )
    return _StackState(
        mean, cov, gains @ state.kink_mean, (gains * gains) @ state.kink_var
    )


def _relu_state(state):
    from scipy.stats import norm

    sd = np.sqrt(np.diagonal(state.cov[:, :, state.lag0]))
    m1, _ = _relu_moments(state.mean, sd)
    mi, si = state.mean[:, None, None], sd[:, None, None]
    mj, sj = state.mean[None, :, None], sd[None, :, None]
    cross = _relu_pair_moment(
        np.broadcast_to(mi, state.cov.shape),
        np.broadcast_to(si, state.cov.shape),
        np.broadcast_to(mj, state.cov.shape),
        np.broadcast_to(sj, state.cov.shape),
        state.cov,
    )
    cov = cross - m1[:, None, None] * m1[None, :, None]
    surv = norm.cdf(state.mean / sd)
    return _StackState(m1, cov, surv * state.kink_mean, surv * surv * state.kink_var)


def _gaussian_fit(state, c):
    """Gaussian process matching channel ``c``'s mean, variance and correlation length."""
    t0 = state.lag0
    rho = state.cov[c, c, t0:] / state.cov[c, c, t0]
    # fit at the first lag where the correlation falls below 0.6: the lag-1
    # correlation would see the kinks' roughness, not the large-scale wiggle
    # whose zero crossings make the new kinks
    m = int(np.argmax(rho < 0.6)) or 1
    length = m / math.sqrt(
        max(-2.0 * math.log(min(max(rho[m], 1e-300), 1 - 1e-12)), 1e-300)
    )
    length = max(length, 1.0)  # below one sample the Gaussian fit means nothing
    return Process(
        float(state.mean[c]),
        float(math.sqrt(state.cov[c, c, t0])),
        GaussianAutocorrelation(length),
    )


def _fresh_kinks(pre, c, k, s, n_pool):
    t0 = pre.lag0
    var0, var1 = pre.cov[c, c, t0], pre.cov[c, c, t0 + 1]
    if not var0 > 1e-24 or not var1 > 0:  # a dead (constant) channel: no zero crossings
        return Prediction(0.0, 0.0)
    fit = _gaussian_fit(pre, c)
    if fit.acf.length > s * n_pool:  # nearly constant over the line: ~no crossings
        return Prediction(0.0, 0.0)
    return relu_pool_smp(fit, k, s, n_pool, n_tau=48, log2_points=12)


def stack_smp(process, layers, n, *, c_in=1):
    """Propagate SMP statistics through ``conv -> ReLU -> max pool`` layers, block by block.

    ``layers`` is a list of dicts ``{"weight": (C_out, C_in, K), "bias": (C_out,),
    "k": int, "s": int}``; the input has ``c_in`` independent channels, copies of
    ``process``. The state between blocks is a Gaussian approximation of every
    channel (means and cross-covariances on integer lags) plus the SMP that each
    channel's kinks carry (mean and variance). Per layer:

    * conv (+ the pool's stride): the covariance goes through the kernel exactly;
      kinks are isolated, so a channel's kink SMP is multiplied by
      :func:`pooled_kink_gain` of its kernel row divided by 3/4 (variances by its
      square) and summed over input channels;
    * ReLU + pool: the pre-activation is replaced by the Gaussian process with the
      same mean, variance and lag-1 correlation (exact in the first layer), and
      :func:`relu_pool_smp` gives its new kinks, smooth peaks and pooling edits;
      the carried kinks survive where the pre-activation is positive (fraction
      ``Phi(mu/sigma)``);
      the covariance of the ReLU output is the exact Gaussian one
      (:func:`_relu_pair_moment`), and pooling subsamples it.

    Returns one :class:`Prediction` per layer: the SMP of one line of one output
    channel, mean and std averaged over the layer's channels.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> layer = {"weight": np.ones((1, 1, 1)), "bias": np.zeros(1), "k": 2, "s": 2}
    >>> p = Process(0.0, 1.0, GaussianAutocorrelation(50.0))
    >>> pred = stack_smp(p, [layer], 8192)[0]                     # = ReLU -> pool
    >>> round(pred.mean / relu_pool_smp(p, 2, 2, 4096, n_tau=48, log2_points=12).mean, 3)
    1.0
    """
    span = math.ceil(process.acf.scale) + 8 * sum(
        int(np.shape(ly["weight"])[2]) for ly in layers
    ) * 2 ** len(layers)
    lags = np.arange(-span, span + 1, dtype=float)
    base = process.sigma**2 * process.acf(lags)
    state = _StackState(
        np.full(c_in, float(process.mu)),
        np.eye(c_in)[:, :, None] * base,
        np.zeros(c_in),
        np.zeros(c_in),
    )
    length, results = n, []
    for layer in layers:
        w = np.asarray(layer["weight"], dtype=float)
        b = np.asarray(layer.get("bias", np.zeros(w.shape[0])), dtype=float)
        k, s = int(layer["k"]), int(layer["s"])
        length = length - w.shape[2] + 1
        # carried kinks: conv and the pool's stride together (pooled_kink_gain)
        pre = _conv_state(state, w, b, s)
        n_pool = (length - k) // s + 1
        fresh = [_fresh_kinks(pre, c, k, s, n_pool) for c in range(len(pre.mean))]
        post = _relu_state(pre)
        t0 = post.lag0
        sub = post.cov[:, :, t0 % s :: s]
        state = _StackState(
            post.mean,
            sub,
            post.kink_mean + np.array([f.mean for f in fresh]),
            post.kink_var + np.array([f.std**2 for f in fresh]),
        )
        length = n_pool
        results.append(
            Prediction(
                float(state.kink_mean.mean()), float(np.sqrt(state.kink_var).mean())
            )
        )
    return results


def _layers_np(x, layers):
    """Run ``conv -> ReLU -> max pool`` layers in NumPy on ``x`` of shape ``(C, n)``;
    returns the output of every layer."""
    outs = []
    for layer in layers:
        w = np.asarray(layer["weight"], dtype=float)
        b = np.asarray(layer.get("bias", np.zeros(w.shape[0])), dtype=float)
        k_conv = w.shape[2]
        n_conv = x.shape[1] - k_conv + 1
        win = np.lib.stride_tricks.sliding_window_view(x, k_conv, axis=1)[
            :, :n_conv
        ]  # (C, n, K)
        z = np.einsum("ocj,cnj->on", w, win) + b[:, None]
        x = _maxpool_np(np.maximum(z, 0.0), int(layer["k"]), int(layer["s"]))
        outs.append(x)
    return outs


def _level_bins(levels, weights, n_bins, tol):
    """Group breakpoint levels: clusters of levels closer than ``tol`` (one breakpoint
    seen in several runs), then the ``n_bins`` heaviest clusters absorb the rest
    (each into the nearest). Returns ``[(level, weight)]``."""
    order = np.argsort(levels)
    levels, weights = levels[order], weights[order]
    cuts = np.flatnonzero(np.diff(levels) > tol) + 1
    groups = [
        (float(np.average(lv, weights=wt)), float(wt.sum()))
        for lv, wt in zip(np.split(levels, cuts), np.split(weights, cuts))
        if wt.sum() > 0
    ]
    groups.sort(key=lambda g: -g[1])
    heads = [list(g) for g in groups[:n_bins]]
    for u, w in groups[n_bins:]:
        h = min(heads, key=lambda h: abs(h[0] - u))
        h[0] = (h[0] * h[1] + u * w) / (h[1] + w)
        h[1] += w
    return [tuple(h) for h in heads]


def stack_smp_levels(process, layers, n, *, slopes=6, offsets=4, n_bins=4, std_kw=None):
    """Stacks by the latent-level closure: every channel is a function of the input's level.

    Where ``l`` is long against the receptive field, the input is locally a
    straight line, ``x(t) = u + v (t - t0)``, and a channel of any layer is a
    piecewise-linear function of where that line is. Its kinks sit where ``x``
    crosses a breakpoint level ``u_b`` (ReLU thresholds composed through the
    layers), and one crossing at slope ``v`` leaves SMP ``H_b(v)`` (the composite
    kernels spread the kink, the strides decimate it). Kac-Rice on the levels:
    crossings of level ``u`` at slope ``v`` happen at rate ``|v| p_x(u) p_x'(v)``
    per input sample, so ``E[SMP] = span * sum_b p_x(u_b) E[|v| H_b(v)] / E|v|``
    with ``v ~ N(0, sigma'^2)``; the average over ``v`` uses ``slopes`` quantiles
    of the Rayleigh law of ``|v|`` at crossings, both signs. ``H_b`` is measured
    by running the layers (NumPy) on straight ramps through all levels
    (``offsets`` sub-sample shifts average the kink's position); an output peak
    at time ``t`` belongs to the level ``x(t)``. The variance comes from
    :func:`marked_events` with each channel's breakpoints grouped into ``n_bins``
    levels (crossings of nearby levels are correlated). The curvature of ``x``
    itself (smooth peaks, pooling edits at extrema) is left out: it is what a
    straight ramp does not have. A numerical predictor.

    Returns one :class:`Prediction` per layer (mean and std of one channel's SMP,
    averaged over channels).

    Examples
    --------
    >>> layer = {"weight": np.ones((1, 1, 1)), "bias": np.zeros(1), "k": 1, "s": 1}
    >>> p = Process(0.0, 1.0, GaussianAutocorrelation(50.0))
    >>> pred = stack_smp_levels(p, [layer], 20000, std_kw={"n_tau": 8, "log2_points": 8})[0]  # bare ReLU
    >>> abs(pred.mean / relu_closed_form_mean(p, 20000, 0.0) - 1) < 0.03
    True
    """
    import fastsmp

    mu, sd = process.mu, process.sigma
    slope_sd = sd * math.sqrt(-float(process.acf.derivative(0.0, 2)))
    strides = np.cumprod([int(ly["s"]) for ly in layers])
    rayleigh = np.sqrt(
        -2 * np.log(1 - (np.arange(slopes) + 0.5) / slopes)
    )  # |v| / sigma' quantiles
    found = [{} for _ in layers]  # per layer: channel -> [(level, G)]
    n_runs = 2 * slopes * offsets
    for r in rayleigh:
        v = r * slope_sd
        n_ramp = int(12 * sd / v) + 64 * int(strides[-1])
        for sign in (-1.0, 1.0):
            for j in range(offsets):
                t = np.arange(n_ramp, dtype=float) + j * strides[-1] / offsets
                x = mu - sign * 6.0 * sd + sign * v * t
                for depth, out in enumerate(_layers_np(x[None, :], layers)):
                    d = np.abs(fastsmp.curvature(out))
                    mask = np.asarray(fastsmp.find_peaks(d, axis=-1, backend="numpy"))
                    for c in range(out.shape[0]):
                        pos = np.flatnonzero(mask[c]) + 1
                        lev = x[np.minimum(pos * strides[depth], n_ramp - 1)]
                        found[depth].setdefault(c, []).append(
                            (
                                lev,
                                d[c, pos - 1] / v / n_runs * r * math.sqrt(2 / math.pi),
                            )
                        )
    # rate = p(u) E[|v| H(v)] = p(u) sigma' sqrt(2/pi) E_r[H(sigma' r)], r Rayleigh; stored as
    # G = H / v times r sqrt(2/pi), so that rate = p(u) sigma'^2 mean(G)
    results, length = [], n
    for depth, layer in enumerate(layers):
        length = (length - np.shape(layer["weight"])[2] + 1 - int(layer["k"])) // int(
            layer["s"]
        ) + 1
        span = strides[depth] * _interior(length)
        means, stds = [], []
        for c in range(np.shape(layer["weight"])[0]):
            pairs = found[depth].get(c, [])
            levels = np.concatenate([p[0] for p in pairs]) if pairs else np.zeros(0)
            gains = np.concatenate([p[1] for p in pairs]) if pairs else np.zeros(0)
            if not levels.size or gains.max() <= 0:
                means.append(0.0)
                stds.append(0.0)
                continue
            dens = (
                slope_sd**2
                * np.exp(-0.5 * ((levels - mu) / sd) ** 2)
                / (sd * math.sqrt(2 * math.pi))
            )
            means.append(float(span * np.sum(gains * dens)))
            events = []
            for u, total in _level_bins(levels, gains * dens, n_bins, 0.05 * sd):
                g = total / (
                    slope_sd**2
                    * math.exp(-0.5 * ((u - mu) / sd) ** 2)
                    / (sd * math.sqrt(2 * math.pi))
                )
                events.append(
                    EventType(
                        Functional.value(),
                        _abs_slope,
                        level=u,
                        scale=g,
                        scale_sq=g * g * 28 / 27,
                    )
                )
            stds.append(
                marked_events(
                    process,
                    events,
                    span,
                    **(std_kw or {"n_tau": 48, "log2_points": 12}),
                ).std
            )
        results.append(Prediction(float(np.mean(means)), float(np.mean(stds))))
    return results


def _abs_slope(gp, y):
    return np.abs(gp)


def stack_smp_hybrid(gaussian, levels):
    """Level closure rescaled by the first layer's exact/level ratio.

    The Gaussian closure is exact in layer 1; what the level closure misses there
    (the input's curvature, channels that respond to ``x'``) is assumed to be
    carried to deeper layers in proportion to the kinks it does see. Takes the
    outputs of :func:`stack_smp` and :func:`stack_smp_levels`.

    Examples
    --------
    >>> g = [Prediction(2.0, 1.0), Prediction(9.0, 3.0)]
    >>> lv = [Prediction(1.0, 1.0), Prediction(3.0, 2.0)]
    >>> [p.mean for p in stack_smp_hybrid(g, lv)]
    [2.0, 6.0]
    """
    rm = gaussian[0].mean / levels[0].mean if levels[0].mean > 0 else 1.0
    rs = gaussian[0].std / levels[0].std if levels[0].std > 0 else 1.0
    return [Prediction(p.mean * rm, p.std * rs) for p in levels]


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
    return window_peak_mean(
        process, lambda x: _maxpool_np(x, k, s), 4 * s + k, n_out, **kw
    )
