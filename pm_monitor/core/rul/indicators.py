"""Health indicators of one vibration snapshot, in physical units (g, g^2), any sample rate.

The prognostic model reads these, never raw samples: they are what an operator can check.
Per axis (horizontal, vertical):
- ``rms`` (g): overall vibration level;
- ``kurtosis`` (-, 3 for Gaussian noise): impulsiveness, rises with the first spalls;
- ``band_energy`` (g^2): power between ``band_hz`` (high band where impacts ring the structure);
- ``envelope`` (g): RMS of the envelope of the band-passed signal, mean removed (the
  amplitude modulation that repeated impacts leave; the defect tones live in its spectrum);
- ``peak`` (g): largest absolute sample (the FEMTO stop criterion is 20 g).

Everything is computed with scipy.signal from the samples and the sample rate, so a stream at
another rate gives the same physical numbers (the band edges are in Hz, not in bins).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal, stats

AXES = ("h", "v")
PER_AXIS = ("rms", "kurtosis", "band_energy", "envelope", "peak")
INDICATOR_NAMES: tuple[str, ...] = tuple(f"{name}_{axis}" for axis in AXES for name in PER_AXIS)


@dataclass(frozen=True)
class IndicatorConfig:
    band_hz: tuple[float, float] = (2000.0, 10000.0)
    filter_order: int = 4

    def __post_init__(self) -> None:
        low, high = self.band_hz
        if not 0 < low < high:
            raise ValueError(f"band_hz must be 0 < low < high, got {self.band_hz}")


def axis_indicators(x: np.ndarray, sample_rate_hz: float,
                    config: IndicatorConfig = IndicatorConfig()) -> dict[str, float]:
    """The per-axis indicators of one window of acceleration in g."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1 or x.size < 64 or not np.all(np.isfinite(x)):
        raise ValueError("need a finite 1-D window of at least 64 samples")
    centred = x - x.mean()
    low, high = config.band_hz
    high = min(high, 0.45 * sample_rate_hz)  # never above Nyquist, whatever the rate
    if low >= high:
        raise ValueError(f"sample rate {sample_rate_hz} Hz too low for band {config.band_hz}")
    sos = signal.butter(config.filter_order, (low, high), btype="bandpass",
                        fs=sample_rate_hz, output="sos")
    band = signal.sosfiltfilt(sos, centred)
    envelope = np.abs(signal.hilbert(band))
    variance = float(np.mean(centred ** 2))
    return {
        "rms": float(np.sqrt(np.mean(x ** 2))),
        "kurtosis": float(stats.kurtosis(centred, fisher=False)) if variance > 0 else 3.0,
        "band_energy": float(np.mean(band ** 2)),
        "envelope": float(np.std(envelope)),
        "peak": float(np.max(np.abs(x))),
    }


def snapshot_indicators(horizontal: np.ndarray, vertical: np.ndarray, sample_rate_hz: float,
                        config: IndicatorConfig = IndicatorConfig()) -> np.ndarray:
    """(len(INDICATOR_NAMES),) float64 in the order of INDICATOR_NAMES."""
    values: list[float] = []
    for axis in (horizontal, vertical):
        per_axis = axis_indicators(axis, sample_rate_hz, config)
        values.extend(per_axis[name] for name in PER_AXIS)
    return np.asarray(values, dtype=np.float64)
