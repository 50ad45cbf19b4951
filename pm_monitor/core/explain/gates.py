"""Per-modality gate weights of a fusion model and the "modality bias" of [P1] (eq. 18-19).

Generic over any model whose output carries gate values: a scalar gate g in [0, 1] per sample
([P1]: c_fused = g c_thermal + (1 - g) c_sensor; g weighs the first named modality), or
one weight per modality per sample (e.g. a softmax over M modalities).

    B_m = E[g_m] - g*_m,   g*_m = F1_m / sum_k F1_k   (the weight unimodal skill would justify)

B_m > 0: the model leans on modality m more than that modality's own skill warrants.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

GateExtractor = Callable[[object], torch.Tensor]


def gates_attribute(name: str = "gates") -> GateExtractor:
    """Extractor for outputs that carry the gates as an attribute or a mapping key."""

    def extract(output: object) -> torch.Tensor:
        if isinstance(output, Mapping) and name in output:
            return output[name]
        if hasattr(output, name):
            return getattr(output, name)
        raise KeyError(f"model output of type {type(output).__name__} has no {name!r} gates")

    return extract


def gate_matrix(gates: np.ndarray | torch.Tensor, n_modalities: int) -> np.ndarray:
    """(N,) scalar gates -> (N, 2) [g, 1 - g]; (N, M) weights checked and returned as float."""
    values = gates.detach().cpu().numpy() if isinstance(gates, torch.Tensor) else np.asarray(gates)
    values = values.astype(np.float64)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim == 1:
        if n_modalities != 2:
            raise ValueError(f"a scalar gate weighs two modalities, {n_modalities} were named")
        values = np.stack([values, 1.0 - values], axis=1)
    if values.ndim != 2 or values.shape[1] != n_modalities:
        raise ValueError(f"gates of shape {values.shape} do not give one weight for each of "
                         f"{n_modalities} modalities")
    if not np.all(np.isfinite(values)) or values.min() < -1e-6 or values.max() > 1 + 1e-6:
        raise ValueError("gate values must be finite and within [0, 1]")
    return values


def gate_weights(
    model: nn.Module,
    inputs: Sequence[torch.Tensor] | torch.Tensor,
    modalities: Sequence[str],
    extract: GateExtractor | None = None,
) -> np.ndarray:
    """Run the model (no gradients) and return its (N, M) modality weights."""
    extract = extract or gates_attribute()
    args = (inputs,) if isinstance(inputs, torch.Tensor) else tuple(inputs)
    with torch.no_grad():
        output = model(*args)
    return gate_matrix(extract(output), len(modalities))


@dataclass(frozen=True)
class ModalityBias:
    mean_gate: dict[str, float]  # E[g_m]
    ideal_gate: dict[str, float]  # g*_m from unimodal F1
    bias: dict[str, float]  # E[g_m] - g*_m

    def most_overweighted(self) -> tuple[str, float]:
        return max(self.bias.items(), key=lambda kv: kv[1])


def mean_gates(weights: np.ndarray, modalities: Sequence[str]) -> dict[str, float]:
    matrix = gate_matrix(weights, len(modalities))
    return {m: float(v) for m, v in zip(modalities, matrix.mean(axis=0), strict=True)}


def modality_bias(weights: np.ndarray, modalities: Sequence[str],
                  unimodal_f1: Mapping[str, float]) -> ModalityBias:
    """The [P1] B per modality from gate weights over a data set and unimodal F1 scores."""
    missing = [m for m in modalities if m not in unimodal_f1]
    if missing:
        raise ValueError(f"no unimodal F1 for {missing}")
    total = sum(float(unimodal_f1[m]) for m in modalities)
    if total <= 0:
        raise ValueError("the unimodal F1 scores sum to 0: no ideal weight exists")
    mean = mean_gates(weights, modalities)
    ideal = {m: float(unimodal_f1[m]) / total for m in modalities}
    return ModalityBias(mean, ideal, {m: mean[m] - ideal[m] for m in modalities})
