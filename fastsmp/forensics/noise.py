"""The noise floor of the outputs, estimated from the outputs themselves.

A second difference below the floor is treated as zero. The floor is not a
fixed ``8 * eps``: rounded (float16, bfloat16), quantised (8-bit) or noisy
outputs have second differences of a few quantisation steps or noise standard
deviations everywhere, which would bury the kinks or pass for them. Three
sources are measured and the largest wins:

* **noise**: the median absolute deviation of the fourth difference of each
  line (zero on straight pieces and nearly zero on a finely sampled smooth
  function, so what is left is noise), scaled to the standard deviation of
  the samples;
* **rounding**: the spacing of the floating-point format the values fit in
  (float16, bfloat16, float32, float64; read from the outputs' dtype or from
  their bits);
* **quantisation**: the step of a uniform grid all the values lie on.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["Floor", "mantissa_bits", "grid_step", "line_floor", "pooled_noise"]

#: mantissa bits of the formats outputs are rounded to
FORMAT_BITS = {"float16": 10, "bfloat16": 7, "float32": 23, "float64": 52}
#: the floor, in noise standard deviations of one second difference
NOISE_SIGMAS = 6.0
#: the floor, in quantisation steps (a rounded straight line has |d| <= 2 steps)
QUANTUM_STEPS = 2.5


class Floor(NamedTuple):
    """The floor of each line's |second difference| and where it comes from."""

    value: np.ndarray  #: the floor per line
    noise: np.ndarray  #: the noise standard deviation of the samples per line
    quantum: np.ndarray  #: the rounding / quantisation step per line


def mantissa_bits(values, hint=None):
    """The fewest mantissa bits (7, 10, 23 or 52) all ``values`` fit in;
    ``hint`` (a dtype name) caps it.

    Examples
    --------
    >>> mantissa_bits(np.array([1.0, 1.5, 1.75]))
    7
    >>> mantissa_bits(np.array([0.1]))
    52
    """
    bits = FORMAT_BITS.get(hint, 52)
    m, _ = np.frexp(np.asarray(values, dtype=np.float64))
    for b in (7, 10, 23):
        if b < bits:
            scaled = m * 2.0 ** (b + 1)
            if np.array_equal(scaled, np.round(scaled)):
                return b
    return bits


def grid_step(values):
    """The step ``q`` of a uniform grid all ``values`` lie on, or 0 if they do
    not (fewer than 3 distinct multiples of the smallest difference).

    Examples
    --------
    >>> grid_step(np.array([0.0, 0.25, 0.75, 0.5, 1.5]))
    0.25
    >>> grid_step(np.array([0.0, 0.1, 0.2]))
    0.0
    """
    v = np.unique(np.asarray(values, dtype=np.float64).ravel())
    if v.size < 4:
        return 0.0
    dv = np.diff(v)
    q = dv.min()
    if q <= 1e-12 * np.abs(v).max():
        return 0.0
    k = (v - v[0]) / q
    if np.max(np.abs(k - np.round(k))) > 1e-3:
        return 0.0
    return float(q) if np.unique(np.round(dv / q)).size >= 2 or v.size >= 16 else 0.0


def pooled_noise(V, component, k):
    """The noise standard deviation of each of ``k`` output components: the
    smallest over its lines (rows of ``V``, finest scale) of the per-line
    estimate. Noise is the same along every line, but a line that crosses
    many kinks or bends inflates its own estimate (all of it is signal); the
    quietest line tells the noise. For pure noise the minimum of 26 lines of
    65 samples is about 0.6 of the true value, so the floor
    (:data:`NOISE_SIGMAS`) is about 3.5 true sigmas.

    Examples
    --------
    >>> V = np.random.default_rng(0).normal(size=(20, 65)) * 0.1
    >>> bool(0.04 < pooled_noise(V, np.zeros(20, int), 1)[0] < 0.1)
    True
    """
    sigma = line_floor(V).noise
    return np.array([sigma[component == c].min() if np.any(component == c) else 0.0 for c in range(k)])


def line_floor(V, bits=52, grid=0.0, sigma=None):
    """The floor of |second difference| for each line (row) of ``V``.

    Parameters
    ----------
    V : ndarray, shape (L, n)
        Outputs along the lines, ``n >= 5``.
    bits : int
        Mantissa bits of the outputs (:func:`mantissa_bits`).
    grid : float or ndarray
        The step of the outputs' quantisation grid (:func:`grid_step`), or 0.
    sigma : ndarray, optional
        The noise standard deviation per line (:func:`pooled_noise`); by
        default each line's own estimate.

    Returns
    -------
    Floor

    Examples
    --------
    >>> V = np.linspace(0, 1, 33)[None] ** 2
    >>> fl = line_floor(V)
    >>> bool(fl.value[0] < 1e-12)
    True
    """
    V = np.asarray(V, dtype=np.float64)
    d4 = np.diff(V, n=4, axis=1)
    if sigma is None:
        sigma = 1.4826 * np.median(np.abs(d4), axis=1) / np.sqrt(70.0)
    top = np.abs(V).max(axis=1)
    spacing = np.where(top > 0, 2.0 ** (np.floor(np.log2(np.where(top > 0, top, 1.0))) - bits), 0.0)
    quantum = np.maximum(spacing, grid)
    value = np.maximum(NOISE_SIGMAS * np.sqrt(6.0) * sigma, QUANTUM_STEPS * quantum)
    # float64 rounding of the second difference itself
    value = np.maximum(value, 16 * np.finfo(np.float64).eps * top)
    return Floor(value, sigma, quantum)
