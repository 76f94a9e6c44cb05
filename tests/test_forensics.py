"""fastsmp.forensics: the black-box probe, its CLI and its benchmark (issue #17)."""

from __future__ import annotations

import numpy as np
import pytest

from fastsmp import forensics
from fastsmp.forensics import noise
from fastsmp.forensics.bench.report import auc

RNG = np.random.default_rng(7)
X5 = RNG.standard_normal((12, 5))
W = RNG.standard_normal((5, 32))
B = RNG.standard_normal(32)
A = RNG.standard_normal(32) / 6


def relu_net(x):
    return np.maximum(x @ W + B, 0.0) @ A


def tanh_net(x):
    return np.tanh(x @ W + B) @ A


def abs_sum(x):
    return np.abs(x).sum(axis=1)


def linear_spline(x):
    knots = np.linspace(-3, 3, 9)
    values = np.cos(knots) * 2
    return np.interp(x @ np.array([0.6, -0.3, 0.5, 0.2, 0.5]), knots, values)


def polynomial(x):
    return x[:, 0] ** 3 - 2 * x[:, 1] * x[:, 2] + 0.5 * x[:, 3] ** 2


def sines(x):
    return np.sin(x).sum(axis=1)


@pytest.mark.parametrize("f", [abs_sum, linear_spline, relu_net], ids=lambda f: f.__name__)
@pytest.mark.parametrize("queries", [256, 4096])
def test_kinked_closed_forms_are_nonsmooth(f, queries):
    ev = forensics.probe(f, X5, queries=queries)
    assert ev.verdict == "nonsmooth", ev
    assert ev.score > forensics.NONSMOOTH_ABOVE
    assert abs(ev.exponent - 1) < 0.1  # a kink's tent scales like the step
    # |x_j| sums kink on the planes x_j = 0; the others on slanted hyperplanes
    assert ev.kind == ("axis-aligned kinks" if f is abs_sum else "kinks"), ev.axis_aligned


@pytest.mark.parametrize("f", [polynomial, sines, tanh_net], ids=lambda f: f.__name__)
@pytest.mark.parametrize("queries", [256, 4096])
def test_smooth_closed_forms_are_smooth(f, queries):
    ev = forensics.probe(f, X5, queries=queries)
    assert ev.verdict == "smooth", ev
    assert ev.score < forensics.SMOOTH_BELOW
    assert abs(ev.exponent - 2) < 0.15  # a bend's tent scales like the step squared


def test_the_score_orders_kinked_above_smooth_over_seeds():
    kinked = [forensics.probe(relu_net, X5, queries=512, seed=s).score for s in range(4)]
    smooth = [forensics.probe(tanh_net, X5, queries=512, seed=s).score for s in range(4)]
    assert auc(kinked, smooth) == 1.0


@pytest.mark.parametrize("queries", [18, 50, 129, 256, 1000, 5000])
def test_the_query_budget_is_never_exceeded(queries):
    seen = []

    def counted(x):
        seen.append(len(x))
        return relu_net(x)

    ev = forensics.probe(counted, X5, queries=queries, batch_size=100)
    assert sum(seen) == ev.queries <= queries
    assert max(seen) <= 100  # batches
    assert ev.budget == queries
    assert ev.queries >= queries // 3  # the budget is used, not ignored


def test_queries_too_small():
    with pytest.raises(ValueError, match="too small"):
        forensics.probe(relu_net, X5, queries=17)


def test_float16_outputs_still_show_kinks():
    ev = forensics.probe(lambda x: abs_sum(x).astype(np.float16), X5, queries=4096)
    # float16 lets the zoom follow a kink over less than a decade of step: partial credit
    assert ev.verdict != "smooth" and ev.score > 1.0 and ev.kind.endswith("kinks"), ev
    smooth = forensics.probe(lambda x: sines(x).astype(np.float16), X5, queries=4096)
    assert smooth.verdict == "smooth" and smooth.score < ev.score - 2.0


def _quantised(f, bits=8):
    y = f(X5)
    lo, q = y.min(), np.ptp(y) / (2**bits - 1)
    return lambda x: lo + np.round((f(x) - lo) / q) * q


def test_8bit_quantised_outputs_still_show_kinks():
    ev = forensics.probe(_quantised(abs_sum), X5, queries=16384)
    # the tents followed down the zoom still scale like the step ...
    assert abs(ev.exponent - 1) < 0.2 and ev.kind.endswith("kinks")
    # ... over less than a decade of step; past the tents the shape fit follows the kinks
    # on (a hinge beats the cubic over every sample of the zoom line) and the score rises
    # (0.2-0.5 before the shape fit), but 8-bit narrow smooth bends (softplus, beta = 100,
    # in the calibration null) score as high, so the verdict stays "inconclusive"
    assert max(len(c.fits) for c in ev.candidates) > max(c.levels for c in ev.candidates)
    assert ev.verdict == "inconclusive" and ev.score > 1.0, ev
    # a rounded staircase of a smooth function is not taken for kinks
    smooth = forensics.probe(_quantised(polynomial), X5, queries=16384)
    assert smooth.verdict != "nonsmooth" and smooth.score < ev.score - 1.0, smooth
    # with 12 bits the verdict is reached
    assert forensics.probe(_quantised(abs_sum, 12), X5, queries=16384).verdict == "nonsmooth"


def test_noise_floor_reads_the_outputs_precision():
    assert noise.mantissa_bits(np.float16([0.1, 3.7, -2.2]).astype(np.float64)) == 10
    assert noise.mantissa_bits(np.float32([0.1, 3.7]).astype(np.float64)) == 23
    assert noise.mantissa_bits(np.float32([0.1]), hint="float16") == 10
    assert noise.grid_step(np.round(RNG.random(100) * 255) / 255 * 3.0) == pytest.approx(3.0 / 255)
    assert noise.grid_step(RNG.random(100)) == 0.0
    V = np.round(np.linspace(0, 1, 65)[None] ** 2 * 255) / 255  # a quantised parabola
    fl = noise.line_floor(V, grid=1 / 255)
    assert np.abs(np.diff(V, 2)).max() <= fl.value[0]  # the staircase stays under the floor


def test_torch_module_is_accepted():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(5, 32), torch.nn.ReLU(), torch.nn.Linear(32, 2)).double()
    ev = forensics.probe(net, X5, queries=1024)
    assert ev.verdict == "nonsmooth", ev
    assert all(p.grad is None for p in net.parameters())  # outputs only, no backward
    smooth = torch.nn.Sequential(torch.nn.Linear(5, 32), torch.nn.Tanh(), torch.nn.Linear(32, 1))
    assert forensics.probe(smooth, torch.as_tensor(X5, dtype=torch.float32), queries=1024).verdict != "nonsmooth"


def test_multi_dimensional_inputs_and_outputs():
    images = RNG.standard_normal((4, 1, 6, 6))
    seen = []

    def f(x):
        seen.append(x.shape[1:])
        return np.stack([np.abs(x).sum(axis=(1, 2, 3)), x.sum(axis=(1, 2, 3))], axis=1)[:, :, None]

    ev = forensics.probe(f, images, queries=512)
    assert set(seen) == {(1, 6, 6)}
    assert ev.verdict == "nonsmooth"


def test_X_is_not_modified():
    X = X5.copy()
    X.flags.writeable = False
    forensics.probe(relu_net, X, queries=256)
    np.testing.assert_array_equal(X, X5)


@pytest.mark.parametrize(
    "X, f, error, match",
    [
        (np.zeros((0, 5)), relu_net, ValueError, "empty"),
        (np.zeros(5), relu_net, ValueError, "2-D"),
        (np.array([[np.nan] * 5]), relu_net, ValueError, "NaN"),
        (np.array([["a"] * 5]), relu_net, TypeError, "real"),
        (X5, lambda x: relu_net(x)[:-1], ValueError, "one row per input"),
        (X5, lambda x: np.float64(1.0), ValueError, "scalar"),
        (X5, lambda x: np.where(x[:, 0] > 0, np.nan, relu_net(x)), ValueError, "NaN or inf"),
        (X5, lambda x: np.full(len(x), np.inf), ValueError, "NaN or inf"),
        (X5, "not a function", TypeError, "callable"),
    ],
)
def test_bad_input_raises_clear_errors(X, f, error, match):
    with pytest.raises(error, match=match):
        forensics.probe(f, X, queries=256)


def test_plot_shows_lines_and_peaks():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    ev = forensics.probe(abs_sum, X5, queries=256)
    fig = ev.plot()
    top, bottom = fig.axes
    assert len(top.lines) == 3 and "nonsmooth" in top.get_title()
    markers = [line for line in bottom.lines if line.get_marker() == "v"]
    assert sum(len(m.get_xdata()) for m in markers) == int(ev._coarse["peaks"][:3].sum()) > 0


def test_cli_prints_verdict_score_queries(tmp_path, monkeypatch, capsys):
    from fastsmp.cli import main

    (tmp_path / "mymodel.py").write_text(
        "import numpy as np\n"
        "def model():\n"
        "    return lambda x: np.abs(x).sum(axis=1)\n"
        "def data():\n"
        "    return np.random.default_rng(0).normal(size=(8, 4))\n"
    )
    monkeypatch.chdir(tmp_path)
    assert main(["forensics", "--model", "mymodel.py:model", "--data", "mymodel.py:data", "--queries", "300"]) == 0
    out = capsys.readouterr().out
    assert "verdict: nonsmooth" in out
    assert "queries: " in out and int(out.split("queries: ")[1].split()[0]) <= 300
    assert float(out.split("score: ")[1].split()[0]) > forensics.NONSMOOTH_ABOVE
    assert main(["forensics", "--model", "mymodel.py:nope", "--data", "mymodel.py:data"]) == 1


@pytest.mark.slow
def test_bench_quick_writes_its_outputs(tmp_path):
    pytest.importorskip("sklearn")
    pytest.importorskip("torch")
    from fastsmp.forensics.bench import run

    rows = run(out=tmp_path, quick=True, progress=False)
    assert {"forensics.csv", "report.md", "roc.png", "auc.png"} <= {p.name for p in tmp_path.iterdir()}
    assert {r["label"] for r in rows} == {"nonsmooth", "smooth", "confounder"}
    assert all(r["used"] <= r["queries"] for r in rows)
    assert "| clean float32 outputs" in (tmp_path / "report.md").read_text()


def additive_spline(x):
    """Nonsmooth only on planes x_j = const (like linear splines, trees, Laplacian kernels)."""
    return np.interp(x[:, 0], np.linspace(-3, 3, 7), np.cos(np.arange(7))) + np.abs(x[:, 1] - 0.3) + np.interp(x[:, 2], [-1, 0, 1], [0, 1, 0])


def test_alignment_tells_axis_aligned_kinks_from_slanted_ones():
    X = np.random.default_rng(1).standard_normal((12, 5))
    additive = forensics.probe(additive_spline, X, queries=4096)
    # random-direction lines shifted along the input x_j of a kink's plane move it: 1 in 5 here
    assert additive.aligned_tests >= 10 and additive.axis_aligned >= 0.7
    assert additive.kind == "axis-aligned kinks" and additive.verdict == "nonsmooth"
    assert additive.slanted < -0.3 and additive.continuous > 0.5 and additive.network < -0.3
    for f in (relu_net, linear_spline):  # kinks on slanted hyperplanes
        ev = forensics.probe(f, X, queries=4096)
        assert ev.aligned_tests >= 10 and ev.axis_aligned == 0.0, f.__name__
        assert ev.kind == "kinks"
        assert ev.network > 0.8 and ev.network == min(ev.continuous, ev.slanted)


def axis_steps(x):
    """Piecewise constant, jumps on the planes x_0 = 0.1 and x_1 = -0.4 (like a tree); levels off any
    uniform grid (integer levels would pass for quantised outputs, whose floor hides the jumps)."""
    return np.where(x[:, 0] > 0.1, 0.7313, 0.0) + np.where(x[:, 1] > -0.4, 1.9121, -0.55)


def slanted_steps(x):
    """Piecewise constant, jumps on slanted planes (like nearest neighbours)."""
    return np.where(x[:, 0] + x[:, 1] - x[:, 2] > 0.1, 0.7313, 0.0) + np.where(x[:, 3] - 0.5 * x[:, 4] > -0.2, 1.9121, -0.55)


@pytest.mark.parametrize("f", [axis_steps, slanted_steps], ids=lambda f: f.__name__)
def test_jumps_are_not_a_network(f):
    ev = forensics.probe(f, X5, queries=4096)
    assert ev.kind.endswith("jumps") and ev.exponent < 0.5  # the tent keeps its mass
    assert ev.continuous < -0.5 and ev.network < -0.5
    assert (ev.axis_aligned >= 0.5) == (f is axis_steps), ev.axis_aligned


def test_network_evidence_needs_continuous_and_slanted_kinks():
    from fastsmp.forensics.network import network_evidence

    assert network_evidence([1.0] * 4, 0.0, 4) == (0.8, 0.8, 0.8)  # continuous kinks that moved
    assert network_evidence([1.0] * 4, 1.0, 4).score == -0.8  # kinks that stayed put: a spline
    assert network_evidence([0.0] * 4, 0.0, 4).score == -0.8  # jumps that moved: nearest neighbours
    assert network_evidence([1.0, 2.0, 0.2, 0.4], 0.25, 3) == (0.0, 0.0, 0.375)  # half jumps
    assert network_evidence([], float("nan"), 0).score == 0.0 and network_evidence([1.0], float("nan"), 0).score == 0.0


def test_zoom_chains_record_each_level():
    ev = forensics.probe(abs_sum, X5, queries=4096)
    chain = max(ev.candidates, key=lambda c: c.levels)
    assert chain.levels >= 2 and len(chain.history) == chain.levels + 1
    steps, masses = np.array([h[0] for h in chain.history]), np.array([h[1] for h in chain.history])
    assert np.all(np.diff(steps) < 0)  # finer and finer
    assert np.allclose(np.diff(np.log(masses)) / np.diff(np.log(steps)), 1.0, atol=0.05)  # a kink at every level


def test_a_narrow_smooth_bend_is_not_a_kink_once_the_zoom_resolves_it():
    """softplus with a large beta is a kink at every step much longer than its
    width; the zoom reaches steps where it spreads (local exponent 2)."""
    def softplus_net(x, beta=100.0):
        z = x @ W + B
        return (np.logaddexp(0.0, beta * z) / beta) @ A

    ev = forensics.probe(softplus_net, X5, queries=4096)
    assert ev.verdict != "nonsmooth", ev
    relu = forensics.probe(relu_net, X5, queries=4096)
    assert relu.verdict == "nonsmooth" and relu.score > ev.score + 1.0
    # a chain seen over a tenth of a decade gets a tenth of its positive evidence
    from fastsmp.forensics.calibration import chain_evidence

    assert chain_evidence(1, 1.0, 0.9, (1.0,), decades=0.1) == pytest.approx(0.1 * chain_evidence(1, 1.0, 0.9))


def _noisy(f, level=1e-3, seed=0):
    y = f(X5)
    rng = np.random.default_rng(seed)
    return lambda x: f(x) + level * np.ptp(y) * rng.standard_normal(len(x))


def test_shape_fit_tells_a_noisy_kink_from_a_noisy_bend():
    from fastsmp.forensics.features import shape_fit

    t = np.linspace(-1, 1, 65)
    rng = np.random.default_rng(3)
    sigma = 0.01
    # slope change 2c = 0.4 over the line: its two-sample tent (0.4 * 2/64 = 0.0125) is 1.3 sigma, far
    # under any floor (6 sigma of a second difference: 0.15), but the fit uses all 65 samples
    kinks = 0.2 * np.abs(t - rng.uniform(-0.5, 0.5, (40, 1))) + 0.3 * t + rng.normal(0, sigma, (40, 65))
    bends = 0.15 * (t - rng.uniform(-0.5, 0.5, (40, 1))) ** 2 + rng.normal(0, sigma, (40, 65))
    straight = 0.3 * t + rng.normal(0, sigma, (40, 65))
    fk, fb, fs = (shape_fit(V, np.full(40, sigma)) for V in (kinks, bends, straight))
    assert np.mean(fk.llr > 5) >= 0.9 and np.mean(fb.llr < -5) >= 0.9
    assert np.abs(fs.llr).max() < 10  # noise alone decides nothing
    assert np.median(np.abs(fs.sigma - sigma)) < 0.1 * sigma
    # the hinge is placed at the kink and its coefficient is the slope change / 2
    where = (rng.uniform(-0.5, 0.5) + 1) * 32
    one = shape_fit(0.2 * np.abs(t - (where / 32 - 1))[None] + 0.3 * t, np.full(1, 1e-9))
    assert abs(one.position[0] - where) <= 0.125 and one.amplitude[0] == pytest.approx(0.2, rel=0.01)


def test_noisy_outputs_the_zoom_follows_hinges_below_the_floor():
    """1e-3 noise: the tents of the kinks sink under the floor after one zoom level at most, but
    the chains go on on the shape fit: a kink keeps beating the cubic as the window shrinks, a smooth
    bend's curvature fades (as the window squared) and it says nothing or "bend"."""
    kinked = forensics.probe(_noisy(abs_sum), X5, queries=4096)
    smooth = forensics.probe(_noisy(sines), X5, queries=4096)
    for ev in (kinked, smooth):
        assert sum(len(c.fits) > c.levels for c in ev.candidates) >= len(ev.candidates) // 2
    assert np.mean([c.shape for c in kinked.candidates]) > 0.5
    assert np.mean([c.shape for c in smooth.candidates]) < 0.2
    assert kinked.score > smooth.score + 2.0 and kinked.verdict != "smooth" and smooth.verdict != "nonsmooth"
    # each counted fit level is finer than the one before
    chain = max(kinked.candidates, key=lambda c: len(c.fits))
    assert len(chain.fits) >= 2 and all(b[0] < a[0] for a, b in zip(chain.fits, chain.fits[1:]))


def test_a_staircase_of_a_few_levels_is_no_shape_evidence(monkeypatch):
    """8-bit outputs: zoom lines that span fewer than FIT_QUANTA quantisation steps do not count
    for the shape fit, whatever the hinge and the cubic make of the steps."""
    import sys

    probe_module = sys.modules["fastsmp.forensics.probe"]
    f = _quantised(abs_sum)
    ev = forensics.probe(f, X5, queries=4096)
    assert any(len(c.fits) > 0 for c in ev.candidates)
    monkeypatch.setattr(probe_module, "FIT_QUANTA", 1e9)  # no zoom line spans that many
    ev = forensics.probe(f, X5, queries=4096)
    assert all(len(c.fits) == 0 and c.shape == 0.0 for c in ev.candidates)


def test_heldout_generators_and_study():
    from fastsmp.forensics import heldout, null

    rng = np.random.default_rng(0)
    t = np.linspace(-3, 3, 3001)[:, None] * np.array([[1.0, -0.5, 0.3]])
    for name, (act, kinked) in null.ACTIVATIONS.items():
        assert null.random_activation_network(3, rng, name)(t).shape == (3001,)
        # a kinked activation has a second difference that stays large as the step shrinks
        d = np.abs(np.diff(act(np.linspace(-4, 4, 8001)), 2))
        assert (d.max() > 1e-4) == kinked, name
    rows = heldout.scores(functions=1, budgets=(256,), degradations=("float32",), generators=["relu_net", "tanh_net"])
    assert {r[0] for r in rows} == {"relu_net", "tanh_net"} and len(rows) == 2
    assert set(heldout.aucs(rows)) == {"relu_net", "tanh_net"}
