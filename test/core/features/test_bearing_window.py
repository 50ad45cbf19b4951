"""Bearing window features against analytic signals."""
from __future__ import annotations

import numpy as np
import pytest

from pm_monitor.core.features.bearing_window import (
    BearingWindowConfig,
    axis_feature_names,
    axis_features,
    band_log_powers,
    defect_hz,
    envelope_spectrum_of,
    feature_names,
    window_features,
)

FS = 12000.0
SHAFT_HZ = 29.95
CONFIG = BearingWindowConfig()


def _value(features: np.ndarray, name: str) -> float:
    return float(features[axis_feature_names(CONFIG).index(name)])


def _impulse_train(rate_hz: float, n: int = 12000, resonance_hz: float = 3000.0) -> np.ndarray:
    """Decaying resonance rings repeating at rate_hz (a localised bearing defect)."""
    t = np.arange(n) / FS
    ring_t = np.arange(int(0.004 * FS)) / FS
    ring = np.exp(-ring_t * 2 * np.pi * resonance_hz * 0.05) * np.sin(2 * np.pi * resonance_hz
                                                                       * ring_t)
    x = np.zeros(n)
    for start in np.arange(0.0, t[-1], 1.0 / rate_hz):
        i = round(float(start) * FS)
        x[i:i + ring.size] += ring[: n - i]
    return x + 0.01 * np.random.default_rng(0).standard_normal(n)


def test_sine_rms_peak_crest_and_kurtosis() -> None:
    amplitude = 2.0
    t = np.arange(12000) / FS
    feats = axis_features(amplitude * np.sin(2 * np.pi * 100.0 * t), FS, SHAFT_HZ, CONFIG)
    assert _value(feats, "rms") == pytest.approx(np.log10(amplitude / np.sqrt(2)), abs=1e-4)
    assert _value(feats, "peak") == pytest.approx(np.log10(amplitude), abs=1e-3)
    assert _value(feats, "crest") == pytest.approx(np.log(np.sqrt(2)), abs=1e-3)
    assert _value(feats, "kurtosis") == pytest.approx(np.log(1.5), abs=1e-3)  # sine: 3/2


def test_teager_kaiser_of_a_sine_is_a_squared_sin_squared_omega() -> None:
    amplitude, f = 1.5, 500.0
    x = amplitude * np.sin(2 * np.pi * f * np.arange(12000) / FS)
    expected = amplitude**2 * np.sin(2 * np.pi * f / FS) ** 2
    assert _value(axis_features(x, FS, SHAFT_HZ, CONFIG), "tke") == pytest.approx(
        np.log10(expected), abs=1e-3)


@pytest.mark.parametrize("defect", ["bpfo", "bpfi"])
def test_impulse_train_peaks_at_its_defect_frequency(defect: str) -> None:
    rates = defect_hz(SHAFT_HZ, CONFIG.bearing)
    x = _impulse_train(rates[defect])
    freqs, env = envelope_spectrum_of(x, FS, CONFIG.resonance_band_hz)
    search = (freqs > 20) & (freqs < 600)
    strongest = freqs[search][np.argmax(env[search])]
    assert strongest == pytest.approx(rates[defect], abs=1.5)  # 1 Hz bins
    feats = axis_features(x, FS, SHAFT_HZ, CONFIG)
    other = "bpfi" if defect == "bpfo" else "bpfo"
    assert _value(feats, f"env_{defect}_h1") > np.log(20.0)
    assert _value(feats, f"env_{defect}_h1") > _value(feats, f"env_{other}_h1") + 1.0


def test_band_powers_add_up_to_the_variance() -> None:
    x = np.random.default_rng(1).standard_normal(4096)
    config = BearingWindowConfig(n_bands=8, spectrum_max_hz=FS / 2)
    total = np.sum(10 ** band_log_powers(x - x.mean(), FS, config))
    assert total == pytest.approx(np.var(x), rel=1e-6)


def test_window_features_layout_and_per_window_shaft_speed() -> None:
    rng = np.random.default_rng(2)
    windows = rng.standard_normal((3, 2048, 2))
    feats = window_features(windows, FS, np.array([29.0, 29.5, 30.0]), CONFIG)
    assert feats.shape == (3, len(feature_names(("h", "v"), CONFIG)))
    assert feats.dtype == np.float32 and np.all(np.isfinite(feats))
    single = axis_features(windows[1, :, 1], FS, 29.5, CONFIG)
    np.testing.assert_allclose(feats[1, single.size:], single, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("bad, message", [
    (np.zeros(10), ">= 64 samples"),
    (np.full(1000, np.nan), "non-finite"),
    (np.zeros((100, 2)), "1-D"),
])
def test_bad_windows_are_refused_clearly(bad: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        axis_features(bad, FS, SHAFT_HZ, CONFIG)


def test_resonance_band_above_nyquist_is_refused() -> None:
    with pytest.raises(ValueError, match="Nyquist"):
        axis_features(np.ones(1000), 6000.0, SHAFT_HZ, CONFIG)


def test_config_round_trips_through_a_dict_and_rejects_unknown_keys() -> None:
    assert BearingWindowConfig.from_dict(CONFIG.to_dict()) == CONFIG
    with pytest.raises(ValueError, match="unknown"):
        BearingWindowConfig.from_dict({"bands": 3})
    with pytest.raises(ValueError):
        BearingWindowConfig(resonance_band_hz=(5000.0, 2000.0))
