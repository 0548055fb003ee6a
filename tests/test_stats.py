"""Unit tests of the curve statistics against known answers."""

import numpy as np
import pytest

from overfit_doctor.checks.early_stopping import simulate_early_stopping
from overfit_doctor.checks.stats import mann_kendall, noise_sigma, smooth, smooth_window


def test_noise_sigma_recovers_white_noise_on_a_trend():
    rng = np.random.default_rng(0)
    x = np.linspace(0, 1, 400)
    y = 2.0 * np.exp(-3 * x) + rng.normal(0, 0.05, size=x.size)
    assert noise_sigma(y) == pytest.approx(0.05, rel=0.15)


def test_noise_sigma_ignores_a_few_spikes():
    rng = np.random.default_rng(1)
    y = rng.normal(0, 0.01, 300)
    y[[50, 150, 250]] += 5.0
    assert noise_sigma(y) < 0.02


def test_mann_kendall_detects_monotone_trends_and_not_noise():
    rng = np.random.default_rng(2)
    tau, p = mann_kendall(np.arange(20.0))
    assert tau == pytest.approx(1.0) and p < 1e-6
    tau, p = mann_kendall(-np.arange(20.0))
    assert tau == pytest.approx(-1.0)
    tau, p = mann_kendall(rng.normal(size=30))
    assert p > 0.05


def test_smooth_removes_a_single_spike_and_keeps_length():
    y = np.ones(11)
    y[5] = 10
    s = smooth(y, 5)
    assert len(s) == 11 and s.max() == 1


def test_smooth_window_is_odd_and_shrinks_for_short_curves():
    assert smooth_window(100) == 5
    assert smooth_window(6) == 1
    assert smooth_window(9) == 3


def test_simulated_early_stopping_matches_keras_semantics():
    # best at index 2, then 3 epochs without improvement -> stops at index 5 with patience 3
    stop, best = simulate_early_stopping(np.array([1.0, 0.8, 0.5, 0.6, 0.55, 0.7, 0.4]), 3, 0.0)
    assert (stop, best) == (5, 2)
    # min_delta: an improvement smaller than min_delta does not reset patience
    stop, best = simulate_early_stopping(np.array([1.0, 0.99, 0.98, 0.97]), 2, 0.05)
    assert (stop, best) == (2, 0)
