"""Gaussian processes, their linear functionals, and sums of marks at their zeros.

:class:`Process` is a stationary Gaussian process (mean, std, autocorrelation);
a :class:`Functional` is a linear functional of it (shifted values and derivatives:
the curvature ``x(t-1) + x(t+1) - 2 x(t)`` is one), and ``Process.cov`` gives the
joint covariance of two of them. :func:`marked_events` is the tool that every
prediction of the model rests on: the Kac-Rice formula for the expected sum of
marks over the zeros of a functional (an :class:`EventType`), and the
Cramer-Leadbetter formula for its second moment. The conditional expectations
inside are low-dimensional Gaussian integrals over a fixed scrambled Sobol rule,
so a prediction is deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

import numpy as np

__all__ = ["EventType", "Functional", "Prediction", "Process", "marked_events"]


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
    >>> from fastsmp.science.model import GaussianAutocorrelation
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

    >>> from fastsmp.science.model import GaussianAutocorrelation
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
