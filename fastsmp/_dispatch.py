"""The one dispatch point: validate arguments, pick a backend, adapt arrays.

Every public function goes through :func:`_prepare`, which turns the input
into a host NumPy array or a Numba device array in the working dtype and
remembers how to hand a result back (NumPy, torch CPU/CUDA, CuPy, Numba
device array). The backends only ever see 3-D views ``(outer, n, inner)``
whose lines run along axis 1.
"""

from __future__ import annotations

import functools
import math
import operator
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from . import _cuda, _reference

try:  # NumPy >= 2
    from numpy.lib.array_utils import normalize_axis_index, normalize_axis_tuple
except ImportError:  # pragma: no cover - NumPy 1.26
    from numpy.core.numeric import normalize_axis_index, normalize_axis_tuple

BACKENDS = ("auto", "numpy", "cpu", "cuda")
NAN_POLICIES = ("propagate", "raise")


def _cpu():
    # Imported on first use: compiling (or loading the cache of) the Numba
    # kernels is not paid by ``import fastsmp``.
    from . import _cpu

    return _cpu


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
    return ["numpy", "cpu"] + (["cuda"] if _cuda.available() else [])


# --------------------------------------------------------------------------
# input adaptation
# --------------------------------------------------------------------------


def working_dtype(dtype):
    """SPEC section 2: float64 for float64 and integers, float32 for the
    narrower floats; everything else is a TypeError."""
    dtype = np.dtype(dtype)
    if dtype.name == "bfloat16" or (dtype.kind == "f" and dtype.itemsize <= 4):
        return np.dtype(np.float32)
    if (dtype.kind == "f" and dtype.itemsize == 8) or dtype.kind in "iu":
        return np.dtype(np.float64)
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


_TORCH_DTYPES = {
    "torch.float64": np.float64,
    "torch.float32": np.float32,
    "torch.float16": np.float16,
    "torch.bfloat16": "bfloat16",
    "torch.int8": np.int8,
    "torch.int16": np.int16,
    "torch.int32": np.int32,
    "torch.int64": np.int64,
    "torch.uint8": np.uint8,
    "torch.uint16": np.uint16,
    "torch.uint32": np.uint32,
    "torch.uint64": np.uint64,
}


def _torch_working_dtype(tensor):
    name = str(tensor.dtype)
    if name not in _TORCH_DTYPES:
        kind = "bool" if "bool" in name else "complex" if "complex" in name else name
        raise TypeError(
            f"fastsmp needs real numbers (floating point or integer); got a "
            f"tensor of dtype {name} ({kind}). Convert it explicitly, e.g. x.float()."
        )
    source = _TORCH_DTYPES[name]
    return np.dtype(np.float32) if source == "bfloat16" else working_dtype(source)


def _is_torch(x):
    return type(x).__module__.split(".")[0] == "torch" and hasattr(x, "detach")


@dataclass
class _Prepared:
    """An input in the working dtype, where it lives, and how to give a
    result back as the caller's kind of array."""

    array: Any  # np.ndarray on the host, a Numba device array on the GPU
    on_device: bool
    work: np.dtype
    wrap: Callable[[Any], Any]
    backend: str
    #: how the cuda backend allocates results, and on which stream it works:
    #: the input's own library's (torch, CuPy) where there is one
    allocate: Callable | None = None
    stream: Any = 0

    def memory(self):
        """Context in which the cuda backend allocates with :attr:`allocate`
        and works on :attr:`stream` (a no-op on the host)."""
        return _cuda.working_with(self.allocate, self.stream)


def _prepare(x, backend):
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; valid backends are {', '.join(map(repr, BACKENDS))}")
    if _is_torch(x):
        return _prepare_torch(x, backend)
    if _cuda.is_device_array(x):
        return _prepare_device(
            x, backend, wrap=_device_wrapper(x), allocate=_device_allocator(x), stream=_device_stream(x)
        )
    arr = np.asarray(x)
    work = working_dtype(arr.dtype)
    return _prepare_host(arr, work, backend, wrap=_numpy_result)


def _numpy_result(r):
    # A 0-d result comes back as a NumPy scalar, as NumPy's reductions do.
    return r[()] if r.ndim == 0 else r


def _prepare_host(arr, work, backend, wrap):
    if arr.ndim == 0:
        raise ValueError("fastsmp needs an array with at least one dimension; got a 0-d array (a scalar)")
    if arr.dtype != work or not arr.dtype.isnative:
        # Integers, float16/bfloat16 and big-endian data are converted once, a
        # copy of the input in the working dtype (documented in the README).
        arr = arr.astype(work)
    if backend == "cuda":
        _cuda.require()
        return _Prepared(_cuda.to_device(arr), True, work, lambda r: wrap(_cuda.to_host(r)), "cuda")
    return _Prepared(arr, False, work, wrap, "cpu" if backend == "auto" else backend)


def _prepare_torch(t, backend):
    import torch

    work = _torch_working_dtype(t)
    t = t.detach()  # a tensor that requires grad is read, never copied, for it
    if t.device.type == "cpu":
        if t.dtype in (torch.bfloat16, torch.float16):
            t = t.float()  # NumPy has no bfloat16: the float32 copy is the working array
        arr = t.resolve_conj().resolve_neg().numpy()  # zero-copy view
        return _prepare_host(arr, work, backend, wrap=lambda r: torch.from_numpy(np.asarray(r)))
    if t.device.type != "cuda":
        raise TypeError(f"fastsmp reads torch tensors on the CPU or on CUDA; got device {t.device}")
    if t.dim() == 0:
        raise ValueError("fastsmp needs an array with at least one dimension; got a 0-d tensor")
    work_torch = getattr(torch, work.name)
    if t.dtype != work_torch:
        t = t.to(work_torch)  # integers, float16, bfloat16: converted on the device
    if not t.is_contiguous():
        t = t.contiguous()  # a device copy (see README: copies)
    device = t.device
    return _prepare_device(
        t,
        backend,
        wrap=lambda r: torch.as_tensor(r, device=device),
        allocate=_cuda.torch_allocator(device),
        stream=_cuda.torch_stream(device),
    )


def _device_wrapper(x):
    module = type(x).__module__.split(".")[0]
    if module == "cupy":
        import cupy

        return cupy.asarray
    return lambda r: r


def _device_allocator(x):
    return _cuda.cupy_allocator() if type(x).__module__.split(".")[0] == "cupy" else None


def _device_stream(x):
    return _cuda.cupy_stream() if type(x).__module__.split(".")[0] == "cupy" else 0


def _prepare_device(x, backend, wrap, allocate=None, stream=0):
    if backend in ("numpy", "cpu"):
        raise ValueError(
            f"backend={backend!r} works on host memory, but the input lives on a GPU; "
            "use backend='cuda' (or 'auto'), or copy the input to the host first"
        )
    _cuda.require()
    dev = _cuda.as_device_array(x)
    if len(dev.shape) == 0:
        raise ValueError("fastsmp needs an array with at least one dimension; got a 0-d array (a scalar)")
    work = working_dtype(dev.dtype)
    if dev.dtype != work:
        with _cuda.working_with(allocate, stream):
            dev = _cuda.cast(dev, work)  # a device copy in the working dtype
    return _Prepared(dev, True, work, wrap, "cuda", allocate, stream)


# --------------------------------------------------------------------------
# argument validation
# --------------------------------------------------------------------------


def _axes(axis, ndim, *, single=False):
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


def _interval(value, name):
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


def _filters(height, threshold):
    hmin, hmax = _interval(height, "height")
    tmin, tmax = _interval(threshold, "threshold")
    if tmin is not None and tmin < 0:
        raise ValueError(f"threshold: the minimum must be >= 0; got {tmin}")
    return hmin, hmax, tmin, tmax


def _rtol(rtol, work):
    if rtol is None:
        return work.type(8 * np.finfo(work).eps)
    try:
        r = float(rtol)
    except (TypeError, ValueError):
        raise TypeError(f"rtol must be a real number or None; got {rtol!r}") from None
    if not math.isfinite(r) or r < 0:
        raise ValueError(f"rtol must be finite and >= 0; got {rtol!r}")
    return work.type(r)


# --------------------------------------------------------------------------
# the work
# --------------------------------------------------------------------------


def _backend_module(name):
    if name == "cpu":
        return _cpu()
    return {"numpy": _reference, "cuda": _cuda}[name]


def _line_view(prep, axis):
    """The ``(outer, n, inner)`` view of the input with lines along ``axis``."""
    shape = tuple(prep.array.shape)
    shape3 = (math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1 :]))
    if prep.on_device:
        return _cuda.lines_view(prep.array, shape3)
    try:
        return prep.array.reshape(shape3, copy=False)
    except ValueError:
        # Strides that cannot be merged (e.g. a transposed 3-D slice): one
        # contiguous copy. The common cases (contiguous input, any axis) are views.
        return np.ascontiguousarray(prep.array).reshape(shape3)
    except TypeError:  # pragma: no cover - NumPy < 2.1 has no copy=
        return prep.array.reshape(shape3)


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


def _first_bad_line(line_sums, shape, axis):
    host = _cuda.to_host(line_sums) if not isinstance(line_sums, np.ndarray) else line_sums
    bad = np.flatnonzero(np.isnan(host))
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
    prep = _prepare(x, backend)
    with prep.memory():  # results from the input's own allocator
        shape = tuple(prep.array.shape)
        axes = _axes(axis, len(shape))
        rtol_w = _rtol(rtol, prep.work)
        filters = _filters(height, threshold)
        if nan_policy not in NAN_POLICIES:
            raise ValueError(f"unknown nan_policy {nan_policy!r}; valid values are {', '.join(map(repr, NAN_POLICIES))}")
        be = _backend_module(prep.backend)

        out_shape = tuple(1 if a in axes else n for a, n in enumerate(shape)) if keepdims else tuple(
            n for a, n in enumerate(shape) if a not in axes
        )
        block_sums = block_counts = None
        maps = getattr(be, "smp_maps", None)  # a fused pass over both axes of small maps
        if maps is not None and nan_policy == "propagate" and sorted(axes) == [len(shape) - 2, len(shape) - 1]:
            fused = maps(prep.array, rtol_w, filters)
            if fused is not None:
                block_sums, block_counts = fused
        for ax in axes if block_sums is None else ():
            line_sums, line_counts = be.smp_lines(_line_view(prep, ax), rtol_w, filters)
            if nan_policy == "raise":
                where = _first_bad_line(line_sums, shape, ax)
                if where is not None:
                    raise ValueError(
                        f"nan_policy='raise': the line {where} along axis {ax} holds a NaN or an inf"
                    )
            if len(axes) == 1:
                block_sums, block_counts = line_sums, line_counts
                break
            if block_sums is None:
                blocks = math.prod(n for a, n in enumerate(shape) if a not in axes)
                block_sums = _zeros(prep, blocks, np.float64)
                block_counts = _zeros(prep, blocks, np.int64)
            be.sum_blocks(line_sums, line_counts, _block_order(shape, ax, axes), block_sums, block_counts)

        sums = _cast(prep, block_sums, prep.work).reshape(out_shape)
        result = prep.wrap(sums)
        if return_counts:
            return result, prep.wrap(block_counts.reshape(out_shape))
        return result


def _zeros(prep, n, dtype):
    return _cuda.zeros(n, dtype) if prep.on_device else np.zeros(n, dtype)


def _cast(prep, arr, dtype):
    if prep.on_device:
        return _cuda.cast(arr, dtype)
    return arr.astype(dtype, copy=False)


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
    prep = _prepare(a, backend)
    with prep.memory():  # results from the input's own allocator
        shape = tuple(prep.array.shape)
        (ax,) = _axes(axis, len(shape), single=True)
        filters = _filters(height, threshold)
        be = _backend_module(prep.backend)
        mask = be.find_peaks_lines(_line_view(prep, ax), filters)
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
    prep = _prepare(x, backend)
    shape = tuple(prep.array.shape)
    (ax,) = _axes(axis, len(shape), single=True)
    be = _backend_module(prep.backend)
    with prep.memory():  # results from the input's own allocator
        d = be.curvature_lines(_line_view(prep, ax))
        out_shape = shape[:ax] + (max(shape[ax] - 2, 0),) + shape[ax + 1 :]
        return prep.wrap(d.reshape(out_shape))


def warmup(dtypes=("float32", "float64"), backends=("cpu",)):
    """Compile the kernels now (or load them from Numba's on-disk cache).

    The first call in a process otherwise pays for it: seconds the very
    first time on a machine (Numba compiles and caches every kernel), a
    fraction of a second afterwards (Numba's own start-up and the cache
    load). Call this at start-up where the first call's latency matters,
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
        rows = np.zeros((2, 8), working_dtype(dtype))
        panels = np.zeros((2, 8, 2), rows.dtype)
        for backend in backends:
            for x, axis in ((rows, -1), (panels, 1)):
                for height in (None, 0.0):  # the kernels without and with filters
                    smp(x, axis=axis, height=height, backend=backend)
                    find_peaks(x, axis=axis, height=height, backend=backend)
                curvature(x, axis=axis, backend=backend)
