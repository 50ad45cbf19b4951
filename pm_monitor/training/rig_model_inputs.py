"""Model inputs from the simulated rig runs the shipped rig bundle was trained on.

Parity tests, INT8 calibration (injected into core's rig_network_set) and the benchmarks
need inputs the models actually see, not
random tensors: these are built window by window exactly as the cascade builds them (the same
feature extractor, scaler, left-padded history and thermal normalisation), from training runs
of each fault kind at both bearings plus a healthy run, sampled early, mid-way and near failure.
"""
from __future__ import annotations

import functools
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from pm_monitor.core.features import FeatureExtractor
from pm_monitor.core.inference.cascade_models import CalibrationSource
from pm_monitor.core.models.bundle import ModelBundle
from pm_monitor.core.models.thermal_resnet import normalise_thermal_frame
from pm_monitor.core.types import THERMAL
from pm_monitor.sim import RigConfig, RigSimulator
from pm_monitor.training.rig_dataset import rig_window
from pm_monitor.training.run_plan import plan_runs

# Runs of plan_runs("train"): outer race DE, inner race NDE, ball DE, healthy.
DEFAULT_RUNS = ("train_00_outer_race_de_bearing", "train_06_inner_race_nde_bearing",
                "train_08_ball_de_bearing", "train_12_healthy")
SEGMENT_FRACTIONS = (0.3, 0.8, 0.97)  # where in each run a segment of windows ends
INT8_CALIBRATION_BATCH = 8


@dataclass(frozen=True)
class RigModelInputs:
    sequence: np.ndarray  # (N, T, D) Stage 1 inputs
    features: np.ndarray  # (N, D) standardised
    present: np.ndarray  # (N, D) float32 1 / 0
    image: np.ndarray  # (N, 1, H, W) normalised thermal frames
    labels: tuple[str, ...]  # "<run>@<t_end_s>"

    def __len__(self) -> int:
        return len(self.labels)

    def model_inputs(self, model: str, rows: slice | np.ndarray = slice(None)
                     ) -> dict[str, np.ndarray]:
        """Inputs of one cascade model ("stage1", "anomaly", "thermal") for the given rows."""
        if model == "stage1":
            return {"sequence": self.sequence[rows]}
        if model == "anomaly":
            return {"features": self.features[rows], "present": self.present[rows]}
        if model == "thermal":
            return {"image": self.image[rows]}
        raise KeyError(f"no real inputs for model {model!r}")

    def batches(self, model: str, batch_size: int) -> list[dict[str, np.ndarray]]:
        """Whole batches only (TensorRT calibration needs one batch size)."""
        n = len(self) // batch_size * batch_size
        return [self.model_inputs(model, slice(i, i + batch_size)) for i in range(0, n, batch_size)]


def collect_rig_model_inputs(
    bundle: ModelBundle,
    runs: Sequence[str] = DEFAULT_RUNS,
    windows_per_segment: int = 6,
    fractions: Sequence[float] = SEGMENT_FRACTIONS,
) -> RigModelInputs:
    """Consecutive windows (one hop apart) ending at `fractions` of each run's duration."""
    specs = {spec.name: spec for spec in plan_runs("train")}
    unknown = set(runs) - set(specs)
    if unknown:
        raise ValueError(f"unknown training runs {sorted(unknown)}")
    extractor = FeatureExtractor(bundle.feature_config)
    rows: dict[str, list[np.ndarray]] = {"sequence": [], "features": [], "present": [],
                                         "image": []}
    labels: list[str] = []
    total = len(runs) * len(fractions) * windows_per_segment
    with tqdm(total=total, desc="real rig windows", leave=False) as bar:
        for name in runs:
            spec = specs[name]
            simulator = RigSimulator(RigConfig(), spec.schedule, spec.seed)
            for fraction in fractions:
                history: deque[np.ndarray] = deque(maxlen=bundle.sequence_length)
                t_last = round(fraction * spec.duration_s / bundle.hop_s) * bundle.hop_s
                for i in range(windows_per_segment - 1, -1, -1):
                    t_end = t_last - i * bundle.hop_s
                    window = rig_window(simulator, t_end, bundle.window_s)
                    values, present = extractor.extract(window)
                    z = bundle.scaler.standardise(values, present)
                    if not history:
                        history.extend([z] * bundle.sequence_length)
                    else:
                        history.append(z)
                    frame = window.frames[THERMAL].image
                    rows["sequence"].append(np.stack(history))
                    rows["features"].append(z)
                    rows["present"].append(present.astype(np.float32))
                    rows["image"].append(
                        normalise_thermal_frame(frame, bundle.thermal_scale_k)[None])
                    labels.append(f"{name}@{t_end:.1f}")
                    bar.update(1)
    arrays = {k: np.stack(v).astype(np.float32) for k, v in rows.items()}
    return RigModelInputs(labels=tuple(labels), **arrays)


def rig_int8_calibration(bundle: ModelBundle) -> CalibrationSource:
    """INT8 calibration batches from real rig windows, generated once on first use; pass it as
    rig_network_set(bundle, config, calibration=rig_int8_calibration(bundle))."""

    @functools.cache
    def inputs() -> RigModelInputs:  # generated lazily: only INT8 builds need them
        return collect_rig_model_inputs(bundle, windows_per_segment=8)

    return lambda model: inputs().batches(model, INT8_CALIBRATION_BATCH)
