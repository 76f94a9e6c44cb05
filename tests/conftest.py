"""Test configuration.

The environment (Numba's cache folder, the CUDA simulator) is set in the
repository's top-level ``conftest.py``, before numba is imported.
"""

import pytest
from hypothesis import HealthCheck, settings

# Hypothesis profiles: ``ci`` (the default) runs each property test's full
# count of examples (tests/strategies.py:examples), drawn from a fixed seed so
# that a clone passes or fails the same way every time; ``dev``
# (``--hypothesis-profile dev``) runs a fifth of them, freshly drawn.
_common = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
settings.register_profile("ci", max_examples=100, derandomize=True, database=None, **_common)
settings.register_profile("dev", max_examples=20, **_common)
settings.load_profile("ci")


@pytest.fixture
def tiny_cuda():
    """Shrink the CUDA launch configuration to a few threads per block, so
    that plateaus and lines cross block and warp boundaries even in the tiny
    arrays the simulator can afford; the old configuration is restored."""
    from fastsmp.backends.cuda import backend as _cuda
    from fastsmp.backends.cuda import selection as _selection

    old = _cuda.config, _selection.THREADS
    _cuda.config = _cuda.LaunchConfig(threads=4, stretch=3)
    _selection.THREADS = 2  # the peak table's per-line loops (a line's segments): lines in several blocks
    try:
        yield _cuda.config
    finally:
        _cuda.config, _selection.THREADS = old

# A script run in a subprocess by test_cuda_ptx.py (it patches numba), not a
# module to import for doctests.
collect_ignore = ["ptx_check.py"]
