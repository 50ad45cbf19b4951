"""ROS services of the alarm manager, attachable to any node (the monitor node calls it).

Services (relative to the node, types in srv/):
  ~/acknowledge_alarm (AcknowledgeAlarm), ~/shelve_alarm (ShelveAlarm),
  ~/unshelve_alarm (UnshelveAlarm), ~/set_alarm_in_service (SetAlarmInService),
  ~/list_alarms (ListAlarms).
Every accepted action is published on the alert topic (the alert stream carries the
lifecycle) and written to the alert log by the manager. A refused action answers
success=False with the reason; it never raises into the executor.
"""
from __future__ import annotations

from collections.abc import Callable

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.exceptions import ParameterException
from rclpy.node import Node

from pm_monitor.core.alarms import (
    ALARM_PARAMETERS,
    AlarmConfig,
    AlarmManager,
    AlarmOperationError,
    AlarmUpdate,
)
from pm_monitor.msg import AlarmInfo
from pm_monitor.nodes import conversions as conv
from pm_monitor.srv import (
    AcknowledgeAlarm,
    ListAlarms,
    SetAlarmInService,
    ShelveAlarm,
    UnshelveAlarm,
)


def declare_alarm_parameters(node: Node, prefix: str = "alarm_") -> AlarmConfig:
    """Declare every ALARM_PARAMETERS entry as <prefix><name>, with its description and range
    in the descriptor (ROS then refuses out-of-range sets), and return the validated config.
    A refused value (out of range, wrong type, invalid combination) raises ValueError naming
    the parameter."""
    for name, (default, description, bounds) in ALARM_PARAMETERS.items():
        descriptor = ParameterDescriptor(description=description)
        if bounds is not None and isinstance(default, int) and not isinstance(default, bool):
            descriptor.integer_range = [IntegerRange(from_value=int(bounds[0]),
                                                     to_value=int(bounds[1]), step=0)]
        elif bounds is not None:
            descriptor.floating_point_range = [FloatingPointRange(
                from_value=float(bounds[0]), to_value=float(bounds[1]), step=0.0)]
        try:
            node.declare_parameter(prefix + name, default, descriptor)
        except ParameterException as err:  # e.g. an override outside the range
            raise ValueError(f"{prefix}{name}: {err}") from None
    values = {name: node.get_parameter(prefix + name).value for name in ALARM_PARAMETERS}
    try:
        return AlarmConfig.from_parameters(values)
    except ValueError as err:
        raise ValueError(f"{prefix}{err}") from None


class AlarmServices:
    """Creates the services on `node`; `publish_alert` receives each resulting Alert.

    A timer expires shelving on the node's clock even when no analysis windows arrive
    (construct the AlarmManager with the same clock, e.g. node.get_clock().now().nanoseconds).
    """

    def __init__(self, node: Node, manager: AlarmManager,
                 publish_alert: Callable[[object], None] | None = None,
                 frame_id: str = "asset", model_version: str = "",
                 expiry_check_period_s: float = 1.0) -> None:
        self.node = node
        self.manager = manager
        self.publish_alert = publish_alert
        self.frame_id = frame_id
        self.model_version = model_version
        self.services = [
            node.create_service(AcknowledgeAlarm, "~/acknowledge_alarm", self._acknowledge),
            node.create_service(ShelveAlarm, "~/shelve_alarm", self._shelve),
            node.create_service(UnshelveAlarm, "~/unshelve_alarm", self._unshelve),
            node.create_service(SetAlarmInService, "~/set_alarm_in_service", self._in_service),
            node.create_service(ListAlarms, "~/list_alarms", self._list),
        ]
        self.timer = (node.create_timer(expiry_check_period_s, self._expire)
                      if expiry_check_period_s > 0 else None)

    def destroy(self) -> None:
        for service in self.services:
            self.node.destroy_service(service)
        if self.timer is not None:
            self.node.destroy_timer(self.timer)

    def publish(self, update: AlarmUpdate) -> None:
        if self.publish_alert is not None:
            self.publish_alert(conv.alarm_update_msg(update, self.frame_id, self.model_version,
                                                     self.manager.zone_table.source))

    # --- callbacks ---------------------------------------------------------------------------
    def _act(self, response, action: Callable[[], AlarmUpdate]):
        try:
            update = action()
        except AlarmOperationError as err:
            response.success, response.message = False, str(err)
            self.node.get_logger().warn(f"alarm request refused: {err}")
            return response
        self.publish(update)
        response.success = True
        response.message = (f"{update.alert_id}: {update.event.name.lower()} -> "
                            f"{update.lifecycle.name.lower()}")
        response.alarm = self._info(update.alert_id)
        self.node.get_logger().info(f"alarm {response.message}"
                                    + (f" by {update.operator}" if update.operator else ""))
        return response

    def _info(self, alert_id: str):
        for alarm in self.manager.active_alarms():
            if alarm.alert_id == alert_id:
                return conv.alarm_info_msg(alarm)
        return AlarmInfo(alert_id=alert_id)  # back in NORMAL (e.g. returned, then acked)

    def _acknowledge(self, request, response):
        return self._act(response, lambda: self.manager.acknowledge(
            request.alert_id, request.operator_name, request.note))

    def _shelve(self, request, response):
        response = self._act(response, lambda: self.manager.shelve(
            request.alert_id, float(request.duration_s), request.reason, request.operator_name))
        if response.success:
            response.expires = response.alarm.shelved_until
        return response

    def _unshelve(self, request, response):
        return self._act(response, lambda: self.manager.unshelve(request.alert_id,
                                                                 request.operator_name))

    def _in_service(self, request, response):
        if request.in_service:
            return self._act(response, lambda: self.manager.return_to_service(
                request.alert_id, request.operator_name))
        return self._act(response, lambda: self.manager.remove_from_service(
            request.alert_id, request.operator_name, request.reason))

    def _list(self, request, response):
        response.alarms = [conv.alarm_info_msg(a) for a in
                           self.manager.active_alarms(bool(request.include_shelved))]
        return response

    def _expire(self) -> None:
        for update in self.manager.expire_shelving(self.node.get_clock().now().nanoseconds):
            self.publish(update)
