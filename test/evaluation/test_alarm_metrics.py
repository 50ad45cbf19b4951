"""Alarm evidence metrics on a synthetic stream whose answers are known by construction."""
import numpy as np
import pytest

from pm_monitor.core.alarms import AlarmConfig
from pm_monitor.evaluation.alarm_metrics import (
    chatter_time_s,
    run_alarm_manager,
    run_foundation,
    run_no_logic,
    summarize,
)
from pm_monitor.evaluation.alarm_streams import WindowStream


def stream_with_flicker() -> WindowStream:
    """0.5 s hops; fault onset at 20 s; the flag flickers every other window in 30-40 s, then
    stays up; the model says WARNING from 50 s."""
    t = np.arange(1, 201) * 0.5
    abnormal = np.zeros(t.size, bool)
    flicker = (t >= 30) & (t < 40)
    abnormal[flicker] = (np.arange(flicker.sum()) % 2) == 0
    abnormal[t >= 40] = True
    state = np.where(t >= 50, 2, 0)
    score = np.where(abnormal, 2.0, 0.1)
    n = t.size
    return WindowStream("synthetic", "rig", t, state, abnormal, score, np.ones(n),
                        np.full((n, 4), np.nan), np.where(state > 0, "ball", "none"),
                        np.full(n, np.nan), np.where(t >= 20, 1, 0), 20.0, 100.0)


def test_chatter_time_counts_bursts_of_three_raises_within_a_minute():
    assert chatter_time_s([0, 10, 20], 0.5) == pytest.approx(20)
    assert chatter_time_s([0, 10, 100], 0.5) == 0
    assert chatter_time_s([0, 10, 20, 30], 0.5) == pytest.approx(30)  # union, not sum
    assert chatter_time_s([0, 30, 70], 10.0) == pytest.approx(70)  # 10 hops = 100 s window


def test_policies_on_a_flickering_stream():
    stream = stream_with_flicker()
    none = summarize(stream, run_no_logic(stream))
    manager = summarize(stream, run_alarm_manager(stream, AlarmConfig()))
    foundation = summarize(stream, run_foundation(stream))
    assert none["alerts_raised"] == 11  # 10 flicker pulses + the final rise at 40 s
    assert none["chattering_time_s"] > 0
    assert manager["alerts_raised"] == 1 and manager["chattering_time_s"] == 0
    assert foundation["alerts_raised"] == 1
    # anomaly on-delay 3 windows from 40 s: raised at 41 s
    assert manager["first_alert_s"] == pytest.approx(41.0)
    assert manager["delay_after_onset_s"] == pytest.approx(21.0)
    # WARNING from 50 s, on-delay 2 windows: shown 0.5 s after the model
    assert manager["escalation_lag_behind_model_s"]["WARNING"] == pytest.approx(0.5)
    assert manager["false_alerts_before_onset"] == 0


def test_stream_cache_round_trip(tmp_path):
    stream = stream_with_flicker()
    stream.save(tmp_path / "s.npz")
    back = WindowStream.load(tmp_path / "s.npz")
    assert back.name == "synthetic" and back.onset_s == 20.0
    np.testing.assert_array_equal(back.abnormal, stream.abnormal)
    assert back.hop_s == pytest.approx(0.5)
