"""Host memory for the backends that work on NumPy arrays (``numpy`` and
``cpu``): the array half of :class:`fastsmp.backends.base.Backend`."""

from __future__ import annotations

import numpy as np

on_device = False


def zeros(shape, dtype):
    return np.zeros(shape, dtype)


def cast(arr, dtype):
    """``arr`` in ``dtype``, no copy where it already is."""
    return arr.astype(dtype, copy=False)


def to_host(arr):
    return arr
