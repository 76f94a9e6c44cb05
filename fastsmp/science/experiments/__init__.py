"""Validation of :mod:`fastsmp.science.model` against real torch blocks: ``fastsmp reproduce``.

Synthetic inputs (stationary Gaussian processes, 1-D lines and 2-D fields, with
given mean, standard deviation and correlation length) go through real
``nn.Conv1d/2d``, ``nn.ReLU`` and ``nn.MaxPool1d/2d`` blocks and through stacks of
them; ``fastsmp.smp`` measures every output in float64 with its default ``rtol``
(8 x eps of float64, far below the curvature of the smooth inputs), and the model
predicts the same statistics. :func:`run` writes the CSV, the figures and the report.

The modules, in the order a run uses them:

* :mod:`~fastsmp.science.experiments.config`: what a run measures
  (:data:`DEFAULT`, :data:`QUICK`);
* :mod:`~fastsmp.science.experiments.inputs`: Gaussian lines and fields, smooth signals;
* :mod:`~fastsmp.science.experiments.blocks`: torch blocks and the SMP measurement;
* :mod:`~fastsmp.science.experiments.tasks`: the experiments, one row of the CSV each;
* :mod:`~fastsmp.science.experiments.report`: CSV, table, target check, figures, report;
* :mod:`~fastsmp.science.experiments.command`: :func:`run` and the ``fastsmp reproduce``
  subcommand.

``fastsmp.experiments`` is the short alias of this package.
"""

from __future__ import annotations

from .blocks import apply, conv_block, measure, random_kernel
from .command import add_command, run
from .config import DEFAULT, QUICK, Config
from .inputs import gaussian_fields, gaussian_lines, smooth_signals
from .report import (
    TARGETS,
    format_table,
    plot_model_vs_measured,
    plot_smooth_blocks,
    plot_stack_error,
    target_check,
    write_csv,
    write_report,
)
from .tasks import (
    CSV_COLUMNS,
    gp1d_tasks,
    gp2d_tasks,
    qualitative,
    stack_layers,
    stack_tasks,
)

__all__ = [
    "CSV_COLUMNS",
    "DEFAULT",
    "QUICK",
    "TARGETS",
    "Config",
    "add_command",
    "apply",
    "conv_block",
    "format_table",
    "gaussian_fields",
    "gaussian_lines",
    "gp1d_tasks",
    "gp2d_tasks",
    "measure",
    "plot_model_vs_measured",
    "plot_smooth_blocks",
    "plot_stack_error",
    "qualitative",
    "random_kernel",
    "run",
    "smooth_signals",
    "stack_layers",
    "stack_tasks",
    "target_check",
    "write_csv",
    "write_report",
]
