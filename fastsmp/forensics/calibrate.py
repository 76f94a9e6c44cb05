"""Regenerate the thresholds frozen in :mod:`.calibration`.

``python -m fastsmp.forensics.calibrate [--functions N]`` probes random
smooth and random kinked functions (:mod:`.null`, nothing from the
benchmark's zoo) on random Gaussian examples of 2 to 64 dimensions, under
every degradation of :mod:`.degrade` and budgets of 256, 4096 and 16384
queries, and prints the thresholds below. The smooth side holds, for each
of the ``N`` draws, a random Fourier-feature or polynomial function and a
random smooth network (:func:`.null.random_activation_network` with tanh,
a GELU or softplus with beta 1, 10 or 100, in turn): narrow bends
(softplus, beta 100) are kinks at every step that 8-bit or noisy outputs let
the probe resolve, and the verdict has to stay calibrated on them too.

* ``NONSMOOTH_ABOVE``: the 99.5th percentile of the smooth functions'
  scores plus a margin of 0.25 (so that at most 1% of smooth functions,
  with room for families unlike the null, are called "nonsmooth");
* ``SMOOTH_BELOW``: the 1st percentile of the kinked functions' scores
  (at most about 1% of kinked functions are called
  "smooth"), but never above -0.25.
"""

from __future__ import annotations

import argparse

import numpy as np

from .degrade import DEGRADATIONS, degrade
from .null import random_activation_network, random_kinked, random_smooth
from .probe import probe

#: the activations of the smooth networks in the null, in turn
SMOOTH_ACTIVATIONS = ("tanh", "gelu", "softplus1", "softplus10", "softplus100")

__all__ = ["null_scores", "thresholds", "main"]


def null_scores(functions=40, seed=12345, budgets=(256, 4096, 16384)):
    """Scores of ``functions`` random smooth functions, as many random smooth
    networks and as many random kinked functions under every degradation and
    budget: ``(smooth, kinked)``."""
    rng = np.random.default_rng(seed)
    smooth, kinked = [], []
    for i in range(functions):
        dim = int(rng.choice([2, 4, 8, 16, 64]))
        X = rng.standard_normal((16, dim))
        network = lambda d, r, a=SMOOTH_ACTIVATIONS[i % len(SMOOTH_ACTIVATIONS)]: random_activation_network(d, r, a)
        for make, out in ((random_smooth, smooth), (network, smooth), (random_kinked, kinked)):
            f = make(dim, rng)
            for j, name in enumerate(DEGRADATIONS):
                g, Xp = degrade(f, name, X, seed=seed + 31 * i + j)
                for q in budgets:
                    try:
                        out.append(probe(g, Xp, queries=q, seed=i).score)
                    except ValueError:  # float16 overflow of a steep function: not a probe result
                        pass
    return np.array(smooth), np.array(kinked)


def thresholds(smooth, kinked):
    """``(NONSMOOTH_ABOVE, SMOOTH_BELOW)`` from null scores (see the module docstring).

    Examples
    --------
    >>> thresholds(np.zeros(100), -np.ones(100))
    (0.25, -1.0)
    """
    above = float(np.percentile(smooth, 99.5)) + 0.25
    below = float(np.percentile(kinked, 1))
    return round(above, 3), round(min(below, -0.25), 3)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--functions", type=int, default=40)
    parser.add_argument("--seed", type=int, default=12345)
    args = parser.parse_args(argv)
    smooth, kinked = null_scores(args.functions, args.seed)
    above, below = thresholds(smooth, kinked)
    print(f"smooth null: {smooth.size} probes, max {smooth.max():.3f}, 99.5% {np.percentile(smooth, 99.5):.3f}")
    print(f"kinked null: {kinked.size} probes, 1% {np.percentile(kinked, 1):.3f}")
    print(f"NONSMOOTH_ABOVE = {above}")
    print(f"SMOOTH_BELOW = {below}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
