"""Alarm services in-process: acknowledge, shelve (with expiry), unshelve, out of service, list;
each accepted action is published on the alert topic; refusals say why."""
import time
from types import SimpleNamespace

import pytest
import rclpy
import rclpy.parameter

from pm_monitor.core.alarms import AlarmConfig, AlarmManager
from pm_monitor.core.types import HealthState
from pm_monitor.msg import Alert
from pm_monitor.nodes.alarm_services import AlarmServices, declare_alarm_parameters
from pm_monitor.srv import (
    AcknowledgeAlarm,
    ListAlarms,
    SetAlarmInService,
    ShelveAlarm,
    UnshelveAlarm,
)

TIMEOUT_S = 10.0


@pytest.fixture
def setup(ros_context, executor, tmp_path):
    node = rclpy.create_node("monitor", context=ros_context)
    client_node = rclpy.create_node("operator", context=ros_context)
    clock_ns = [10 ** 12]
    manager = AlarmManager("rig_1", AlarmConfig(update_period_s=1000.0),
                           log_path=tmp_path / "alerts.jsonl", clock=lambda: clock_ns[0])
    published: list[Alert] = []
    services = AlarmServices(node, manager, published.append, frame_id="asset",
                             expiry_check_period_s=0.0)
    executor.add_node(node)
    executor.add_node(client_node)
    for i in range(2):  # an outer-race WARNING alarm
        manager.update(clock_ns[0] + i, HealthState.WARNING, True, 2.0, 1.0, None,
                       "outer_race", 3.0)
    yield SimpleNamespace(client_node=client_node, manager=manager, published=published,
                          executor=executor, clock_ns=clock_ns)
    services.destroy()
    node.destroy_node()
    client_node.destroy_node()


def call(env, srv_type, name, **fields):
    executor, client_node = env.executor, env.client_node
    client = client_node.create_client(srv_type, f"/monitor/{name}")
    assert client.wait_for_service(timeout_sec=TIMEOUT_S), name
    future = client.call_async(srv_type.Request(**fields))
    deadline = time.monotonic() + TIMEOUT_S
    while not future.done() and time.monotonic() < deadline:
        executor.spin_once(timeout_sec=0.1)
    assert future.done(), f"{name} did not answer"
    client_node.destroy_client(client)
    return future.result()


def test_acknowledge_shelve_unshelve_and_list(setup):
    published = setup.published
    listed = call(setup, ListAlarms, "list_alarms", include_shelved=True)
    assert [(a.fault_type, a.state, a.lifecycle_state) for a in listed.alarms] == [
        ("outer_race", Alert.WARNING, Alert.LIFECYCLE_ACTIVE_UNACKED),
        ("iso_zone", Alert.WARNING, Alert.LIFECYCLE_ACTIVE_UNACKED)]
    alert_id = listed.alarms[0].alert_id

    ack = call(setup, AcknowledgeAlarm, "acknowledge_alarm", alert_id=alert_id,
               operator_name="alice", note="crew informed")
    assert ack.success and ack.alarm.lifecycle_state == Alert.LIFECYCLE_ACTIVE_ACKED
    assert ack.alarm.acknowledged_by == "alice"
    assert published[-1].event == Alert.EVENT_ACKNOWLEDGED
    assert published[-1].operator_name == "alice" and published[-1].iso_zone == "C"

    again = call(setup, AcknowledgeAlarm, "acknowledge_alarm",
                 alert_id=alert_id, operator_name="alice")
    assert not again.success and "nothing to acknowledge" in again.message

    shelved = call(setup, ShelveAlarm, "shelve_alarm", alert_id=alert_id,
                   duration_s=60.0, operator_name="bob", reason="bearing on order")
    assert shelved.success and shelved.alarm.lifecycle_state == Alert.LIFECYCLE_SHELVED
    assert shelved.expires.sec == 1000 + 60
    assert published[-1].lifecycle_state == Alert.LIFECYCLE_SHELVED
    hidden = call(setup, ListAlarms, "list_alarms", include_shelved=False)
    assert alert_id not in [a.alert_id for a in hidden.alarms]

    too_long = call(setup, ShelveAlarm, "shelve_alarm", alert_id=alert_id,
                    duration_s=1e7, operator_name="bob")
    assert not too_long.success and "duration_s" in too_long.message

    unshelved = call(setup, UnshelveAlarm, "unshelve_alarm", alert_id=alert_id,
                     operator_name="bob")
    assert unshelved.success
    assert unshelved.alarm.lifecycle_state == Alert.LIFECYCLE_ACTIVE_UNACKED
    assert published[-1].event == Alert.EVENT_UNSHELVED

    unknown = call(setup, UnshelveAlarm, "unshelve_alarm", alert_id="nope")
    assert not unknown.success and "no alarm" in unknown.message


def test_out_of_service_and_shelving_expiry(setup):
    manager, clock_ns = setup.manager, setup.clock_ns
    alert_id = manager.active_alarms()[0].alert_id
    out = call(setup, SetAlarmInService, "set_alarm_in_service",
               alert_id=alert_id, in_service=False, operator_name="tech", reason="sensor swap")
    assert out.success and out.alarm.lifecycle_state == Alert.LIFECYCLE_OUT_OF_SERVICE
    back = call(setup, SetAlarmInService, "set_alarm_in_service",
                alert_id=alert_id, in_service=True, operator_name="tech")
    assert back.success and back.alarm.lifecycle_state == Alert.LIFECYCLE_ACTIVE_UNACKED
    call(setup, ShelveAlarm, "shelve_alarm", alert_id=alert_id,
         duration_s=5.0, operator_name="bob")
    clock_ns[0] += 6 * 10 ** 9
    expired = manager.expire_shelving(clock_ns[0])
    assert [u.event.name for u in expired] == ["UNSHELVED"]
    assert expired[0].note == "shelving expired"


def test_alarm_parameters_are_declared_with_ranges_and_validated(ros_context):
    node = rclpy.create_node("params", context=ros_context, parameter_overrides=[
        rclpy.parameter.Parameter("alarm_on_delay_windows_warning", value=4),
        rclpy.parameter.Parameter("alarm_iso_foundation", value="flexible")])
    config = declare_alarm_parameters(node)
    assert config.on_delay_windows_warning == 4 and config.iso_foundation == "flexible"
    descriptor = node.describe_parameter("alarm_flood_node_max_alarms")
    assert descriptor.integer_range[0].from_value == 1 and "ISA-18.2" in descriptor.description
    assert node.describe_parameter("alarm_score_deadband").floating_point_range[0].to_value == 0.9
    node.destroy_node()
    bad = rclpy.create_node("bad", context=ros_context, parameter_overrides=[
        rclpy.parameter.Parameter("alarm_iso_foundation", value="concrete")])
    with pytest.raises(ValueError, match="alarm_iso_foundation must be one of"):
        declare_alarm_parameters(bad)
    bad.destroy_node()
    out_of_range = rclpy.create_node("range", context=ros_context, parameter_overrides=[
        rclpy.parameter.Parameter("alarm_score_deadband", value=2.0)])
    with pytest.raises(ValueError, match="alarm_score_deadband"):
        declare_alarm_parameters(out_of_range)
    out_of_range.destroy_node()
