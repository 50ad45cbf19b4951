"""CWRU 10-class fault type, cross-load: train on three motor loads, test on the fourth.

    python -m pm_monitor.training.cli train pm_monitor/training/configs/cwru.yaml
    python -m pm_monitor.training.cli evaluate pm_monitor/training/configs/cwru.yaml

Split (shared/data/cwru/README.md): the record is the unit; one record = one (class, load), so a
cross-load split never puts a record on both sides. Inside the training loads, the last
``val_fraction`` of every record (after a gap of one window) is the validation block used for
early stopping; training windows (hop ``train_hop``, overlapping) come only from before the gap.
Feature standardisation uses training windows only. Test windows do not overlap (hop = window).
Only the drive-end channel is used (NORMAL at 1 and 3 HP has no other) and always at 12 kHz
(the derived 12 kHz copies of the 48 kHz NORMAL records; rates are never mixed).

2 HP fold: NORMAL record 99 does not exist, so that fold trains the same 10-way model (NORMAL
from 0, 1 and 3 HP) and tests on the 9 fault classes only; a fault window predicted NORMAL
counts as an error, and macro-F1 averages over the 9 classes present in the test set.

``train`` runs all four folds for every seed, writes results/cwru/ (metrics JSON, markdown,
confusion matrices, learning curves, envelope-spectrum check) and ships the seed-0 model of every
fold to models/cwru/fold_test<load>hp.pt. ``evaluate`` reloads the shipped models and recomputes
their test metrics.
"""
from __future__ import annotations

import hashlib
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

from pm_monitor.core.features.bearing_window import (
    FEATURE_VERSION,
    BearingWindowConfig,
    defect_hz,
    envelope_spectrum_of,
    feature_names,
    window_features,
)
from pm_monitor.core.models.normalization import FeatureScaler
from pm_monitor.core.models.vibration_classifier import (
    MODEL_NAME,
    ShippedFaultClassifier,
    VibrationMLP,
    predict_proba,
)
from pm_monitor.core.models.weights import save_weights
from pm_monitor.datasets import cwru
from pm_monitor.report import metrics
from pm_monitor.training.loop import FitConfig, FitHistory, fit
from pm_monitor.training.plots import plot_learning_curves

REPO_ROOT = Path(__file__).resolve().parents[3]
LOADS = (0, 1, 2, 3)


@dataclass(frozen=True)
class RecordWindows:
    """Every window (hop = train_hop) of one record with its features."""

    record: int
    label_id: int
    load_hp: int
    starts: np.ndarray  # (N,) first sample of each window
    n_samples: int
    features: np.ndarray  # (N, F)


@dataclass(frozen=True)
class Split:
    """Rows of the stacked windows for one fold."""

    test_load: int
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def feature_config(config: dict[str, Any]) -> BearingWindowConfig:
    return BearingWindowConfig.from_dict(config.get("features", {}))


def class_names() -> tuple[str, ...]:
    names = {r.label_id: r.label for r in cwru.list_records()}
    return tuple(names[i] for i in range(len(names)))


# ----------------------------------------------------------------------------- data and split
def load_windows(config: dict[str, Any], cache_dir: Path | None = None,
                 records: list[cwru.CwruRecord] | None = None) -> list[RecordWindows]:
    """Features of every window of every record, cached under results/tmp/ by config hash."""
    window, hop = int(config["window"]), int(config["train_hop"])
    fcfg = feature_config(config)
    records = records if records is not None else cwru.list_records()
    identity = [FEATURE_VERSION, window, hop, fcfg.to_dict(), [r.record for r in records]]
    key = hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()
                         ).hexdigest()[:12]
    cache = (cache_dir or REPO_ROOT / "results/tmp") / f"cwru_features_{key}.npz"
    if cache.is_file():
        with np.load(cache) as z:
            return [RecordWindows(int(r.record), r.label_id, r.load_hp, z[f"starts_{r.record}"],
                                  int(z[f"n_{r.record}"]), z[f"features_{r.record}"])
                    for r in records]
    out, arrays = [], {}
    for r in tqdm(records, desc="CWRU features", unit="record"):
        signal = cwru.load_record(r, ("DE",)).samples[:, 0]
        starts = np.arange(0, signal.size - window + 1, hop)
        windows = np.stack([signal[s:s + window] for s in starts])[:, :, None]
        feats = window_features(windows, cwru.RATE_12K_HZ, r.rpm / 60.0, fcfg)
        out.append(RecordWindows(r.record, r.label_id, r.load_hp, starts, signal.size, feats))
        arrays.update({f"starts_{r.record}": starts, f"n_{r.record}": signal.size,
                       f"features_{r.record}": feats})
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, **arrays)
    return out


def cross_load_split(records: list[RecordWindows], test_load: int, window: int,
                     test_hop: int, val_fraction: float) -> Split:
    """Row indices (into the records' windows stacked in order) of train / val / test.

    Test: the held-out load's records, non-overlapping windows. Train loads: windows ending
    at least one window before the record's validation block; validation: non-overlapping
    windows inside the last val_fraction of each record."""
    if test_load not in LOADS:
        raise ValueError(f"test_load must be one of {LOADS}, got {test_load}")
    train, val, test, offset = [], [], [], 0
    for rec in records:
        rows = offset + np.arange(rec.starts.size)
        aligned = rec.starts % test_hop == 0
        if rec.load_hp == test_load:
            test.append(rows[aligned])
        else:
            val_start = int(np.floor((1.0 - val_fraction) * rec.n_samples))
            train.append(rows[rec.starts + window <= val_start - window])
            val.append(rows[(rec.starts >= val_start) & aligned])
        offset += rec.starts.size
    return Split(test_load, *(np.concatenate(p) if p else np.zeros(0, int)
                              for p in (train, val, test)))


def stacked(records: list[RecordWindows]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features (N, F), labels (N,), record numbers (N,)) of all windows in record order."""
    feats = np.concatenate([r.features for r in records])
    labels = np.concatenate([np.full(r.starts.size, r.label_id) for r in records])
    record_ids = np.concatenate([np.full(r.starts.size, r.record) for r in records])
    return feats, labels, record_ids


# ----------------------------------------------------------------------------- training
def train_fold(features: np.ndarray, labels: np.ndarray, split: Split, n_classes: int,
               model_config: dict[str, Any], fit_config: FitConfig
               ) -> tuple[VibrationMLP, FeatureScaler, FitHistory]:
    """One model for one fold and seed; normalisation from the training rows only."""
    torch.manual_seed(fit_config.seed)
    present = np.ones_like(features[split.train], dtype=bool)
    scaler = FeatureScaler.fit(features[split.train], present)
    model = VibrationMLP(features.shape[1], n_classes, **model_config)

    def tensors(rows: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        z = scaler.standardise(features[rows], np.ones_like(features[rows], dtype=bool))
        return torch.from_numpy(z), torch.from_numpy(labels[rows].astype(np.int64))

    def loss_fn(net: torch.nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return F.cross_entropy(net(batch[0]), batch[1])

    history = fit(model, tensors(split.train), tensors(split.val), loss_fn, fit_config,
                  name=f"test {split.test_load} HP", log=lambda _msg: None)
    return model, scaler, history


def predict(model: VibrationMLP, scaler: FeatureScaler, features: np.ndarray) -> np.ndarray:
    z = scaler.standardise(features, np.ones_like(features, dtype=bool))
    return predict_proba(model, z)


def fold_metrics(truth: np.ndarray, predicted: np.ndarray, n_classes: int) -> dict[str, Any]:
    confusion = metrics.confusion_matrix(truth, predicted, n_classes)
    return {"accuracy": metrics.accuracy(confusion), "macro_f1": metrics.macro_f1(confusion),
            "n_windows": int(truth.size), "classes_in_test": int((confusion.sum(1) > 0).sum()),
            "confusion": confusion.tolist()}


def _fit_config(config: dict[str, Any], seed: int) -> FitConfig:
    fit_cfg = dict(config.get("fit", {}))
    return FitConfig(seed=seed, **fit_cfg)


def train(config: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    torch.set_num_threads(1)
    start = time.perf_counter()
    records = load_windows(config)
    features, labels, _ = stacked(records)
    names = class_names()
    seeds = [int(s) for s in config.get("seeds", [0, 1, 2, 3, 4])]
    window, test_hop = int(config["window"]), int(config.get("test_hop", config["window"]))
    per_fold: dict[int, list[dict[str, Any]]] = {load: [] for load in LOADS}
    histories: dict[str, FitHistory] = {}
    shipped: dict[int, tuple[VibrationMLP, FeatureScaler, dict[str, Any]]] = {}
    jobs = [(load, seed) for seed in seeds for load in LOADS]
    for load, seed in tqdm(jobs, desc="CWRU folds x seeds", unit="model"):
        split = cross_load_split(records, load, window, test_hop, float(config["val_fraction"]))
        model, scaler, history = train_fold(features, labels, split, len(names),
                                            config.get("model", {}), _fit_config(config, seed))
        predicted = predict(model, scaler, features[split.test]).argmax(1)
        result = {"seed": seed, **fold_metrics(labels[split.test], predicted, len(names)),
                  "best_epoch": history.best_epoch, "train_seconds": round(history.seconds, 2)}
        per_fold[load].append(result)
        if seed == seeds[0]:
            histories[f"test {load} HP"] = history
            shipped[load] = (model, scaler, result)
    summary = summarise(per_fold)
    summary["seconds"] = round(time.perf_counter() - start, 1)
    models_dir = REPO_ROOT / config.get("models_dir", "models/cwru")
    for load, (model, scaler, result) in shipped.items():
        save_weights(
            model, models_dir / f"fold_test{load}hp.pt", model_name=MODEL_NAME,
            hyperparameters={"n_features": features.shape[1], "n_classes": len(names),
                             **config.get("model", {})},
            data="CWRU 12 kHz drive-end (shared/data/cwru), DE channel, derived 12 kHz NORMAL",
            split=f"cross-load: train loads {[x for x in LOADS if x != load]} HP, test {load} HP;"
                  " record = split unit; last val_fraction of each training record = validation",
            metrics={k: v for k, v in result.items() if k != "confusion"},
            extra={"class_names": names, "feature_config": feature_config(config).to_dict(),
                   "feature_names": feature_names(("DE",), feature_config(config)),
                   "window": window, "sample_rate_hz": cwru.RATE_12K_HZ,
                   "scaler_mean": scaler.mean, "scaler_std": scaler.std, "seed": seeds[0],
                   "test_load_hp": load})
    write_report(out_dir, summary, per_fold, histories, names)
    plot_envelope_check(out_dir / "envelope_check.png", config, summary)
    (out_dir / "metrics.json").write_text(json.dumps(summary, indent=1) + "\n")
    return {k: v for k, v in summary.items() if k != "folds"}


def summarise(per_fold: dict[int, list[dict[str, Any]]]) -> dict[str, Any]:
    folds = {}
    for load, results in per_fold.items():
        acc = np.array([r["accuracy"] for r in results])
        f1 = np.array([r["macro_f1"] for r in results])
        folds[str(load)] = {"accuracy_mean": float(acc.mean()), "accuracy_std": float(acc.std()),
                            "macro_f1_mean": float(f1.mean()), "macro_f1_std": float(f1.std()),
                            "classes_in_test": results[0]["classes_in_test"],
                            "n_test_windows": results[0]["n_windows"], "runs": results}
    seed_means = np.array([[r["accuracy"] for r in res] for res in per_fold.values()]).mean(0)
    f1_means = np.array([[r["macro_f1"] for r in res] for res in per_fold.values()]).mean(0)
    return {"mean_accuracy": float(seed_means.mean()), "mean_accuracy_std": float(seed_means.std()),
            "mean_macro_f1": float(f1_means.mean()), "mean_macro_f1_std": float(f1_means.std()),
            "n_seeds": int(seed_means.size), "folds": folds}


# ----------------------------------------------------------------------------- evaluate
def evaluate(config: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    """Reload the shipped fold models and recompute their held-out test metrics."""
    torch.set_num_threads(1)
    records = load_windows(config)
    features, labels, _ = stacked(records)
    models_dir = REPO_ROOT / config.get("models_dir", "models/cwru")
    result: dict[str, Any] = {}
    for load in LOADS:
        model, scaler, meta = load_shipped(models_dir / f"fold_test{load}hp.pt")
        split = cross_load_split(records, load, int(config["window"]),
                                 int(config.get("test_hop", config["window"])),
                                 float(config["val_fraction"]))
        predicted = predict(model, scaler, features[split.test]).argmax(1)
        fold = fold_metrics(labels[split.test], predicted, len(meta["class_names"]))
        result[f"test_{load}hp"] = {k: v for k, v in fold.items() if k != "confusion"}
        result[f"test_{load}hp"]["recorded_accuracy"] = meta["metrics"]["accuracy"]
    result["mean_accuracy"] = float(np.mean([result[f"test_{x}hp"]["accuracy"] for x in LOADS]))
    (out_dir / "evaluate.json").write_text(json.dumps(result, indent=1) + "\n")
    return result


def load_shipped(path: Path) -> tuple[VibrationMLP, FeatureScaler, dict[str, Any]]:
    """A shipped fold model with its scaler and metadata (ModelLoadError names a bad file)."""
    shipped = ShippedFaultClassifier.from_file(path)
    return shipped.model, FeatureScaler(shipped.mean, shipped.std), shipped.metadata


# ----------------------------------------------------------------------------- report
def write_report(out_dir: Path, summary: dict[str, Any], per_fold: dict[int, list[dict]],
                 histories: dict[str, FitHistory], names: tuple[str, ...]) -> None:
    lines = ["| test load | classes in test | windows | accuracy (mean +- std) | macro-F1 |",
             "|---|---|---|---|---|"]
    for load in LOADS:
        f = summary["folds"][str(load)]
        lines.append(f"| {load} HP | {f['classes_in_test']} | {f['n_test_windows']} | "
                     f"{100 * f['accuracy_mean']:.2f} +- {100 * f['accuracy_std']:.2f} % | "
                     f"{100 * f['macro_f1_mean']:.2f} +- {100 * f['macro_f1_std']:.2f} % |")
    lines.append(f"| **mean** | | | **{100 * summary['mean_accuracy']:.2f} +- "
                 f"{100 * summary['mean_accuracy_std']:.2f} %** | "
                 f"{100 * summary['mean_macro_f1']:.2f} % |")
    (out_dir / "metrics.md").write_text(
        f"# CWRU cross-load, {summary['n_seeds']} seeds (std over seeds)\n\n"
        + "\n".join(lines) + "\n")
    fig, axes = plt.subplots(2, 2, figsize=(13, 11))
    for ax, load in zip(axes.ravel(), LOADS, strict=True):
        confusion = np.sum([np.array(r["confusion"]) for r in per_fold[load]], axis=0)
        rates = confusion / np.maximum(confusion.sum(1, keepdims=True), 1)
        ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
        for i in range(len(names)):
            for j in range(len(names)):
                if confusion[i, j]:
                    ax.text(j, i, f"{rates[i, j]:.0%}", ha="center", va="center", fontsize=7,
                            color="white" if rates[i, j] > 0.6 else "black")
        ax.set_xticks(range(len(names)), names, rotation=45, fontsize=8)
        ax.set_yticks(range(len(names)), names, fontsize=8)
        fold = summary["folds"][str(load)]
        ax.set_title(f"test {load} HP: acc {100 * fold['accuracy_mean']:.2f} % "
                     f"(all seeds pooled)", fontsize=10)
        ax.set_xlabel("predicted")
        ax.set_ylabel("truth")
    fig.tight_layout()
    fig.savefig(out_dir / "confusion_matrices.png", dpi=90)
    plt.close(fig)
    plot_learning_curves(histories, out_dir / "learning_curves.png",
                         labels=("train", "validation block"), title_suffix=" (seed 0)",
                         log_scale=True, ylabel="cross-entropy", panel_size=(4.0, 3.2), dpi=90)


ENVELOPE_RECORDS = ((105, "bpfi"), (209, "bpfi"), (130, "bpfo"), (234, "bpfo"), (118, "bsf2"))


def envelope_peaks(config: dict[str, Any]) -> list[dict[str, Any]]:
    """Strongest envelope line within +-3 % of the expected defect frequency of whole records."""
    fcfg = feature_config(config)
    rows = []
    for record, defect in ENVELOPE_RECORDS:
        meta = cwru.find_record(record)
        x = cwru.load_record(meta, ("DE",)).samples[:, 0]
        freqs, env = envelope_spectrum_of(x, cwru.RATE_12K_HZ, fcfg.resonance_band_hz)
        expected = defect_hz(meta.rpm / 60.0, fcfg.bearing)[defect]
        near = (freqs > 0.97 * expected) & (freqs < 1.03 * expected)
        peak = int(np.flatnonzero(near)[np.argmax(env[near])])
        reference = float(np.median(env[(freqs >= 1) & (freqs <= fcfg.envelope_max_hz)]))
        top = int(np.argmax(env[(freqs >= 5) & (freqs <= 500)]) + np.argmax(freqs >= 5))
        rows.append({"record": record, "label": meta.label, "defect": defect,
                     "expected_hz": round(expected, 2), "peak_hz": round(float(freqs[peak]), 2),
                     "peak_over_median": round(float(env[peak] / reference), 1),
                     "strongest_line_5_500hz": round(float(freqs[top]), 2),
                     "freqs": freqs, "env": env})
    return rows


def plot_envelope_check(path: Path, config: dict[str, Any], summary: dict[str, Any]) -> None:
    rows = envelope_peaks(config)
    fig, axes = plt.subplots(len(rows), 1, figsize=(9, 2.2 * len(rows)))
    for ax, row in zip(axes, rows, strict=True):
        keep = row["freqs"] <= 600
        ax.plot(row["freqs"][keep], row["env"][keep], linewidth=0.7)
        for k in (1, 2, 3):
            ax.axvline(k * row["expected_hz"], color="red", linestyle=":", linewidth=1)
        ax.set_title(f"record {row['record']} {row['label']} (0 HP): expected {row['defect']} "
                     f"{row['expected_hz']} Hz (red: 1-3x), peak {row['peak_hz']} Hz, "
                     f"{row['peak_over_median']}x median", fontsize=9)
        ax.set_ylabel("envelope [g]")
    axes[-1].set_xlabel("frequency [Hz]")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    summary["envelope_check"] = [{k: v for k, v in r.items() if k not in ("freqs", "env")}
                                 for r in rows]


def write_fixture(path: Path, config: dict[str, Any], test_load: int = 3) -> None:
    """A few raw held-out windows (the first test window of each record at test_load) for the
    shipped-model test: raw samples, true labels and the shipped model's predictions."""
    model, scaler, meta = load_shipped(REPO_ROOT / config.get("models_dir", "models/cwru")
                                       / f"fold_test{test_load}hp.pt")
    window = int(meta["window"])
    records = [r for r in cwru.list_records() if r.load_hp == test_load]
    raw = np.stack([cwru.load_record(r, ("DE",)).samples[:window, 0] for r in records])
    rpm = np.array([r.rpm for r in records], dtype=np.float64)
    fcfg = BearingWindowConfig.from_dict(meta["feature_config"])
    predicted = predict(model, scaler, window_features(
        raw[:, :, None], cwru.RATE_12K_HZ, rpm / 60.0, fcfg)).argmax(1)
    np.savez_compressed(path, windows=raw.astype(np.float32), rpm=rpm,
                        label_id=np.array([r.label_id for r in records]),
                        record=np.array([r.record for r in records]), predicted=predicted,
                        test_load_hp=test_load)
