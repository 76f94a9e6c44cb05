"""The backends: one module each, every one implementing
:class:`fastsmp.backends.base.Backend` in full.

- ``numpy`` (:mod:`.numpy`): SPEC.md in plain NumPy, the reference.
- ``cpu`` (:mod:`.cpu`): Numba kernels, parallel over lines.
- ``cuda`` (:mod:`.cuda`): Numba CUDA kernels.

:mod:`.spec` holds the arithmetic SPEC.md pins down, written once for the
CPU and CUDA targets. The compiled backends are imported on first use:
``import fastsmp`` does not pay for Numba.
"""

from __future__ import annotations

import importlib

#: each backend's module, relative to this package
MODULES = {"numpy": ".numpy", "cpu": ".cpu.backend", "cuda": ".cuda.backend"}
NAMES = tuple(MODULES)


_loaded = {}


def get(name):
    """The backend module called ``name`` (see :data:`NAMES`), imported on
    first use."""
    module = _loaded.get(name)
    if module is None:
        if name not in MODULES:
            raise ValueError(f"unknown backend {name!r}; valid backends are {', '.join(map(repr, NAMES))}")
        module = _loaded[name] = importlib.import_module(MODULES[name], __name__)
    return module
