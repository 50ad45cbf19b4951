"""The [P1] gate weights and modality bias for live alerts, from the shipped rig fusion model.

    gates = rig_fusion_gates(bundle, "models/fusion/full.pt")   # ModelLoadError if it won't fit
    explainer = Explainer.from_bundle(bundle, background, modality_gates=gates)

The rig cascade has no fusion model of its own; the GatedFusionNet trained by
pm_monitor/training/tasks/fusion_ablation.py is run beside it, only for the decisions being
explained. Its inputs are rebuilt from what the explainer already gets:

    sensor sequence  the cascade's Stage 1 input (T, D) is standardised with the *bundle's*
                     scaler; undone to raw features, restricted to the fusion's sensor columns
                     and standardised again with the *fusion's* scaler, absent sensors -> 0, as
                     ``fusion_set`` does. Absence is not stored in the Stage 1 input, but the
                     bundle scaler writes exactly 0 for every feature of an absent sensor group,
                     and a measured group never lands on its training mean in all features, so a
                     group whose standardised features are all 0 at a step is taken as absent.
    thermal frame    normalise_thermal_frame(scale 5), rounded through float16 like the stored
                     training frames, mean-pooled 4x; no (or a non-finite) frame -> the model's
                     thermal_present=False path: g = 0, the sensors decide alone.

The running mean E[g] (and with it B_m = E[g_m] - g*_m, g* from the model's metadata) is over
the decisions explained so far in which the gate was free, i.e. both modalities present; a
forced gate says nothing about what the model prefers. It runs on the explainer's worker thread
and is guarded by a lock, so a reader on another thread sees consistent values.
"""
from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pm_monitor.core.explain.explainer import GateReading
from pm_monitor.core.features import FeatureConfig, FeatureExtractor
from pm_monitor.core.inference.specs import DEFAULT_FRAME_HW
from pm_monitor.core.models.bundle import ModelBundle, ModelLoadError
from pm_monitor.core.models.fusion import GatedFusionNet, mean_pool_frames
from pm_monitor.core.models.normalization import FeatureScaler
from pm_monitor.core.models.thermal_resnet import normalise_thermal_frame
from pm_monitor.core.models.weights import load_weights, metadata_path
from pm_monitor.core.types import THERMAL

FUSION_MODEL_NAME = "rig_gated_fusion"
SENSORS = "sensors"
MODALITIES: tuple[str, ...] = (THERMAL, SENSORS)  # the scalar gate g weighs thermal
# fusion_ablation.rig_runs normalises frames with scale 5 and does not store it; a metadata
# "thermal_scale_k" (should a later model record it) takes precedence.
TRAINING_THERMAL_SCALE_K = 5.0


@dataclass(frozen=True)
class FusionInputs:
    sequence: np.ndarray  # (L, n_sensor_features) float32, fusion-standardised
    frame: np.ndarray  # (1, H/pool, W/pool) float32
    sensor_present: bool
    thermal_present: bool


class RigFusionModel:
    """The shipped GatedFusionNet and the map from a bundle's cascade outputs to its inputs."""

    def __init__(self, model: GatedFusionNet, meta: Mapping[str, Any], bundle: ModelBundle,
                 path: Path) -> None:
        self.model = model.eval()
        self.path = path
        try:
            self.scaler = FeatureScaler(np.asarray(meta["scaler_mean"], np.float32),
                                        np.asarray(meta["scaler_std"], np.float32))
            columns = np.asarray(meta["sensor_columns"], dtype=np.int64)
            self.length = int(meta["sequence_length"])
            self.pool = int(meta["thermal_pool"])
            self.scale_k = float(meta.get("thermal_scale_k", TRAINING_THERMAL_SCALE_K))
            self.g_star = float(meta["metrics"]["g_star"])
            own_config = FeatureConfig.from_dict(meta["feature_config"])
            window_hop = (float(meta["window_s"]), float(meta["hop_s"]))
            n_features = int(meta["hyperparameters"]["n_features"])
            # the thermal frame size the model was trained on: the metadata's when it records it
            # (later models should), else the shipped thermal model's input size, which is the
            # size of the rig frames the shipped fusion model was trained on
            frame_h, frame_w = (int(v) for v in meta.get("thermal_frame_hw", DEFAULT_FRAME_HW))
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelLoadError(metadata_path(path), f"invalid fusion metadata: {exc!r}") from None
        self._check_fits(bundle, own_config, columns, window_hop, n_features)
        names = FeatureExtractor(own_config).feature_names
        bundle_names = bundle.feature_names
        self.columns = np.array([bundle_names.index(names[c]) for c in columns], np.int64)
        # the fusion's columns by sensor group (absence is per group, see the module docstring)
        extractor = FeatureExtractor(bundle.feature_config)
        group_of = {c: group for group in extractor.sensor_groups
                    for c in range(extractor.n_features)[extractor.sensor_slice(group)]}
        by_group: dict[str, list[int]] = {}
        for i, c in enumerate(self.columns):
            by_group.setdefault(group_of[int(c)], []).append(i)
        self.groups = [np.asarray(v, np.int64) for v in by_group.values()]
        self.bundle_mean = bundle.scaler.mean[self.columns].astype(np.float64)
        self.bundle_std = bundle.scaler.std[self.columns].astype(np.float64)
        self.empty_frame = np.zeros((1, frame_h // self.pool, frame_w // self.pool), np.float32)

    def _check_fits(self, bundle: ModelBundle, own_config: FeatureConfig, columns: np.ndarray,
                    window_hop: tuple[float, float], n_features: int) -> None:
        def refuse(reason: str) -> None:
            raise ModelLoadError(self.path, f"does not fit the model bundle: {reason}")

        if own_config != bundle.feature_config:
            refuse("its feature configuration differs from the bundle's")
        names = FeatureExtractor(own_config).feature_names
        if columns.size != n_features or columns.size != self.scaler.mean.size:
            refuse(f"{columns.size} sensor columns, {n_features} model inputs and "
                   f"{self.scaler.mean.size} scaler entries disagree")
        if columns.size and (columns.min() < 0 or columns.max() >= len(names)):
            refuse("sensor columns lie outside the feature vector")
        missing = [names[c] for c in columns if names[c] not in bundle.feature_names]
        if missing:
            refuse(f"features {missing} are not in the bundle")
        if window_hop != (bundle.window_s, bundle.hop_s):
            refuse(f"window/hop {window_hop} s differ from the bundle's "
                   f"({bundle.window_s}, {bundle.hop_s}) s")
        if not 1 <= self.length <= bundle.sequence_length:
            refuse(f"sequence length {self.length} is not within the bundle's Stage 1 input "
                   f"of {bundle.sequence_length} steps")
        if self.pool < 1:
            refuse(f"thermal_pool {self.pool} must be >= 1")
        if not 0.0 <= self.g_star <= 1.0:
            refuse(f"g_star {self.g_star} is not within [0, 1]")

    def inputs(self, stage1_input: np.ndarray, thermal_image: np.ndarray | None) -> FusionInputs:
        """Rebuild the fusion's inputs for one decision (see the module docstring)."""
        z = np.asarray(stage1_input)
        if z.ndim != 2 or z.shape[0] < self.length or z.shape[1] <= int(self.columns.max()):
            raise ValueError(f"stage1_input of shape {z.shape} is not the bundle's (T, D) "
                             f"sequence with T >= {self.length}")
        z = z[-self.length:, self.columns]  # the last L steps = fusion_set's left-padded window
        present = np.zeros(z.shape, bool)
        for group in self.groups:
            present[:, group] = np.any(z[:, group] != 0.0, axis=1)[:, None]
        # float64 then float32: the raw feature values the extractor produced, to float32 rounding
        raw = (z.astype(np.float64) * self.bundle_std + self.bundle_mean).astype(np.float32)
        sequence = self.scaler.standardise(raw, present)
        frame, thermal = self.empty_frame, False
        if thermal_image is not None:
            image = np.asarray(thermal_image, np.float32)
            if image.ndim == 2 and image.shape[0] >= self.pool and image.shape[1] >= self.pool \
                    and np.all(np.isfinite(image)):
                frame, thermal = self._frame(image), True
        return FusionInputs(sequence, frame, bool(present.any()), thermal)

    def _frame(self, image: np.ndarray) -> np.ndarray:
        # training stored normalised frames as float16 (rig_dataset.generate_run): round the same
        # way so the live input is the training input, then fusion_set's crop + mean pooling
        x = normalise_thermal_frame(image, self.scale_k).astype(np.float16).astype(np.float32)
        return mean_pool_frames(x, self.pool)[None]

    def gate(self, inputs: FusionInputs) -> float:
        """g, the weight on the thermal branch, for one decision (no gradients)."""
        # an absent modality is already zero (standardise / empty_frame), as predict() feeds it
        with torch.no_grad():
            out = self.model(torch.from_numpy(inputs.sequence)[None],
                             torch.from_numpy(inputs.frame)[None],
                             torch.tensor([inputs.sensor_present]),
                             torch.tensor([inputs.thermal_present]))
        return float(out.gate[0])


class FusionGates:
    """The Explainer's ModalityGates hook: this decision's {thermal: g, sensors: 1 - g}, the
    ideal weights g* and the running modality bias over the decisions explained this run."""

    def __init__(self, fusion: RigFusionModel) -> None:
        self.fusion = fusion
        self.ideal = {THERMAL: fusion.g_star, SENSORS: 1.0 - fusion.g_star}
        self._lock = threading.Lock()
        self._sum = 0.0
        self._count = 0

    def __call__(self, result: object, frames: Mapping[str, object]) -> GateReading:
        frame = frames.get(THERMAL)
        inputs = self.fusion.inputs(result.stage1_input,
                                    None if frame is None else getattr(frame, "image", None))
        g = self.fusion.gate(inputs)
        free = inputs.sensor_present and inputs.thermal_present
        note = ""
        if not inputs.thermal_present:
            note = "no thermal frame: gate forced to 0, the sensors decide alone"
        elif not inputs.sensor_present:
            note = "no sensor data: gate forced to 1, thermal decides alone"
        with self._lock:
            if free:
                self._sum += g
                self._count += 1
            mean_g, count = (self._sum / self._count, self._count) if self._count else (None, 0)
        bias = {} if mean_g is None else {THERMAL: mean_g - self.ideal[THERMAL],
                                           SENSORS: (1.0 - mean_g) - self.ideal[SENSORS]}
        return GateReading({THERMAL: g, SENSORS: 1.0 - g}, dict(self.ideal), bias, count, note)

    def mean_gate(self) -> tuple[float | None, int]:
        """(E[g] over the free decisions so far, or None before the first; their number)."""
        with self._lock:
            return (self._sum / self._count if self._count else None), self._count

    def reset(self) -> None:
        """Start a new run's mean (e.g. when the cascade is reset)."""
        with self._lock:
            self._sum, self._count = 0.0, 0


def load_rig_fusion(bundle: ModelBundle, path: Path | str) -> RigFusionModel:
    """The shipped fusion model checked against the bundle; ModelLoadError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(path, "file not found")
    model, meta = load_weights(GatedFusionNet, path, expected_model=FUSION_MODEL_NAME)
    return RigFusionModel(model, meta, bundle, path)


def rig_fusion_gates(bundle: ModelBundle, path: Path | str) -> FusionGates:
    """One call for the node: Explainer.from_bundle(bundle, ..., modality_gates=<this>)."""
    return FusionGates(load_rig_fusion(bundle, path))
