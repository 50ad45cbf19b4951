"""Anomaly model ([P4]): a small MLP autoencoder on the standardised feature vector.

Trained on healthy windows only; the reconstruction error of a window is its anomaly score.
"""
from __future__ import annotations

import torch
from torch import nn


class FeatureAutoencoder(nn.Module):
    """n_features -> hidden -> bottleneck -> hidden -> n_features."""

    def __init__(self, n_features: int, hidden_size: int = 32, bottleneck_size: int = 8) -> None:
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Linear(n_features, hidden_size), nn.ReLU(), nn.Linear(hidden_size, bottleneck_size)
        )
        self.decoder = nn.Sequential(
            nn.Linear(bottleneck_size, hidden_size), nn.ReLU(), nn.Linear(hidden_size, n_features)
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(features))


def reconstruction_error(
    model: FeatureAutoencoder, features: torch.Tensor, present: torch.Tensor
) -> torch.Tensor:
    """Mean squared reconstruction error per row over the features actually measured.

    Absent features were imputed with the training mean; scoring them would only measure how well
    the model reproduces that constant, so they are left out of the mean.
    """
    weights = present.to(features.dtype)
    squared = (model(features) - features) ** 2 * weights
    return squared.sum(dim=-1) / weights.sum(dim=-1).clamp(min=1.0)
