"""Onset latch over the any-machine health state; damage score against the own reference."""
from __future__ import annotations

import numpy as np
import pytest

from pm_monitor.core.condition.health import HealthRules
from pm_monitor.core.rul.onset import OnsetConfig, OnsetTracker
from pm_monitor.core.types import HealthState

CONFIG = OnsetConfig(indicators=("rms_h",), reference_s=100.0, smooth_s=20.0)
N, PW = int(HealthState.NORMAL), int(HealthState.PRE_WARNING)


def run(times, values, states, config=CONFIG):
    tracker = OnsetTracker(config)
    for t, v, s in zip(times, values, states, strict=True):
        tracker.update(float(t), np.array([v]), None if s < 0 else s)
    return tracker


def test_the_onset_is_the_first_confirmed_not_normal_state_and_stays():
    t = np.arange(0, 600, 10.0)
    states = np.where(t < 100, -1, np.where(t < 300, N, PW))
    tracker = run(t, np.ones(t.size), states)
    assert tracker.onset_s == 300.0 and tracker.trigger == "pre_warning"
    tracker.update(700.0, np.array([1.0]), HealthState.NORMAL)  # never drops (latched anyway)
    assert tracker.onset_s == 300.0


def test_the_indicators_alone_never_declare_an_onset():
    """One degradation detector: a tenfold rise with a Normal (or unjudged) state is damage,
    not an onset."""
    t = np.arange(0, 600, 10.0)
    values = np.where(t < 300, 1.0, 10.0)
    for states in (np.full(t.size, N), np.full(t.size, -1)):
        tracker = run(t, values, states)
        assert tracker.onset_s is None
        assert tracker.score[0] == pytest.approx(np.log(10.0))


def test_damage_score_is_over_the_healthiest_level_after_running_in():
    """A machine that settles to half its running-in level and then doubles scores log 2.2 over
    its healthiest level, not log 1.1 over its first readings."""
    t = np.arange(0, 1000, 10.0)
    values = np.where(t < 200, 2.0, np.where(t < 600, 1.0, 2.2))
    tracker = run(t, values, np.full(t.size, N))
    assert tracker.score[0] == pytest.approx(np.log(2.2), rel=1e-6)


def test_config_checks_and_rules():
    with pytest.raises(ValueError):
        OnsetConfig(indicators=())
    with pytest.raises(ValueError):
        OnsetConfig(indicators=("a",), trend_ratio=1.0)
    assert OnsetConfig.from_dict(CONFIG.to_dict()) == CONFIG
    rules = OnsetConfig(indicators=("a",), trend_ratio=2.5, crest_trend_ratio=7.0).health_rules()
    assert (rules.trend_ratio, rules.crest_trend_ratio) == (2.5, 7.0)
    assert rules.pre_warning_ratio == HealthRules().pre_warning_ratio


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


def test_a_tracker_resumed_from_its_dict_goes_on_the_same():
    import json

    t = np.arange(0, 600, 10.0)
    values = np.where(t < 300, 1.0, 3.0)
    states = np.where(t < 100, -1, np.where(t < 350, N, PW))
    whole = run(t, values, states)
    half = run(t[:12], values[:12], states[:12])  # still in the reference period
    resumed = OnsetTracker.from_dict(CONFIG, json.loads(json.dumps(half.to_dict())))
    for ti, v, s in zip(t[12:], values[12:], states[12:], strict=True):
        resumed.update(float(ti), np.array([v]), None if s < 0 else s)
    assert resumed.onset_s == whole.onset_s == 350.0
    np.testing.assert_allclose(resumed.score, whole.score)
    stored = whole.to_dict()
    with pytest.raises(ValueError, match="need 1 indicator"):
        OnsetTracker.from_dict(CONFIG, {**stored, "memory": {**stored["memory"],
                                                             "score": [1.0, 2.0]}})


def test_the_score_memory_is_reused_only_under_the_same_indicators_and_lengths():
    """A refitted model (other rise ratios, same indicators and lengths) computes the score
    the same way: the memory fits; another reference length or indicator does not."""
    t = np.arange(0, 400, 10.0)
    stored = run(t, np.where(t < 300, 1.0, 3.0), np.where(t < 100, -1, PW)).to_dict()
    refit = OnsetConfig(indicators=("rms_h",), reference_s=100.0, smooth_s=20.0,
                        trend_ratio=2.5)
    assert OnsetTracker.memory_fits(refit, stored)
    assert OnsetTracker.from_dict(refit, stored).score is not None
    for other in (OnsetConfig(indicators=("rms_h",), reference_s=50.0, smooth_s=20.0),
                  OnsetConfig(indicators=("rms_v",), reference_s=100.0, smooth_s=20.0)):
        assert not OnsetTracker.memory_fits(other, stored)
        with pytest.raises(ValueError, match="damage score memory"):
            OnsetTracker.from_dict(other, stored)
        onset_only = OnsetTracker.from_onset(other, stored)  # the onset is a fact, kept
        assert (onset_only.onset_s, onset_only.trigger) == (100.0, "pre_warning")
        assert onset_only.reference is None and onset_only.score is None
