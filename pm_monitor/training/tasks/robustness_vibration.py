"""Robustness of the shipped vibration models ([P2], [P3]) and of the rig cascade.

    python -m pm_monitor.training.cli evaluate pm_monitor/training/configs/robustness_vibration.yaml

(``train`` = ``evaluate``: nothing is trained; the shipped models of the cwru, femto_states and
fusion tasks are measured, so run those first.) Perturbations, applied to the raw signal before
feature extraction, on the held-out side only:
- additive white Gaussian noise at SNR 30 / 20 / 10 dB (noise power from the clean record's power;
  seeded);
- slow drift over the record (CWRU: ~10 s record; FEMTO: the bearing's whole life): a gain ramp
  1 -> 1 + gain_end, an offset ramp 0 -> offset_end x the record's RMS, and both together;
- a modality missing at inference on the simulated rig: the shipped fusion model with the frame or
  the sensor sequence absent, and the rig cascade (models/rig_baseline) with the accelerometer,
  microphone or thermal camera removed from every window: it keeps deciding and names what is
  missing in every result (``modalities_missing``).
Metrics: CWRU cross-load accuracy (mean of the 4 shipped fold models), FEMTO macro-F1 and
AUROC on the shipped model's held-out bearing, rig state accuracy / macro-F1.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from tqdm import tqdm

from pm_monitor.core.features.bearing_window import BearingWindowConfig, window_features
from pm_monitor.core.model_set.rig import rig_cascade
from pm_monitor.core.models.bundle import load_bundle
from pm_monitor.core.types import ACCEL, MIC, THERMAL
from pm_monitor.datasets import cwru, femto
from pm_monitor.report import metrics
from pm_monitor.sim import RigConfig, RigSimulator
from pm_monitor.training.rig_dataset import rig_window
from pm_monitor.training.run_plan import plan_runs
from pm_monitor.training.tasks import cwru as cwru_task
from pm_monitor.training.tasks import femto_states, fusion_ablation

REPO_ROOT = Path(__file__).resolve().parents[3]
Perturb = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def add_noise(signal: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """signal + white Gaussian noise whose power is the signal's power / 10^(snr/10).

    signal: (n,) or (..., n, channels); the power is taken per channel over everything else."""
    axes = tuple(range(signal.ndim - 1)) if signal.ndim > 1 else None
    power = np.mean(np.square(signal - np.mean(signal, axis=axes)), axis=axes)
    noise = rng.standard_normal(signal.shape) * np.sqrt(power / 10.0 ** (snr_db / 10.0))
    return signal + noise


def drift(signal: np.ndarray, gain_end: float, offset_end: float) -> np.ndarray:
    """Gain 1 -> 1 + gain_end and offset 0 -> offset_end x RMS, linear along axis 0 (time)."""
    n = signal.shape[0]
    ramp = np.linspace(0.0, 1.0, n).reshape((n,) + (1,) * (signal.ndim - 1))
    rms = np.sqrt(np.mean(np.square(signal)))
    return signal * (1.0 + gain_end * ramp) + offset_end * rms * ramp


def perturbations(config: dict[str, Any]) -> dict[str, Perturb | None]:
    out: dict[str, Perturb | None] = {"clean": None}
    for snr in config.get("snr_db", [30, 20, 10]):
        out[f"noise_{snr}dB"] = lambda x, rng, s=float(snr): add_noise(x, s, rng)
    gain, offset = float(config["drift_gain_end"]), float(config["drift_offset_end"])
    out[f"gain_ramp_+{gain:g}"] = lambda x, _rng: drift(x, gain, 0.0)
    out[f"offset_ramp_{offset:g}rms"] = lambda x, _rng: drift(x, 0.0, offset)
    out["gain_and_offset_ramp"] = lambda x, _rng: drift(x, gain, offset)
    return out


# ----------------------------------------------------------------------------- CWRU
def cwru_accuracy(config: dict[str, Any], perturb: Perturb | None, seed: int) -> dict[str, float]:
    """Accuracy of each shipped fold model on its held-out load, perturbed records."""
    models_dir = REPO_ROOT / config.get("cwru_models_dir", "models/cwru")
    records = cwru.list_records()
    result = {}
    for load in cwru_task.LOADS:
        model, scaler, meta = cwru_task.load_shipped(models_dir / f"fold_test{load}hp.pt")
        fcfg = BearingWindowConfig.from_dict(meta["feature_config"])
        window = int(meta["window"])
        feats, labels = [], []
        for record in (r for r in records if r.load_hp == load):
            signal = cwru.load_record(record, ("DE",)).samples[:, 0]
            if perturb is not None:
                signal = perturb(signal, np.random.default_rng([seed, record.record]))
            n = signal.size // window
            windows = signal[: n * window].reshape(n, window, 1)
            feats.append(window_features(windows, cwru.RATE_12K_HZ, record.rpm / 60.0, fcfg))
            labels.append(np.full(n, record.label_id))
        predicted = cwru_task.predict(model, scaler, np.concatenate(feats)).argmax(1)
        truth = np.concatenate(labels)
        result[f"test_{load}hp"] = float(np.mean(predicted == truth))
    result["mean"] = float(np.mean(list(result.values())))
    return result


# ----------------------------------------------------------------------------- FEMTO
def femto_scores(config: dict[str, Any], perturb: Perturb | None, seed: int
                 ) -> dict[str, float]:
    """Shipped FEMTO Stage 1 + anomaly model on its held-out bearing, perturbed snapshots."""
    femto_cfg = _femto_config(config)
    models, meta = femto_states.load_shipped(REPO_ROOT / femto_cfg["models_dir"])
    bearing = femto.load_bearing(meta["test_bearing"])
    acc = bearing.acc_g.astype(np.float64)
    if perturb is not None:
        acc = perturb(acc, np.random.default_rng([seed, 7]))
    fcfg = BearingWindowConfig.from_dict(meta["feature_config"])
    raw = window_features(acc, bearing.fs, bearing.rpm / 60.0, fcfg)
    t_s = bearing.t_s
    data = femto_states.BearingFeatures(
        bearing.name, t_s, femto_states.baseline_relative(raw, int(meta["baseline_snapshots"])),
        femto_states.health_states(t_s, tuple(meta["state_bounds"])))
    out = femto_states.predict_bearing(models, data, femto_cfg)
    m = femto_states.bearing_metrics(data.state, out["probs"].argmax(1), 1 - out["probs"][:, 0],
                                     out["score"], out["anomalous"])
    return {k: m[k] for k in ("macro_f1", "auroc_stage1", "auroc_anomaly", "alarm_rate_normal")}


def _femto_config(config: dict[str, Any]) -> dict[str, Any]:
    from pm_monitor.training.cli import load_config

    return load_config(REPO_ROOT / config.get("femto_config",
                                              "pm_monitor/training/configs/femto_states.yaml"))


# ----------------------------------------------------------------------------- rig
def rig_missing_modality(config: dict[str, Any]) -> dict[str, Any]:
    """The rig cascade with one modality removed from every window of the held-out runs."""
    bundle = load_bundle(REPO_ROOT / config.get("rig_bundle_dir", "models/rig_baseline"))
    specs = plan_runs("test", bool(config.get("rig_quick", False)))
    if config.get("rig_runs"):  # a subset keeps the 4 passes over the runs within minutes
        specs = [s for s in specs if s.name in set(config["rig_runs"])]
        if not specs:
            raise ValueError(f"none of rig_runs {config['rig_runs']} is a held-out rig run")
    stride = int(config.get("rig_window_stride", 2))
    result = {}
    for removed in (None, ACCEL, MIC, THERMAL):
        cascade = rig_cascade(bundle)
        truth_all, pred_all, said = [], [], set()
        for spec in specs:
            cascade.reset()
            simulator = RigSimulator(RigConfig(), spec.schedule, spec.seed)
            for i, t_end in enumerate(np.arange(bundle.window_s, spec.duration_s + 1e-9,
                                                bundle.hop_s)):
                window = rig_window(simulator, float(t_end), bundle.window_s)
                if removed is not None:
                    window = replace(
                        window, streams={k: v for k, v in window.streams.items() if k != removed},
                        frames={k: v for k, v in window.frames.items() if k != removed},
                        missing=(removed,))
                res = cascade.process(window)
                said.update(res.modalities_missing)
                if i % stride == 0:
                    truth_all.append(int(simulator.truth(float(t_end)).state))
                    pred_all.append(int(res.state))
        confusion = metrics.confusion_matrix(np.array(truth_all), np.array(pred_all), 4)
        result["all_modalities" if removed is None else f"without_{removed}"] = {
            "accuracy": metrics.accuracy(confusion), "macro_f1": metrics.macro_f1(confusion),
            "modalities_reported_missing": sorted(said), "windows": len(truth_all)}
    return result


def rig_fusion_missing(config: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    fusion_cfg = _load(config.get("fusion_config", "pm_monitor/training/configs/"
                                  "fusion_ablation.yaml"))
    return fusion_ablation.evaluate(fusion_cfg, out_dir)


def _load(path: str) -> dict[str, Any]:
    from pm_monitor.training.cli import load_config

    return load_config(REPO_ROOT / path)


# ----------------------------------------------------------------------------- entry points
def evaluate(config: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    torch.set_num_threads(1)
    start = time.perf_counter()
    seed = int(config.get("seed", 0))
    summary: dict[str, Any] = {"cwru_accuracy": {}, "femto": {}}
    for name, perturb in tqdm(perturbations(config).items(), desc="perturbations", unit="case"):
        summary["cwru_accuracy"][name] = cwru_accuracy(config, perturb, seed)
        summary["femto"][name] = femto_scores(config, perturb, seed)
    summary["rig_cascade_missing_modality"] = rig_missing_modality(config)
    summary["rig_fusion_missing_modality"] = rig_fusion_missing(config, out_dir)
    summary["seconds"] = round(time.perf_counter() - start, 1)
    write_report(out_dir, summary)
    (out_dir / "metrics.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary


train = evaluate


def write_report(out_dir: Path, s: dict[str, Any]) -> None:
    clean_c = s["cwru_accuracy"]["clean"]["mean"]
    clean_f = s["femto"]["clean"]
    lines = ["# Robustness of the vibration models", "",
             "CWRU: mean accuracy of the 4 shipped cross-load fold models (seed 0). FEMTO: the "
             "shipped Stage 1 / anomaly model on its held-out bearing.", "",
             "| perturbation | CWRU accuracy % | change (points) | FEMTO macro-F1 % | "
             "FEMTO AUROC Stage 1 | FEMTO AUROC AE |", "|---|---|---|---|---|---|"]
    for name, acc in s["cwru_accuracy"].items():
        f = s["femto"][name]
        f1_change = 100 * (f["macro_f1"] - clean_f["macro_f1"])
        lines.append(f"| {name} | {100 * acc['mean']:.2f} | {100 * (acc['mean'] - clean_c):+.2f} | "
                     f"{100 * f['macro_f1']:.1f} ({f1_change:+.1f}) | {f['auroc_stage1']:.3f} | "
                     f"{f['auroc_anomaly']:.3f} |")
    lines += ["", "## A modality missing at inference (simulated rig, synthetic)", "",
              "| model | case | accuracy % | macro-F1 % | reported missing |",
              "|---|---|---|---|---|"]
    for case, m in s["rig_cascade_missing_modality"].items():
        lines.append(f"| rig cascade (Stage 1 BiLSTM) | {case} | {100 * m['accuracy']:.2f} | "
                     f"{100 * m['macro_f1']:.2f} | {', '.join(m['modalities_reported_missing'])} |")
    for case, m in s["rig_fusion_missing_modality"].items():
        if case == "recorded":
            continue
        lines.append(f"| gated fusion (full) | {case} | {100 * m['accuracy']:.2f} | "
                     f"{100 * m['macro_f1']:.2f} | gate mean {m['gate_mean']:.2f} |")
    (out_dir / "metrics.md").write_text("\n".join(lines) + "\n")
    names = list(s["cwru_accuracy"])
    fig, ax = plt.subplots(figsize=(8, 3.6))
    x = np.arange(len(names))
    ax.bar(x - 0.2, [100 * s["cwru_accuracy"][n]["mean"] for n in names], 0.4,
           label="CWRU cross-load accuracy %")
    ax.bar(x + 0.2, [100 * s["femto"][n]["auroc_stage1"] for n in names], 0.4,
           label="FEMTO AUROC Normal-vs-not x 100 (held-out bearing)")
    ax.set_xticks(x, names, rotation=20, fontsize=8)
    ax.set_ylim(0, 130)
    ax.set_yticks(range(0, 101, 20))
    ax.legend(fontsize=8, loc="upper right")
    ax.set_title("Vibration models under noise and drift", fontsize=10)
    fig.tight_layout()
    fig.savefig(out_dir / "robustness.png", dpi=100)
    plt.close(fig)
