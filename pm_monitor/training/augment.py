"""Training-time augmentation shared by Stage 1 and the autoencoder."""
from __future__ import annotations

import torch


def drop_sensor_groups(
    features: torch.Tensor, groups: list[slice], probability: float, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero (= impute with the training mean) each sensor group of each sample with
    `probability`, as a sensor dropout in the field would ([P1]/[P2]: robustness to a
    missing modality). Works on (B, D) or (B, T, D); returns (features, kept mask (B, D))."""
    batch, n_features = features.shape[0], features.shape[-1]
    kept = torch.ones(batch, n_features, dtype=torch.bool)
    for group in groups:
        dropped = torch.rand(batch, generator=generator) < probability
        kept[dropped, group] = False
    shape = (batch, 1, n_features) if features.dim() == 3 else (batch, n_features)
    return features * kept.view(shape).to(features.dtype), kept
