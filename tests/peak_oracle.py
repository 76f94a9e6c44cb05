"""SciPy as the oracle of the batched peak functions (issue 18): helpers
shared by test_scipy_peak_finding.py and test_find_peaks_full.py.

The lines of an array along ``axis`` are taken in C order of the other axes
(``np.moveaxis(x, axis, -1)``); every flat property array holds the peaks of
line 0, then of line 1, and so on, positions relative to the line.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.signal

import fastsmp
from strategies import assert_bit_identical

#: SciPy's float64 properties: bit-identical on "numpy" and "cpu"
FLOAT_KEYS = frozenset({"peak_heights", "left_thresholds", "right_thresholds", "prominences",
                        "width_heights", "widths", "left_ips", "right_ips"})
#: SciPy's intp properties: exact on every backend
INT_KEYS = frozenset({"left_bases", "right_bases", "plateau_sizes", "left_edges", "right_edges"})
#: exact backends; "cuda" is within CUDA_RTOL
EXACT_BACKENDS = ("numpy", "cpu")
CUDA_RTOL = 1e-12

TIE_HINT = (
    "SciPy's distance filter visits peaks in the order of np.argsort(x[peaks]) (NumPy's default, "
    "unstable sort: its order among equal heights depends on the NumPy build and the CPU) and "
    "keeps the last-visited of two tied peaks closer than distance"
)


def to_numpy(value):
    """A NumPy array from a NumPy array, a NumPy scalar or a torch tensor."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def lines_of(x, axis):
    """The lines of ``x`` along ``axis`` as rows of a 2-D array (zero-length
    lines and zero lines included)."""
    moved = np.moveaxis(np.asarray(x), axis, -1)
    return moved.reshape(math.prod(moved.shape[:-1]), moved.shape[-1])


def from_lines(rows, shape, axis):
    """Inverse of :func:`lines_of`: rows back into an array of ``shape``."""
    axis = axis % len(shape)
    moved = tuple(n for k, n in enumerate(shape) if k != axis) + (shape[axis],)
    return np.moveaxis(np.asarray(rows).reshape(moved), -1, axis)


def mask_from_positions(shape, axis, positions):
    """A bool mask of ``shape`` marking, on line ``i``, the samples ``positions[i]``."""
    axis = axis % len(shape)
    rows = np.zeros((math.prod(n for k, n in enumerate(shape) if k != axis), shape[axis]), bool)
    for i, p in enumerate(positions):
        rows[i, np.asarray(p, dtype=np.intp)] = True
    return from_lines(rows, shape, axis)


def empty_property(key):
    return np.empty(0, np.float64 if key in FLOAT_KEYS else np.intp)


def scipy_keys(kwargs):
    """The property keys SciPy returns for these arguments."""
    return set(scipy.signal.find_peaks(np.zeros(3), **kwargs)[1])


def concat(arrays, key):
    arrays = list(arrays)
    return np.concatenate(arrays) if arrays else empty_property(key)


def assert_property(got, expected, key, backend, where=""):
    """One flat property array against SciPy's: integers exact (any integer
    dtype), floats bit-identical float64 on the exact backends, within
    CUDA_RTOL on cuda."""
    got = to_numpy(got)
    expected = np.asarray(expected)
    assert got.ndim == 1, f"{key}{where}: {got.ndim}-D, expected flat"
    assert got.shape == expected.shape, f"{key}{where}: {got.shape} peaks, SciPy {expected.shape}"
    if key in INT_KEYS:
        assert got.dtype.kind in "iu", f"{key}{where}: dtype {got.dtype}"
        np.testing.assert_array_equal(got, expected, err_msg=f"{key}{where}")
    elif backend in EXACT_BACKENDS:
        try:
            assert_bit_identical(got, expected)
        except AssertionError as exc:
            raise AssertionError(f"{key}{where}: {exc}; got {got!r}, SciPy {expected!r}") from None
    else:
        assert got.dtype.kind == "f", f"{key}{where}: dtype {got.dtype}"
        np.testing.assert_allclose(got, expected, rtol=CUDA_RTOL, atol=1e-300, equal_nan=True,
                                   err_msg=f"{key}{where}")


def scipy_find_peaks_lines(x, axis, kwargs):
    """SciPy's ``(peaks, properties)`` of every line of ``x`` along ``axis``."""
    return [scipy.signal.find_peaks(line, **kwargs) for line in lines_of(x, axis)]


def check_find_peaks(x, axis, kwargs, backend, mask, props=None):
    """``mask`` (and ``props``) from fastsmp.find_peaks against SciPy, line by
    line; the split of the flat properties by fastsmp.peak_offsets too."""
    mask = to_numpy(mask)
    x = np.asarray(x)
    assert mask.dtype == np.bool_, mask.dtype
    assert mask.shape == x.shape
    expected = scipy_find_peaks_lines(x, axis, kwargs)
    got_lines = lines_of(mask, axis)
    assert got_lines.shape[0] == len(expected)
    for i, (peaks, _) in enumerate(expected):
        got = np.flatnonzero(got_lines[i])
        if not np.array_equal(got, peaks):
            hint = f"\n{TIE_HINT}" if kwargs.get("distance") is not None else ""
            raise AssertionError(f"line {i} {lines_of(x, axis)[i]!r} {kwargs}: peaks {got}, SciPy {peaks}{hint}")
    if props is None:
        return expected
    assert isinstance(props, dict)
    assert set(props) == scipy_keys(kwargs), f"keys {sorted(props)}, SciPy {sorted(scipy_keys(kwargs))}"
    offsets = to_numpy(fastsmp.peak_offsets(mask, axis=axis))
    assert offsets.dtype == np.int64 and offsets.shape == (len(expected) + 1,)
    np.testing.assert_array_equal(offsets, np.concatenate([[0], np.cumsum([len(p) for p, _ in expected])]))
    for key, value in props.items():
        got = to_numpy(value)
        assert_property(got, concat((pr[key] for _, pr in expected), key), key, backend, f" {kwargs}")
        for i, (_, pr) in enumerate(expected):  # split per line, as the docs say
            assert_property(got[offsets[i]:offsets[i + 1]], pr[key], key, backend, f" line {i} {kwargs}")
    return expected


def check_prominences(x, mask, axis, result, backend, wlen=None):
    """fastsmp.peak_prominences's ``result`` against SciPy per line."""
    assert len(result) == 3
    expected = [scipy.signal.peak_prominences(line, np.flatnonzero(m), wlen=wlen)
                for line, m in zip(lines_of(x, axis), lines_of(to_numpy(mask), axis))]
    for k, key in enumerate(("prominences", "left_bases", "right_bases")):
        assert_property(result[k], concat((e[k] for e in expected), key), key, backend, f" wlen={wlen}")
    return expected


def check_widths(x, mask, axis, result, backend, expected_prominence_data=None, rel_height=0.5, wlen=None):
    """fastsmp.peak_widths's ``result`` against SciPy per line; with
    ``expected_prominence_data`` (flat, concatenated) SciPy gets it line by line."""
    assert len(result) == 4
    offsets = to_numpy(fastsmp.peak_offsets(mask, axis=axis))
    expected = []
    for i, (line, m) in enumerate(zip(lines_of(x, axis), lines_of(to_numpy(mask), axis))):
        peaks = np.flatnonzero(m)
        if expected_prominence_data is None:
            expected.append(scipy.signal.peak_widths(line, peaks, rel_height=rel_height, wlen=wlen))
        else:
            pd = tuple(np.asarray(a)[offsets[i]:offsets[i + 1]].astype(t)
                       for a, t in zip(expected_prominence_data, (np.float64, np.intp, np.intp)))
            expected.append(scipy.signal.peak_widths(line, peaks, rel_height=rel_height, prominence_data=pd))
    for k, key in enumerate(("widths", "width_heights", "left_ips", "right_ips")):
        assert_property(result[k], concat((e[k] for e in expected), key), key, backend,
                        f" rel_height={rel_height} wlen={wlen}")
    return expected
