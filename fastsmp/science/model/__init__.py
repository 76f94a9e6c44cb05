"""A model of how SMP statistics propagate through convolution, ReLU and max pooling.

The inputs are stationary Gaussian processes ``x(t)`` sampled at integer ``t``,
with mean ``mu``, standard deviation ``sigma`` and autocorrelation ``r(tau)``
(:class:`GaussianAutocorrelation` by default, anything with ``derivative(tau, n)``
plugs in). For one line of ``N`` output samples every prediction is a pair
``(mean, std)`` of the line's SMP (``fastsmp.smp`` with its default ``rtol``).

All predictions rest on one tool, :func:`marked_events`: the Kac-Rice formula for
the expected sum of marks over the zeros of a Gaussian process ``G(t)``, and the
Cramer-Leadbetter formula for its second moment. Every kind of SMP peak is such an
event:

* smooth peaks (no kinks): the peaks of ``|d|`` sit at the extrema of the
  curvature process ``d(t) = x(t-1) + x(t+1) - 2 x(t)``, i.e. at zeros of ``d'``,
  with mark ``|d|`` where ``d d'' < 0``;
* ReLU kinks: zeros of ``x``, slope change ``|x'|``, shown as ``max(f, 1-f)|x'|``;
* max-pooling edits: at the extrema of ``x`` (zeros of ``x'``), the arg-max of the
  window moves, which edits the curvature by ``alpha |x''|`` (see
  :func:`pool_edit_gain`).

The conditional expectations inside the formulas are low-dimensional Gaussian
integrals evaluated with a fixed scrambled Sobol rule, so predictions are
deterministic. ``docs/model.md`` derives every formula.

The modules, from the bottom up (each imports only those above it):

* :mod:`~fastsmp.science.model.autocorrelation`: ``r(tau)`` and its derivatives;
* :mod:`~fastsmp.science.model.process`: Gaussian processes, linear functionals
  of them, :func:`marked_events`;
* :mod:`~fastsmp.science.model.windows`: the exact expectation over the window
  that decides one output peak;
* :mod:`~fastsmp.science.model.blocks`: one block (smooth input, ReLU, conv,
  max pooling, ReLU then max pooling) and the gains of kernels and pooling;
* :mod:`~fastsmp.science.model.stacks`: stacks of ``conv -> ReLU -> max pool``.

``fastsmp.model`` is the short alias of this package.
"""

from __future__ import annotations

from .autocorrelation import FilteredAutocorrelation, GaussianAutocorrelation
from .blocks import (
    conv_process,
    conv_smp,
    kink_peak_gain,
    maxpool_smp,
    peak_gain,
    peak_gain_distribution,
    pool_edit_events,
    pool_edit_gain,
    pooled_kink_gain,
    relu_closed_form_mean,
    relu_kink_events,
    relu_pool_smp,
    relu_smp,
    smooth_peak_events,
    smooth_smp,
)
from .process import EventType, Functional, Prediction, Process, marked_events
from .stacks import stack_smp, stack_smp_hybrid, stack_smp_levels
from .windows import maxpool_window_mean, window_peak_mean

__all__ = [
    "EventType",
    "FilteredAutocorrelation",
    "Functional",
    "GaussianAutocorrelation",
    "Prediction",
    "Process",
    "conv_process",
    "conv_smp",
    "kink_peak_gain",
    "marked_events",
    "maxpool_smp",
    "maxpool_window_mean",
    "peak_gain",
    "peak_gain_distribution",
    "pool_edit_events",
    "pool_edit_gain",
    "pooled_kink_gain",
    "relu_closed_form_mean",
    "relu_kink_events",
    "relu_pool_smp",
    "relu_smp",
    "smooth_peak_events",
    "smooth_smp",
    "stack_smp",
    "stack_smp_hybrid",
    "stack_smp_levels",
    "window_peak_mean",
]
