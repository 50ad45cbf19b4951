"""Shapley sensor attributions on the shipped rig bundle: cost, agreement with integrated
gradients, deletion test, and why the exact value rather than captum's sampling.

On not-Normal windows of simulated fault runs (seeds of our own), with the healthy background's
mean sequence as the reference of every method:
* time per call of `sensor_shapley` (exact, sensors + modalities) and of captum's
  ShapleyValueSampling / KernelShap at several budgets, and their Spearman rank correlation
  with the exact sensor values (signed);
* agreement with integrated gradients on the same window and reference: Spearman rank
  correlation of the signed per-sensor sums and of the magnitudes, top-1 sensor agreement;
* deletion test (as benchmarks/explain_benchmark.py): drop of the explained state's
  probability when the top-k sensors by |phi| (or by |IG|) are replaced by the reference, vs
  the mean over all k-subsets.

    PYTHONPATH=$PWD python benchmarks/shapley_benchmark.py [--runs 3] [--every 3]
Writes results/explain_shapley/shapley_benchmark.json, .md and agreement.png.
"""
from __future__ import annotations

import argparse
import json
import time
from itertools import combinations
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from captum.attr import ShapleyValueSampling
from scipy.stats import spearmanr
from tqdm import tqdm

from pm_monitor.core.cascade import Cascade
from pm_monitor.core.explain.attribution import SensorLayout, integrated_gradients
from pm_monitor.core.explain.background import HealthyBackground
from pm_monitor.core.explain.shapley import player_masks, sensor_shapley
from pm_monitor.core.features import FeatureExtractor
from pm_monitor.core.models.bundle import load_bundle
from pm_monitor.core.types import HealthState
from pm_monitor.sim import FaultSchedule, RigConfig, RigSimulator, ScheduledFault
from pm_monitor.training.rig_dataset import rig_window

ROOT = Path(__file__).resolve().parents[1]
FAULTS = (("outer_race", "de_bearing"), ("inner_race", "nde_bearing"), ("ball", "de_bearing"))
SAMPLING_BUDGETS = (5, 10, 25)  # permutations (ShapleyValueSampling)


def probabilities(model, batch: np.ndarray, state: int) -> np.ndarray:
    with torch.no_grad():
        logits = model(torch.from_numpy(np.ascontiguousarray(batch))).state_logits
    return torch.softmax(logits, -1)[:, state].numpy()


def deletion(model, layout: SensorLayout, x, state, ranked, reference, k) -> tuple[float, float]:
    """(drop removing the top-k sensors, mean drop over every k-subset)."""
    batch = [x]
    for chosen in [tuple(ranked[:k]), *combinations(layout.sensors, k)]:
        out = x.copy()
        for sensor in chosen:
            out[:, layout.sensor_slices[sensor]] = reference[:, layout.sensor_slices[sensor]]
        batch.append(out)
    p = probabilities(model, np.stack(batch), state)
    return float(p[0] - p[1]), float(np.mean(p[0] - p[2:]))


def captum_values(method_cls, model, x, ref, state, mask, n, budget, **kwargs):
    start = time.perf_counter()
    with torch.no_grad():
        torch.manual_seed(0)
        phi = method_cls(lambda z: model(z).state_logits).attribute(
            torch.from_numpy(x)[None], baselines=torch.from_numpy(ref)[None], target=state,
            feature_mask=mask, n_samples=budget, perturbations_per_eval=n, **kwargs)
    ms = (time.perf_counter() - start) * 1e3
    return [float(phi[mask == i][0]) for i in range(n)], ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bundle", default=str(ROOT / "models" / "rig_baseline"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--every", type=int, default=3, help="every n-th not-Normal window")
    parser.add_argument("--out", default=str(ROOT / "results" / "explain_shapley"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    bundle = load_bundle(args.bundle)
    layout = SensorLayout.from_extractor(FeatureExtractor(bundle.feature_config))
    model = bundle.stage1.eval()
    background = HealthyBackground(capacity=8, seed=0)
    healthy = RigSimulator(RigConfig(), FaultSchedule((), "healthy"), seed=8_001)
    cascade = Cascade(bundle)
    for i in range(30):
        background.observe(cascade.process(rig_window(healthy, 1.0 + 0.5 * i, bundle.window_s)))
    reference = background.baselines().mean(axis=0)
    sensor_mask, _, sensors, _ = player_masks(layout, reference.shape[0])
    rows = []
    for run in range(args.runs):
        kind, location = FAULTS[run % len(FAULTS)]
        fault = ScheduledFault(kind, location, 5.0, 60.0, 2.0)
        simulator = RigSimulator(RigConfig(), FaultSchedule((fault,), kind), seed=8_400 + run)
        cascade = Cascade(bundle)
        seen = 0
        for i in tqdm(range(128), desc=f"run {run} {kind}@{location}"):
            result = cascade.process(rig_window(simulator, 1.0 + 0.5 * i, bundle.window_s))
            if result.state == HealthState.NORMAL:
                continue
            seen += 1
            if seen % args.every:
                continue
            x, state = result.stage1_input, int(result.state)
            start = time.perf_counter()
            exact = sensor_shapley(model, x, state, layout, reference)
            row = {"run": run, "t_s": 1.0 + 0.5 * i, "state": result.state.label,
                   "shapley_ms": (time.perf_counter() - start) * 1e3,
                   "efficiency_error": exact.efficiency_error,
                   "shapley": exact.sensors, "shapley_modalities": exact.modalities}
            start = time.perf_counter()
            ig = integrated_gradients(model, x, state, reference[None], 32)
            row["ig_ms"] = (time.perf_counter() - start) * 1e3
            ig_sensor = {s: float(ig.values[:, layout.sensor_slices[s]].sum()) for s in sensors}
            row["ig"] = ig_sensor
            phi = np.array([exact.sensors[s] for s in sensors])
            ig_values = np.array([ig_sensor[s] for s in sensors])
            row["spearman_signed"] = float(spearmanr(phi, ig_values).statistic)
            row["spearman_abs"] = float(spearmanr(np.abs(phi), np.abs(ig_values)).statistic)
            row["top1_same"] = bool(np.argmax(np.abs(phi)) == np.argmax(np.abs(ig_values)))
            by_ig = [sensors[j] for j in np.argsort(-np.abs(ig_values))]
            for k in (1, 2):
                top, rand = deletion(model, layout, x, state, exact.ranked_sensors(), reference,
                                     k)
                row[f"shapley_top{k}"], row[f"random{k}"] = top, rand
                row[f"ig_top{k}"] = deletion(model, layout, x, state, by_ig, reference, k)[0]
            for budget in SAMPLING_BUDGETS:
                values, ms = captum_values(ShapleyValueSampling, model, x, reference, state,
                                           sensor_mask, len(sensors), budget)
                row[f"sampling{budget}_ms"] = ms
                row[f"sampling{budget}_spearman"] = float(spearmanr(values, phi).statistic)
            rows.append(row)
    summary = summarise(rows)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "shapley_benchmark.json").write_text(json.dumps({"summary": summary, "rows": rows},
                                                           indent=1))
    (out / "shapley_benchmark.md").write_text(markdown(summary))
    plot(rows, sensors, out / "agreement.png")
    print(json.dumps(summary, indent=1))


def summarise(rows: list[dict]) -> dict:
    def stats(key: str) -> dict:
        values = np.array([r[key] for r in rows], float)
        values = values[np.isfinite(values)]
        return {"median": float(np.median(values)), "p95": float(np.percentile(values, 95)),
                "mean": float(values.mean()), "n": int(values.size)}

    summary = {"windows": len(rows), "shapley_ms": stats("shapley_ms"), "ig_ms": stats("ig_ms"),
               "efficiency_error_max": float(max(r["efficiency_error"] for r in rows)),
               "spearman_signed_vs_ig": stats("spearman_signed"),
               "spearman_abs_vs_ig": stats("spearman_abs"),
               "top1_same_as_ig": float(np.mean([r["top1_same"] for r in rows]))}
    for k in (1, 2):
        summary[f"deletion_k{k}"] = {
            "shapley_top": float(np.mean([r[f"shapley_top{k}"] for r in rows])),
            "ig_top": float(np.mean([r[f"ig_top{k}"] for r in rows])),
            "random": float(np.mean([r[f"random{k}"] for r in rows])),
            "shapley_top_beats_random": float(np.mean(
                [r[f"shapley_top{k}"] >= r[f"random{k}"] for r in rows])),
            "shapley_top_beats_ig_top": float(np.mean(
                [r[f"shapley_top{k}"] >= r[f"ig_top{k}"] - 1e-9 for r in rows]))}
    for budget in SAMPLING_BUDGETS:
        summary[f"captum_sampling_{budget}_permutations"] = {
            "ms": stats(f"sampling{budget}_ms"), "spearman_vs_exact": stats(
                f"sampling{budget}_spearman")}
    return summary


def markdown(s: dict) -> str:
    signed, magnitude = s["spearman_signed_vs_ig"], s["spearman_abs_vs_ig"]
    lines = [f"# Shapley sensor attributions, {s['windows']} not-Normal rig windows", "",
             "| measure | value |", "|---|---|",
             f"| exact Shapley (sensors + modalities), ms median / p95 | "
             f"{s['shapley_ms']['median']:.1f} / {s['shapley_ms']['p95']:.1f} |",
             f"| integrated gradients (same reference, 32 steps), ms median / p95 | "
             f"{s['ig_ms']['median']:.1f} / {s['ig_ms']['p95']:.1f} |",
             f"| efficiency error, max | {s['efficiency_error_max']:.1e} |",
             f"| Spearman vs IG, signed per-sensor sums, median (mean) | "
             f"{signed['median']:.2f} ({signed['mean']:.2f}) |",
             f"| Spearman vs IG, magnitudes, median (mean) | "
             f"{magnitude['median']:.2f} ({magnitude['mean']:.2f}) |",
             f"| same top-1 sensor as IG | {100 * s['top1_same_as_ig']:.0f} % |"]
    for k in (1, 2):
        d = s[f"deletion_k{k}"]
        lines.append(f"| deletion k={k}: drop of p(state), Shapley top / IG top / random | "
                     f"{d['shapley_top']:.3f} / {d['ig_top']:.3f} / {d['random']:.3f} "
                     f"(Shapley top >= random in {100 * d['shapley_top_beats_random']:.0f} %) |")
    for key, value in s.items():
        if key.startswith("captum_"):
            lines.append(f"| {key}: ms median, Spearman vs exact median (mean) | "
                         f"{value['ms']['median']:.1f}, "
                         f"{value['spearman_vs_exact']['median']:.2f} "
                         f"({value['spearman_vs_exact']['mean']:.2f}) |")
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], sensors: list[str], path: Path) -> None:
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    phi = np.array([[r["shapley"][s] for s in sensors] for r in rows])
    ig = np.array([[r["ig"][s] for s in sensors] for r in rows])
    for j, sensor in enumerate(sensors):
        axes[0].scatter(ig[:, j], phi[:, j], s=10, label=sensor)
    lim = np.abs(np.concatenate([phi.ravel(), ig.ravel()])).max() * 1.05
    axes[0].plot([-lim, lim], [-lim, lim], color="grey", linestyle=":")
    axes[0].set_xlabel("integrated gradients, per-sensor sum")
    axes[0].set_ylabel("Shapley value (exact)")
    axes[0].set_title("same windows, same reference (healthy mean)", fontsize=9)
    axes[0].legend(fontsize=7)
    axes[1].hist([r["spearman_signed"] for r in rows], bins=np.linspace(-1, 1, 11))
    axes[1].set_xlabel("Spearman rank correlation Shapley vs IG (signed), per window")
    keys = [("shapley_top", "Shapley top-k"), ("ig_top", "IG top-k"), ("random", "random k")]
    width = 0.25
    for i, (key, label) in enumerate(keys):
        axes[2].bar(np.arange(2) + i * width,
                    [np.mean([r[f"{key}{k}"] for r in rows]) for k in (1, 2)], width,
                    label=label)
    axes[2].set_xticks(np.arange(2) + width, ["k = 1", "k = 2"])
    axes[2].set_ylabel("mean drop of p(explained state)")
    axes[2].set_title("deletion test (removed = healthy mean)", fontsize=9)
    axes[2].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


if __name__ == "__main__":
    main()
