"""Shapley values of a Stage 1 decision per sensor and per modality (paper 000 ranks sensors
with SHAP).

The players are whole sensors (all features of `accel_x`, ..., `thermal` over every time step)
in one game and whole modalities in a second game; an absent player is replaced by the reference
sequence: the healthy background's mean when the explainer has one (the reference of the
deletion test), else all zeros (training mean = missing-sensor imputation). The value of a
coalition is the logit of the explained state.

How: with few players (5 sensors, 3 modalities on the rig) the value is computed EXACTLY: all
2^n coalitions go through the model in one batch (40 rows, ~10 ms) and are combined with the
Shapley weights |S|! (n-|S|-1)! / n!. captum's ShapleyValueSampling (unbiased, exact efficiency
per permutation) was measured first (benchmarks/shapley_benchmark.py): its per-permutation
forward calls cost ~10x more for the same players, and at the budgets that fit the worker its
sensor ranking still differs from the exact one (sensors interact strongly: the three
accelerometer axes see the same impacts). captum's KernelShap (a weighted regression that
keeps neither efficiency nor a stable ranking at such budgets) needs scikit-learn, not installed.
Above MAX_EXACT_PLAYERS players (2^n rows too many) captum's ShapleyValueSampling with
`n_permutations` is used. The exact path is checked against captum's exact ShapleyValues in
the tests.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import factorial

import numpy as np
import torch
from captum.attr import ShapleyValueSampling
from torch import nn

from pm_monitor.core.explain.attribution import LogitsOf, SensorLayout, default_logits

MAX_EXACT_PLAYERS = 8  # 2^8 = 256 rows in one batch
DEFAULT_PERMUTATIONS = 25  # only for larger games


@dataclass(frozen=True)
class ShapleyAttribution:
    """Signed Shapley values of the target logit; each game's values sum to
    output - reference_output (up to float error)."""

    sensors: dict[str, float]
    modalities: dict[str, float]
    target: int
    output: float  # f(x), the target logit
    reference_output: float  # f(reference)
    method: str
    evaluations: int  # forward passes (rows) spent on both games

    @property
    def efficiency_error(self) -> float:
        """Largest |sum(values) - (output - reference_output)| over the two games."""
        gap = self.output - self.reference_output
        return max(abs(sum(self.sensors.values()) - gap), abs(sum(self.modalities.values()) - gap))

    def sensor_shares(self) -> dict[str, float]:
        """|phi| shares per sensor (sum 1), comparable with the |IG| shares."""
        total = sum(abs(v) for v in self.sensors.values())
        return {s: (abs(v) / total if total > 0 else 0.0) for s, v in self.sensors.items()}

    def ranked_sensors(self) -> list[str]:
        """Sensors by decreasing |phi|."""
        return sorted(self.sensors, key=lambda s: -abs(self.sensors[s]))


def player_masks(layout: SensorLayout, steps: int) -> tuple[torch.Tensor, torch.Tensor,
                                                             list[str], list[str]]:
    """(1, T, D) feature masks numbering the sensors and the modalities, and their names."""
    sensors = list(layout.sensors)
    modalities = list(dict.fromkeys(layout.modality_of_sensor[s] for s in sensors))
    d = len(layout.feature_names)
    sensor_ids = np.full(d, -1, np.int64)
    modality_ids = np.full(d, -1, np.int64)
    for i, sensor in enumerate(sensors):
        sensor_ids[layout.sensor_slices[sensor]] = i
        modality_ids[layout.sensor_slices[sensor]] = modalities.index(
            layout.modality_of_sensor[sensor])
    if (sensor_ids < 0).any():
        raise ValueError("the sensor slices do not cover every feature")

    def mask(ids: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.broadcast_to(ids, (steps, d)).copy())[None]

    return mask(sensor_ids), mask(modality_ids), sensors, modalities


def coalition_weights(n_players: int) -> tuple[np.ndarray, np.ndarray]:
    """(2^n, n) membership of every coalition (row b: bit i = player i present) and the
    (n, 2^n) matrix W with phi = W @ v(coalitions): W[i, S+i] = w(|S|), W[i, S] = -w(|S|) for
    every S without i, w(s) = s! (n-s-1)! / n!."""
    coalitions = (np.arange(2**n_players)[:, None] >> np.arange(n_players)) & 1
    sizes = coalitions.sum(1)
    weight = np.array([factorial(s) * factorial(n_players - s - 1) / factorial(n_players)
                       for s in range(n_players)])
    matrix = np.zeros((n_players, 2**n_players))
    for i in range(n_players):
        without = np.flatnonzero(coalitions[:, i] == 0)
        matrix[i, without | (1 << i)] += weight[sizes[without]]
        matrix[i, without] -= weight[sizes[without]]
    return coalitions.astype(bool), matrix


def _exact_game(logit, inputs: torch.Tensor, baseline: torch.Tensor, mask: torch.Tensor,
                n_players: int, target: int) -> list[float]:
    coalitions, matrix = coalition_weights(n_players)
    present = torch.from_numpy(coalitions)[:, mask[0]]  # (2^n, T, D)
    batch = torch.where(present, inputs, baseline)
    values = logit(batch)[:, target].double().numpy()
    return (matrix @ values).tolist()


def _sampled_game(logit, inputs: torch.Tensor, baseline: torch.Tensor, mask: torch.Tensor,
                  n_players: int, target: int, n_permutations: int) -> list[float]:
    phi = ShapleyValueSampling(logit).attribute(
        inputs, baselines=baseline, target=target, feature_mask=mask,
        n_samples=n_permutations, perturbations_per_eval=n_players)
    return [float(phi[mask == i][0]) for i in range(n_players)]


def sensor_shapley(
    model: nn.Module,
    sequence: np.ndarray,
    target: int,
    layout: SensorLayout,
    reference: np.ndarray | None = None,
    n_permutations: int = DEFAULT_PERMUTATIONS,
    logits_of: LogitsOf = default_logits,
    seed: int = 0,
) -> ShapleyAttribution:
    """Shapley values of `target`'s logit for a (T, D) sequence, per sensor and per modality.

    Exact for games of at most MAX_EXACT_PLAYERS players; larger games are sampled with
    n_permutations permutations (captum ShapleyValueSampling, seeded)."""
    sequence = np.asarray(sequence, np.float32)
    if sequence.ndim != 2:
        raise ValueError(f"expected a (T, D) sequence, got shape {sequence.shape}")
    ref = np.zeros_like(sequence) if reference is None else np.asarray(reference, np.float32)
    if ref.shape != sequence.shape:
        raise ValueError(f"reference {ref.shape} does not match the sequence {sequence.shape}")
    sensor_mask, modality_mask, sensors, modalities = player_masks(layout, sequence.shape[0])
    calls = [0]

    def logit(inputs: torch.Tensor) -> torch.Tensor:
        calls[0] += inputs.shape[0]
        return logits_of(model(inputs))

    inputs, baseline = torch.from_numpy(sequence)[None], torch.from_numpy(ref)[None]
    methods, values = [], []
    # captum draws permutations from torch's global generator: fork it so the caller's stream
    # is untouched and the same window always gets the same answer
    with torch.no_grad(), torch.random.fork_rng():
        torch.manual_seed(seed)
        for mask, n_players in ((sensor_mask, len(sensors)), (modality_mask, len(modalities))):
            if n_players <= MAX_EXACT_PLAYERS:
                values.append(_exact_game(logit, inputs, baseline, mask, n_players, target))
                methods.append("exact")
            else:
                values.append(_sampled_game(logit, inputs, baseline, mask, n_players, target,
                                            n_permutations))
                methods.append(f"shapley_value_sampling(captum, {n_permutations} permutations)")
        evaluations = calls[0]
        both = logit(torch.cat([inputs, baseline]))[:, target]
    return ShapleyAttribution(
        dict(zip(sensors, values[0], strict=True)), dict(zip(modalities, values[1], strict=True)),
        target, float(both[0]), float(both[1]),
        f"shapley(sensors {methods[0]}, modalities {methods[1]})", evaluations)
