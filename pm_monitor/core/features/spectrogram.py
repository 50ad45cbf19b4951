"""Log-spectrograms of sound ([P2]: STFT with n_fft 2048 and 50 % overlap).

One feature path for training, evaluation and a live node: ``log_spectrogram`` (power in dB per
STFT bin), ``mel_filterbank`` (triangular, Slaney-style mel scale, written here because librosa
is not a dependency) and ``log_mel_spectrogram`` that pools the 1025 bins into a few bands so a
small model can read them. Frames are not centre-padded: frame k covers samples
[k * hop, k * hop + n_fft).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

_POWER_FLOOR = 1e-12  # -120 dB: keeps log10 finite on digital silence


@dataclass(frozen=True)
class SpectrogramConfig:
    sample_rate_hz: float = 16000.0
    n_fft: int = 2048
    hop: int = 1024  # 50 % overlap
    n_mels: int = 64
    fmin_hz: float = 50.0
    fmax_hz: float = 8000.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def log_spectrogram(samples: np.ndarray, n_fft: int = 2048, hop: int = 1024) -> np.ndarray:
    """(n_frames, n_fft // 2 + 1) float32 power in dB (10 log10 of |X|^2 / sum(window^2))."""
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"expected a 1-D signal, got shape {x.shape}")
    if n_fft < 2 or hop < 1:
        raise ValueError(f"need n_fft >= 2 and hop >= 1, got {n_fft}, {hop}")
    if x.size < n_fft:
        raise ValueError(f"signal of {x.size} samples is shorter than n_fft={n_fft}")
    if not np.all(np.isfinite(x)):
        raise ValueError("signal contains NaN or inf")
    window = np.hanning(n_fft + 1)[:-1]  # periodic Hann: exact 50 % overlap-add
    frames = sliding_window_view(x, n_fft)[::hop] * window
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2 / np.sum(window ** 2)
    return (10.0 * np.log10(np.maximum(power, _POWER_FLOOR))).astype(np.float32)


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(sample_rate_hz: float, n_fft: int, n_mels: int, fmin_hz: float,
                   fmax_hz: float) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) triangular filters, equally spaced on the HTK mel scale,
    each normalised to unit sum (a band's value is the mean power under its triangle)."""
    if not 0.0 <= fmin_hz < fmax_hz <= sample_rate_hz / 2:
        raise ValueError(f"need 0 <= fmin < fmax <= Nyquist, got {fmin_hz}, {fmax_hz}")
    bin_hz = np.arange(n_fft // 2 + 1) * sample_rate_hz / n_fft
    edges = _mel_to_hz(np.linspace(_hz_to_mel(fmin_hz), _hz_to_mel(fmax_hz), n_mels + 2))
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bin_hz - lower) / (centre - lower)
    falling = (upper - bin_hz) / (upper - centre)
    filters = np.maximum(0.0, np.minimum(rising, falling))
    sums = filters.sum(axis=1, keepdims=True)
    if np.any(sums == 0):
        raise ValueError(f"{n_mels} mel bands are too narrow for n_fft={n_fft}: some are empty")
    return (filters / sums).astype(np.float32)


def log_mel_spectrogram(samples: np.ndarray, config: SpectrogramConfig) -> np.ndarray:
    """(n_mels, n_frames) float32 dB: the STFT power pooled into mel bands, then log."""
    power_db = log_spectrogram(samples, config.n_fft, config.hop)
    power = 10.0 ** (power_db.astype(np.float64) / 10.0)
    filters = mel_filterbank(config.sample_rate_hz, config.n_fft, config.n_mels,
                             config.fmin_hz, config.fmax_hz)
    banded = power @ filters.T.astype(np.float64)
    return (10.0 * np.log10(np.maximum(banded, _POWER_FLOOR))).T.astype(np.float32)
