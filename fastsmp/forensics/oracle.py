"""The black box: calls ``f`` in batches, counts the rows, checks the outputs.

:class:`Oracle` is the only place that calls the user's ``f``. It turns the
points of the probe lines into inputs shaped like the examples, converts what
comes back (NumPy array, torch tensor, list) to a float64 matrix ``(n, k)``,
and refuses anything that would make the probe silently wrong: a wrong number
of rows, NaN or inf, a call that would exceed the query budget. It also keeps
what the outputs say about their own precision (their dtype), which the noise
floor in :mod:`.noise` uses.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Oracle", "QueryBudgetError", "as_callable"]

#: at most this many output components are followed along each line
MAX_COMPONENTS = 8


class QueryBudgetError(RuntimeError):
    """A call to ``f`` would exceed the query budget (a bug in the probe)."""


def _torch_module():
    import sys

    return sys.modules.get("torch")


def as_callable(f):
    """``f`` itself, or for a ``torch.nn.Module`` a function of NumPy arrays
    that runs it under ``torch.no_grad()`` on its own device and dtype.

    Examples
    --------
    >>> import numpy as np
    >>> g = as_callable(np.sin)
    >>> float(g(np.zeros(1))[0])
    0.0
    """
    torch = _torch_module()
    if torch is not None and isinstance(f, torch.nn.Module):
        module = f
        param = next(iter(module.parameters()), None)
        param = next(iter(module.buffers()), None) if param is None else param
        device = param.device if param is not None else torch.device("cpu")
        dtype = param.dtype if param is not None and param.dtype.is_floating_point else torch.float32

        def call(x):
            with torch.no_grad():
                return module(torch.as_tensor(x, dtype=dtype, device=device))

        return call
    if not callable(f):
        raise TypeError(f"f must be callable (a function or a torch.nn.Module), got {type(f).__name__}")
    return f


def _to_numpy(y):
    """Outputs as a NumPy array, keeping their dtype where NumPy has it;
    returns ``(array, precision dtype name or None)``."""
    torch = _torch_module()
    if torch is not None and isinstance(y, torch.Tensor):
        name = str(y.dtype).replace("torch.", "")
        y = y.detach()
        if y.dtype == torch.bfloat16:
            y = y.float()
        return y.cpu().numpy(), name
    y = np.asarray(y)
    return y, y.dtype.name if y.dtype.kind == "f" else None


class Oracle:
    """Counts and checks the calls of ``f``.

    Parameters
    ----------
    f : callable or torch.nn.Module
        Maps inputs ``(n, *shape)`` to outputs ``(n,)`` or ``(n, k, ...)``.
    shape : tuple of int
        The shape of one input (``X.shape[1:]``).
    budget : int
        The most rows ``f`` may see, over all calls.
    batch_size : int
        The most rows in one call.
    dtype : numpy dtype
        The dtype of the inputs passed to ``f`` (that of ``X``; float64 for
        integer ``X``).
    rng : numpy.random.Generator
        Picks the output components followed when there are more than
        :data:`MAX_COMPONENTS`.

    Examples
    --------
    >>> import numpy as np
    >>> oracle = Oracle(lambda x: x.sum(axis=1), (3,), budget=10, batch_size=4,
    ...                 dtype=np.float64, rng=np.random.default_rng(0))
    >>> oracle(np.ones((5, 3))).ravel().tolist(), oracle.used
    ([3.0, 3.0, 3.0, 3.0, 3.0], 5)
    """

    def __init__(self, f, shape, budget, batch_size, dtype, rng):
        self.f = as_callable(f)
        self.shape = tuple(shape)
        self.budget = int(budget)
        self.batch_size = max(1, int(batch_size))
        self.dtype = dtype
        self.rng = rng
        self.used = 0
        self.components = None  # indices of the followed output components
        self.precision = None  # dtype name of the outputs, when they carry one

    @property
    def left(self):
        return self.budget - self.used

    def __call__(self, points):
        """Outputs at ``points`` (``(n, D)`` flattened inputs), float64 ``(n, k)``."""
        points = np.asarray(points)
        n = points.shape[0]
        if self.used + n > self.budget:
            raise QueryBudgetError(f"{self.used} + {n} rows would exceed the budget of {self.budget} queries")
        parts = []
        for start in range(0, n, self.batch_size):
            chunk = np.ascontiguousarray(points[start : start + self.batch_size].reshape((-1, *self.shape)), dtype=self.dtype)
            self.used += chunk.shape[0]
            parts.append(self._check(self.f(chunk), chunk.shape[0]))
        return np.concatenate(parts, axis=0)

    def _check(self, y, rows):
        y, precision = _to_numpy(y)
        if y.ndim == 0 or y.shape[0] != rows:
            got = "a scalar" if y.ndim == 0 else f"{y.shape[0]} rows (shape {y.shape})"
            raise ValueError(f"f returned {got} for {rows} inputs: it must return one row per input")
        if y.dtype.kind not in "fiub":
            raise TypeError(f"f returned {y.dtype} outputs; real numbers are needed")
        y = y.reshape(rows, -1).astype(np.float64)
        if y.shape[1] == 0:
            raise ValueError("f returned empty outputs (shape (n, 0))")
        if not np.isfinite(y).all():
            raise ValueError("f returned NaN or inf outputs; the probe needs finite outputs")
        if self.components is None:
            k = y.shape[1]
            self.components = np.arange(k) if k <= MAX_COMPONENTS else np.sort(self.rng.choice(k, MAX_COMPONENTS, replace=False))
        if precision is not None:
            self.precision = precision
        return y[:, self.components]
