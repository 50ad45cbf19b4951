"""Export wrappers: each network with its post-processing inside the graph.

The wrappers are plain nn.Modules that return a tuple of tensors in a fixed order (the spec's
output names), so the ONNX graph, the torch reference and every backend answer the same
question with the same names:

- Stage 1: softmax of both heads and the temporal attention weights.
- Anomaly autoencoder: the masked mean squared reconstruction error (the anomaly score).
- Thermal network (ThermalResNet: the rig's localiser and the thermal_motor classifier):
  softmax over classes, the spatial-attention map
  and a class activation map per class, either upsampled to the input and scaled to [0, 1]
  (rig: the model input is the frame) or at the feature map's resolution, unscaled (real data:
  the model input is a downscaled frame; `cam_heatmap` upsamples to the frame the caller
  explains, exactly as Grad-CAM on the whole frame does).
- Camera defect network (NEU): softmax and a class activation map per class at the feature
  map's resolution (the frame is resized before the network; `cam_heatmap` again).
- Spectrogram autoencoder (MIMII): the mean squared reconstruction error of each patch.

Why the CAM equals Grad-CAM exactly: Grad-CAM hooks the attended features A (after the spatial
attention), and the head is logits = W . mean_hw(A) + b (dropout is the identity in eval). So
d y_c / d A_k(i, j) = W_ck / (h w), alpha_k = W_ck / (h w), and Grad-CAM_c = ReLU(sum_k W_ck A_k)
/ (h w). The attention map is part of A, not of the gradient path Grad-CAM differentiates
through, so there is nothing inexact; scaling to [0, 1] removes the 1 / (h w) anyway. The camera
network has the same head on its `features` point (no attention), so the same holds there.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (the usual torch alias)
from torch import nn

from pm_monitor.core.models.acoustic_anomaly import SpectrogramAutoencoder
from pm_monitor.core.models.autoencoder import FeatureAutoencoder, reconstruction_error
from pm_monitor.core.models.camera_defect import CameraDefectNet
from pm_monitor.core.models.stage1_bilstm import HealthStateBiLSTM
from pm_monitor.core.models.thermal_resnet import ThermalResNet


class Stage1Export(nn.Module):
    """sequence (B, T, D) -> state_probabilities (B, S), fault_probabilities (B, F),
    attention (B, T)."""

    def __init__(self, model: HealthStateBiLSTM) -> None:
        super().__init__()
        self.model = model

    def forward(self, sequence: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        out = self.model(sequence)
        return (
            torch.softmax(out.state_logits, dim=-1),
            torch.softmax(out.fault_logits, dim=-1),
            out.attention,
        )


class AnomalyExport(nn.Module):
    """features (B, D) standardised, present (B, D) 1.0 / 0.0 -> anomaly_score (B,)."""

    def __init__(self, model: FeatureAutoencoder) -> None:
        super().__init__()
        self.model = model

    def forward(self, features: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        return reconstruction_error(self.model, features, present)


def class_maps(features: torch.Tensor, classifier: nn.Linear) -> torch.Tensor:
    """ReLU(sum_k W_ck F_k) for every class c at once (B, C, h, w): one 1x1 "convolution"
    with the head's weights. Grad-CAM's maps up to a positive scale (see the module doc)."""
    return torch.relu(F.conv2d(features, classifier.weight[:, :, None, None]))


def upsampled_cam(cam: torch.Tensor, size: Sequence[int] | torch.Size) -> torch.Tensor:
    """(B, C, h, w) non-negative maps -> (B, C, *size), bilinear as in grad_cam, each map
    scaled to [0, 1] by its peak (all-zero where ReLU leaves nothing, like grad_cam)."""
    cam = F.interpolate(cam, size=tuple(size), mode="bilinear", align_corners=False)
    peak = cam.amax(dim=(2, 3), keepdim=True)
    # where() rather than a clamped divisor: a tiny clamp constant underflows in FP16.
    return torch.where(peak > 0, cam / peak, torch.zeros_like(cam)).clamp(0.0, 1.0)


def cam_heatmap(cam: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """One (h, w) feature-resolution map of a graph's `cam` output -> the (H, W) float32
    heatmap in [0, 1] that grad_cam returns for a frame of that size."""
    with torch.no_grad():
        low = torch.from_numpy(np.ascontiguousarray(cam, np.float32))[None, None]
        return upsampled_cam(low, size)[0, 0].numpy()


class ThermalCamExport(nn.Module):
    """image (B, 1, H, W) normalised frame -> location_probabilities (B, L),
    spatial_attention (B, 1, h, w), cam: (B, L, H, W) in [0, 1] with cam_at_input, else
    (B, L, h, w) unscaled (for `cam_heatmap`).

    The one thermal network, ThermalResNet: the rig's localiser and the thermal_motor
    classifier."""

    def __init__(self, model: ThermalResNet, cam_at_input: bool = True) -> None:
        super().__init__()
        self.model = model
        self.cam_at_input = cam_at_input

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        m = self.model
        features = m.blocks(m.stem(image))
        attended, attention = m.attention(features)
        attended = m.attended(attended)
        logits = m.classifier(m.dropout(attended.mean(dim=(2, 3))))
        cam = class_maps(attended, m.classifier)
        if self.cam_at_input:
            cam = upsampled_cam(cam, image.shape[-2:])
        return torch.softmax(logits, dim=-1), attention, cam


class CameraCamExport(nn.Module):
    """image (B, 1, S, S) normalised grey -> location_probabilities (B, C) (the defect
    classes), cam (B, C, S/8, S/8) unscaled (for `cam_heatmap` at the camera frame's size)."""

    def __init__(self, model: CameraDefectNet) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        m = self.model
        features = m.feature_map(image)
        logits = m.classifier(m.dropout(features.mean(dim=(2, 3))))
        return torch.softmax(logits, dim=-1), class_maps(features, m.classifier)


class SpectrogramErrorExport(nn.Module):
    """patches (B, 1, bands, frames) standardised log-mel -> patch_error (B,): the mean squared
    reconstruction error of each patch (a clip's anomaly score is their mean)."""

    def __init__(self, model: SpectrogramAutoencoder) -> None:
        super().__init__()
        self.model = model

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        return ((self.model(patches) - patches) ** 2).mean(dim=(1, 2, 3))
