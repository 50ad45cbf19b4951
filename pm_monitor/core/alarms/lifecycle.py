"""The ISA-18.2 / IEC 62682 alarm state machine of one alarm point (one asset and fault).

States (ISA-18.2 figure "alarm state transition diagram"): A normal, B active-unacknowledged,
C active-acknowledged, D returned-to-normal-unacknowledged, E shelved, G out of service.

    A --condition--> B --ack--> C --clear--> A
                     B --clear--> D --ack--> A
                                  D --condition--> B        (same alert id)
    B, C, D --shelve--> E --unshelve/expiry--> B if the condition is active, else A
    any --remove from service--> G --return--> B if the condition is active, else A

An alarm *instance* (one alert id) lives from A -> B until it is back in A. While shelved or
out of service the condition is still tracked, silently, so that unshelving shows the truth.
Every method returns the event it caused (or None) and never emits the same transition twice.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import IntEnum

from pm_monitor.core.types import HealthState


class AlarmState(IntEnum):
    """Lifecycle state; values equal Alert.LIFECYCLE_* in msg/Alert.msg."""

    NORMAL = 0
    ACTIVE_UNACKED = 1
    ACTIVE_ACKED = 2
    RETURNED_UNACKED = 3
    SHELVED = 4
    OUT_OF_SERVICE = 5


class AlarmEvent(IntEnum):
    """What a message says happened; values equal Alert.EVENT_* (0-3)."""

    RAISED = 0
    UPDATED = 1
    ESCALATED = 2
    CLEARED = 3
    ACKNOWLEDGED = 4
    SHELVED = 5
    UNSHELVED = 6
    REMOVED_FROM_SERVICE = 7
    RETURNED_TO_SERVICE = 8
    SUPPRESSED = 9  # held back by flood control: logged and counted, never published


class AlarmOperationError(ValueError):
    """An operator action that the alarm's current state does not allow; says why."""


@dataclass
class Alarm:
    """One alarm point and, while not NORMAL, its current instance."""

    asset_id: str
    fault_type: str
    alert_id: str = ""
    lifecycle: AlarmState = AlarmState.NORMAL
    condition_active: bool = False  # the debounced condition (raised and not yet cleared)
    severity: HealthState = HealthState.NORMAL  # worst since raised; never de-escalates
    sequence: int = 0  # messages about this alert id
    raised_ns: int = 0
    last_change_ns: int = 0
    last_sent_ns: int = 0
    acked_by: str = ""
    ack_note: str = ""
    shelved_until_ns: int = 0
    shelved_by: str = ""
    shelve_reason: str = ""
    suppressed: bool = False  # raised while flood control held it back; not yet shown
    history: list[str] = field(default_factory=list)  # short audit trail of this instance

    @property
    def key(self) -> tuple[str, str]:
        return (self.asset_id, self.fault_type)

    @property
    def in_instance(self) -> bool:
        return self.lifecycle != AlarmState.NORMAL

    @property
    def annunciated(self) -> bool:
        """Shown to the operator now (not shelved, out of service or flood-suppressed)."""
        return (self.lifecycle in (AlarmState.ACTIVE_UNACKED, AlarmState.ACTIVE_ACKED,
                                   AlarmState.RETURNED_UNACKED) and not self.suppressed)

    # --- condition -------------------------------------------------------------------------
    def activate(self, t_ns: int, severity: HealthState, new_id: str) -> AlarmEvent | None:
        """The debounced condition became active. new_id is used only if an instance starts."""
        self.condition_active = True
        if self.lifecycle == AlarmState.NORMAL:
            self.alert_id, self.sequence, self.raised_ns = new_id, 0, t_ns
            self.severity, self.acked_by, self.ack_note, self.history = severity, "", "", []
            return self._go(t_ns, AlarmState.ACTIVE_UNACKED, AlarmEvent.RAISED)
        self.severity = max(self.severity, severity)
        if self.lifecycle == AlarmState.RETURNED_UNACKED:
            return self._go(t_ns, AlarmState.ACTIVE_UNACKED, AlarmEvent.RAISED)
        return None  # already active, or shelved / out of service (tracked silently)

    def escalate(self, t_ns: int, severity: HealthState, reannunciate: bool,
                 failure_overrides_shelving: bool) -> list[AlarmEvent]:
        """A worse level passed its on-delay while the condition is active."""
        if severity <= self.severity or not self.condition_active:
            return []
        self.severity = severity
        events = []
        if (self.lifecycle == AlarmState.SHELVED and failure_overrides_shelving
                and severity == HealthState.FAILURE):
            events.append(self._unshelve(t_ns, "unshelved: escalated to FAILURE"))
        if self.lifecycle == AlarmState.ACTIVE_ACKED and reannunciate:
            # a worse fault needs a fresh acknowledgement
            self.lifecycle = AlarmState.ACTIVE_UNACKED
            self.acked_by = self.ack_note = ""
        if self.lifecycle in (AlarmState.ACTIVE_UNACKED, AlarmState.ACTIVE_ACKED):
            events.append(self._go(t_ns, self.lifecycle, AlarmEvent.ESCALATED))
        return events

    def clear(self, t_ns: int) -> AlarmEvent | None:
        """The debounced condition returned to normal."""
        if not self.condition_active:
            return None
        self.condition_active = False
        if self.lifecycle == AlarmState.ACTIVE_UNACKED:
            return self._go(t_ns, AlarmState.RETURNED_UNACKED, AlarmEvent.CLEARED)
        if self.lifecycle == AlarmState.ACTIVE_ACKED:
            return self._go(t_ns, AlarmState.NORMAL, AlarmEvent.CLEARED)
        return None

    # --- operator --------------------------------------------------------------------------
    def acknowledge(self, t_ns: int, who: str, note: str) -> AlarmEvent:
        if self.lifecycle not in (AlarmState.ACTIVE_UNACKED, AlarmState.RETURNED_UNACKED):
            raise AlarmOperationError(f"alarm {self.alert_id} is {self.lifecycle.name.lower()}:"
                                      f" nothing to acknowledge")
        self.acked_by, self.ack_note = who, note
        target = (AlarmState.ACTIVE_ACKED if self.lifecycle == AlarmState.ACTIVE_UNACKED
                  else AlarmState.NORMAL)
        return self._go(t_ns, target, AlarmEvent.ACKNOWLEDGED, f"acknowledged by {who}")

    def shelve(self, t_ns: int, until_ns: int, who: str, reason: str) -> AlarmEvent:
        if self.lifecycle in (AlarmState.NORMAL, AlarmState.OUT_OF_SERVICE):
            raise AlarmOperationError(f"alarm {self.alert_id or self.key} is "
                                      f"{self.lifecycle.name.lower()}: cannot be shelved")
        if until_ns <= t_ns:
            raise AlarmOperationError("shelving must end in the future")
        self.shelved_until_ns, self.shelved_by, self.shelve_reason = until_ns, who, reason
        return self._go(t_ns, AlarmState.SHELVED, AlarmEvent.SHELVED, f"shelved by {who}")

    def unshelve(self, t_ns: int, why: str) -> AlarmEvent:
        if self.lifecycle != AlarmState.SHELVED:
            raise AlarmOperationError(f"alarm {self.alert_id} is not shelved "
                                      f"({self.lifecycle.name.lower()})")
        return self._unshelve(t_ns, why)

    def remove_from_service(self, t_ns: int, who: str, reason: str) -> AlarmEvent:
        if self.lifecycle == AlarmState.OUT_OF_SERVICE:
            raise AlarmOperationError(f"alarm {self.key} is already out of service")
        self.shelved_until_ns = 0
        self.shelved_by, self.shelve_reason = who, reason
        return self._go(t_ns, AlarmState.OUT_OF_SERVICE, AlarmEvent.REMOVED_FROM_SERVICE,
                        f"out of service by {who}")

    def return_to_service(self, t_ns: int, who: str) -> AlarmEvent:
        if self.lifecycle != AlarmState.OUT_OF_SERVICE:
            raise AlarmOperationError(f"alarm {self.key} is not out of service")
        self.shelved_by = self.shelve_reason = ""
        target = AlarmState.ACTIVE_UNACKED if self.condition_active else AlarmState.NORMAL
        self.acked_by = self.ack_note = ""
        return self._go(t_ns, target, AlarmEvent.RETURNED_TO_SERVICE, f"returned by {who}")

    # --- helpers ---------------------------------------------------------------------------
    def _unshelve(self, t_ns: int, why: str) -> AlarmEvent:
        self.shelved_until_ns, self.shelved_by, self.shelve_reason = 0, "", ""
        # back to what the condition says now: active alarms are shown again, unacknowledged
        target = AlarmState.ACTIVE_UNACKED if self.condition_active else AlarmState.NORMAL
        self.acked_by = self.ack_note = ""
        return self._go(t_ns, target, AlarmEvent.UNSHELVED, why)

    def _go(self, t_ns: int, target: AlarmState, event: AlarmEvent,
            note: str = "") -> AlarmEvent:
        self.lifecycle = target
        self.last_change_ns = t_ns
        self.history.append(f"{t_ns} {event.name} -> {target.name}" + (f" ({note})" if note
                                                                       else ""))
        del self.history[:-20]  # a chattering alarm must not grow without bound
        return event

    # --- persistence -----------------------------------------------------------------------
    def to_dict(self) -> dict:
        data = asdict(self)
        data["lifecycle"] = self.lifecycle.name
        data["severity"] = self.severity.name
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Alarm:
        values = dict(data)
        values["lifecycle"] = AlarmState[values["lifecycle"]]
        values["severity"] = HealthState[values["severity"]]
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in values.items() if k in known})
