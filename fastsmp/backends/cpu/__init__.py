"""The ``"cpu"`` backend: Numba kernels, parallel over lines and chunks of
lines, one fused pass per layout (see :mod:`.backend`).

Modules, from the bottom up: :mod:`.memory` (LLVM intrinsics), :mod:`.sums`
(fixed-order lanes, compensated totals, combines), :mod:`.peaks` (the exact
scan and the branch-free tests), :mod:`.fills` (floored ``|d|`` into
buffers), the layouts :mod:`.rows`, :mod:`.short_rows`, :mod:`.panels`,
:mod:`.maps`, then :mod:`.tiling` (how a call is cut into tasks) and
:mod:`.backend` (the backend functions). :mod:`.arithmetic` drives single
kernels for the benchmarks.

No kernel carries ``fastmath``: SPEC section 3 forbids reassociating d, s
and the floor, and the loops that add peak heights add in an order written
in the source, so that every compile, cached or fresh, gives the same bits
(SPEC section 10).
"""
