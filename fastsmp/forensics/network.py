"""Was it a ReLU network, or another nonsmooth model? The confounder test.

Kinks alone do not make a ReLU network: linear splines, Laplacian-kernel
machines, trees and nearest neighbours are nonsmooth too. A ReLU network's
nonsmoothness has two properties that none of these has both of:

* **continuous**: it kinks (the slope changes) but does not jump. A zoom
  chain (:mod:`.probe`) whose tent keeps its mass as the step shrinks
  (exponent below 0.5) has found a jump (trees, nearest neighbours);
* **slanted**: its kinks lie on hyperplanes (bent ones, deeper in the
  network) that cross the input axes at an angle, so they move when a
  probe line is shifted; kinks and jumps of additive splines, trees and
  Laplacian kernels lie on planes ``x_j = const`` and stay put
  (the alignment test, ``probe._alignment``).

Each property gets a signed evidence in (-1, 1), shrunk towards 0 when it
rests on few observations (``t / (t + 1)`` for ``t`` observations), and the
network evidence is the smaller of the two: both are needed, so the weaker
one bounds the case. Chosen on random networks against random confounders
(:mod:`.null`), none from the benchmark's zoo; the sum of the two instead
of the minimum lets an aligned but continuous model (a spline) or a slanted
jumpy one (nearest neighbours) pass for a network more often.
"""

from __future__ import annotations

import math
from typing import NamedTuple

__all__ = ["NetworkEvidence", "network_evidence", "JUMP_BELOW"]

#: a zoom chain whose tent mass scales with the step to a power below this found a jump
JUMP_BELOW = 0.5


class NetworkEvidence(NamedTuple):
    """``score = min(continuous, slanted)``: positive for continuous kinks on
    slanted hyperplanes (ReLU networks), negative for jumps or kinks on
    planes ``x_j = const``, 0 where nothing was seen."""

    score: float
    continuous: float
    slanted: float


def _shrunk(signed_share, count):
    return signed_share * count / (count + 1.0) if count else 0.0


def network_evidence(exponents, aligned, tests):
    """The network evidence from the zoom chains and the alignment test.

    Parameters
    ----------
    exponents : sequence of float
        The multi-scale exponents of the informative zoom chains (1 kink,
        2 smooth bend, 0 jump).
    aligned : float
        The share of the tested kinks that stayed put on the offset line
        (NaN if none was tested).
    tests : int
        How many were tested.

    Returns
    -------
    NetworkEvidence
        ``continuous = (1 - 2 * jump share) * c / (c + 1)`` over the ``c``
        chains; ``slanted = (1 - 2 * aligned) * t / (t + 1)`` over the ``t``
        tests; ``score`` the smaller.

    Examples
    --------
    >>> network_evidence([1.0, 1.0, 2.0], 0.0, 3)
    NetworkEvidence(score=0.75, continuous=0.75, slanted=0.75)
    >>> round(network_evidence([0.0, 0.1, 1.0], 0.0, 3).score, 2)  # mostly jumps
    -0.25
    >>> network_evidence([1.0], 1.0, 4).score  # kinks on planes x_j = const
    -0.8
    >>> network_evidence([], float("nan"), 0)
    NetworkEvidence(score=0.0, continuous=0.0, slanted=0.0)
    """
    exponents = [float(e) for e in exponents if math.isfinite(e)]
    jumps = sum(e < JUMP_BELOW for e in exponents)
    continuous = _shrunk(1.0 - 2.0 * jumps / len(exponents), len(exponents)) if exponents else 0.0
    slanted = _shrunk(1.0 - 2.0 * float(aligned), int(tests)) if tests and math.isfinite(aligned) else 0.0
    return NetworkEvidence(float(min(continuous, slanted)), float(continuous), float(slanted))
