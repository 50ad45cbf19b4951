"""Acoustic anomaly score: a small convolutional autoencoder on log-mel spectrogram patches.

Trained on normal machine sound only; a patch it cannot reconstruct is unusual, so the score
of a clip is the mean squared reconstruction error over its patches (DCASE task 2 practice,
with a conv encoder instead of the dense baseline). The bottleneck is a small linear code so
the network cannot simply copy its input.
"""
from __future__ import annotations

import torch
from torch import nn


class SpectrogramAutoencoder(nn.Module):
    """(B, 1, n_bands, n_frames) -> same shape; 3 strided convs -> linear code -> mirror."""

    def __init__(self, n_bands: int = 64, n_frames: int = 32, width: int = 8,
                 code_size: int = 32) -> None:
        super().__init__()
        if n_bands % 8 or n_frames % 8:
            raise ValueError(f"n_bands and n_frames must be multiples of 8, got "
                             f"{n_bands}, {n_frames}")
        self.n_bands, self.n_frames = n_bands, n_frames
        self.inner_shape = (4 * width, n_bands // 8, n_frames // 8)
        inner = 4 * width * (n_bands // 8) * (n_frames // 8)
        self.encoder = nn.Sequential(
            nn.Conv2d(1, width, 3, 2, 1), nn.BatchNorm2d(width), nn.ReLU(),
            nn.Conv2d(width, 2 * width, 3, 2, 1), nn.BatchNorm2d(2 * width), nn.ReLU(),
            nn.Conv2d(2 * width, 4 * width, 3, 2, 1), nn.BatchNorm2d(4 * width), nn.ReLU(),
            nn.Flatten(), nn.Linear(inner, code_size),
        )
        self.decoder_input = nn.Sequential(nn.Linear(code_size, inner), nn.ReLU())
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(4 * width, 2 * width, 4, 2, 1), nn.BatchNorm2d(2 * width),
            nn.ReLU(),
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1), nn.BatchNorm2d(width), nn.ReLU(),
            nn.ConvTranspose2d(width, 1, 4, 2, 1),
        )

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        expected = (1, self.n_bands, self.n_frames)
        if patches.dim() != 4 or tuple(patches.shape[1:]) != expected:
            raise ValueError(f"expected (B, {expected}), got {tuple(patches.shape)}")
        code = self.encoder(patches)
        return self.decoder(self.decoder_input(code).view(-1, *self.inner_shape))

    @torch.no_grad()
    def patch_errors(self, patches: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """(B,) mean squared reconstruction error of each patch (eval mode)."""
        self.eval()
        errors = [((self(chunk) - chunk) ** 2).mean(dim=(1, 2, 3))
                  for chunk in torch.split(patches, batch_size)]
        return torch.cat(errors) if errors else torch.zeros(0)
