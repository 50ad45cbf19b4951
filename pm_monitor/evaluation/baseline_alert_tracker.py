"""The "foundation" baseline of the alarm evidence: the first, simple alarm logic (on-delay,
off-delay, one alert per episode), kept only so that evaluation/alarm_metrics.py can compare
the live ISA-18.2 alarm logic (pm_monitor.core.alarms) against it. Not used at run time.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import IntEnum

from pm_monitor.core.types import HealthState


class AlertEvent(IntEnum):
    """Values equal Alert.EVENT_* in msg/Alert.msg (as core.alarms.AlarmEvent)."""

    RAISED = 0
    UPDATED = 1
    ESCALATED = 2
    CLEARED = 3


@dataclass(frozen=True)
class AlertPolicy:
    """on_delay: consecutive abnormal windows before raising (anti-flicker);
    off_delay: consecutive normal windows before clearing;
    update_period_s: an active alert is re-sent at most this often (fresh RUL, scores)."""

    on_delay_windows: int = 2
    off_delay_windows: int = 6
    update_period_s: float = 5.0

    def __post_init__(self) -> None:
        if self.on_delay_windows < 1 or self.off_delay_windows < 1:
            raise ValueError("on/off delays must be at least one window")
        if self.update_period_s <= 0:
            raise ValueError("update_period_s must be > 0")


@dataclass(frozen=True)
class AlertDecision:
    alert_id: str
    event: AlertEvent
    state: HealthState
    sequence: int


class AlertTracker:
    """One active alert per asset at a time; ids are unique across restarts (uuid based)."""

    def __init__(self, asset_id: str, policy: AlertPolicy | None = None) -> None:
        self.asset_id = asset_id
        self.policy = policy or AlertPolicy()
        self._abnormal_run = 0
        self._normal_run = 0
        self._active_id: str | None = None
        self._active_state = HealthState.NORMAL
        self._sequence = 0
        self._last_sent_ns = 0
        self.raised_count = 0

    @property
    def active_alert_id(self) -> str | None:
        return self._active_id

    def update(self, t_ns: int, state: HealthState, abnormal: bool) -> AlertDecision | None:
        """Feed one window's decision (abnormal = state != NORMAL or anomalous)."""
        if abnormal:
            self._abnormal_run += 1
            self._normal_run = 0
        else:
            self._normal_run += 1
            self._abnormal_run = 0
        if self._active_id is None:
            if self._abnormal_run >= self.policy.on_delay_windows:
                self._active_id = f"{self.asset_id}-{uuid.uuid4().hex[:12]}"
                self._sequence = 0
                self.raised_count += 1
                return self._emit(t_ns, AlertEvent.RAISED, state)
            return None
        if self._normal_run >= self.policy.off_delay_windows:
            decision = self._emit(t_ns, AlertEvent.CLEARED, HealthState.NORMAL)
            self._active_id = None
            self._active_state = HealthState.NORMAL
            return decision
        if abnormal and state > self._active_state:
            return self._emit(t_ns, AlertEvent.ESCALATED, state)
        period_ns = int(self.policy.update_period_s * 1e9)
        if abnormal and t_ns - self._last_sent_ns >= period_ns:
            return self._emit(t_ns, AlertEvent.UPDATED, max(state, self._active_state))
        return None

    def _emit(self, t_ns: int, event: AlertEvent, state: HealthState) -> AlertDecision:
        assert self._active_id is not None
        self._sequence += 1
        self._last_sent_ns = t_ns
        if event != AlertEvent.CLEARED:
            # an alert never de-escalates while active: the operator sees the worst state
            self._active_state = max(self._active_state, state)
            state = self._active_state
        return AlertDecision(self._active_id, event, HealthState(state), self._sequence)
