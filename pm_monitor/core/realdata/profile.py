"""The models of the real-data model set (``models/real_data/model_set.json``), loaded and
checked against each other by its builder (pm_monitor.core.model_set.real_data):

    profile = load_profile(read_descriptor("models/real_data"), shaft_rpm=None)

Every model is loaded with its own loader (``load_weights``, ``load_acoustic_model``), so a
missing, corrupt or mismatched file is a ``ModelLoadError`` naming that file; the descriptor's
values (baseline length, sequence length, states) are checked against the Stage 1 metadata.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pm_monitor.core.features.bearing_window import BearingWindowConfig, feature_names
from pm_monitor.core.features.spectrogram import SpectrogramConfig
from pm_monitor.core.model_set.descriptor import ModelSetDescriptor
from pm_monitor.core.models.acoustic_anomaly import (
    BandStandardiser,
    SpectrogramAutoencoder,
    load_acoustic_model,
)
from pm_monitor.core.models.autoencoder import FeatureAutoencoder
from pm_monitor.core.models.bundle import ModelLoadError
from pm_monitor.core.models.camera_defect import CameraDefectNet
from pm_monitor.core.models.normalization import FeatureScaler
from pm_monitor.core.models.stage1_bilstm import HealthStateBiLSTM
from pm_monitor.core.models.thermal_resnet import ThermalResNet
from pm_monitor.core.models.threshold import ThresholdConfig
from pm_monitor.core.models.weights import load_weights, release_version
from pm_monitor.core.realdata.femto_features import threshold_config
from pm_monitor.core.types import ACCEL, CAMERA, MIC, THERMAL

THERMAL_KIND, CAMERA_KIND = "thermal_palette_classifier", "camera_defect"
ACOUSTIC_KIND = "acoustic_autoencoder"
MODEL_KEYS = ("stage1", "autoencoder", "thermal", "camera", "acoustic")
# model names the training tasks write into each metadata file
STAGE1_NAME, AE_NAME = "femto_stage1_bilstm", "femto_feature_autoencoder"
THERMAL_NAME, CAMERA_NAME = "thermal_classifier", "camera_defect"


@dataclass(frozen=True)
class AccelInput:
    channels: tuple[str, ...]
    sample_rate_hz: float
    unit: str  # the unit of training (the pipeline converts other units to it)


@dataclass(frozen=True)
class ThermalStage2:
    model: ThermalResNet
    class_names: tuple[str, ...]
    downscale: int
    assumed_span_c: tuple[float, float]


@dataclass(frozen=True)
class CameraStage2:
    model: CameraDefectNet
    class_names: tuple[str, ...]
    image_size: int


@dataclass(frozen=True)
class AcousticStage2:
    model: SpectrogramAutoencoder
    standardiser: BandStandardiser
    spectrogram: SpectrogramConfig
    patch_hop: int
    threshold: float | None  # None: the score is reported, never judged
    machine: str

    @property
    def clip_samples(self) -> int:
        """Samples of one model patch: (patch frames - 1) x hop + n_fft (frames not padded)."""
        return (self.model.n_frames - 1) * self.spectrogram.hop + self.spectrogram.n_fft


@dataclass(frozen=True)
class RealDataProfile:
    path: Path
    stage1: HealthStateBiLSTM
    autoencoder: FeatureAutoencoder
    scaler: FeatureScaler
    threshold: ThresholdConfig
    feature_config: BearingWindowConfig
    feature_names: tuple[str, ...]
    accel: AccelInput
    shaft_rpm: float
    baseline_snapshots: int
    sequence_length: int
    state_names: tuple[str, ...]
    fault_type: str
    window_s: float
    hop_s: float
    thermal: ThermalStage2
    camera: CameraStage2
    acoustic: AcousticStage2
    mic_sample_rate_hz: float
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def accel_channels(self) -> tuple[str, ...]:
        return self.accel.channels

    @property
    def accel_unit(self) -> str:
        return self.accel.unit

    @property
    def sample_rates(self) -> dict[str, float]:
        """Input -> the only sample rate its model accepts."""
        return {ACCEL: self.accel.sample_rate_hz, MIC: self.mic_sample_rate_hz}

    def describe(self) -> list[str]:
        """One line per model (file, what it was measured at) and the input layout, for the
        node's start-up log."""
        lines = [f"{self.info['name']}: accel {', '.join(self.accel_channels)} at "
                 f"{self.accel.sample_rate_hz:g} Hz in {self.accel_unit}, window "
                 f"{self.window_s:g} s / hop {self.hop_s:g} s, shaft {self.shaft_rpm:g} rpm, "
                 f"commissioning baseline {self.baseline_snapshots} windows, mic "
                 f"{self.mic_sample_rate_hz:g} Hz"]
        for key, model in self.info["models"].items():
            lines.append(f"{key}: {Path(model['file']).name} ({model['model']}, "
                         f"{release_version(model['code_version'])}): "
                         f"{_headline(key, model['metrics'])}")
        return lines

    @property
    def shaft_hz(self) -> float:
        return self.shaft_rpm / 60.0

    @property
    def version(self) -> str:
        """Readable model version: profile name + each model's code version and date."""
        models = self.info["models"]
        parts = [f"{key} {release_version(m['code_version'])} {m['created'][:10]}"
                 for key, m in models.items()]
        return f"{self.info['name']} ({'; '.join(parts)})"


def load_profile(descriptor: ModelSetDescriptor, shaft_rpm: float | None = None
                 ) -> RealDataProfile:
    """Every model the real-data model set's descriptor names, loaded and checked against each
    other; ModelLoadError naming the bad file.

    shaft_rpm: the monitored shaft's speed (default: the descriptor's, FEMTO condition 1); the
    bearing defect frequencies of the envelope features follow it."""
    path = descriptor.path
    stages = descriptor.stages
    spec = stages["stage1"]
    files = _model_files(descriptor)
    stage1, meta = load_weights(HealthStateBiLSTM, files["stage1"], STAGE1_NAME)
    autoencoder, ae_meta = load_weights(FeatureAutoencoder, files["autoencoder"], AE_NAME)
    thermal, thermal_meta = load_weights(ThermalResNet, files["thermal"], THERMAL_NAME)
    camera, camera_meta = load_weights(CameraDefectNet, files["camera"], CAMERA_NAME)
    acoustic, standardiser, spectrogram, acoustic_meta = load_acoustic_model(files["acoustic"])
    metas = {"stage1": meta, "autoencoder": ae_meta, "thermal": thermal_meta,
             "camera": camera_meta, "acoustic": acoustic_meta}
    rpm = float(spec["shaft_rpm"] if shaft_rpm is None else shaft_rpm)
    if not 0.0 < rpm < 1e5:
        raise ValueError(f"shaft speed must be in (0, 1e5) rpm, got {rpm:g}")
    inputs = descriptor.inputs
    try:
        fcfg = BearingWindowConfig.from_dict(meta["feature_config"])
        names = tuple(meta["feature_names"])
        axes = inputs[ACCEL].channels
        if names != feature_names(axes, fcfg):
            raise ValueError(f"feature names of {axes} differ from the model's")
        scaler = FeatureScaler(np.asarray(meta["scaler_mean"], np.float32),
                               np.asarray(meta["scaler_std"], np.float32))
        threshold = threshold_config(meta["anomaly_floor"], meta["threshold"])
        for key in ("baseline_snapshots", "sequence_length", "state_names"):
            if spec[key] != meta[key]:
                raise ValueError(f"stage1 {key} {spec[key]!r} != the model's {meta[key]!r}")
        if meta["test_bearing"] != spec["held_out_bearing"]:
            raise ValueError(f"held_out_bearing {spec['held_out_bearing']} != the model's "
                             f"{meta['test_bearing']}")
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelLoadError(files["stage1"].with_suffix(".json"),
                             f"does not fit the model set {path} ({exc})") from None
    try:
        mic_rate = inputs[MIC].sample_rate_hz
        if mic_rate != spectrogram.sample_rate_hz:
            raise ValueError(f"mic sample_rate_hz {mic_rate} != the acoustic model's "
                             f"{spectrogram.sample_rate_hz:g}")
        span = tuple(float(v) for v in descriptor.data["inputs"][THERMAL]["assumed_span_c"])
        if len(span) != 2 or not span[1] > span[0]:
            raise ValueError(f"thermal assumed_span_c must be [low, high], got {list(span)}")
        accel_rate = inputs[ACCEL].sample_rate_hz
        if accel_rate is None:
            raise ValueError("inputs.accel.sample_rate_hz must be set (the FEMTO rate)")
        acoustic_threshold = _scorer(descriptor).get("threshold")
        profile = RealDataProfile(
            path=path, stage1=stage1, autoencoder=autoencoder, scaler=scaler,
            threshold=threshold, feature_config=fcfg, feature_names=names,
            accel=AccelInput(axes, accel_rate, inputs[ACCEL].unit), shaft_rpm=rpm,
            baseline_snapshots=int(spec["baseline_snapshots"]),
            sequence_length=int(spec["sequence_length"]),
            state_names=tuple(spec["state_names"]), fault_type=str(spec["fault_type"]),
            window_s=descriptor.window_s, hop_s=descriptor.hop_s,
            thermal=ThermalStage2(thermal, tuple(thermal_meta["class_names"]),
                                  int(thermal_meta["features"]["downscale"]), span),
            camera=CameraStage2(camera, tuple(camera_meta["class_names"]),
                                int(camera_meta["features"]["image_size"])),
            acoustic=AcousticStage2(acoustic, standardiser, spectrogram,
                                    int(acoustic_meta["features"]["score_patch_hop"]),
                                    None if acoustic_threshold is None
                                    else float(acoustic_threshold),
                                    str(acoustic_meta.get("machine", ""))),
            mic_sample_rate_hz=float(mic_rate),
            info={"name": descriptor.name, "description": descriptor.description,
                  "profile": str(path), "shaft_rpm": rpm,
                  "models": {key: {"file": str(files[key]), "model": m["model"],
                                   "code_version": m["code_version"], "created": m["created"],
                                   "metrics": m["metrics"]} for key, m in metas.items()}})
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelLoadError(path, f"invalid real-data model set ({exc!r})") from None
    if len(profile.thermal.class_names) != thermal.classifier.out_features:
        raise ModelLoadError(files["thermal"].with_suffix(".json"), "class_names do not match "
                             "the classifier's outputs")
    if len(profile.camera.class_names) != camera.classifier.out_features:
        raise ModelLoadError(files["camera"].with_suffix(".json"), "class_names do not match "
                             "the classifier's outputs")
    return profile


def _headline(key: str, metrics: dict[str, Any]) -> str:
    """The held-out number each model is known by (its metadata's metrics)."""
    def mean(name: str) -> float:
        value = metrics[name]
        return float(value["mean"] if isinstance(value, dict) else value)
    try:
        if key == "stage1":
            return (f"held-out bearing AUROC Normal-vs-not {mean('auroc_stage1'):.3f}, "
                    f"macro-F1 {mean('macro_f1'):.2f}")
        if key == "autoencoder":
            return f"held-out bearing AUROC {mean('auroc_anomaly'):.3f}"
        if key == "thermal":
            return f"block-fold accuracy {mean('cnn_accuracy'):.3f}"
        if key == "camera":
            return f"hold-out accuracy {mean('accuracy'):.3f}"
        return f"AUROC {mean('autoencoder_auroc'):.3f}"
    except (KeyError, TypeError, ValueError):
        return "metrics: see its metadata"


def _localizer(descriptor: ModelSetDescriptor, kind: str) -> dict[str, Any]:
    found = [e for e in descriptor.stages.get("localizers", []) if e["kind"] == kind]
    if len(found) != 1:
        raise descriptor.error(f"stages.localizers must hold one {kind}")
    return found[0]


def _scorer(descriptor: ModelSetDescriptor) -> dict[str, Any]:
    found = [e for e in descriptor.stages.get("scorers", []) if e["kind"] == ACOUSTIC_KIND]
    if len(found) != 1:
        raise descriptor.error(f"stages.scorers must hold one {ACOUSTIC_KIND}")
    return found[0]


def _model_files(descriptor: ModelSetDescriptor) -> dict[str, Path]:
    """Weight file of each model, named by the stages (ModelLoadError for a lacking one)."""
    stage1 = descriptor.stages["stage1"]
    named = {"stage1": stage1.get("weights"), "autoencoder": stage1.get("anomaly_weights"),
             "thermal": _localizer(descriptor, THERMAL_KIND).get("weights"),
             "camera": _localizer(descriptor, CAMERA_KIND).get("weights"),
             "acoustic": _scorer(descriptor).get("weights")}
    lacking = [key for key, file in named.items() if not isinstance(file, str)]
    if lacking:
        raise descriptor.error(f"no weights named for {', '.join(lacking)}")
    for modality in (ACCEL, MIC, THERMAL, CAMERA):
        if modality not in descriptor.inputs:
            raise descriptor.error(f"inputs lacks {modality}")
    return {key: descriptor.file(file) for key, file in named.items()}
