"""Alert fields filled from an AlarmUpdate: lifecycle, operator, flood control, ISO zone."""
import json
import math
from types import SimpleNamespace

import numpy as np
from rclpy.serialization import deserialize_message, serialize_message

from pm_monitor.core.alarms import (
    Agreement,
    AlarmEvent,
    AlarmManager,
    AlarmState,
    AlarmUpdate,
    IsoZone,
)
from pm_monitor.core.types import HealthState
from pm_monitor.msg import Alert
from pm_monitor.nodes import conversions as conv


def _result():
    return SimpleNamespace(
        t_end_ns=5_000_000_000, state=HealthState.NORMAL,
        state_probabilities=np.array([0.6, 0.3, 0.1, 0.0]), confidence=0.6,
        anomaly_score=1.3, anomaly_threshold=1.0, anomalous=True, fault_type="none",
        fault_type_probabilities={"none": 0.7, "outer_race": 0.2}, localization=None,
        rul=None, modalities_used=("accel",), modalities_missing=(), summary="NORMAL (anomalous)",
        decision_basis=("rig_stage1",))


def test_alert_from_a_window_carries_the_alarm_fields():
    update = AlarmUpdate("rig_1-000007-abcdef", "rig_1", "outer_race", AlarmEvent.UPDATED,
                         AlarmState.ACTIVE_ACKED, HealthState.WARNING, 4, 5_000_000_000,
                         IsoZone.B, 2.1, Agreement.MODEL_HIGHER, suppressed_count=3)
    msg = conv.alert_msg(_result(), update, "rig_1", "asset", "v1", "group 2 rigid")
    msg = deserialize_message(serialize_message(msg), Alert)
    assert (msg.state, msg.event, msg.lifecycle_state) == (
        Alert.WARNING, Alert.EVENT_UPDATED, Alert.LIFECYCLE_ACTIVE_ACKED)
    # the alarm's fault, not this one window's "none"
    assert msg.fault_type == "outer_race" and math.isclose(msg.fault_type_confidence, 0.2,
                                                          rel_tol=1e-6)
    assert (msg.iso_zone, msg.iso_zone_table, msg.suppressed_count) == ("B", "group 2 rigid", 3)
    assert math.isclose(msg.velocity_rms_mm_s, 2.1, rel_tol=1e-6)
    assert msg.model_zone_agreement == Alert.AGREEMENT_MODEL_HIGHER
    assert "ISO zone B (2.10 mm/s, model higher)" in msg.summary


def test_operator_action_becomes_an_alert_and_alarm_info():
    manager = AlarmManager("rig_1")
    raised = manager.update(0, HealthState.FAILURE, True, 2.0, 1.0, None, "ball", None)[0]
    ack = manager.acknowledge(raised.alert_id, "alice", "crew sent")
    msg = conv.alarm_update_msg(ack, "asset", "v1")
    assert (msg.event, msg.lifecycle_state, msg.operator_name, msg.note) == (
        Alert.EVENT_ACKNOWLEDGED, Alert.LIFECYCLE_ACTIVE_ACKED, "alice", "crew sent")
    assert msg.iso_zone == "" and math.isnan(msg.velocity_rms_mm_s)
    assert msg.sequence == 2 and "by alice (crew sent)" in msg.summary
    as_dict = conv.message_to_dict(msg)  # strict JSON: the unknown velocity is null
    assert as_dict["velocity_rms_mm_s"] is None and as_dict["shelved_until"]["sec"] == 0
    json.dumps(as_dict, allow_nan=False)
    info = conv.alarm_info_msg(manager.active_alarms()[0])
    assert (info.alert_id, info.fault_type, info.acknowledged_by, info.state) == (
        raised.alert_id, "ball", "alice", Alert.FAILURE)
