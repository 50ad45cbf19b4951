"""Training of the anomaly autoencoder on healthy windows, and its threshold statistics."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from pm_monitor.core.models.autoencoder import FeatureAutoencoder, reconstruction_error
from pm_monitor.training.augment import drop_sensor_groups
from pm_monitor.training.loop import FitConfig, FitHistory, fit

SENSOR_DROPOUT = 0.1


def train_autoencoder(
    model: FeatureAutoencoder,
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    sensor_groups: list[slice],
    config: FitConfig,
    log: Callable[[str], None] = print,
) -> FitHistory:
    """train / val: (standardised healthy features (N, D), present masks (N, D))."""

    def loss_fn(net: nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        features, present = batch
        return reconstruction_error(net, features, present).mean()

    def augment(batch: tuple[torch.Tensor, ...], generator: torch.Generator):
        features, present = batch
        dropped, kept = drop_sensor_groups(features, sensor_groups, SENSOR_DROPOUT, generator)
        return dropped, present & kept

    train_t, val_t = (
        (torch.from_numpy(f.astype(np.float32)), torch.from_numpy(p)) for f, p in (train, val)
    )
    return fit(model, train_t, val_t, loss_fn, config, augment, "autoencoder", log)


def anomaly_scores(
    model: FeatureAutoencoder, features: np.ndarray, present: np.ndarray
) -> np.ndarray:
    model.eval()
    with torch.no_grad():
        return reconstruction_error(
            model, torch.from_numpy(features.astype(np.float32)), torch.from_numpy(present)
        ).numpy()
