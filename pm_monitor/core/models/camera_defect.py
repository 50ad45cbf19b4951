"""Camera surface-defect model: defect class + where, from class activation maps (CAM).

A small ResNet (``BasicBlock`` of ``thermal_resnet``) ends in global average pooling and one
linear layer, so the class activation map of class c is exactly ``w_c . F(x, y)`` over the last
features (Zhou et al. 2016); Grad-CAM on ``gradcam_layer`` gives the same map up to scale.
Trained on NEU-DET steel-strip images (grey, normalised per image by ``normalise_grey_image`` so
the class-dependent mean grey level is not a free cue).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (the usual torch alias)
from PIL import Image
from torch import nn

from pm_monitor.core.models.thermal_resnet import compact_blocks, compact_stem


class CameraDefectNet(nn.Module):
    """Stem (stride 2) -> 3 BasicBlocks (strides 1, 2, 2) -> GAP -> linear; logits (B, classes)."""

    def __init__(self, n_classes: int = 6, width: int = 12, dropout: float = 0.2) -> None:
        super().__init__()
        if n_classes < 2 or width < 1:
            raise ValueError(f"need n_classes >= 2 and width >= 1, got {n_classes}, {width}")
        self.stem = compact_stem(width)
        self.blocks = compact_blocks(width)
        self.features = nn.Identity()  # a named point for CAM / Grad-CAM hooks
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(4 * width, n_classes)

    @property
    def gradcam_layer(self) -> nn.Module:
        """Grad-CAM target: the last block's feature map (before pooling)."""
        return self.features

    def feature_map(self, image: torch.Tensor) -> torch.Tensor:
        if image.dim() != 4 or image.shape[1] != 1:
            raise ValueError(f"expected (B, 1, H, W), got {tuple(image.shape)}")
        return self.features(self.blocks(self.stem(image)))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """image: (B, 1, H, W) from `normalise_grey_image`; returns logits."""
        return self.classifier(self.dropout(self.feature_map(image).mean(dim=(2, 3))))

    @torch.no_grad()
    def class_activation_maps(self, image: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
        """(B, H, W) CAM of classes[b] for each image, upsampled to the input size (not scaled)."""
        features = self.feature_map(image)  # (B, K, h, w)
        weights = self.classifier.weight[classes]  # (B, K)
        cam = torch.einsum("bk,bkhw->bhw", weights, features)
        return F.interpolate(cam[:, None], size=image.shape[-2:], mode="bilinear",
                             align_corners=False)[:, 0]


def resize_grey(image: np.ndarray, size: int) -> np.ndarray:
    """(size, size) float32 grey levels from an 8-bit grey image (area-averaging resize)."""
    pixels = np.asarray(image)
    if pixels.ndim != 2 or pixels.dtype != np.uint8:
        raise ValueError(f"expected an (H, W) uint8 grey image, got {pixels.shape} {pixels.dtype}")
    resized = Image.fromarray(pixels).resize((size, size), Image.Resampling.BOX)
    return np.asarray(resized, dtype=np.float32)


def normalise_grey_image(image: np.ndarray) -> np.ndarray:
    """(image - its mean) / its std, float32: removes the per-class brightness cue."""
    pixels = np.asarray(image, dtype=np.float32)
    return (pixels - pixels.mean()) / np.float32(max(float(pixels.std()), 1e-3))


def peak_position(cam: np.ndarray) -> tuple[int, int]:
    """(row, column) of a map's maximum: the point the pointing game checks."""
    row, col = np.unravel_index(int(np.argmax(cam)), cam.shape)
    return int(row), int(col)
