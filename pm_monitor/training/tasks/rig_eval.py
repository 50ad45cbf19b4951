"""The shipped rig cascade (models/rig_baseline) on held-out SIMULATED runs with ground truth.

    python -m pm_monitor.training.cli evaluate pm_monitor/training/configs/rig_eval.yaml

(``train`` does the same: the bundle is trained by ``python -m pm_monitor.training.rig_baseline``.)
Every held-out run of run_plan's test split is simulated window by window and streamed through
``Cascade.process``. Measured:
- detection delay after fault onset and after the true Pre-Warning: first window Stage 1 says
  not-Normal, and first window the anomaly score crosses its dynamic threshold;
- false alarms per hour: rising edges of "Stage 1 not Normal" (and of "anomalous") while the truth
  is Normal (healthy runs and before onset), per hour of such time; no debouncing (the alarm
  manager adds that);
- hotspot error: pixel distance between the Grad-CAM hotspot and the true failing housing's
  hotspot, on windows where Stage 2 ran and the truth is not Normal;
- cascade saving: per window, measured total ms with the Stage 1 gate, and without it (Stage 2 on
  every window: the gated time plus Stage 2's measured time on the windows the gate skipped,
  timed on every ``stage2_sample_every``-th skipped window).
The rig is synthetic: these numbers show the cascade works end to end, not field accuracy.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from pm_monitor.core.cascade import Cascade
from pm_monitor.core.model_set.rig import rig_cascade
from pm_monitor.core.models.bundle import load_bundle
from pm_monitor.core.types import HealthState
from pm_monitor.sim import RigConfig, RigSimulator
from pm_monitor.training.rig_dataset import rig_window
from pm_monitor.training.run_plan import RunSpec, plan_runs

REPO_ROOT = Path(__file__).resolve().parents[3]


def rising_edges(flags: np.ndarray) -> int:
    """Number of False -> True transitions (a run starting True counts once)."""
    flags = np.asarray(flags, dtype=bool)
    return int(np.sum(flags[1:] & ~flags[:-1]) + (1 if flags.size and flags[0] else 0))


def first_time(t_s: np.ndarray, flags: np.ndarray, after_s: float) -> float | None:
    hits = np.flatnonzero(np.asarray(flags, bool) & (t_s >= after_s))
    return float(t_s[hits[0]]) if hits.size else None


def stream_run(cascade: Cascade, spec: RunSpec, window_s: float, hop_s: float,
               stage2_every: int) -> dict[str, np.ndarray]:
    """Per window: time, truth, Stage 1 verdict, anomaly flag, hotspot error, timings."""
    cascade.reset()
    simulator = RigSimulator(RigConfig(), spec.schedule, spec.seed)
    rows: dict[str, list] = {k: [] for k in ("t", "truth", "state", "anomalous", "hotspot_err",
                                             "total_ms", "stage2_ran", "stage2_ms")}
    skipped = 0
    for t_end in np.arange(window_s, spec.duration_s + 1e-9, hop_s):
        window = rig_window(simulator, float(t_end), window_s)
        truth = simulator.truth(float(t_end))
        result = cascade.process(window)
        error = np.nan
        if result.localization is not None and truth.hotspot_px is not None and \
                truth.state != HealthState.NORMAL:
            error = float(np.hypot(result.localization.hotspot_xy[0] - truth.hotspot_px[0],
                                   result.localization.hotspot_xy[1] - truth.hotspot_px[1]))
        stage2_ms = result.timings_ms["stage2"] if result.stage2_ran else np.nan
        if not result.stage2_ran:
            skipped += 1
            if skipped % stage2_every == 0:  # what the skipped Stage 2 would have cost
                start = time.perf_counter()
                for localizer in cascade.localizers:  # the Stage 2 blocks, timed directly
                    if localizer.modality in window.frames:
                        localizer.localize(window.frames[localizer.modality])
                stage2_ms = (time.perf_counter() - start) * 1e3
        for key, value in (("t", float(t_end)), ("truth", int(truth.state)),
                           ("state", int(result.state)), ("anomalous", result.anomalous),
                           ("hotspot_err", error), ("total_ms", result.timings_ms["total"]),
                           ("stage2_ran", result.stage2_ran), ("stage2_ms", stage2_ms)):
            rows[key].append(value)
    return {k: np.asarray(v) for k, v in rows.items()}


def run_metrics(spec: RunSpec, rows: dict[str, np.ndarray]) -> dict[str, Any]:
    faults = spec.schedule.faults
    onset = faults[0].onset_s if faults else None
    normal = rows["truth"] == 0
    pre_warning = rows["t"][rows["truth"] >= 1]
    out: dict[str, Any] = {"run": spec.name, "normal_hours": _normal_hours(rows)}
    stage1_alarm = rows["state"] > 0
    # false alarms: edges inside truly-Normal stretches only
    out["false_alarms_stage1"] = rising_edges(stage1_alarm & normal)
    out["false_alarms_anomaly"] = rising_edges(rows["anomalous"] & normal)
    if onset is not None:
        for name, flags in (("stage1", stage1_alarm), ("anomaly", rows["anomalous"])):
            first = first_time(rows["t"], flags, onset)
            out[f"delay_after_onset_{name}_s"] = None if first is None else first - onset
            if pre_warning.size:  # negative: the alarm came before the true Pre-Warning
                out[f"delay_after_pre_warning_{name}_s"] = (
                    None if first is None else first - float(pre_warning[0]))
    errors = rows["hotspot_err"][np.isfinite(rows["hotspot_err"])]
    out["hotspot_error_px_median"] = float(np.median(errors)) if errors.size else None
    out["hotspot_windows"] = int(errors.size)
    return out


def _normal_hours(rows: dict[str, np.ndarray]) -> float:
    hop = float(np.median(np.diff(rows["t"]))) if rows["t"].size > 1 else 0.0
    return float((rows["truth"] == 0).sum()) * hop / 3600.0


def evaluate(config: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    torch.set_num_threads(1)
    start = time.perf_counter()
    bundle = load_bundle(REPO_ROOT / config.get("bundle_dir", "models/rig_baseline"))
    cascade = rig_cascade(bundle)
    specs = plan_runs("test", bool(config.get("quick", False)))
    per_run, all_rows = [], []
    for spec in tqdm(specs, desc="rig held-out runs", unit="run"):
        rows = stream_run(cascade, spec, bundle.window_s, bundle.hop_s,
                          int(config.get("stage2_sample_every", 5)))
        per_run.append(run_metrics(spec, rows))
        all_rows.append(rows)
    summary = summarise(per_run, all_rows)
    summary["seconds"] = round(time.perf_counter() - start, 1)
    summary["synthetic"] = "simulated rig (pm_monitor/sim), not measured data"
    write_report(out_dir, summary)
    (out_dir / "metrics.json").write_text(json.dumps(summary, indent=1) + "\n")
    return {k: v for k, v in summary.items() if k != "runs"}


train = evaluate


def summarise(per_run: list[dict[str, Any]], all_rows: list[dict[str, np.ndarray]]
              ) -> dict[str, Any]:
    hours = sum(r["normal_hours"] for r in per_run)

    def values(key: str) -> np.ndarray:
        return np.array([r[key] for r in per_run if r.get(key) is not None], dtype=np.float64)

    total = np.concatenate([r["total_ms"] for r in all_rows])
    ran = np.concatenate([r["stage2_ran"] for r in all_rows]).astype(bool)
    stage2 = np.concatenate([r["stage2_ms"] for r in all_rows])
    skipped_cost = stage2[~ran & np.isfinite(stage2)]
    gated = float(total.mean())
    ungated = gated + (float(skipped_cost.mean()) * float((~ran).mean()) if skipped_cost.size
                       else 0.0)
    errors = np.concatenate([r["hotspot_err"][np.isfinite(r["hotspot_err"])] for r in all_rows])
    healthy = [r for r in per_run if "healthy" in r["run"]]
    healthy_hours = sum(r["normal_hours"] for r in healthy)
    out: dict[str, Any] = {
        "normal_hours": hours,
        "healthy_run_hours": healthy_hours,
        "false_alarms_per_hour_healthy_runs_stage1": (
            sum(r["false_alarms_stage1"] for r in healthy) / healthy_hours
            if healthy_hours else None),
        "false_alarms_per_hour_healthy_runs_anomaly": (
            sum(r["false_alarms_anomaly"] for r in healthy) / healthy_hours
            if healthy_hours else None),
        "false_alarms_per_hour_stage1": float(values("false_alarms_stage1").sum() / hours),
        "false_alarms_per_hour_anomaly": float(values("false_alarms_anomaly").sum() / hours),
        "hotspot_error_px": {"median": float(np.median(errors)) if errors.size else None,
                             "p95": float(np.quantile(errors, 0.95)) if errors.size else None,
                             "windows": int(errors.size)},
        "cascade_ms_per_window": {"with_gating": gated, "without_gating": ungated,
                                  "stage1_path_only": float(total[~ran].mean())
                                  if (~ran).any() else None,
                                  "stage2_share_of_windows": float(ran.mean()),
                                  "stage2_ms_mean_when_skipped": float(skipped_cost.mean())
                                  if skipped_cost.size else None,
                                  "saving_fraction": 1.0 - gated / ungated if ungated else None},
        "runs": per_run,
    }
    for key in ("delay_after_onset_stage1_s", "delay_after_onset_anomaly_s",
                "delay_after_pre_warning_stage1_s", "delay_after_pre_warning_anomaly_s"):
        v = values(key)
        out[key] = {"mean": float(v.mean()) if v.size else None,
                    "max": float(v.max()) if v.size else None, "runs": int(v.size)}
    return out


def write_report(out_dir: Path, s: dict[str, Any]) -> None:
    cost = s["cascade_ms_per_window"]

    def fmt(entry: dict[str, Any]) -> str:
        return "-" if entry["mean"] is None else f"{entry['mean']:.1f} (max {entry['max']:.1f})"

    lines = [
        "# Rig cascade on held-out SIMULATED runs (synthetic data)", "",
        "| measure | value |", "|---|---|",
        f"| detection delay after onset, Stage 1 [s] | {fmt(s['delay_after_onset_stage1_s'])} |",
        f"| detection delay after onset, anomaly [s] | {fmt(s['delay_after_onset_anomaly_s'])} |",
        f"| delay after true Pre-Warning, Stage 1 [s] "
        f"| {fmt(s['delay_after_pre_warning_stage1_s'])} |",
        f"| false alarms per hour of true Normal (all runs), Stage 1 "
        f"| {s['false_alarms_per_hour_stage1']:.1f} |",
        f"| false alarms per hour of true Normal (all runs), anomaly "
        f"| {s['false_alarms_per_hour_anomaly']:.1f} |",
        f"| Normal time observed [h] (healthy runs) | {s['normal_hours']:.2f} "
        f"({s['healthy_run_hours']:.2f}) |",
        f"| false alarms per hour, healthy runs only, Stage 1 / anomaly "
        f"| {_num(s['false_alarms_per_hour_healthy_runs_stage1'])} / "
        f"{_num(s['false_alarms_per_hour_healthy_runs_anomaly'])} |",
        f"| hotspot error median / p95 [px] | {_num(s['hotspot_error_px']['median'])} / "
        f"{_num(s['hotspot_error_px']['p95'])} ({s['hotspot_error_px']['windows']} windows) |",
        f"| ms per window with Stage 1 gating | {cost['with_gating']:.2f} |",
        f"| ms per window, Stage 2 on every window | {cost['without_gating']:.2f} |",
        f"| ms per window when the gate stays shut (Stage 1 path) "
        f"| {_num(cost['stage1_path_only'])} |",
        f"| ms of Stage 2 when it runs (timed on skipped windows) "
        f"| {_num(cost['stage2_ms_mean_when_skipped'])} |",
        f"| Stage 2 ran on | {100 * cost['stage2_share_of_windows']:.1f} % of windows |",
        "", "Onset = the simulated defect starts growing (below the Pre-Warning severity); "
        "negative delays after Pre-Warning: the detector fired before the truth changed state. "
        "An alarm in the last seconds before the true Pre-Warning counts as a false alarm in the "
        "all-runs rate. No debouncing (the alarm manager adds it).",
    ]
    (out_dir / "metrics.md").write_text("\n".join(lines) + "\n")


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
