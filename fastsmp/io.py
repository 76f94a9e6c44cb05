"""Stored arrays bigger than memory: :func:`scan_array` streams a ``.npy``
(memory-mapped), zarr or HDF5 array in tiles that hold whole lines, reduces
each tile with :func:`fastsmp.smp`, and returns the result or writes it as
``.npy`` or Parquet.

Memory stays bounded whatever the size of the array: a tile is at most
``chunk_bytes`` (unless one block of whole lines is bigger), and the pages of
a memory-mapped ``.npy`` are released after each tile is copied out. Nothing
here needs torch; h5py, zarr, pyarrow and tqdm are imported only when a
function needs them. ``fastsmp smp FILE`` (:mod:`fastsmp.cli`) drives
:func:`scan_array` from the command line. See ``docs/scan.md``.

- the sources: :class:`_StoredArray` gives ``.npy`` files (:class:`_NpyFile`),
  HDF5 datasets, zarr arrays and opened array-likes one face
  (:func:`_open_stored`);
- the tiling: :func:`tile_shape` and :func:`_tiles`;
- the sinks: the result in memory, in ``.npy`` files or in a Parquet table,
  written under a temporary name and renamed when complete
  (:func:`_result_sink`).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import mmap
import os
from pathlib import Path

import numpy as np

from ._args import axes as normalize_axes, working_dtype
from ._version import __version__


# ---------------------------------------------------------------------------
# the sources: .npy, HDF5, zarr and array-likes, behind one face
# ---------------------------------------------------------------------------


class _StoredArray:
    """A uniform face for the arrays :func:`scan_array` reads: ``shape``,
    ``dtype``, ``chunks`` (storage chunks or None), ``read(slices)`` (the
    tile as a NumPy array) and ``close()``."""

    chunks = None

    def __init__(self, array):
        self.array = array
        self.shape = tuple(array.shape)
        self.dtype = np.dtype(array.dtype)
        chunks = getattr(array, "chunks", None)
        self.chunks = tuple(chunks) if isinstance(chunks, tuple) and all(isinstance(c, int) for c in chunks) else None

    def read(self, slices):
        return np.asarray(self.array[slices])

    def close(self):
        pass


class _NpyFile(_StoredArray):
    """A ``.npy`` file mapped read-only. Each tile is copied out and the
    pages it touched are dropped from the process (``madvise(MADV_DONTNEED)``),
    so the resident memory stays about one tile whatever the file size."""

    def __init__(self, path):
        header = np.load(path, mmap_mode="r", allow_pickle=False)  # parses the header; no data read
        shape, dtype, offset = header.shape, header.dtype, getattr(header, "offset", 0)
        fortran = header.ndim > 1 and header.flags.f_contiguous and not header.flags.c_contiguous
        del header
        with open(path, "rb") as f:
            self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if math.prod(shape) else None
        array = (
            np.ndarray(shape, dtype, buffer=self._map, offset=offset, order="F" if fortran else "C")
            if self._map is not None
            else np.empty(shape, dtype)
        )
        super().__init__(array)
        self._offset = offset

    def read(self, slices):
        # A C-ordered private copy: the kernels see the same array type for
        # every source (no extra compilation for read-only strided views), and
        # the mapped pages can be released before the tile is reduced.
        tile = self.array[slices].copy(order="C")
        self._release_pages(slices)
        return tile

    def _release_pages(self, slices):
        if self._map is None or not hasattr(mmap, "MADV_DONTNEED"):
            return
        first = [s.start for s in slices]
        last = [s.stop - 1 for s in slices]
        strides = self.array.strides
        lo = self._offset + sum(i * st for i, st in zip(first, strides))
        hi = self._offset + sum(i * st for i, st in zip(last, strides)) + self.dtype.itemsize
        page = mmap.PAGESIZE
        lo = lo // page * page
        self._map.madvise(mmap.MADV_DONTNEED, lo, min(hi, len(self._map)) - lo)

    def close(self):
        self.array = None
        if self._map is not None:
            with contextlib.suppress(BufferError):
                self._map.close()


def _sole_member(names, what, path):
    if len(names) == 1:
        return names[0]
    raise ValueError(f"{path} holds {len(names)} {what}s ({', '.join(names)}); choose one with key=... (--key)")


def _open_hdf5(path, key):
    import h5py

    f = h5py.File(path, "r")
    if key is None:
        names = []
        f.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
        key = _sole_member(names, "dataset", path)
    stored = _StoredArray(f[key])
    stored.close = f.close
    return stored


def _open_zarr(path, key):
    import zarr

    node = zarr.open(str(path), mode="r")
    if not hasattr(node, "shape"):  # a group
        if key is None:
            key = _sole_member([name for name, _ in node.arrays()], "array", path)
        node = node[key]
    return _StoredArray(node)


def _open_stored(source, key):
    if not isinstance(source, (str, os.PathLike)):
        if not all(hasattr(source, a) for a in ("shape", "dtype", "__getitem__")):
            raise TypeError(f"scan_array reads a path or an array-like with shape, dtype and slicing; got {type(source).__name__}")
        return _StoredArray(source)
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"no such file or directory: {path}")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return _NpyFile(path)
    if suffix in (".h5", ".hdf5", ".hdf", ".he5"):
        return _open_hdf5(path, key)
    if suffix == ".zarr" or path.is_dir():
        return _open_zarr(path, key)
    raise ValueError(f"scan_array reads .npy, zarr (.zarr directory) and HDF5 (.h5/.hdf5) arrays; got {path}")


# ---------------------------------------------------------------------------
# the tiles
# ---------------------------------------------------------------------------


def tile_shape(shape, axes, itemsize, budget_bytes, storage_chunks=None):
    """The tile :func:`scan_array` reads at a time: whole along the line
    ``axes``; along the other axes, outermost first, cut until the tile
    holds at most ``budget_bytes`` (one block of whole lines at least),
    rounded down to whole storage chunks where it can be.

    Examples
    --------
    >>> from fastsmp.io import tile_shape
    >>> tile_shape((1000, 50, 400), axes=(2,), itemsize=4, budget_bytes=1_000_000)
    [12, 50, 400]
    >>> tile_shape((1000, 50, 400), axes=(0,), itemsize=4, budget_bytes=100_000)
    [1000, 1, 25]
    """
    tile = list(shape)
    for a in (a for a in range(len(shape)) if a not in axes):
        nbytes = math.prod(tile) * itemsize
        if nbytes <= budget_bytes:
            break
        per_step = nbytes // max(tile[a], 1)
        tile[a] = max(1, budget_bytes // max(per_step, 1))
        chunk = storage_chunks[a] if storage_chunks else None
        if chunk and tile[a] >= chunk:
            tile[a] -= tile[a] % chunk
    return tile


def _tiles(shape, tile):
    ranges = [range(0, n, t) for n, t in zip(shape, tile)]
    for corner in itertools.product(*ranges):
        yield tuple(slice(c, min(c + t, n)) for c, t, n in zip(corner, tile, shape))


# ---------------------------------------------------------------------------
# the sinks: in memory, .npy or Parquet
# ---------------------------------------------------------------------------


class _MemoryResult:
    def __init__(self, shape, dtype):
        self.smp = np.empty(shape, dtype)
        self.count = np.empty(shape, np.int64)

    def put(self, kept_slices, smp, count):
        self.smp[kept_slices], self.count[kept_slices] = smp, count

    def finish(self, return_counts):
        smp = self.smp[()] if self.smp.ndim == 0 else self.smp
        count = self.count[()] if self.count.ndim == 0 else self.count
        return (smp, count) if return_counts else smp

    def abort(self):
        pass


class _NpyResult:
    """Results written into ``.npy`` files (SMP, and counts next to it as
    ``NAME-counts.npy``) under temporary names, renamed when complete."""

    def __init__(self, path, shape, dtype, with_counts):
        self.path = Path(path)
        self.paths = [self.path] + ([self.path.with_name(self.path.stem + "-counts.npy")] if with_counts else [])
        self.tmps = [p.with_name(f".{p.name}.tmp-{os.getpid()}") for p in self.paths]
        self.arrays = [np.lib.format.open_memmap(self.tmps[0], mode="w+", dtype=dtype, shape=shape)]
        if with_counts:
            self.arrays.append(np.lib.format.open_memmap(self.tmps[1], mode="w+", dtype=np.int64, shape=shape))

    def put(self, kept_slices, smp, count):
        for array, values in zip(self.arrays, (smp, count)):
            array[kept_slices] = values

    def finish(self, return_counts):
        for array, tmp, path in zip(self.arrays, self.tmps, self.paths):
            array.flush()
            del array
            os.replace(tmp, path)
        self.arrays = []
        return self.path

    def abort(self):
        self.arrays = []
        for tmp in self.tmps:
            tmp.unlink(missing_ok=True)


class _ParquetResult:
    """Results as a long Parquet table: ``index_<axis>`` for each kept axis,
    ``smp``, ``count``, one row per block, written tile by tile."""

    def __init__(self, path, kept_axes, dtype, metadata):
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.path = Path(path)
        self.tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        fields = [(f"index_{a}", pa.int64()) for a in kept_axes]
        fields += [("smp", pa.from_numpy_dtype(dtype)), ("count", pa.int64())]
        self.schema = pa.schema(fields, metadata={"fastsmp": json.dumps(metadata, sort_keys=True)})
        self.writer = pq.ParquetWriter(self.tmp, self.schema)

    def put(self, kept_slices, smp, count):
        import pyarrow as pa

        grids = np.indices(np.shape(smp), dtype=np.int64) if np.ndim(smp) else np.zeros((0, 1), np.int64)
        columns = [(g + s.start).reshape(-1) for g, s in zip(grids, kept_slices)]
        columns += [np.reshape(smp, -1), np.reshape(count, -1)]
        self.writer.write_table(pa.table(columns, schema=self.schema))

    def finish(self, return_counts):
        self.writer.close()
        os.replace(self.tmp, self.path)
        return self.path

    def abort(self):
        with contextlib.suppress(Exception):
            self.writer.close()
        self.tmp.unlink(missing_ok=True)


def _result_sink(out, result_shape, kept_axes, work, return_counts, metadata):
    if out is None:
        return _MemoryResult(result_shape, work)
    out = Path(out)
    if not out.parent.is_dir():
        raise OSError(f"cannot write {out}: the directory {out.parent} does not exist")
    if out.suffix == ".npy":
        return _NpyResult(out, result_shape, work, return_counts)
    if out.suffix == ".parquet":
        return _ParquetResult(out, kept_axes, work, metadata)
    raise ValueError(f"scan_array writes .npy or .parquet; got {out}")


# ---------------------------------------------------------------------------
# scan_array
# ---------------------------------------------------------------------------


def scan_array(source, axis=-1, *, out=None, key=None, chunk_bytes=64 << 20, height=None, threshold=None,
               rtol=None, nan_policy="propagate", return_counts=False, backend="auto", progress=True):
    """:func:`fastsmp.smp` of a stored array of any size, in bounded memory.

    The array is read in tiles that are whole along every line axis and cut
    along the other axes (outermost first, on storage-chunk boundaries where
    possible) to at most ``chunk_bytes``; each tile is reduced and its pages
    released before the next is read. Peak memory is about two tiles (a tile
    may be converted to the working dtype) plus the result, unless one block
    of whole lines is itself bigger than ``chunk_bytes``.

    Parameters
    ----------
    source : str, Path or array-like
        A ``.npy`` file (memory-mapped), a zarr array or group (directory),
        an HDF5 file (``.h5``/``.hdf5``), or an opened array (``zarr.Array``,
        ``h5py.Dataset``, ``np.memmap``...).
    axis : int or tuple of int
        As in :func:`fastsmp.smp`.
    out : str or Path, optional
        ``.npy``: SMP saved there (and counts in ``NAME-counts.npy`` with
        ``return_counts``); ``.parquet``: a long table with ``index_<axis>``
        columns for the kept axes, ``smp`` and ``count``. Written under a
        temporary name and renamed when complete. Without ``out`` the result
        is returned in memory.
    key : str, optional
        The dataset (HDF5) or array (zarr group) to read; needed only when
        the file holds more than one.
    chunk_bytes : int
        The tile budget in bytes.
    height, threshold, rtol, nan_policy, backend
        As in :func:`fastsmp.smp`.
    return_counts : bool
        Also return (or save) the peak counts.
    progress : bool
        Show a tqdm progress bar in bytes read.

    Returns
    -------
    numpy.ndarray, tuple of them, or pathlib.Path
        What :func:`fastsmp.smp` returns for the whole array, or ``out``.

    Examples
    --------
    >>> import os, tempfile, numpy as np, fastsmp
    >>> from fastsmp.io import scan_array
    >>> path = os.path.join(tempfile.mkdtemp(), "x.npy")
    >>> x = np.abs(np.sin(np.arange(6000.0))).reshape(60, 100)
    >>> np.save(path, x)
    >>> s = scan_array(path, axis=-1, chunk_bytes=8000, progress=False)
    >>> np.array_equal(s, fastsmp.smp(x, axis=-1))
    True
    """
    stored = _open_stored(source, key)
    sink = None
    try:
        axes = normalize_axes(axis, len(stored.shape))
        work = working_dtype(stored.dtype)
        kept = [a for a in range(len(stored.shape)) if a not in axes]
        metadata = {"source": str(source), "axis": list(axes), "fastsmp_version": __version__}
        sink = _result_sink(out, tuple(stored.shape[a] for a in kept), kept, work, return_counts, metadata)
        tile = tile_shape(stored.shape, axes, stored.dtype.itemsize, int(chunk_bytes), stored.chunks)
        smp_kwargs = dict(axis=axes, height=height, threshold=threshold, rtol=rtol, nan_policy=nan_policy, backend=backend)
        _reduce_tiles(stored, tile, kept, sink, smp_kwargs, progress)
        return sink.finish(return_counts)
    except BaseException:
        if sink is not None:
            sink.abort()
        raise
    finally:
        stored.close()


def _reduce_tiles(stored, tile, kept, sink, smp_kwargs, progress):
    from tqdm.auto import tqdm

    import fastsmp

    total = math.prod(stored.shape) * stored.dtype.itemsize
    with tqdm(total=total, unit="B", unit_scale=True, desc="fastsmp smp", disable=not progress) as bar:
        for slices in _tiles(stored.shape, tile):
            block = stored.read(slices)
            smp, count = fastsmp.smp(block, return_counts=True, **smp_kwargs)
            sink.put(tuple(slices[a] for a in kept), smp, count)
            del block
            bar.update(math.prod(s.stop - s.start for s in slices) * stored.dtype.itemsize)
