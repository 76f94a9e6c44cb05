"""fastsmp on Dask arrays: :func:`smp` and :func:`find_peaks`, chunked any way.

How it splits the work
----------------------
A line must be whole to find its peaks, so each function first rechunks the
array to **one chunk along every line axis**; the other axes are rechunked
to ``"auto"``, which makes dask pick their chunk sizes so that a block stays
near the ``array.chunk-size`` setting (128 MiB by default; set it with
``dask.config.set({"array.chunk-size": "64MiB"})``). Every block then holds
whole lines and is reduced by the ordinary in-memory kernel, so the result
equals :func:`fastsmp.smp` on the whole array exactly.

Memory cost: a task holds one block (about ``array.chunk-size``, or one
block of whole lines along the line axes if that is bigger: a single line
of 10**9 float64 samples needs 8 GB in one task) plus its result; the
rechunk itself moves data between workers and, with the default task-based
rechunk, can hold a few input chunks per output block at once. Arrays
already chunked whole along the line axes are not moved at all. The
alternative, overlapping chunks along the line with a partial-sum combine,
would keep chunks small but is not implemented.

Threads
-------
Dask runs tasks on several threads at once, and each task calls Numba
``parallel=True`` kernels. Numba's ``workqueue`` threading layer aborts the
process when two threads launch parallel kernels concurrently; the ``omp``
and ``tbb`` layers are safe. fastsmp's CPU backend guards every launch:
under ``workqueue`` (and before Numba has picked a layer) launches take
turns behind a process-wide lock, each still using all of Numba's threads;
under ``omp``/``tbb`` they run concurrently. :func:`kernels_are_threadsafe`
tells which case holds in the calling process (on a ``distributed`` worker,
ask with ``client.run(fastsmp.dask.kernels_are_threadsafe)``). Choose a safe
layer with ``NUMBA_THREADING_LAYER=omp`` (or ``tbb``) in the environment of
the workers before Numba starts.
"""

from __future__ import annotations

import threading

import numpy as np

from ._args import axes as normalize_axes
from ._args import selection as check_rules
from ._args import working_dtype

__all__ = ["find_peaks", "kernels_are_threadsafe", "smp"]

#: Numba threading layers that may be entered by several threads at once
THREADSAFE_LAYERS = ("omp", "tbb")

_layer_lock = threading.Lock()
_threadsafe = None


def kernels_are_threadsafe():
    """Whether fastsmp's parallel kernels run concurrently when called from
    several threads of this process (Numba's threading layer is ``omp`` or
    ``tbb``); otherwise the calls take turns, which is safe but serial.

    The first call launches one small kernel so that Numba picks its layer.

    Examples
    --------
    >>> import numba
    >>> from fastsmp.dask import kernels_are_threadsafe
    >>> kernels_are_threadsafe() == (numba.threading_layer() in ("omp", "tbb"))
    True
    """
    global _threadsafe
    if _threadsafe is None:
        with _layer_lock:
            if _threadsafe is None:
                import numba

                import fastsmp

                fastsmp.smp(np.zeros((1, 8)), backend="cpu")  # a parallel launch: Numba chooses its layer now
                _threadsafe = numba.threading_layer() in THREADSAFE_LAYERS
    return _threadsafe


def _axes_of(axis, ndim):
    return normalize_axes(axis, ndim)


def _whole_along(darr, axes):
    """``darr`` rechunked to one chunk along ``axes`` and ``"auto"`` along the rest."""
    if all(len(darr.chunks[a]) == 1 for a in axes):
        return darr
    return darr.rechunk({a: (-1 if a in axes else "auto") for a in range(darr.ndim)})


def _smp_block(block, axes, backend, smp_kwargs):
    import fastsmp

    s, n = fastsmp.smp(block, axis=axes, keepdims=True, return_counts=True, backend=backend, **smp_kwargs)
    # one float64 array holds both (counts are exact in float64 up to 2**53)
    return np.stack([np.asarray(s, np.float64), np.asarray(n, np.float64)], axis=-1)


def smp(darr, axis=-1, *, height=None, threshold=None, rtol=None, keepdims=False, nan_policy="propagate",
        return_counts=False, backend="auto", distance=None, prominence=None, width=None, wlen=None,
        rel_height=0.5, plateau_size=None):
    """:func:`fastsmp.smp` of a dask array, lazily.

    Parameters
    ----------
    darr : dask.array.Array
        Chunked any way: it is rechunked whole along the line axes (see the
        module notes for the memory this costs).
    axis, height, threshold, rtol, keepdims, nan_policy, return_counts, backend
        As in :func:`fastsmp.smp`. ``backend`` applies inside each task
        (``"auto"`` is ``"cpu"`` for NumPy blocks).
    distance, prominence, width, wlen, rel_height, plateau_size
        SciPy's other peak rules, as in :func:`fastsmp.smp` (checked now,
        not when computed).

    Returns
    -------
    dask.array.Array or tuple of them
        SMP in the working dtype (and counts, int64); call ``.compute()``.
        ``nan_policy="raise"`` raises when computed.

    Examples
    --------
    >>> import dask.array as da, numpy as np, fastsmp, fastsmp.dask
    >>> x = np.abs(np.sin(np.arange(4000.0))).reshape(40, 100)
    >>> lazy = fastsmp.dask.smp(da.from_array(x, chunks=(7, 30)), axis=-1)
    >>> np.array_equal(lazy.compute(scheduler="threads"), fastsmp.smp(x, axis=-1))
    True
    """
    import dask.array as da


    axes = _axes_of(axis, darr.ndim)
    work = working_dtype(darr.dtype)
    darr = _whole_along(darr, axes)
    rules = {"distance": distance, "prominence": prominence, "width": width, "wlen": wlen,
             "rel_height": rel_height, "plateau_size": plateau_size}
    check_rules(plateau_size, distance, prominence, width, wlen, rel_height)  # errors now, not at compute
    smp_kwargs = {"height": height, "threshold": threshold, "rtol": rtol, "nan_policy": nan_policy, **rules}
    chunks = tuple((1,) if a in axes else c for a, c in enumerate(darr.chunks)) + ((2,),)
    both = da.map_blocks(
        _smp_block, darr, axes, backend, smp_kwargs, chunks=chunks, new_axis=darr.ndim,
        dtype=np.float64, meta=np.empty((0,) * (darr.ndim + 1), np.float64),
    )
    if not keepdims:
        both = both.squeeze(axis=axes)
    sums = both[..., 0].astype(work)
    if return_counts:
        return sums, both[..., 1].astype(np.int64)
    return sums


def _find_peaks_block(block, axis, backend, filters):
    import fastsmp

    return np.asarray(fastsmp.find_peaks(block, axis=axis, backend=backend, **filters))


def find_peaks(darr, axis=-1, *, height=None, threshold=None, backend="auto", distance=None, prominence=None,
               width=None, wlen=None, rel_height=0.5, plateau_size=None):
    """:func:`fastsmp.find_peaks` of a dask array: a lazy boolean mask shaped
    like ``darr``, chunked whole along ``axis``. All of SciPy's rules apply
    (checked now, not when computed); properties are not returned (their
    per-block arrays would be ragged: call :func:`fastsmp.find_peaks` on the
    computed blocks for them).

    Examples
    --------
    >>> import dask.array as da, numpy as np, fastsmp, fastsmp.dask
    >>> a = np.random.default_rng(0).random((30, 50))
    >>> mask = fastsmp.dask.find_peaks(da.from_array(a, chunks=(8, 9)), axis=0, height=0.5)
    >>> np.array_equal(mask.compute(), fastsmp.find_peaks(a, axis=0, height=0.5))
    True
    >>> mask = fastsmp.dask.find_peaks(da.from_array(a, chunks=(8, 9)), axis=0, distance=3, prominence=0.2)
    >>> np.array_equal(mask.compute(), fastsmp.find_peaks(a, axis=0, distance=3, prominence=0.2))
    True
    """
    import dask.array as da

    (ax,) = _axes_of(axis, darr.ndim)
    darr = _whole_along(darr, (ax,))
    filters = {"height": height, "threshold": threshold, "distance": distance, "prominence": prominence,
               "width": width, "wlen": wlen, "rel_height": rel_height, "plateau_size": plateau_size}
    check_rules(plateau_size, distance, prominence, width, wlen, rel_height)  # errors now, not at compute
    return da.map_blocks(
        _find_peaks_block, darr, ax, backend, filters, dtype=np.bool_, meta=np.empty((0,) * darr.ndim, np.bool_)
    )
