"""Supervised-only vs semi-supervised (paper 003) with 1 %, 5 % and 20 % of the training labels.

    nice -n 10 python -m pm_monitor.training.semi_supervised_eval [--datasets cwru rig]
        [--seeds 5] [--out results/semi_supervised]

* CWRU cross-load (training/tasks/cwru.py): the same four folds (train on three motor loads,
  test on the fourth), the same features, model (VibrationMLP) and validation blocks. The
  labelled set is a class-stratified `fraction` of the training windows (at least one per
  class), the validation labels are cut to the same fraction (early stopping must not use
  labels a user would not have). Unlabelled = every training window of the three training
  loads; the held-out load is never seen, not even unlabelled.
* Simulated rig, Stage 1 (health state + fault type, train_stage1): the run plan's training
  runs (labels cut the same way, stratified by state x fault type), validation runs (cut) and
  held-out test runs (run_plan FULL_PLAN, cached by tasks/fusion_ablation.rig_runs). A smaller
  Stage 1 than the shipped one (1 BiLSTM layer of 32) keeps 30 trainings within the CPU budget.

Both arms share everything (model, seed, labelled rows, labelled batches, steps, epochs, early
stopping on the cut validation labels); the semi-supervised arm adds the unlabelled loss
(semi_supervised.py, weights fixed beforehand). Fewer steps than the full tasks (fixed
`steps_per_epoch`, same for both arms): the numbers are for this comparison, not the shipped
models' accuracy.
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
import yaml

from pm_monitor.core.features import FeatureExtractor
from pm_monitor.core.models.normalization import FeatureScaler
from pm_monitor.core.models.stage1_bilstm import HealthStateBiLSTM
from pm_monitor.core.models.vibration_classifier import VibrationMLP, predict_proba
from pm_monitor.report import metrics
from pm_monitor.sim import RigConfig
from pm_monitor.training.loop import FitConfig, Unlabelled, fit
from pm_monitor.training.rig_dataset import feature_config_for
from pm_monitor.training.semi_supervised import (
    labelled_subset,
    noise_and_dropout,
    semi_supervised_loss,
)
from pm_monitor.training.sequences import build_sequences
from pm_monitor.training.train_stage1 import FAULT_LOSS_WEIGHT, predict_stage1, train_stage1

REPO_ROOT = Path(__file__).resolve().parents[2]
FRACTIONS = (0.01, 0.05, 0.20)
ARMS = ("supervised", "semi_supervised")
CWRU_FIT = FitConfig(epochs=15, batch_size=64, lr=2e-3, weight_decay=1e-4, patience=5,
                     max_seconds=60, steps_per_epoch=10)
RIG_FIT = FitConfig(epochs=12, batch_size=64, lr=2e-3, weight_decay=1e-4, patience=4,
                    max_seconds=120, steps_per_epoch=12)


def _quiet(_message: str) -> None:
    pass


# ----------------------------------------------------------------------------- CWRU
def cwru_rows(seeds: list[int], fractions: tuple[float, ...], log) -> list[dict[str, Any]]:
    from pm_monitor.training.tasks import cwru

    config = yaml.safe_load((REPO_ROOT / "pm_monitor/training/configs/cwru.yaml").read_text())
    records = cwru.load_windows(config)
    features, labels, _ = cwru.stacked(records)
    n_classes = len(cwru.class_names())
    rows = []
    for load in cwru.LOADS:
        split = cwru.cross_load_split(records, load, int(config["window"]),
                                      int(config["test_hop"]), float(config["val_fraction"]))
        train_rows = split.train
        scaler = FeatureScaler.fit(features[train_rows], np.ones_like(features[train_rows], bool))
        z = torch.from_numpy(scaler.standardise(features, np.ones_like(features, bool)))
        y = torch.from_numpy(labels.astype(np.int64))
        unlabelled_inputs = (z[train_rows],)

        def loss_fn(net, batch):
            return F.cross_entropy(net(batch[0]), batch[1])

        for fraction in fractions:
            for seed in seeds:
                labelled = train_rows[labelled_subset(labels[train_rows], fraction, seed)]
                val = split.val[labelled_subset(labels[split.val], fraction, seed + 1_000)]
                for arm in ARMS:
                    torch.manual_seed(seed)
                    model = VibrationMLP(features.shape[1], n_classes, **config["model"])
                    unlabelled = None if arm == "supervised" else Unlabelled(
                        unlabelled_inputs, semi_supervised_loss(noise_and_dropout(0.2, 0.1)))
                    start = time.perf_counter()
                    fit(model, (z[labelled], y[labelled]), (z[val], y[val]), loss_fn,
                        replace(CWRU_FIT, seed=seed), name="cwru", log=_quiet,
                        unlabelled=unlabelled)
                    predicted = predict_proba(model, z[split.test].numpy()).argmax(1)
                    confusion = metrics.confusion_matrix(labels[split.test], predicted, n_classes)
                    rows.append({"dataset": "cwru", "fold": f"test {load} HP",
                                 "fraction": fraction, "seed": seed, "arm": arm,
                                 "labelled": int(labelled.size), "unlabelled":
                                 int(train_rows.size) if unlabelled else 0,
                                 "accuracy": metrics.accuracy(confusion),
                                 "macro_f1": metrics.macro_f1(confusion),
                                 "seconds": round(time.perf_counter() - start, 2)})
                    log(f"cwru {load} HP {fraction:.0%} seed {seed} {arm}: "
                        f"acc {rows[-1]['accuracy']:.3f} ({rows[-1]['seconds']} s)")
    return rows


# ----------------------------------------------------------------------------- rig
def rig_rows(seeds: list[int], fractions: tuple[float, ...], log) -> list[dict[str, Any]]:
    from pm_monitor.training.tasks.fusion_ablation import rig_runs

    config = yaml.safe_load(
        (REPO_ROOT / "pm_monitor/training/configs/fusion_ablation.yaml").read_text())
    config["quick"] = False
    length = int(config["sequence_length"])
    splits = {name: rig_runs(name, config) for name in ("train", "val", "test")}
    scaler = FeatureScaler.fit(np.concatenate([r.features for r in splits["train"]]),
                               np.concatenate([r.present for r in splits["train"]]))
    data = {}
    for name, runs in splits.items():
        z = scaler.standardise(np.concatenate([r.features for r in runs]),
                               np.concatenate([r.present for r in runs]))
        data[name] = (build_sequences(z, [len(r) for r in runs], length),
                      np.concatenate([r.state for r in runs]),
                      np.concatenate([r.fault_type for r in runs]))
    extractor = FeatureExtractor(feature_config_for(RigConfig()))
    groups = [extractor.sensor_slice(s) for s in extractor.sensor_groups]
    augment = noise_and_dropout(0.2, 0.05, groups, 0.1)
    heads = semi_supervised_loss(augment, heads_of=lambda out: [
        (out.state_logits, 1.0), (out.fault_logits, FAULT_LOSS_WEIGHT)])
    x_train, state_train, fault_train = data["train"]
    x_val, state_val, fault_val = data["val"]
    x_test, state_test, fault_test = data["test"]
    joint_train = state_train * 10 + fault_train
    joint_val = state_val * 10 + fault_val
    rows = []
    for fraction in fractions:
        for seed in seeds:
            labelled = labelled_subset(joint_train, fraction, seed)
            val = labelled_subset(joint_val, fraction, seed + 1_000)
            for arm in ARMS:
                torch.manual_seed(seed)
                model = HealthStateBiLSTM(x_train.shape[2], hidden_size=32, num_layers=1,
                                          attention_dim=16, dropout=0.1)
                unlabelled = None if arm == "supervised" else Unlabelled(
                    (torch.from_numpy(x_train),), heads)
                start = time.perf_counter()
                train_stage1(model, (x_train[labelled], state_train[labelled],
                                     fault_train[labelled]),
                             (x_val[val], state_val[val], fault_val[val]), groups,
                             replace(RIG_FIT, seed=seed), _quiet, unlabelled)
                states, faults = predict_stage1(model, x_test)
                state_confusion = metrics.confusion_matrix(state_test, states.argmax(1), 4)
                fault_confusion = metrics.confusion_matrix(fault_test, faults.argmax(1), 4)
                rows.append({"dataset": "rig", "fold": "held-out runs", "fraction": fraction,
                             "seed": seed, "arm": arm, "labelled": int(labelled.size),
                             "unlabelled": int(x_train.shape[0]) if unlabelled else 0,
                             "accuracy": metrics.accuracy(state_confusion),
                             "macro_f1": metrics.macro_f1(state_confusion),
                             "fault_accuracy": metrics.accuracy(fault_confusion),
                             "seconds": round(time.perf_counter() - start, 2)})
                log(f"rig {fraction:.0%} seed {seed} {arm}: state acc "
                    f"{rows[-1]['accuracy']:.3f} fault acc {rows[-1]['fault_accuracy']:.3f} "
                    f"({rows[-1]['seconds']} s)")
    return rows


# ----------------------------------------------------------------------------- summary
def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per dataset, fraction and metric: mean +- std over seeds (CWRU: of the 4-fold mean) of
    both arms and of the paired difference, and in how many seeds semi-supervised won."""
    out = []
    for dataset in sorted({r["dataset"] for r in rows}):
        keys = ["accuracy", "macro_f1"] + (["fault_accuracy"] if dataset == "rig" else [])
        for fraction in sorted({r["fraction"] for r in rows if r["dataset"] == dataset}):
            for key in keys:
                per_arm = {}
                for arm in ARMS:
                    chosen = [r for r in rows if r["dataset"] == dataset
                              and r["fraction"] == fraction and r["arm"] == arm]
                    seeds = sorted({r["seed"] for r in chosen})
                    per_arm[arm] = np.array([np.mean([r[key] for r in chosen if r["seed"] == s])
                                             for s in seeds])
                diff = per_arm["semi_supervised"] - per_arm["supervised"]
                out.append({"dataset": dataset, "fraction": fraction, "metric": key,
                            "supervised_mean": float(per_arm["supervised"].mean()),
                            "supervised_std": float(per_arm["supervised"].std()),
                            "semi_supervised_mean": float(per_arm["semi_supervised"].mean()),
                            "semi_supervised_std": float(per_arm["semi_supervised"].std()),
                            "difference_mean": float(diff.mean()),
                            "difference_std": float(diff.std()),
                            "seeds_semi_better": int((diff > 0).sum()), "seeds": int(diff.size)})
    return out


def markdown(summary: list[dict[str, Any]], seconds: float) -> str:
    lines = ["# Semi-supervised (paper 003) vs supervised-only, held-out test", "",
             "Mean +- std over seeds (CWRU: mean of the four cross-load folds per seed).",
             f"Total time {seconds:.0f} s (nice 10, one torch thread).", "",
             "| data | labels | metric | supervised | semi-supervised | difference | "
             "seeds semi better |", "|---|---|---|---|---|---|---|"]
    for s in summary:
        lines.append(
            f"| {s['dataset']} | {100 * s['fraction']:.0f} % | {s['metric']} | "
            f"{100 * s['supervised_mean']:.1f} +- {100 * s['supervised_std']:.1f} | "
            f"{100 * s['semi_supervised_mean']:.1f} +- {100 * s['semi_supervised_std']:.1f} | "
            f"{100 * s['difference_mean']:+.1f} +- {100 * s['difference_std']:.1f} | "
            f"{s['seeds_semi_better']} / {s['seeds']} |")
    return "\n".join(lines) + "\n"


def plot(summary: list[dict[str, Any]], path: Path) -> None:
    panels = [(d, m) for d, m in (("cwru", "accuracy"), ("rig", "accuracy"),
                                  ("rig", "fault_accuracy"))
              if any(s["dataset"] == d and s["metric"] == m for s in summary)]
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.8), squeeze=False)
    titles = {("cwru", "accuracy"): "CWRU cross-load, fault type (10 classes)",
              ("rig", "accuracy"): "simulated rig, health state (held-out runs)",
              ("rig", "fault_accuracy"): "simulated rig, fault type (held-out runs)"}
    for ax, (dataset, metric) in zip(axes[0], panels, strict=True):
        chosen = [s for s in summary if s["dataset"] == dataset and s["metric"] == metric]
        fractions = np.array([s["fraction"] for s in chosen])
        for arm, marker in zip(ARMS, ("o", "s"), strict=True):
            ax.errorbar(100 * fractions, [100 * s[f"{arm}_mean"] for s in chosen],
                        yerr=[100 * s[f"{arm}_std"] for s in chosen], marker=marker,
                        capsize=3, label=arm.replace("_", "-"))
        ax.set_xscale("log")
        ax.set_xticks(100 * fractions, [f"{100 * f:.0f} %" for f in fractions])
        ax.set_xlabel("training labels used")
        ax.set_ylabel("accuracy [%]")
        ax.set_title(titles[(dataset, metric)], fontsize=9)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["cwru", "rig"])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--out", default=str(REPO_ROOT / "results" / "semi_supervised"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    seeds = list(range(args.seeds))
    start = time.perf_counter()
    rows: list[dict[str, Any]] = []

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - start:6.0f} s] {message}", flush=True)

    for dataset in args.datasets:
        rows += {"cwru": cwru_rows, "rig": rig_rows}[dataset](seeds, FRACTIONS, log)
    seconds = time.perf_counter() - start
    summary = summarise(rows)
    (out / "metrics.json").write_text(json.dumps(
        {"summary": summary, "runs": rows, "seconds": round(seconds, 1),
         "fit": {"cwru": vars(CWRU_FIT), "rig": vars(RIG_FIT)}}, indent=1) + "\n")
    (out / "metrics.md").write_text(markdown(summary, seconds))
    plot(summary, out / "accuracy.png")
    print(markdown(summary, seconds))


if __name__ == "__main__":
    main()
