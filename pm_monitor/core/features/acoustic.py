"""Acoustic features: log energies in a few frequency bands of the microphone signal."""
from __future__ import annotations

import numpy as np
from scipy import fft as sp_fft

_EPS = 1e-12


def log_band_energies(
    x: np.ndarray, sample_rate: float, bands_hz: tuple[tuple[float, float], ...]
) -> np.ndarray:
    """log10 of the mean power per sample in each band (Parseval-scaled power spectrum)."""
    n = x.size
    power = np.abs(sp_fft.rfft(x)) ** 2 / (n * n)
    power[1:] *= 2.0  # one-sided spectrum: fold the negative frequencies in
    freqs = np.arange(power.size) * (sample_rate / n)
    energies = np.empty(len(bands_hz), dtype=np.float64)
    for i, (lo, hi) in enumerate(bands_hz):
        in_band = (freqs >= lo) & (freqs < hi)
        energies[i] = power[in_band].sum()
    return np.log10(energies + _EPS)
