"""The interface every backend implements in full.

The dispatcher (:mod:`fastsmp._api`) hands a backend 3-D views ``(outer, n,
inner)`` whose lines run along axis 1, already in the working dtype, with
``rtol`` a scalar of that dtype and ``filters`` the ``(hmin, hmax, tmin,
tmax)`` bounds of :class:`fastsmp._args.Filters` (``None`` for an absent
bound). Line results are flat, one per line in C order over ``(outer,
inner)``. A backend's arrays are its own kind (NumPy on the host, Numba
device arrays on the GPU); :meth:`Backend.to_host` gives NumPy.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Backend(Protocol):
    """What ``fastsmp.backends.get(name)`` returns (a module)."""

    #: ``"numpy"``, ``"cpu"`` or ``"cuda"``
    name: str
    #: whether its arrays live on a GPU
    on_device: bool

    def smp_lines(self, x, rtol, filters, dtype=np.float64) -> tuple[Any, Any]:
        """Per line: (SMP in ``dtype``, int64 count); NaN and 0 for a line
        that holds a NaN or an inf (SPEC 6, 7). ``dtype`` is float64 (the
        dispatcher adds lines of several axes) or the working dtype (one
        axis: the result as it is returned)."""

    def smp_maps(self, x, rtol, filters) -> tuple[Any, Any] | None:
        """Per map (the last two axes of ``x``, any ndim >= 2): the SMP over
        both axes and the count, in one fused pass; or None where the
        backend has no such pass for this input (the dispatcher then adds
        the lines of each axis). Only called with ``nan_policy='propagate'``."""

    def find_peaks_lines(self, a, filters) -> Any:
        """The bool peak mask of every line, shaped like ``a`` (SPEC 5)."""

    def select_peaks_lines(self, a, selection, filters, names) -> tuple[Any, dict]:
        """SciPy's ``find_peaks`` with its other rules (``selection``, a
        :class:`fastsmp._args.Selection`) on every line: the bool mask shaped
        like ``a`` and the properties ``names``, flat arrays in line order
        (SPEC 11)."""

    def measure_peaks_lines(self, a, mask, selection, prominence_data, names) -> dict:
        """``peak_prominences``/``peak_widths`` at the positions ``mask`` (a
        bool view shaped like ``a``) marks: the properties ``names``, flat in
        line order; ``prominence_data`` three such arrays or None."""

    def smp_selected_lines(self, v, rtol, filters, selection) -> tuple[Any, Any]:
        """Per line: the SMP and count of the peaks every rule of
        ``selection`` keeps (float64 sum in order); NaN and 0 for a line that
        holds a NaN or an inf."""

    def curvature_lines(self, x) -> Any:
        """``d`` of every line, ``(outer, max(n - 2, 0), inner)`` (SPEC 3)."""

    def sum_blocks(self, line_sums, line_counts, order, block_sums, block_counts) -> None:
        """Add the lines ``order[b, :]`` (host int64 array) into
        ``block_sums[b]`` and ``block_counts[b]``, in that order."""

    def zeros(self, shape, dtype) -> Any:
        """A zero array of the backend's kind."""

    def cast(self, arr, dtype) -> Any:
        """``arr`` in ``dtype`` (no copy where it already is)."""

    def to_host(self, arr) -> Any:
        """``arr`` as a NumPy array."""
