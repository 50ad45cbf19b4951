"""Fault-type classifier on one window's standardised bearing features (CWRU Stage 1 fault type).

A small MLP: the features (envelope lines at the defect orders, band powers, impulsiveness
statistics) already carry the physics, so two hidden layers are enough, and it trains in seconds
on a 2-core CPU. ``predict_proba`` is the one inference path shared by evaluation, tests and the
robustness study.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn


class VibrationMLP(nn.Module):
    """n_features -> hidden -> hidden -> n_classes logits (LayerNorm-free: inputs are z-scores)."""

    def __init__(self, n_features: int, n_classes: int, hidden_size: int = 64,
                 dropout: float = 0.2) -> None:
        super().__init__()
        if n_features < 1 or n_classes < 2 or hidden_size < 1:
            raise ValueError(f"bad sizes: n_features={n_features}, n_classes={n_classes}, "
                             f"hidden_size={hidden_size}")
        self.net = nn.Sequential(
            nn.Linear(n_features, hidden_size), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden_size, hidden_size), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden_size, n_classes),
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if features.ndim != 2 or features.shape[1] != self.net[0].in_features:
            raise ValueError(f"expected (B, {self.net[0].in_features}) features, "
                             f"got {tuple(features.shape)}")
        return self.net(features)


def predict_proba(model: nn.Module, standardised: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """(N, n_classes) softmax probabilities of standardised feature rows (eval mode, no grad)."""
    model.eval()
    out = []
    with torch.no_grad():
        for first in range(0, len(standardised), batch_size):
            rows = torch.from_numpy(np.ascontiguousarray(standardised[first:first + batch_size],
                                                         dtype=np.float32))
            out.append(torch.softmax(model(rows), dim=-1).numpy())
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)
