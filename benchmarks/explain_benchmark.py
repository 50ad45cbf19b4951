"""Explanation sanity and cost on the shipped rig bundle, simulated rig windows (no ROS).

Prints and writes (results/explain/, JSON + PNG):
* deletion test: drop of the predicted state's probability when the top-k IG sensors are
  removed vs the expectation over random k sensors; "removed" = replaced by the IG baseline
  (the healthy background's mean sequence, or zeros = training mean / missing-sensor imputation)
* Grad-CAM hotspot: inside the failing housing, distance to the simulator's hotspot
* IG completeness error; explain() time per alert (one thread), counterfactual reach rate.
* Grad-CAM memory: resident set size before/after 300 calls on the shipped thermal model
  (the soak run found a leak in the earlier hook-based version).
* asynchronous path (LiveExplainer): time submit() takes in the caller, and the cascade's
  per-window time while the worker explains vs while it is idle (the cost on 2 cores).

    python benchmarks/explain_benchmark.py [--runs 3] [--out results/explain]
"""
from __future__ import annotations

import argparse
import json
import time
from itertools import combinations
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from pm_monitor.core.cascade import Cascade
from pm_monitor.core.explain.background import HealthyBackground
from pm_monitor.core.explain.explainer import Explainer, ExplainerConfig
from pm_monitor.core.explain.live_explainer import LiveExplainer
from pm_monitor.core.features import FeatureExtractor
from pm_monitor.core.models.bundle import load_bundle
from pm_monitor.core.types import HealthState
from pm_monitor.sim import FaultSchedule, RigConfig, RigSimulator, ScheduledFault
from pm_monitor.training.rig_dataset import housing_test, rig_window

ROOT = Path(__file__).resolve().parents[1]
FAULTS = (("outer_race", "de_bearing"), ("inner_race", "nde_bearing"), ("ball", "de_bearing"))


def _probabilities(model, batch: np.ndarray, state: int) -> np.ndarray:
    with torch.no_grad():
        logits = model(torch.from_numpy(np.ascontiguousarray(batch))).state_logits
    return torch.softmax(logits, dim=-1)[:, state].numpy()


def deletion_drops(model, extractor, x, state, ranked, reference, k):
    """(drop when removing the top-k sensors, mean drop over all k-subsets)."""
    subsets = list(combinations(extractor.sensor_groups, k))
    batch = [x]
    for chosen in [tuple(ranked[:k]), *subsets]:
        out = x.copy()
        for sensor in chosen:
            where = extractor.sensor_slice(sensor)
            out[:, where] = reference[:, where]
        batch.append(out)
    p = _probabilities(model, np.stack(batch), state)
    return float(p[0] - p[1]), float(np.mean(p[0] - p[2:]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bundle", default=str(ROOT / "models" / "rig_baseline"))
    parser.add_argument("--runs", type=int, default=3, help="fault runs (of the 3 kinds)")
    parser.add_argument("--every", type=int, default=2, help="explain every n-th alert window")
    parser.add_argument("--out", default=str(ROOT / "results" / "explain"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    bundle = load_bundle(args.bundle)
    extractor = FeatureExtractor(bundle.feature_config)
    background = HealthyBackground(capacity=8, seed=0)
    healthy = RigSimulator(RigConfig(), FaultSchedule((), "healthy"), seed=8_001)
    cascade = Cascade(bundle)
    for i in range(30):
        background.observe(cascade.process(rig_window(healthy, 1.0 + 0.5 * i, bundle.window_s)))
    explainers = {
        "healthy_background": Explainer.from_bundle(bundle, background, thermal_gradcam=True),
        "training_mean": Explainer.from_bundle(bundle, HealthyBackground(),
                                               ExplainerConfig(counterfactual=None)),
    }
    references = {"healthy_background": background.baselines().mean(axis=0),
                  "training_mean": np.zeros_like(background.baselines()[0])}
    inside = housing_test()
    rows = []
    for run in range(args.runs):
        kind, location = FAULTS[run % len(FAULTS)]
        fault = ScheduledFault(kind, location, 5.0, 60.0, 2.0)
        simulator = RigSimulator(RigConfig(), FaultSchedule((fault,), kind), seed=8_100 + run)
        cascade = Cascade(bundle)
        for i in tqdm(range(128), desc=f"run {run} {kind}@{location}"):
            t_end = 1.0 + 0.5 * i
            window = rig_window(simulator, t_end, bundle.window_s)
            result = cascade.process(window)
            if result.state == HealthState.NORMAL or i % args.every:
                continue
            truth = simulator.truth(t_end)
            row = {"run": run, "t_s": t_end, "state": result.state.label}
            for name, explainer in explainers.items():
                start = time.perf_counter()
                explanation = explainer.explain(result, window.frames)
                row[f"{name}.explain_ms"] = (time.perf_counter() - start) * 1e3
                row[f"{name}.ig_rel_error"] = explanation.ig_relative_completeness_error
                ranked = sorted(explanation.sensor_importance,
                                key=explanation.sensor_importance.get, reverse=True)
                for k in (1, 2):
                    top, rand = deletion_drops(explainer.stage1, extractor, result.stage1_input,
                                               int(result.state), ranked, references[name], k)
                    row[f"{name}.top{k}"], row[f"{name}.random{k}"] = top, rand
                if explanation.counterfactual is not None:
                    row["cf_reached"] = explanation.counterfactual.reached_target
                    row["cf_features"] = len(explanation.counterfactual.changes)
                heatmap = explanation.heatmaps.get("thermal")
                if heatmap is not None and name == "healthy_background" and truth.hotspot_px:
                    row["hotspot_inside"] = inside(truth.fault_location, heatmap.hotspot_xy)
                    row["hotspot_error_px"] = float(np.hypot(
                        heatmap.hotspot_xy[0] - truth.hotspot_px[0],
                        heatmap.hotspot_xy[1] - truth.hotspot_px[1]))
            rows.append(row)
    summary = summarise(rows)
    summary["async"] = async_check(bundle, explainers["healthy_background"])
    summary["gradcam_memory"] = gradcam_memory(bundle)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "explain_benchmark.json").write_text(json.dumps({"summary": summary, "rows": rows},
                                                           indent=1))
    plot(rows, out / "deletion_test.png")
    print(json.dumps(summary, indent=1))


def async_check(bundle, explainer: Explainer, windows: int = 60) -> dict:
    """Submit an explanation every 4th window of a fault run; time submit() and process()."""
    done = []
    live = LiveExplainer(explainer, done.append, max_pending=4)
    fault = ScheduledFault("outer_race", "de_bearing", 5.0, 60.0, 2.0)
    simulator = RigSimulator(RigConfig(), FaultSchedule((fault,), "async"), seed=8_200)
    cascade = Cascade(bundle)
    busy, idle, submit_us = [], [], []
    for i in tqdm(range(windows), desc="async"):
        window = rig_window(simulator, 20.0 + 0.5 * i, bundle.window_s)
        working = live.stats().pending > 0 or len(done) < live.stats().submitted
        start = time.perf_counter()
        result = cascade.process(window)
        (busy if working else idle).append((time.perf_counter() - start) * 1e3)
        if i % 4 == 0:
            start = time.perf_counter()
            live.submit(result, f"a{i}", window.frames)
            submit_us.append((time.perf_counter() - start) * 1e6)
    live.wait_idle(120.0)
    live.close()
    stats = live.stats()
    return {"submit_us_median": float(np.median(submit_us)),
            "submit_us_max": float(np.max(submit_us)),
            "process_ms_median_worker_idle": float(np.median(idle)) if idle else None,
            "process_ms_median_worker_busy": float(np.median(busy)) if busy else None,
            "windows_worker_busy": len(busy), "submitted": stats.submitted,
            "completed": stats.completed, "dropped": stats.dropped,
            "explanation_s_max": stats.max_computation_s}


def gradcam_memory(bundle, calls: int = 300) -> dict:
    import gc

    from pm_monitor.core.explain.gradcam import grad_cam
    from pm_monitor.core.models.thermal_resnet import normalise_thermal_frame

    fault = ScheduledFault("outer_race", "de_bearing", 5.0, 45.0, 2.0)
    simulator = RigSimulator(RigConfig(), FaultSchedule((fault,), "memory"), seed=8_300)
    image = torch.from_numpy(normalise_thermal_frame(simulator.thermal(40.0),
                                                     bundle.thermal_scale_k))[None, None]

    def rss_mb() -> float:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * 4096 / 1e6

    for _ in range(20):  # warm-up: allocator pools, lazy init
        grad_cam(bundle.thermal, bundle.thermal.gradcam_layer, image, candidates=[1, 2])
    gc.collect()
    before, start = rss_mb(), time.perf_counter()
    for _ in range(calls):
        grad_cam(bundle.thermal, bundle.thermal.gradcam_layer, image, candidates=[1, 2])
    elapsed = time.perf_counter() - start
    gc.collect()
    after = rss_mb()
    return {"calls": calls, "rss_before_mb": before, "rss_after_mb": after,
            "kb_per_call": (after - before) * 1000 / calls, "ms_per_call": elapsed * 1e3 / calls}


def summarise(rows: list[dict]) -> dict:
    def mean(key):
        values = [r[key] for r in rows if key in r]
        return float(np.mean(values)) if values else None

    summary = {"windows_explained": len(rows)}
    for name in ("healthy_background", "training_mean"):
        for k in (1, 2):
            top = np.array([r[f"{name}.top{k}"] for r in rows])
            rand = np.array([r[f"{name}.random{k}"] for r in rows])
            summary[f"{name}.deletion_k{k}"] = {
                "mean_drop_top": float(top.mean()), "mean_drop_random": float(rand.mean()),
                "windows_top_ge_random": float(np.mean(top >= rand))}
        times = np.array([r[f"{name}.explain_ms"] for r in rows])
        summary[f"{name}.explain_ms"] = {"median": float(np.median(times)),
                                         "p95": float(np.percentile(times, 95))}
        summary[f"{name}.ig_rel_error_median"] = float(np.median(
            [r[f"{name}.ig_rel_error"] for r in rows]))
    summary["hotspot_inside_failing_housing"] = mean("hotspot_inside")
    errors = [r["hotspot_error_px"] for r in rows if "hotspot_error_px" in r]
    summary["hotspot_error_px_median"] = float(np.median(errors)) if errors else None
    summary["counterfactual_reached"] = mean("cf_reached")
    return summary


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), constrained_layout=True)
    labels, tops, rands = [], [], []
    for name, label in (("healthy_background", "IG vs healthy\n(removed = healthy)"),
                        ("training_mean", "IG vs training mean\n(removed = missing)")):
        for k in (1, 2):
            labels.append(f"{label}\nk={k}")
            tops.append(np.mean([r[f"{name}.top{k}"] for r in rows]))
            rands.append(np.mean([r[f"{name}.random{k}"] for r in rows]))
    x = np.arange(len(labels))
    ax.bar(x - 0.2, tops, 0.4, label="top-k IG sensors removed", color="#d62728")
    ax.bar(x + 0.2, rands, 0.4, label="random k sensors removed (expectation)", color="#7f7f7f")
    ax.set_xticks(x, labels, fontsize=8)
    ax.set_ylabel("drop of the predicted state's probability")
    ax.set_title(f"Deletion test, shipped rig bundle, {len(rows)} alert windows")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
