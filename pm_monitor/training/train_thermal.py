"""Training of the Stage 2 thermal localiser on normalised thermal frames."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from pm_monitor.core.models.thermal_resnet import ThermalResNet
from pm_monitor.training.loop import FitConfig, FitHistory, fit
from pm_monitor.training.train_stage1 import balanced_class_weights

ATTENTION_LOSS_WEIGHT = 1.0
MAX_SHIFT_PX = 3  # the camera is mounted; small shifts only teach tolerance to vibration/mounting
NOISE_STD = 0.02  # in normalised units (x scale_k deg C)


def train_thermal(
    model: ThermalResNet,
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    location_masks: np.ndarray,
    config: FitConfig,
    log: Callable[[str], None] = print,
) -> FitHistory:
    """train / val: (normalised frames (N, H, W), location labels (N,)).

    location_masks: (n_locations, H, W) in [0, 1], where each location is in the frame (the
    "healthy" mask is unused). Besides the location class, the spatial attention of faulty
    frames is taught to cover the failing housing: without that the network is free to decide
    "DE is failing" from "NDE is cool" and Grad-CAM shows the wrong housing.
    """
    weights = balanced_class_weights(train[1], model.classifier.out_features)
    masks = torch.from_numpy(location_masks.astype(np.float32))[:, None]  # (L, 1, H, W)

    def loss_fn(net: nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        images, labels = batch
        out = net(images)
        loss = F.cross_entropy(out.logits, labels, weight=weights)
        faulty = labels > 0
        if faulty.any():
            attention = out.spatial_attention[faulty]
            target = F.adaptive_avg_pool2d(masks[labels[faulty]], attention.shape[-2:])
            loss = loss + ATTENTION_LOSS_WEIGHT * F.binary_cross_entropy(attention, target)
        return loss

    def augment(batch: tuple[torch.Tensor, ...], generator: torch.Generator):
        images, labels = batch
        dy, dx = torch.randint(-MAX_SHIFT_PX, MAX_SHIFT_PX + 1, (2,), generator=generator)
        shifted = torch.roll(images, shifts=(int(dy), int(dx)), dims=(2, 3))
        noise = NOISE_STD * torch.randn(shifted.shape, generator=generator)
        return shifted + noise, labels

    return fit(model, _tensors(train), _tensors(val), loss_fn, config, augment, "thermal", log)


def predict_locations(model: ThermalResNet, frames: np.ndarray, batch_size: int = 128):
    """Location probabilities (N, n_locations) of normalised frames (N, H, W)."""
    model.eval()
    out = []
    with torch.no_grad():
        for first in range(0, len(frames), batch_size):
            images = torch.from_numpy(frames[first : first + batch_size].astype(np.float32))
            out.append(torch.softmax(model(images[:, None]).logits, -1).numpy())
    return np.concatenate(out)


def _tensors(data: tuple[np.ndarray, np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    frames, labels = data
    images = torch.from_numpy(frames.astype(np.float32))[:, None]
    return images, torch.from_numpy(labels.astype(np.int64))
