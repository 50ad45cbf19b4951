"""The [P1] multimodal baseline: sensor BiLSTM + thermal CNN, cross-attention, gated fusion.

    h_s = attention-pooled BiLSTM states of the sensor feature sequence   (B, d)
    h_t = mean-pooled CNN tokens of the thermal frame                     (B, d)
    cross-attention (mode "full"): sensor tokens attend to thermal tokens and vice versa, with
        residual connections, before pooling
    g   = sigmoid(w^T [h_s; h_t] + b)  in (0, 1): the weight given to the thermal branch
    h   = g h_t + (1 - g) h_s  -> linear head

Modes (the paper's ablation): "full", "no_attention" (gated fusion of the unattended branches),
"sensor_only" (g = 0), "thermal_only" (g = 1). Late fusion is two unimodal models whose
probabilities are averaged (``late_fusion``). Gate statistics (core.explain.gates.modality_bias):
B = E[g] - g*, with g* = F1_t / (F1_t + F1_s) the thermal share a model would give if it
weighted each modality by how good it is alone; B > 0 means the gate over-trusts thermal.

A modality missing at inference (``thermal_present`` / ``sensor_present`` False per sample)
forces g to 0 or 1 for that sample, so the model keeps deciding on what it has; the returned
gate shows which branch decided.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from pm_monitor.core.models.stage1_bilstm import TemporalAttention

MODES: tuple[str, ...] = ("full", "no_attention", "sensor_only", "thermal_only")


@dataclass
class FusionOutput:
    logits: torch.Tensor  # (B, n_classes)
    gate: torch.Tensor  # (B,) weight on the thermal branch


class ThermalEncoder(nn.Module):
    """(B, 1, H, W) frame -> (B, H/8 x W/8, d) tokens: three stride-2 conv blocks."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
            nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
            nn.Conv2d(16, dim, 3, stride=2, padding=1), nn.BatchNorm2d(dim), nn.ReLU(),
        )

    def forward(self, frame: torch.Tensor) -> torch.Tensor:
        return self.net(frame).flatten(2).transpose(1, 2)


class GatedFusionNet(nn.Module):
    """See the module docstring. Inputs: sequence (B, T, n_features), frame (B, 1, H, W)."""

    def __init__(self, n_features: int, n_classes: int, mode: str = "full", dim: int = 32,
                 heads: int = 4, dropout: float = 0.2) -> None:
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if dim % 2 or dim % heads:
            raise ValueError(f"dim must be even and divisible by heads, got {dim}, {heads}")
        self.mode = mode
        self.lstm = nn.LSTM(n_features, dim // 2, batch_first=True, bidirectional=True)
        self.thermal = ThermalEncoder(dim)
        self.sensor_to_thermal = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.thermal_to_sensor = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.pool = TemporalAttention(dim, dim // 2)
        self.gate = nn.Linear(2 * dim, 1)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(dim, n_classes)

    def forward(self, sequence: torch.Tensor, frame: torch.Tensor,
                sensor_present: torch.Tensor | None = None,
                thermal_present: torch.Tensor | None = None) -> FusionOutput:
        if sequence.ndim != 3 or frame.ndim != 4 or sequence.shape[0] != frame.shape[0]:
            raise ValueError(f"need sequence (B, T, D) and frame (B, 1, H, W), got "
                             f"{tuple(sequence.shape)} and {tuple(frame.shape)}")
        s_tokens, _ = self.lstm(sequence)  # (B, T, d)
        t_tokens = self.thermal(frame)  # (B, N, d)
        if self.mode == "full":
            s_att, _ = self.sensor_to_thermal(s_tokens, t_tokens, t_tokens, need_weights=False)
            t_att, _ = self.thermal_to_sensor(t_tokens, s_tokens, s_tokens, need_weights=False)
            # an absent modality must not leak into the other branch through attention
            if thermal_present is not None:
                s_att = s_att * thermal_present.to(s_att.dtype)[:, None, None]
            if sensor_present is not None:
                t_att = t_att * sensor_present.to(t_att.dtype)[:, None, None]
            s_tokens, t_tokens = s_tokens + s_att, t_tokens + t_att
        h_s, _ = self.pool(s_tokens)
        h_t = t_tokens.mean(dim=1)
        batch = sequence.shape[0]
        if self.mode == "sensor_only":
            g = torch.zeros(batch, device=sequence.device)
        elif self.mode == "thermal_only":
            g = torch.ones(batch, device=sequence.device)
        else:
            g = torch.sigmoid(self.gate(torch.cat([h_s, h_t], dim=-1))).squeeze(-1)
        if thermal_present is not None:  # no frame: the sensor branch decides alone
            g = torch.where(thermal_present.bool(), g, torch.zeros_like(g))
        if sensor_present is not None:  # no sensor data: the thermal branch decides alone
            g = torch.where(sensor_present.bool(), g, torch.ones_like(g))
        fused = g.unsqueeze(-1) * h_t + (1.0 - g.unsqueeze(-1)) * h_s
        return FusionOutput(self.head(self.dropout(fused)), g)


def mean_pool_frames(frames: np.ndarray, pool: int) -> np.ndarray:
    """(..., H, W) -> (..., H // pool, W // pool): the thermal branch's input, mean-pooled
    after cropping to a multiple of pool (training and the live gate share this)."""
    h, w = frames.shape[-2] - frames.shape[-2] % pool, frames.shape[-1] - frames.shape[-1] % pool
    lead = frames.shape[:-2]
    return frames[..., :h, :w].reshape(*lead, h // pool, pool, w // pool, pool).mean(
        axis=(-3, -1))


def late_fusion(sensor_probs: np.ndarray, thermal_probs: np.ndarray) -> np.ndarray:
    """Average of the two unimodal models' class probabilities (decision-level fusion)."""
    if sensor_probs.shape != thermal_probs.shape:
        raise ValueError(f"shapes differ: {sensor_probs.shape} vs {thermal_probs.shape}")
    return 0.5 * (sensor_probs + thermal_probs)
