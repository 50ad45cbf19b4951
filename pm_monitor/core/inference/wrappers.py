"""Export wrappers: each cascade model with its post-processing inside the graph.

The wrappers are plain nn.Modules that return a tuple of tensors in a fixed order (the spec's
output names), so the ONNX graph, the torch reference and every backend answer the same
question with the same names:

- Stage 1: softmax of both heads and the temporal attention weights.
- Anomaly autoencoder: the masked mean squared reconstruction error (the anomaly score).
- Thermal localiser: softmax over locations, the spatial-attention map and a class activation
  map per location, upsampled to the frame size and scaled to [0, 1].

Why the CAM equals Grad-CAM exactly: Grad-CAM hooks the attended features A (after the spatial
attention), and the head is logits = W . mean_hw(A) + b (dropout is the identity in eval). So
d y_c / d A_k(i, j) = W_ck / (h w), alpha_k = W_ck / (h w), and Grad-CAM_c = ReLU(sum_k W_ck A_k)
/ (h w). The attention map is part of A, not of the gradient path Grad-CAM differentiates
through, so there is nothing inexact; scaling to [0, 1] removes the 1 / (h w) anyway.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812 (the usual torch alias)
from torch import nn

from pm_monitor.core.models.autoencoder import FeatureAutoencoder, reconstruction_error
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


class ThermalCamExport(nn.Module):
    """image (B, 1, H, W) normalised frame -> location_probabilities (B, L),
    spatial_attention (B, 1, h, w), cam (B, L, H, W) in [0, 1] (all-zero where ReLU leaves
    nothing, like grad_cam)."""

    def __init__(self, model: ThermalResNet) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        m = self.model
        features = m.blocks(m.stem(image))
        attended, attention = m.attention(features)
        attended = m.attended(attended)
        logits = m.classifier(m.dropout(attended.mean(dim=(2, 3))))
        height, width = attended.shape[-2:]
        # One 1x1 "convolution" with the head's weights gives every class's map at once.
        weights = m.classifier.weight[:, :, None, None] / (height * width)
        cam = torch.relu(F.conv2d(attended, weights))
        cam = F.interpolate(cam, size=image.shape[-2:], mode="bilinear", align_corners=False)
        peak = cam.amax(dim=(2, 3), keepdim=True)
        # where() rather than a clamped divisor: a tiny clamp constant underflows in FP16.
        scaled = torch.where(peak > 0, cam / peak, torch.zeros_like(cam))
        return torch.softmax(logits, dim=-1), attention, scaled.clamp(0.0, 1.0)
