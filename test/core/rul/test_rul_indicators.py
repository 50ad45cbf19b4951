"""Health indicators in physical units, independent of the sample rate."""
from __future__ import annotations

import numpy as np
import pytest

from pm_monitor.core.rul.indicators import (
    INDICATOR_NAMES,
    axis_indicators,
    snapshot_indicators,
)


def tone(freq_hz: float, fs: float, amplitude: float = 1.0, seconds: float = 0.1) -> np.ndarray:
    return amplitude * np.sin(2 * np.pi * freq_hz * np.arange(round(seconds * fs)) / fs)


def test_rms_kurtosis_peak_of_a_sine():
    values = axis_indicators(tone(500.0, 25600.0, 2.0), 25600.0)
    assert values["rms"] == pytest.approx(2.0 / np.sqrt(2), rel=1e-3)
    assert values["kurtosis"] == pytest.approx(1.5, rel=0.02)  # a sine's kurtosis
    assert values["peak"] == pytest.approx(2.0, rel=1e-3)


def test_gaussian_noise_has_kurtosis_three_and_impacts_more():
    rng = np.random.default_rng(0)
    noise = rng.normal(size=25600)
    assert axis_indicators(noise, 25600.0)["kurtosis"] == pytest.approx(3.0, abs=0.1)
    impacts = noise.copy()
    impacts[::2000] += 30.0
    assert axis_indicators(impacts, 25600.0)["kurtosis"] > 10.0


def test_band_energy_sees_tones_in_its_band_only():
    inside = axis_indicators(tone(5000.0, 25600.0), 25600.0)["band_energy"]
    outside = axis_indicators(tone(300.0, 25600.0), 25600.0)["band_energy"]
    assert inside == pytest.approx(0.5, rel=0.1) and outside < 0.01 * inside


def test_envelope_sees_amplitude_modulation():
    fs = 25600.0
    carrier = tone(5000.0, fs)
    t = np.arange(carrier.size) / fs
    modulated = carrier * (1 + 0.8 * np.sin(2 * np.pi * 100.0 * t))
    assert axis_indicators(modulated, fs)["envelope"] > 5 * axis_indicators(carrier, fs)[
        "envelope"]


def modulated(fs: float) -> np.ndarray:
    t = np.arange(round(0.1 * fs)) / fs
    return tone(5000.0, fs) * (1 + 0.5 * np.sin(2 * np.pi * 100.0 * t))


def test_the_same_vibration_at_two_rates_gives_the_same_numbers():
    a = snapshot_indicators(modulated(25600.0), modulated(25600.0) + tone(700.0, 25600.0),
                            25600.0)
    b = snapshot_indicators(modulated(51200.0), modulated(51200.0) + tone(700.0, 51200.0),
                            51200.0)
    assert a.shape == (len(INDICATOR_NAMES),)
    np.testing.assert_allclose(a, b, rtol=0.05)


def test_bad_windows_are_refused():
    with pytest.raises(ValueError):
        axis_indicators(np.array([1.0, np.nan] * 64), 25600.0)
    with pytest.raises(ValueError, match="too low"):
        axis_indicators(np.zeros(256), 3000.0)
