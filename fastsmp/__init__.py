"""fastsmp: the sum of the magnitude of peaks (SMP) of the second difference,
a measure of the nonsmoothness of a signal, fast on CPU and GPU.

See ``SPEC.md`` (shipped with the project) for the definitions every backend
implements; the README for a tour.
"""

from ._api import (
    PeakPropertyWarning,
    available_backends,
    curvature,
    find_peaks,
    peak_offsets,
    peak_prominences,
    peak_widths,
    smp,
    warmup,
)
from ._version import __version__

__all__ = [
    "smp",
    "find_peaks",
    "peak_prominences",
    "peak_widths",
    "peak_offsets",
    "PeakPropertyWarning",
    "curvature",
    "available_backends",
    "warmup",
    "__version__",
]


def __getattr__(name):
    # ``fastsmp.forensics`` on first use: ``import fastsmp`` stays quick
    if name == "forensics":
        import importlib

        return importlib.import_module(".forensics", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
