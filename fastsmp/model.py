"""Short alias of :mod:`fastsmp.science.model`, the SMP propagation model.

``import fastsmp.model as M`` gives every public name of the model; the code,
split into one module per topic, lives in ``fastsmp/science/model/``.
"""

from .science import model as _model
from .science.model import *  # noqa: F403

__all__ = _model.__all__
