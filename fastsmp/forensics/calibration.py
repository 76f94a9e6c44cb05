"""The score, the verdict, and the thresholds calibrated on random functions.

Each zoom chain of :func:`~fastsmp.forensics.probe` gives evidence
(:func:`chain_evidence`) from its multi-scale exponent (1 for a kink, 2 for
a smooth bend) and the concentration of ``sum |d|`` in the tent, plus that
of its shape fits (:func:`fit_evidence`: hinge against cubic over every
sample of the finest zoom line where a kink would still show); the score
is their mean over the chains, 0 when nothing stood above the noise floor,
plus the evidence of the pooled exponent (:func:`scaling_evidence`,
:mod:`.scaling`), in full where no chain found anything, else at a quarter
(:func:`score`). The verdict (:func:`verdict`) compares it with two frozen
thresholds, and calls "nonsmooth" only where the zoom chains themselves
lean towards kinks.

The thresholds were produced by ``python -m fastsmp.forensics.calibrate``
(defaults: 40 random smooth functions, 40 random smooth networks and 40
random piecewise-linear functions of :mod:`.null`, none of them from the
benchmark's zoo, on Gaussian examples in 2-64 dimensions, under every
degradation of :mod:`.degrade` and budgets of 256, 4096 and 16384 queries:
2398 smooth probes, max 3.636, 99.5th percentile 1.807; 1200 kinked probes,
1st percentile -0.564). Rerun it after
any change to the probe and paste its two lines here.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["chain_evidence", "fit_evidence", "scaling_evidence", "score", "verdict", "NONSMOOTH_ABOVE", "SMOOTH_BELOW"]

#: "nonsmooth" above this score: 99.5th percentile of random smooth functions + 0.25 (1.45 before the shape fit, whose null had no smooth network)
NONSMOOTH_ABOVE = 2.057
#: "smooth" below this score: 1st percentile of random kinked functions, capped at -0.25 (-0.25 before the shape fit)
SMOOTH_BELOW = -0.564


#: a chain earns its full positive evidence once it has seen exponent-1 tents
#: over this many decades of step (coarse line to finest counted level)
DECADES_FULL = 1.0


def chain_evidence(levels, exponent, concentration, local=(), decades=None):
    """The evidence of one zoom chain.

    Parameters
    ----------
    levels : int
        Zoom levels that counted (0: no evidence).
    exponent : float
        How the tent's mass scaled with the step (1 kink, 2 smooth, 0 jump),
        from the coarse line to the finest counted level.
    concentration : float
        The tent's share of the nearby ``sum |d|`` at the finest level.
    local : sequence of float
        The exponents from each level to the next: the one furthest from 1
        (or the overall one, if further) is used, so a bend that looked
        like a kink from afar but spreads once the step falls below its
        width counts as smooth.
    decades : float, optional
        ``log10`` of the ratio of the coarse step to the finest counted one.
        Positive evidence is scaled by ``min(1, decades / DECADES_FULL)``: a
        narrow smooth bend (softplus with a large beta) is a kink at every
        step much longer than its width, so a kink is only as certain as the
        range of steps it was seen over. ``None``: full credit.

    Returns
    -------
    float
        Up to 1.5 from the exponent (peaking at 1, -1.5 at 2, down to -3;
        0 for exponents of 0.5 and below: a jump or noise that did not shrink
        with the step says nothing about kinks) plus half the logit of the
        concentration (clipped to [0.02, 0.98]), the sum scaled down by the
        decades when positive.

    Examples
    --------
    >>> round(chain_evidence(3, 1.0, 0.98), 2), round(chain_evidence(3, 2.0, 0.06), 2)
    (3.45, -2.88)
    >>> round(chain_evidence(3, 1.0, 0.98, local=(1.0, 1.02, 1.9), decades=2.0), 2)
    0.75
    >>> round(chain_evidence(1, 1.0, 0.98, local=(1.0,), decades=0.5), 2)
    1.72
    >>> chain_evidence(0, float("nan"), float("nan"))
    0.0
    """
    if levels == 0 or not np.isfinite(exponent):
        return 0.0
    exponent = max([float(exponent)] + [float(x) for x in local if np.isfinite(x)], key=lambda x: abs(x - 1.0))
    c = min(max(float(concentration), 0.02), 0.98)
    e = 3.0 * (0.5 - abs(exponent - 1.0))
    if exponent < 1:
        e = min(max(e, 0.0), 1.5)
        if e == 0.0:
            return 0.0
    total = max(min(e, 1.5), -3.0) + 0.5 * math.log(c / (1 - c))
    if total > 0 and decades is not None:
        total *= min(1.0, max(float(decades), 0.0) / DECADES_FULL)
    return float(total)


#: a hinge-against-cubic ratio of this much is worth 1 (:func:`fit_evidence`)
FIT_SCALE = 5.0


def fit_evidence(llrs):
    """The evidence of a zoom chain's shape fits (:func:`.features.shape_fit`).

    Parameters
    ----------
    llrs : sequence of float
        The hinge-against-cubic log-likelihood ratio at each zoom level that
        counted for the fit (a kink of the chain's size would have beaten
        the cubic there by at least ``probe.FIT_INFORMATIVE``), coarse to fine.

    Returns
    -------
    float
        The finest level decides: its ratio over :data:`FIT_SCALE`, clipped
        to [-1.5, 1.5]; 0 with no level. A narrow bend is a hinge until the
        window shrinks to its width, and many kinks of a wide network look
        like a smooth bend in a wide window; where a kink was expected and
        the ratio is about 0, the kink is not there at that scale. (Chosen on
        :mod:`.heldout`'s synthetic functions over the minimum over the
        levels and over the finest level whose ratio is decisive either way.)

    Examples
    --------
    >>> fit_evidence([40.0, 12.0]), fit_evidence([300.0, -25.0]), fit_evidence([-80.0, 20.0, 1.0]), fit_evidence([])
    (1.5, -1.5, 0.2, 0.0)
    """
    llrs = [float(x) for x in llrs if np.isfinite(x)]
    if not llrs:
        return 0.0
    return float(np.clip(llrs[-1] / FIT_SCALE, -1.5, 1.5))


def scaling_evidence(alpha, confidence):
    """The evidence of the pooled exponent (:mod:`.scaling`): positive below
    3.45 (kinks: 3), negative above (smooth: 4), at most 1.5 either way,
    times the fit's confidence.

    Examples
    --------
    >>> scaling_evidence(3.0, 1.0), scaling_evidence(4.0, 0.5), scaling_evidence(float("nan"), 0.0)
    (1.5, -0.75, 0.0)
    """
    if not np.isfinite(alpha) or confidence <= 0:
        return 0.0
    return float(confidence * np.clip(4.0 * (3.45 - alpha), -1.5, 1.5))


#: the pooled exponent's evidence counts at least this much, however many chains found something
POOLED_WEIGHT = 0.25


def score(chains, pooled=0.0, informative=0.0):
    """The mean of the chains' evidence (0 with no chain) plus the pooled
    exponent's evidence, in full where no chain found anything
    (``informative``, the share of chains that did, is 0), else weighted by
    :data:`POOLED_WEIGHT`: where tents or hinges can be followed down the
    zoom levels they are direct evidence; the pooled fit speaks where they
    cannot, and adds a little where they can (it pools every coarse sample,
    the chains a few zoom lines). (Chosen on :mod:`.heldout`'s synthetic
    functions over ``1 - informative``, which let the noisier pooled fit
    outweigh the chains on degraded outputs.)

    Examples
    --------
    >>> score([3.0, 1.0], -1.0, informative=0.5), score([], -1.0)
    (1.75, -1.0)
    """
    chains = list(chains)
    weight = POOLED_WEIGHT if float(informative) > 0 else 1.0
    return float(np.mean(chains) if chains else 0.0) + weight * float(pooled)


def verdict(s, direct=True):
    """``"nonsmooth"`` above :data:`NONSMOOTH_ABOVE` if the zoom chains
    themselves lean towards kinks (``direct``: their mean evidence is
    positive), ``"smooth"`` below :data:`SMOOTH_BELOW`, else
    ``"inconclusive"``.

    The pooled exponent alone (at most 1.5) never makes a "nonsmooth"
    verdict: it is a fit over a few subsamplings, and barely-above-noise
    smooth outputs reach its cap too often; it moves the score, and with it
    the AUC and the "smooth" verdicts, but a kink has to be seen.

    Examples
    --------
    >>> verdict(3.0), verdict(0.0), verdict(-2.0), verdict(3.0, direct=False)
    ('nonsmooth', 'inconclusive', 'smooth', 'inconclusive')
    """
    if s > NONSMOOTH_ABOVE:
        return "nonsmooth" if direct else "inconclusive"
    return "smooth" if s < SMOOTH_BELOW else "inconclusive"
