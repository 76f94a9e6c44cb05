"""Numba's on-disk cache, keyed on every kernel source at once.

Numba checks a cached function against the file that defines it only (its
time stamp and size). The kernels here span many files and inline helpers
from each other, so after an edit of a helper in one file Numba would load
a stale kernel of another. :func:`install` puts in front of Numba's own cache
locators one for the files of this package whose stamp is a hash of every
source file of :mod:`fastsmp.backends`: any edit of any of them, and only
that, invalidates every cached kernel. It must run before the first
``@njit(cache=True)`` of the package; :mod:`fastsmp.backends.spec`, which
every kernel module imports first, calls it.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def stamp_of(folder):
    """A hash of the names and contents of every ``.py`` file below ``folder``."""
    folder = Path(folder)
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*.py")):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


@functools.lru_cache(maxsize=None)
def source_stamp():
    """:func:`stamp_of` this package, once a process."""
    return stamp_of(PACKAGE)


def _in_package(py_file):
    try:
        return Path(py_file).resolve().is_relative_to(PACKAGE)
    except (OSError, ValueError):
        return False


def _stamped(base):
    """``base`` (a Numba cache locator class), taking only this package's
    files, with :func:`source_stamp` as every file's stamp."""

    class PackageStamped(base):
        @classmethod
        def from_function(cls, py_func, py_file):
            if not _in_package(py_file):
                return None
            return super().from_function(py_func, py_file)

        def get_source_stamp(self):
            return source_stamp()

    PackageStamped.__name__ = PackageStamped.__qualname__ = f"PackageStamped{base.__name__}"
    return PackageStamped


@functools.lru_cache(maxsize=None)
def install():
    """Put the package's locators first in Numba's list (once a process);
    returns them. Without the private list (another Numba), nothing is
    installed and the test suite's per-hash cache folder still guards."""
    from numba.core import caching

    impl = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl", None)
    classes = getattr(impl, "_locator_classes", None)
    if not isinstance(classes, list):
        return ()
    ours = tuple(_stamped(base) for base in classes if hasattr(base, "get_source_stamp"))
    classes[:0] = ours
    return ours
