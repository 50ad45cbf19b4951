"""Stage 2 on real thermal images: which of the motor's conditions a thermal frame shows.

A compact ResNet (the ``BasicBlock`` / ``SpatialAttention`` of ``thermal_resnet``, imported, not
copied) classifies a downscaled thermal frame of the induction-motor data set (11 conditions:
healthy, stator shorts, fan failure, locked rotor). Grad-CAM hooks ``gradcam_layer``.

Input: palette index (relative intensity 0..241, NOT deg C: the data set has no radiometry),
downscaled and normalised by ``normalise_palette_frame``: the frame's own median is subtracted,
so the overall brightness of the scene (which nearly gives away the session, see the data
set's README) is not a free cue; the network has to use the shape of hot regions.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from pm_monitor.core.models.thermal_resnet import (
    SpatialAttention,
    compact_blocks,
    compact_stem,
)

PALETTE_MAX = 241.0  # top palette index of the data set's iron palette


class ThermalClassOutput(NamedTuple):
    logits: torch.Tensor  # (B, n_classes)
    spatial_attention: torch.Tensor  # (B, 1, H', W') in (0, 1)


class ThermalClassifier(nn.Module):
    """Stem (stride 2) -> 3 BasicBlocks (strides 1, 2, 2) -> spatial attention -> GAP -> linear."""

    def __init__(self, n_classes: int = 11, width: int = 16, dropout: float = 0.2) -> None:
        super().__init__()
        if n_classes < 2 or width < 1:
            raise ValueError(f"need n_classes >= 2 and width >= 1, got {n_classes}, {width}")
        self.stem = compact_stem(width)
        self.blocks = compact_blocks(width)
        self.attention = SpatialAttention(4 * width)
        self.attended = nn.Identity()  # a named point for Grad-CAM's hooks
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(4 * width, n_classes)

    @property
    def gradcam_layer(self) -> nn.Module:
        """Grad-CAM target: the last block's features after spatial attention ([P1])."""
        return self.attended

    def forward(self, image: torch.Tensor) -> ThermalClassOutput:
        """image: (B, 1, H, W) from `normalise_palette_frame`."""
        if image.dim() != 4 or image.shape[1] != 1:
            raise ValueError(f"expected (B, 1, H, W), got {tuple(image.shape)}")
        features = self.blocks(self.stem(image))
        attended, attention = self.attention(features)
        pooled = self.dropout(self.attended(attended).mean(dim=(2, 3)))
        return ThermalClassOutput(self.classifier(pooled), attention)


def downscale(frame: np.ndarray, factor: int) -> np.ndarray:
    """Block mean over factor x factor pixels (H and W must be multiples of factor)."""
    frame = np.asarray(frame, dtype=np.float32)
    height, width = frame.shape
    if factor < 1 or height % factor or width % factor:
        raise ValueError(f"cannot downscale {frame.shape} by {factor}")
    return frame.reshape(height // factor, factor, width // factor, factor).mean(axis=(1, 3))


def normalise_palette_frame(palette_index: np.ndarray, scale: float = 0.1) -> np.ndarray:
    """(index / 241 - median of the frame) / scale, float32: local contrast, not scene warmth."""
    relative = np.asarray(palette_index, dtype=np.float32) / np.float32(PALETTE_MAX)
    return (relative - np.float32(np.median(relative))) / np.float32(scale)
