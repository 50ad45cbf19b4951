"""Semi-supervised training (paper 003, eq. 37-40): a few labelled windows plus a machine's
unlabelled recordings, through the one training loop (`loop.fit(..., unlabelled=...)`).

On every unlabelled batch u (A = a random augmentation, q = softmax of a classification head):
* pseudo-labels (eq. 37, 39): where the prediction on u is confident, max q(u) >= threshold,
  its class is a label for the augmented view A(u), the cross-entropy weighted by that
  confidence; q(u) is computed without gradient (the target), so the term pulls A(u) towards
  what the model already says with confidence about u;
* consistency (eq. 38): || q(u) - q(A(u)) ||^2 (squared L2 over classes, mean over samples),
  again with q(u) as a fixed target;
* entropy minimisation (eq. 40): mean entropy of q(u).
Every head given by `heads_of` (Stage 1: health state and fault type) gets the three terms,
times its weight. The weights and the threshold are fixed here, before any evaluation, not tuned.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from pm_monitor.training.loop import UnlabelledLoss

# model output -> [(logits (B, C), weight), ...]
HeadsOf = Callable[[object], Sequence[tuple[torch.Tensor, float]]]
# (inputs (B, ...), generator) -> augmented inputs
InputAugment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


@dataclass(frozen=True)
class SemiSupervisedConfig:
    threshold: float = 0.95  # gamma of eq. 37
    pseudo_weight: float = 1.0
    consistency_weight: float = 1.0
    entropy_weight: float = 0.1


def single_head(output: object) -> list[tuple[torch.Tensor, float]]:
    """A model whose output is the logits tensor itself."""
    return [(output, 1.0)]


def unlabelled_terms(clean_logits: torch.Tensor, augmented_logits: torch.Tensor,
                     threshold: float) -> dict[str, torch.Tensor]:
    """The three unlabelled losses of one head (each a scalar) and the share of confident
    samples (no gradient)."""
    q = torch.softmax(clean_logits, -1)
    target = q.detach()
    confidence, pseudo = target.max(-1)
    confident = (confidence >= threshold).to(q.dtype)
    per_sample = F.cross_entropy(augmented_logits, pseudo, reduction="none")
    q_augmented = torch.softmax(augmented_logits, -1)
    return {
        "pseudo": (confident * confidence * per_sample).mean(),
        "consistency": ((q_augmented - target) ** 2).sum(-1).mean(),
        "entropy": -(q * torch.log(q.clamp_min(1e-12))).sum(-1).mean(),
        "confident_share": confident.mean().detach(),
    }


def semi_supervised_loss(augment: InputAugment, config: SemiSupervisedConfig | None = None,
                         heads_of: HeadsOf = single_head) -> UnlabelledLoss:
    """The unlabelled loss for `loop.fit`: batches are (inputs,)."""
    config = config or SemiSupervisedConfig()

    def loss(model: nn.Module, batch: tuple[torch.Tensor, ...],
             generator: torch.Generator) -> torch.Tensor:
        inputs = batch[0]
        clean = heads_of(model(inputs))
        augmented = heads_of(model(augment(inputs, generator)))
        total = inputs.new_zeros(())
        for (clean_logits, weight), (aug_logits, _) in zip(clean, augmented, strict=True):
            terms = unlabelled_terms(clean_logits, aug_logits, config.threshold)
            total = total + weight * (config.pseudo_weight * terms["pseudo"]
                                      + config.consistency_weight * terms["consistency"]
                                      + config.entropy_weight * terms["entropy"])
        return total

    return loss


def noise_and_dropout(noise_std: float = 0.2, feature_drop: float = 0.1,
                      groups: Sequence[slice] = (), group_drop: float = 0.0) -> InputAugment:
    """Augmentation of standardised features (z-scores): Gaussian noise, each feature zeroed
    (= imputed with the training mean) with feature_drop, each sensor group with group_drop.
    Works on (B, D) and (B, T, D)."""

    def augment(inputs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        noise = torch.randn(inputs.shape, generator=generator) * noise_std
        shape = (inputs.shape[0], *([1] * (inputs.dim() - 2)), inputs.shape[-1])
        keep = (torch.rand(shape, generator=generator) >= feature_drop).to(inputs.dtype)
        for group in groups:
            dropped = torch.rand(inputs.shape[0], generator=generator) < group_drop
            keep[dropped, ..., group] = 0.0
        return (inputs + noise) * keep

    return augment


def labelled_subset(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Sorted row indices of a class-stratified random `fraction` of the rows, at least one row
    of every class present (a user labels at least one event of each kind they know)."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    rng = np.random.default_rng(seed)
    chosen = []
    for label in np.unique(labels):
        rows = np.flatnonzero(labels == label)
        count = max(1, round(fraction * rows.size))
        chosen.append(rng.choice(rows, size=count, replace=False))
    return np.sort(np.concatenate(chosen))
