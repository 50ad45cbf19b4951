"""Vibration features of one accelerometer axis (papers 000 / 001).

All functions take a 1-D float64 signal with its mean removed and return raw (not log-compressed)
values; the extractor decides on compression.
"""
from __future__ import annotations

import functools

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


def spectral_kurtosis_map(x: np.ndarray, sample_rate: float, nperseg: int,
                          noverlap: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(frequencies, SK(f)) from one STFT: SK(f) = E|X|^4 / (E|X|^2)^2 - 2 (Antoni 2006).

    SK(f) is ~0 for stationary Gaussian noise and large in bands excited by repetitive
    transients. The DC and Nyquist bins are real-valued, so Gaussian noise has SK = 1 there.
    """
    freqs, _, stft = signal.stft(
        x, fs=sample_rate, nperseg=nperseg, noverlap=noverlap, boundary=None, padded=False
    )
    power = stft.real**2 + stft.imag**2  # (n_freqs, n_frames)
    mean_power = power.mean(axis=1)
    return freqs, (power**2).mean(axis=1) / np.maximum(mean_power**2, _EPS) - 2.0


def spectral_kurtosis(x: np.ndarray, sample_rate: float, nperseg: int = 64) -> float:
    """Maximum over frequency (DC and Nyquist skipped) of the spectral kurtosis SK(f): it flags
    impacts that the overall kurtosis can miss under broadband noise."""
    return float(spectral_kurtosis_map(x, sample_rate, nperseg)[1][1:-1].max())


# Designed once per (rate, window length, band): the design costs more than a short window's
# FFT. Bounded: a gain holds the band's bins (under 1 MB even for 10 s at 100 kHz).
@functools.lru_cache(maxsize=64)
def _butterworth_gain(sample_rate: float, n: int, band_hz: tuple[float, float],
                      order: int) -> tuple[int, np.ndarray]:
    """(first bin, |H|^2 over the bins where it exceeds -60 dB) of a Butterworth band-pass of
    `order` applied forward and backward (what scipy.signal.sosfiltfilt applies)."""
    sos = signal.butter(order, band_hz, btype="bandpass", fs=sample_rate, output="sos")
    freqs = np.arange(n // 2 + 1) * (sample_rate / n)
    _, h = signal.sosfreqz(sos, worN=freqs, fs=sample_rate)
    gain = np.abs(h) ** 2
    keep = np.flatnonzero(gain > 1e-6)
    lo, hi = max(int(keep[0]), 1), min(int(keep[-1]), n // 2 - (n % 2 == 0))
    return lo, gain[lo : hi + 1]


def band_envelope(x: np.ndarray, sample_rate: float, band_hz: tuple[float, float],
                  oversample: int = 1, butterworth_order: int = 0) -> tuple[np.ndarray, float]:
    """Hilbert envelope of x band-passed to band_hz, and the rate it is sampled at.

    Band-pass and Hilbert transform are done in one step in the frequency domain: keeping only
    the positive-frequency bins inside the band gives the analytic signal of the band-passed x
    (a band-pass followed by scipy.signal.hilbert). Because |analytic signal| does not change
    when the band is shifted to 0 Hz, the inverse FFT runs only over the band's bins (complex
    demodulation): same envelope, sampled at about the band width instead of the full rate,
    which makes it several times cheaper.
    - butterworth_order 0: an ideal (brick-wall) band, what the trained feature path uses;
      > 0: the gain of a zero-phase Butterworth band-pass of that order (sosfiltfilt), whose
      short impulse response keeps impacts sharp (the kurtogram's band kurtosis).
    - oversample: the envelope's own spectrum reaches the band width, so 2 (zero-padding)
      samples it without aliasing; 1 is what the trained feature path uses.
    The scale is (n / 2m) of the envelope in input units (n samples in, m out): envelope
    analysis works with ratios.
    """
    n = x.size
    spectrum = sp_fft.rfft(x)
    bin_hz = sample_rate / n
    if butterworth_order > 0:
        lo, gain = _butterworth_gain(float(sample_rate), n, (float(band_hz[0]),
                                                            float(band_hz[1])), butterworth_order)
        band = spectrum[lo : lo + gain.size] * gain
    else:
        lo = max(int(np.ceil(band_hz[0] / bin_hz)), 1)
        hi = min(int(np.floor(band_hz[1] / bin_hz)), spectrum.size - 1)
        band = spectrum[lo : hi + 1]
    m = sp_fft.next_fast_len(oversample * band.size)
    baseband = sp_fft.ifft(band, n=m)
    return np.abs(baseband), m * sample_rate / n


def amplitude_spectrum(x: np.ndarray, sample_rate: float, hann: bool = False,
                       nfft: int | None = None) -> tuple[np.ndarray, float]:
    """One-sided amplitude spectrum of x with its mean removed, and its bin width in Hz.

    Scaled by the window's coherent gain, so a sine of amplitude A reads A at its bin. `hann`
    trades leakage for resolution; `nfft` > x.size zero-pads (interpolated peak positions).
    """
    x = x - x.mean()
    gain = float(x.size)
    if hann:
        window = signal.get_window("hann", x.size)
        x = x * window
        gain = float(window.sum())
    nfft = nfft or x.size
    return np.abs(sp_fft.rfft(x, n=nfft)) * (2.0 / gain), sample_rate / nfft


def envelope_spectrum(
    x: np.ndarray, sample_rate: float, band_hz: tuple[float, float]
) -> tuple[np.ndarray, float]:
    """Amplitude spectrum of the Hilbert envelope of x band-passed to band_hz (`band_envelope`,
    no window, no padding): (amplitudes, bin width in Hz = 1 / window duration)."""
    envelope, envelope_rate = band_envelope(x, sample_rate, band_hz)
    return amplitude_spectrum(envelope, envelope_rate)


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
