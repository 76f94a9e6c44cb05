"""Overhead of ``fastsmp.scan.scan_model`` over the bare forward passes.

A VGG-like CNN with 10 conv layers (10 ReLU + 4 max-pool layers hooked, the
default selection) on batches of 64 x 3 x 64 x 64, on the CPU. The issue's
target is a scan time of at most 1.15 x the bare forward passes over the
same data. No timing is asserted: the ratio is printed and stored in the
benchmark's ``extra_info``.

    python -m pytest bench/test_scan_overhead.py --benchmark-only -s

``FASTSMP_BENCH_BATCHES`` sets the number of batches per round (default 2).
"""

from __future__ import annotations

import itertools
import os
import tempfile

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("pyarrow")
nn = torch.nn

from fastsmp.scan import scan_model  # noqa: E402

BATCH = (64, 3, 64, 64)
BATCHES = int(os.environ.get("FASTSMP_BENCH_BATCHES", "2"))
_times = {}


def vgg10():
    """10 conv layers: 2 x 32, 2 x 64, 3 x 128, 3 x 256 channels, a max-pool after each stage."""
    torch.manual_seed(0)
    layers, c_in = [], 3
    for width, convs in ((32, 2), (64, 2), (128, 3), (256, 3)):
        for _ in range(convs):
            layers += [nn.Conv2d(c_in, width, 3, padding=1), nn.ReLU()]
            c_in = width
        layers.append(nn.MaxPool2d(2))
    layers += [nn.Flatten(), nn.Linear(256 * 4 * 4, 10)]
    return nn.Sequential(*layers).eval()


@pytest.fixture(scope="module")
def workload():
    g = torch.Generator().manual_seed(1)
    return vgg10(), [torch.rand(BATCH, generator=g) for _ in range(BATCHES)]


def bare_forward(model, batches):
    with torch.inference_mode():
        for x in batches:
            model(x)


_counter = itertools.count()


def fresh_output():
    return (), {"out": os.path.join(tempfile.mkdtemp(prefix="fastsmp-bench-"), f"scan-{next(_counter)}")}


def test_bare_forward(benchmark, workload):
    model, batches = workload
    benchmark.pedantic(bare_forward, args=(model, batches), rounds=3, warmup_rounds=1)
    _times["bare"] = benchmark.stats.stats.min if benchmark.stats else None


def test_scan(benchmark, workload):
    model, batches = workload

    def scan(out):
        scan_model(model, batches, out=out, progress=False, shard_size=10**6)

    benchmark.pedantic(scan, setup=fresh_output, rounds=3, warmup_rounds=1)
    if benchmark.stats and _times.get("bare"):
        ratio = benchmark.stats.stats.min / _times["bare"]
        benchmark.extra_info["ratio_to_bare_forward"] = round(ratio, 3)
        print(f"\nscan / bare forward (min of 3 rounds, {BATCHES} batches of {BATCH}): {ratio:.3f} (target <= 1.15)")
