"""SMP through stacks of ``conv -> ReLU -> max pool`` layers.

Three closures, each a different stand-in for what the layers make of a Gaussian
input: :func:`stack_smp` replaces every pre-activation by a Gaussian process (exact
in the first layer; deeper pre-activations are piecewise-linear functions of the
same input, with fewer zero crossings than the stand-in); :func:`stack_smp_levels`
treats every channel as a function of the input's local level (right about the
coherent breakpoints of deep layers, blind to the input's curvature);
:func:`stack_smp_hybrid` rescales the second by the first layer's exact ratio.
``fastsmp reproduce`` compares the three against torch stacks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .autocorrelation import GaussianAutocorrelation
from .blocks import pooled_kink_gain, relu_pool_smp
from .process import EventType, Functional, Prediction, Process, marked_events
from .windows import _interior, _maxpool_np

__all__ = ["stack_smp", "stack_smp_hybrid", "stack_smp_levels"]


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
    >>> from fastsmp.science.model import relu_closed_form_mean
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
