import numpy as np

from pm_monitor.core.condition.shaft_speed import estimate_shaft_hz


def test_speed_drifted_from_nameplate_is_found():
    rate, true_hz = 12000.0, 28.83  # 1730 rpm under load, nameplate 1797
    t = np.arange(int(rate)) / rate
    rng = np.random.default_rng(0)
    x = sum(np.sin(2 * np.pi * k * true_hz * t) / k for k in range(1, 5))
    x = x + rng.standard_normal(t.size)
    est = estimate_shaft_hz(x, rate, 1797 / 60, search_fraction=0.06)
    assert est.estimated and abs(est.shaft_hz - true_hz) < 0.15


def test_short_windows_fall_back_to_nominal():
    est = estimate_shaft_hz(np.random.default_rng(0).standard_normal(256), 25600.0, 30.0, 0.05)
    assert not est.estimated and est.shaft_hz == 30.0
