"""The real-data demo's scoring: each ~/health message is one FEMTO snapshot, scored against
the life-fraction rule; commissioning windows carry no decision and are not scored."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from pm_monitor.demo.run_real_demo import SNAPSHOT_S, START_STAMP_S, score, true_states
from pm_monitor.msg import Alert, HealthStatus
from pm_monitor.nodes import conversions as conv


def _bearing(n: int = 20) -> SimpleNamespace:
    return SimpleNamespace(t_s=np.arange(1, n + 1, dtype=float) * 10.0)  # end of life 200 s


def _health(j: int, state: int, commissioning: bool = False,
            anomalous: bool = False) -> HealthStatus:
    msg = HealthStatus()
    msg.header = conv.make_header(round((START_STAMP_S + (j + 1) * SNAPSHOT_S) * 1e9), "b")
    msg.state, msg.anomalous = state, anomalous
    msg.anomaly_score, msg.anomaly_threshold = 1.0, 2.0
    msg.commissioning_needed = 3 if commissioning else 0
    return msg


def test_true_states_follow_the_life_rule():
    states = true_states(_bearing())  # life fraction 0.05 .. 1.0
    assert list(states[:11]) == [0] * 11  # < 0.6 (snapshot 11 is at 0.6: Pre-Warning)
    assert states[11] == 1 and states[15] == 2 and states[19] == 3


def test_score_skips_commissioning_and_counts_normal_life_calls():
    bearing = _bearing()
    truth = true_states(bearing)
    health = [_health(j, 0, commissioning=True) for j in range(3)]
    health += [_health(j, int(truth[j])) for j in range(3, 18)]
    health += [_health(j, 0) for j in range(18, 20)]  # two Failure snapshots called Normal
    health.append(_health(5, 2))  # one false call in Normal life
    alert = Alert()
    alert.event = Alert.EVENT_RAISED
    alert.header = conv.make_header(round((START_STAMP_S + 16 * SNAPSHOT_S) * 1e9), "b")
    scored = score(SimpleNamespace(health=health, alerts=[alert]), bearing)
    assert scored["windows"] == 21 and scored["commissioning_windows"] == 3
    assert scored["windows_decided"] == 18
    assert scored["state_accuracy"] == pytest.approx(15 / 18)
    assert scored["not_normal_called_in_normal_life"] == pytest.approx(1 / 9)
    # raised with the window ending after snapshot 15 (0-based): t = 160 s of 200 s
    assert scored["first_alarm_life_fraction"] == pytest.approx(0.8)
