"""CWT features: a pure tone's dominant frequency is found; energy follows amplitude."""
from __future__ import annotations

import numpy as np
import pytest

from pm_monitor.training.rul_network.cwt_features import FEATURE_NAMES, CwtConfig, cwt_features

FS = 25600.0
T = np.arange(2560) / FS
DOMINANT = FEATURE_NAMES.index("dominant_freq_hz")


@pytest.mark.parametrize("freq_hz", [200.0, 1000.0, 3000.0, 6000.0, 9000.0])
def test_pure_tone_dominant_frequency(freq_hz):
    features = cwt_features(np.sin(2 * np.pi * freq_hz * T))
    # scales are log-spaced 100 Hz..10 kHz in 32 steps: neighbours differ by ~16 %
    assert features[DOMINANT] == pytest.approx(freq_hz, rel=0.1)


def test_log_energy_grows_with_amplitude_and_entropy_with_spread():
    tone = np.sin(2 * np.pi * 2000.0 * T)
    quiet, loud = cwt_features(tone), cwt_features(10 * tone)
    assert loud[0] - quiet[0] == pytest.approx(np.log(100.0), abs=1e-6)  # energy ~ amplitude^2
    noise = np.random.default_rng(0).normal(size=T.size)
    assert cwt_features(noise)[2] > quiet[2]  # broadband: energy spread over scales


def test_config_and_input_validation():
    with pytest.raises(ValueError):
        CwtConfig(f_min_hz=5000.0, f_max_hz=100.0)
    with pytest.raises(ValueError, match="NaN"):
        cwt_features(np.full(100, np.nan))
    assert len(cwt_features(np.zeros(2560))) == len(FEATURE_NAMES)
