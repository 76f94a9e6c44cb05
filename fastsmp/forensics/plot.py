"""The figure of :meth:`Evidence.plot`."""

from __future__ import annotations

import numpy as np

__all__ = ["plot_evidence"]


def plot_evidence(ev, ax=None, lines=4):
    """Two panels: the outputs along up to ``lines`` coarse lines, and their
    |second difference| above the noise floor with the peaks marked; the
    title gives the verdict, score and queries. Returns the figure.

    Examples
    --------
    >>> import numpy as np, matplotlib
    >>> matplotlib.use("Agg")
    >>> from fastsmp.forensics import probe
    >>> fig = plot_evidence(probe(lambda x: np.abs(x).sum(axis=1), np.eye(3), queries=64))
    >>> fig.axes[1].get_ylabel()
    '|d| above floor'
    """
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(2, 1, figsize=(7, 5), sharex=True)
    else:
        fig = np.ravel(ax)[0].figure
    top, bottom = np.ravel(ax)[:2]
    c = ev._coarse
    t = c["t"]
    rows = np.arange(min(lines, c["V"].shape[0]))
    for i in rows:
        v = c["V"][i]
        span = np.ptp(v) or 1.0
        (line,) = top.plot(t, (v - v.min()) / span + 1.1 * i, lw=1)
        a = c["floored"][i]
        bottom.plot(t[1:-1], a, lw=1, color=line.get_color())
        peaks = c["peaks"][i]
        bottom.plot(t[1:-1][peaks], a[peaks], "v", color=line.get_color(), ms=4)
    top.set_ylabel("f along the line (scaled)")
    bottom.set_ylabel("|d| above floor")
    bottom.set_xlabel("t")
    top.set_title(f"{ev.verdict}: score {ev.score:.2f}, exponent {ev.exponent:.2f}, {ev.queries}/{ev.budget} queries")
    fig.tight_layout()
    return fig
