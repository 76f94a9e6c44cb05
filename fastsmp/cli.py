"""The ``fastsmp`` command line.

Subcommands live next to the code they drive: each module listed in
``COMMAND_MODULES`` has ``add_command(subparsers)``, which adds its parser
and sets ``func(args) -> int`` on it. Modules are imported only when the
command line is built, so ``fastsmp --version`` stays quick.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from ._args import parse_axis
from ._version import __version__

#: modules contributing subcommands (besides ``smp``, defined here)
COMMAND_MODULES: list[str] = ["fastsmp.scan", "fastsmp.bench", "fastsmp.science.experiments.command", "fastsmp.forensics.command"]


def _add_smp(subparsers):
    p = subparsers.add_parser(
        "smp",
        help="print the SMP of an array stored in a .npy file",
        description="Print the SMP (and peak count) of each line of an array stored with numpy.save.",
    )
    p.add_argument("file", help="a .npy file (memory-mapped, not read whole), a zarr array/group or an HDF5 file")
    p.add_argument("--axis", type=parse_axis, default=-1, help="axis or comma-separated axes (default -1)")
    p.add_argument("--rtol", type=float, default=None, help="noise floor (default: 8 x machine epsilon)")
    p.add_argument("--backend", default="auto", help="auto, numpy, cpu or cuda (default auto)")
    p.add_argument("--counts", action="store_true", help="also print the peak counts")
    p.add_argument("--key", default=None, help="the dataset (HDF5) or array (zarr group) to read, if there are several")
    p.add_argument("--out", default=None, help="write the result to a .npy or .parquet file instead of printing it")
    p.set_defaults(func=_run_smp)


def _run_smp(args):
    import numpy as np

    from .io import scan_array  # streams the file in tiles of whole lines: bounded memory

    result = scan_array(
        args.file, axis=args.axis, key=args.key, out=args.out, rtol=args.rtol, backend=args.backend,
        return_counts=args.counts, progress=args.out is not None and sys.stderr.isatty(),
    )
    if args.out is not None:
        print(f"wrote {result}")
        return 0
    with np.printoptions(threshold=sys.maxsize if np.size(result) < 10_000 else 1000):
        if args.counts:
            print("smp:", np.asarray(result[0]))
            print("count:", np.asarray(result[1]))
        else:
            print(np.asarray(result))
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="fastsmp",
        description="Measure the nonsmoothness (SMP: sum of the magnitude of peaks of the second difference) of arrays and networks.",
    )
    parser.add_argument("--version", action="version", version=f"fastsmp {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_smp(subparsers)
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_command(subparsers)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except (ValueError, TypeError, OSError) as exc:
        print(f"fastsmp {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
