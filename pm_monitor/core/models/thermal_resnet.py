"""Stage 2 ([P1]): compact ResNet + spatial attention that says where on the thermal frame
the fault is: {healthy, de_bearing, nde_bearing}.

ResNet-18 with ImageNet weights (the paper's choice) is neither available offline nor needed for
120x160 single-channel frames; three BasicBlocks give a 15x20 feature map, fine enough for
Grad-CAM to tell the two bearing housings apart.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch import nn


class ThermalOutput(NamedTuple):
    logits: torch.Tensor  # (B, n_classes)
    spatial_attention: torch.Tensor  # (B, 1, H', W') in (0, 1)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and an identity (or 1x1 projected) shortcut."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=False)  # in-place would break Grad-CAM's forward hook
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


def compact_stem(width: int) -> nn.Sequential:
    """3x3 stride-2 convolution, batch norm, ReLU: the stem of every compact ResNet here."""
    return nn.Sequential(nn.Conv2d(1, width, 3, 2, 1, bias=False), nn.BatchNorm2d(width),
                         nn.ReLU())


def compact_blocks(width: int) -> nn.Sequential:
    """Three BasicBlocks (strides 1, 2, 2; widths w, 2w, 4w): features at 1/8 of the input
    after the stem, fine enough for Grad-CAM to tell neighbouring parts apart."""
    return nn.Sequential(BasicBlock(width, width), BasicBlock(width, 2 * width, stride=2),
                         BasicBlock(2 * width, 4 * width, stride=2))


class SpatialAttention(nn.Module):
    """A = sigmoid(conv1x1(F)); returns (A * F, A) (the cascade paper [P1], eq. 8-9)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, 1, kernel_size=1)

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        attention = torch.sigmoid(self.conv(features))
        return features * attention, attention


class ThermalResNet(nn.Module):
    """Stem (stride 2) -> 3 BasicBlocks (strides 1, 2, 2) -> spatial attention -> GAP -> linear.

    The one thermal network: the rig's localiser (classes = locations: healthy, de_bearing,
    nde_bearing) and the thermal_motor classifier (11 motor conditions) are both this class."""

    def __init__(self, n_classes: int = 3, width: int = 16, dropout: float = 0.2) -> None:
        super().__init__()
        if n_classes < 2 or width < 1:
            raise ValueError(f"need n_classes >= 2 and width >= 1, got {n_classes}, {width}")
        self.stem = compact_stem(width)
        self.blocks = compact_blocks(width)
        self.attention = SpatialAttention(4 * width)
        self.attended = nn.Identity()  # a named point for Grad-CAM's hooks
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(4 * width, n_classes)

    @classmethod
    def from_hyperparameters(cls, hyper: dict) -> ThermalResNet:
        """Constructor keywords as stored beside shipped weights; rig bundles name the class
        count n_locations (the state_dict keys are the same)."""
        kwargs = dict(hyper)
        if "n_locations" in kwargs:
            kwargs["n_classes"] = kwargs.pop("n_locations")
        return cls(**kwargs)

    @property
    def gradcam_layer(self) -> nn.Module:
        """Where Grad-CAM hooks in: the last conv block's features after spatial attention.

        [P1] combines the learned spatial attention with Grad-CAM; taking the attended
        features keeps regions the attention switched off out of the heatmap.
        """
        return self.attended

    def forward(self, image: torch.Tensor) -> ThermalOutput:
        """image: (B, 1, H, W), already normalised (`normalise_thermal_frame` on the rig,
        thermal_classifier.normalise_palette_frame on thermal_motor palette frames)."""
        if image.dim() != 4 or image.shape[1] != 1:
            raise ValueError(f"expected (B, 1, H, W), got {tuple(image.shape)}")
        features = self.blocks(self.stem(image))
        attended, attention = self.attention(features)
        pooled = self.dropout(self.attended(attended).mean(dim=(2, 3)))
        return ThermalOutput(self.classifier(pooled), attention)


def normalise_thermal_frame(frame_c: np.ndarray, scale_k: float = 5.0) -> np.ndarray:
    """(frame - frame median) / scale_k, as float32.

    Subtracting the frame's own median removes ambient temperature and overall brightness, so the
    network can only use local contrast (a hot housing), never how warm the whole scene is.
    """
    frame = np.asarray(frame_c, dtype=np.float32)
    return (frame - np.float32(np.median(frame))) / np.float32(scale_k)
