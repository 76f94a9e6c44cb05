"""The degraded-output study on synthetic functions (nothing from the zoo).

``python -m fastsmp.forensics.heldout [--functions N] [--budgets 256,4096,16384]``
probes random functions of :mod:`.null` under the benchmark's unknown mix of
degradations (float16, 8-bit quantisation of the output range, additive noise
at 1e-3 of the range) and prints, per generator, the AUC against every
generator of the other class (as the benchmark's per-family AUC), per budget
and pooled over the budgets. Generators:

* kinked: :func:`.null.random_network` (ReLU / leaky ReLU),
  :func:`.null.random_kinked` (``|w.x+b|`` sums, maxima of affine maps), and
  random Hardswish, ReLU6 and Hardtanh networks;
* smooth: :func:`.null.random_smooth` (Fourier features, polynomials) and
  random tanh, GELU and softplus (beta 1, 10, 100) networks.

The networks are :func:`.null.random_activation_network`: held out from the
calibration (:mod:`.calibrate` uses only ``random_smooth`` and
``random_kinked``). This is where changes of the probe for degraded outputs
are designed and chosen; the zoo is run only to measure.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from .degrade import degrade
from .null import random_activation_network, random_kinked, random_network, random_smooth

__all__ = ["GENERATORS", "MIX", "scores", "aucs", "bend_study", "main"]

MIX = ("float16", "quant8", "noise1e-3")


def _net(activation):
    return lambda dim, rng: random_activation_network(dim, rng, activation)


#: name -> (maker(dim, rng), label)
GENERATORS = {
    "relu_net": (random_network, "nonsmooth"),
    "abs_max": (random_kinked, "nonsmooth"),
    "hardswish_net": (_net("hardswish"), "nonsmooth"),
    "relu6_net": (_net("relu6"), "nonsmooth"),
    "hardtanh_net": (_net("hardtanh"), "nonsmooth"),
    "fourier_poly": (random_smooth, "smooth"),
    "tanh_net": (_net("tanh"), "smooth"),
    "gelu_net": (_net("gelu"), "smooth"),
    "softplus1_net": (_net("softplus1"), "smooth"),
    "softplus10_net": (_net("softplus10"), "smooth"),
    "softplus100_net": (_net("softplus100"), "smooth"),
}


def scores(functions=12, seed=777, budgets=(256, 4096, 16384), degradations=MIX, generators=None, probe_kwargs=None, detail=False):
    """Rows ``(generator, label, degradation, budget, score, verdict)`` of
    ``functions`` random functions per generator (``detail``: plus the
    :class:`.probe.Evidence`)."""
    from .probe import probe

    rng = np.random.default_rng(seed)
    rows = []
    names = list(generators or GENERATORS)
    for i in range(functions):
        dim = int(rng.choice([2, 4, 8, 16, 64]))
        X = rng.standard_normal((16, dim))
        for g, name in enumerate(names):
            make, label = GENERATORS[name]
            f = make(dim, np.random.default_rng([seed, i, g]))
            for j, deg in enumerate(degradations):
                h, Xp = degrade(f, deg, X, seed=seed + 97 * i + 7 * g + j)
                for q in budgets:
                    try:
                        ev = probe(h, Xp, queries=q, seed=i, **(probe_kwargs or {}))
                    except ValueError:  # float16 overflow: not a probe result
                        continue
                    rows.append((name, label, deg, q, ev.score, ev.verdict) + ((ev,) if detail else ()))
    return rows


def aucs(rows, budgets=None):
    """Per generator, its AUC against every generator of the other class."""
    from .bench.report import auc

    sel = [r for r in rows if budgets is None or r[3] in budgets]
    pos = [r[4] for r in sel if r[1] == "nonsmooth"]
    neg = [r[4] for r in sel if r[1] == "smooth"]
    out = {}
    for name in dict.fromkeys(r[0] for r in sel):
        mine = [r[4] for r in sel if r[0] == name]
        label = next(r[1] for r in sel if r[0] == name)
        out[name] = auc(mine, neg) if label == "nonsmooth" else auc(pos, mine)
    return out


def bend_study(slopes=(1.0, 0.3, 0.1, 0.03), beta=100.0, seeds=6, budgets=(4096, 16384), degradations=("float32",) + MIX):
    """When is a softplus bend of width ``1 / beta`` told from a kink?

    One bend of slope change ``c`` (the ``slopes``) on a ramp,
    ``f(x) = 2 + c softplus_beta(x_0) + x_1``, against its kink
    ``2 + c max(x_0, 0) + x_1``, probed on 16 Gaussian examples (both inputs
    of spread 1; the offset keeps float16's spacing at the bend that of the
    output range). The hinge's largest deviation from the bend is
    ``delta = c ln 2 / beta``; the output range ``R`` is about ``3.5 + 2c``;
    8-bit outputs round to ``R / 255``, the noise is ``1e-3 R``. Returns
    ``{(degradation, budget, c): (AUC, delta / R)}``, the AUC of the kink's
    scores against the bend's over ``seeds`` example sets (0.5: not told
    apart; 1: always; a bend that the zoom resolves scores lower).
    """
    from .bench.report import auc
    from .probe import probe

    out = {}
    for c in slopes:
        bend = lambda x, c=c: 2.0 + c * np.logaddexp(0.0, beta * x[:, 0]) / beta + x[:, 1]
        kink = lambda x, c=c: 2.0 + c * np.maximum(x[:, 0], 0.0) + x[:, 1]
        ratio = []
        for deg in degradations:
            for q in budgets:
                sc = {0: [], 1: []}
                for seed in range(seeds):
                    X = np.random.default_rng([seed, 5]).standard_normal((16, 2))
                    y = kink(X)
                    ratio.append(c * np.log(2.0) / beta / (y.max() - y.min()))
                    for j, f in enumerate((kink, bend)):
                        h, Xp = degrade(f, deg, X, seed=seed)
                        sc[j].append(probe(h, Xp, queries=q, seed=seed).score)
                out[deg, q, c] = (auc(sc[0], sc[1]), float(np.mean(ratio)))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--functions", type=int, default=12)
    parser.add_argument("--seed", type=int, default=777)
    parser.add_argument("--budgets", default="256,4096,16384")
    parser.add_argument("--bend", action="store_true", help="run bend_study (softplus beta=100 against its kink) instead")
    args = parser.parse_args(argv)
    budgets = tuple(int(b) for b in args.budgets.split(","))
    if args.bend:
        res = bend_study(budgets=budgets)
        slopes = list(dict.fromkeys(k[2] for k in res))
        first = next(iter(res))[:2]
        print("AUC, kink against softplus beta=100 on a ramp, by the bend's slope change c (delta = c ln2 / beta)")
        print("| degradation | queries | " + " | ".join(f"c={c:g}: delta/R={res[first + (c,)][1]:.1e}" for c in slopes) + " |")
        print("|---|---|" + "---|" * len(slopes))
        for deg, q in dict.fromkeys((k[0], k[1]) for k in res):
            print(f"| {deg} | {q} | " + " | ".join(f"{res[deg, q, c][0]:.2f}" for c in slopes) + " |")
        return 0
    t = time.perf_counter()
    rows = scores(args.functions, args.seed, budgets)
    cols = [("pooled", None)] + [(str(q), (q,)) for q in budgets]
    table = {name: [aucs(rows, b)[name] for _, b in cols] for name in GENERATORS}
    print(f"{len(rows)} probes in {time.perf_counter() - t:.0f} s; per-generator AUC under {', '.join(MIX)}")
    print("| generator | " + " | ".join(c for c, _ in cols) + " |")
    print("|---|" + "---|" * len(cols))
    for name, vals in table.items():
        print(f"| {name} | " + " | ".join(f"{v:.3f}" for v in vals) + " |")
    fp = np.mean([r[5] == "nonsmooth" for r in rows if r[1] == "smooth"])
    print(f"false 'nonsmooth' on smooth generators: {100 * fp:.2f}%")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
