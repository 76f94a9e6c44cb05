"""Probe every model of the zoo under every degradation and query budget;
write the CSV, the figures and ``report.md``."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import numpy as np

from ..degrade import DEGRADATIONS, degrade
from ..probe import probe
from . import report, zoo

__all__ = ["run", "CSV_COLUMNS", "probe_cost_ms"]

CSV_COLUMNS = ["family", "label", "dataset", "degradation", "queries", "used", "score", "verdict", "exponent", "kind", "axis_aligned", "network", "seconds"]
FULL = dict(datasets=zoo.DATASETS, degradations=list(DEGRADATIONS), budgets=[256, 4096, 16384], steps=150)
QUICK = dict(datasets=["friedman1"], degradations=["float32", "float16", "quant8", "noise1e-3"], budgets=[256, 4096], steps=60,
             families=["relu", "leaky_relu", "hardswish", "tanh", "gelu", "softplus10", "kernel_ridge_rbf", "poly_ridge", "gbt", "linear_spline"])


def probe_cost_ms(queries=4096, repeats=15, seed=0):
    """Median wall time of :func:`probe` beyond the calls of ``f`` (warm), in ms."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((16, 10))
    W = rng.standard_normal((10, 64))
    spent = []

    def f(x):
        t = time.perf_counter()
        y = np.maximum(x @ W, 0.0).sum(axis=1)
        spent.append(time.perf_counter() - t)
        return y

    probe(f, X, queries=queries)  # warm: compile or load the kernels
    times = []
    for r in range(repeats):
        spent.clear()
        t = time.perf_counter()
        probe(f, X, queries=queries, seed=r)
        times.append(time.perf_counter() - t - sum(spent))
    return 1000 * float(np.median(times))


def run(out="forensics-bench", quick=False, seed=0, progress=True):
    """Run the benchmark; returns the rows (dicts with :data:`CSV_COLUMNS`)."""
    cfg = QUICK if quick else FULL
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    models = zoo.build_zoo(cfg["datasets"], cfg.get("families"), seed=seed, steps=cfg["steps"])
    trained = time.perf_counter() - start
    if progress:
        print(f"trained {len(models)} models in {trained:.0f} s", flush=True)
    rows = []
    for i, m in enumerate(models):
        for j, name in enumerate(cfg["degradations"]):
            g, Xp = degrade(m.f, name, m.X, seed=seed + 1000 * i + j)
            for budget in cfg["budgets"]:
                t = time.perf_counter()
                ev = probe(g, Xp, queries=budget, seed=seed + i)
                rows.append(dict(family=m.family, label=m.label, dataset=m.dataset, degradation=name, queries=budget,
                                 used=ev.queries, score=round(ev.score, 6), verdict=ev.verdict,
                                 exponent=round(ev.exponent, 4), kind=ev.kind,
                                 axis_aligned=round(ev.axis_aligned, 4), network=round(ev.network, 4), seconds=round(time.perf_counter() - t, 4)))
        if progress and (i + 1) % 10 == 0:
            print(f"probed {i + 1}/{len(models)} models ({time.perf_counter() - start:.0f} s)", flush=True)
    with open(out / "forensics.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    cost = probe_cost_ms()
    elapsed = time.perf_counter() - start
    report.write(out, rows, cost_ms=cost, seconds=elapsed, quick=quick, n_models=len(models))
    if progress:
        print(f"wrote {out}/forensics.csv, report.md and figures in {elapsed:.0f} s")
    return rows
