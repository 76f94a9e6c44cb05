"""The public functions: check the arguments, adapt the input, pick the
backend's function, and wrap the result.

``fastsmp.smp(x)`` runs :func:`fastsmp._arrays.prepare` (the input as a host
or device array in the working dtype, and the backend module), checks the
arguments with :mod:`fastsmp._args`, then hands the backend 3-D line views
``(outer, n, inner)`` (:meth:`~fastsmp._arrays.Prepared.line_view`): one
``smp_lines`` call per named axis, or one ``smp_maps`` call for the last two
axes of small maps, and ``sum_blocks`` to add the lines of each block when
several axes are named. Results go back as the caller's kind of array.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from . import _args
from ._arrays import prepare
from .backends.cuda import memory as device


def available_backends():
    """Backends that can run here, in order of preference for host data.

    Returns
    -------
    list of str
        ``'numpy'`` and ``'cpu'`` always; ``'cuda'`` when a GPU with a
        working driver is present (or ``NUMBA_ENABLE_CUDASIM=1``).

    Examples
    --------
    >>> import fastsmp
    >>> fastsmp.available_backends()[:2]
    ['numpy', 'cpu']
    """
    return ["numpy", "cpu"] + (["cuda"] if device.available() else [])


@functools.lru_cache(maxsize=16)
def _block_order(shape, axis, axes):
    """For the lines along ``axis`` (in C order over ``shape`` without it),
    the line indices of each block: rows are blocks (the kept axes, C order),
    columns the lines inside one block."""
    rest = [a for a in range(len(shape)) if a != axis]
    shape_wo = [shape[a] for a in rest]
    kept = [k for k, a in enumerate(rest) if a not in axes]
    named = [k for k, a in enumerate(rest) if a in axes]
    lines = np.arange(math.prod(shape_wo), dtype=np.int64).reshape(shape_wo)
    blocks = math.prod(shape_wo[k] for k in kept)
    per_block = math.prod(shape_wo[k] for k in named)
    order = np.ascontiguousarray(lines.transpose(kept + named).reshape(blocks, per_block))
    order.flags.writeable = False  # memoised: shared between calls
    return order


def _first_bad_line(line_sums, shape, axis, backend):
    bad = np.flatnonzero(np.isnan(backend.to_host(line_sums)))
    if bad.size == 0:
        return None
    rest = [shape[a] for a in range(len(shape)) if a != axis]
    position = list(np.unravel_index(bad[0], rest)) if rest else []
    position.insert(axis, ":")
    return "x[" + ", ".join(str(int(p)) if p != ":" else ":" for p in position) + "]"


def smp(x, axis=-1, *, height=None, threshold=None, rtol=None, keepdims=False,
        nan_policy="propagate", return_counts=False, backend="auto"):
    """Sum of the magnitude of peaks (SMP) of the second difference.

    For each line ``v`` of ``x`` along ``axis``: ``d = (v[j] + v[j+2]) -
    2*v[j+1]``, ``a = |d|`` above a rounding-noise floor ``rtol * s`` (else
    0), and the SMP is the sum of the heights of the peaks of ``a`` (local
    maxima in the sense of :func:`scipy.signal.find_peaks`). Over several
    axes, the SMP of a block is the sum over every named axis of the SMPs of
    all lines along that axis inside the block.

    Parameters
    ----------
    x : array_like, torch.Tensor, or GPU array
        Real numbers, at least 1-D. Float64 and integer input is measured in
        float64; float32, float16 and bfloat16 in float32. NumPy arrays,
        array-likes and torch CPU tensors run on the CPU; objects exposing
        ``__cuda_array_interface__`` (torch CUDA tensors, CuPy, Numba device
        arrays) run on the GPU without a host copy.
    axis : int or tuple of ints, default -1
        The axis (or axes) the lines run along.
    height : number or (min, max), optional
        Keep peaks with ``min <= a[p] <= max`` (either bound may be None).
    threshold : number or (min, max), optional
        Keep peaks whose vertical distance to both direct neighbours lies in
        ``[min, max]``.
    rtol : float, optional
        Noise floor relative to ``(|v[j]| + |v[j+2]|) + 2*|v[j+1]|``;
        default 8 x machine epsilon of the working dtype. 0 turns it off.
    keepdims : bool, default False
        Keep the named axes with size 1.
    nan_policy : {'propagate', 'raise'}, default 'propagate'
        A line holding a NaN or an inf has SMP NaN and count 0, or raises
        ``ValueError`` naming the first such line.
    return_counts : bool, default False
        Also return the number of kept peaks (int64).
    backend : {'auto', 'numpy', 'cpu', 'cuda'}, default 'auto'
        ``'numpy'`` is the pure-NumPy reference; ``'auto'`` picks ``'cpu'``
        for host data and ``'cuda'`` for GPU data.

    Returns
    -------
    smp : array of the working dtype, shaped like ``x`` without ``axis``
        Same kind of array (NumPy, torch, CuPy, Numba device array) on the
        same device as ``x``; a NumPy scalar for a 1-D NumPy input.
    counts : int64 array, only with ``return_counts=True``

    Examples
    --------
    A kink of slope change 3 on a sample, and a straight line:

    >>> import numpy as np, fastsmp
    >>> v = np.array([[0, 0, 0, 0, 3, 6, 9, 12], [1, 2, 3, 4, 5, 6, 7, 8]], dtype=float)
    >>> fastsmp.smp(v)
    array([3., 0.])

    Over two axes: ``|i - 2| + |j - 2|`` has a kink of slope change 2 in the
    middle of each of its 5 rows and 5 columns:

    >>> cone = np.add.outer(np.abs(np.arange(-2, 3)), np.abs(np.arange(-2, 3)))
    >>> fastsmp.smp(cone, axis=(0, 1), return_counts=True)
    (np.float64(20.0), np.int64(10))
    """
    prep = prepare(x, backend)
    with prep.memory():  # results from the input's own allocator
        shape = tuple(prep.array.shape)
        axes = _args.axes(axis, len(shape))
        rtol_w = _args.rtol(rtol, prep.work)
        filters = _args.filters(height, threshold)
        _args.nan_policy(nan_policy)
        be = prep.backend

        out_shape = tuple(1 if a in axes else n for a, n in enumerate(shape)) if keepdims else tuple(
            n for a, n in enumerate(shape) if a not in axes
        )
        block_sums = block_counts = None
        if nan_policy == "propagate" and sorted(axes) == [len(shape) - 2, len(shape) - 1]:
            fused = be.smp_maps(prep.array, rtol_w, filters)  # both axes of small maps in one pass
            if fused is not None:
                block_sums, block_counts = fused
        for ax in axes if block_sums is None else ():
            line_sums, line_counts = be.smp_lines(prep.line_view(ax), rtol_w, filters)
            if nan_policy == "raise":
                where = _first_bad_line(line_sums, shape, ax, be)
                if where is not None:
                    raise ValueError(
                        f"nan_policy='raise': the line {where} along axis {ax} holds a NaN or an inf"
                    )
            if len(axes) == 1:
                block_sums, block_counts = line_sums, line_counts
                break
            if block_sums is None:
                blocks = math.prod(n for a, n in enumerate(shape) if a not in axes)
                block_sums = be.zeros(blocks, np.float64)
                block_counts = be.zeros(blocks, np.int64)
            be.sum_blocks(line_sums, line_counts, _block_order(shape, ax, axes), block_sums, block_counts)

        sums = be.cast(block_sums, prep.work).reshape(out_shape)
        result = prep.wrap(sums)
        if return_counts:
            return result, prep.wrap(block_counts.reshape(out_shape))
        return result


def find_peaks(a, axis=-1, *, height=None, threshold=None, backend="auto"):
    """Batched :func:`scipy.signal.find_peaks`: a mask of the peaks of every line.

    A peak is a maximal run of equal values with a smaller value on both
    sides, reported at its middle (rounded down); the first and last samples
    are never peaks. Every comparison with NaN is false, as in SciPy.

    Parameters
    ----------
    a : array_like, torch.Tensor, or GPU array
        Real numbers, at least 1-D (see :func:`smp` for dtypes and devices).
    axis : int, default -1
        The axis the lines run along.
    height, threshold : number or (min, max), optional
        SciPy's filters, compared in float64.
    backend : {'auto', 'numpy', 'cpu', 'cuda'}, default 'auto'

    Returns
    -------
    mask : bool array shaped like ``a``
        On every line, ``numpy.flatnonzero(mask)`` equals
        ``scipy.signal.find_peaks(line, height=height, threshold=threshold)[0]``.

    Examples
    --------
    >>> import numpy as np, fastsmp
    >>> x = np.array([0, 2, 1, 3, 3, 3, 0, 5])
    >>> np.flatnonzero(fastsmp.find_peaks(x))
    array([1, 4])
    >>> np.flatnonzero(fastsmp.find_peaks(x, height=2.5))
    array([4])
    """
    prep = prepare(a, backend)
    with prep.memory():  # results from the input's own allocator
        shape = tuple(prep.array.shape)
        (ax,) = _args.axes(axis, len(shape), single=True)
        filters = _args.filters(height, threshold)
        mask = prep.backend.find_peaks_lines(prep.line_view(ax), filters)
        return prep.wrap(mask.reshape(shape))


def curvature(x, axis=-1, *, backend="auto"):
    """The second difference ``d[j] = (v[j] + v[j+2]) - 2*v[j+1]`` of every line.

    Computed in the working dtype in exactly this association, so the result
    is bit-identical on every backend.

    Parameters
    ----------
    x : array_like, torch.Tensor, or GPU array
        Real numbers, at least 1-D (see :func:`smp` for dtypes and devices).
    axis : int, default -1
    backend : {'auto', 'numpy', 'cpu', 'cuda'}, default 'auto'

    Returns
    -------
    d : array of the working dtype
        Shaped like ``x`` with ``axis`` shortened by 2 (to 0 for lines
        shorter than 3 samples).

    Examples
    --------
    >>> import numpy as np, fastsmp
    >>> fastsmp.curvature(np.array([0, 1, 4, 9, 16]))
    array([2., 2., 2.])
    """
    prep = prepare(x, backend)
    shape = tuple(prep.array.shape)
    (ax,) = _args.axes(axis, len(shape), single=True)
    with prep.memory():  # results from the input's own allocator
        d = prep.backend.curvature_lines(prep.line_view(ax))
        out_shape = shape[:ax] + (max(shape[ax] - 2, 0),) + shape[ax + 1 :]
        return prep.wrap(d.reshape(out_shape))


def warmup(dtypes=("float32", "float64"), backends=("cpu",)):
    """Compile the kernels now (or load them from Numba's on-disk cache).

    The first call in a process otherwise pays for it: the very first time
    on a machine Numba compiles and caches every kernel it needs (seconds
    per layout, dtype and filter choice; bench/RESULTS.md has the figures),
    afterwards it loads them from its cache (a fraction of a second, most of
    it Numba's own start-up). Every layout of the ``cpu`` backend is prepared:
    short and long rows, panels (a middle axis) and maps (``axis=(-2, -1)``),
    without and with filters. Call this at start-up where the first call's latency matters,
    e.g. in a server or before timing.

    Parameters
    ----------
    dtypes : iterable of dtype-like, default ("float32", "float64")
        Working dtypes to prepare.
    backends : iterable of str, default ("cpu",)
        Backends to prepare; ``"cuda"`` needs a GPU (or the simulator).

    Examples
    --------
    >>> import fastsmp
    >>> fastsmp.warmup(dtypes=["float64"])
    """
    for dtype in dtypes:
        work = _args.working_dtype(dtype)
        # one array per layout of the cpu backend: short rows, long rows
        # (longer than a block), panels (a middle axis), and maps
        lines = ((np.zeros((2, 8), work), -1), (np.zeros((2, 1030), work), -1), (np.zeros((2, 8, 2), work), 1))
        maps = np.zeros((2, 8, 8), work)
        for backend in backends:
            for height in (None, 0.0):  # the kernels without and with filters
                for x, axis in lines:
                    smp(x, axis=axis, height=height, backend=backend)
                    find_peaks(x, axis=axis, height=height, backend=backend)
                smp(maps, axis=(-2, -1), height=height, backend=backend)
            for x, axis in lines:
                curvature(x, axis=axis, backend=backend)
