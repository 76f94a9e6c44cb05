""":func:`probe`: sample ``f`` along lines, zoom in on its sharpest bends,
and weigh the evidence for kinks.

1. Coarse lines (:func:`.lines.draw`) through and between the examples.
2. On each, the second difference above the noise floor (:mod:`.noise`,
   :mod:`.features`); the lines whose largest two-sample tent stands highest
   above the floor are the candidates.
3. Each candidate is re-sampled on a line ``(n - 1) / 4`` times finer through
   the tent, and again through the tent found there, for up to
   :data:`LEVELS` levels. A kink stays a two-sample tent at every scale and
   its mass scales with the step (exponent 1); a smooth bend spreads over
   more and more samples and its tent's mass falls with the step squared
   (exponent 2); a jump keeps its mass (exponent 0). A level counts only if a
   kink's tent would still stand clear of that line's noise floor there.
   Past that level the chain goes on on the shape fit
   (:func:`.features.shape_fit`, a hinge against a cubic over every sample of
   the line), zooming as far as keeps a kink of the measured slope change
   :data:`FIT_INFORMATIVE` above the cubic; the finest such level's ratio is
   the chain's shape evidence (:func:`.calibration.fit_evidence`).
4. Over all coarse lines together, the growth of the mean squared second
   difference with the subsampling (:mod:`.scaling`): ``m**3`` for kinks,
   ``m**4`` for smooth functions, even where single kinks drown in noise.
5. The alignment test: coarse lines with clear tents are shifted, and the
   tents checked for staying put (planes ``x_j = const``) or moving
   (slanted hyperplanes); with the chains' jumps, the confounder test of
   :mod:`.network` (after the score, which it does not change).
6. The score (:mod:`.calibration`) adds the chains' mean evidence (the
   exponent and concentration at the finest level that counts, and the
   shape fit) and the pooled exponent's (in full if no chain found
   anything, else a quarter of it);
   the verdict compares it with thresholds calibrated on
   random smooth and kinked functions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import numpy as np

from . import calibration, features, lines, network, noise, scaling
from .oracle import Oracle

__all__ = ["probe", "Evidence", "Candidate", "plan"]

#: zoom levels after the coarse lines
LEVELS = 3
#: share of the budget spent on coarse lines
COARSE_SHARE = 0.4
#: a zoom level counts if a kink's tent would stand this many floors high there
INFORMATIVE = 4.0
#: smallest line
MIN_SAMPLES = 9
#: a tent this many floors high is clear enough to follow
SELECT = 8.0
#: share of the lines reserved for the alignment test (:func:`_alignment`)
ALIGN_SHARE = 0.1
#: the alignment test takes a tent standing this many floors high (as a zoom level that counts),
#: with at least this concentration
SELECT_ALIGN = (INFORMATIVE, 0.3)
#: a kink on the offset line within this many samples of the original one stays put
ALIGN_TOLERANCE = 0.02
#: the most tents the alignment test tests on one pair of lines
ALIGN_TENTS = 4
#: a zoom level counts for the shape fit if a kink's hinge would beat the cubic by this
#: log-likelihood ratio there (:func:`.features.shape_fit`)
FIT_INFORMATIVE = 10.0
#: ... and if the line spans this many rounding or quantisation steps
FIT_QUANTA = 8.0


@dataclass(frozen=True)
class Plan:
    """How a query budget is spent: ``coarse`` lines, then ``candidates``
    chains of up to ``levels`` zoom lines, then (at least) ``align`` offset
    lines for the alignment test, each line ``n`` samples."""

    n: int
    coarse: int
    candidates: int
    levels: int
    align: int = 0


def plan(queries):
    """The line length and counts for a budget of ``queries`` rows.

    Examples
    --------
    >>> plan(256)
    Plan(n=33, coarse=3, candidates=1, levels=3, align=1)
    >>> plan(4096)
    Plan(n=65, coarse=26, candidates=10, levels=3, align=6)
    """
    queries = int(queries)
    if queries < 2 * MIN_SAMPLES:
        raise ValueError(f"queries={queries} is too small: the probe needs at least {2 * MIN_SAMPLES} (two lines of {MIN_SAMPLES} samples)")
    n = 65 if queries >= 2048 else 33 if queries >= 128 else 17 if queries >= 64 else MIN_SAMPLES
    total = queries // n
    coarse = max(1, math.ceil(COARSE_SHARE * total))
    align = max(0, min(total - coarse - 1, max(1, round(ALIGN_SHARE * total))))
    rest = total - coarse - align
    levels = min(LEVELS, rest)
    candidates = rest // levels if levels else 0
    return Plan(n, coarse, candidates, levels, align)


@dataclass(frozen=True)
class Candidate:
    """One zoom chain: a coarse line's largest tent followed down the levels.

    ``exponent`` is how the tent's mass scales with the step between the
    coarse line and the finest informative level (0 jump, 1 kink, 2 smooth);
    ``concentration`` the share of that level's ``sum |d|`` in its tent;
    ``levels`` how many zoom levels counted; ``evidence`` the chain's score.
    """

    line: int
    component: int
    levels: int
    exponent: float
    concentration: float
    evidence: float
    #: (step, tent mass, concentration) at the coarse line and at each level that counted
    history: tuple = ()
    #: (step, hinge-against-cubic ratio) at each level that counted for the shape fit
    fits: tuple = ()
    #: the shape fit's part of ``evidence`` (:func:`.calibration.fit_evidence`)
    shape: float = 0.0

    @property
    def informative(self):
        """Whether any zoom level counted, for the tent or for the shape fit."""
        return self.levels > 0 or len(self.fits) > 0


@dataclass
class Evidence:
    """What :func:`probe` found.

    Attributes
    ----------
    score : float
        Larger means more evidence of kinks; about 0 when the outputs say
        nothing either way; negative for evidence of smoothness.
    verdict : str
        ``"nonsmooth"``, ``"smooth"`` or ``"inconclusive"``.
    queries : int
        Rows passed to ``f`` (never more than the budget).
    budget : int
    exponent : float
        Median multi-scale exponent over the informative candidates (NaN if
        none): about 1 for kinks, 2 for smooth bends, 0 for jumps.
    kinks_per_line : float
        Mean number of peaks of the floored |second difference| per coarse line.
    scaling_exponent, scaling_confidence : float
        The pooled exponent of the mean squared second difference over the
        subsampling (:mod:`.scaling`: 3 for kinks, 4 for smooth) and how
        far the signal stood above the noise (0..1).
    kind : str
        A guess at which nonsmoothness: ``"kinks"`` (ReLU-like),
        ``"jumps"`` (piecewise-constant: trees, nearest neighbours),
        ``"none"``; prefixed ``"axis-aligned "`` when ``axis_aligned`` is
        at least 0.5.
    axis_aligned, aligned_tests : float, int
        The alignment test (:func:`_alignment`): of ``aligned_tests`` kinks
        or jumps found on lines along one input axis, the share that stayed
        at the same place on a parallel line offset in the other inputs (NaN
        if none was tested). About 1 for additive models, splines, trees and
        Laplacian kernels (nonsmooth on planes ``x_j = const``); near 0 for
        ReLU networks, whose kinks lie on slanted (bent) hyperplanes.
    network, continuous, slanted : float
        The confounder test (:mod:`.network`): ``continuous`` is positive
        when the zoom chains found kinks rather than jumps, ``slanted`` when
        the tested kinks moved rather than stayed put; ``network``, the
        smaller of the two, is positive for ReLU-network-like
        nonsmoothness, negative for splines, Laplacian kernels, trees and
        nearest neighbours, 0 where nothing was seen. It does not change the
        score or the verdict.
    candidates : list of Candidate
    """

    score: float
    verdict: str
    queries: int
    budget: int
    exponent: float
    kinks_per_line: float
    kind: str
    scaling_exponent: float = float("nan")
    scaling_confidence: float = 0.0
    axis_aligned: float = float("nan")
    aligned_tests: int = 0
    network: float = 0.0
    continuous: float = 0.0
    slanted: float = 0.0
    candidates: list = field(default_factory=list)
    _coarse: dict = field(default_factory=dict, repr=False)

    def plot(self, ax=None, lines=4):
        """Plot the outputs along a few coarse lines, their floored |second
        difference| with the peaks marked, and the score; returns the figure.

        Examples
        --------
        >>> import numpy as np, matplotlib
        >>> matplotlib.use("Agg")
        >>> ev = probe(lambda x: np.abs(x).sum(axis=1), np.eye(3), queries=64)
        >>> fig = ev.plot()
        >>> len(fig.axes)
        2
        """
        from .plot import plot_evidence

        return plot_evidence(self, ax=ax, lines=lines)


def _check_X(X):
    if hasattr(X, "detach"):  # a torch tensor
        X = X.detach().cpu().numpy()
    X = np.asarray(X)
    if X.dtype.kind not in "fiu":
        raise TypeError(f"X must hold real numbers, got dtype {X.dtype}")
    if X.ndim < 2:
        raise ValueError(f"X must have shape (examples, *input_shape), at least 2-D; got shape {X.shape}")
    if X.shape[0] == 0 or X.size == 0:
        raise ValueError(f"X is empty (shape {X.shape}): the probe lines pass through at least one example")
    if not np.isfinite(X).all():
        raise ValueError("X holds NaN or inf")
    return X


def _rows(Y, count, n):
    """``(count * n, k)`` outputs -> ``(count * k, n)`` lines, line-major."""
    k = Y.shape[1]
    return np.ascontiguousarray(Y.reshape(count, n, k).transpose(0, 2, 1).reshape(count * k, n))


def probe(f, X, queries=4096, seed=0, batch_size=1024):
    """Probe a black box ``f`` for kinks (ReLU-family activations, max pooling).

    Parameters
    ----------
    f : callable or torch.nn.Module
        Maps an array of inputs ``(n, *X.shape[1:])`` to outputs ``(n,)`` or
        ``(n, k, ...)`` (NumPy, torch, or anything ``numpy.asarray`` reads).
        A module runs under ``torch.no_grad()`` on its own device and dtype.
        Only outputs are used.
    X : array_like, shape (m, *input_shape)
        One or more example inputs; the probe lines pass through and between
        them, and their spread sets the lines' lengths. Not modified.
    queries : int, default 4096
        The most rows ``f`` is called on, in total (at least 18).
    seed : int, default 0
    batch_size : int, default 1024
        The most rows in one call of ``f``.

    Returns
    -------
    Evidence

    Raises
    ------
    ValueError
        ``X`` empty, not at least 2-D, or not finite; ``queries`` too small;
        ``f`` returning the wrong number of rows or NaN/inf outputs.
    TypeError
        ``f`` not callable; ``X`` or the outputs not real numbers.

    Examples
    --------
    >>> import numpy as np
    >>> from fastsmp import forensics
    >>> X = np.random.default_rng(0).normal(size=(8, 3))
    >>> forensics.probe(lambda x: np.abs(x).sum(axis=1), X, queries=512).verdict
    'nonsmooth'
    >>> forensics.probe(lambda x: np.sin(x).sum(axis=1), X, queries=512).verdict
    'smooth'
    """
    X = _check_X(X)
    p = plan(queries)
    rng = np.random.default_rng(seed)
    shape = X.shape[1:]
    X2 = X.reshape(X.shape[0], -1).astype(np.float64)
    in_dtype = X.dtype if X.dtype.kind == "f" else np.dtype(np.float64)
    oracle = Oracle(f, shape, queries, batch_size, in_dtype, rng)

    coarse = lines.draw(X2, p.coarse, p.n, rng)
    Y = oracle(coarse.points())
    k = Y.shape[1]
    bits = noise.mantissa_bits(Y, oracle.precision)
    grids = np.array([noise.grid_step(Y[:, c]) for c in range(k)])
    V = _rows(Y, p.coarse, p.n)
    comp = np.tile(np.arange(k), p.coarse)
    sigma = noise.pooled_noise(V, comp, k)
    fl = noise.line_floor(V, bits, grids[comp], sigma[comp])
    feats = features.line_features(V, fl.value)
    scales = _scales(V, bits, grids[comp], sigma[comp], p.n)

    # candidates: the tents standing highest above their floor (at the
    # subsampling that makes them stand highest), one per line
    # the most isolated tents first: kinks give lone tents, smooth bends wide ones
    best = {}
    eligible = np.flatnonzero(scales.snr > INFORMATIVE)
    for row in eligible[np.lexsort((-scales.snr[eligible], -scales.concentration[eligible]))]:
        best.setdefault(row // k, row)
    ranked = list(best.values())
    chosen = np.array(sorted(ranked[: p.candidates]), dtype=np.int64)
    rest = ranked[p.candidates:]
    candidates = []
    if chosen.size:
        candidates = _zoom_chains(oracle, coarse, scales, chosen, k, bits, grids, sigma, p)
    # chains that stopped early leave lines over: follow the next candidates with them
    while rest and oracle.left // p.n - p.align >= 1:
        spare = oracle.left // p.n - p.align
        levels = min(p.levels, spare)
        count = max(1, min(len(rest), spare // levels))
        batch, rest = np.array(sorted(rest[:count]), dtype=np.int64), rest[count:]
        candidates += _zoom_chains(oracle, coarse, scales, batch, k, bits, grids, sigma, replace(p, levels=levels))

    # pooled over every sample of the coarse lines: the component whose fit
    # is the most confident
    fits = [scaling.pooled_exponent(V[comp == c]) for c in range(k)]
    fit = max(fits, key=lambda s: s.confidence)
    informative = float(np.mean([c.informative for c in candidates])) if candidates else 0.0
    score = calibration.score([c.evidence for c in candidates], calibration.scaling_evidence(fit.alpha, fit.confidence), informative)
    informative = [c for c in candidates if c.levels > 0]
    exponent = float(np.median([c.exponent for c in informative])) if informative else float("nan")
    kind = "none" if not informative or exponent >= 1.5 else "jumps" if exponent < 0.5 else "kinks"
    aligned, tested, _ = _alignment(oracle, coarse, V, scales, k, bits, grids, sigma, X2, rng)
    if tested and aligned >= 0.5:
        kind = "axis-aligned " + ("kinks" if kind == "none" else kind)
    net = network.network_evidence([c.exponent for c in informative], aligned, tested)
    return Evidence(
        score=score,
        verdict=calibration.verdict(score, direct=bool(candidates) and np.mean([c.evidence for c in candidates]) > 0),
        queries=oracle.used,
        budget=int(queries),
        exponent=exponent,
        kinks_per_line=float(feats.count.mean()),
        scaling_exponent=fit.alpha,
        scaling_confidence=fit.confidence,
        kind=kind,
        axis_aligned=aligned,
        aligned_tests=tested,
        network=net.score,
        continuous=net.continuous,
        slanted=net.slanted,
        candidates=candidates,
        _coarse=dict(V=V, floored=feats.floored, peaks=feats.peaks, floor=fl.value, t=coarse.t),
    )


class Scales(NamedTuple):
    """For each coarse line, the subsampling ``m`` at which its largest tent
    stands highest above the floor: its ``snr`` (tent mass / floor), ``mass``
    and ``position`` (in samples of the full line)."""

    m: np.ndarray
    snr: np.ndarray
    mass: np.ndarray
    position: np.ndarray
    concentration: np.ndarray


def _scales(V, bits, grids, sigma, n):
    """Subsample each line by 1, 2, 4, ... (longer steps lift a kink's tent,
    ``s * h``, above a fixed quantisation or noise floor) and keep the finest
    subsampling at which the largest tent stands :data:`SELECT` floors high
    (else the one where it stands highest): a kink's tent grows like ``h``,
    a smooth bend's like ``h**2``, so the finest clear scale favours kinks."""
    L = V.shape[0]
    out = Scales(np.ones(L, dtype=np.int64), np.zeros(L), np.zeros(L), np.zeros(L), np.zeros(L))
    done = np.zeros(L, dtype=bool)
    m = 1
    while (n - 1) // m + 1 >= MIN_SAMPLES:
        Vm = np.ascontiguousarray(V[:, ::m])
        fl = noise.line_floor(Vm, bits, grids, sigma)
        ff = features.line_features(Vm, fl.value)
        snr = np.where(ff.pair_floored > 0, ff.pair / fl.value, 0.0)
        better = ~done & (snr > out.snr * 1.0001)
        out.m[better] = m
        out.snr[better] = snr[better]
        out.mass[better] = ff.pair[better]
        out.position[better] = ff.position[better] * m
        out.concentration[better] = ff.concentration[better]
        done |= snr >= SELECT
        m *= 2
    return out


def _zoom_factor(snr, n, llr=None):
    """How much finer the next line is: as fine as keeps a kink's tent
    :data:`INFORMATIVE` floors high or (``llr``: the hinge fit a kink would
    give on a line as fine as the parent) its shape fit twice
    :data:`FIT_INFORMATIVE`, between 2 and ``(n - 1) / 4``."""
    z = snr / (4 * INFORMATIVE)
    if llr is not None:  # the fit's ratio falls with the square of the window
        z = np.maximum(z, np.sqrt(np.maximum(llr, 0.0) / (2 * FIT_INFORMATIVE)))
    return np.clip(z, 2.0, (n - 1) / 4.0)


def _fit_llr(slope, step, n, sig):
    """The hinge-against-cubic ratio (:func:`.features.shape_fit`) a kink of
    slope change ``slope`` would give on a line of ``n`` samples ``step``
    apart, with error ``sig``."""
    c = slope * step * (n - 1) / 4.0  # its |t - t0| coefficient on t in [-1, 1]
    with np.errstate(over="ignore"):  # a kink on exact outputs: inf
        return features.HINGE_KAPPA * n * c * c / (2.0 * np.maximum(np.square(sig), 1e-300))


def _zoom_chains(oracle, coarse, scales, chosen, k, bits, grids, sigma, p):
    """Follow each chosen tent down the zoom levels.

    A level counts for the tent (exponent, concentration) while a kink's
    tent would stand :data:`INFORMATIVE` floors high there, and for the
    shape fit (:func:`.features.shape_fit`) while a kink's hinge would stand
    :data:`FIT_INFORMATIVE` above the cubic; the chain goes on while either
    counts, centred on the tent where it counts, else on the fitted hinge.
    """
    line = chosen // k
    comp = chosen % k
    current = coarse
    idx = line.copy()
    m = scales.m[chosen].astype(np.float64)  # the parent's step, in samples of its line
    position = scales.position[chosen]
    snr = scales.snr[chosen]
    coarse_pair = scales.mass[chosen]
    coarse_step = coarse.step[line] * m
    parent_step = coarse_step.copy()
    parent_pair = coarse_pair.copy()
    slope = coarse_pair / coarse_step  # the slope change of a kink with this tent
    sig = np.hypot(sigma[comp], grids[comp] / math.sqrt(12.0))  # refined with each level's floor
    tent_alive = np.ones(chosen.size, dtype=bool)
    alive = np.ones(chosen.size, dtype=bool)
    levels = np.zeros(chosen.size, dtype=np.int64)
    exponent = np.full(chosen.size, np.nan)
    concentration = np.full(chosen.size, np.nan)
    history = [[(float(coarse_step[i]), float(coarse_pair[i]), float(scales.concentration[chosen[i]]))] for i in range(chosen.size)]
    fits = [[] for _ in range(chosen.size)]
    for _ in range(p.levels):
        todo = np.flatnonzero(alive)
        if todo.size == 0 or oracle.left < todo.size * p.n:
            break
        # the tent's zoom while it keeps the tent informative at the next level, else the fit's
        strong = tent_alive[todo] & (snr[todo] >= 2 * INFORMATIVE)
        z = np.where(strong, _zoom_factor(snr[todo], p.n),
                     _zoom_factor(np.where(tent_alive[todo], snr[todo], 0.0), p.n, _fit_llr(slope[todo], parent_step[todo], p.n, sig[todo])))
        center = current.t[0] + position[todo] * (2.0 / (p.n - 1))
        fine = lines.zoom(current, idx[todo], center, m[todo] / z)
        Yf = oracle(fine.points())
        Vf = _rows(Yf, todo.size, p.n)[np.arange(todo.size) * k + comp[todo]]
        flf = noise.line_floor(Vf, bits, grids[comp[todo]], sigma[comp[todo]])
        ff = features.line_features(Vf, flf.value)
        sig[todo] = np.hypot(flf.noise, flf.quantum / math.sqrt(12.0))
        fit = features.shape_fit(Vf, sig[todo])
        levels_spanned = np.ptp(Vf, axis=1) / np.maximum(flf.quantum, 1e-300)
        predicted = parent_pair[todo] * fine.step / parent_step[todo]  # a kink's tent mass at this step
        counts = tent_alive[todo] & (predicted >= INFORMATIVE * flf.value)
        fit_counts = _fit_llr(slope[todo], fine.step, p.n, sig[todo]) >= FIT_INFORMATIVE
        # rounding acts as noise only over many levels: a staircase of a few steps is no evidence
        fit_counts &= levels_spanned >= FIT_QUANTA
        ok_idx = todo[counts]
        if ok_idx.size:
            step_ratio = fine.step[counts] / coarse_step[ok_idx]
            mass = np.maximum(ff.pair[counts], 1e-300)
            exponent[ok_idx] = np.log(mass / coarse_pair[ok_idx]) / np.log(step_ratio)
            concentration[ok_idx] = ff.concentration[counts]
            levels[ok_idx] += 1
            for j, i in enumerate(ok_idx):
                history[i].append((float(fine.step[counts][j]), float(mass[j]), float(ff.concentration[counts][j])))
        for j in np.flatnonzero(fit_counts):
            fits[todo[j]].append((float(fine.step[j]), float(fit.llr[j])))
        tent_alive[todo] = counts
        alive[:] = False
        alive[todo[counts | fit_counts]] = True
        # the next level zooms on the tent found at this one, on this line (on the hinge where the tent sank)
        idx[todo] = np.arange(todo.size)
        m[todo] = 1.0
        position[todo] = np.where(counts, ff.position, fit.position)
        parent_pair[todo] = ff.pair
        parent_step[todo] = fine.step
        # the slope change: from the tent while it counts, else from the hinge's coefficient
        slope[todo] = np.where(counts, ff.pair / fine.step, np.where(fit_counts, 4.0 * fit.amplitude / (fine.step * (p.n - 1)), slope[todo]))
        snr[todo] = np.divide(ff.pair, flf.value)
        current = fine
    out = []
    for i in range(chosen.size):
        steps = np.array([h[0] for h in history[i]])
        masses = np.maximum(np.array([h[1] for h in history[i]]), 1e-300)
        local = np.diff(np.log(masses)) / np.diff(np.log(steps))
        decades = float(np.log10(steps[0] / steps[-1]))
        evidence = calibration.chain_evidence(levels[i], exponent[i], concentration[i], local, decades)
        jump = levels[i] > 0 and exponent[i] < network.JUMP_BELOW
        shape = 0.0 if jump else calibration.fit_evidence([f[1] for f in fits[i]])
        out.append(Candidate(int(line[i]), int(comp[i]), int(levels[i]), float(exponent[i]), float(concentration[i]),
                             evidence + shape, tuple(history[i]), tuple(fits[i]), shape))
    return out


class Alignment(NamedTuple):
    """What the alignment test found: ``share`` of the ``tests`` tents that
    stayed put (NaN if none was tested), over ``lines`` pairs of lines."""

    share: float
    tests: int
    lines: int


def _tents(v, floor, most):
    """Up to ``most`` two-sample tents of the line ``v`` (largest first, at
    least 3 samples apart) whose mass stands :data:`SELECT_ALIGN` floors
    high: their positions, in samples of ``v``."""
    import fastsmp

    d = np.abs(fastsmp.curvature(v[None, :]))[0]
    pairs = d[:-1] + d[1:]
    out = []
    for j in np.argsort(-pairs, kind="stable"):
        if pairs[j] < SELECT_ALIGN[0] * floor or len(out) >= most:
            break
        if all(abs(j - o) >= 3 for o in out):
            out.append(j)
    return [j + 1.0 + d[j + 1] / max(pairs[j], 1e-300) for j in out]


def _alignment(oracle, coarse, V, scales, k, bits, grids, sigma, X, rng):
    """The alignment test (:class:`Alignment`).

    Take the coarse lines whose largest tent stands clear
    (:data:`SELECT_ALIGN`), along single input axes first, and sample each
    again, with the budget the chains left, offset from it: a line along
    ``e_j`` by a random move of the other inputs (half the line's length, in
    units of their spread, per input), a line in a random direction by a
    move of one random input ``x_k`` alone (half the line's length, in
    units of the spreads). A kink or jump on a plane ``x_j = c`` (additive
    splines, trees, Laplacian kernels) crosses the line at the same ``t``
    whenever the offset leaves ``x_j`` alone (always on axis lines, unless
    ``k = j`` on random ones); one on a slanted hyperplane ``w . x = b``
    (ReLU units) moves by ``w . offset / w . direction``. Up to
    :data:`ALIGN_TENTS` tents per line are tested; a test counts if the
    offset line has any tent above its floor; it is aligned if one lies
    within :data:`ALIGN_TOLERANCE` samples of the original, plus the
    position's error from the floor (``floor / tent`` on each line); the
    split of a tent locates an isolated kink exactly, so on clean outputs an
    axis-aligned kink moves by 0.000 samples and a ReLU one by 0.05 to
    several. The test runs after the score is made.
    """
    n = V.shape[1]
    D = X.shape[1]
    rows = np.flatnonzero((scales.snr >= SELECT_ALIGN[0]) & (scales.concentration >= SELECT_ALIGN[1]))
    best = {}
    for r in rows[np.lexsort((-scales.snr[rows], ~coarse.axis[rows // k]))]:
        best.setdefault(r // k, r)
    chosen = np.array(list(best.values()), dtype=np.int64)[: oracle.left // n]
    if chosen.size == 0 or D < 2:
        return Alignment(float("nan"), 0, 0)
    line, comp = chosen // k, chosen % k
    scale = lines.feature_scale(X)
    length = np.linalg.norm(coarse.direction[line] / scale, axis=1)
    offset = np.zeros((chosen.size, D))
    for i, li in enumerate(line):
        if coarse.axis[li]:
            g = rng.standard_normal(D)
            g[np.argmax(np.abs(coarse.direction[li]))] = 0.0
            offset[i] = g / max(np.linalg.norm(g), 1e-300) * scale * np.sqrt(D - 1) * 0.5 * length[i]
        else:
            j = int(rng.integers(D))
            offset[i, j] = scale[j] * 0.5 * length[i] * rng.choice([-1.0, 1.0])
    moved = lines.Lines(coarse.origin[line] + offset, coarse.direction[line], n, coarse.axis[line])
    Vo = _rows(oracle(moved.points()), chosen.size, n)[np.arange(chosen.size) * k + comp]
    aligned = []
    for i, r in enumerate(chosen):
        m = int(scales.m[r])
        both = np.stack([V[r, ::m], Vo[i, ::m]])
        fl = noise.line_floor(both, bits, grids[comp[i]], sigma[comp[i]]).value
        for p0 in _tents(both[0], fl[0], ALIGN_TENTS):
            pf, pos, anything = features.tent_near(both, fl, np.full(2, p0))
            if not anything[1] or pf[0] <= 0:
                continue
            tolerance = ALIGN_TOLERANCE + fl[0] / max(pf[0], 1e-300) + fl[1] / max(pf[1], 1e-300)
            aligned.append(pf[1] > 0 and abs(pos[1] - pos[0]) <= tolerance)
    if not aligned:
        return Alignment(float("nan"), 0, chosen.size)
    return Alignment(float(np.mean(aligned)), len(aligned), chosen.size)
