import numpy as np
import pytest

from pm_monitor.core.acceleration_units import STANDARD_GRAVITY_M_S2
from pm_monitor.core.condition.features import (
    RateError,
    bands_for_rate,
    feature_names,
    window_features,
)


def test_bands_are_in_hz_and_follow_the_rate():
    assert bands_for_rate(12000.0)[-1] == (2200.0, 5000.0)
    assert bands_for_rate(51200.0)[-1] == (10000.0, 20000.0)
    assert len(feature_names(25600.0)) > len(feature_names(12000.0))


def test_a_rate_too_low_is_refused_with_the_reason():
    with pytest.raises(RateError, match="below 5000 Hz"):
        window_features(np.zeros((4000, 1)), 4000.0, ("x",))


def test_units_g_and_m_s2_give_the_same_features():
    x = np.random.default_rng(0).standard_normal((20000, 1)) * 0.1
    in_g = window_features(x, 20000.0, ("x",), "g")
    in_si = window_features(x * STANDARD_GRAVITY_M_S2, 20000.0, ("x",), "m/s^2")
    np.testing.assert_allclose(in_g.values, in_si.values, rtol=1e-9)


def test_velocity_of_a_sine_matches_the_analytic_value():
    rate, f, amp_g = 20000.0, 100.0, 1.0
    t = np.arange(int(rate)) / rate
    x = amp_g * np.sin(2 * np.pi * f * t)
    feats = window_features(x, rate, ("x",))
    expected = amp_g * STANDARD_GRAVITY_M_S2 / (2 * np.pi * f) / np.sqrt(2) * 1000.0
    assert feats.get("x", "velocity_rms_mm_s") == pytest.approx(expected, rel=0.05)
    assert feats.get("x", "rms_g") == pytest.approx(amp_g / np.sqrt(2), rel=1e-3)


def test_one_to_n_axes():
    x = np.random.default_rng(1).standard_normal((5000, 3))
    assert window_features(x, 50000.0, ("x", "y", "z")).values.shape[0] == 3
    with pytest.raises(ValueError, match="axes"):
        window_features(x, 50000.0, ("x",))
