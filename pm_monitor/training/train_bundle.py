"""Train every model of the bundle from generated runs (training runs fit, validation runs stop
early and set thresholds; held-out runs are never seen here)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from pm_monitor.core.features import FeatureConfig, FeatureExtractor
from pm_monitor.core.models.bundle import ModelBundle
from pm_monitor.core.models.normalization import FeatureScaler
from pm_monitor.core.models.threshold import ThresholdConfig
from pm_monitor.core.types import HealthState
from pm_monitor.training.health_indicator_fit import fit_health_indicator
from pm_monitor.training.loop import FitConfig, FitHistory
from pm_monitor.training.rig_bundle_architecture import untrained_bundle
from pm_monitor.training.rig_dataset import RunData, location_masks
from pm_monitor.training.sequences import build_sequences
from pm_monitor.training.train_anomaly import anomaly_scores, train_autoencoder
from pm_monitor.training.train_stage1 import train_stage1
from pm_monitor.training.train_thermal import train_thermal

MODEL_VERSION = "rig_baseline-1.0"
LABEL = "baseline trained on the simulated rig"
THRESHOLD_FLOOR_QUANTILE = 0.995
THRESHOLD_CEILING_FACTOR = 2.0


@dataclass(frozen=True)
class TrainingConfig:
    stage1: FitConfig
    autoencoder: FitConfig
    thermal: FitConfig
    sequence_length: int = 8
    window_s: float = 1.0
    hop_s: float = 0.5
    thermal_scale_k: float = 5.0
    seed: int = 0


@dataclass
class _Stacked:
    features: np.ndarray
    present: np.ndarray
    state: np.ndarray
    fault_type: np.ndarray
    severity: np.ndarray
    run_lengths: list[int]
    frames: np.ndarray
    location: np.ndarray


def _stack(runs: list[RunData]) -> _Stacked:
    return _Stacked(
        features=np.concatenate([r.features for r in runs]),
        present=np.concatenate([r.present for r in runs]),
        state=np.concatenate([r.state for r in runs]),
        fault_type=np.concatenate([r.fault_type for r in runs]),
        severity=np.concatenate([r.severity for r in runs]),
        run_lengths=[len(r) for r in runs],
        frames=np.concatenate([r.frames for r in runs]),
        location=np.concatenate([r.location for r in runs]),
    )


def train_bundle(
    feature_config: FeatureConfig,
    train_runs: list[RunData],
    val_runs: list[RunData],
    config: TrainingConfig,
    log: Callable[[str], None] = print,
) -> tuple[ModelBundle, dict[str, FitHistory]]:
    torch.manual_seed(config.seed)
    extractor = FeatureExtractor(feature_config)
    groups = [extractor.sensor_slice(s) for s in extractor.sensor_groups]
    train, val = _stack(train_runs), _stack(val_runs)
    bundle = untrained_bundle(feature_config, seed=config.seed)
    bundle.sequence_length, bundle.window_s, bundle.hop_s = (
        config.sequence_length, config.window_s, config.hop_s
    )
    bundle.thermal_scale_k = config.thermal_scale_k

    # Normalisation statistics from the training runs only.
    scaler = FeatureScaler.fit(train.features, train.present)
    bundle.scaler = scaler
    z_train = scaler.standardise(train.features, train.present)
    z_val = scaler.standardise(val.features, val.present)

    log(f"Stage 1: {len(z_train)} training / {len(z_val)} validation sequences")
    seq_train = build_sequences(z_train, train.run_lengths, config.sequence_length)
    seq_val = build_sequences(z_val, val.run_lengths, config.sequence_length)
    histories = {
        "stage1": train_stage1(
            bundle.stage1,
            (seq_train, train.state, train.fault_type),
            (seq_val, val.state, val.fault_type),
            groups, config.stage1, log,
        )
    }

    # Healthy = before any damage (severity 0), not merely "NORMAL": a young fault is normal in
    # state but already shifts features, and must stay able to raise the score.
    healthy_train, healthy_val = train.severity == 0.0, val.severity == 0.0
    log(f"Autoencoder: {healthy_train.sum()} healthy training windows")
    histories["autoencoder"] = train_autoencoder(
        bundle.autoencoder,
        (z_train[healthy_train], train.present[healthy_train]),
        (z_val[healthy_val], val.present[healthy_val]),
        groups, config.autoencoder, log,
    )
    val_scores = anomaly_scores(bundle.autoencoder, z_val[healthy_val], val.present[healthy_val])
    floor = float(np.quantile(val_scores, THRESHOLD_FLOOR_QUANTILE))
    bundle.threshold = ThresholdConfig(floor=floor, ceiling=THRESHOLD_CEILING_FACTOR * floor)

    log(f"Thermal: {len(train.frames)} training / {len(val.frames)} validation frames")
    histories["thermal"] = train_thermal(
        bundle.thermal, (train.frames, train.location), (val.frames, val.location),
        location_masks(), config.thermal, log,
    )

    bundle.health_indicator = fit_health_indicator(z_train, train.severity, extractor.feature_names)

    bundle.info = {
        "label": LABEL,
        "model_versions": {name: MODEL_VERSION for name in ("stage1", "autoencoder", "thermal")},
        "created_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "torch_version": torch.__version__.split("+")[0],
        "training_runs": [r.spec.name for r in train_runs],
        "validation_runs": [r.spec.name for r in val_runs],
        "training_windows": len(z_train),
        "state_counts_train": {
            s.label: int((train.state == s).sum()) for s in HealthState
        },
        "best_epochs": {name: h.best_epoch for name, h in histories.items()},
    }
    return bundle.eval(), histories
