"""Onset detector: own reference, persistence in seconds, latched, rate-independent."""
from __future__ import annotations

import numpy as np
import pytest

from pm_monitor.core.rul.onset import OnsetConfig, OnsetTracker

CONFIG = OnsetConfig(indicators=("rms_h",), thresholds=(np.log(2.0),), reference_s=100.0,
                     smooth_s=20.0, persist_s=30.0)


def run(times, values, config=CONFIG):
    tracker = OnsetTracker(config)
    for t, v in zip(times, values, strict=True):
        tracker.update(float(t), np.array([v]))
    return tracker


def test_fires_after_a_sustained_rise_and_stays():
    t = np.arange(0, 600, 10.0)
    values = np.where(t < 300, 1.0, 3.0)
    tracker = run(t, values)
    assert tracker.onset_s is not None and 300.0 <= tracker.onset_s <= 330.0
    assert tracker.trigger == "rms_h"
    tracker.update(700.0, np.array([1.0]))  # back to normal: the onset is latched
    assert tracker.onset_s is not None


def test_a_short_spike_is_not_an_onset():
    t = np.arange(0, 600, 10.0)
    values = np.where((t >= 300) & (t < 320), 10.0, 1.0)
    assert run(t, values).onset_s is None


def test_reference_is_the_healthiest_level_after_running_in():
    """A machine that settles to half its running-in level and then doubles is not degraded
    against its first readings, but it is against its healthiest level."""
    t = np.arange(0, 1000, 10.0)
    values = np.where(t < 200, 2.0, np.where(t < 600, 1.0, 2.2))
    tracker = run(t, values)
    assert tracker.onset_s is not None and tracker.onset_s >= 600.0


def test_same_answer_at_another_snapshot_rate():
    fast = np.arange(0, 600, 1.0)
    slow = np.arange(0, 600, 10.0)
    onset_fast = run(fast, np.where(fast < 300, 1.0, 3.0)).onset_s
    onset_slow = run(slow, np.where(slow < 300, 1.0, 3.0)).onset_s
    assert onset_fast == pytest.approx(onset_slow, abs=10.0)


def test_config_checks():
    with pytest.raises(ValueError):
        OnsetConfig(indicators=("a", "b"), thresholds=(1.0,))
    assert OnsetConfig.from_dict(CONFIG.to_dict()) == CONFIG


def test_snapshot_indicators_are_the_any_machine_features_named_per_axis():
    """One implementation of vibration indicators: core/condition/features.py, per axis."""
    from pm_monitor.core.condition.features import window_features
    from pm_monitor.core.rul.onset import indicator_names, snapshot_indicators

    rng = np.random.default_rng(0)
    h, v = rng.normal(size=2560), 2.0 * rng.normal(size=2560)
    values = snapshot_indicators(h, v, 25600.0)
    names = indicator_names(25600.0)
    assert values.shape == (len(names),)
    features = window_features(np.stack([h, v], axis=1), 25600.0, ("h", "v"))
    assert values[names.index("rms_g_v")] == pytest.approx(features.get("v", "rms_g"))
    assert values[names.index("band_5_10khz_g_h")] == pytest.approx(
        features.get("h", "band_5_10khz_g"))
    # a band above 0.45 x the rate is absent at that rate, not shrunk
    assert "band_5_10khz_g_h" not in indicator_names(12800.0)
    assert "rms_g_h" in indicator_names(12800.0)
