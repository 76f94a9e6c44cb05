"""The propagation model against closed forms and against simulated lines."""

import math

import numpy as np
import pytest

pytest.importorskip("scipy")

import fastsmp
import fastsmp.model as M
import fastsmp.science.model
from fastsmp.experiments import gaussian_lines
from fastsmp.science.model.windows import _maxpool_np


def unit(l, mu=0.0):
    return M.Process(mu, 1.0, M.GaussianAutocorrelation(float(l)))


def test_fastsmp_model_is_the_short_alias_of_science_model():
    assert set(M.__all__) == set(fastsmp.science.model.__all__)
    for name in M.__all__:
        assert getattr(M, name) is getattr(fastsmp.science.model, name)


# --- autocorrelations ---------------------------------------------------------


@pytest.mark.parametrize(
    "acf",
    [M.GaussianAutocorrelation(7.0), M.GaussianAutocorrelation(9.0, frequency=0.2)],
)
def test_acf_derivatives_match_finite_differences(acf):
    tau, h = np.array([-3.0, 0.5, 4.0, 11.0]), 1e-4
    for n in range(5):
        numeric = (acf.derivative(tau + h, n) - acf.derivative(tau - h, n)) / (2 * h)
        assert np.allclose(acf.derivative(tau, n + 1), numeric, rtol=1e-5, atol=1e-9)


def test_filtered_acf_of_delta_kernel_is_the_input_acf():
    base = M.GaussianAutocorrelation(12.0)
    for kernel in ([[1.0]], [[0.0, 2.0, 0.0]]):
        f = M.FilteredAutocorrelation.from_kernel(base, kernel)
        tau = np.linspace(-30, 30, 13)
        for n in range(4):
            assert np.allclose(f.derivative(tau, n), base.derivative(tau, n))


def test_conv_process_moments():
    p = unit(15.0, mu=0.5)
    q = M.conv_process(p, [[1.0, 1.0]], bias=0.25)
    assert q.mu == pytest.approx(0.25 + 0.5 * 2)
    assert q.sigma**2 == pytest.approx(2 + 2 * math.exp(-1 / (2 * 15.0**2)))


# --- Kac-Rice engine ----------------------------------------------------------


def test_rice_zero_crossing_rate():
    # zeros of a Gaussian process with level mu: exp(-mu^2/2)/(pi l) per sample
    for mu in (0.0, 1.0):
        p = unit(10.0, mu)
        ev = M.EventType(M.Functional.value(), lambda gp, y: np.ones_like(gp))
        rate = M.marked_events(p, [ev], 1.0, n_tau=8, log2_points=8).mean
        assert rate == pytest.approx(math.exp(-mu * mu / 2) / (math.pi * 10), rel=2e-3)


def test_relu_kink_rate_closed_form():
    # E[sum of |x'| over zeros] = sigma'^2 phi(mu/sigma) / sigma, times 3/4 per kink
    for mu in (-1.0, 0.0, 1.0):
        p = unit(20.0, mu)
        got = M.marked_events(
            p, [M.relu_kink_events()], 10_000.0, n_tau=8, log2_points=8
        ).mean
        want = 0.75 * 10_000 / 400 * math.exp(-mu * mu / 2) / math.sqrt(2 * math.pi)
        assert got == pytest.approx(want, rel=5e-3)


def test_relu_at_mu0_is_kinks_plus_half_the_smooth_smp():
    p, n = unit(30.0), 20_000
    smooth = M.smooth_smp(p, n).mean
    assert M.relu_smp(p, n).mean == pytest.approx(
        M.relu_closed_form_mean(p, n, smooth), rel=5e-3
    )
    # and the closed form itself: 3/4 (n - 4) / (l^2 sqrt(2 pi)) + smooth / 2
    kinks = 0.75 * (n - 4) / 900 / math.sqrt(2 * math.pi)
    assert M.relu_closed_form_mean(p, n, smooth) == pytest.approx(kinks + smooth / 2)


def test_smooth_smp_matches_window_expectation():
    p = unit(25.0)
    exact = M.window_peak_mean(p, lambda x: x, 5, 10_000)
    assert M.smooth_smp(p, 10_000).mean == pytest.approx(exact, rel=0.02)


def test_smooth_smp_scales_as_l_to_minus_3():
    # peaks of |d| ~ 1/l apart, heights ~ sigma / l^2
    a, b = M.smooth_smp(unit(40.0), 50_000).mean, M.smooth_smp(unit(80.0), 50_000).mean
    assert a / b == pytest.approx(8.0, rel=0.03)


# --- convolution --------------------------------------------------------------


def test_conv_with_delta_kernel_is_identity():
    p = unit(20.0)
    assert M.conv_smp(p, [[1.0]], 5000).mean == pytest.approx(
        M.smooth_smp(p, 5000).mean, rel=1e-12
    )
    assert M.conv_smp(p, [[0.0, 1.0, 0.0]], 5000).mean == pytest.approx(
        M.smooth_smp(p, 5000).mean, rel=1e-12
    )


def test_peak_gains():
    assert M.peak_gain([1.0]) == 1.0
    assert M.peak_gain([1.0, 0.2, 1.0]) == 2.0  # two peaks of |w|
    assert M.peak_gain([0.2, 1.0, 0.2]) == 1.0
    assert M.kink_peak_gain([1.0]) == pytest.approx(0.75)  # E max(f, 1-f)
    w = np.array([0.3, -1.0, 0.6])
    assert M.kink_peak_gain(2 * w) == pytest.approx(2 * M.kink_peak_gain(w))
    g = M.peak_gain_distribution(1, n=4000)
    assert g.mean() == pytest.approx(math.sqrt(2 / math.pi), rel=0.02)


def test_smooth_input_through_conv_gains_nothing_beyond_curvature_level():
    rng = np.random.default_rng(1)
    acf, n = M.GaussianAutocorrelation(30.0), 4096
    x = gaussian_lines(acf, n, 3 * 48, rng).reshape(48, 3, n)
    w = rng.standard_normal((3, 5)) / math.sqrt(15)
    y = sum(
        np.stack([np.correlate(xi[c], w[c], mode="valid") for xi in x])
        for c in range(3)
    )
    measured = float(np.mean(fastsmp.smp(y)))
    predicted = M.conv_smp(M.Process(0.0, 1.0, acf), w, y.shape[-1]).mean
    assert measured == pytest.approx(predicted, rel=0.05)
    # curvature level: same order as the smooth SMP of a process with the output's variance
    level = M.smooth_smp(
        M.Process(0.0, M.conv_process(unit(30.0), w).sigma, acf), n
    ).mean
    assert 0.3 < measured / level < 3


# --- ReLU and max pooling -----------------------------------------------------


def test_relu_matches_simulation_and_raises_smp_by_an_order_of_magnitude():
    rng = np.random.default_rng(2)
    acf, n = M.GaussianAutocorrelation(50.0), 8192
    x = gaussian_lines(acf, n, 64, rng)
    before = float(np.mean(fastsmp.smp(x)))
    after = fastsmp.smp(np.maximum(x, 0))
    pred = M.relu_smp(M.Process(0.0, 1.0, acf), n)
    assert float(np.mean(after)) == pytest.approx(pred.mean, rel=0.04)
    assert float(np.std(after, ddof=1)) == pytest.approx(pred.std, rel=0.3)
    assert np.mean(after) > 8 * before
    assert pred.mean > 8 * M.smooth_smp(M.Process(0.0, 1.0, acf), n).mean


def test_pool_edit_gain_closed_form_k2_s1():
    # at a minimum the pooled curvature has c (3 -+ 2 delta) / 2, delta ~ U(-1/2, 1/2):
    # a new peak c (3 + 2|delta|)/2 -> mean 7/4, mean square E[(3/2 + u)^2] = 37/12
    a_max, _, a_min, a_min2 = M.pool_edit_gain(2, 1)
    assert a_min == pytest.approx(1.75, abs=1e-3)
    assert a_min2 == pytest.approx(37 / 12, abs=2e-3)
    assert a_max == pytest.approx(
        1.0, abs=2e-3
    )  # the dip leaves one peak of height |c|


@pytest.mark.parametrize("k,s", [(2, 1), (3, 2)])
def test_maxpool_matches_simulation(k, s):
    import torch

    rng = np.random.default_rng(3)
    acf, n = M.GaussianAutocorrelation(20.0), 8192
    x = gaussian_lines(acf, n, 48, rng)
    y = torch.nn.functional.max_pool1d(torch.from_numpy(x)[:, None], k, s)[:, 0].numpy()
    measured = fastsmp.smp(y)
    pred = M.maxpool_smp(M.Process(0.0, 1.0, acf), k, s, y.shape[-1])
    assert float(np.mean(measured)) == pytest.approx(pred.mean, rel=0.05)
    # the Kac-Rice model overshoots by O(s/l), the window predictor does not
    assert pred.details["kac_rice_mean"] > pred.mean


def test_max_pooling_raises_smp_an_order_of_magnitude_only_with_a_wide_window():
    # kinks at the minima have slope change x'(t+k-1) - x'(t): ~ (k-1) |x''| for a short
    # window (the curvature's own order), ~ |x'| for a window comparable to the period
    t = np.arange(4096.0)
    x = np.sin(2 * np.pi * t / 200)
    base = float(fastsmp.smp(x))
    ratio = {k: float(fastsmp.smp(_maxpool_np(x, k, 1))) / base for k in (2, 3, 64)}
    assert 1.2 < ratio[2] < 4 and 1.2 < ratio[3] < 4
    assert ratio[64] > 10
    relu = float(fastsmp.smp(np.maximum(x, 0))) / base
    assert relu > 20  # ReLU: ~ period / (2 pi) more


# --- stacks -------------------------------------------------------------------


def test_stack_first_layer_matches_simulation():
    import torch

    rng = np.random.default_rng(4)
    acf, n = M.GaussianAutocorrelation(50.0), 4096
    w = rng.standard_normal((3, 1, 5)) / math.sqrt(5)
    layer = {"weight": w, "bias": np.zeros(3), "k": 2, "s": 2}
    x = torch.from_numpy(gaussian_lines(acf, n, 64, rng)[:, None])
    y = torch.nn.functional.max_pool1d(
        torch.relu(torch.nn.functional.conv1d(x, torch.from_numpy(w))), 2, 2
    )
    measured = np.asarray(fastsmp.smp(y.numpy()))
    pred = M.stack_smp(M.Process(0.0, 1.0, acf), [layer], n)[0]
    assert float(measured.mean()) == pytest.approx(pred.mean, rel=0.08)
