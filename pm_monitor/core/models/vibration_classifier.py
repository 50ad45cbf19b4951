"""Fault-type classifier on one window's standardised bearing features (CWRU Stage 1 fault type).

A small MLP: the features (envelope lines at the defect orders, band powers, impulsiveness
statistics) already carry the physics, so two hidden layers are enough, and it trains in seconds
on a 2-core CPU. ``predict_proba`` is the one inference path shared by evaluation, tests and the
robustness study.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from pm_monitor.core.features.bearing_window import BearingWindowConfig, window_features
from pm_monitor.core.models.bundle import ModelLoadError
from pm_monitor.core.models.weights import load_weights


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


MODEL_NAME = "cwru_fault_mlp"


class ShippedFaultClassifier:
    """A shipped fault-type model with everything needed to run it on raw windows: the feature
    configuration, the training scaler and the class names, all read from its metadata.

        classifier = ShippedFaultClassifier.from_file("models/cwru/fold_test3hp.pt")
        probs = classifier.predict_windows(windows_g, sample_rate_hz=12000, shaft_hz=1730 / 60)
    """

    def __init__(self, model: VibrationMLP, mean: np.ndarray, std: np.ndarray,
                 metadata: dict[str, Any]) -> None:
        self.model = model.eval()
        self.mean = np.asarray(mean, np.float32)
        self.std = np.asarray(std, np.float32)
        self.metadata = metadata
        self.class_names: tuple[str, ...] = tuple(metadata["class_names"])
        self.window: int = int(metadata["window"])
        self.sample_rate_hz: float = float(metadata["sample_rate_hz"])

    @classmethod
    def from_file(cls, path: Path | str) -> ShippedFaultClassifier:
        """Raises ModelLoadError naming the file when it is missing, corrupt or mismatched."""
        model, meta = load_weights(VibrationMLP, path, expected_model=MODEL_NAME)
        for key in ("scaler_mean", "scaler_std", "class_names", "feature_config", "window",
                    "sample_rate_hz"):
            if key not in meta:
                raise ModelLoadError(path, f"metadata lacks {key}")
        return cls(model, meta["scaler_mean"], meta["scaler_std"], meta)

    def standardise(self, features: np.ndarray) -> np.ndarray:
        return ((np.asarray(features, np.float32) - self.mean) / self.std).astype(np.float32)

    def predict_features(self, features: np.ndarray) -> np.ndarray:
        return predict_proba(self.model, self.standardise(features))

    def predict_windows(self, windows: np.ndarray, sample_rate_hz: float,
                        shaft_hz: float | np.ndarray) -> np.ndarray:
        """(N, window) or (N, window, 1) raw acceleration in g -> (N, n_classes) probabilities.

        Refuses another rate or window length than the model was trained on (the defect
        features would silently mean something else)."""
        windows = np.asarray(windows, dtype=np.float64)
        if windows.ndim == 2:
            windows = windows[:, :, None]
        if sample_rate_hz != self.sample_rate_hz or windows.shape[1] != self.window:
            raise ValueError(f"model expects {self.window}-sample windows at "
                             f"{self.sample_rate_hz:g} Hz, got {windows.shape[1]} at "
                             f"{sample_rate_hz:g} Hz")
        config = BearingWindowConfig.from_dict(self.metadata["feature_config"])
        return self.predict_features(window_features(windows, sample_rate_hz, shaft_hz, config))
