"""The experiments: each task measures one case through torch blocks and predicts it.

A task is a function that returns one row (or a list of rows, for a stack) with
the columns :data:`CSV_COLUMNS`: the measured and predicted mean and std of the
per-line SMP and their relative errors. The 1-D grid (:func:`gp1d_tasks`),
2-D fields (:func:`gp2d_tasks`) and stacks (:func:`stack_tasks`) are built from a
:class:`~fastsmp.science.experiments.config.Config`; :func:`qualitative` measures
deterministic smooth signals, with no prediction.
"""

from __future__ import annotations

import json
import math

import numpy as np

from .. import model as M
from .blocks import _torch, apply, conv_block, measure, random_kernel
from .inputs import gaussian_fields, gaussian_lines, smooth_signals

__all__ = [
    "CSV_COLUMNS",
    "gp1d_tasks",
    "gp2d_tasks",
    "qualitative",
    "stack_layers",
    "stack_tasks",
]


CSV_COLUMNS = (
    "experiment",
    "block",
    "params",
    "n_lines",
    "line_length",
    "measured_mean",
    "measured_std",
    "predicted_mean",
    "predicted_std",
    "rel_err_mean",
    "rel_err_std",
)


def _row(experiment, block, params, n_lines, line_length, measured, predicted):
    mm, ms = measured
    pm, ps = predicted
    return {
        "experiment": experiment,
        "block": block,
        "params": json.dumps(params, sort_keys=True),
        "n_lines": int(n_lines),
        "line_length": int(line_length),
        "measured_mean": mm,
        "measured_std": ms,
        "predicted_mean": pm,
        "predicted_std": ps,
        "rel_err_mean": pm / mm - 1 if mm else math.nan,
        "rel_err_std": ps / ms - 1 if ms else math.nan,
    }


def gp1d_tasks(cfg, rng):
    """Tasks for the 1-D grid: input, ReLU, conv and max pooling on Gaussian lines."""
    torch = _torch()
    tasks = []
    for l in cfg.lengths:
        acf = M.GaussianAutocorrelation(float(l))
        n = cfg.line_length
        state = {}

        def lines(acf=acf, state=state, n=n):
            if "x" not in state:
                state["x"] = gaussian_lines(
                    acf, n, cfg.n_lines * cfg.conv_channels, rng
                )
            return state["x"]

        def t_input(l=l, acf=acf, lines=lines, n=n):
            x = lines()[: cfg.n_lines]
            p = M.smooth_smp(M.Process(0.0, 1.0, acf), n, **dict(cfg.model_kw))
            return _row("gp1d", "input", {"l": l}, *_counted(x, n), (p.mean, p.std))

        tasks.append(t_input)
        for mu in cfg.mus:

            def t_relu(l=l, mu=mu, acf=acf, lines=lines, n=n):
                y = apply(torch.nn.ReLU(), lines()[: cfg.n_lines] + mu)
                p = M.relu_smp(M.Process(mu, 1.0, acf), n, **dict(cfg.model_kw))
                return _row(
                    "gp1d", "relu", {"l": l, "mu": mu}, *_counted(y, n), (p.mean, p.std)
                )

            tasks.append(t_relu)
        for k in cfg.kernels:

            def t_conv(l=l, k=k, acf=acf, lines=lines, n=n):
                w = random_kernel(rng, (1, cfg.conv_channels, k))
                x = lines().reshape(cfg.n_lines, cfg.conv_channels, n)
                y = apply(conv_block(w), x)[:, 0]
                p = M.conv_smp(
                    M.Process(0.0, 1.0, acf), w[0], y.shape[-1], **dict(cfg.model_kw)
                )
                params = {"l": l, "K": k, "c_in": cfg.conv_channels}
                return _row(
                    "gp1d", "conv", params, *_counted(y, y.shape[-1]), (p.mean, p.std)
                )

            tasks.append(t_conv)
        for k, s in cfg.pools:

            def t_pool(l=l, k=k, s=s, acf=acf, lines=lines):
                y = apply(torch.nn.MaxPool1d(k, s), lines()[: cfg.n_lines])
                p = M.maxpool_smp(
                    M.Process(0.0, 1.0, acf), k, s, y.shape[-1], **dict(cfg.model_kw)
                )
                params = {
                    "l": l,
                    "k": k,
                    "s": s,
                    "kac_rice_mean": round(p.details["kac_rice_mean"], 12),
                }
                return _row(
                    "gp1d",
                    "maxpool",
                    params,
                    *_counted(y, y.shape[-1]),
                    (p.mean, p.std),
                )

            tasks.append(t_pool)
    return tasks


def _counted(y, length):
    mm, ms, count = measure(y)
    return count, length, (mm, ms)


def _field_std(line, size, acf, blocks=2):
    """Std of a field's SMP (rows + columns) from the per-line prediction.

    Rows ``Delta`` apart are Gaussian lines with correlation ``r(Delta)`` between
    them; SMP is (almost) an even functional, so its correlation is taken as
    ``r(Delta)^2`` (Hermite rank 2), rows and columns independent. A heuristic.
    """
    d = np.arange(-(size - 1), size, dtype=float)
    corr = np.sum((size - np.abs(d)) * acf(d) ** 2)
    return math.sqrt(blocks * line.std**2 * corr)


def gp2d_tasks(cfg, rng):
    """Tasks for 2-D fields, SMP over ``axis=(-2, -1)`` (rows plus columns)."""
    torch = _torch()
    tasks = []
    size = cfg.field
    for l in cfg.field_lengths:
        acf = M.GaussianAutocorrelation(float(l))
        state = {}

        def fields(acf=acf, state=state):
            if "x" not in state:
                state["x"] = gaussian_fields(acf, size, cfg.n_fields, rng)[:, None]
            return state["x"]

        def t_relu(l=l, acf=acf, fields=fields):
            y = apply(torch.nn.ReLU(), fields())
            line = M.relu_smp(M.Process(0.0, 1.0, acf), size, **dict(cfg.model_kw))
            pred = (2 * size * line.mean, _field_std(line, size, acf))
            return _row(
                "gp2d", "relu", {"l": l, "mu": 0.0, "dim": 2}, *_counted2(y, size), pred
            )

        def t_conv(l=l, acf=acf, fields=fields, k=5):
            w = random_kernel(rng, (1, 1, k, k))
            y = apply(conv_block(w), fields())
            n_out = y.shape[-1]
            rows = M.smooth_smp(
                _conv2d_line(acf, w[0], -1), n_out, **dict(cfg.model_kw)
            )
            cols = M.smooth_smp(
                _conv2d_line(acf, w[0], -2), n_out, **dict(cfg.model_kw)
            )
            mean = n_out * (rows.mean + cols.mean)
            std = math.sqrt(
                _field_std(rows, n_out, acf, 1) ** 2
                + _field_std(cols, n_out, acf, 1) ** 2
            )
            return _row(
                "gp2d",
                "conv",
                {"l": l, "K": k, "dim": 2},
                *_counted2(y, n_out),
                (mean, std),
            )

        def t_pool(l=l, acf=acf, fields=fields, k=2, s=2):
            y = apply(torch.nn.MaxPool2d(k, s), fields())
            n_out = y.shape[-1]
            # a 2-D window's row max is the max of k rows' 1-D pools: along a line the
            # row-wise model applies to the max over k nearly equal rows (l >> k)
            line = M.maxpool_smp(
                M.Process(0.0, 1.0, acf), k, s, n_out, **dict(cfg.model_kw)
            )
            pred = (
                2 * n_out * line.mean,
                _field_std(line, n_out, M.GaussianAutocorrelation(l / s)),
            )
            return _row(
                "gp2d",
                "maxpool",
                {"l": l, "k": k, "s": s, "dim": 2},
                *_counted2(y, n_out),
                pred,
            )

        tasks += [t_relu, t_conv, t_pool]
    return tasks


def _conv2d_line(acf, w, axis):
    f = M.FilteredAutocorrelation.from_kernel_2d(acf, w, axis=axis)
    return M.Process(0.0, math.sqrt(f.norm), f)


def _counted2(y, length):
    mm, ms, count = measure(y, axis=(-2, -1))
    return count, length, (mm, ms)


def stack_layers(rng, channels, depth, k_conv=5, k=2, s=2):
    """Random ``conv -> ReLU -> max pool`` layers (Gaussian weights, biases N(0, 0.5^2))."""
    layers = []
    for i in range(depth):
        c_in = 1 if i == 0 else channels
        layers.append(
            {
                "weight": random_kernel(rng, (channels, c_in, k_conv)),
                "bias": 0.5 * rng.standard_normal(channels),
                "k": k,
                "s": s,
            }
        )
    return layers


def stack_tasks(cfg, rng):
    """Stacks: measured after each layer (mean over channels of the per-line stats)."""
    torch = _torch()
    tasks = []
    for l in cfg.stack_lengths:

        def t_stack(l=l):
            acf = M.GaussianAutocorrelation(float(l))
            layers = stack_layers(rng, cfg.stack_channels, cfg.stack_depth)
            x = gaussian_lines(acf, cfg.line_length, cfg.stack_lines, rng)[:, None]
            process = M.Process(0.0, 1.0, acf)
            closures = {
                "gaussian": M.stack_smp(process, layers, cfg.line_length),
                "levels": M.stack_smp_levels(process, layers, cfg.line_length),
            }
            closures["hybrid"] = M.stack_smp_hybrid(
                closures["gaussian"], closures["levels"]
            )
            rows = []
            for depth, layer in enumerate(layers, start=1):
                net = torch.nn.Sequential(
                    conv_block(layer["weight"], layer["bias"]),
                    torch.nn.ReLU(),
                    torch.nn.MaxPool1d(layer["k"], layer["s"]),
                )
                x = apply(net, x)
                import fastsmp

                smp = np.asarray(fastsmp.smp(x), dtype=float)  # (lines, channels)
                measured = (float(smp.mean()), float(smp.std(axis=0, ddof=1).mean()))
                for closure, preds in closures.items():
                    pred = preds[depth - 1]
                    params = {
                        "l": l,
                        "depth": depth,
                        "closure": closure,
                        "channels": cfg.stack_channels,
                        "K": 5,
                        "k": 2,
                        "s": 2,
                    }
                    rows.append(
                        _row(
                            "stack",
                            "stack",
                            params,
                            smp.shape[0],
                            x.shape[-1],
                            measured,
                            (pred.mean, pred.std),
                        )
                    )
            return rows

        tasks.append(t_stack)
    return tasks


def qualitative(rng):
    """SMP of the deterministic smooth signals through each block (no prediction)."""
    import fastsmp

    torch = _torch()
    out = {}
    w = random_kernel(rng, (1, 1, 5))
    for name, x in smooth_signals().items():
        x = x[None, None]
        blocks = {
            "input": x,
            "conv K=5": apply(conv_block(w), x),
            "relu": apply(torch.nn.ReLU(), x),
            "maxpool k=2 s=1": apply(torch.nn.MaxPool1d(2, 1), x),
            "maxpool k=3 s=2": apply(torch.nn.MaxPool1d(3, 2), x),
            "maxpool k=16 s=1": apply(torch.nn.MaxPool1d(16, 1), x),
            "maxpool k=64 s=1": apply(torch.nn.MaxPool1d(64, 1), x),
        }
        out[name] = {
            b: float(np.asarray(fastsmp.smp(y)).ravel()[0]) for b, y in blocks.items()
        }
    return out


def _tasks(cfg, rng):
    return gp1d_tasks(cfg, rng) + gp2d_tasks(cfg, rng) + stack_tasks(cfg, rng)
