"""FEMTO / PRONOSTIA health states, leave-one-bearing-out over all 11 bearings.

    python -m pm_monitor.training.cli train pm_monitor/training/configs/femto_states.yaml
    python -m pm_monitor.training.cli evaluate pm_monitor/training/configs/femto_states.yaml

Labels (documented rule, from the fraction of life used): end of life = the last snapshot of the
record (shared/data/femto/README: the 20 g rule does not match the record ends; for Bearing1_4
this is the end of the full record, not the official 339 s RUL). With life fraction
f = t / t_end: Normal f < 0.6, Pre-Warning 0.6 <= f < 0.8, Warning 0.8 <= f < 0.95,
Failure f >= 0.95 (``state_bounds`` in the config).

Inputs: per snapshot (2560 samples, 25.6 kHz) and axis (horizontal, vertical) the bearing window
features (core/features/bearing_window.py) at the bearing's defect orders and shaft speed.
Each bearing's features are taken relative to the mean of its own first ``baseline_snapshots``
(commissioning baseline: what the live monitor sees at install time; no label is used), then
standardised with statistics of the training bearings only. Stage 1 = HealthStateBiLSTM (BiLSTM +
temporal attention) on the last ``sequence_length`` snapshots. Beside it the anomaly score: the
reconstruction error of a FeatureAutoencoder trained on Normal snapshots of the training bearings,
judged by the DynamicThreshold (rolling mean + c x std, floor = a quantile of training scores).

Split: fold k tests bearing k; of the other ten, one (the next in the list) is the validation
bearing for early stopping; the remaining nine train. No bearing is on two sides.
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
    feature_names,
    window_features,
)
from pm_monitor.core.models.autoencoder import FeatureAutoencoder, reconstruction_error
from pm_monitor.core.models.normalization import FeatureScaler
from pm_monitor.core.models.stage1_bilstm import HealthStateBiLSTM
from pm_monitor.core.models.threshold import DynamicThreshold
from pm_monitor.core.models.weights import load_weights, save_weights

# The live real-data cascade shares these (pm_monitor/core/realdata/femto_features.py).
from pm_monitor.core.realdata.femto_features import (
    AXES,
    FEMTO_BEARING,
    STATE_NAMES,
    baseline_relative,
    threshold_config,
)
from pm_monitor.datasets import femto
from pm_monitor.report import metrics
from pm_monitor.training.loop import FitConfig, FitHistory, fit
from pm_monitor.training.sequences import sequence_indices
from pm_monitor.training.train_stage1 import balanced_class_weights

REPO_ROOT = Path(__file__).resolve().parents[3]
STAGE1_NAME = "femto_stage1_bilstm"
AE_NAME = "femto_feature_autoencoder"


@dataclass(frozen=True)
class BearingFeatures:
    name: str
    t_s: np.ndarray  # (n,)
    features: np.ndarray  # (n, F), relative to the bearing's own baseline
    state: np.ndarray  # (n,) int


def feature_config(config: dict[str, Any]) -> BearingWindowConfig:
    values = dict(config.get("features", {}))
    values.setdefault("bearing", FEMTO_BEARING)
    return BearingWindowConfig.from_dict(values)


def health_states(t_s: np.ndarray, bounds: tuple[float, ...]) -> np.ndarray:
    """State per snapshot from the life fraction t / t_end (end of life = last snapshot)."""
    t_s = np.asarray(t_s, dtype=np.float64)
    if t_s.size == 0 or t_s[-1] <= 0:
        raise ValueError("need a record with positive duration")
    if list(bounds) != sorted(bounds) or len(bounds) != len(STATE_NAMES) - 1:
        raise ValueError(f"state_bounds must be {len(STATE_NAMES) - 1} increasing fractions")
    return np.searchsorted(np.asarray(bounds), t_s / t_s[-1], side="right").astype(np.int64)


def load_features(config: dict[str, Any], names: tuple[str, ...] = femto.ALL_BEARINGS,
                  cache_dir: Path | None = None) -> list[BearingFeatures]:
    """Baseline-relative features of every snapshot of each bearing (cached raw features)."""
    fcfg = feature_config(config)
    identity = [FEATURE_VERSION, fcfg.to_dict()]
    key = hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()
                         ).hexdigest()[:12]
    cache_dir = cache_dir or REPO_ROOT / "results/tmp"
    bounds = tuple(float(b) for b in config["state_bounds"])
    out = []
    for name in tqdm(names, desc="FEMTO features", unit="bearing"):
        cache = cache_dir / f"femto_features_{name}_{key}.npz"
        bearing = femto.load_bearing(name)
        if cache.is_file():
            with np.load(cache) as z:
                raw, t_s = z["features"], z["t_s"]
        else:
            raw = window_features(bearing.acc_g, bearing.fs, bearing.rpm / 60.0, fcfg)
            t_s = bearing.t_s
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.savez(cache, features=raw, t_s=t_s)
        out.append(BearingFeatures(name, t_s, baseline_relative(
            raw, int(config["baseline_snapshots"])), health_states(t_s, bounds)))
    return out


def leave_one_out(names: tuple[str, ...], test: str) -> tuple[list[str], str, str]:
    """(training bearings, validation bearing, test bearing) of one fold."""
    if test not in names:
        raise ValueError(f"unknown bearing {test}")
    others = [n for n in names if n != test]
    val = names[(names.index(test) + 1) % len(names)]
    return [n for n in others if n != val], val, test


def sequences(bearing: BearingFeatures, scaler: FeatureScaler, length: int) -> np.ndarray:
    z = scaler.standardise(bearing.features, np.ones_like(bearing.features, dtype=bool))
    return z[sequence_indices(len(z), length)]


# ----------------------------------------------------------------------------- one fold
@dataclass
class FoldModels:
    stage1: HealthStateBiLSTM
    autoencoder: FeatureAutoencoder
    scaler: FeatureScaler
    ae_floor: float
    history: FitHistory


def train_fold(data: dict[str, BearingFeatures], train_names: list[str], val_name: str,
               config: dict[str, Any], seed: int) -> FoldModels:
    torch.manual_seed(seed)
    length = int(config["sequence_length"])
    stride = int(config.get("train_stride", 1))
    train_rows = np.concatenate([data[n].features for n in train_names])
    scaler = FeatureScaler.fit(train_rows, np.ones_like(train_rows, dtype=bool))
    x_train = np.concatenate([sequences(data[n], scaler, length)[::stride] for n in train_names])
    y_train = np.concatenate([data[n].state[::stride] for n in train_names])
    x_val, y_val = sequences(data[val_name], scaler, length), data[val_name].state
    model = HealthStateBiLSTM(x_train.shape[2], **config["stage1"])
    weights = balanced_class_weights(y_train, len(STATE_NAMES))

    def loss_fn(net: torch.nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return F.cross_entropy(net(batch[0]).state_logits, batch[1], weight=weights)

    fit_cfg = FitConfig(seed=seed, **config.get("fit", {}))
    history = fit(model, (torch.from_numpy(x_train), torch.from_numpy(y_train)),
                  (torch.from_numpy(x_val), torch.from_numpy(y_val)), loss_fn, fit_cfg,
                  name="stage1", log=lambda _m: None)
    autoencoder, floor = train_autoencoder(data, train_names, val_name, scaler, config, seed)
    return FoldModels(model, autoencoder, scaler, floor, history)


def train_autoencoder(data: dict[str, BearingFeatures], train_names: list[str], val_name: str,
                      scaler: FeatureScaler, config: dict[str, Any], seed: int
                      ) -> tuple[FeatureAutoencoder, float]:
    """Autoencoder on Normal snapshots of the training bearings; floor = a quantile of their
    scores on the validation bearing's Normal snapshots (never the test bearing)."""
    torch.manual_seed(seed)

    def normal_rows(name: str) -> torch.Tensor:
        b = data[name]
        rows = b.features[b.state == 0]
        return torch.from_numpy(scaler.standardise(rows, np.ones_like(rows, dtype=bool)))

    x_train = torch.cat([normal_rows(n) for n in train_names])
    x_val = normal_rows(val_name)
    model = FeatureAutoencoder(x_train.shape[1], **config["autoencoder"])
    ones = torch.ones(1, x_train.shape[1])

    def loss_fn(net: torch.nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return reconstruction_error(net, batch[0], ones.expand_as(batch[0])).mean()

    fit(model, (x_train,), (x_val,), loss_fn, FitConfig(seed=seed, **config.get("fit_ae", {})),
        name="autoencoder", log=lambda _m: None)
    with torch.no_grad():
        scores = reconstruction_error(model, x_val, ones.expand_as(x_val)).numpy()
    return model, float(np.quantile(scores, float(config["threshold"]["floor_quantile"])))


def predict_bearing(models: FoldModels, bearing: BearingFeatures, config: dict[str, Any]
                    ) -> dict[str, np.ndarray]:
    """State probabilities, anomaly scores and the dynamic threshold's verdicts in time order."""
    x = torch.from_numpy(sequences(bearing, models.scaler, int(config["sequence_length"])))
    with torch.no_grad():
        probs = torch.softmax(models.stage1.eval()(x).state_logits, -1).numpy()
        z = x[:, -1, :]
        score = reconstruction_error(models.autoencoder.eval(), z, torch.ones_like(z)).numpy()
    threshold = DynamicThreshold(threshold_config(models.ae_floor, config["threshold"]))
    verdicts = np.array([threshold.update(float(s)) for s in score])
    return {"probs": probs, "score": score, "anomalous": verdicts[:, 0].astype(bool),
            "threshold": verdicts[:, 1]}


# ----------------------------------------------------------------------------- train / evaluate
def train(config: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    torch.set_num_threads(1)
    start = time.perf_counter()
    names = tuple(config.get("bearings", femto.ALL_BEARINGS))
    data = {b.name: b for b in load_features(config, names)}
    seeds = [int(s) for s in config.get("seeds", [0, 1, 2, 3, 4])]
    runs: list[dict[str, Any]] = []
    pooled: dict[int, dict[str, list[np.ndarray]]] = {s: {"truth": [], "pred": [], "p_not": [],
                                                          "score": [], "flag": []} for s in seeds}
    timelines: dict[str, dict[str, np.ndarray]] = {}
    histories: dict[str, FitHistory] = {}
    jobs = [(seed, test) for seed in seeds for test in names]
    for seed, test in tqdm(jobs, desc="FEMTO leave-one-bearing-out", unit="fold"):
        train_names, val_name, _ = leave_one_out(names, test)
        models = train_fold(data, train_names, val_name, config, seed)
        out = predict_bearing(models, data[test], config)
        truth, pred = data[test].state, out["probs"].argmax(1)
        p_not = 1.0 - out["probs"][:, 0]
        runs.append({"seed": seed, "test": test, "val": val_name,
                     **bearing_metrics(truth, pred, p_not, out["score"], out["anomalous"]),
                     "best_epoch": models.history.best_epoch})
        for key, value in (("truth", truth), ("pred", pred), ("p_not", p_not),
                           ("score", out["score"]), ("flag", out["anomalous"])):
            pooled[seed][key].append(value)
        if seed == seeds[0]:
            timelines[test] = {"t": data[test].t_s, "truth": truth, "pred": pred, **out}
            histories[test] = models.history
            if test == config.get("shipped_test_bearing", "Bearing1_3"):
                ship(models, config, data[test], val_name, train_names, runs[-1])
    summary = summarise(pooled, runs)
    summary["seconds"] = round(time.perf_counter() - start, 1)
    summary["state_rule"] = {"end_of_life": "last snapshot of the record",
                             "bounds_life_fraction": config["state_bounds"], "names": STATE_NAMES}
    write_report(out_dir, summary, timelines, histories)
    (out_dir / "metrics.json").write_text(json.dumps(summary, indent=1) + "\n")
    return {k: v for k, v in summary.items() if k not in ("runs",)}


def bearing_metrics(truth: np.ndarray, pred: np.ndarray, p_not: np.ndarray, score: np.ndarray,
                    flag: np.ndarray) -> dict[str, Any]:
    confusion = metrics.confusion_matrix(truth, pred, len(STATE_NAMES))
    abnormal = truth > 0
    return {"macro_f1": metrics.macro_f1(confusion), "accuracy": metrics.accuracy(confusion),
            "auroc_stage1": metrics.auroc(p_not, abnormal),
            "auroc_anomaly": metrics.auroc(score, abnormal),
            "alarm_rate_normal": float(flag[~abnormal].mean()) if (~abnormal).any() else None,
            "alarm_rate_failure": float(flag[truth == 3].mean()) if (truth == 3).any() else None}


def summarise(pooled: dict[int, dict[str, list[np.ndarray]]], runs: list[dict]) -> dict[str, Any]:
    """Per seed: metrics pooled over all 11 held-out bearings; then mean and std over seeds."""
    per_seed = []
    for seed, parts in pooled.items():
        p = {k: np.concatenate(v) for k, v in parts.items()}
        m = bearing_metrics(p["truth"], p["pred"], p["p_not"], p["score"], p["flag"])
        m["confusion"] = metrics.confusion_matrix(p["truth"], p["pred"], 4).tolist()
        m["binary_f1_not_normal"] = _binary_f1(p["truth"] > 0, p["pred"] > 0)
        per_seed.append({"seed": seed, **m})
    out: dict[str, Any] = {"n_seeds": len(per_seed)}
    for key in ("macro_f1", "accuracy", "auroc_stage1", "auroc_anomaly", "binary_f1_not_normal",
                "alarm_rate_normal", "alarm_rate_failure"):
        values = np.array([s[key] for s in per_seed], dtype=np.float64)
        out[key] = {"mean": float(np.nanmean(values)), "std": float(np.nanstd(values))}
    out["per_seed"] = per_seed
    per_bearing = {}
    for run in runs:
        per_bearing.setdefault(run["test"], []).append(run)
    out["per_bearing"] = {
        name: {key: float(np.nanmean([r[key] for r in rs if r[key] is not None]))
               for key in ("macro_f1", "auroc_stage1", "auroc_anomaly")}
        for name, rs in per_bearing.items()}
    out["runs"] = runs
    return out


def _binary_f1(truth: np.ndarray, pred: np.ndarray) -> float:
    tp = float(np.sum(truth & pred))
    denominator = float(truth.sum() + pred.sum())
    return 2 * tp / denominator if denominator else 0.0


def ship(models: FoldModels, config: dict[str, Any], test: BearingFeatures, val_name: str,
         train_names: list[str], run: dict[str, Any]) -> None:
    models_dir = REPO_ROOT / config.get("models_dir", "models/femto_states")
    fcfg = feature_config(config)
    common = {
        "data": "FEMTO/PRONOSTIA (shared/data/femto), both axes, 2560-sample snapshots",
        "split": f"leave-one-bearing-out: test {test.name}, validation {val_name}, "
                 f"train {train_names}",
        "metrics": {k: v for k, v in run.items() if k not in ("seed", "test", "val")},
        "extra": {"state_names": STATE_NAMES, "state_bounds": config["state_bounds"],
                  "feature_config": fcfg.to_dict(), "feature_names": feature_names(AXES, fcfg),
                  "baseline_snapshots": int(config["baseline_snapshots"]),
                  "sequence_length": int(config["sequence_length"]),
                  "scaler_mean": models.scaler.mean, "scaler_std": models.scaler.std,
                  "anomaly_floor": models.ae_floor, "threshold": config["threshold"],
                  "test_bearing": test.name},
    }
    save_weights(models.stage1, models_dir / "stage1.pt", model_name=STAGE1_NAME,
                 hyperparameters={"n_features": models.scaler.mean.size, **config["stage1"]},
                 **common)
    save_weights(models.autoencoder, models_dir / "autoencoder.pt", model_name=AE_NAME,
                 hyperparameters={"n_features": models.scaler.mean.size, **config["autoencoder"]},
                 **common)


def load_shipped(models_dir: Path) -> tuple[FoldModels, dict[str, Any]]:
    stage1, meta = load_weights(HealthStateBiLSTM, models_dir / "stage1.pt", STAGE1_NAME)
    autoencoder, _ = load_weights(FeatureAutoencoder, models_dir / "autoencoder.pt", AE_NAME)
    scaler = FeatureScaler(np.asarray(meta["scaler_mean"], np.float32),
                           np.asarray(meta["scaler_std"], np.float32))
    return FoldModels(stage1, autoencoder, scaler, float(meta["anomaly_floor"]),
                      FitHistory()), meta


def evaluate(config: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    """Reload the shipped fold models and recompute their metrics on their held-out bearing."""
    torch.set_num_threads(1)
    models, meta = load_shipped(REPO_ROOT / config.get("models_dir", "models/femto_states"))
    test = load_features(config, (meta["test_bearing"],))[0]
    out = predict_bearing(models, test, config)
    result = bearing_metrics(test.state, out["probs"].argmax(1), 1.0 - out["probs"][:, 0],
                             out["score"], out["anomalous"])
    result = {"test_bearing": test.name, **result, "recorded": meta["metrics"]}
    (out_dir / "evaluate.json").write_text(json.dumps(result, indent=1) + "\n")
    return result


# ----------------------------------------------------------------------------- report
def write_report(out_dir: Path, summary: dict[str, Any], timelines: dict[str, dict],
                 histories: dict[str, FitHistory]) -> None:
    def pm(key: str, scale: float = 100.0, unit: str = " %") -> str:
        return f"{scale * summary[key]['mean']:.2f} +- {scale * summary[key]['std']:.2f}{unit}"

    lines = [
        f"# FEMTO health states, leave-one-bearing-out (11 folds x {summary['n_seeds']} seeds)",
        "", "Metrics pooled over all held-out snapshots of one seed; mean +- std over seeds.", "",
        "| metric | value | the cascade paper [P1] (own factory data) |", "|---|---|---|",
        f"| 4-state macro-F1 (Stage 1 BiLSTM) | {pm('macro_f1')} | F1 93.08 % |",
        f"| 4-state accuracy | {pm('accuracy')} | |",
        f"| Normal-vs-not F1 (Stage 1) | {pm('binary_f1_not_normal')} | |",
        f"| AUROC Normal-vs-not, Stage 1 P(not Normal) | {pm('auroc_stage1', 1.0, '')} | 0.97 |",
        f"| AUROC Normal-vs-not, AE reconstruction error | {pm('auroc_anomaly', 1.0, '')} | |",
        f"| dynamic-threshold alarm rate on Normal | {pm('alarm_rate_normal')} | |",
        f"| dynamic-threshold alarm rate on Failure | {pm('alarm_rate_failure')} | |",
        "", "| held-out bearing | macro-F1 | AUROC Stage 1 | AUROC AE |", "|---|---|---|---|"]
    for name, m in summary["per_bearing"].items():
        lines.append(f"| {name} | {100 * m['macro_f1']:.1f} % | {m['auroc_stage1']:.3f} | "
                     f"{m['auroc_anomaly']:.3f} |")
    (out_dir / "metrics.md").write_text("\n".join(lines) + "\n")
    confusion = np.sum([np.array(s["confusion"]) for s in summary["per_seed"]], axis=0)
    rates = confusion / np.maximum(confusion.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(5.5, 4.6))
    ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    for i in range(4):
        for j in range(4):
            ax.text(j, i, f"{rates[i, j]:.0%}", ha="center", va="center", fontsize=9,
                    color="white" if rates[i, j] > 0.6 else "black")
    ax.set_xticks(range(4), STATE_NAMES, rotation=20)
    ax.set_yticks(range(4), STATE_NAMES)
    ax.set_xlabel("predicted")
    ax.set_ylabel("truth (life-fraction rule)")
    ax.set_title("FEMTO LOBO, all seeds pooled", fontsize=10)
    fig.tight_layout()
    fig.savefig(out_dir / "confusion_matrix.png", dpi=100)
    plt.close(fig)
    fig, axes = plt.subplots(len(timelines), 1, figsize=(10, 1.9 * len(timelines)))
    for ax, (name, tl) in zip(np.atleast_1d(axes), timelines.items(), strict=True):
        hours = tl["t"] / 3600.0
        ax.step(hours, tl["truth"], where="post", linewidth=2.5, alpha=0.5, label="truth")
        ax.step(hours, tl["pred"], where="post", linewidth=0.8, label="Stage 1")
        ax.set_yticks(range(4), ["N", "PW", "W", "F"])
        twin = ax.twinx()
        twin.semilogy(hours, tl["score"], color="grey", linewidth=0.6, label="AE score")
        twin.semilogy(hours, tl["threshold"], color="red", linewidth=0.6, label="threshold")
        ax.set_title(f"{name} (held out, seed 0)", fontsize=9)
        ax.legend(fontsize=7, loc="upper left")
        twin.legend(fontsize=7, loc="center left")
    np.atleast_1d(axes)[-1].set_xlabel("time [h]")
    fig.tight_layout()
    fig.savefig(out_dir / "timelines.png", dpi=80)
    plt.close(fig)
    fig, axes = plt.subplots(3, 4, figsize=(14, 8))
    for ax, (name, h) in zip(axes.ravel(), histories.items(), strict=False):
        epochs = np.arange(1, len(h.train_loss) + 1)
        ax.plot(epochs, h.train_loss, label="train")
        ax.plot(epochs, h.val_loss, label="validation bearing")
        ax.axvline(h.best_epoch, color="grey", linestyle=":")
        ax.set_title(f"test {name}", fontsize=9)
        ax.legend(fontsize=7)
    for ax in axes.ravel()[len(histories):]:
        ax.set_axis_off()
    fig.tight_layout()
    fig.savefig(out_dir / "learning_curves.png", dpi=80)
    plt.close(fig)


def write_fixture(path: Path, config: dict[str, Any], n_snapshots: int = 10) -> None:
    """The last ``n_snapshots`` raw snapshots of the shipped model's held-out bearing (milli-g),
    its baseline feature mean, and the shipped model's outputs on them."""
    models, meta = load_shipped(REPO_ROOT / config.get("models_dir", "models/femto_states"))
    bearing = femto.load_bearing(meta["test_bearing"])
    fcfg = BearingWindowConfig.from_dict(meta["feature_config"])
    acc = bearing.acc_g
    baseline = window_features(acc[: int(meta["baseline_snapshots"])], bearing.fs,
                               bearing.rpm / 60.0, fcfg).mean(axis=0)
    # milli-g integers are the data set's own lossless encoding (int32: failure peaks > 32 g)
    last_mg = np.round(acc[-n_snapshots:].astype(np.float64) * 1000.0).astype(np.int32)
    feats = window_features(last_mg / 1000.0, bearing.fs, bearing.rpm / 60.0, fcfg) - baseline
    data = BearingFeatures(bearing.name, bearing.t_s[-n_snapshots:], feats.astype(np.float32),
                           np.full(n_snapshots, len(STATE_NAMES) - 1))
    out = predict_bearing(models, data, config)
    np.savez_compressed(path, snapshots_mg=last_mg,
                        baseline=baseline.astype(np.float32), fs=bearing.fs, rpm=bearing.rpm,
                        probs=out["probs"], score=out["score"], bearing=bearing.name)
