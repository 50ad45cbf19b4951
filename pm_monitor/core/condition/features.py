"""Rate-aware vibration features in physical units, for 1..N accelerometer axes.

Every frequency band is given in Hz, so the same asset description works at 2.5 kHz or 100 kHz;
a band above the usable limit of the stream (`USABLE_FRACTION` x the rate) is not silently
shrunk: it is not computed (`bands_for_rate`), and a rate too low for the ISO 10816-3 velocity
band, which every asset is judged by, is refused with the reason (`check_rate`). What a rate
supports besides (the envelope's demodulation band, core/condition/envelope.py) is said by the
analysis that needs it. Inputs are converted to g once (`core.acceleration_units`), velocity is
in mm/s.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import integrate, signal

from pm_monitor.core.acceleration_units import STANDARD_GRAVITY_M_S2, acceleration_scale
from pm_monitor.core.alarms import severity_zones
from pm_monitor.core.features.vibration import spectral_kurtosis, time_domain_stats

# ISO 10816-3 / 20816-3 broadband velocity band for machines above 600 rpm.
ISO_VELOCITY_BAND_HZ = severity_zones.DEFAULT_BAND_HZ
# The highest frequency analysed at a rate, as a fraction of it: below Nyquist (0.5) by the
# transition band of a real anti-aliasing filter.
USABLE_FRACTION = 0.45
# The lowest rate with the ISO velocity band's upper edge (1000 Hz) below the usable limit
# (2222 Hz): physics, not a round number. Above it RMS, peak, crest, kurtosis, ISO velocity and
# the 10-1000 Hz band are all observable (the ADXL345's 3.2 kHz, the ADXL355's 4 kHz).
MIN_RATE_HZ = ISO_VELOCITY_BAND_HZ[1] / USABLE_FRACTION
# The lowest band where bearing impacts ring the structure (>= 1 kHz): broadband RMS carries
# bearing damage only at a rate that observes it (>= 2200 / 0.45 = 4889 Hz); below, RMS is the
# machine's running-speed vibration (unbalance, alignment, load), which the ISO zones judge.
BEARING_BAND_HZ = (1000.0, 2200.0)
# Acceleration bands (Hz). Bands whose upper edge is above the usable limit are not computed at
# that rate; the lowest always is (MIN_RATE_HZ covers it). Fixed in Hz so a reference taken at
# one rate means the same physical thing as a window at another.
ACCEL_BANDS_HZ: tuple[tuple[float, float], ...] = (
    (10.0, 1000.0), BEARING_BAND_HZ, (2200.0, 5000.0), (5000.0, 10000.0), (10000.0, 20000.0))
_EPS = 1e-12


class RateError(ValueError):
    """A stream whose rate cannot support the configured analysis (the message says why)."""


def check_rate(rate_hz: float) -> None:
    """Refuse what cannot work: below MIN_RATE_HZ the ISO velocity band (the severity every
    asset is judged by) is not observable."""
    if not np.isfinite(rate_hz) or rate_hz < MIN_RATE_HZ:
        raise RateError(f"sample rate {rate_hz} Hz is below {MIN_RATE_HZ:.0f} Hz: the ISO "
                        f"10816-3 velocity band {ISO_VELOCITY_BAND_HZ} Hz reaches above "
                        f"{USABLE_FRACTION} x the rate and cannot be analysed")


def bands_for_rate(rate_hz: float) -> tuple[tuple[float, float], ...]:
    """The acceleration bands observable at `rate_hz` (upper edge below the usable limit)."""
    check_rate(rate_hz)
    return tuple(b for b in ACCEL_BANDS_HZ if b[1] <= USABLE_FRACTION * rate_hz)


def missing_bands(rate_hz: float) -> tuple[tuple[float, float], ...]:
    """The acceleration bands `rate_hz` cannot observe (what an operator is told is off)."""
    return tuple(b for b in ACCEL_BANDS_HZ if b not in bands_for_rate(rate_hz))


def feature_names(rate_hz: float) -> tuple[str, ...]:
    """Names of the per-axis features at `rate_hz`, in the order `axis_features` returns them."""
    bands = tuple(f"band_{lo / 1000:g}_{hi / 1000:g}khz_g" for lo, hi in bands_for_rate(rate_hz))
    return ("rms_g", "peak_g", "crest", "kurtosis", "velocity_rms_mm_s", "spectral_kurtosis",
            *bands)


def velocity_rms_mm_s(x_g: np.ndarray, rate_hz: float) -> float:
    """ISO 10816-3 broadband velocity RMS (mm/s) from acceleration in g (the one velocity
    implementation, `core.alarms.severity_zones`); nan when the window is too short."""
    try:
        return float(severity_zones.velocity_rms_mm_s(x_g * STANDARD_GRAVITY_M_S2, rate_hz,
                                                      ISO_VELOCITY_BAND_HZ))
    except ValueError:
        return float("nan")


def band_rms(x_g: np.ndarray, rate_hz: float,
             bands_hz: tuple[tuple[float, float], ...]) -> list[float]:
    """RMS (g) of x in each band, from one Welch PSD (Parseval: integral of the PSD)."""
    nperseg = min(x_g.size, 1024)
    freqs, psd = signal.welch(x_g, fs=rate_hz, nperseg=nperseg)
    out = []
    for lo, hi in bands_hz:
        keep = (freqs >= lo) & (freqs < hi)
        out.append(float(np.sqrt(max(integrate.trapezoid(psd[keep], freqs[keep]), 0.0)))
                   if keep.sum() >= 2 else float("nan"))
    return out


def axis_features(x_g: np.ndarray, rate_hz: float) -> np.ndarray:
    """Features of one axis (see `feature_names`), x in g."""
    x = np.asarray(x_g, dtype=np.float64)
    x = x - x.mean()
    rms, peak, crest, kurt = time_domain_stats(x)
    sk = spectral_kurtosis(x, rate_hz, nperseg=max(16, int(2 ** round(np.log2(rate_hz / 400)))))
    return np.array([rms, peak, crest, kurt, velocity_rms_mm_s(x, rate_hz), max(sk, 0.0) + 1.0,
                     *band_rms(x, rate_hz, bands_for_rate(rate_hz))])


@dataclass(frozen=True)
class WindowFeatures:
    """Features of one window: `values[axis, feature]`, named by `axes` and `names`."""

    axes: tuple[str, ...]
    names: tuple[str, ...]
    values: np.ndarray

    def get(self, axis: str, name: str) -> float:
        return float(self.values[self.axes.index(axis), self.names.index(name)])


def window_features(samples: np.ndarray, rate_hz: float, axes: tuple[str, ...],
                    unit: str = "g") -> WindowFeatures:
    """Features of a (n, n_axes) window in `unit` (g or m/s^2) at `rate_hz`."""
    check_rate(rate_hz)
    data = np.asarray(samples, dtype=np.float64)
    if data.ndim == 1:
        data = data[:, None]
    if data.shape[1] != len(axes):
        raise ValueError(f"window has {data.shape[1]} axes, the description names {len(axes)}")
    if data.shape[0] < int(0.02 * rate_hz):
        raise ValueError(f"window of {data.shape[0]} samples is shorter than 20 ms")
    data = data * acceleration_scale(unit, "g")
    values = np.stack([axis_features(data[:, i], rate_hz) for i in range(data.shape[1])])
    return WindowFeatures(tuple(axes), feature_names(rate_hz), values)
