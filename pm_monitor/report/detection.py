"""Detection summary of a run: delay after fault onset, false alarms, state agreement."""
from __future__ import annotations

import bisect
import math
from dataclasses import asdict, dataclass

import numpy as np

from pm_monitor.core.types import HealthState

RAISED = 0  # Alert.EVENT_RAISED


@dataclass(frozen=True)
class TruthSample:
    t_s: float
    state: int
    severity: float
    rul_s: float | None
    hotspot_xy: tuple[int, int] | None


@dataclass(frozen=True)
class HealthSample:
    t_s: float
    state: int
    anomaly_score: float
    anomaly_threshold: float
    anomalous: bool
    health_index: float


@dataclass(frozen=True)
class AlertRecord:
    t_s: float
    alert_id: str
    event: int
    state: int
    hotspot_xy: tuple[int, int] | None
    rul_s: float | None


@dataclass(frozen=True)
class RulSample:
    t_s: float
    rul_s: float
    lower_s: float
    upper_s: float


@dataclass(frozen=True)
class DetectionSummary:
    fault_onset_s: float | None
    truth_pre_warning_s: float | None
    first_alert_s: float | None
    detection_delay_after_onset_s: float | None
    detection_delay_after_pre_warning_s: float | None
    false_alarms: int
    alerts_raised: int
    alert_messages: int
    windows: int
    window_state_accuracy: float | None
    window_state_confusion: list[list[int]]
    median_hotspot_error_px: float | None
    rul_mae_s: float | None
    rul_interval_coverage: float | None

    def as_dict(self) -> dict:
        return asdict(self)


def _truth_at(truth: list[TruthSample], times: list[float], t_s: float) -> TruthSample:
    """Latest truth sample at or before t (ground truth is a step function of time)."""
    i = max(0, bisect.bisect_right(times, t_s) - 1)
    return truth[i]


def summarise(truth: list[TruthSample], health: list[HealthSample],
              alerts: list[AlertRecord], rul: list[RulSample]) -> DetectionSummary:
    """Score one run. False alarm = an alert raised before the fault's onset (or at all in a
    healthy run); detection delay = first alert raised at or after onset, minus onset."""
    truth = sorted(truth, key=lambda s: s.t_s)
    times = [s.t_s for s in truth]
    onset = next((s.t_s for s in truth if s.severity > 0), None)
    pre_warning = next((s.t_s for s in truth if s.state >= HealthState.PRE_WARNING), None)
    raised = [a for a in alerts if a.event == RAISED]
    false_alarms = sum(1 for a in raised if onset is None or a.t_s < onset)
    first_alert = next((a.t_s for a in raised if onset is not None and a.t_s >= onset), None)

    confusion = np.zeros((4, 4), int)
    for h in health:
        if truth:
            confusion[_truth_at(truth, times, h.t_s).state, h.state] += 1
    n_windows = int(confusion.sum())

    hotspot_errors = []
    for a in alerts:
        if a.hotspot_xy is not None and truth:
            true_xy = _truth_at(truth, times, a.t_s).hotspot_xy
            if true_xy is not None:
                hotspot_errors.append(math.dist(a.hotspot_xy, true_xy))

    rul_errors, covered = [], []
    for r in rul:
        true_rul = _truth_at(truth, times, r.t_s).rul_s if truth else None
        if true_rul is not None and onset is not None and r.t_s >= onset:
            rul_errors.append(abs(r.rul_s - true_rul))
            covered.append(r.lower_s <= true_rul <= r.upper_s)

    def delay(reference: float | None) -> float | None:
        return None if first_alert is None or reference is None else first_alert - reference

    return DetectionSummary(
        fault_onset_s=onset, truth_pre_warning_s=pre_warning, first_alert_s=first_alert,
        detection_delay_after_onset_s=delay(onset),
        detection_delay_after_pre_warning_s=delay(pre_warning),
        false_alarms=false_alarms, alerts_raised=len(raised), alert_messages=len(alerts),
        windows=n_windows,
        window_state_accuracy=float(np.trace(confusion) / n_windows) if n_windows else None,
        window_state_confusion=confusion.tolist(),
        median_hotspot_error_px=float(np.median(hotspot_errors)) if hotspot_errors else None,
        rul_mae_s=float(np.mean(rul_errors)) if rul_errors else None,
        rul_interval_coverage=float(np.mean(covered)) if covered else None)


def format_summary(summary: DetectionSummary) -> str:
    """Markdown table for humans."""
    def fmt(value: object) -> str:
        if value is None:
            return "n/a"
        return f"{value:.2f}" if isinstance(value, float) else str(value)

    rows = [(k, fmt(v)) for k, v in summary.as_dict().items() if k != "window_state_confusion"]
    lines = ["| metric | value |", "|---|---|", *[f"| {k} | {v} |" for k, v in rows]]
    labels = [s.name for s in HealthState]
    lines += ["", "Window states, rows = truth, columns = monitor:", "",
              "| truth \\ monitor | " + " | ".join(labels) + " |",
              "|---|" + "---|" * len(labels)]
    for label, row in zip(labels, summary.window_state_confusion, strict=True):
        lines.append(f"| {label} | " + " | ".join(str(v) for v in row) + " |")
    return "\n".join(lines)
