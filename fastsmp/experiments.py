"""Short alias of :mod:`fastsmp.science.experiments`, the paper's experiments.

``from fastsmp import experiments as E`` gives every public name of the
experiments (``E.run``, ``E.Config``, ``E.gaussian_lines``, ...); the code, split
into one module per step of a run, lives in ``fastsmp/science/experiments/``.
"""

from .science import experiments as _experiments
from .science.experiments import *  # noqa: F403

__all__ = _experiments.__all__
