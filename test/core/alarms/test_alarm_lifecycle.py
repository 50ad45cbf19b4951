"""Every ISA-18.2 transition of one alarm point, each emitted exactly once."""
import pytest

from pm_monitor.core.alarms.lifecycle import (
    Alarm,
    AlarmEvent,
    AlarmOperationError,
    AlarmState,
)
from pm_monitor.core.types import HealthState as S

E, L = AlarmEvent, AlarmState


def active(severity=S.WARNING) -> Alarm:
    alarm = Alarm("a", "outer_race")
    assert alarm.activate(1, severity, "id-1") == E.RAISED
    return alarm


def test_normal_to_active_unacked_assigns_the_id_once():
    alarm = active()
    assert (alarm.lifecycle, alarm.alert_id, alarm.condition_active) == (L.ACTIVE_UNACKED,
                                                                         "id-1", True)
    assert alarm.activate(2, S.WARNING, "id-2") is None  # no second RAISED, id kept
    assert alarm.alert_id == "id-1"


def test_ack_then_clear_returns_to_normal():
    alarm = active()
    assert alarm.acknowledge(2, "op", "seen") == E.ACKNOWLEDGED
    assert alarm.lifecycle == L.ACTIVE_ACKED and alarm.acked_by == "op"
    assert alarm.clear(3) == E.CLEARED
    assert alarm.lifecycle == L.NORMAL and not alarm.in_instance
    assert alarm.clear(4) is None


def test_clear_then_ack_returns_to_normal():
    alarm = active()
    assert alarm.clear(2) == E.CLEARED
    assert alarm.lifecycle == L.RETURNED_UNACKED
    assert alarm.acknowledge(3, "op", "") == E.ACKNOWLEDGED
    assert alarm.lifecycle == L.NORMAL


def test_returned_unacked_reactivates_with_the_same_id():
    alarm = active()
    alarm.clear(2)
    assert alarm.activate(3, S.PRE_WARNING, "id-new") == E.RAISED
    assert alarm.lifecycle == L.ACTIVE_UNACKED and alarm.alert_id == "id-1"
    assert alarm.severity == S.WARNING  # never de-escalates within an instance


def test_new_instance_after_normal_gets_the_new_id():
    alarm = active()
    alarm.acknowledge(2, "op", "")
    alarm.clear(3)
    assert alarm.activate(4, S.PRE_WARNING, "id-2") == E.RAISED
    assert alarm.alert_id == "id-2" and alarm.severity == S.PRE_WARNING


def test_escalation_reannunciates_an_acknowledged_alarm():
    alarm = active(S.PRE_WARNING)
    alarm.acknowledge(2, "op", "")
    assert alarm.escalate(3, S.WARNING, True, True) == [E.ESCALATED]
    assert alarm.lifecycle == L.ACTIVE_UNACKED and alarm.acked_by == ""
    assert alarm.escalate(4, S.WARNING, True, True) == []  # not twice


def test_escalation_can_keep_the_acknowledgement():
    alarm = active(S.PRE_WARNING)
    alarm.acknowledge(2, "op", "")
    assert alarm.escalate(3, S.FAILURE, False, True) == [E.ESCALATED]
    assert alarm.lifecycle == L.ACTIVE_ACKED


@pytest.mark.parametrize("prepare", ["active", "acked", "returned"])
def test_shelve_and_unshelve_follow_the_condition(prepare):
    alarm = active()
    if prepare == "acked":
        alarm.acknowledge(2, "op", "")
    if prepare == "returned":
        alarm.clear(2)
    assert alarm.shelve(5, 100, "op", "maintenance") == E.SHELVED
    assert alarm.lifecycle == L.SHELVED and alarm.shelved_until_ns == 100
    assert alarm.unshelve(6, "by op") == E.UNSHELVED
    expected = L.NORMAL if prepare == "returned" else L.ACTIVE_UNACKED
    assert alarm.lifecycle == expected


def test_condition_changes_while_shelved_are_silent_and_shown_on_unshelve():
    alarm = active()
    alarm.shelve(2, 100, "op", "")
    assert alarm.clear(3) is None
    assert alarm.activate(4, S.WARNING, "x") is None
    assert alarm.lifecycle == L.SHELVED
    alarm.clear(5)
    assert alarm.unshelve(6, "") == E.UNSHELVED and alarm.lifecycle == L.NORMAL


def test_failure_breaks_shelving_when_configured():
    alarm = active(S.WARNING)
    alarm.shelve(2, 100, "op", "")
    assert alarm.escalate(3, S.FAILURE, True, True) == [E.UNSHELVED, E.ESCALATED]
    assert alarm.lifecycle == L.ACTIVE_UNACKED
    other = active(S.WARNING)
    other.shelve(2, 100, "op", "")
    assert other.escalate(3, S.FAILURE, True, False) == []
    assert other.lifecycle == L.SHELVED and other.severity == S.FAILURE


def test_out_of_service_and_back():
    alarm = active()
    assert alarm.remove_from_service(2, "tech", "sensor swap") == E.REMOVED_FROM_SERVICE
    assert alarm.lifecycle == L.OUT_OF_SERVICE
    assert alarm.clear(3) is None
    assert alarm.return_to_service(4, "tech") == E.RETURNED_TO_SERVICE
    assert alarm.lifecycle == L.NORMAL
    alarm.activate(5, S.WARNING, "id-9")
    alarm.remove_from_service(6, "tech", "")
    alarm.return_to_service(7, "tech")
    assert alarm.lifecycle == L.ACTIVE_UNACKED


def test_refused_operations_say_why():
    alarm = Alarm("a", "ball")
    with pytest.raises(AlarmOperationError, match="nothing to acknowledge"):
        alarm.acknowledge(1, "op", "")
    with pytest.raises(AlarmOperationError, match="cannot be shelved"):
        alarm.shelve(1, 10, "op", "")
    alarm = active()
    alarm.acknowledge(2, "op", "")
    with pytest.raises(AlarmOperationError, match="nothing to acknowledge"):
        alarm.acknowledge(3, "op", "")
    with pytest.raises(AlarmOperationError, match="not shelved"):
        alarm.unshelve(3, "")
    with pytest.raises(AlarmOperationError, match="future"):
        alarm.shelve(10, 10, "op", "")
    with pytest.raises(AlarmOperationError, match="not out of service"):
        alarm.return_to_service(3, "op")


def test_snapshot_round_trip():
    alarm = active()
    alarm.acknowledge(2, "op", "note")
    copy = Alarm.from_dict(alarm.to_dict())
    assert copy == alarm
