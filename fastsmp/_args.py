"""Argument checking shared by the API, Dask, stored-array streaming and the
command line: dtypes, axes, SciPy-style filters and the noise floor.

Each function either returns the argument in the form the backends take or
raises a ``TypeError``/``ValueError`` that names the argument.
"""

from __future__ import annotations

import argparse
import math
import operator
from typing import NamedTuple

import numpy as np

try:  # NumPy >= 2
    from numpy.lib.array_utils import normalize_axis_index, normalize_axis_tuple
except ImportError:  # pragma: no cover - NumPy 1.26
    from numpy.core.numeric import normalize_axis_index, normalize_axis_tuple

BACKENDS = ("auto", "numpy", "cpu", "cuda")
NAN_POLICIES = ("propagate", "raise")


class Filters(NamedTuple):
    """SciPy's ``height`` and ``threshold`` filters as float bounds; ``None``
    for an absent bound (SPEC section 5)."""

    hmin: float | None = None
    hmax: float | None = None
    tmin: float | None = None
    tmax: float | None = None


_FLOAT32, _FLOAT64 = np.dtype(np.float32), np.dtype(np.float64)


def working_dtype(dtype):
    """SPEC section 2: float64 for float64 and integers, float32 for the
    narrower floats; everything else is a TypeError."""
    dtype = np.dtype(dtype)
    kind, size = dtype.kind, dtype.itemsize
    if (kind == "f" and size <= 4) or (kind not in "fiu" and dtype.name == "bfloat16"):
        return _FLOAT32
    if (kind == "f" and size == 8) or kind in "iu":
        return _FLOAT64
    what = {
        "b": "bool",
        "c": "complex",
        "O": "object",
        "U": "string",
        "S": "bytes",
        "M": "datetime",
        "m": "timedelta",
        "V": "structured/void",
    }.get(dtype.kind, str(dtype))
    if dtype.kind == "f":
        what = f"{dtype} (extended precision)"
    raise TypeError(
        f"fastsmp needs real numbers (floating point or integer); got dtype "
        f"{dtype} ({what}). Convert it explicitly, e.g. x.astype(np.float32)."
    )


def backend_name(backend):
    """``backend`` if it is one of :data:`BACKENDS`, else a ValueError."""
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; valid backends are {', '.join(map(repr, BACKENDS))}")
    return backend


def nan_policy(policy):
    """``policy`` if it is one of :data:`NAN_POLICIES`, else a ValueError."""
    if policy not in NAN_POLICIES:
        raise ValueError(f"unknown nan_policy {policy!r}; valid values are {', '.join(map(repr, NAN_POLICIES))}")
    return policy


def axes(axis, ndim, *, single=False):
    """``axis`` (an int, or with ``single=False`` a tuple/list of ints) as a
    tuple of non-negative axes of an ``ndim``-D array."""
    if single:
        if isinstance(axis, (tuple, list)):
            raise TypeError(f"axis must be a single int here; got {axis!r}")
        return (normalize_axis_index(operator.index(axis), ndim),)
    if isinstance(axis, (tuple, list)):
        if len(axis) == 0:
            raise ValueError("axis=() names no axis; name at least one")
        return normalize_axis_tuple(tuple(operator.index(a) for a in axis), ndim, "axis")
    return (normalize_axis_index(operator.index(axis), ndim),)


def _bound(value, name, what):
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} {what} must be a real number or None; got {value!r}") from None
    if math.isnan(v):
        raise ValueError(f"{name} {what} is NaN; use None for no bound")
    return v


def interval(value, name):
    """SciPy's convention: a number is a minimum; a pair is (min, max)."""
    if value is None:
        return None, None
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be a number or a (min, max) pair; got {value!r}")
        lo, hi = (_bound(value[0], name, "minimum"), _bound(value[1], name, "maximum"))
    elif np.ndim(value) != 0:
        raise TypeError(
            f"{name} must be a number or a (min, max) pair; per-sample arrays are not supported (got shape {np.shape(value)})"
        )
    else:
        lo, hi = _bound(value, name, "minimum"), None
    if lo is not None and hi is not None and lo > hi:
        raise ValueError(f"{name}: the minimum {lo} is above the maximum {hi}")
    return lo, hi


def filters(height, threshold):
    """The :class:`Filters` of SciPy-style ``height`` and ``threshold``."""
    hmin, hmax = interval(height, "height")
    tmin, tmax = interval(threshold, "threshold")
    if tmin is not None and tmin < 0:
        raise ValueError(f"threshold: the minimum must be >= 0; got {tmin}")
    return Filters(hmin, hmax, tmin, tmax)


#: SciPy's property names, by the argument of ``find_peaks`` that asks for
#: them (``width`` also returns the ``prominence`` ones, as SciPy does)
PROPERTIES = {
    "plateau_size": ("plateau_sizes", "left_edges", "right_edges"),
    "height": ("peak_heights",),
    "threshold": ("left_thresholds", "right_thresholds"),
    "prominence": ("prominences", "left_bases", "right_bases"),
    "width": ("widths", "width_heights", "left_ips", "right_ips"),
}


class Selection(NamedTuple):
    """SciPy's other peak rules (``plateau_size``, ``distance``,
    ``prominence``, ``width`` with ``wlen`` and ``rel_height``), validated:
    ``(min, max)`` pairs with ``None`` for an absent bound, ``distance`` as
    given (the kernels round it up, as SciPy does), ``wlen`` rounded up to an
    int or -1 for the whole line."""

    plateau_size: tuple = (None, None)
    distance: float | None = None
    prominence: tuple = (None, None)
    width: tuple = (None, None)
    wlen: int = -1
    rel_height: float = 0.5
    #: whether prominences are computed (a ``prominence`` or ``width`` rule, or asked for)
    need_prominence: bool = False
    #: whether widths are computed (a ``width`` rule, or asked for)
    need_width: bool = False


def _real(value, name):
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number; got {value!r}") from None
    if math.isnan(v):
        raise ValueError(f"{name} is NaN")
    return v


def distance(value):
    """SciPy's ``distance``: None, or a number >= 1."""
    if value is None:
        return None
    v = _real(value, "distance")
    if v < 1:
        raise ValueError(f"`distance` must be greater or equal to 1; got {value!r}")
    return v


def wlen(value):
    """SciPy's ``_arg_wlen_as_expected``: None is -1 (the whole line); a
    number above 1 is rounded up to an int; anything else a ValueError."""
    if value is None:
        return -1
    v = _real(value, "wlen")
    if not 1 < v:
        raise ValueError(f"`wlen` must be larger than 1, was {value}")
    if v > 2**62:
        return -1  # a window wider than any line (SciPy overflows on inf)
    return int(math.ceil(v))


def rel_height(value):
    """SciPy's ``rel_height``: a number >= 0."""
    v = _real(value, "rel_height")
    if v < 0:
        raise ValueError(f"`rel_height` must be greater or equal to 0.0; got {value!r}")
    return v


def selection(plateau_size=None, distance_=None, prominence=None, width=None, wlen_=None, rel_height_=0.5, *,
              need_prominence=False, need_width=False):
    """The :class:`Selection` of SciPy-style arguments; ``None`` where no rule
    is set and nothing is to be measured (the fast peak kernels then apply)."""
    plateau = interval(plateau_size, "plateau_size")
    prom = interval(prominence, "prominence")
    wid = interval(width, "width")
    d = distance(distance_)
    need_width = need_width or width is not None
    need_prominence = need_prominence or need_width or prominence is not None
    # As SciPy: ``wlen`` and ``rel_height`` are checked where they are used.
    window = wlen(wlen_) if need_prominence else -1
    rh = rel_height(rel_height_) if need_width else 0.5
    if plateau_size is None and d is None and not need_prominence:
        return None
    return Selection(plateau, d, prom, wid, window, rh, need_prominence, need_width)


def rtol(value, work):
    """The noise floor's ``rtol`` as a scalar of the working dtype ``work``;
    ``None`` is 8 x its machine epsilon (SPEC section 4)."""
    if value is None:
        return work.type(8 * np.finfo(work).eps)
    try:
        r = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"rtol must be a real number or None; got {value!r}") from None
    if not math.isfinite(r) or r < 0:
        raise ValueError(f"rtol must be finite and >= 0; got {value!r}")
    return work.type(r)


def parse_axis(text):
    """A command line's ``--axis``: an int or a comma-separated list of ints
    (parentheses allowed), for ``argparse``'s ``type=``."""
    parts = [p for p in text.replace("(", "").replace(")", "").split(",") if p.strip()]
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--axis takes an int or a comma-separated list of ints; got {text!r}") from None
    return values[0] if len(values) == 1 else values
