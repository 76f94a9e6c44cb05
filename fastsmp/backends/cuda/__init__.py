"""The ``"cuda"`` backend: Numba CUDA kernels (:mod:`.kernels`) launched by
:mod:`.backend` on device memory managed by :mod:`.memory`. Importing it does
not import ``numba.cuda``; the first kernel launch does."""
