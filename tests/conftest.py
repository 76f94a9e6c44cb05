"""Test configuration.

The CUDA backend is tested on every run: unless NUMBA_ENABLE_CUDASIM is set
explicitly (``NUMBA_ENABLE_CUDASIM=0 pytest`` on a machine with a GPU), the
tests run the CUDA kernels on Numba's simulator. The variable must be set
before numba is imported, hence here, at the top of the first conftest.
"""

import os

os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")
