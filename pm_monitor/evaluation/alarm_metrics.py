"""Replay a window stream through three alarm policies and measure what an operator would see.

Policies:
* "no alarm logic": every window flagged abnormal is an alert; each rising edge of the
  per-window flag is a new alert (what a monitor without alarm management publishes);
* "foundation": evaluation.baseline_alert_tracker.AlertTracker (on/off delay, one id per episode);
* "alarm manager": core.alarms.AlarmManager with the given config.

Metrics: alerts raised (before the fault onset = false), detection delay after onset and after
the true Pre-Warning, time spent chattering (ISA-18.2: an alarm raised 3 or more times within
one minute; the minute is stretched to 10 hops for slow streams such as FEMTO's 10 s
snapshots), annunciation changes (raise + clear messages), messages published, and the lag
of each escalation behind the first window the model reached that level.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from pm_monitor.core.alarms import ZONE_FAULT, AlarmConfig, AlarmEvent, AlarmManager
from pm_monitor.core.types import HealthState
from pm_monitor.evaluation.alarm_streams import WindowStream
from pm_monitor.evaluation.baseline_alert_tracker import AlertEvent, AlertPolicy, AlertTracker

CHATTER_COUNT = 3
CHATTER_WINDOW_S = 60.0
CHATTER_MIN_HOPS = 10


@dataclass
class PolicyRun:
    """What one policy published for one stream."""

    policy: str
    raise_t: list[float] = field(default_factory=list)
    clear_t: list[float] = field(default_factory=list)
    messages: int = 0
    alert_ids: set[str] = field(default_factory=set)
    # (t_s, severity) of every raise/escalation of a model alarm (not the ISO zone alarm):
    # for the level-lag metric
    severity_steps: list[tuple[float, int]] = field(default_factory=list)
    final_fault: dict[str, str] = field(default_factory=dict)  # alert id -> last fault type
    active: np.ndarray | None = None  # per window: shown severity, -1 when no alert is up
    zone_active: np.ndarray | None = None  # the same for the ISO zone alarm (alarm manager)
    suppressed: int = 0
    extra: dict = field(default_factory=dict)


def run_no_logic(stream: WindowStream) -> PolicyRun:
    run = PolicyRun("no alarm logic")
    previous = False
    for t, flag, state in zip(stream.t_s, stream.abnormal, stream.state, strict=True):
        if flag and not previous:
            run.raise_t.append(float(t))
            run.alert_ids.add(f"w{len(run.raise_t)}")
        if previous and not flag:
            run.clear_t.append(float(t))
        run.messages += int(flag)  # one alert message per abnormal window
        if flag:
            run.severity_steps.append((float(t), int(state)))
        previous = bool(flag)
    run.active = np.where(stream.abnormal, stream.state, -1)
    return run


def run_foundation(stream: WindowStream, policy: AlertPolicy | None = None) -> PolicyRun:
    run = PolicyRun("foundation tracker")
    tracker = AlertTracker("asset", policy or AlertPolicy())
    active = np.full(stream.t_s.size, -1)
    shown = -1
    for i, t in enumerate(stream.t_s):
        decision = tracker.update(round(float(t) * 1e9), HealthState(int(stream.state[i])),
                                  bool(stream.abnormal[i]))
        if decision is not None:
            run.messages += 1
            run.alert_ids.add(decision.alert_id)
            if decision.event == AlertEvent.RAISED:
                run.raise_t.append(float(t))
            if decision.event == AlertEvent.CLEARED:
                run.clear_t.append(float(t))
                shown = -1
            else:
                shown = int(decision.state)
                if decision.event in (AlertEvent.RAISED, AlertEvent.ESCALATED):
                    run.severity_steps.append((float(t), shown))
        active[i] = shown
    run.active = active
    return run


def run_alarm_manager(stream: WindowStream, config: AlarmConfig) -> PolicyRun:
    run = PolicyRun("alarm manager")
    manager = AlarmManager("asset", config)
    shown: dict[str, int] = {}
    zone_ids: set[str] = set()
    active = np.full(stream.t_s.size, -1)
    zone_active = np.full(stream.t_s.size, -1)
    lifecycle_counts: dict[str, int] = {}
    for i, t in enumerate(stream.t_s):
        probabilities = stream.probabilities[i]
        updates = manager.update(
            round(float(t) * 1e9), HealthState(int(stream.state[i])), bool(stream.abnormal[i]),
            float(stream.score[i]), float(stream.threshold[i]),
            None if np.isnan(probabilities).any() else probabilities,
            str(stream.fault[i]),
            None if math.isnan(stream.velocity_mm_s[i]) else float(stream.velocity_mm_s[i]))
        for u in updates:
            run.messages += 1
            run.alert_ids.add(u.alert_id)
            run.final_fault[u.alert_id] = u.fault_type
            if u.fault_type == ZONE_FAULT:
                zone_ids.add(u.alert_id)
            lifecycle_counts[u.event.name] = lifecycle_counts.get(u.event.name, 0) + 1
            if u.event == AlarmEvent.RAISED:
                run.raise_t.append(float(t))
                run.extra.setdefault("raised_faults", []).append(u.fault_type)
            if u.event == AlarmEvent.CLEARED:
                run.clear_t.append(float(t))
                shown.pop(u.alert_id, None)
            elif u.event in (AlarmEvent.RAISED, AlarmEvent.ESCALATED, AlarmEvent.UPDATED):
                if u.event != AlarmEvent.UPDATED and u.fault_type != ZONE_FAULT:
                    run.severity_steps.append((float(t), int(u.severity)))
                shown[u.alert_id] = int(u.severity)
        active[i] = max((v for k, v in shown.items() if k not in zone_ids), default=-1)
        zone_active[i] = max((v for k, v in shown.items() if k in zone_ids), default=-1)
    run.active = active
    run.zone_active = zone_active
    run.suppressed = manager.stats.suppressed_total
    run.extra["events"] = lifecycle_counts
    run.extra["zone_windows"] = dict(manager.stats.zone_windows)
    run.extra["model_higher_windows"] = manager.stats.model_higher_windows
    run.extra["zone_higher_windows"] = manager.stats.zone_higher_windows
    return run


def chatter_time_s(raise_t: list[float], hop_s: float) -> float:
    """Total time inside which CHATTER_COUNT or more raises fall in one chatter window."""
    window = max(CHATTER_WINDOW_S, CHATTER_MIN_HOPS * hop_s)
    times = np.asarray(sorted(raise_t))
    intervals = []
    for i in range(len(times) - CHATTER_COUNT + 1):
        j = i + CHATTER_COUNT - 1
        if times[j] - times[i] <= window:
            intervals.append((times[i], times[j]))
    total, end = 0.0, -math.inf
    for start, stop in intervals:  # union of the chattering spans
        start = max(start, end)
        if stop > start:
            total += stop - start
        end = max(end, stop)
    return float(total)


def level_lag_s(stream: WindowStream, run: PolicyRun) -> dict[str, float | None]:
    """For each level, time of the first model alarm at that level or worse minus the first
    window the model reached it (the on-delay bounds it when the level persists; a level
    the model touches once and leaves again is shown later or never); None when the model or
    the alarm never reached it."""
    out: dict[str, float | None] = {}
    for state in (HealthState.PRE_WARNING, HealthState.WARNING, HealthState.FAILURE):
        hits = np.flatnonzero(stream.state >= int(state))
        shown = [t for t, s in run.severity_steps if s >= int(state)]
        out[state.name] = (round(shown[0] - float(stream.t_s[hits[0]]), 3)
                           if hits.size and shown else None)
    return out


def summarize(stream: WindowStream, run: PolicyRun) -> dict:
    onset = stream.onset_s
    pre_warning = stream.truth_first(HealthState.PRE_WARNING)
    raises = np.asarray(run.raise_t)
    has_onset = not math.isnan(onset)
    before = int(np.sum(raises < onset)) if has_onset else None
    after = raises[raises >= onset] if has_onset else raises
    first = float(after[0]) if after.size else None
    duration_h = (float(stream.t_s[-1] - stream.t_s[0]) + stream.hop_s) / 3600.0
    return {
        "policy": run.policy,
        "alerts_raised": len(run.raise_t),
        "distinct_alert_ids": len(run.alert_ids),
        "false_alerts_before_onset": before,
        "alerts_after_onset": int(after.size),
        "first_alert_s": first,
        "delay_after_onset_s": round(first - onset, 2) if first is not None and has_onset
        else None,
        "delay_after_true_pre_warning_s": (round(first - pre_warning, 2)
                                           if first is not None and not math.isnan(pre_warning)
                                           else None),
        "lead_before_end_s": (round(stream.end_s - first, 1)
                              if first is not None and not math.isnan(stream.end_s) else None),
        "chattering_time_s": round(chatter_time_s(run.raise_t, stream.hop_s), 2),
        "annunciation_changes": len(run.raise_t) + len(run.clear_t),
        "annunciation_changes_per_hour": round((len(run.raise_t) + len(run.clear_t))
                                               / duration_h, 1),
        "messages": run.messages,
        "escalation_lag_behind_model_s": level_lag_s(stream, run),
        "suppressed_by_flood_control": run.suppressed,
    }
