"""The [P1] fusion ablation on the SIMULATED multimodal rig (synthetic data, not a machine).

    python -m pm_monitor.training.cli train pm_monitor/training/configs/fusion_ablation.yaml
    python -m pm_monitor.training.cli evaluate pm_monitor/training/configs/fusion_ablation.yaml

Task: the 4 health states at every window that has a thermal frame. Sensor modality = the
accelerometer and microphone features of the live FeatureExtractor (the thermal scalar features
are left out: they belong to the thermal modality) as a sequence of the last ``sequence_length``
windows; thermal modality = the frame, 4x mean-pooled to 30 x 40. Runs are split by run
(run_plan: training / validation / held-out runs with their own seeds and schedules);
standardisation from training runs only. Variants: sensor-only, thermal-only, late fusion
(average of the two unimodal models' probabilities), no attention (gated fusion without
cross-attention), full (cross-attention + gated fusion); five seeds each. Gate mean and the modality
bias B = E[g] - g* (g* = F1_t / (F1_t + F1_s) from the same seed's unimodal models).
The full model of seed 0 is shipped to models/fusion/full.pt; ``evaluate`` reloads it and
also measures it with a modality missing at inference.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from tqdm import tqdm

from pm_monitor.core.explain.gates import modality_bias
from pm_monitor.core.features import FeatureExtractor
from pm_monitor.core.models.fusion import GatedFusionNet, late_fusion, mean_pool_frames
from pm_monitor.core.models.normalization import FeatureScaler
from pm_monitor.core.models.weights import load_weights, save_weights
from pm_monitor.core.types import ACCEL, MIC, HealthState
from pm_monitor.report import metrics
from pm_monitor.sim import RigConfig
from pm_monitor.training.loop import FitConfig, FitHistory, fit
from pm_monitor.training.plots import plot_confusion, plot_learning_curves
from pm_monitor.training.rig_dataset import RunData, feature_config_for, generate_run
from pm_monitor.training.run_plan import RunSpec, plan_runs
from pm_monitor.training.sequences import sequence_indices

REPO_ROOT = Path(__file__).resolve().parents[3]
STATE_NAMES = tuple(s.name.lower() for s in HealthState)
VARIANTS = ("sensor_only", "thermal_only", "late_fusion", "no_attention", "full")
MODEL_NAME = "rig_gated_fusion"
POOL = 4  # thermal frame mean-pooling factor (120 x 160 -> 30 x 40)


@dataclass(frozen=True)
class FusionSet:
    """Rows = windows that carry a thermal frame, in run order."""

    sequences: np.ndarray  # (N, T, D_sensor) standardised
    frames: np.ndarray  # (N, 1, H, W) float32
    state: np.ndarray  # (N,)
    run: np.ndarray  # (N,) run index within its split
    t_end_s: np.ndarray  # (N,)


# ----------------------------------------------------------------------------- rig data
def rig_runs(split: str, config: dict[str, Any]) -> list[RunData]:
    """Simulated runs of one split, cached as npz under results/tmp/rig_runs/ (seeded, so the
    cache holds exactly what a fresh simulation would give)."""
    quick = bool(config.get("quick", False))
    window_s, hop_s = float(config["window_s"]), float(config["hop_s"])
    frame_every = int(config["frame_every"])
    extractor = FeatureExtractor(feature_config_for(RigConfig()))
    cache_dir = REPO_ROOT / "results/tmp/rig_runs"
    cache_dir.mkdir(parents=True, exist_ok=True)
    runs = []
    for spec in tqdm(plan_runs(split, quick), desc=f"rig {split} runs", unit="run"):
        path = cache_dir / f"{spec.name}_{spec.seed}_{window_s}_{hop_s}_{frame_every}.npz"
        if path.is_file():
            runs.append(_load_run(path, spec))
            continue
        data = generate_run(spec, extractor, window_s, hop_s, frame_every, thermal_scale_k=5.0)
        np.savez(path, **{k: getattr(data, k) for k in _RUN_ARRAYS})
        runs.append(data)
    return runs


_RUN_ARRAYS = ("t_end_s", "features", "present", "state", "fault_type", "severity", "rul_s",
               "frame_index", "frames", "location")


def _load_run(path: Path, spec: RunSpec) -> RunData:
    with np.load(path) as z:
        return RunData(spec=spec, **{k: z[k] for k in _RUN_ARRAYS})


def sensor_columns() -> np.ndarray:
    """Feature columns of the sensor modality (accelerometer axes and microphone)."""
    extractor = FeatureExtractor(feature_config_for(RigConfig()))
    cols = [np.arange(extractor.n_features)[extractor.sensor_slice(g)]
            for g in extractor.sensor_groups if extractor.modality_of_sensor(g) in (ACCEL, MIC)]
    return np.concatenate(cols)


def fit_scaler(runs: list[RunData]) -> FeatureScaler:
    cols = sensor_columns()
    return FeatureScaler.fit(np.concatenate([r.features[:, cols] for r in runs]),
                             np.concatenate([r.present[:, cols] for r in runs]))


def fusion_set(runs: list[RunData], scaler: FeatureScaler, length: int) -> FusionSet:
    cols = sensor_columns()
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("seq", "frames", "state", "run", "t")}
    for i, r in enumerate(runs):
        z = scaler.standardise(r.features[:, cols], r.present[:, cols])
        seq = z[sequence_indices(len(r), length)][r.frame_index]
        frames = r.frames.astype(np.float32)
        n = frames.shape[0]
        pooled = mean_pool_frames(frames, POOL)
        parts["seq"].append(seq)
        parts["frames"].append(pooled[:, None])
        parts["state"].append(r.state[r.frame_index])
        parts["run"].append(np.full(n, i))
        parts["t"].append(r.t_end_s[r.frame_index])
    cat = {k: np.concatenate(v) for k, v in parts.items()}
    return FusionSet(cat["seq"].astype(np.float32), cat["frames"].astype(np.float32),
                     cat["state"].astype(np.int64), cat["run"], cat["t"])


def build_sets(config: dict[str, Any]) -> tuple[dict[str, FusionSet], FeatureScaler]:
    runs = {split: rig_runs(split, config) for split in ("train", "val", "test")}
    scaler = fit_scaler(runs["train"])
    length = int(config["sequence_length"])
    return {split: fusion_set(r, scaler, length) for split, r in runs.items()}, scaler


# ----------------------------------------------------------------------------- models
def _tensors(data: FusionSet) -> tuple[torch.Tensor, ...]:
    return (torch.from_numpy(data.sequences), torch.from_numpy(data.frames),
            torch.from_numpy(data.state))


def train_variant(mode: str, sets: dict[str, FusionSet], config: dict[str, Any],
                  seed: int) -> tuple[GatedFusionNet, FitHistory]:
    torch.manual_seed(seed)
    model = GatedFusionNet(sets["train"].sequences.shape[2], len(STATE_NAMES), mode,
                           **config.get("model", {}))
    counts = np.bincount(sets["train"].state, minlength=len(STATE_NAMES)).astype(np.float64)
    weights = torch.tensor(1.0 / np.sqrt(np.maximum(counts, 1.0)), dtype=torch.float32)
    weights = weights / weights.mean()

    def loss_fn(net: torch.nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return F.cross_entropy(net(batch[0], batch[1]).logits, batch[2], weight=weights)

    history = fit(model, _tensors(sets["train"]), _tensors(sets["val"]), loss_fn,
                  FitConfig(seed=seed, **config.get("fit", {})), name=mode, log=lambda _m: None)
    return model, history


def predict(model: GatedFusionNet, data: FusionSet, sensor_present: bool = True,
            thermal_present: bool = True, batch_size: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities (N, C), gate (N,)); a missing modality is zeroed AND flagged absent."""
    model.eval()
    probs, gates = [], []
    with torch.no_grad():
        for first in range(0, len(data.state), batch_size):
            seq = torch.from_numpy(data.sequences[first:first + batch_size])
            frame = torch.from_numpy(data.frames[first:first + batch_size])
            n = seq.shape[0]
            if not sensor_present:
                seq = torch.zeros_like(seq)
            if not thermal_present:
                frame = torch.zeros_like(frame)
            out = model(seq, frame, torch.full((n,), sensor_present),
                        torch.full((n,), thermal_present))
            probs.append(torch.softmax(out.logits, -1).numpy())
            gates.append(out.gate.numpy())
    return np.concatenate(probs), np.concatenate(gates)


def scores(truth: np.ndarray, probs: np.ndarray) -> dict[str, float]:
    confusion = metrics.confusion_matrix(truth, probs.argmax(1), len(STATE_NAMES))
    return {"accuracy": metrics.accuracy(confusion), "macro_f1": metrics.macro_f1(confusion),
            "auroc_not_normal": metrics.auroc(1.0 - probs[:, 0], truth > 0)}


# ----------------------------------------------------------------------------- train / evaluate
def train(config: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    torch.set_num_threads(1)
    start = time.perf_counter()
    sets, scaler = build_sets(config)
    test = sets["test"]
    seeds = [int(s) for s in config.get("seeds", [0, 1, 2, 3, 4])]
    runs: list[dict[str, Any]] = []
    for seed in tqdm(seeds, desc="fusion ablation seeds", unit="seed"):
        probs, gates, trained, histories = {}, {}, {}, {}
        for mode in ("sensor_only", "thermal_only", "no_attention", "full"):
            trained[mode], histories[mode] = train_variant(mode, sets, config, seed)
            probs[mode], gates[mode] = predict(trained[mode], test)
        probs["late_fusion"] = late_fusion(probs["sensor_only"], probs["thermal_only"])
        f1_s = scores(test.state, probs["sensor_only"])["macro_f1"]
        f1_t = scores(test.state, probs["thermal_only"])["macro_f1"]
        for variant in VARIANTS:
            row = {"seed": seed, "variant": variant, **scores(test.state, probs[variant])}
            if variant in ("no_attention", "full"):
                row.update(gate_statistics(gates[variant], f1_t, f1_s))
            runs.append(row)
        if seed == seeds[0]:
            ship(trained["full"], scaler, config, runs[-1])
            plot_learning_curves(histories, out_dir / "learning_curves.png")
            confusion = metrics.confusion_matrix(test.state, probs["full"].argmax(1),
                                                 len(STATE_NAMES))
            plot_confusion(confusion, STATE_NAMES, "full fusion, held-out rig runs, seed 0",
                           out_dir / "confusion_full.png")
            gate_by_state = {name: float(gates["full"][test.state == i].mean())
                             for i, name in enumerate(STATE_NAMES) if (test.state == i).any()}
    summary = summarise(runs)
    summary["gate_by_state_full_seed0"] = gate_by_state
    summary["windows"] = {split: len(s.state) for split, s in sets.items()}
    summary["seconds"] = round(time.perf_counter() - start, 1)
    summary["synthetic"] = "simulated rig (pm_monitor/sim), not measured data"
    write_report(out_dir, summary)
    (out_dir / "metrics.json").write_text(json.dumps(summary, indent=1) + "\n")
    return {k: v for k, v in summary.items() if k != "runs"}


def gate_statistics(gate: np.ndarray, f1_thermal: float, f1_sensor: float) -> dict[str, float]:
    """The [P1] gate statistics of one variant on the test set: E[g], its spread, g* from
    the unimodal F1 scores and B = E[g] - g* for the thermal branch (core.explain.gates)."""
    bias = modality_bias(np.asarray(gate), ("thermal", "sensor"),
                         {"thermal": f1_thermal, "sensor": f1_sensor})
    return {"gate_mean": bias.mean_gate["thermal"],
            "gate_std": float(np.asarray(gate, np.float64).std()),
            "g_star": bias.ideal_gate["thermal"], "bias": bias.bias["thermal"]}


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    table = {}
    for variant in VARIANTS:
        rows = [r for r in runs if r["variant"] == variant]
        entry = {}
        for key in ("accuracy", "macro_f1", "auroc_not_normal", "gate_mean", "bias"):
            if key in rows[0]:
                values = np.array([r[key] for r in rows], dtype=np.float64)
                entry[key] = {"mean": float(values.mean()), "std": float(values.std())}
        table[variant] = entry
    return {"variants": table, "n_seeds": len({r["seed"] for r in runs}), "runs": runs}


def ship(model: GatedFusionNet, scaler: FeatureScaler, config: dict[str, Any],
         row: dict[str, Any]) -> None:
    save_weights(
        model, REPO_ROOT / config.get("models_dir", "models/fusion") / "full.pt",
        model_name=MODEL_NAME,
        hyperparameters={"n_features": int(scaler.mean.size), "n_classes": len(STATE_NAMES),
                         "mode": "full", **config.get("model", {})},
        data="SIMULATED rig (pm_monitor/sim), run_plan train/val/test runs",
        split="by run: training runs / validation runs / held-out runs (own seeds, schedules)",
        metrics={k: v for k, v in row.items() if k not in ("seed", "variant")},
        extra={"state_names": STATE_NAMES, "scaler_mean": scaler.mean, "scaler_std": scaler.std,
               "sequence_length": int(config["sequence_length"]), "thermal_pool": POOL,
               "window_s": float(config["window_s"]), "hop_s": float(config["hop_s"]),
               "sensor_columns": sensor_columns().tolist(),
               "feature_config": feature_config_for(RigConfig()).to_dict()})


def load_shipped(path: Path) -> tuple[GatedFusionNet, dict[str, Any]]:
    model, meta = load_weights(GatedFusionNet, path, expected_model=MODEL_NAME)
    return model, meta


def evaluate(config: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    """The shipped full model on the held-out runs, with every modality and with one missing."""
    torch.set_num_threads(1)
    model, meta = load_shipped(REPO_ROOT / config.get("models_dir", "models/fusion") / "full.pt")
    sets, _ = build_sets(config)
    test = sets["test"]
    result: dict[str, Any] = {}
    for name, sensor, thermal in (("all_modalities", True, True), ("without_thermal", True, False),
                                  ("without_sensor", False, True)):
        probs, gate = predict(model, test, sensor, thermal)
        result[name] = {**scores(test.state, probs), "gate_mean": float(gate.mean())}
    result["recorded"] = meta["metrics"]
    (out_dir / "evaluate.json").write_text(json.dumps(result, indent=1) + "\n")
    return result


def write_report(out_dir: Path, summary: dict[str, Any]) -> None:
    def pm(entry: dict[str, Any], key: str, scale: float = 100.0) -> str:
        if key not in entry:
            return "-"
        return f"{scale * entry[key]['mean']:.2f} +- {scale * entry[key]['std']:.2f}"

    lines = ["# Fusion ablation (the cascade paper [P1]) on the SIMULATED rig",
             "", "Synthetic data: the rig simulator, not a real machine. Held-out runs; "
             f"{summary['n_seeds']} seeds, mean +- std.", "",
             "| variant | accuracy % | macro-F1 % | AUROC not-Normal | gate mean E[g] | "
             "bias B = E[g] - g* |", "|---|---|---|---|---|---|"]
    for variant, entry in summary["variants"].items():
        lines.append(f"| {variant} | {pm(entry, 'accuracy')} | {pm(entry, 'macro_f1')} | "
                     f"{pm(entry, 'auroc_not_normal', 1.0)} | {pm(entry, 'gate_mean', 1.0)} | "
                     f"{pm(entry, 'bias', 1.0)} |")
    lines += ["", "Gate (weight on thermal) of the full model by true state, seed 0: "
              + ", ".join(f"{k} {v:.2f}" for k, v in summary["gate_by_state_full_seed0"].items())]
    (out_dir / "metrics.md").write_text("\n".join(lines) + "\n")
    fig, ax = plt.subplots(figsize=(7, 3.6))
    table = summary["variants"]
    means = [100 * table[v]["macro_f1"]["mean"] for v in VARIANTS]
    stds = [100 * table[v]["macro_f1"]["std"] for v in VARIANTS]
    ax.bar(VARIANTS, means, yerr=stds, capsize=4, color="tab:blue")
    for i, m in enumerate(means):
        ax.text(i, m + 1, f"{m:.1f}", ha="center", fontsize=8)
    ax.set_ylabel("macro-F1 % (held-out runs)")
    ax.set_ylim(0, 105)
    ax.set_title("Fusion ablation on the simulated rig (synthetic)", fontsize=10)
    fig.tight_layout()
    fig.savefig(out_dir / "ablation.png", dpi=100)
    plt.close(fig)


def write_fixture(path: Path, config: dict[str, Any], n: int = 6) -> None:
    """A few held-out rig samples (sequences, pooled frames, states) with the shipped full
    model's probabilities and gates."""
    model, _ = load_shipped(REPO_ROOT / config.get("models_dir", "models/fusion") / "full.pt")
    test = build_sets(config)[0]["test"]
    rows = np.linspace(0, len(test.state) - 1, n).astype(int)
    frames = test.frames[rows].astype(np.float16)  # stored as float16: predict on exactly that
    subset = FusionSet(test.sequences[rows], frames.astype(np.float32), test.state[rows],
                       test.run[rows], test.t_end_s[rows])
    probs, gate = predict(model, subset)
    np.savez_compressed(path, sequences=subset.sequences, frames=frames,
                        state=subset.state, probs=probs, gate=gate)
