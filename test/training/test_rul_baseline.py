"""The RMS + exponential baseline on a synthetic exponential degradation."""
from __future__ import annotations

import numpy as np

from pm_monitor.training.rul_baseline import BaselineConfig, end_of_life_ratio, run_baseline
from pm_monitor.training.rul_network.targets import OnsetRule


def exponential_record() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    t = np.arange(0.0, 10000.0, 10.0)
    hi = 0.4 * (1 + 0.01 * rng.normal(size=t.size))
    grow = t > 6000
    hi[grow] += 0.05 * (np.exp((t[grow] - 6000.0) / 800.0) - 1.0)
    return t, hi


def test_baseline_extrapolates_to_the_failure_level_late_in_life():
    t, hi = exponential_record()
    ratio = end_of_life_ratio(t, hi, OnsetRule())
    track = run_baseline(t, hi, BaselineConfig(failure_ratio=ratio))
    late = np.searchsorted(t, 9000.0)
    true_rul = t[-1] - t[late]
    assert abs(track.rul_s[late] - true_rul) < 0.35 * true_rul
    assert track.rul_s[100] == BaselineConfig(failure_ratio=ratio).max_rul_s  # healthy: no trend
    assert track.health_index[10] > 0.9 and track.health_index[-1] < 0.1
