"""Envelope analysis with the demodulation band chosen from the signal (fast-kurtogram style).

A bearing defect strikes the structure once per roll-over; each strike rings the housing's
resonances at kHz. The band where those rings dominate is the band where the *envelope* of the
band-passed signal is most impulsive, measured by the spectral kurtosis of the complex envelope
(Antoni & Randall, MSSP 20 (2006) 308-331: the kurtogram). `select_band` scans a 1/3-binary tree
of bands (the fast kurtogram's levels, each band wide enough to carry the defect harmonics and
their sidebands) and returns the most impulsive one; `envelope_spectrum` demodulates it
(Butterworth band-pass, scipy.signal.hilbert) and returns the envelope's amplitude spectrum.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy import signal

_EPS = 1e-20


@dataclass(frozen=True)
class Band:
    low_hz: float
    high_hz: float
    kurtosis: float  # spectral kurtosis of the band's complex envelope (0 for Gaussian noise)

    @property
    def centre_hz(self) -> float:
        return 0.5 * (self.low_hz + self.high_hz)


@functools.lru_cache(maxsize=512)
def _bandpass(rate_hz: float, low_hz: float, high_hz: float) -> np.ndarray:
    # Designed once per (rate, band): the design costs more than filtering a short window.
    return signal.butter(4, (low_hz, high_hz), btype="bandpass", fs=rate_hz, output="sos")


def _analytic(x: np.ndarray, rate_hz: float, low_hz: float, high_hz: float) -> np.ndarray:
    return signal.hilbert(signal.sosfiltfilt(_bandpass(rate_hz, low_hz, high_hz), x))


def envelope_kurtosis(x: np.ndarray, rate_hz: float, low_hz: float, high_hz: float) -> float:
    """SK of the band = E|c|^4 / (E|c|^2)^2 - 2 for the complex envelope c (0 for Gaussian)."""
    c = _analytic(x, rate_hz, low_hz, high_hz)
    power = np.abs(c) ** 2
    return float(np.mean(power**2) / max(np.mean(power) ** 2, _EPS) - 2.0)


def candidate_bands(rate_hz: float, min_bandwidth_hz: float,
                    min_low_hz: float) -> list[tuple[float, float]]:
    """Bands of the fast kurtogram's 1/3-binary tree (level k: width fs/2^(k+1) and fs/(3*2^k)),
    kept when at least `min_bandwidth_hz` wide, above `min_low_hz` and below 0.45 fs."""
    nyquist = 0.5 * rate_hz
    bands = []
    for level in range(1, 9):
        for parts in (2**level, 3 * 2 ** (level - 1)):
            width = nyquist / parts
            if width < min_bandwidth_hz:
                continue
            for i in range(parts):
                lo, hi = i * width, (i + 1) * width
                lo, hi = max(lo, min_low_hz), min(hi, 0.45 * rate_hz)
                if hi - lo >= 0.75 * min_bandwidth_hz:
                    bands.append((lo, hi))
    return sorted(set(bands))


def select_band(x: np.ndarray, rate_hz: float, min_bandwidth_hz: float,
                min_low_hz: float = 500.0) -> Band:
    """The most impulsive band of x (max envelope spectral kurtosis over `candidate_bands`)."""
    x = np.asarray(x, dtype=np.float64) - np.mean(x)
    bands = candidate_bands(rate_hz, min_bandwidth_hz, min_low_hz)
    if not bands:
        raise ValueError(f"no demodulation band of >= {min_bandwidth_hz:.0f} Hz fits between "
                         f"{min_low_hz:.0f} Hz and 0.45 x {rate_hz:.0f} Hz")
    scores = [envelope_kurtosis(x, rate_hz, lo, hi) for lo, hi in bands]
    best = int(np.argmax(scores))
    return Band(bands[best][0], bands[best][1], float(scores[best]))


@dataclass(frozen=True)
class EnvelopeSpectrum:
    freqs_hz: np.ndarray
    amplitude: np.ndarray  # envelope amplitude spectrum (units of the input)
    band: Band

    @property
    def resolution_hz(self) -> float:
        return float(self.freqs_hz[1] - self.freqs_hz[0])


def envelope_spectrum(x: np.ndarray, rate_hz: float, band: Band,
                      max_freq_hz: float | None = None) -> EnvelopeSpectrum:
    """Amplitude spectrum of the envelope of x in `band` (Hann window, zero-padded x4 so peak
    positions are interpolated), truncated at `max_freq_hz`."""
    x = np.asarray(x, dtype=np.float64) - np.mean(x)
    env = np.abs(_analytic(x, rate_hz, band.low_hz, band.high_hz))
    nfft = int(2 ** np.ceil(np.log2(4 * env.size)))
    freqs, power = signal.periodogram(env, fs=rate_hz, window="hann", nfft=nfft,
                                      detrend="constant", scaling="spectrum")
    amp = np.sqrt(2.0 * power)
    if max_freq_hz is not None:
        keep = freqs <= max_freq_hz
        freqs, amp = freqs[keep], amp[keep]
    return EnvelopeSpectrum(freqs, amp, band)
