"""The outputs of a run: CSV, printed table, target check, figures and ``report.md``."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from .blocks import _torch, apply, conv_block, random_kernel
from .inputs import smooth_signals
from .tasks import CSV_COLUMNS

__all__ = [
    "TARGETS",
    "format_table",
    "plot_model_vs_measured",
    "plot_smooth_blocks",
    "plot_stack_error",
    "target_check",
    "write_csv",
    "write_report",
]


#: targets of issue 4, over the grid for l >= 20 (relative errors)
TARGETS = {"mean": {"relu": 0.05, "conv": 0.05, "maxpool": 0.10}, "std": 0.15}


def write_csv(rows, path):
    """Write the rows with exactly :data:`CSV_COLUMNS`."""
    import csv

    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for r in rows:
            writer.writerow(
                {
                    c: (f"{r[c]:.6g}" if isinstance(r[c], float) else r[c])
                    for c in CSV_COLUMNS
                }
            )


def format_table(rows):
    """The printed summary table (one line per row)."""
    head = f"{'experiment':<6} {'block':<8} {'params':<44} {'meas mean':>10} {'pred mean':>10} {'err':>7} {'meas std':>10} {'pred std':>10} {'err':>7}"
    lines = [head, "-" * len(head)]
    for r in rows:
        p = json.loads(r["params"])
        p.pop("kac_rice_mean", None)
        ptxt = ",".join(f"{k}={v}" for k, v in p.items())
        lines.append(
            f"{r['experiment']:<6} {r['block']:<8} {ptxt:<44} {r['measured_mean']:>10.4g} {r['predicted_mean']:>10.4g}"
            f" {r['rel_err_mean']:>+7.1%} {r['measured_std']:>10.4g} {r['predicted_std']:>10.4g} {r['rel_err_std']:>+7.1%}"
        )
    return "\n".join(lines)


def target_check(rows):
    """Rows of the 1-D grid with l >= 20 that miss a target, and counts per block."""
    summary, misses = {}, []
    for r in rows:
        p = json.loads(r["params"])
        if (
            r["experiment"] != "gp1d"
            or p.get("l", 0) < 20
            or r["block"] not in TARGETS["mean"]
        ):
            continue
        b = summary.setdefault(
            r["block"],
            {"n": 0, "mean_ok": 0, "std_ok": 0, "worst_mean": 0.0, "worst_std": 0.0},
        )
        b["n"] += 1
        em, es = abs(r["rel_err_mean"]), abs(r["rel_err_std"])
        b["worst_mean"], b["worst_std"] = (
            max(b["worst_mean"], em),
            max(b["worst_std"], es),
        )
        ok_m, ok_s = em <= TARGETS["mean"][r["block"]], es <= TARGETS["std"]
        b["mean_ok"] += ok_m
        b["std_ok"] += ok_s
        if not (ok_m and ok_s):
            misses.append(r)
    return summary, misses


def _miss_reason(r):
    b = r["block"]
    ms = (
        r["measured_std"] / math.sqrt(max(r["n_lines"] - 1, 1)) / r["measured_std"]
        if r["measured_std"]
        else 0
    )
    if b == "maxpool":
        return (
            "std from the Kac-Rice model (l >> k s) rescaled to the exact mean; its O(s/l) error "
            f"and the sampling error of a std over {r['n_lines']} lines (~{ms / math.sqrt(2):.0%}) add up"
        )
    return f"sampling error of the measured std over {r['n_lines']} lines is ~{ms / math.sqrt(2):.0%}; QMC error of the pair density ~3%"


def plot_smooth_blocks(path, rng):
    """A smooth input and its outputs after conv, ReLU and max pooling, with |d| and peaks."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import fastsmp

    torch = _torch()
    x = smooth_signals()["sinusoids"][None, None, :1200]
    w = random_kernel(rng, (1, 1, 5))
    outs = {
        "input (sum of sinusoids)": x,
        "conv K=5": apply(conv_block(w), x),
        "ReLU": apply(torch.nn.ReLU(), x),
        "max pool k=3 s=2": apply(torch.nn.MaxPool1d(3, 2), x),
    }
    fig, axes = plt.subplots(len(outs), 2, figsize=(11, 8), constrained_layout=True)
    for (name, y), (a0, a1) in zip(outs.items(), axes):
        v = y[0, 0]
        d = np.abs(fastsmp.curvature(v))
        mask = fastsmp.find_peaks(d) & (
            d > 8 * np.finfo(float).eps * 4 * np.abs(v).max()
        )
        a0.plot(v, lw=1)
        a0.set_title(name, fontsize=9)
        a1.semilogy(np.arange(1, d.size + 1), d + 1e-18, lw=0.8)
        a1.plot(np.flatnonzero(mask) + 1, d[mask], "r.", ms=3)
        a1.set_title(
            f"|second difference|, peaks marked; SMP = {float(fastsmp.smp(v)):.3g}",
            fontsize=9,
        )
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_model_vs_measured(path, rows):
    """Predicted vs measured mean and std, one colour per block."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 5), constrained_layout=True)
    groups = {}
    for r in rows:
        groups.setdefault(f"{r['block']} ({r['experiment']})", []).append(r)
    for ax, stat in zip(axes, ("mean", "std")):
        for name, rs in sorted(groups.items()):
            ax.loglog(
                [r[f"measured_{stat}"] for r in rs],
                [r[f"predicted_{stat}"] for r in rs],
                "o",
                ms=4,
                label=name,
            )
        lim = [
            min(
                min(r[f"measured_{stat}"], r[f"predicted_{stat}"])
                for r in rows
                if r[f"predicted_{stat}"] > 0
            )
            / 2
        ]
        lim.append(
            max(max(r[f"measured_{stat}"], r[f"predicted_{stat}"]) for r in rows) * 2
        )
        ax.plot(lim, lim, "k-", lw=0.7)
        ax.set_xlabel(f"measured SMP {stat}")
        ax.set_ylabel(f"predicted SMP {stat}")
        ax.set_title(f"SMP {stat} per line: model vs torch blocks")
    axes[0].legend(fontsize=7)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_stack_error(path, rows):
    """Relative error of the block-by-block prediction against depth."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        1, 3, figsize=(15, 4.5), constrained_layout=True, sharey=True
    )
    by_l = {}
    for r in rows:
        if r["experiment"] == "stack":
            p = json.loads(r["params"])
            by_l.setdefault((p["closure"], p["l"]), []).append(
                (p["depth"], r["rel_err_mean"], r["rel_err_std"])
            )
    for ax, closure in zip(axes, ("gaussian", "levels", "hybrid")):
        for (c, l), pts in sorted(by_l.items()):
            if c != closure:
                continue
            pts.sort()
            ax.plot(
                [p[0] for p in pts],
                [abs(p[1]) for p in pts],
                "o-",
                label=f"mean, l={l}",
            )
            ax.plot(
                [p[0] for p in pts],
                [abs(p[2]) for p in pts],
                "s--",
                label=f"std, l={l}",
            )
        ax.set_yscale("log")
        ax.set_xticks(sorted({d for pts in by_l.values() for d, _, _ in pts}))
        ax.set_title(f"{closure} closure", fontsize=9)
        ax.set_xlabel("depth (conv -> ReLU -> max pool layers)")
        ax.legend(fontsize=7)
    axes[0].set_ylabel("|relative error|")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(path, rows, qual, cfg, seed, wall):
    """The short ``report.md``."""
    summary, misses = target_check(rows)
    lines = [
        "# fastsmp reproduce: model vs measurement",
        "",
        (
            f"Seed {seed}; {cfg.n_lines} Gaussian lines of {cfg.line_length} samples per 1-D case, "
            f"{cfg.n_fields} fields of {cfg.field}x{cfg.field} per 2-D case, {cfg.stack_lines} lines per stack; "
            f"float64 throughout, `fastsmp.smp` with its default rtol (8 eps). Wall time {wall:.0f} s. "
            "Errors are predicted/measured - 1. The model is derived in docs/model.md."
        ),
        "",
        "## Targets (1-D grid, l >= 20)",
        "",
        "| block | cases | mean within target | worst mean error | std within 15% | worst std error |",
        "|---|---|---|---|---|---|",
    ]
    for b, s in summary.items():
        tgt = TARGETS["mean"][b]
        lines.append(
            f"| {b} | {s['n']} | {s['mean_ok']}/{s['n']} (target {tgt:.0%}) | {s['worst_mean']:.1%} | "
            f"{s['std_ok']}/{s['n']} | {s['worst_std']:.1%} |"
        )
    lines += ["", "## Cases that miss a target", ""]
    if not misses:
        lines.append("None.")
    for r in misses:
        p = json.loads(r["params"])
        p.pop("kac_rice_mean", None)
        lines.append(
            f"- {r['block']} {p}: mean error {r['rel_err_mean']:+.1%}, std error {r['rel_err_std']:+.1%}. {_miss_reason(r)}."
        )
    other = [
        r
        for r in rows
        if r["experiment"] != "gp1d" or json.loads(r["params"]).get("l", 99) < 20
    ]
    lines += [
        "",
        "## Outside the targets (l = 10, 2-D fields, stacks)",
        "",
        "l = 10 is below the regime l >> k s of the Kac-Rice pooling model (the exact window",
        "predictor still holds); the 2-D std uses a Hermite-rank-2 heuristic for the correlation",
        "between rows. Stacks, three closures: `gaussian` replaces each layer's pre-activation by",
        "a Gaussian process (exact in layer 1; from layer 2 on the pre-activation is a",
        "piecewise-linear function of the same input and the Gaussian stand-in has too many zero",
        "crossings, so it overshoots and the error grows with depth); `levels` treats every",
        "channel as a function of the input's local straight line (right about the coherent",
        "breakpoints of deep layers, blind to the input's curvature and to channels that respond",
        "to x' rather than x, so it undershoots where l is short against the receptive field);",
        "`hybrid` rescales the level closure by layer 1's exact/level ratio.",
        "",
        "| experiment | block | params | mean error | std error |",
        "|---|---|---|---|---|",
    ]
    for r in other:
        lines.append(
            f"| {r['experiment']} | {r['block']} | `{r['params']}` | {r['rel_err_mean']:+.1%} | {r['rel_err_std']:+.1%} |"
        )
    lines += [
        "",
        "## Qualitative claims (deterministic smooth signals, SMP of one line)",
        "",
    ]
    blocks = list(next(iter(qual.values())))
    lines.append("| signal | " + " | ".join(blocks) + " |")
    lines.append("|---" * (len(blocks) + 1) + "|")
    for name, vals in qual.items():
        lines.append(
            f"| {name} | " + " | ".join(f"{vals[b]:.3g}" for b in blocks) + " |"
        )
    lines += [
        "",
        "Convolution keeps SMP at the curvature level of its input. ReLU raises it by a factor",
        "of about (scale of the signal) / 4 (kinks of slope change |x'| ~ sigma/l against curvature",
        "~ sigma/l^2): an order of magnitude or more once l >= 50 (x10 at l = 50, x19 at l = 100",
        "on Gaussian lines), not more. Max pooling with a window much shorter than the signal's",
        "scale (k <= 3) multiplies SMP by 2 to 3 only (stride 2 adds a factor ~s^2 / s): its kinks",
        "have slope change ~ (k-1)|x''|, the curvature's own order; only a window comparable to",
        "the scale (k = 64 here) raises it by an order of magnitude.",
        "",
        "## Figures",
        "",
        "- `smooth_blocks.png`: a smooth input and its outputs after conv, ReLU and max pooling,",
        "  each with |second difference| and the detected peaks.",
        "- `model_vs_measured.png`: predicted vs measured SMP mean and std, per block.",
        "- `stack_error_vs_depth.png`: error of the block-by-block prediction against depth.",
        "",
    ]
    Path(path).write_text("\n".join(lines))
