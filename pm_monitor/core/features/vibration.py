"""Vibration features of one accelerometer axis (papers 000 / 001).

All functions take a 1-D float64 signal with its mean removed and return raw (not log-compressed)
values; the extractor decides on compression.
"""
from __future__ import annotations

import numpy as np
from scipy import fft as sp_fft
from scipy import signal

_EPS = 1e-12


def time_domain_stats(x: np.ndarray) -> tuple[float, float, float, float]:
    """(RMS, peak |x|, crest factor = peak / RMS, kurtosis = E[x^4] / RMS^4; Gaussian -> 3)."""
    power = float(np.mean(x * x))
    rms = power**0.5
    peak = float(np.max(np.abs(x)))
    crest = peak / max(rms, _EPS)
    kurtosis = float(np.mean((x * x) ** 2)) / max(power * power, _EPS)
    return rms, peak, crest, kurtosis


def teager_kaiser_energy(x: np.ndarray) -> float:
    """Mean Teager-Kaiser energy psi[n] = x[n]^2 - x[n-1] x[n+1].

    It weights amplitude by instantaneous frequency, so short high-frequency impacts (a bearing
    defect exciting the structure) raise it far more than low-frequency imbalance does.
    """
    return float(np.mean(x[1:-1] * x[1:-1] - x[:-2] * x[2:]))


def spectral_kurtosis(x: np.ndarray, sample_rate: float, nperseg: int = 64) -> float:
    """Maximum over frequency of the spectral kurtosis SK(f) = E|X|^4 / (E|X|^2)^2 - 2.

    SK(f) is ~0 for stationary Gaussian noise and large in bands excited by repetitive transients,
    so its maximum flags impacts that the overall kurtosis can miss under broadband noise.
    """
    _, _, stft = signal.stft(
        x, fs=sample_rate, nperseg=nperseg, noverlap=0, boundary=None, padded=False
    )
    # Skip DC and Nyquist: those bins are real-valued, so Gaussian noise has SK = 1 there, not 0.
    power = (stft.real**2 + stft.imag**2)[1:-1]  # (n_freqs, n_frames)
    mean_power = power.mean(axis=1)
    sk = (power**2).mean(axis=1) / np.maximum(mean_power**2, _EPS) - 2.0
    return float(sk.max())


def envelope_spectrum(
    x: np.ndarray, sample_rate: float, band_hz: tuple[float, float]
) -> tuple[np.ndarray, float]:
    """Amplitude spectrum of the Hilbert envelope of x band-passed to band_hz.

    Returns (amplitudes, bin width in Hz). Band-pass and Hilbert transform are done in one step in
    the frequency domain: keeping only the positive-frequency bins inside the band gives the
    analytic signal of the band-passed x (an ideal band-pass followed by scipy.signal.hilbert).
    Because |analytic signal| does not change when the band is shifted to 0 Hz, the inverse FFT
    runs only over the band's bins (complex demodulation): same envelope, sampled at the band
    width instead of the full rate, which makes it several times cheaper.
    """
    n = x.size
    spectrum = sp_fft.rfft(x)
    bin_hz = sample_rate / n
    lo = max(int(np.ceil(band_hz[0] / bin_hz)), 1)
    hi = min(int(np.floor(band_hz[1] / bin_hz)), spectrum.size - 1)
    band = spectrum[lo : hi + 1]
    m = sp_fft.next_fast_len(band.size)
    baseband = sp_fft.ifft(band, n=m)  # envelope sampled at m / duration Hz
    envelope = np.abs(baseband)
    envelope -= envelope.mean()
    env_spectrum = np.abs(sp_fft.rfft(envelope)) * (2.0 / m)
    duration_s = n / sample_rate
    return env_spectrum, 1.0 / duration_s


def envelope_peak_ratio(
    env_spectrum: np.ndarray,
    bin_hz: float,
    frequency_hz: float,
    harmonics: int,
    tolerance: float,
    reference: float,
) -> float:
    """Sum over the first `harmonics` multiples of frequency_hz of the envelope-spectrum peak
    (searched within +-tolerance relative, at least +-1 bin, to allow for speed error), divided by
    `reference` (the spectrum's median): ~1 x harmonics for no defect, large for a defect.
    """
    total = 0.0
    for k in range(1, harmonics + 1):
        centre = k * frequency_hz / bin_hz
        half_width = max(tolerance * centre, 1.0)
        lo = max(int(np.floor(centre - half_width)), 1)
        hi = min(int(np.ceil(centre + half_width)), env_spectrum.size - 1)
        if lo > hi:
            break
        total += float(env_spectrum[lo : hi + 1].max())
    return total / max(reference, _EPS)
