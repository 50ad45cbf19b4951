"""Acoustic anomaly score: a small convolutional autoencoder on log-mel spectrogram patches.

Trained on normal machine sound only; a patch it cannot reconstruct is unusual, so the score
of a clip is the mean squared reconstruction error over its patches (DCASE task 2 practice,
with a conv encoder instead of the dense baseline). The bottleneck is a small linear code so
the network cannot simply copy its input.

The scoring path (log-mel -> per-band standardisation with training statistics -> patches ->
error) lives here too, so training, evaluation and a live node share it:
``load_acoustic_model(path)`` then ``clip_score(model, standardiser, samples, config, hop)``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from pm_monitor.core.features.spectrogram import SpectrogramConfig, log_mel_spectrogram
from pm_monitor.core.models.bundle import ModelLoadError
from pm_monitor.core.models.weights import load_weights

MODEL_NAME = "spectrogram_autoencoder"


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


def patches_of(spectrogram: np.ndarray, n_frames: int, hop: int) -> np.ndarray:
    """(n_patches, n_mels, n_frames) windows of a (n_mels, frames) spectrogram."""
    total = spectrogram.shape[1]
    if total < n_frames:
        raise ValueError(f"spectrogram of {total} frames is shorter than a {n_frames}-frame patch")
    starts = range(0, total - n_frames + 1, hop)
    return np.stack([spectrogram[:, s:s + n_frames] for s in starts])


class BandStandardiser:
    """Per-band mean / std of the training spectrograms (training data only)."""

    def __init__(self, mean: np.ndarray, std: np.ndarray) -> None:
        self.mean = np.asarray(mean, dtype=np.float32)
        self.std = np.maximum(np.asarray(std, dtype=np.float32), 1e-3)

    @classmethod
    def fit(cls, spectrograms: list[np.ndarray]) -> BandStandardiser:
        joined = np.concatenate(spectrograms, axis=1)
        return cls(joined.mean(axis=1), joined.std(axis=1))

    def __call__(self, spectrogram: np.ndarray) -> np.ndarray:
        return (spectrogram - self.mean[:, None]) / self.std[:, None]


def clip_score(model: SpectrogramAutoencoder, standardiser: BandStandardiser,
               samples: np.ndarray, spec_config: SpectrogramConfig, patch_hop: int) -> float:
    """Mean reconstruction error over a clip's patches: the anomaly score."""
    return spectrogram_score(model, standardiser, log_mel_spectrogram(samples, spec_config),
                             patch_hop)


def clip_patches(standardiser: BandStandardiser, samples: np.ndarray,
                 spec_config: SpectrogramConfig, n_frames: int, patch_hop: int) -> np.ndarray:
    """(n_patches, 1, n_mels, n_frames) float32: a clip as the model takes it (clip_score's
    input, for a runner of the inference layer)."""
    patches = patches_of(standardiser(log_mel_spectrogram(samples, spec_config)), n_frames,
                         patch_hop)
    return patches[:, None].astype(np.float32)


def spectrogram_score(model: SpectrogramAutoencoder, standardiser: BandStandardiser,
                      log_mel: np.ndarray, patch_hop: int) -> float:
    """`clip_score` of an already computed (n_mels, frames) log-mel spectrogram."""
    patches = patches_of(standardiser(log_mel), model.n_frames, patch_hop)
    return float(model.patch_errors(torch.from_numpy(patches[:, None])).mean())


def load_acoustic_model(path: Path | str) -> tuple[SpectrogramAutoencoder, BandStandardiser,
                                                   SpectrogramConfig, dict[str, Any]]:
    """A shipped autoencoder with its band statistics and feature configuration (metadata);
    ModelLoadError naming the file if anything is missing, corrupt or mismatched."""
    model, meta = load_weights(SpectrogramAutoencoder, path, expected_model=MODEL_NAME)
    try:
        features = meta["features"]
        standardiser = BandStandardiser(np.array(features["band_mean"]),
                                        np.array(features["band_std"]))
        spec_config = SpectrogramConfig(**{key: features[key] for key in
                                           SpectrogramConfig.__dataclass_fields__})
        hop = int(features["score_patch_hop"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelLoadError(Path(path).with_suffix(".json"),
                             f"feature metadata incomplete ({exc})") from None
    if standardiser.mean.shape != (model.n_bands,) or hop < 1:
        raise ModelLoadError(Path(path).with_suffix(".json"),
                             f"band statistics for {standardiser.mean.shape} bands, model has "
                             f"{model.n_bands}")
    return model, standardiser, spec_config, meta  # type: ignore[return-value]
