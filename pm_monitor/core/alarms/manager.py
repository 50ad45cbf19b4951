"""AlarmManager: per-window model outputs in, ISA-18.2 alarm messages out.

The facade the monitor calls once per analysis window (`update`) and from its services
(`acknowledge`, `shelve`, `unshelve`, `remove_from_service`, `return_to_service`,
`active_alarms`). One alarm point per (asset, fault):

* the model's alarms: the fault type of Stage 1 (outer_race, ...) once the state is above
  NORMAL; "unknown" while only the anomaly score is above its threshold. When the fault is
  identified while an "unknown" alarm is active, that alarm becomes the fault's alarm (same
  id), so one developing fault is one alarm from first anomaly to failure;
* the ISO zone alarm ("iso_zone"): velocity RMS in zone C (WARNING) or D (FAILURE), so a zone
  the model disagrees with is seen (config.zone_alarm_enabled).

Time is message time (the window's end stamp); operator actions use the clock given to the
constructor, else the last window's time.
"""
from __future__ import annotations

import logging
import math
import os
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from pm_monitor.core.alarms.alert_log import AlertLog
from pm_monitor.core.alarms.config import AlarmConfig
from pm_monitor.core.alarms.debounce import CLEAR, HOLD, ConditionFilter
from pm_monitor.core.alarms.flood import FloodControl
from pm_monitor.core.alarms.lifecycle import (
    Alarm,
    AlarmEvent,
    AlarmOperationError,
    AlarmState,
)
from pm_monitor.core.alarms.severity_zones import Agreement, IsoZone, agreement
from pm_monitor.core.types import UNKNOWN_FAULT, HealthState

ZONE_FAULT = "iso_zone"  # the ISO 10816-3 velocity zone alone
NO_FAULT = ("", "none")
_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AlarmUpdate:
    """One message about one alarm (what the node publishes on ~/alert)."""

    alert_id: str
    asset_id: str
    fault_type: str
    event: AlarmEvent
    lifecycle: AlarmState
    severity: HealthState
    sequence: int
    t_ns: int
    iso_zone: IsoZone = IsoZone.UNKNOWN
    velocity_mm_s: float = math.nan
    agreement: Agreement = Agreement.UNKNOWN
    suppressed_count: int = 0  # alarms flood control has held back so far (node-wide)
    operator: str = ""
    note: str = ""
    shelved_until_ns: int = 0
    was_suppressed: bool = False  # first shown after flood control held it back

    @property
    def state(self) -> HealthState:
        """The alarm's (worst) health state: what Alert.state carries."""
        return self.severity


@dataclass
class AlarmStats:
    """Counters for /diagnostics."""

    windows: int = 0
    events: dict[str, int] = field(default_factory=lambda: {e.name.lower(): 0
                                                            for e in AlarmEvent})
    suppressed_total: int = 0
    suppressed_by_asset: dict[str, int] = field(default_factory=dict)
    released_after_flood: int = 0
    suppressed_cleared_unseen: int = 0
    zone_windows: dict[str, int] = field(default_factory=lambda: {z.name: 0 for z in IsoZone})
    model_higher_windows: int = 0
    zone_higher_windows: int = 0
    log_records_written: int = 0
    log_records_replayed: int = 0
    log_lines_skipped: int = 0

    def as_diagnostics(self) -> dict[str, object]:
        out: dict[str, object] = {"alarm_windows": self.windows}
        out.update({f"alarm_{name}": count for name, count in self.events.items()})
        out.update({"alarm_suppressed_total": self.suppressed_total,
                    "alarm_released_after_flood": self.released_after_flood,
                    "alarm_suppressed_cleared_unseen": self.suppressed_cleared_unseen,
                    "iso_model_higher_windows": self.model_higher_windows,
                    "iso_zone_higher_windows": self.zone_higher_windows,
                    "alert_log_records_written": self.log_records_written,
                    "alert_log_records_replayed": self.log_records_replayed,
                    "alert_log_lines_skipped": self.log_lines_skipped})
        out.update({f"alarm_suppressed_{a}": n for a, n in self.suppressed_by_asset.items()})
        out.update({f"iso_zone_{z}_windows": n for z, n in self.zone_windows.items()})
        return out


@dataclass(frozen=True)
class _WindowContext:
    t_ns: int
    zone: IsoZone
    velocity_mm_s: float
    agreement: Agreement


class AlarmManager:
    """All alarms of a node (one or more assets), their log, flood control and counters."""

    def __init__(self, asset_id: str, config: AlarmConfig | None = None,
                 log_path: str | Path | None = None,
                 clock: Callable[[], int] | None = None) -> None:
        if not asset_id:
            raise ValueError("asset_id must not be empty")
        self.asset_id = asset_id
        self.config = config or AlarmConfig()
        self.zone_table = self.config.zone_table()
        self.stats = AlarmStats()
        self._clock = clock
        self._lock = threading.RLock()
        self._points: dict[tuple[str, str], Alarm] = {}
        self._filters: dict[tuple[str, str], ConditionFilter] = {}
        self._flood = FloodControl(self.config.flood_asset_max_alarms,
                                   self.config.flood_asset_period_s,
                                   self.config.flood_node_max_alarms,
                                   self.config.flood_node_period_s)
        self._next_sequence = 1
        self._boot_token = secrets.token_hex(3)  # ids stay unique even if the log is lost
        self._last_t_ns: int | None = None
        self._last_context: dict[str, _WindowContext] = {}
        self._supported: set[tuple[str, str]] = set()
        self._log: AlertLog | None = None
        if log_path is not None:
            self._replay(Path(log_path))
            self._log = AlertLog(log_path)

    def set_config(self, config: AlarmConfig) -> None:
        """Apply changed parameters to the running manager (alarms, runs and rate history are
        kept; the new delays, deadbands, limits and zone table apply from the next window)."""
        with self._lock:
            self.config = config
            self.zone_table = config.zone_table()
            for filt in self._filters.values():
                filt.config = config
            self._flood.reconfigure(config.flood_asset_max_alarms, config.flood_asset_period_s,
                                    config.flood_node_max_alarms, config.flood_node_period_s)

    # --- per window ------------------------------------------------------------------------
    def update(self, t_ns: int, state: HealthState, abnormal: bool, score: float,
               threshold: float, probabilities: Sequence[float] | None = None,
               fault_type: str = "none", velocity_mm_s: float | None = None,
               asset_id: str | None = None, decided: bool = True,
               may_clear: bool = True) -> list[AlarmUpdate]:
        """Feed one window's decision; returns the messages to publish, in order.

        decided: False for a window without a model decision (the models' inputs missing, a
        baseline being commissioned): the model alarms neither raise nor clear on it (every
        model point holds: an active alarm stays up, no on- or off-delay runs on); the ISO
        zone alarm still follows the measured velocity.
        may_clear: False for a decision taken without one of the models' inputs (a Stage 1
        degraded mode): it may raise and escalate model alarms, but where it would clear one
        (normal, or another fault named) the point holds: an alarm raised on all inputs is not
        cleared by a model that lost one of them.

        abnormal: state != NORMAL or the anomaly score is above its threshold (the cascade's
        gate). score/threshold/probabilities set the clearing deadband. velocity_mm_s: ISO
        velocity RMS of the window (None: no accelerometer data)."""
        state = HealthState(int(state))
        asset = asset_id or self.asset_id
        with self._lock:
            self._last_t_ns = t_ns
            self.stats.windows += 1
            out = self.expire_shelving(t_ns)
            ctx = self._context(t_ns, state, velocity_mm_s)
            self._last_context[asset] = ctx
            touched: set[tuple[str, str]] = set()
            self._supported: set[tuple[str, str]] = set()  # abnormal evidence this window
            if decided:
                clear = self._clear_window(state, abnormal, score, threshold, probabilities)
                out += self._model_points(ctx, asset, state, abnormal, clear, fault_type,
                                          touched, may_clear)
            else:
                out += self._hold_model_points(ctx, asset, touched)
            if self.config.zone_alarm_enabled:
                out += self._zone_point(ctx, asset, velocity_mm_s, touched)
            out += self._release_suppressed(ctx, asset, touched)
            out += self._periodic_updates(ctx, asset, touched)
            return out

    def update_result(self, result, velocity_mm_s: float | None = None,
                      asset_id: str | None = None) -> list[AlarmUpdate]:
        """update() from a cascade result (pm_monitor.core.cascade.CascadeResult); abnormal is
        state above NORMAL, or the anomaly score above its threshold where Stage 1 lets the
        anomaly alone alarm (result.anomaly_alarms). A result without a decision
        (result.decided False) holds the model alarms; one decided without an input
        (result.decided_without) may raise but not clear them."""
        state = HealthState(int(result.state))
        alone = bool(result.anomalous) and bool(result.anomaly_alarms)
        return self.update(result.t_end_ns, state, state != HealthState.NORMAL or alone,
                           float(result.anomaly_score), float(result.anomaly_threshold),
                           result.state_probabilities, result.fault_type, velocity_mm_s,
                           asset_id, decided=result.decided,
                           may_clear=not result.decided_without)

    def _context(self, t_ns: int, state: HealthState, velocity: float | None) -> _WindowContext:
        v = math.nan if velocity is None else float(velocity)
        zone = self.zone_table.classify(v)
        agree = agreement(state, zone)
        self.stats.zone_windows[zone.name] += 1
        self.stats.model_higher_windows += int(agree == Agreement.MODEL_HIGHER)
        self.stats.zone_higher_windows += int(agree == Agreement.ZONE_HIGHER)
        return _WindowContext(t_ns, zone, v, agree)

    def _clear_window(self, state: HealthState, abnormal: bool, score: float,
                      threshold: float, probabilities: Sequence[float] | None) -> bool:
        """Clearly normal: below the deadband on the score and on P(not normal)."""
        if abnormal or state != HealthState.NORMAL:
            return False
        if math.isfinite(score) and math.isfinite(threshold):
            limit = (threshold * (1.0 - self.config.score_deadband) if threshold > 0
                     else threshold)
            if score > limit:
                return False
        if probabilities is not None and len(probabilities) > 0:
            p_not_normal = 1.0 - float(probabilities[0])
            if p_not_normal > 0.5 - self.config.probability_deadband:
                return False
        return True

    def _model_points(self, ctx: _WindowContext, asset: str, state: HealthState,
                      abnormal: bool, clear: bool, fault_type: str,
                      touched: set, may_clear: bool = True) -> list[AlarmUpdate]:
        level = int(state) if state != HealthState.NORMAL else (0 if abnormal else None)
        fault = (fault_type if state != HealthState.NORMAL and fault_type not in NO_FAULT
                 else UNKNOWN_FAULT)
        self._point(asset, fault)  # the point this window speaks about exists from now on
        points = [p for key, p in self._points.items()
                  if key[0] == asset and key[1] != ZONE_FAULT]
        specific_active = any(p.condition_active for p in points
                              if p.fault_type != UNKNOWN_FAULT)
        out = []
        for point in points:
            if level is None:
                evidence = CLEAR if clear else HOLD
            elif point.fault_type == fault:
                evidence = (HOLD if fault == UNKNOWN_FAULT and specific_active else level)
            elif fault == UNKNOWN_FAULT:
                # an anomaly-only window keeps an active fault alarm up (never escalates it)
                evidence = level if point.condition_active else HOLD
            elif point.fault_type == UNKNOWN_FAULT:
                # a window naming a fault keeps the "unknown" alarm up until that fault's own
                # on-delay adopts it (which escalates it, with the fault type)
                evidence = 0 if point.condition_active else HOLD
            else:
                evidence = CLEAR  # the model names another fault: this fault's condition is off
            if evidence == CLEAR and not may_clear:
                evidence = HOLD  # a decision without one of the inputs never clears
            out += self._apply(ctx, point, evidence, touched)
        return out

    def _hold_model_points(self, ctx: _WindowContext, asset: str,
                           touched: set) -> list[AlarmUpdate]:
        """A window without a decision: every model point of the asset holds."""
        out = []
        for key, point in list(self._points.items()):
            if key[0] == asset and key[1] != ZONE_FAULT:
                out += self._apply(ctx, point, HOLD, touched)
        return out

    def _zone_point(self, ctx: _WindowContext, asset: str, velocity: float | None,
                    touched: set) -> list[AlarmUpdate]:
        point = self._point(asset, ZONE_FAULT)
        if ctx.zone in (IsoZone.C, IsoZone.D):
            evidence: int | str = 2 if ctx.zone == IsoZone.C else 3
        elif ctx.zone == IsoZone.UNKNOWN:
            evidence = HOLD
        else:  # A or B: clear only below the B/C boundary minus the deadband
            bc = self.zone_table.boundaries_mm_s[1]
            evidence = CLEAR if ctx.velocity_mm_s < bc * (1 - self.config.score_deadband) \
                else HOLD
        if not point.in_instance and evidence == HOLD:
            self._filter(point).reset()
            return []
        return self._apply(ctx, point, evidence, touched)

    def _apply(self, ctx: _WindowContext, point: Alarm, evidence: int | str,
               touched: set) -> list[AlarmUpdate]:
        filt = self._filter(point)
        filt.observe(ctx.t_ns, evidence)
        if evidence not in (CLEAR, HOLD):
            self._supported.add(point.key)
        level = filt.raised_level(ctx.t_ns)
        t = ctx.t_ns
        if not point.condition_active:
            if level is None:
                return []
            severity = HealthState(level) if level > 0 else HealthState.NORMAL
            donor = self._adoptable(point)
            if donor is not None:
                return self._adopt(ctx, donor, point, severity, touched)
            was_in_instance = point.in_instance
            # an instance keeps its id (re-raise, shelved): draw a number only for a new one
            new_id = point.alert_id if was_in_instance else self._new_id(point.asset_id)
            event = point.activate(t, severity, new_id)
            if event is None:  # shelved or out of service: tracked silently
                self._log_snapshot("condition", point, t)
                return []
            touched.add(point.key)
            return self._annunciate_raise(ctx, point, new_instance=not was_in_instance)
        if level is not None and level > int(point.severity):
            touched.add(point.key)
            events = point.escalate(t, HealthState(level),
                                    self.config.reannunciate_on_escalation,
                                    self.config.failure_overrides_shelving)
            if point.suppressed:
                if point.severity == HealthState.FAILURE:
                    return self._release(ctx, point)  # FAILURE is never held back
                self._log_snapshot("suppressed_escalation", point, t)
                return []
            if not events:
                self._log_snapshot("condition", point, t)
            return [self._emit(ctx, point, e) for e in events]
        if filt.cleared(t, int(point.severity)):
            touched.add(point.key)
            event = point.clear(t)
            filt.reset()
            if point.suppressed:
                return self._end_unseen(point, t)
            if event is None:
                self._log_snapshot("condition", point, t)
                return []
            return [self._emit(ctx, point, event)]
        return []

    def _annunciate_raise(self, ctx: _WindowContext, point: Alarm,
                          new_instance: bool) -> list[AlarmUpdate]:
        if point.suppressed:  # re-raised while still held back
            self._log_snapshot("suppressed", point, ctx.t_ns)
            return []
        if (self._flood.allows(point.asset_id, ctx.t_ns)
                or point.severity == HealthState.FAILURE):
            self._flood.record(point.asset_id, ctx.t_ns)
            return [self._emit(ctx, point, AlarmEvent.RAISED)]
        point.suppressed = True
        self.stats.suppressed_total += 1
        self.stats.suppressed_by_asset[point.asset_id] = (
            self.stats.suppressed_by_asset.get(point.asset_id, 0) + 1)
        self.stats.events["suppressed"] += 1
        asset_n, node_n = self._flood.counts(point.asset_id, ctx.t_ns)
        _logger.warning("flood control: alarm %s (%s/%s, %s) suppressed: %d new alarms on "
                        "the asset and %d node-wide inside the rate window", point.alert_id,
                        point.asset_id, point.fault_type, point.severity.name, asset_n, node_n)
        self._log_update(self._update(ctx, point, AlarmEvent.SUPPRESSED), point)
        return []

    def _release(self, ctx: _WindowContext, point: Alarm) -> list[AlarmUpdate]:
        point.suppressed = False
        self._flood.record(point.asset_id, ctx.t_ns)
        self.stats.released_after_flood += 1
        return [self._emit(ctx, point, AlarmEvent.RAISED, was_suppressed=True)]

    def _end_unseen(self, point: Alarm, t_ns: int) -> list[AlarmUpdate]:
        """A suppressed alarm cleared before it could be shown: logged and counted."""
        point.suppressed = False
        point.lifecycle = AlarmState.NORMAL
        point.last_change_ns = t_ns
        self.stats.suppressed_cleared_unseen += 1
        self._log_snapshot("suppressed_cleared_unseen", point, t_ns)
        return []

    def _release_suppressed(self, ctx: _WindowContext, asset: str,
                            touched: set) -> list[AlarmUpdate]:
        out = []
        for point in list(self._points.values()):
            if (point.suppressed and point.lifecycle == AlarmState.ACTIVE_UNACKED
                    and self._flood.allows(point.asset_id, ctx.t_ns)):
                touched.add(point.key)
                out += self._release(self._context_for(point.asset_id, ctx), point)
        return out

    def _periodic_updates(self, ctx: _WindowContext, asset: str,
                          touched: set) -> list[AlarmUpdate]:
        period_ns = round(self.config.update_period_s * 1e9)
        out = []
        for key, point in self._points.items():
            since_ns = ctx.t_ns - point.last_sent_ns
            # a window earlier than the last message (stream time jumped back: a bag loops)
            # is due at once, else the alarm would stay silent until time caught up
            if (key[0] == asset and key not in touched and point.annunciated
                    and point.condition_active and key in self._supported
                    and (since_ns >= period_ns or since_ns < 0)):
                out.append(self._emit(ctx, point, AlarmEvent.UPDATED))
        return out

    # --- adoption of an "unknown" alarm by the identified fault ----------------------------
    def _adoptable(self, point: Alarm) -> Alarm | None:
        if point.fault_type in (UNKNOWN_FAULT, ZONE_FAULT) or point.in_instance:
            return None
        donor = self._points.get((point.asset_id, UNKNOWN_FAULT))
        if donor is not None and donor.in_instance and donor.condition_active:
            return donor
        return None

    def _adopt(self, ctx: _WindowContext, donor: Alarm, point: Alarm, severity: HealthState,
               touched: set) -> list[AlarmUpdate]:
        """The fault is now identified: the anomaly alarm continues as this fault's alarm."""
        moved = replace(donor, fault_type=point.fault_type, history=list(donor.history))
        moved.history.append(f"{ctx.t_ns} fault identified: {point.fault_type}")
        self._points[point.key] = moved
        self._points[donor.key] = Alarm(donor.asset_id, donor.fault_type)
        self._filter(donor).reset()
        self._log_snapshot("adopted", self._points[donor.key], ctx.t_ns)
        touched.update({point.key, donor.key})
        events = moved.escalate(ctx.t_ns, severity, self.config.reannunciate_on_escalation,
                                self.config.failure_overrides_shelving)
        if moved.suppressed:
            if moved.severity == HealthState.FAILURE:
                return self._release(ctx, moved)
            self._log_snapshot("suppressed_escalation", moved, ctx.t_ns)
            return []
        if not events and moved.annunciated:
            events = [AlarmEvent.UPDATED]  # same level, but the fault type is news
        if not events:
            self._log_snapshot("adopted", moved, ctx.t_ns)
        return [self._emit(ctx, moved, e, note=f"fault identified: {point.fault_type}")
                for e in events]

    # --- operator actions --------------------------------------------------------------------
    def acknowledge(self, alert_id: str, who: str = "", note: str = "") -> AlarmUpdate:
        with self._lock:
            point = self._find(alert_id)
            event = point.acknowledge(self._now_ns(), who, note)
            point.suppressed = False  # the operator has seen it
            return self._operator_update(point, event, who, note)

    def shelve(self, alert_id: str, duration_s: float, reason: str = "",
               who: str = "") -> AlarmUpdate:
        if not (isinstance(duration_s, (int, float)) and math.isfinite(duration_s)
                and 0 < duration_s <= self.config.max_shelve_s):
            raise AlarmOperationError(f"duration_s must be in (0, {self.config.max_shelve_s}]"
                                      f" s, got {duration_s!r}")
        with self._lock:
            point = self._find(alert_id)
            now = self._now_ns()
            event = point.shelve(now, now + round(duration_s * 1e9), who, reason)
            return self._operator_update(point, event, who, reason)

    def unshelve(self, alert_id: str, who: str = "") -> AlarmUpdate:
        with self._lock:
            point = self._find(alert_id)
            event = point.unshelve(self._now_ns(), f"unshelved by {who}")
            return self._operator_update(point, event, who, "")

    def remove_from_service(self, alert_id: str, who: str = "",
                            reason: str = "") -> AlarmUpdate:
        with self._lock:
            point = self._find(alert_id)
            event = point.remove_from_service(self._now_ns(), who, reason)
            return self._operator_update(point, event, who, reason)

    def return_to_service(self, alert_id: str, who: str = "") -> AlarmUpdate:
        with self._lock:
            point = self._find(alert_id)
            event = point.return_to_service(self._now_ns(), who)
            return self._operator_update(point, event, who, "")

    def expire_shelving(self, t_ns: int) -> list[AlarmUpdate]:
        """Unshelve every alarm whose shelving ended at or before t_ns (also call from a timer
        when no windows arrive)."""
        with self._lock:
            out = []
            for point in self._points.values():
                if point.lifecycle == AlarmState.SHELVED and point.shelved_until_ns <= t_ns:
                    event = point.unshelve(t_ns, "shelving expired")
                    ctx = self._context_for(point.asset_id, None, t_ns)
                    out.append(self._emit(ctx, point, event, note="shelving expired"))
            return out

    # --- queries -----------------------------------------------------------------------------
    def active_alarms(self, include_shelved: bool = True) -> list[Alarm]:
        """Copies of every alarm not in NORMAL (shelved and out of service included unless
        include_shelved is False), worst first."""
        with self._lock:
            hidden = () if include_shelved else (AlarmState.SHELVED, AlarmState.OUT_OF_SERVICE)
            alarms = [replace(p, history=list(p.history)) for p in self._points.values()
                      if p.in_instance and p.lifecycle not in hidden]
        return sorted(alarms, key=lambda a: (-int(a.severity), a.raised_ns, a.alert_id))

    def active_alert_id(self, asset_id: str | None = None) -> str | None:
        """The worst annunciated alarm's id for an asset (HealthStatus.active_alert_id)."""
        asset = asset_id or self.asset_id
        for alarm in self.active_alarms(include_shelved=False):
            if alarm.asset_id == asset and alarm.condition_active and not alarm.suppressed:
                return alarm.alert_id
        return None

    def diagnostics(self) -> dict[str, object]:
        with self._lock:
            values = self.stats.as_diagnostics()
            active = [p for p in self._points.values() if p.in_instance]
            values.update({
                "alarms_active": sum(p.lifecycle in (AlarmState.ACTIVE_UNACKED,
                                                     AlarmState.ACTIVE_ACKED) for p in active),
                "alarms_unacknowledged": sum(p.lifecycle in (AlarmState.ACTIVE_UNACKED,
                                                             AlarmState.RETURNED_UNACKED)
                                             for p in active),
                "alarms_shelved": sum(p.lifecycle == AlarmState.SHELVED for p in active),
                "alarms_out_of_service": sum(p.lifecycle == AlarmState.OUT_OF_SERVICE
                                             for p in active),
                "alarms_suppressed_now": sum(p.suppressed for p in active),
                "iso_zone_table": self.zone_table.source,
            })
            return values

    def close(self) -> None:
        if self._log is not None:
            self._log.close()

    # --- internals ---------------------------------------------------------------------------
    def _point(self, asset: str, fault: str) -> Alarm:
        key = (asset, fault)
        if key not in self._points:
            self._points[key] = Alarm(asset, fault)
        return self._points[key]

    def _filter(self, point: Alarm) -> ConditionFilter:
        if point.key not in self._filters:
            self._filters[point.key] = ConditionFilter(self.config)
        return self._filters[point.key]

    def _new_id(self, asset: str) -> str:
        # the number comes from the log (survives restarts); the token guards a lost log
        alert_id = f"{asset}-{self._next_sequence:06d}-{self._boot_token}"
        self._next_sequence += 1
        return alert_id

    def _find(self, alert_id: str) -> Alarm:
        for point in self._points.values():
            if point.alert_id == alert_id and point.in_instance:
                return point
        if any(p.alert_id == alert_id for p in self._points.values()):
            raise AlarmOperationError(f"alarm {alert_id} has returned to normal")
        raise AlarmOperationError(f"no alarm with id {alert_id!r}")

    def _now_ns(self) -> int:
        if self._clock is not None:
            return int(self._clock())
        if self._last_t_ns is not None:
            return self._last_t_ns
        return time.time_ns()

    def _context_for(self, asset: str, fallback: _WindowContext | None,
                     t_ns: int | None = None) -> _WindowContext:
        last = self._last_context.get(asset) or fallback
        t = t_ns if t_ns is not None else (fallback.t_ns if fallback else self._now_ns())
        if last is None:
            return _WindowContext(t, IsoZone.UNKNOWN, math.nan, Agreement.UNKNOWN)
        return replace(last, t_ns=t)

    def _update(self, ctx: _WindowContext, point: Alarm, event: AlarmEvent,
                operator: str = "", note: str = "", was_suppressed: bool = False) -> AlarmUpdate:
        return AlarmUpdate(
            alert_id=point.alert_id, asset_id=point.asset_id, fault_type=point.fault_type,
            event=event, lifecycle=point.lifecycle, severity=point.severity,
            sequence=point.sequence, t_ns=ctx.t_ns, iso_zone=ctx.zone,
            velocity_mm_s=ctx.velocity_mm_s, agreement=ctx.agreement,
            suppressed_count=self.stats.suppressed_total, operator=operator, note=note,
            shelved_until_ns=point.shelved_until_ns, was_suppressed=was_suppressed)

    def _emit(self, ctx: _WindowContext, point: Alarm, event: AlarmEvent, operator: str = "",
              note: str = "", was_suppressed: bool = False) -> AlarmUpdate:
        point.sequence += 1
        point.last_sent_ns = ctx.t_ns
        self.stats.events[event.name.lower()] += 1
        update = self._update(ctx, point, event, operator, note, was_suppressed)
        self._log_update(update, point)
        return update

    def _operator_update(self, point: Alarm, event: AlarmEvent, who: str,
                         note: str) -> AlarmUpdate:
        ctx = self._context_for(point.asset_id, None, self._now_ns())
        if point.lifecycle == AlarmState.NORMAL:
            self._filter(point).reset()
        return self._emit(ctx, point, event, operator=who, note=note)

    def _log_update(self, update: AlarmUpdate, point: Alarm) -> None:
        if update.event == AlarmEvent.UPDATED and self._log is not None:
            # a periodic re-send changes nothing but the sequence: a short record keeps the
            # sequence monotonic across restarts without a full snapshot every few seconds
            self._log.append({"kind": "sequence", "alert_id": update.alert_id,
                              "sequence": update.sequence, "t_ns": int(update.t_ns)})
            self.stats.log_records_written += 1
            return
        record = {f.name: _jsonable(getattr(update, f.name)) for f in fields(update)}
        self._write({"kind": "update", "update": record}, point, update.t_ns)

    def _log_snapshot(self, kind: str, point: Alarm, t_ns: int) -> None:
        self._write({"kind": kind}, point, t_ns)

    def _write(self, record: dict, point: Alarm, t_ns: int) -> None:
        if self._log is None:
            return
        record.update({"t_ns": int(t_ns), "wall_time_s": time.time(),
                       "alarm": point.to_dict(), "id_sequence": self._next_sequence,
                       "suppressed_total": self.stats.suppressed_total})
        self._log.append(record)
        self.stats.log_records_written += 1

    def _replay_sequence(self, record: dict) -> None:
        for point in self._points.values():
            if point.alert_id == record.get("alert_id"):
                point.sequence = max(point.sequence, int(record.get("sequence", 0)))
                point.last_sent_ns = max(point.last_sent_ns, int(record.get("t_ns", 0)))
                self.stats.log_records_replayed += 1
                return

    def _replay(self, path: Path) -> None:
        result = AlertLog.replay(path)
        self.stats.log_lines_skipped = len(result.skipped_lines)
        for number, record in enumerate(result.records, start=1):
            if record.get("kind") == "sequence":
                self._replay_sequence(record)
                continue
            try:
                alarm = Alarm.from_dict(record["alarm"])
                sequence = int(record.get("id_sequence", 0))
            except (KeyError, TypeError, ValueError) as err:
                _logger.warning("%s: record %d has no usable alarm snapshot (%s)", path,
                                number, err)
                self.stats.log_lines_skipped += 1
                continue
            self._points[alarm.key] = alarm
            self._next_sequence = max(self._next_sequence, sequence)
            self.stats.suppressed_total = max(self.stats.suppressed_total,
                                              int(record.get("suppressed_total", 0)))
            self.stats.log_records_replayed += 1
        for alarm in self._points.values():
            # an alarm's own id number must never be handed out again, whatever the log says
            self._next_sequence = max(self._next_sequence, _id_number(alarm.alert_id) + 1)


def default_alert_log_path(asset_id: str) -> Path:
    """$ROS_HOME/pm_monitor/alerts_<asset>.jsonl (ROS_HOME defaults to ~/.ros), next to the
    logs ROS itself keeps; one file per asset so assets never share an id sequence."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in asset_id)
    home = Path(os.environ.get("ROS_HOME") or Path.home() / ".ros")
    return home / "pm_monitor" / f"alerts_{safe}.jsonl"


def _id_number(alert_id: str) -> int:
    parts = alert_id.rsplit("-", 2)
    try:
        return int(parts[-2]) if len(parts) == 3 else 0
    except ValueError:
        return 0


def _jsonable(value: object) -> object:
    if isinstance(value, (AlarmEvent, AlarmState, HealthState, IsoZone, Agreement)):
        return value.name
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
