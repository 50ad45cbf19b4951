"""AlarmManager: anti-flicker, escalation bound, adoption, flood control, shelving, zones."""
import math

import numpy as np
import pytest

from pm_monitor.core.alarms import (
    UNKNOWN_FAULT,
    ZONE_FAULT,
    Agreement,
    AlarmConfig,
    AlarmEvent,
    AlarmManager,
    AlarmOperationError,
    AlarmState,
    IsoZone,
)
from pm_monitor.core.alarms.config import LEVELS
from pm_monitor.core.types import HealthState as S

HOP_NS = 500_000_000
E, L = AlarmEvent, AlarmState


def window(manager, i, state=S.NORMAL, score=0.2, threshold=1.0, fault="outer_race",
           velocity=None, asset=None, probabilities=None):
    abnormal = state != S.NORMAL or score > threshold
    return manager.update(i * HOP_NS, state, abnormal, score, threshold, probabilities,
                          fault if state != S.NORMAL else "none", velocity, asset)


def run(manager, states, **kwargs):
    """Feed states (or (state, score) pairs); returns [(window index, update)]."""
    out = []
    for i, item in enumerate(states):
        state, score = item if isinstance(item, tuple) else (item, 0.2)
        out += [(i, u) for u in window(manager, i, state, score, **kwargs)]
    return out


def test_score_oscillating_around_the_threshold_raises_one_alarm():
    # the anomaly score wobbles +-15 % around its threshold for 2 minutes
    rng = np.random.default_rng(0)
    scores = 1.0 + 0.15 * np.sin(np.arange(240) * 1.3) + 0.02 * rng.standard_normal(240)
    manager = AlarmManager("a", AlarmConfig(on_delay_windows_anomaly=2,
                                            update_period_s=1000.0))
    updates = run(manager, [(S.NORMAL, float(s)) for s in scores])
    raised = [u for _, u in updates if u.event == E.RAISED]
    naive_raises = int(np.sum((scores[1:] > 1.0) & (scores[:-1] <= 1.0))) + int(scores[0] > 1)
    assert naive_raises > 30  # without the alarm logic: dozens of alerts
    assert len(raised) == 1
    assert not [u for _, u in updates if u.event == E.CLEARED]  # deadband: never clears


def test_alarm_clears_after_the_off_delay_outside_the_deadband():
    config = AlarmConfig(on_delay_windows_anomaly=2, off_delay_windows_anomaly=4,
                         score_deadband=0.2, update_period_s=1000.0)
    manager = AlarmManager("a", config)
    # raised; then 0.9 (below threshold but inside the deadband) holds it; 0.5 clears
    updates = run(manager, [(S.NORMAL, 1.5)] * 2 + [(S.NORMAL, 0.9)] * 10
                  + [(S.NORMAL, 0.5)] * 4)
    assert [(i, u.event) for i, u in updates] == [(1, E.RAISED), (15, E.CLEARED)]


def test_probability_deadband_holds_the_alarm():
    manager = AlarmManager("a", AlarmConfig(off_delay_windows_warning=2,
                                            update_period_s=1000.0))
    for i in range(2):
        window(manager, i, S.WARNING)
    # NORMAL by argmax, but P(not normal) = 0.45 > 0.5 - 0.1: not clear
    for i in range(2, 12):
        assert window(manager, i, probabilities=[0.55, 0.3, 0.1, 0.05]) == []
    cleared = window(manager, 12, probabilities=[0.9, 0.1, 0, 0]) + window(
        manager, 13, probabilities=[0.9, 0.1, 0, 0])
    assert [u.event for u in cleared] == [E.CLEARED]


@pytest.mark.parametrize("on_delay", [1, 2, 4])
def test_escalation_is_never_later_than_the_on_delay(on_delay):
    config = AlarmConfig(on_delay_windows_pre_warning=2, on_delay_windows_warning=on_delay,
                         on_delay_windows_failure=on_delay, update_period_s=1000.0)
    manager = AlarmManager("a", config)
    states = [S.PRE_WARNING] * 5 + [S.WARNING] * 6 + [S.FAILURE] * 6
    updates = run(manager, states)
    events = [(i, u.event, u.severity) for i, u in updates]
    assert events[0] == (1, E.RAISED, S.PRE_WARNING)
    assert (5 + on_delay - 1, E.ESCALATED, S.WARNING) in events
    assert (11 + on_delay - 1, E.ESCALATED, S.FAILURE) in events
    assert len({u.alert_id for _, u in updates}) == 1


def test_on_delay_in_seconds():
    seconds = {f"on_delay_s_{level}": 2.0 for level in LEVELS}
    config = AlarmConfig(on_delay_windows_warning=1, **seconds)
    updates = run(AlarmManager("a", config), [S.WARNING] * 8)
    assert (updates[0][0], updates[0][1].event) == (4, E.RAISED)  # 4 hops = 2.0 s


def test_single_failure_window_raises_at_once_and_single_warning_does_not():
    manager = AlarmManager("a")
    assert run(manager, [S.NORMAL, S.WARNING, S.NORMAL]) == []
    updates = window(manager, 3, S.FAILURE)
    assert [(u.event, u.severity) for u in updates] == [(E.RAISED, S.FAILURE)]


def test_escalation_does_not_reset_when_severity_drops_back():
    manager = AlarmManager("a", AlarmConfig(update_period_s=1000.0))
    updates = run(manager, [S.WARNING] * 3 + [S.PRE_WARNING] * 5)
    assert [u.event for _, u in updates] == [E.RAISED]
    assert updates[0][1].severity == S.WARNING


def test_anomaly_alarm_is_adopted_by_the_identified_fault():
    manager = AlarmManager("a", AlarmConfig(update_period_s=1000.0))
    updates = run(manager, [(S.NORMAL, 2.0)] * 4 + [S.PRE_WARNING] * 3 + [S.WARNING] * 3)
    assert [(u.event, u.fault_type, u.severity) for _, u in updates] == [
        (E.RAISED, UNKNOWN_FAULT, S.NORMAL),
        (E.ESCALATED, "outer_race", S.PRE_WARNING),
        (E.ESCALATED, "outer_race", S.WARNING)]
    assert len({u.alert_id for _, u in updates}) == 1
    assert [a.fault_type for a in manager.active_alarms()] == ["outer_race"]


def test_another_fault_gets_its_own_alarm():
    manager = AlarmManager("a", AlarmConfig(update_period_s=1000.0, off_delay_windows_warning=3))
    first = run(manager, [S.WARNING] * 3, fault="outer_race")
    second = [(i, u) for i in range(3, 9) for u in window(manager, i, S.WARNING, fault="ball")]
    assert first[0][1].fault_type == "outer_race"
    raised = [u for _, u in second if u.event == E.RAISED]
    assert [u.fault_type for u in raised] == ["ball"]
    assert raised[0].alert_id != first[0][1].alert_id
    cleared = [u for _, u in second if u.event == E.CLEARED]
    assert [u.fault_type for u in cleared] == ["outer_race"]


def test_periodic_updates_only_while_abnormal():
    manager = AlarmManager("a", AlarmConfig(update_period_s=1.0, off_delay_windows_warning=20))
    updates = run(manager, [S.WARNING] * 7 + [S.NORMAL] * 8)
    assert [(i, u.event) for i, u in updates] == [(1, E.RAISED), (3, E.UPDATED),
                                                  (5, E.UPDATED)]
    assert [u.sequence for _, u in updates] == [1, 2, 3]


def test_flood_control_suppresses_counts_and_releases_but_never_failure():
    config = AlarmConfig(flood_node_max_alarms=2, flood_node_period_s=60.0,
                         flood_asset_max_alarms=100, on_delay_windows_warning=1,
                         update_period_s=1000.0, zone_alarm_enabled=False)
    manager = AlarmManager("site", config)
    shown = []
    for k in range(4):  # four assets go to WARNING in the same window
        shown += window(manager, 0, S.WARNING, asset=f"pump_{k}")
    assert [u.event for u in shown] == [E.RAISED, E.RAISED]
    assert manager.stats.suppressed_total == 2
    assert manager.diagnostics()["alarms_suppressed_now"] == 2
    listed = manager.active_alarms()
    assert len(listed) == 4 and sum(a.suppressed for a in listed) == 2
    # a FAILURE on a fifth asset is shown despite the flood
    failure = window(manager, 1, S.FAILURE, asset="pump_4")
    assert [(u.event, u.severity) for u in failure] == [(E.RAISED, S.FAILURE)]
    assert failure[0].suppressed_count == 2
    # a suppressed alarm escalating to FAILURE is shown at once
    escalated = window(manager, 2, S.FAILURE, asset="pump_2")
    assert [(u.event, u.severity, u.was_suppressed) for u in escalated] == [
        (E.RAISED, S.FAILURE, True)]
    # once the rate window has passed, the last held-back alarm is shown, not lost
    later = window(manager, 200, S.WARNING, asset="pump_3")
    assert [(u.asset_id, u.event, u.was_suppressed) for u in later] == [
        ("pump_3", E.RAISED, True)]
    assert manager.stats.released_after_flood == 2


def test_per_asset_flood_limit():
    config = AlarmConfig(flood_asset_max_alarms=1, flood_asset_period_s=600.0,
                         on_delay_windows_warning=1, off_delay_windows_warning=1,
                         update_period_s=1000.0, zone_alarm_enabled=False)
    manager = AlarmManager("a", config)
    events = run(manager, [S.WARNING, S.NORMAL, S.WARNING, S.NORMAL, S.WARNING],
                 fault="ball")
    assert [u.event for _, u in events] == [E.RAISED, E.CLEARED]
    # window 2 is held back and clears unseen at 3 (logged, counted); window 4 is a new alarm,
    # held back too
    assert manager.stats.suppressed_total == 2
    assert manager.stats.suppressed_cleared_unseen == 1
    assert [a.suppressed for a in manager.active_alarms()] == [True]


def test_operator_actions_and_shelving_expiry():
    manager = AlarmManager("a", AlarmConfig(update_period_s=1000.0))
    raised = run(manager, [S.WARNING] * 2)[0][1]
    ack = manager.acknowledge(raised.alert_id, "alice", "on it")
    assert (ack.event, ack.lifecycle, ack.operator, ack.note) == (
        E.ACKNOWLEDGED, L.ACTIVE_ACKED, "alice", "on it")
    shelved = manager.shelve(raised.alert_id, 10.0, "maintenance", "bob")
    assert shelved.lifecycle == L.SHELVED and shelved.shelved_until_ns == 1 * HOP_NS + 10 ** 10
    assert manager.active_alarms(include_shelved=False) == []
    assert manager.active_alert_id() is None
    quiet = [u for i in range(2, 21) for u in window(manager, i, S.WARNING)]
    assert quiet == []
    expired = window(manager, 21, S.WARNING)  # 10.5 s after shelving: expired
    assert [(u.event, u.lifecycle) for u in expired] == [(E.UNSHELVED, L.ACTIVE_UNACKED)]
    assert manager.active_alert_id() == raised.alert_id
    with pytest.raises(AlarmOperationError, match="no alarm"):
        manager.acknowledge("nope")
    with pytest.raises(AlarmOperationError, match="duration_s"):
        manager.shelve(raised.alert_id, 1e9)
    unshelved = manager.shelve(raised.alert_id, 5.0)
    assert manager.unshelve(unshelved.alert_id, "bob").event == E.UNSHELVED


def test_zone_is_reported_next_to_the_model_state_and_disagreement_alarms():
    config = AlarmConfig(update_period_s=1000.0)  # group 2 rigid: 1.4 / 2.8 / 4.5 mm/s
    manager = AlarmManager("a", config)
    model = window(manager, 0, S.FAILURE, velocity=1.0)[0]
    assert (model.iso_zone, model.velocity_mm_s, model.agreement) == (
        IsoZone.A, 1.0, Agreement.MODEL_HIGHER)
    other = AlarmManager("b", config)
    updates = [u for i in range(3) for u in window(other, i, S.NORMAL, velocity=3.5)]
    assert [(u.fault_type, u.event, u.severity, u.iso_zone, u.agreement) for u in updates] == [
        (ZONE_FAULT, E.RAISED, S.WARNING, IsoZone.C, Agreement.ZONE_HIGHER)]
    assert other.stats.zone_higher_windows == 3
    unknown = window(AlarmManager("c"), 0, S.FAILURE, velocity=None)[0]
    assert unknown.iso_zone == IsoZone.UNKNOWN and math.isnan(unknown.velocity_mm_s)


def test_update_from_a_cascade_result_and_default_log_path(monkeypatch, tmp_path):
    from types import SimpleNamespace

    from pm_monitor.core.alarms import default_alert_log_path

    manager = AlarmManager("a", AlarmConfig(on_delay_windows_failure=1))
    result = SimpleNamespace(t_end_ns=5, state=S.FAILURE, anomalous=False, anomaly_score=0.1,
                             anomaly_threshold=1.0, state_probabilities=[0.0, 0.0, 0.1, 0.9],
                             fault_type="inner_race", decided=True,
                             decided_without=())
    updates = manager.update_result(result, velocity_mm_s=5.0)
    assert [(u.fault_type, u.severity) for u in updates] == [("inner_race", S.FAILURE),
                                                             (ZONE_FAULT, S.FAILURE)]
    monkeypatch.setenv("ROS_HOME", str(tmp_path))
    assert default_alert_log_path("press/1") == tmp_path / "pm_monitor" / "alerts_press_1.jsonl"


def test_an_anomaly_alone_alarms_only_where_stage1_lets_it():
    """The physics set's bare deviation (state Normal, score over threshold) is advisory:
    run-in changes of a new asset deviate from its reference for hours without damage."""
    from types import SimpleNamespace

    def run(anomaly_alarms: bool) -> list:
        manager = AlarmManager("a", AlarmConfig(zone_alarm_enabled=False))
        updates = []
        for i in range(6):
            result = SimpleNamespace(t_end_ns=i + 1, state=S.NORMAL, anomalous=True,
                                     anomaly_alarms=anomaly_alarms, anomaly_score=5.0,
                                     anomaly_threshold=1.0,
                                     state_probabilities=[1.0, 0.0, 0.0, 0.0],
                                     fault_type="none", decided=True,
                                     decided_without=())
            updates += manager.update_result(result, velocity_mm_s=None)
        return updates

    assert any(u.event == AlarmEvent.RAISED for u in run(True))
    assert run(False) == []


def test_windows_without_a_decision_neither_raise_nor_clear():
    """Missing inputs never vote: a window whose Stage 1 could not decide holds the model
    alarms (an active alarm stays up, a starting run does not go on)."""
    config = AlarmConfig(on_delay_windows_failure=2, zone_alarm_enabled=False)
    manager = AlarmManager("a", config)
    t = iter(range(1, 1000))
    failure = dict(state=S.FAILURE, abnormal=True, score=5.0, threshold=1.0,
                   probabilities=[0.0, 0.0, 0.1, 0.9], fault_type="ball")
    normal = dict(state=S.NORMAL, abnormal=False, score=0.0, threshold=1.0,
                  probabilities=[1.0, 0.0, 0.0, 0.0])
    # one abnormal window, then undecided ones that look like failures: no raise
    assert manager.update(next(t) * 10**9, **failure) == []
    for _ in range(5):
        assert manager.update(next(t) * 10**9, **failure, decided=False) == []
    assert manager.active_alarms() == []
    # raised on decided windows, then many undecided "normal" windows: still active
    manager.update(next(t) * 10**9, **failure)
    raised = manager.update(next(t) * 10**9, **failure)
    assert [u.event.name for u in raised] == ["RAISED"]
    for _ in range(50):
        assert manager.update(next(t) * 10**9, **normal, decided=False) == []
    assert [a.fault_type for a in manager.active_alarms()] == ["ball"]


def test_decisions_without_an_input_raise_and_escalate_but_never_clear():
    """A modality drops out during an active alarm: the degraded Stage 1 saying Normal (or
    naming another fault) does not clear it; it can still raise and escalate; once all inputs
    are back, normal windows clear it as before."""
    config = AlarmConfig(on_delay_windows_failure=2, zone_alarm_enabled=False)
    manager = AlarmManager("a", config)
    t = iter(range(1, 1000))
    warning = dict(state=S.WARNING, abnormal=True, score=5.0, threshold=1.0,
                   probabilities=[0.0, 0.1, 0.9, 0.0], fault_type="ball")
    normal = dict(state=S.NORMAL, abnormal=False, score=0.0, threshold=1.0,
                  probabilities=[1.0, 0.0, 0.0, 0.0])
    raised = []
    for _ in range(12):
        raised += manager.update(next(t) * 10**9, **warning)
    assert [(u.event.name, u.severity) for u in raised if u.event.name == "RAISED"] == [
        ("RAISED", S.WARNING)]
    for _ in range(100):  # thermal gone: the model without it sees nothing
        updates = manager.update(next(t) * 10**9, **normal, may_clear=False)
        assert all(u.event.name != "CLEARED" for u in updates)
    other = dict(warning, fault_type="inner_race")
    for _ in range(100):  # ... or names another fault: the ball alarm stays
        manager.update(next(t) * 10**9, **other, may_clear=False)
    assert "ball" in [a.fault_type for a in manager.active_alarms()]
    # a degraded decision may escalate
    failure = dict(warning, state=S.FAILURE, probabilities=[0.0, 0.0, 0.1, 0.9])
    escalated = []
    for _ in range(4):
        escalated += manager.update(next(t) * 10**9, **failure, may_clear=False)
    assert any(u.fault_type == "ball" and u.severity == S.FAILURE for u in escalated)
    # all inputs back, clearly normal: it clears as any alarm does (off-delay)
    cleared = []
    for _ in range(200):
        cleared += manager.update(next(t) * 10**9, **normal)
    assert "CLEARED" in {u.event.name for u in cleared if u.fault_type == "ball"}


def test_a_two_input_dropout_during_an_alarm_escalates_but_never_clears_it():
    """Thermal camera dies and the microphone link drops out while a ball alarm is up: results
    decided on the accelerometer alone (decided_without mic and thermal) saying Normal never
    clear it, one saying failure escalates it; with one input back it still holds; once all
    are back, clearly normal windows clear it (off-delay)."""
    from types import SimpleNamespace

    manager = AlarmManager("a", AlarmConfig(on_delay_windows_failure=2,
                                            zone_alarm_enabled=False))
    t = iter(range(1, 2000))

    def result(state: S, probabilities: list[float], fault: str, without: tuple = ()):
        return SimpleNamespace(t_end_ns=next(t) * 10**9, state=state, anomalous=state > 0,
                               anomaly_alarms=True, anomaly_score=5.0 if state else 0.0,
                               anomaly_threshold=1.0, state_probabilities=probabilities,
                               fault_type=fault, decided=True, decided_without=without)

    warning = ([0.0, 0.1, 0.9, 0.0], "ball")
    raised = [u for _ in range(12) for u in manager.update_result(result(S.WARNING, *warning))]
    assert [(u.fault_type, u.severity) for u in raised if u.event == AlarmEvent.RAISED] == [
        ("ball", S.WARNING)]
    both = ("mic", "thermal")
    normal = [1.0, 0.0, 0.0, 0.0]
    for _ in range(150):
        updates = manager.update_result(result(S.NORMAL, normal, "none", both))
        assert all(u.event != AlarmEvent.CLEARED for u in updates)
    escalated = [u for _ in range(4) for u in manager.update_result(
        result(S.FAILURE, [0.0, 0.0, 0.1, 0.9], "ball", both))]
    assert any(u.fault_type == "ball" and u.severity == S.FAILURE for u in escalated)
    for _ in range(150):  # the microphone is back, thermal still dead: still held
        updates = manager.update_result(result(S.NORMAL, normal, "none", ("thermal",)))
        assert all(u.event != AlarmEvent.CLEARED for u in updates)
    assert [a.fault_type for a in manager.active_alarms()] == ["ball"]
    cleared = [u for _ in range(200)
               for u in manager.update_result(result(S.NORMAL, normal, "none"))]
    assert "CLEARED" in {u.event.name for u in cleared if u.fault_type == "ball"}


def test_an_unnamed_fault_decided_without_an_input_is_adopted_once_it_is_named():
    """Without accel the rig Stage 1 does not name the fault type ("unknown"): one alarm that
    escalates; when the inputs return and the fault is named, that alarm becomes the fault's
    alarm (same id) instead of a second one."""
    config = AlarmConfig(zone_alarm_enabled=False)
    manager = AlarmManager("a", config)
    t = iter(range(1, 1000))
    unnamed = dict(state=S.PRE_WARNING, abnormal=True, score=5.0, threshold=1.0,
                   probabilities=[0.1, 0.8, 0.1, 0.0], fault_type="unknown")
    raised = []
    for _ in range(12):
        raised += manager.update(next(t) * 10**9, **unnamed, may_clear=False)
    first = [u for u in raised if u.event == AlarmEvent.RAISED]
    assert [(u.fault_type, u.severity) for u in first] == [("unknown", S.PRE_WARNING)]
    named = dict(unnamed, state=S.WARNING, probabilities=[0.0, 0.1, 0.9, 0.0],
                 fault_type="outer_race")
    later = []
    for _ in range(12):
        later += manager.update(next(t) * 10**9, **named)
    assert not any(u.event == AlarmEvent.RAISED for u in later)
    assert [(a.alert_id, a.fault_type) for a in manager.active_alarms()] == [
        (first[0].alert_id, "outer_race")]


def test_bad_window_input_is_refused_clearly():
    with pytest.raises(ValueError):
        AlarmManager("a").update(0, 7, True, 0.0, 1.0)
    with pytest.raises(ValueError, match="asset_id"):
        AlarmManager("")
    # NaN score and negative velocity do not crash: the zone is unknown, the score ignored
    updates = AlarmManager("a").update(0, S.FAILURE, True, math.nan, 1.0, None, "ball", -1.0)
    assert updates[0].iso_zone == IsoZone.UNKNOWN


def test_ids_differ_between_two_boots_even_without_a_log():
    first = AlarmManager("a").update(0, S.FAILURE, True, 2.0, 1.0, None, "ball", None)[0]
    second = AlarmManager("a").update(0, S.FAILURE, True, 2.0, 1.0, None, "ball", None)[0]
    assert first.alert_id.split("-")[1] == second.alert_id.split("-")[1] == "000001"
    assert first.alert_id != second.alert_id


def test_changed_parameters_apply_to_the_running_manager():
    slow = {f"on_delay_windows_{level}": 5 for level in LEVELS}
    manager = AlarmManager("a", AlarmConfig(**slow, flood_node_max_alarms=1,
                                            zone_alarm_enabled=False))
    assert run(manager, [S.WARNING] * 3) == []
    manager.set_config(AlarmConfig(on_delay_windows_warning=2, flood_node_max_alarms=1,
                                   zone_alarm_enabled=False))
    assert [u.event for u in window(manager, 3, S.WARNING)] == [E.RAISED]  # run of 4 >= 2
    manager.set_config(AlarmConfig(flood_node_max_alarms=1, iso_machine_group=1,
                                   zone_alarm_enabled=False))
    assert window(manager, 4, S.WARNING, asset="b") == []  # node limit 1: held back
    assert manager.zone_table.boundaries_mm_s == (2.3, 4.5, 7.1)


def test_id_numbers_are_drawn_only_for_new_alarms():
    manager = AlarmManager("a", AlarmConfig(on_delay_windows_warning=1,
                                            off_delay_windows_warning=1, update_period_s=1000.0,
                                            zone_alarm_enabled=False))
    updates = run(manager, [S.WARNING, S.NORMAL, S.WARNING, S.NORMAL], fault="ball")
    assert [u.event for _, u in updates] == [E.RAISED, E.CLEARED, E.RAISED, E.CLEARED]
    assert len({u.alert_id for _, u in updates}) == 1  # re-raised while unacknowledged
    manager.acknowledge(updates[0][1].alert_id, "op")
    new = window(manager, 4, S.WARNING, fault="ball")[0]
    assert new.alert_id.split("-")[1] == "000002"


def test_stream_time_jumping_back_does_not_silence_an_active_alarm():
    """A bag that loops sends window times earlier than the last message: the active alarm
    is re-sent at once instead of staying silent until time catches up."""
    manager = AlarmManager("a", AlarmConfig(update_period_s=1.0))
    assert [u.event for u in window(manager, 100, S.WARNING)] == []
    raised = window(manager, 101, S.WARNING)
    assert [u.event for u in raised] == [E.RAISED]
    looped = window(manager, 2, S.WARNING)  # the bag started again from its beginning
    assert [u.event for u in looped] == [E.UPDATED]
    assert looped[0].alert_id == raised[0].alert_id
