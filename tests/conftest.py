"""Test configuration.

The CUDA backend is tested on every run: unless NUMBA_ENABLE_CUDASIM is set
explicitly (``NUMBA_ENABLE_CUDASIM=0 pytest`` on a machine with a GPU), the
tests run the CUDA kernels on Numba's simulator. The variable must be set
before numba is imported, hence here, at the top of the first conftest.
"""

import os

os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")
# torch's and Numba's OpenMP pools spin-wait against each other on a busy
# 2-core machine; passive waiting keeps the suite's run time sane.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pytest  # noqa: E402  (after the environment variable, on purpose)


@pytest.fixture
def tiny_cuda():
    """Shrink the CUDA launch configuration to a few threads per block, so
    that plateaus and lines cross block and warp boundaries even in the tiny
    arrays the simulator can afford; the old configuration is restored."""
    from fastsmp import _cuda

    old = _cuda.config
    _cuda.config = _cuda.LaunchConfig(threads=4, items=2, lanes=2)
    try:
        yield _cuda.config
    finally:
        _cuda.config = old

# A script run in a subprocess by test_cuda_ptx.py (it patches numba), not a
# module to import for doctests.
collect_ignore = ["ptx_check.py"]
