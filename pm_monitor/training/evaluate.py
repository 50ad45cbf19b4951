"""Evaluate a trained bundle on held-out runs by streaming them through the real Cascade.

Every window of a held-out run goes through Cascade.process exactly as in the live node (per-run
state: history, dynamic threshold, RUL); nothing is tuned on these results.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pm_monitor.core.cascade import CascadeResult
from pm_monitor.core.explain.explainer import Explainer
from pm_monitor.core.model_set.rig import rig_cascade, shipped_rig_rul
from pm_monitor.core.models.bundle import ModelBundle
from pm_monitor.core.sync.window import AnalysisWindow
from pm_monitor.core.types import NS_PER_S, HealthState
from pm_monitor.report import metrics
from pm_monitor.training.sequences import build_sequences
from pm_monitor.training.train_stage1 import predict_stage1

EXPLAIN_EVERY = 40  # explain() is slower; time it on a sample of windows


@dataclass
class RunRecord:
    """What the cascade said about each window of one held-out run, next to the truth."""

    name: str
    fault_location: str | None  # None for a healthy run
    t_s: list[float] = field(default_factory=list)
    truth_state: list[int] = field(default_factory=list)
    truth_fault: list[str] = field(default_factory=list)
    truth_location: list[str] = field(default_factory=list)
    truth_rul: list[float] = field(default_factory=list)
    truth_severity: list[float] = field(default_factory=list)
    state: list[int] = field(default_factory=list)
    p_not_normal: list[float] = field(default_factory=list)
    fault: list[str] = field(default_factory=list)
    score: list[float] = field(default_factory=list)
    threshold: list[float] = field(default_factory=list)
    anomalous: list[bool] = field(default_factory=list)
    location: list[str | None] = field(default_factory=list)
    hotspot_in_housing: list[bool | None] = field(default_factory=list)
    rul: list[tuple[float, float, float] | None] = field(default_factory=list)
    process_ms: list[float] = field(default_factory=list)
    explain_ms: list[float] = field(default_factory=list)
    # (thermal frame, Localization) of the last truly-WARNING window with Stage 2, for a figure
    example: tuple[np.ndarray, object] | None = None


HousingTest = Callable[[str, tuple[int, int]], bool]


class CascadeRecorder:
    """on_window callback for generate_run: runs the cascade and records result vs truth."""

    def __init__(self, bundle: ModelBundle, record: RunRecord, in_housing: HousingTest,
                 bundle_dir: Path | None = None) -> None:
        # with the bundle's directory under models/: the shipped rig RUL stage, as the monitor
        rul = shipped_rig_rul(bundle_dir) if bundle_dir is not None else None
        self.cascade = rig_cascade(bundle, rul=rul)
        self.explainer = Explainer.from_bundle(bundle)
        self.record = record
        self.in_housing = in_housing

    def __call__(self, window: AnalysisWindow, truth) -> None:
        self._last_frame = window.frames["thermal"].image if "thermal" in window.frames else None
        start = time.perf_counter()
        result = self.cascade.process(window)
        self.record.process_ms.append((time.perf_counter() - start) * 1e3)
        self.cascade.observe_rul(window)  # as the monitor: after the decision
        if len(self.record.t_s) % EXPLAIN_EVERY == 0:
            start = time.perf_counter()
            self.explainer.explain(result, window.frames)
            self.record.explain_ms.append((time.perf_counter() - start) * 1e3)
        self._record(result, truth)

    def _record(self, result: CascadeResult, truth) -> None:
        r = self.record
        truth_state = HealthState(int(truth.state))
        faulty = truth_state != HealthState.NORMAL
        r.t_s.append(result.t_end_ns / NS_PER_S)
        r.truth_state.append(int(truth_state))
        r.truth_fault.append(truth.fault_type if faulty else "none")
        r.truth_location.append(truth.fault_location if faulty else "healthy")
        r.truth_rul.append(float("nan") if truth.rul_s is None else float(truth.rul_s))
        r.truth_severity.append(float(truth.severity))
        r.state.append(int(result.state))
        r.p_not_normal.append(float(1.0 - result.state_probabilities[0]))
        r.fault.append(result.fault_type)
        r.score.append(result.anomaly_score)
        r.threshold.append(result.anomaly_threshold)
        r.anomalous.append(result.anomalous)
        loc = result.localization
        r.location.append(loc.location if loc else None)
        r.hotspot_in_housing.append(
            self.in_housing(truth.fault_location, loc.hotspot_xy) if loc and faulty else None
        )
        # the newest estimate, this window's included (the monitor makes it right after the
        # decision); only a valid (calibrated) one is scored
        rul = self.cascade.latest_rul
        r.rul.append((rul.rul_s, rul.lower_s, rul.upper_s)
                     if rul is not None and rul.valid else None)
        if loc is not None and truth_state == HealthState.WARNING:
            r.example = (self._last_frame, loc)


def summarise(records: list[RunRecord], state_names: tuple[str, ...]) -> dict:
    """Held-out metrics over all windows of all held-out runs."""
    truth = np.concatenate([r.truth_state for r in records])
    predicted = np.concatenate([r.state for r in records])
    p_not_normal = np.concatenate([r.p_not_normal for r in records])
    scores = np.concatenate([r.score for r in records])
    anomalous = np.concatenate([r.anomalous for r in records])
    severity = np.concatenate([r.truth_severity for r in records])
    confusion = metrics.confusion_matrix(truth, predicted, len(state_names))
    faulty_truth = truth != HealthState.NORMAL
    out: dict = {
        "windows": int(truth.size),
        "runs": [r.name for r in records],
        "stage1": {
            "accuracy": metrics.accuracy(confusion),
            "macro_f1": metrics.macro_f1(confusion),
            "f1_per_state": dict(zip(state_names, metrics.per_class_f1(confusion).tolist(),
                                     strict=True)),
            "auroc_not_normal": metrics.auroc(p_not_normal, faulty_truth),
            "confusion": confusion.tolist(),
        },
        "anomaly": {
            "auroc": metrics.auroc(scores, faulty_truth),
            # NORMAL splits into truly undamaged windows and an incipient fault (0 < severity <
            # PRE_WARNING): flags there are early detections, not false alarms.
            "flag_rate_on_undamaged_windows": _mean(anomalous[severity == 0.0]),
            "flag_rate_on_incipient_fault_windows": _mean(
                anomalous[(severity > 0.0) & ~faulty_truth]
            ),
            "flag_rate_on_not_normal_windows": _mean(anomalous[faulty_truth]),
        },
    }
    healthy_runs = [r for r in records if r.fault_location is None]
    if healthy_runs:
        false_alarms = np.concatenate([np.asarray(r.state) != 0 for r in healthy_runs])
        out["healthy_runs"] = {
            "stage1_not_normal_rate": float(false_alarms.mean()),
            "anomalous_rate": float(np.concatenate([r.anomalous for r in healthy_runs]).mean()),
        }
    fault_truth = np.concatenate([r.truth_fault for r in records])
    fault_pred = np.concatenate([r.fault for r in records])
    both = faulty_truth & (predicted != HealthState.NORMAL)
    out["fault_type_accuracy_on_detected_windows"] = (
        float((fault_truth[both] == fault_pred[both]).mean()) if both.any() else None
    )
    out["detection_delay_s"] = _detection_delays(records)
    out["stage2"] = _stage2_metrics(records)
    out["rul"] = _rul_metrics(records)
    process_ms = np.concatenate([r.process_ms for r in records])
    explain_ms = np.concatenate([r.explain_ms for r in records])
    out["timing_ms"] = {
        "process_median": float(np.median(process_ms)),
        "process_p95": float(np.quantile(process_ms, 0.95)),
        "explain_median": float(np.median(explain_ms)),
        "explain_p95": float(np.quantile(explain_ms, 0.95)),
    }
    return out


def _mean(values: np.ndarray) -> float | None:
    return float(values.mean()) if values.size else None


def _detection_delays(records: list[RunRecord]) -> dict:
    """Seconds from the first truly PRE_WARNING window to the first non-NORMAL Stage 1 output
    and to the first anomalous score, per fault run (None: never detected; negative: detected
    while the fault was still incipient)."""
    delays = {}
    for r in records:
        truth = np.asarray(r.truth_state)
        if r.fault_location is None or not (truth > 0).any():
            continue
        t = np.asarray(r.t_s)
        onset = t[np.argmax(truth > 0)]
        stage1 = np.asarray(r.state) > 0
        anomaly = np.asarray(r.anomalous)
        delays[r.name] = {
            "stage1": float(t[np.argmax(stage1)] - onset) if stage1.any() else None,
            "anomaly": float(t[np.argmax(anomaly)] - onset) if anomaly.any() else None,
        }
    return delays


def _stage2_metrics(records: list[RunRecord]) -> dict:
    """Location accuracy and hot spot inside the failing housing, over windows where Stage 2
    ran on a truly faulty machine, split by true state."""
    out = {}
    for state in (HealthState.PRE_WARNING, HealthState.WARNING, HealthState.FAILURE):
        correct, inside, ran = 0, 0, 0
        for r in records:
            for truth, location, truth_loc, hit in zip(
                r.truth_state, r.location, r.truth_location, r.hotspot_in_housing, strict=True
            ):
                if truth != state or location is None:
                    continue
                ran += 1
                correct += location == truth_loc
                inside += bool(hit)
        out[state.label] = {
            "windows_with_stage2": ran,
            "location_accuracy": correct / ran if ran else None,
            "hotspot_in_failing_housing": inside / ran if ran else None,
        }
    return out


def _rul_metrics(records: list[RunRecord]) -> dict:
    """MAE and 80 % interval coverage of the RUL estimates on faulty runs, per true state."""
    out = {}
    for state in (HealthState.PRE_WARNING, HealthState.WARNING, HealthState.FAILURE):
        errors, covered, relative = [], [], []
        for r in records:
            for truth_state, truth_rul, estimate in zip(
                r.truth_state, r.truth_rul, r.rul, strict=True
            ):
                if truth_state != state or estimate is None or np.isnan(truth_rul):
                    continue
                rul, lower, upper = estimate
                errors.append(abs(rul - truth_rul))
                covered.append(lower <= truth_rul <= upper)
                relative.append(abs(rul - truth_rul) / max(truth_rul, 1.0))
        out[state.label] = {
            "windows_with_estimate": len(errors),
            "mae_s": float(np.mean(errors)) if errors else None,
            "median_abs_error_s": float(np.median(errors)) if errors else None,
            "coverage_80": float(np.mean(covered)) if covered else None,
        }
    return out


def modality_dropout_metrics(
    bundle: ModelBundle, runs: list, sensor_slices: dict[str, slice], modality_of: dict[str, str]
) -> dict:
    """Stage 1's network alone on the held-out runs with one modality missing for the whole
    run: the modality's standardised feature columns zeroed (the training mean, as the sensor
    dropout of training/augment.py zeroes them). An offline measure of the network only: no
    sequence restart, no anomaly threshold, no alarms. What the runtime is allowed to do
    without a modality is decided by the evidence measured through Cascade.process and the
    alarm manager (training/degraded_evidence.py, core/model_set/degraded.py), not by this.
    """
    z = [bundle.scaler.standardise(r.features, r.present) for r in runs]
    truth = np.concatenate([r.state for r in runs])
    out = {}
    for missing in (None, "accel", "mic", "thermal"):
        columns = [sensor_slices[s] for s, m in modality_of.items() if m == missing]
        sequences = []
        for run_z in z:
            dropped = run_z.copy()
            for where in columns:
                dropped[:, where] = 0.0
            sequences.append(build_sequences(dropped, [len(dropped)], bundle.sequence_length))
        probabilities, _ = predict_stage1(bundle.stage1, np.concatenate(sequences))
        confusion = metrics.confusion_matrix(
            truth, probabilities.argmax(axis=1), len(bundle.state_names)
        )
        out[f"without_{missing}" if missing else "all_modalities"] = {
            "accuracy": metrics.accuracy(confusion),
            "macro_f1": metrics.macro_f1(confusion),
        }
    return out
