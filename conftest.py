"""Loaded by pytest before anything else, for every test folder and doctest:
the environment must be set before numba is imported.

* Kernels are cached in ``.numba_cache/<hash of the package's sources>``
  (:func:`_numba_cache_dir`), so that no test ever runs a stale kernel.
* The CUDA backend is tested on every run: unless NUMBA_ENABLE_CUDASIM is set
  explicitly (``NUMBA_ENABLE_CUDASIM=0 pytest`` on a machine with a GPU), the
  tests run the CUDA kernels on Numba's simulator.
"""

import hashlib
import os
import shutil
from pathlib import Path


def _numba_cache_dir():
    """A Numba cache folder keyed on a hash of every source file of the
    package. Numba checks a cached kernel only against the timestamp of the
    file that defines it, so after an edit of a helper in another file
    (``_elementwise.py``, say) it would load a stale kernel; under this key
    any edit starts an empty cache. Folders of older keys are removed."""
    package = Path(__file__).resolve().parent / "fastsmp"
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    root = package.parent / ".numba_cache"
    folder = root / digest.hexdigest()[:16]
    if root.is_dir():
        for old in root.iterdir():
            if old != folder:
                shutil.rmtree(old, ignore_errors=True)
    return str(folder)


# Set before numba is imported; an explicit NUMBA_CACHE_DIR wins.
os.environ.setdefault("NUMBA_CACHE_DIR", _numba_cache_dir())
os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")
# torch's and Numba's OpenMP pools spin-wait against each other on a busy
# 2-core machine; passive waiting keeps the suite's run time sane.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def pytest_addoption(parser):
    parser.addoption("--reverse-order", action="store_true",
                     help="run the collected tests in reverse order, to show that none depends on those before it")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--reverse-order"):
        items.reverse()
