"""``fastsmp reproduce``: :func:`run` the experiments and write their outputs."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .blocks import _torch
from .config import DEFAULT, QUICK
from .report import (
    format_table,
    plot_model_vs_measured,
    plot_smooth_blocks,
    plot_stack_error,
    write_csv,
    write_report,
)
from .tasks import _tasks, qualitative

__all__ = ["add_command", "run"]


def run(out="results", quick=False, seed=0, progress=True):
    """Run the experiments; write ``model_vs_measured.csv``, the PNGs and ``report.md``.

    Runs :data:`~fastsmp.science.experiments.config.QUICK` if ``quick``, else
    :data:`~fastsmp.science.experiments.config.DEFAULT`. Returns the list of rows
    (dicts with :data:`~fastsmp.science.experiments.tasks.CSV_COLUMNS`).
    """
    from tqdm import tqdm

    start = time.perf_counter()
    cfg = QUICK if quick else DEFAULT
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    _torch().manual_seed(seed)
    rows = []
    for task in tqdm(
        _tasks(cfg, rng), desc="fastsmp reproduce", disable=not progress, unit="case"
    ):
        result = task()
        rows += result if isinstance(result, list) else [result]
    qual = qualitative(rng)
    write_csv(rows, out / "model_vs_measured.csv")
    plot_smooth_blocks(out / "smooth_blocks.png", rng)
    plot_model_vs_measured(out / "model_vs_measured.png", rows)
    plot_stack_error(out / "stack_error_vs_depth.png", rows)
    write_report(out / "report.md", rows, qual, cfg, seed, time.perf_counter() - start)
    return rows


def add_command(subparsers):
    """Add ``fastsmp reproduce`` to the command line."""
    p = subparsers.add_parser(
        "reproduce",
        help="validate the SMP propagation model against torch blocks; write CSV, figures, report",
        description="Measure the SMP of Gaussian inputs through torch Conv/ReLU/MaxPool blocks and stacks, "
        "compare with fastsmp.model, and write DIR/model_vs_measured.csv, PNG figures and DIR/report.md.",
    )
    p.add_argument("--out", default="results", help="output folder (default: results)")
    p.add_argument(
        "--quick",
        action="store_true",
        help="a small grid, the one the tests use",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.set_defaults(func=_run_command)


def _run_command(args):
    start = time.perf_counter()
    rows = run(args.out, quick=args.quick, seed=args.seed)
    print(format_table(rows))
    print(
        f"\nwrote {Path(args.out) / 'model_vs_measured.csv'}, figures and report.md in {time.perf_counter() - start:.0f} s"
    )
    return 0
