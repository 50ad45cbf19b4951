"""Envelope analysis with the demodulation band chosen from the signal (fast-kurtogram style).

A bearing defect strikes the structure once per roll-over; each strike rings the housing's
resonances at kHz. The band where those rings dominate is the band where the *envelope* of the
band-passed signal is most impulsive, measured by the spectral kurtosis of the complex envelope
(Antoni & Randall, MSSP 20 (2006) 308-331: the kurtogram). `select_band` computes the
STFT-based kurtogram (spectral kurtosis over frequency for several window lengths, one
scipy.signal.stft each) and returns the most impulsive band, widened so it carries the defect
harmonics and their sidebands; `envelope_spectrum` demodulates it and returns the envelope's
amplitude spectrum. Band-pass, Hilbert envelope, spectral kurtosis and amplitude spectrum are
the one implementation in `core.features.vibration`, shared with the trained feature path.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pm_monitor.core.condition.features import USABLE_FRACTION
from pm_monitor.core.features import vibration

_EPS = 1e-20
# Demodulation bands start above the shaft harmonics and the structure's low modes.
MIN_LOW_HZ = 500.0
# The envelope of a band of width B has spectral content up to B: sample it at 2 x B.
ENVELOPE_OVERSAMPLE = 2
# Zero-phase Butterworth band-pass (order 4, applied forward and backward): a brick-wall band
# rings (sinc) and smears each impact over many cycles, which lowers the band's kurtosis.
BAND_ORDER = 4


@dataclass(frozen=True)
class Band:
    low_hz: float
    high_hz: float
    kurtosis: float  # spectral kurtosis of the band's complex envelope (0 for Gaussian noise)

    @property
    def centre_hz(self) -> float:
        return 0.5 * (self.low_hz + self.high_hz)


def envelope_kurtosis(x: np.ndarray, rate_hz: float, low_hz: float, high_hz: float) -> float:
    """SK of the band = E|c|^4 / (E|c|^2)^2 - 2 for the complex envelope c (0 for Gaussian)."""
    env, _ = vibration.band_envelope(x, rate_hz, (low_hz, high_hz), ENVELOPE_OVERSAMPLE,
                                      BAND_ORDER)
    power = env**2
    return float(np.mean(power**2) / max(np.mean(power) ** 2, _EPS) - 2.0)


def spectral_kurtosis_map(x: np.ndarray, rate_hz: float, nperseg: int
                          ) -> tuple[np.ndarray, np.ndarray]:
    """(frequencies, SK(f)) from one STFT with 3/4 overlap (kurtogram row)."""
    return vibration.spectral_kurtosis_map(x, rate_hz, nperseg, noverlap=3 * nperseg // 4)


def min_rate_hz(min_bandwidth_hz: float, min_low_hz: float = MIN_LOW_HZ) -> float:
    """The lowest sample rate at which `select_band` finds a demodulation band: the whole
    `min_bandwidth_hz` between `min_low_hz` and USABLE_FRACTION x the rate (a narrower band
    would not carry the defect harmonics and sidebands the width was asked for; one reaching
    below `min_low_hz` would demodulate shaft harmonics)."""
    return (min_low_hz + min_bandwidth_hz) / USABLE_FRACTION


def select_band(x: np.ndarray, rate_hz: float, min_bandwidth_hz: float,
                min_low_hz: float = MIN_LOW_HZ) -> Band:
    """The most impulsive band of x: the kurtogram's maximum over window lengths (frequency
    resolutions) and centre frequencies, widened to `min_bandwidth_hz` so the band carries the
    defect harmonics and sidebands, kept between `min_low_hz` and 0.45 fs. The returned
    kurtosis is that of the chosen band's complex envelope. Raises ValueError below
    `min_rate_hz` (no such band fits)."""
    x = np.asarray(x, dtype=np.float64) - np.mean(x)
    top = USABLE_FRACTION * rate_hz
    if rate_hz < min_rate_hz(min_bandwidth_hz, min_low_hz):
        raise ValueError(f"no demodulation band of >= {min_bandwidth_hz:.0f} Hz fits between "
                         f"{min_low_hz:.0f} Hz and {USABLE_FRACTION} x {rate_hz:.0f} Hz")
    best = (-np.inf, 0.5 * (min_low_hz + top), min_bandwidth_hz)
    for nperseg in (16, 32, 64, 128, 256):
        if nperseg * 8 > x.size:
            break
        freqs, sk = spectral_kurtosis_map(x, rate_hz, nperseg)
        width = max(2.0 * rate_hz / nperseg, min_bandwidth_hz)
        ok = (freqs - width / 2 >= min_low_hz - 1e-9) & (freqs + width / 2 <= top + 1e-9)
        if not ok.any():
            continue
        i = np.flatnonzero(ok)[np.argmax(sk[ok])]
        if sk[i] > best[0]:
            best = (float(sk[i]), float(freqs[i]), width)
    _, centre, width = best
    low = float(np.clip(centre - width / 2, min_low_hz, top - width))
    high = min(low + width, top)
    return Band(low, high, envelope_kurtosis(x, rate_hz, low, high))


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
    env, env_rate = vibration.band_envelope(x, rate_hz, (band.low_hz, band.high_hz),
                                            ENVELOPE_OVERSAMPLE, BAND_ORDER)
    nfft = int(2 ** np.ceil(np.log2(4 * env.size)))
    amp, bin_hz = vibration.amplitude_spectrum(env, env_rate, hann=True, nfft=nfft)
    freqs = np.arange(amp.size) * bin_hz
    if max_freq_hz is not None:
        keep = freqs <= max_freq_hz
        freqs, amp = freqs[keep], amp[keep]
    return EnvelopeSpectrum(freqs, amp, band)
