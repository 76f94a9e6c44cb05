"""``fastsmp forensics`` and ``fastsmp forensics-bench``: :func:`add_command`
adds both to the ``fastsmp`` command line."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..scan.data import load_factory

__all__ = ["add_command"]


def add_command(subparsers):
    """Add the ``forensics`` and ``forensics-bench`` subcommands (see :mod:`fastsmp.cli`)."""
    p = subparsers.add_parser(
        "forensics",
        help="probe a black-box model for kinks (ReLU-family activations, max pooling)",
        description="Sample a model's outputs along lines through example inputs and say whether it has kinks: "
                    "prints the verdict (nonsmooth, smooth or inconclusive), the score and the queries used.",
    )
    p.add_argument("--model", required=True, help="pkg.module:factory or file.py:factory returning a callable or torch.nn.Module")
    p.add_argument("--data", required=True, help="pkg.module:factory or file.py:factory returning example inputs (array, or a tensor)")
    p.add_argument("--queries", type=int, default=4096, help="the most inputs the model is called on (default 4096)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=1024, help="the most inputs in one call (default 1024)")
    p.add_argument("--plot", default=None, help="also save the evidence figure to this PNG")
    p.set_defaults(func=_run_probe)

    b = subparsers.add_parser(
        "forensics-bench",
        help="benchmark the forensic probe on a zoo of locally trained models",
        description="Train a zoo (ReLU-family and smooth networks, kernel and spline models, confounders) in seconds "
                    "each, probe them under degraded outputs and query budgets, and write forensics.csv, roc.png, "
                    "auc.png and report.md.",
    )
    b.add_argument("--out", default="forensics-bench", help="output directory (default ./forensics-bench)")
    b.add_argument("--quick", action="store_true", help="a small zoo and fewer conditions (under a minute)")
    b.add_argument("--seed", type=int, default=0)
    b.set_defaults(func=_run_bench)


def _examples(data):
    if hasattr(data, "detach"):
        return data.detach().cpu().numpy()
    if isinstance(data, (tuple, list)) and data and not np.isscalar(data[0]) and np.ndim(data[0]) >= 2:
        return np.asarray(data[0])  # (inputs, targets)
    return np.asarray(data)


def _run_probe(args):
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from .probe import probe

    model = load_factory(args.model)
    X = _examples(load_factory(args.data))
    ev = probe(model, X, queries=args.queries, seed=args.seed, batch_size=args.batch_size)
    print(f"verdict: {ev.verdict}")
    print(f"score: {ev.score:.4f}")
    print(f"queries: {ev.queries} of {ev.budget}")
    print(f"exponent: {ev.exponent:.3f} ({ev.kind})")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        ev.plot().savefig(args.plot, dpi=110)
        print(f"wrote {args.plot}")
    return 0


def _run_bench(args):
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from .bench import run

    run(out=args.out, quick=args.quick, seed=args.seed)
    print(Path(args.out, "report.md").read_text())
    return 0
