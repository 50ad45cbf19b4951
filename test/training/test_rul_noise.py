"""Noise of the robustness test, in units of the window's peak-to-peak range."""
from __future__ import annotations

import numpy as np
import pytest

from pm_monitor.training.rul_noise import GAUSSIAN_SIGMA, SALT_PEPPER_FRACTION, perturb


def test_noise_levels_are_relative_to_the_window_range():
    window = np.sin(np.linspace(0, 60, 20000)) * 7.0  # range 14
    rng = np.random.default_rng(0)
    gaussian = perturb(window, "gaussian", rng) - window
    assert gaussian.std() == pytest.approx(GAUSSIAN_SIGMA * 14.0, rel=0.05)
    uniform = perturb(window, "uniform", rng) - window
    assert np.abs(uniform).max() <= 0.05 * 14.0 + 1e-9
    salted = perturb(window, "salt_pepper", rng)
    changed = salted != window
    assert changed.mean() == pytest.approx(SALT_PEPPER_FRACTION, abs=0.005)
    assert set(np.unique(salted[changed])) <= {window.min(), window.max()}


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown noise kind"):
        perturb(np.zeros(4), "pink", np.random.default_rng(0))
