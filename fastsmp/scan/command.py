"""The ``fastsmp scan`` subcommand: :func:`add_command` adds its parser to
the ``fastsmp`` command line (:mod:`fastsmp.cli` lists this package in
``COMMAND_MODULES``); the command turns its options into a
:func:`fastsmp.scan.scan_model` call and prints a summary of the rows.
"""

from __future__ import annotations

import os
import sys

import numpy as np

from .._args import parse_axis
from .data import default_data, default_model, import_from_cwd, load_factory
from .run import scan_model
from .store import read_scan


def _parse_layer_spec(text):
    """``nn.ReLU``, ``torch.nn.ReLU`` and ``pkg.module:Class`` are types;
    anything else is a module name or glob."""
    text = text.strip()
    if text.startswith(("nn.", "torch.nn.")):
        from torch import nn

        name = text.rsplit(".", 1)[1]
        if not isinstance(getattr(nn, name, None), type):
            raise ValueError(f"--layers: torch.nn has no module type {name!r}")
        return getattr(nn, name)
    if ":" in text:
        module_name, _, attr = text.partition(":")
        return getattr(import_from_cwd(module_name), attr)
    return text


def add_command(subparsers):
    """Add the ``scan`` subcommand (see :mod:`fastsmp.cli`)."""
    p = subparsers.add_parser(
        "scan",
        help="SMP of every chosen layer of a torch model over a dataset, as sharded Parquet",
        description=(
            "Scan a model over a dataset: the SMP and peak count of each chosen layer's output, per sample "
            "(and channel), written as resumable sharded Parquet. With no --model/--data it scans a small "
            "built-in CNN over synthetic images."
        ),
    )
    p.add_argument("--model", help="pkg.module:factory (or file.py:factory) returning a torch.nn.Module (default: built-in CNN)")
    p.add_argument("--data", help="pkg.module:factory returning a DataLoader, Dataset or iterable of batches (default: synthetic images)")
    p.add_argument("--samples", type=int, default=512, help="size of the built-in synthetic dataset (default 512)")
    p.add_argument("--layers", action="append", help="module name, glob ('features.*') or type (nn.ReLU); repeat or comma-separate (default: every ReLU and pooling layer)")
    p.add_argument("--axis", type=parse_axis, default=None, help="line axes (default: (-2,-1) for 4-D outputs, -1 for 3-D)")
    p.add_argument("--reduce", choices=("sample", "channel"), default="sample", help="one row per sample and layer, or per channel too")
    p.add_argument("--out", default="fastsmp-scan", help="output directory (default ./fastsmp-scan)")
    p.add_argument("--device", default=None, help="torch device (default: the model's)")
    p.add_argument("--batch-size", type=int, default=64, help="batch size for a Dataset (default 64)")
    p.add_argument("--shard-size", type=int, default=1024, help="samples per Parquet shard (default 1024)")
    p.add_argument("--rtol", type=float, default=None, help="noise floor (default: 8 x machine epsilon)")
    p.add_argument("--height", type=float, default=None, help="minimum peak height")
    p.add_argument("--threshold", type=float, default=None, help="minimum peak threshold")
    p.add_argument("--overwrite", action="store_true", help="replace an output made by another model or parameters")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_run_scan)


def _run_scan(args):
    # torch and Numba each bring an OpenMP thread team; spinning idle teams
    # slow each other down several-fold on a busy CPU. Passive waiting costs
    # microseconds per kernel. Set before torch or Numba's OpenMP loads.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    model = load_factory(args.model) if args.model else default_model()
    data = load_factory(args.data) if args.data else default_data(n=args.samples)
    layers = None
    if args.layers:
        layers = [_parse_layer_spec(t) for entry in args.layers for t in entry.split(",") if t.strip()]
    out = scan_model(
        model, data, layers, axis=args.axis, reduce=args.reduce, out=args.out, device=args.device,
        batch_size=args.batch_size, shard_size=args.shard_size, height=args.height, threshold=args.threshold,
        rtol=args.rtol, overwrite=args.overwrite, progress=not args.no_progress,
        model_name=args.model or "fastsmp.scan:default_model",
        data_name=args.data or f"fastsmp.scan:default_data(n={args.samples})",
    )
    _print_summary(out)
    return 0


def _print_summary(out):
    table = read_scan(out, columns=["sample_index", "layer", "smp"])
    samples = len(np.unique(table.column("sample_index").to_numpy())) if table.num_rows else 0
    print(f"{out}: {table.num_rows} rows, {samples} samples (read them with fastsmp.scan.read_scan or pandas.read_parquet)")
    if table.num_rows:
        means = table.group_by("layer").aggregate([("smp", "mean")]).to_pylist()
        width = max(len(str(row["layer"])) for row in means)
        print(f"{'layer'.ljust(width)}  mean SMP")
        for row in means:
            print(f"{str(row['layer']).ljust(width)}  {row['smp_mean']:.6g}")
    sys.stdout.flush()
