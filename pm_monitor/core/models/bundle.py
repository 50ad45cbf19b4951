"""ModelBundle: everything the cascade needs, and its on-disk form.

A bundle directory holds one state_dict file per torch model and a metadata.json with the rest:
feature configuration and names, normalisation statistics (training runs only), class names,
window / hop / sequence length, model hyper-parameters, threshold and RUL settings, versions.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from pm_monitor.core.features import FeatureConfig, FeatureExtractor
from pm_monitor.core.models.autoencoder import FeatureAutoencoder
from pm_monitor.core.models.health_indicator import HealthIndicator
from pm_monitor.core.models.normalization import FeatureScaler
from pm_monitor.core.models.stage1_bilstm import HealthStateBiLSTM
from pm_monitor.core.models.thermal_resnet import ThermalResNet
from pm_monitor.core.models.threshold import ThresholdConfig
from pm_monitor.core.types import FAULT_TYPES, HealthState

BUNDLE_FORMAT = 1
METADATA_FILE = "metadata.json"
WEIGHT_FILES = {
    "stage1": "stage1_bilstm.pt",
    "autoencoder": "anomaly_autoencoder.pt",
    "thermal": "thermal_localizer.pt",
}
LOCATION_NAMES: tuple[str, ...] = ("healthy", "de_bearing", "nde_bearing")
STATE_NAMES: tuple[str, ...] = tuple(state.label for state in HealthState)


class ModelLoadError(RuntimeError):
    """A bundle file is missing or unreadable; names the file and the reason."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"cannot load model bundle file {path}: {reason}")
        self.path = Path(path)
        self.reason = reason


@dataclass
class ModelBundle:
    feature_config: FeatureConfig
    scaler: FeatureScaler
    stage1: HealthStateBiLSTM
    autoencoder: FeatureAutoencoder
    thermal: ThermalResNet
    threshold: ThresholdConfig
    health_indicator: HealthIndicator
    hyperparameters: dict[str, dict[str, Any]]  # constructor kwargs of each torch model
    sequence_length: int = 8
    window_s: float = 1.0
    hop_s: float = 0.5
    thermal_scale_k: float = 5.0
    state_names: tuple[str, ...] = STATE_NAMES
    fault_types: tuple[str, ...] = FAULT_TYPES
    location_names: tuple[str, ...] = LOCATION_NAMES
    info: dict[str, Any] = field(default_factory=dict)  # label, versions, training summary
    # held-out evidence per missing modality, measured through the cascade
    # (training/degraded_evidence.py); read by core/model_set/degraded.py. {}: none measured
    degraded_evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def feature_names(self) -> tuple[str, ...]:
        return FeatureExtractor(self.feature_config).feature_names

    def torch_models(self) -> dict[str, nn.Module]:
        return {"stage1": self.stage1, "autoencoder": self.autoencoder, "thermal": self.thermal}

    def eval(self) -> ModelBundle:
        for model in self.torch_models().values():
            model.eval()
        return self


def save_bundle(bundle: ModelBundle, model_dir: Path | str) -> Path:
    """Write the bundle to model_dir (created if needed); returns the metadata path."""
    directory = Path(model_dir)
    directory.mkdir(parents=True, exist_ok=True)
    for key, model in bundle.torch_models().items():
        torch.save(model.state_dict(), directory / WEIGHT_FILES[key])
    path = save_bundle_metadata(bundle, directory)
    # imported here: the model-set layer builds on bundles, not the other way round
    from pm_monitor.core.model_set.rig import rig_descriptor

    descriptor = rig_descriptor(bundle, str(bundle.info.get("label") or directory.name),
                                directory=directory)
    (directory / "model_set.json").write_text(json.dumps(descriptor, indent=1) + "\n")
    return path


def save_bundle_metadata(bundle: ModelBundle, model_dir: Path | str) -> Path:
    """Write (only) the bundle's metadata.json, e.g. after its held-out evidence was added:
    the weight files are left as they are."""
    directory = Path(model_dir)
    metadata = {
        "format": BUNDLE_FORMAT,
        "info": bundle.info,
        "feature_config": bundle.feature_config.to_dict(),
        "feature_names": list(bundle.feature_names),
        "normalisation": {
            "mean": bundle.scaler.mean.tolist(),
            "std": bundle.scaler.std.tolist(),
        },
        "health_indicator": {
            "weights": bundle.health_indicator.weights.tolist(),
            "bias": bundle.health_indicator.bias,
            "offset": bundle.health_indicator.offset,
        },
        "threshold": asdict(bundle.threshold),
        "hyperparameters": bundle.hyperparameters,
        "sequence_length": bundle.sequence_length,
        "window_s": bundle.window_s,
        "hop_s": bundle.hop_s,
        "thermal_scale_k": bundle.thermal_scale_k,
        "state_names": list(bundle.state_names),
        "fault_types": list(bundle.fault_types),
        "location_names": list(bundle.location_names),
        "weight_files": WEIGHT_FILES,
    }
    if bundle.degraded_evidence:
        metadata["degraded_evidence"] = bundle.degraded_evidence
    path = directory / METADATA_FILE
    path.write_text(json.dumps(metadata, indent=1) + "\n")
    return path


def load_bundle(model_dir: Path | str) -> ModelBundle:
    """Read a bundle written by save_bundle; raises ModelLoadError for any missing/corrupt file."""
    directory = Path(model_dir)
    meta_path = directory / METADATA_FILE
    meta = _read_metadata(meta_path)
    try:
        feature_config = FeatureConfig.from_dict(meta["feature_config"])
        if tuple(meta["feature_names"]) != FeatureExtractor(feature_config).feature_names:
            raise ValueError("feature_names differ from what this feature extractor computes")
        scaler = FeatureScaler(
            np.asarray(meta["normalisation"]["mean"], dtype=np.float32),
            np.asarray(meta["normalisation"]["std"], dtype=np.float32),
        )
        hyper = meta["hyperparameters"]
        models: dict[str, nn.Module] = {
            "stage1": HealthStateBiLSTM(**hyper["stage1"]),
            "autoencoder": FeatureAutoencoder(**hyper["autoencoder"]),
            "thermal": ThermalResNet.from_hyperparameters(hyper["thermal"]),
        }
        health_indicator = HealthIndicator(
            np.asarray(meta["health_indicator"]["weights"], dtype=np.float32),
            float(meta["health_indicator"]["bias"]),
            float(meta["health_indicator"]["offset"]),
        )
        threshold = ThresholdConfig(**meta["threshold"])
        bundle = ModelBundle(
            feature_config=feature_config,
            scaler=scaler,
            stage1=models["stage1"],
            autoencoder=models["autoencoder"],
            thermal=models["thermal"],
            threshold=threshold,
            health_indicator=health_indicator,
            hyperparameters=hyper,
            sequence_length=int(meta["sequence_length"]),
            window_s=float(meta["window_s"]),
            hop_s=float(meta["hop_s"]),
            thermal_scale_k=float(meta["thermal_scale_k"]),
            state_names=tuple(meta["state_names"]),
            fault_types=tuple(meta["fault_types"]),
            location_names=tuple(meta["location_names"]),
            info=dict(meta.get("info", {})),
            degraded_evidence=dict(meta.get("degraded_evidence", {})),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelLoadError(meta_path, f"invalid metadata: {exc!r}") from None
    for key, model in models.items():
        load_state_dict_file(model, directory / WEIGHT_FILES[key])
    return bundle.eval()


def read_json_file(path: Path, missing: str = "file not found") -> dict[str, Any]:
    """A JSON object from a model-side file (bundle metadata, weight metadata, profile);
    ModelLoadError naming the file when it is missing, unreadable or not a JSON object."""
    if not path.is_file():
        raise ModelLoadError(path, missing)
    try:
        value = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelLoadError(path, f"not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise ModelLoadError(path, f"holds a JSON {type(value).__name__}, not an object")
    return value


def _read_metadata(path: Path) -> dict[str, Any]:
    meta = read_json_file(path)
    if meta.get("format") != BUNDLE_FORMAT:
        raise ModelLoadError(path, f"not a bundle metadata file of format {BUNDLE_FORMAT}")
    return meta


def load_state_dict_file(model: nn.Module, path: Path) -> None:
    """Load a state_dict file into `model`; ModelLoadError naming the file for a missing,
    unreadable or mismatched one (never a traceback from deep inside torch)."""
    if not path.is_file():
        raise ModelLoadError(path, "file not found")
    try:
        # weights_only: a bundle is data, never code to execute.
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types (pickle, zip, runtime): report them all
        raise ModelLoadError(path, f"not a readable state_dict ({type(exc).__name__})") from None
    if not isinstance(state, dict):
        raise ModelLoadError(path, "does not contain a state_dict")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else "mismatch"
        raise ModelLoadError(path, f"weights do not fit the model ({first_line})") from None
