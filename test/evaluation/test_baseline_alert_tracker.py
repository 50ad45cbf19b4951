import pytest

from pm_monitor.core.types import HealthState as S
from pm_monitor.evaluation.baseline_alert_tracker import AlertEvent, AlertPolicy, AlertTracker

HOP = 500_000_000


def feed(tracker, states, abnormal=None):
    out = []
    for i, state in enumerate(states):
        flag = state != S.NORMAL if abnormal is None else abnormal[i]
        decision = tracker.update(i * HOP, state, flag)
        if decision:
            out.append(decision)
    return out


def test_single_abnormal_window_raises_nothing():
    assert feed(AlertTracker("a"), [S.NORMAL, S.WARNING, S.NORMAL, S.NORMAL]) == []


def test_episode_raises_once_escalates_and_clears_with_one_id():
    tracker = AlertTracker("a", AlertPolicy(on_delay_windows=2, off_delay_windows=3,
                                            update_period_s=100.0))
    states = [S.NORMAL, S.PRE_WARNING, S.PRE_WARNING, S.WARNING, S.PRE_WARNING,
              S.FAILURE, S.NORMAL, S.NORMAL, S.NORMAL]
    decisions = feed(tracker, states)
    assert [d.event for d in decisions] == [AlertEvent.RAISED, AlertEvent.ESCALATED,
                                            AlertEvent.ESCALATED, AlertEvent.CLEARED]
    assert len({d.alert_id for d in decisions}) == 1
    assert [d.sequence for d in decisions] == [1, 2, 3, 4]
    # never de-escalates while active
    assert decisions[2].state == S.FAILURE
    assert tracker.active_alert_id is None


def test_anomaly_alone_raises_and_periodic_updates_follow():
    tracker = AlertTracker("a", AlertPolicy(on_delay_windows=1, update_period_s=1.0))
    decisions = feed(tracker, [S.NORMAL] * 6, abnormal=[True] * 6)
    assert decisions[0].event == AlertEvent.RAISED
    assert [d.event for d in decisions[1:]] == [AlertEvent.UPDATED] * 2


def test_new_episode_gets_new_id():
    tracker = AlertTracker("a", AlertPolicy(on_delay_windows=1, off_delay_windows=1))
    decisions = feed(tracker, [S.WARNING, S.NORMAL, S.WARNING])
    assert decisions[0].alert_id != decisions[2].alert_id


def test_policy_validation():
    with pytest.raises(ValueError):
        AlertPolicy(on_delay_windows=0)
