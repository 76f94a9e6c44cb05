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
import warnings

import numpy as np

from . import _args
from ._arrays import _library, prepare
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
        nan_policy="propagate", return_counts=False, backend="auto", distance=None, prominence=None,
        width=None, wlen=None, rel_height=0.5, plateau_size=None):
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
    distance, prominence, width, wlen, rel_height, plateau_size : optional
        SciPy's other peak rules, as in :func:`find_peaks`, applied to the
        peaks of ``a`` on every line; the SMP then adds the heights of the
        peaks every rule keeps (in order, in float64).

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
        selection = _args.selection(plateau_size, distance, prominence, width, wlen, rel_height)
        _args.nan_policy(nan_policy)
        be = prep.backend

        out_shape = tuple(1 if a in axes else n for a, n in enumerate(shape)) if keepdims else tuple(
            n for a, n in enumerate(shape) if a not in axes
        )
        block_sums = block_counts = None
        if selection is None and nan_policy == "propagate" and sorted(axes) == [len(shape) - 2, len(shape) - 1]:
            fused = be.smp_maps(prep.array, rtol_w, filters)  # both axes of small maps in one pass
            if fused is not None:
                block_sums, block_counts = fused
        for ax in axes if block_sums is None else ():
            if selection is None:
                # one axis: the sums as they are returned, in the working dtype
                dtype = prep.work if len(axes) == 1 else np.float64
                line_sums, line_counts = be.smp_lines(prep.line_view(ax), rtol_w, filters, dtype)
            else:
                line_sums, line_counts = be.smp_selected_lines(prep.line_view(ax), rtol_w, filters, selection)
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


def find_peaks(a, axis=-1, *, height=None, threshold=None, distance=None, prominence=None, width=None,
               wlen=None, rel_height=0.5, plateau_size=None, return_properties=False, backend="auto"):
    """Batched :func:`scipy.signal.find_peaks`: a mask of the peaks of every line.

    A peak is a maximal run of equal values with a smaller value on both
    sides, reported at its middle (rounded down); the first and last samples
    are never peaks. Every comparison with NaN is false, as in SciPy. The
    rules apply in SciPy's order, each to the survivors of the ones before:
    ``plateau_size``, ``height``, ``threshold``, ``distance``, ``prominence``,
    ``width``.

    Parameters
    ----------
    a : array_like, torch.Tensor, or GPU array
        Real numbers, at least 1-D (see :func:`smp` for dtypes and devices).
        Read as float64, as SciPy reads it.
    axis : int, default -1
        The axis the lines run along.
    height, threshold, prominence, width, plateau_size : number or (min, max), optional
        SciPy's rules: a number is a minimum, a pair ``(min, max)`` may hold
        ``None`` for an open end. Compared in float64.
    distance : number >= 1, optional
        Minimal distance between neighbouring peaks; smaller peaks are
        removed first, ties broken as SciPy breaks them (by
        ``numpy.argsort`` of the heights).
    wlen : number > 1, optional
        Window of the prominence computation (rounded up; ``None``: the whole line).
    rel_height : number >= 0, default 0.5
        Height of the width measurement, relative to the prominence.
    return_properties : bool, default False
        Also return SciPy's properties (see Returns).
    backend : {'auto', 'numpy', 'cpu', 'cuda'}, default 'auto'

    Returns
    -------
    mask : bool array shaped like ``a``
        On every line, ``numpy.flatnonzero(mask)`` equals
        ``scipy.signal.find_peaks(line, ...)[0]`` with the same arguments.
    properties : dict, only with ``return_properties=True``
        SciPy's keys for the arguments given (``peak_heights`` for
        ``height``, ``prominences``, ``left_bases`` and ``right_bases`` for
        ``prominence``, ...), each a flat array with one entry per peak, in
        the order of ``numpy.nonzero(numpy.moveaxis(mask, axis, -1))``: the
        lines in C order of the other axes, then by position. They equal the
        concatenation of SciPy's per-line arrays (positions relative to the
        line). :func:`peak_offsets` splits them per line.

    Examples
    --------
    >>> import numpy as np, fastsmp
    >>> x = np.array([0, 2, 1, 3, 3, 3, 0, 5])
    >>> np.flatnonzero(fastsmp.find_peaks(x))
    array([1, 4])
    >>> np.flatnonzero(fastsmp.find_peaks(x, height=2.5))
    array([4])

    Two lines at once, with properties:

    >>> y = np.array([[0, 2, 0, 3, 0, 1, 0], [0, 1, 0, 0, 4, 0, 0]])
    >>> mask, props = fastsmp.find_peaks(y, prominence=1.5, return_properties=True)
    >>> np.argwhere(mask).tolist()
    [[0, 1], [0, 3], [1, 4]]
    >>> props["prominences"]
    array([2., 3., 4.])
    >>> np.split(props["right_bases"], fastsmp.peak_offsets(mask)[1:-1])
    [array([2, 4]), array([5])]
    """
    prep = prepare(a, backend)
    with prep.memory():  # results from the input's own allocator
        shape = tuple(prep.array.shape)
        (ax,) = _args.axes(axis, len(shape), single=True)
        filters = _args.filters(height, threshold)
        asked = {"plateau_size": plateau_size, "height": height, "threshold": threshold,
                 "prominence": prominence, "width": width}
        # SciPy's keys for the arguments given; ``width`` brings the prominences too
        names = tuple(n for arg, value in asked.items()
                      if value is not None or (arg == "prominence" and width is not None)
                      for n in _args.PROPERTIES[arg])
        selection = _args.selection(plateau_size, distance, prominence, width, wlen, rel_height)
        if selection is None and not return_properties:
            mask = prep.backend.find_peaks_lines(prep.line_view(ax), filters)
            return prep.wrap(mask.reshape(shape))
        if selection is None:  # properties of the plain peaks
            selection = _args.Selection()
        view = prep.line_view(ax)
        mask, props = prep.backend.select_peaks_lines(view, selection, filters, names if return_properties else ())
        mask = prep.wrap(mask.reshape(shape))
        if not return_properties:
            return mask
        return mask, {name: prep.wrap(props[name]) for name in names}


def _marks(prep, mask, ax):
    """``mask`` as a bool array of the backend's kind, viewed as lines along ``ax``."""
    shape = tuple(prep.array.shape)
    if prep.backend.on_device and device.is_device_array(mask):
        m = device.as_device_array(mask)
    else:
        m = _on_host(mask)
    if tuple(m.shape) != shape:
        raise ValueError(f"mask must have the shape of a, {shape}; got {tuple(m.shape)}")
    if np.dtype(m.dtype) != np.bool_:
        raise TypeError(
            f"mask must be a boolean array marking the peaks (e.g. from fastsmp.find_peaks); got dtype {m.dtype}. "
            "From peak indices: m = np.zeros(a.shape, bool); m[..., peaks] = True"
        )
    shape3 = prep.line_view(ax).shape
    if prep.backend.on_device:
        return device.lines_view(m if device.is_device_array(m) else device.to_device(m), shape3)
    return m.reshape(shape3)


def _on_host(x):
    """Any supported array as a NumPy array (a copy from a GPU)."""
    if _library(x) == "torch":
        return x.detach().cpu().numpy()
    if device.is_device_array(x):
        return device.to_host(device.as_device_array(x))
    return np.asarray(x)


def _mark_positions(prep, marks):
    """Host positions (within their lines) of the marks, in line order."""
    host = np.asarray(prep.backend.to_host(marks))
    return np.nonzero(np.moveaxis(host, 1, 2))[2]


def peak_prominences(a, mask, axis=-1, *, wlen=None, backend="auto"):
    """Batched :func:`scipy.signal.peak_prominences` at the positions ``mask`` marks.

    The prominence of a peak is its height above the higher of its two
    bases, a base being the lowest sample between the peak and the first
    higher sample on its side (within ``wlen`` samples centred on the peak).

    Parameters
    ----------
    a : array_like, torch.Tensor, or GPU array
        Real numbers, at least 1-D, read as float64.
    mask : bool array shaped like ``a``
        The positions to measure (any positions, as SciPy accepts any
        indices; usually :func:`find_peaks`'s mask).
    axis : int, default -1
    wlen : number > 1, optional
        Window length, rounded up; ``None``: the whole line.
    backend : {'auto', 'numpy', 'cpu', 'cuda'}, default 'auto'

    Returns
    -------
    prominences : float64 array, one per mark
    left_bases, right_bases : int64 arrays, positions within the line
        All flat, in the order of ``numpy.nonzero(numpy.moveaxis(mask, axis, -1))``.

    Warns
    -----
    PeakPropertyWarning
        Where a prominence is 0 (a mark that is not a peak), as SciPy warns.

    Examples
    --------
    >>> import numpy as np, fastsmp
    >>> x = np.array([[0, 3, 1, 2, 0], [1, 0, 2, 0, 1]])
    >>> fastsmp.peak_prominences(x, fastsmp.find_peaks(x))
    (array([3., 1., 2.]), array([0, 2, 1]), array([4, 4, 3]))
    """
    return _measure(a, mask, axis, backend, _args.Selection(wlen=_args.wlen(wlen), need_prominence=True), None,
                    _args.PROPERTIES["prominence"])


def peak_widths(a, mask, axis=-1, *, rel_height=0.5, prominence_data=None, wlen=None, backend="auto"):
    """Batched :func:`scipy.signal.peak_widths` at the positions ``mask`` marks.

    The width of a peak is measured at ``rel_height`` of its prominence
    below it, between the points where the line crosses that height
    (interpolated linearly between samples, and never beyond the bases).

    Parameters
    ----------
    a : array_like, torch.Tensor, or GPU array
        Real numbers, at least 1-D, read as float64.
    mask : bool array shaped like ``a``
        The positions to measure.
    axis : int, default -1
    rel_height : number >= 0, default 0.5
    prominence_data : tuple of 3 flat arrays, optional
        ``(prominences, left_bases, right_bases)`` as :func:`peak_prominences`
        returns them for the same mask; computed (with ``wlen``) when absent.
    wlen : number > 1, optional
        Used only to compute the prominences.
    backend : {'auto', 'numpy', 'cpu', 'cuda'}, default 'auto'

    Returns
    -------
    widths, width_heights, left_ips, right_ips : float64 arrays, one per mark
        Flat, in the order of ``numpy.nonzero(numpy.moveaxis(mask, axis, -1))``.

    Warns
    -----
    PeakPropertyWarning
        Where a width is 0, as SciPy warns.

    Examples
    --------
    >>> import numpy as np, fastsmp
    >>> x = np.array([0, 1, 4, 1, 0, 2, 0])
    >>> widths, heights, left, right = fastsmp.peak_widths(x, fastsmp.find_peaks(x))
    >>> widths, heights
    (array([1.33333333, 1.        ]), array([2., 1.]))
    """
    # As SciPy: ``wlen`` is checked only where prominences are computed.
    selection = _args.Selection(wlen=_args.wlen(wlen) if prominence_data is None else -1,
                                rel_height=_args.rel_height(rel_height),
                                need_prominence=prominence_data is None, need_width=True)
    return _measure(a, mask, axis, backend, selection, prominence_data, _args.PROPERTIES["width"])


class PeakPropertyWarning(RuntimeWarning):
    """A peak property that may not mean what is expected (SciPy's warning
    of the same name): a prominence or a width of 0."""


def _warn_zeros(props, name, what):
    if name in props and np.any(np.asarray(_on_host(props[name])) == 0):
        warnings.warn(f"some peaks have a {what} of 0", PeakPropertyWarning, stacklevel=3)


def _measure(a, mask, axis, backend, selection, prominence_data, names):
    prep = prepare(a, backend)
    with prep.memory():
        shape = tuple(prep.array.shape)
        (ax,) = _args.axes(axis, len(shape), single=True)
        marks = _marks(prep, mask, ax)
        if prominence_data is not None:
            prominence_data = _prominence_data(prep, marks, prominence_data)
        props = prep.backend.measure_peaks_lines(prep.line_view(ax), marks, selection, prominence_data, names)
        _warn_zeros(props, "prominences", "prominence")  # as SciPy warns
        _warn_zeros(props, "widths", "width")
        return tuple(prep.wrap(props[name]) for name in names)


def _prominence_data(prep, marks, data):
    """``(prominences, left_bases, right_bases)`` checked as SciPy checks
    them, as arrays of the backend's kind."""
    try:
        prominences, left_bases, right_bases = data
    except (TypeError, ValueError):
        raise ValueError("prominence_data must be a tuple of three arrays (prominences, left_bases, right_bases)") from None
    host = [_on_host(d) for d in (prominences, left_bases, right_bases)]
    positions = _mark_positions(prep, marks)
    if not all(h.ndim == 1 and h.shape == positions.shape for h in host):
        raise ValueError(
            f"arrays in `prominence_data` must have the same shape as the peaks ({positions.size} marks); "
            f"got shapes {[h.shape for h in host]}"
        )
    prom = host[0].astype(np.float64)
    bases = [h.astype(np.int64) for h in host[1:]]
    n = marks.shape[1]
    bad = ~((0 <= bases[0]) & (bases[0] <= positions) & (positions <= bases[1]) & (bases[1] < n))
    if bad.any():
        raise ValueError(f"prominence data is invalid for peak {positions[np.argmax(bad)]}")
    if prep.backend.on_device:
        return tuple(device.to_device(h) for h in [prom, *bases])
    return (prom, *bases)


def peak_offsets(mask, axis=-1):
    """Where each line's peaks are in the flat property arrays.

    Parameters
    ----------
    mask : bool array (NumPy, torch, or GPU array)
        A mask from :func:`find_peaks` (or any bool array).
    axis : int, default -1
        The axis the lines run along.

    Returns
    -------
    offsets : int64 NumPy array, one more than there are lines
        The peaks of line ``i`` (lines in C order of the other axes) are
        entries ``offsets[i]:offsets[i + 1]`` of every property array;
        ``numpy.split(values, offsets[1:-1])`` gives one array per line.
        ``numpy.nonzero(numpy.moveaxis(mask, axis, -1))`` gives each peak's
        line coordinates and position.

    Examples
    --------
    >>> import numpy as np, fastsmp
    >>> mask = fastsmp.find_peaks(np.array([[0, 1, 0, 1, 0], [0, 0, 0, 0, 0], [0, 1, 0, 0, 0]]))
    >>> fastsmp.peak_offsets(mask)
    array([0, 2, 2, 3])
    """
    mask = _on_host(mask)
    if mask.ndim == 0:
        raise ValueError("mask must have at least one dimension")
    (ax,) = _args.axes(axis, mask.ndim, single=True)
    lines = math.prod(n for a, n in enumerate(mask.shape) if a != ax)
    counts = np.count_nonzero(np.moveaxis(mask, ax, -1).reshape(lines, mask.shape[ax]), axis=1)
    offsets = np.zeros(counts.size + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    return offsets


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
    without and with filters, and the kernels of SciPy's other peak rules.
    Call this at start-up where the first call's latency matters, e.g. in a
    server or before timing.

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
            # SciPy's other rules: the peak-table kernels (they read float64
            # lines: one variant for every dtype), the kernel that decides
            # lines without a table (one variant per dtype) and this dtype's
            # floored magnitude
            x = lines[1][0]
            find_peaks(x, distance=1, prominence=0, width=0, return_properties=True, backend=backend)
            find_peaks(x, plateau_size=1, return_properties=True, backend=backend)
            find_peaks(x, distance=1, prominence=0, width=0, backend=backend)
            # equal peaks within reach: the lines that go back to the table
            smp(np.tile(np.array([0, 0, 1], work), (2, 10)), distance=4, backend=backend)
            peak_widths(x, find_peaks(x, backend=backend), backend=backend)
            smp(x, distance=1, backend=backend)
