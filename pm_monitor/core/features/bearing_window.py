"""Per-axis bearing features of raw accelerometer windows at any sampling rate (CWRU 12 kHz,
FEMTO 25.6 kHz snapshots, the rig), built on the same primitives as the live FeatureExtractor.

Per axis, in this order (names "<axis>.<feature>"):

    rms, peak, tke            log10 of RMS, peak |x| and mean Teager-Kaiser energy
    crest, kurtosis           ln of crest factor and of kurtosis (Gaussian -> ln 3)
    spectral_kurtosis         ln(max_f SK(f) + 2)
    env_<defect>_h<k>         ln(envelope-spectrum peak at k x defect frequency / median), for
                              defect in (bpfo, bpfi, bsf2, ftf) and k = 1..harmonics
    band_<i>                  log10 power of the band-passed signal in n_bands equal bands up to
                              spectrum_max_hz (the spectral shape tells fault sizes apart)

Defect frequencies are orders of the shaft speed (BearingGeometry); the shaft speed is given per
window, so one feature definition serves all motor loads and speeds.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np
from scipy import fft as sp_fft

from pm_monitor.core.features import vibration
from pm_monitor.core.signals.bearing import BearingGeometry, defect_frequencies

# Bumped whenever the numbers a config produces change: feature caches key on it.
FEATURE_VERSION = 2
DEFECTS: tuple[str, ...] = ("bpfo", "bpfi", "bsf2", "ftf")
STAT_FEATURES: tuple[str, ...] = ("rms", "peak", "tke", "crest", "kurtosis", "spectral_kurtosis")
_TINY = 1e-12


@dataclass(frozen=True)
class BearingWindowConfig:
    """What to compute for one window of one axis.

    resonance_band_hz: band the envelope is demodulated from (impacts excite it);
    harmonics: envelope peaks at 1..harmonics x each defect frequency;
    tolerance: relative search half-width around each line (speed error, slip);
    envelope_max_hz: the envelope median (the "no defect" level) is taken over [1, this];
    n_bands / spectrum_max_hz: log band powers of the raw spectrum.
    """

    bearing: BearingGeometry = field(default_factory=BearingGeometry)
    resonance_band_hz: tuple[float, float] = (2000.0, 5000.0)
    harmonics: int = 3
    tolerance: float = 0.03
    envelope_max_hz: float = 1000.0
    spectral_kurtosis_nperseg: int = 64
    n_bands: int = 16
    spectrum_max_hz: float = 6000.0

    def __post_init__(self) -> None:
        lo, hi = self.resonance_band_hz
        if not 0.0 < lo < hi:
            raise ValueError(f"resonance_band_hz must be 0 < lo < hi, got {self.resonance_band_hz}")
        if self.harmonics < 1 or self.n_bands < 1:
            raise ValueError("harmonics and n_bands must be >= 1")
        if not 0.0 < self.tolerance < 0.5:
            raise ValueError(f"tolerance must be in (0, 0.5), got {self.tolerance}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BearingWindowConfig:
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown bearing feature config keys: {sorted(unknown)}")
        values = dict(data)
        if isinstance(values.get("bearing"), dict):
            values["bearing"] = BearingGeometry(**values["bearing"])
        if "resonance_band_hz" in values:
            values["resonance_band_hz"] = tuple(values["resonance_band_hz"])
        return cls(**values)


def axis_feature_names(config: BearingWindowConfig) -> tuple[str, ...]:
    envelope = tuple(f"env_{d}_h{k}" for d in DEFECTS for k in range(1, config.harmonics + 1))
    bands = tuple(f"band_{i}" for i in range(config.n_bands))
    return STAT_FEATURES + envelope + bands


def feature_names(axes: tuple[str, ...], config: BearingWindowConfig) -> tuple[str, ...]:
    return tuple(f"{axis}.{name}" for axis in axes for name in axis_feature_names(config))


def defect_hz(shaft_hz: float, bearing: BearingGeometry) -> dict[str, float]:
    """Defect frequencies in Hz; bsf2 = 2 x ball spin (a ball defect hits both races)."""
    f = defect_frequencies(shaft_hz, bearing)
    return {"bpfo": f.bpfo, "bpfi": f.bpfi, "bsf2": 2.0 * f.bsf, "ftf": f.ftf}


def axis_features(x: np.ndarray, sample_rate_hz: float, shaft_hz: float,
                  config: BearingWindowConfig) -> np.ndarray:
    """Feature vector (float64) of one axis window; see the module docstring for the layout."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1 or x.size < 64:
        raise ValueError(f"need a 1-D window of >= 64 samples, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("window holds non-finite samples")
    if sample_rate_hz <= 0 or shaft_hz <= 0:
        raise ValueError(f"sample rate and shaft speed must be > 0 ({sample_rate_hz}, {shaft_hz})")
    if config.resonance_band_hz[1] > sample_rate_hz / 2:
        raise ValueError(f"resonance band {config.resonance_band_hz} Hz is above the Nyquist "
                         f"frequency of {sample_rate_hz / 2:g} Hz")
    x = x - x.mean()
    rms, peak, crest, kurtosis = vibration.time_domain_stats(x)
    sk = vibration.spectral_kurtosis(x, sample_rate_hz, config.spectral_kurtosis_nperseg)
    tke = vibration.teager_kaiser_energy(x)
    stats = [np.log10(max(rms, _TINY)), np.log10(max(peak, _TINY)),
             np.log10(max(tke, _TINY)), np.log(max(crest, 1.0)),
             np.log(max(kurtosis, _TINY)), np.log(max(sk + 2.0, _TINY))]
    env, bin_hz = vibration.envelope_spectrum(x, sample_rate_hz, config.resonance_band_hz)
    top = min(int(config.envelope_max_hz / bin_hz), env.size - 1)
    reference = float(np.median(env[1: top + 1])) if top >= 1 else _TINY
    envelope = []
    for hz in defect_hz(shaft_hz, config.bearing).values():
        for k in range(1, config.harmonics + 1):
            # each harmonic on its own (harmonics=1 at k x hz): the model weighs them itself
            ratio = vibration.envelope_peak_ratio(env, bin_hz, k * hz, 1, config.tolerance,
                                                  reference)
            envelope.append(np.log(max(ratio, _TINY)))
    return np.asarray(stats + envelope + list(band_log_powers(x, sample_rate_hz, config)))


def band_log_powers(x: np.ndarray, sample_rate_hz: float,
                    config: BearingWindowConfig) -> np.ndarray:
    """log10 of the mean power per sample in n_bands equal-width bands up to spectrum_max_hz
    (capped at Nyquist); Parseval-scaled so a band's powers sum to that band's variance."""
    n = x.size
    power = np.abs(sp_fft.rfft(x)) ** 2 / (n * n)
    power[1:(n + 1) // 2] *= 2.0  # fold negative frequencies in (not DC, not Nyquist)
    freqs = np.arange(power.size) * (sample_rate_hz / n)
    edges = np.linspace(0.0, min(config.spectrum_max_hz, sample_rate_hz / 2), config.n_bands + 1)
    index = np.searchsorted(edges, freqs, side="right") - 1
    index[freqs == edges[-1]] = config.n_bands - 1  # the top edge belongs to the last band
    inside = (index >= 0) & (index < config.n_bands)
    totals = np.bincount(index[inside], weights=power[inside], minlength=config.n_bands)
    return np.log10(totals + _TINY)


def window_features(windows: np.ndarray, sample_rate_hz: float, shaft_hz: float | np.ndarray,
                    config: BearingWindowConfig) -> np.ndarray:
    """(N, L, C) windows -> (N, C x F) float32 features, axis after axis.

    shaft_hz may be one value or one per window (records at different loads)."""
    windows = np.asarray(windows)
    if windows.ndim != 3:
        raise ValueError(f"windows must be (N, L, C), got shape {windows.shape}")
    shafts = np.broadcast_to(np.asarray(shaft_hz, dtype=np.float64), (windows.shape[0],))
    rows = [np.concatenate([axis_features(w[:, c], sample_rate_hz, float(s), config)
                            for c in range(windows.shape[2])])
            for w, s in zip(windows, shafts, strict=True)]
    width = windows.shape[2] * len(axis_feature_names(config))
    return np.asarray(rows, dtype=np.float32).reshape(len(rows), width)


def envelope_spectrum_of(x: np.ndarray, sample_rate_hz: float,
                         band_hz: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """(frequencies Hz, amplitudes) of the envelope spectrum (for plots and checks)."""
    x = np.asarray(x, dtype=np.float64)
    env, bin_hz = vibration.envelope_spectrum(x - x.mean(), sample_rate_hz, band_hz)
    return np.arange(env.size) * bin_hz, env
