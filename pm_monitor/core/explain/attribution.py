"""Integrated gradients on Stage 1 (via captum) and its aggregation per sensor and modality.

The baseline is either the all-zero sequence (every feature at its training mean, which is also
what a missing sensor is imputed with) or a small background of healthy sequences. With K
healthy baselines the attribution is the mean of K integrated-gradients runs (the "expected
gradients" form of SHAP's GradientExplainer): it says how much the deviation from *healthy*
operation moved the decision, and completeness holds against the mean healthy output.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from captum.attr import IntegratedGradients
from torch import nn

LogitsOf = Callable[[object], torch.Tensor]


def default_logits(output: object) -> torch.Tensor:
    """The class logits of a model output: `.state_logits` (Stage 1), `[0]` of a tuple, or the
    tensor itself."""
    if hasattr(output, "state_logits"):
        return output.state_logits
    if isinstance(output, tuple):
        return output[0]
    if isinstance(output, torch.Tensor):
        return output
    raise TypeError(f"cannot find logits in a model output of type {type(output).__name__}")


@dataclass(frozen=True)
class Attribution:
    """Integrated gradients of one target logit for one (T, D) input sequence."""

    values: np.ndarray  # (T, D) attributions
    target: int
    output: float  # f(x), the target logit
    baseline_output: float  # mean f(baseline) over the baselines used
    completeness_error: float  # |sum(values) - (output - baseline_output)|
    n_baselines: int  # 0 = the all-zero (training mean) baseline

    @property
    def relative_completeness_error(self) -> float:
        """completeness_error / |f(x) - f(baseline)| (0 when the two outputs coincide)."""
        gap = abs(self.output - self.baseline_output)
        return self.completeness_error / gap if gap > 1e-12 else 0.0


def integrated_gradients(
    model: nn.Module,
    sequence: np.ndarray,
    target: int,
    baselines: np.ndarray | None = None,
    n_steps: int = 32,
    logits_of: LogitsOf = default_logits,
) -> Attribution:
    """IG of `target`'s logit w.r.t. a (T, D) sequence against zero or (K, T, D) baselines."""
    sequence = np.asarray(sequence, dtype=np.float32)
    if sequence.ndim != 2:
        raise ValueError(f"expected a (T, D) sequence, got shape {sequence.shape}")
    if baselines is None or len(baselines) == 0:
        refs = np.zeros((1, *sequence.shape), np.float32)
        n_baselines = 0
    else:
        refs = np.asarray(baselines, dtype=np.float32)
        if refs.shape[1:] != sequence.shape:
            raise ValueError(f"baselines {refs.shape} do not match the sequence {sequence.shape}")
        n_baselines = len(refs)

    def target_logits(inputs: torch.Tensor) -> torch.Tensor:
        return logits_of(model(inputs))

    inputs = torch.from_numpy(np.repeat(sequence[None], len(refs), axis=0))
    explainer = IntegratedGradients(target_logits)
    with torch.enable_grad():
        values = explainer.attribute(
            inputs, baselines=torch.from_numpy(refs), target=target, n_steps=n_steps,
            internal_batch_size=max(n_steps, 64) * len(refs),
        )
    with torch.no_grad():
        output = float(target_logits(inputs[:1])[0, target])
        baseline_output = float(target_logits(torch.from_numpy(refs))[:, target].mean())
    mean_values = values.detach().numpy().mean(axis=0)
    error = abs(float(mean_values.sum()) - (output - baseline_output))
    return Attribution(mean_values, target, output, baseline_output, error, n_baselines)


def shares(groups: dict[str, float]) -> dict[str, float]:
    """Normalise non-negative importances to sum 1 (all zero stays all zero)."""
    total = sum(groups.values())
    return {name: (value / total if total > 0 else 0.0) for name, value in groups.items()}


@dataclass(frozen=True)
class SensorLayout:
    """Where each sensor's features lie in the feature vector, and each sensor's modality."""

    feature_names: tuple[str, ...]
    sensor_slices: dict[str, slice]
    modality_of_sensor: dict[str, str]

    @classmethod
    def from_extractor(cls, extractor) -> SensorLayout:  # a FeatureExtractor
        return cls(
            tuple(extractor.feature_names),
            {s: extractor.sensor_slice(s) for s in extractor.sensor_groups},
            {s: extractor.modality_of_sensor(s) for s in extractor.sensor_groups},
        )

    @property
    def sensors(self) -> tuple[str, ...]:
        return tuple(self.sensor_slices)


@dataclass(frozen=True)
class Importance:
    """|IG| shares (each sums to 1) per feature, sensor, modality and time step."""

    features: dict[str, float]
    sensors: dict[str, float]
    modalities: dict[str, float]
    time_steps: np.ndarray  # (T,)


def aggregate(values: np.ndarray, layout: SensorLayout) -> Importance:
    """Shares of the absolute attribution, summed over time per feature and grouped."""
    magnitude = np.abs(values)
    per_feature = magnitude.sum(axis=0)
    if per_feature.size != len(layout.feature_names):
        raise ValueError(f"{per_feature.size} attributions for "
                         f"{len(layout.feature_names)} features")
    sensors = {s: float(per_feature[sl].sum()) for s, sl in layout.sensor_slices.items()}
    modalities: dict[str, float] = {}
    for sensor, value in sensors.items():
        modality = layout.modality_of_sensor[sensor]
        modalities[modality] = modalities.get(modality, 0.0) + value
    per_step = magnitude.sum(axis=1)
    total = per_step.sum()
    steps = (per_step / total if total > 0 else per_step).astype(np.float32)
    return Importance(
        shares(dict(zip(layout.feature_names, per_feature.tolist(), strict=True))),
        shares(sensors), shares(modalities), steps,
    )
