"""Forensics: did a ReLU / max-pool network produce these outputs?

:func:`probe` samples a black box ``f`` along lines through example inputs,
zooms in on its sharpest bends, and returns :class:`Evidence` with a score,
a calibrated verdict (``"nonsmooth"``, ``"smooth"``, ``"inconclusive"``) and
the number of queries used. Only outputs are used: no gradients, no weights.
``fastsmp forensics`` runs it from the command line, ``fastsmp
forensics-bench`` benchmarks it on a zoo of models trained locally.

One module per concern:

- :mod:`.oracle`: calling ``f`` in batches within the query budget, checking
  what it returns;
- :mod:`.lines`: drawing the probe lines and the zoom lines;
- :mod:`.noise`: the noise floor measured from the outputs (noise, rounding,
  quantisation);
- :mod:`.features`: second differences, tents, concentration, peaks and SMP
  with fastsmp's kernels; the hinge-against-cubic shape fit;
- :mod:`.scaling`: the pooled multi-scale exponent of the mean squared
  second difference (the evidence left when outputs are coarse or noisy);
- :mod:`.probe`: :func:`probe`, the zoom chains and :class:`Evidence`;
- :mod:`.calibration`: the score, the verdict and its frozen thresholds;
  :mod:`.null` and :mod:`.calibrate` the random functions and the script
  that produced them; :mod:`.heldout` the degraded-output study on
  synthetic functions (where changes are designed) and the softplus-bend
  resolution study;
- :mod:`.degrade`: degraded outputs (float16, quantisation, noise, unknown
  step) for the benchmark and the calibration;
- :mod:`.plot`: :meth:`Evidence.plot`;
- :mod:`.command`: ``fastsmp forensics`` and ``fastsmp forensics-bench``;
- :mod:`.bench`: the zoo, the runs and the report.

torch, scikit-learn and matplotlib are imported only by the functions that
need them.
"""

from __future__ import annotations

from .calibration import NONSMOOTH_ABOVE, SMOOTH_BELOW
from .command import add_command
from .oracle import QueryBudgetError
from .probe import Candidate, Evidence, plan, probe

__all__ = ["probe", "Evidence", "Candidate", "plan", "QueryBudgetError", "NONSMOOTH_ABOVE", "SMOOTH_BELOW", "add_command"]
