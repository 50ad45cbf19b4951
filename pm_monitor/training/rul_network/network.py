"""The paper-002 RUL network, shrunk to train leave-one-bearing-out on two CPU cores.

Input: a sequence of T snapshots (oldest first).
- Image branch (shared over time): two dilated Conv2D blocks (block 1: small kernels, high
  dilation; block 2: larger receptive field, low dilation), max-pooling after every conv as in
  the paper's Table 1, a 1x1-conv + pooling residual around each block.
- TF branch: two dilated Conv1D blocks over the time axis of the CWT features, residuals.
- Fusion: concat per step -> LSTM stack + linear residual + LayerNorm -> multi-head
  self-attention (+ residual) -> last step -> dense head -> sigmoid: normalised RUL.
Two outputs share the trunk: [0] the piecewise-linear target, [1] the plain linear target.
Only standard ops (Conv, MaxPool, LSTM, MultiheadAttention, Linear, LayerNorm): ONNX-exportable.
Widths are ~1/4 of the paper's (32-64 filters, LSTM 100/64/64, 8 heads x 64).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional

OUTPUT_NAMES = ("piecewise", "linear")


@dataclass(frozen=True)
class NetConfig:
    levels: int = 64
    image_width: int = 64
    n_features: int = 7
    steps: int = 6
    image_channels: tuple[int, int] = (8, 16)
    tf_channels: tuple[int, int] = (16, 32)
    branch_dim: int = 32
    lstm_hidden: int = 32
    lstm_layers: int = 2
    heads: int = 4
    dropout: float = 0.1

    def to_dict(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_dict(values: dict) -> NetConfig:
        values = dict(values)
        for key in ("image_channels", "tf_channels"):
            if key in values:
                values[key] = tuple(values[key])
        return NetConfig(**values)


def _pool_out(size: int, kernel: int) -> int:
    return size // kernel


def _same_pads(kernel: int, dilation: int) -> tuple[int, int]:
    """(before, after) zero padding that keeps the length, as PyTorch's padding='same'."""
    total = dilation * (kernel - 1)
    return total // 2, total - total // 2


class SameConv(nn.Module):
    """Conv1d/Conv2d with 'same' output size by an explicit zero pad: ONNX Runtime refuses
    auto_pad SAME with dilation, which padding='same' exports to."""

    def __init__(self, dims: int, in_ch: int, out_ch: int, kernel: int, dilation: int) -> None:
        super().__init__()
        conv = nn.Conv2d if dims == 2 else nn.Conv1d
        self.conv = conv(in_ch, out_ch, kernel, dilation=dilation)
        before, after = _same_pads(kernel, dilation)
        self.pads = (before, after) * dims  # F.pad order: last dim first

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(functional.pad(x, self.pads))


class ImageBranch(nn.Module):
    """(N, 1, levels, width) -> (N, branch_dim)."""

    def __init__(self, cfg: NetConfig) -> None:
        super().__init__()
        c1, c2 = cfg.image_channels
        self.block1 = nn.Sequential(
            SameConv(2, 1, c1, 5, 4), nn.ReLU(), nn.MaxPool2d(3),
            SameConv(2, c1, c1, 3, 3), nn.ReLU(), nn.MaxPool2d(3))
        self.skip1 = nn.Sequential(nn.MaxPool2d(9), nn.Conv2d(1, c1, 1))
        self.block2 = nn.Sequential(
            SameConv(2, c1, c2, 3, 2), nn.ReLU(), nn.MaxPool2d(3),
            SameConv(2, c2, c2, 2, 1), nn.ReLU(), nn.MaxPool2d(2))
        self.skip2 = nn.Sequential(nn.MaxPool2d(6), nn.Conv2d(c1, c2, 1))
        height = _pool_out(_pool_out(cfg.levels, 9), 6)
        width = _pool_out(_pool_out(cfg.image_width, 9), 6)
        if height < 1 or width < 1:
            raise ValueError(f"image {cfg.levels}x{cfg.image_width} too small for the branch")
        self.project = nn.Sequential(nn.Flatten(), nn.Linear(c2 * height * width,
                                                             cfg.branch_dim), nn.ReLU())

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = self.block1(image) + self.skip1(image)
        x = self.block2(x) + self.skip2(x)
        return self.project(x)


class FeatureBranch(nn.Module):
    """(B, n_features, T) -> (B, branch_dim, T), dilated 'same' convolutions over time."""

    def __init__(self, cfg: NetConfig) -> None:
        super().__init__()
        c1, c2 = cfg.tf_channels
        self.block1 = nn.Sequential(
            SameConv(1, cfg.n_features, c1, 2, 2), nn.ReLU(),
            SameConv(1, c1, c1, 2, 2), nn.ReLU())
        self.skip1 = nn.Conv1d(cfg.n_features, c1, 1)
        self.block2 = nn.Sequential(
            SameConv(1, c1, c2, 2, 1), nn.ReLU(),
            SameConv(1, c2, c2, 2, 1), nn.ReLU())
        self.skip2 = nn.Conv1d(c1, c2, 1)
        self.project = nn.Conv1d(c2, cfg.branch_dim, 1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = self.block1(features) + self.skip1(features)
        x = self.block2(x) + self.skip2(x)
        return self.project(x)


class RulNet(nn.Module):
    """images (B, T, levels, width) float in {0, 1}; features (B, T, n_features) standardised
    -> (B, 2) normalised RUL in [0, 1]: [:, 0] piecewise target, [:, 1] linear target."""

    def __init__(self, cfg: NetConfig | None = None) -> None:
        super().__init__()
        cfg = cfg or NetConfig()
        self.cfg = cfg
        self.image_branch = ImageBranch(cfg)
        self.feature_branch = FeatureBranch(cfg)
        fused = 2 * cfg.branch_dim
        self.lstm = nn.LSTM(fused, cfg.lstm_hidden, num_layers=cfg.lstm_layers,
                            batch_first=True, dropout=cfg.dropout if cfg.lstm_layers > 1 else 0)
        self.lstm_skip = nn.Linear(fused, cfg.lstm_hidden)
        self.norm = nn.LayerNorm(cfg.lstm_hidden)
        self.attention = nn.MultiheadAttention(cfg.lstm_hidden, cfg.heads, batch_first=True)
        self.attention_norm = nn.LayerNorm(cfg.lstm_hidden)
        self.head = nn.Sequential(
            nn.Linear(cfg.lstm_hidden, 32), nn.ReLU(), nn.Dropout(cfg.dropout),
            nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, len(OUTPUT_NAMES)))

    def fuse(self, images: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """(batch, steps, 2 x branch_dim): each snapshot's image and feature codes side by
        side, the sequence the LSTM reads (also the start of the LRP pass)."""
        batch, steps = images.shape[0], images.shape[1]
        cfg = self.cfg
        flat = images.reshape(batch * steps, 1, cfg.levels, cfg.image_width)
        image_code = self.image_branch(flat).reshape(batch, steps, cfg.branch_dim)
        feature_code = self.feature_branch(features.transpose(1, 2)).transpose(1, 2)
        return torch.cat([image_code, feature_code], dim=2)

    def forward(self, images: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        fused = self.fuse(images, features)
        sequence, _ = self.lstm(fused)
        sequence = self.norm(sequence + self.lstm_skip(fused))
        attended, _ = self.attention(sequence, sequence, sequence, need_weights=False)
        sequence = self.attention_norm(sequence + attended)
        return torch.sigmoid(self.head(sequence[:, -1]))
