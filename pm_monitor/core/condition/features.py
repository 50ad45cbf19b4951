"""Rate-aware vibration features in physical units, for 1..N accelerometer axes.

Every frequency band is given in Hz, so the same asset description works at 5 kHz or 100 kHz;
a band above the Nyquist limit of the stream is not silently shrunk: `check_rate` refuses the
rate with the reason. Inputs are converted to g once (`core.acceleration_units`), velocity is
in mm/s.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import integrate, signal

from pm_monitor.core.acceleration_units import STANDARD_GRAVITY_M_S2, acceleration_scale
from pm_monitor.core.alarms import severity_zones
from pm_monitor.core.features.vibration import spectral_kurtosis, time_domain_stats

MIN_RATE_HZ = 5000.0
# ISO 10816-3 / 20816-3 broadband velocity band for machines above 600 rpm.
ISO_VELOCITY_BAND_HZ = severity_zones.DEFAULT_BAND_HZ
# Acceleration bands (Hz). Bands whose upper edge is above 0.45 fs are not computed at that rate;
# the low ones always are (MIN_RATE_HZ covers them). Fixed in Hz so a reference taken at one rate
# means the same physical thing as a window at another.
ACCEL_BANDS_HZ: tuple[tuple[float, float], ...] = (
    (10.0, 1000.0), (1000.0, 2200.0), (2200.0, 5000.0), (5000.0, 10000.0), (10000.0, 20000.0))
_EPS = 1e-12


class RateError(ValueError):
    """A stream whose rate cannot support the configured analysis (the message says why)."""


def check_rate(rate_hz: float) -> None:
    """Refuse what cannot work: below MIN_RATE_HZ the ISO band and the envelope bands of bearing
    impacts (kHz resonances) are not observable."""
    if not np.isfinite(rate_hz) or rate_hz < MIN_RATE_HZ:
        raise RateError(f"sample rate {rate_hz} Hz is below {MIN_RATE_HZ:.0f} Hz: the bearing "
                        f"resonance bands (>= 1 kHz) and the ISO velocity band "
                        f"{ISO_VELOCITY_BAND_HZ} Hz cannot be analysed")


def bands_for_rate(rate_hz: float) -> tuple[tuple[float, float], ...]:
    """The acceleration bands observable at `rate_hz` (upper edge below 0.45 fs)."""
    check_rate(rate_hz)
    return tuple(b for b in ACCEL_BANDS_HZ if b[1] <= 0.45 * rate_hz)


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
