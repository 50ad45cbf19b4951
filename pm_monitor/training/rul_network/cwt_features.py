"""Continuous wavelet transform (Morlet, PyWavelets) features of one vibration window.

Paper 002 computes, on the vertical axis: log energy, dominant frequency, entropy, kurtosis,
skewness, mean and standard deviation. Where the paper is ambiguous we define:
- W is scale-normalised (divided by sqrt(a), see cwt_magnitude);
- energy per scale E(a) = sum_b |W(a, b)|^2; log energy = log(sum_a E(a) + tiny);
- dominant frequency = the pseudo-frequency (Hz) of the scale with the largest E(a);
- entropy = Shannon entropy (nats) of E(a) / sum E over scales (spread of energy);
- kurtosis, skewness, mean, std = of the coefficient magnitudes |W(a, b)| over all scales and
  times (the real parts of a zero-mean signal's coefficients have mean ~0 and carry nothing).

Frequency band: the paper scans f_o/3 .. 3 f_o around the shaft frequency f_o (~30 Hz here);
one 0.1 s FEMTO snapshot holds only three shaft turns, and bearing damage shows in the kHz
range, so the default band is 100 Hz .. 10 kHz, log-spaced (scale = f_c * fs / f).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pywt
from scipy import stats

FEATURE_NAMES = ("log_energy", "dominant_freq_hz", "entropy", "kurtosis", "skewness", "mean",
                 "std")
WAVELET = "morl"
_TINY = 1e-12


@dataclass(frozen=True)
class CwtConfig:
    sample_rate_hz: float = 25600.0
    f_min_hz: float = 100.0
    f_max_hz: float = 10000.0
    n_scales: int = 32

    def __post_init__(self) -> None:
        if not 0 < self.f_min_hz < self.f_max_hz <= self.sample_rate_hz / 2:
            raise ValueError(f"need 0 < f_min < f_max <= fs/2, got {asdict(self)}")
        if self.n_scales < 2:
            raise ValueError("n_scales must be >= 2")

    def frequencies_hz(self) -> np.ndarray:
        return np.geomspace(self.f_min_hz, self.f_max_hz, self.n_scales)

    def scales(self) -> np.ndarray:
        centre = pywt.central_frequency(WAVELET)
        return centre * self.sample_rate_hz / self.frequencies_hz()


def cwt_magnitude(window: np.ndarray, config: CwtConfig) -> tuple[np.ndarray, np.ndarray]:
    """(|W| / sqrt(scale) of shape (n_scales, n), pseudo-frequency of each scale in Hz).

    PyWavelets' coefficients grow with sqrt(scale), so a 6 kHz tone would show most energy
    at the 100 Hz scale; dividing by sqrt(scale) puts a tone's peak at its own frequency."""
    window = np.asarray(window, dtype=np.float64)
    if window.ndim != 1 or window.size < 16:
        raise ValueError(f"need a 1-D window of at least 16 samples, got {window.shape}")
    if not np.isfinite(window).all():
        raise ValueError("window contains NaN or Inf")
    coef, freqs = pywt.cwt(window - window.mean(), config.scales(), WAVELET,
                           sampling_period=1.0 / config.sample_rate_hz, method="fft")
    magnitude = np.abs(coef) / np.sqrt(config.scales())[:, None]
    return magnitude, np.asarray(freqs, dtype=np.float64)


def cwt_features(window: np.ndarray, config: CwtConfig | None = None) -> np.ndarray:
    """The 7 features of FEATURE_NAMES, float64."""
    config = config or CwtConfig()
    magnitude, freqs = cwt_magnitude(window, config)
    energy = (magnitude ** 2).sum(axis=1)
    total = float(energy.sum())
    share = energy / (total + _TINY)
    entropy = float(-(share * np.log(share + _TINY)).sum())
    flat = magnitude.ravel()
    spread = float(flat.std())
    if spread > 0:
        kurtosis = float(stats.kurtosis(flat, fisher=False))
        skewness = float(stats.skew(flat))
    else:  # a constant window: no shape to describe; values of a Gaussian
        kurtosis, skewness = 3.0, 0.0
    return np.array([np.log(total + _TINY), freqs[int(np.argmax(energy))], entropy, kurtosis,
                     skewness, float(flat.mean()), spread])
