import numpy as np
import pytest

from pm_monitor.core.acceleration_units import STANDARD_GRAVITY_M_S2
from pm_monitor.core.condition.features import (
    MIN_RATE_HZ,
    RateError,
    bands_for_rate,
    feature_names,
    missing_bands,
    window_features,
)
from pm_monitor.core.condition.health import level_features


def test_bands_are_in_hz_and_follow_the_rate():
    assert bands_for_rate(12000.0)[-1] == (2200.0, 5000.0)
    assert bands_for_rate(51200.0)[-1] == (10000.0, 20000.0)
    assert len(feature_names(25600.0)) > len(feature_names(12000.0))


def test_a_rate_too_low_is_refused_with_the_reason():
    with pytest.raises(RateError, match=r"below 2222 Hz: the ISO 10816-3 velocity band"):
        window_features(np.zeros((2000, 1)), 2000.0, ("x",))


def test_the_minimum_rate_is_the_iso_band_edge_below_the_usable_limit():
    # 1000 Hz (the ISO band's upper edge) = 0.45 x 2222 Hz: the lowest rate that observes it
    assert abs(MIN_RATE_HZ - 1000.0 / 0.45) < 1e-9
    window_features(np.zeros((230, 1)), 2300.0, ("x",))  # just above: taken
    with pytest.raises(RateError):
        window_features(np.zeros((220, 1)), 2200.0, ("x",))


def test_a_mems_rate_keeps_time_statistics_iso_velocity_and_the_low_band():
    rate = 3200.0  # an ADXL345 at its top rate
    assert bands_for_rate(rate) == ((10.0, 1000.0),)
    assert missing_bands(rate)[0] == (1000.0, 2200.0)
    names = feature_names(rate)
    assert names == ("rms_g", "peak_g", "crest", "kurtosis", "velocity_rms_mm_s",
                     "spectral_kurtosis", "band_0.01_1khz_g")
    assert [names[i] for i in level_features(names)] == ["rms_g"]  # the health indicator
    t = np.arange(int(rate)) / rate
    feats = window_features(np.sin(2 * np.pi * 100.0 * t), rate, ("x",))
    assert np.isfinite(feats.values).all()
    expected = STANDARD_GRAVITY_M_S2 / (2 * np.pi * 100.0) / np.sqrt(2) * 1000.0
    assert feats.get("x", "velocity_rms_mm_s") == pytest.approx(expected, rel=0.05)


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
