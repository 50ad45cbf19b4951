"""ISO 10816-3 / ISO 20816-3 vibration severity: velocity RMS in mm/s and zones A/B/C/D.

Velocity is integrated from acceleration in the frequency domain: the acceleration power
spectral density (scipy.signal.welch, Hann window, linear detrend) divided by (2 pi f)^2 is
the velocity PSD; integrating it over the evaluation band (10 Hz - 1 kHz for machines above
600 rpm) gives the band-limited velocity mean square (Parseval). This avoids the drift of a
time-domain integration and needs no filter transient, which matters for short windows
(0.1 s FEMTO snapshots). The band edges are ideal (brick wall), not the ISO 2954 filter
slopes: a component near 10 Hz or 1 kHz counts fully or not at all.

Zone boundaries (velocity RMS, mm/s), ISO 10816-3:2009 Annex A, Tables A.1 and A.2 (to our
knowledge unchanged in ISO 20816-3:2022 for the broadband velocity criterion; no copy of the
standards was available to re-check, so they are configuration, not constants of nature):

    group 1 (300 kW - 50 MW; electrical machines, shaft height >= 315 mm)
        rigid foundation     A/B 2.3   B/C 4.5   C/D 7.1
        flexible foundation  A/B 3.5   B/C 7.1   C/D 11.0
    group 2 (15 kW - 300 kW; electrical machines, 160 mm <= shaft height < 315 mm)
        rigid foundation     A/B 1.4   B/C 2.8   C/D 4.5
        flexible foundation  A/B 2.3   B/C 4.5   C/D 7.1

Zone A: newly commissioned machines; B: acceptable for unrestricted long-term operation;
C: unsatisfactory for long-term continuous operation (limited period until remedial action);
D: severe enough to cause damage.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from scipy import signal

from pm_monitor.core.types import HealthState

DEFAULT_BAND_HZ = (10.0, 1000.0)
MM_PER_M = 1000.0
MIN_COVERAGE = 0.95  # a window with more missing samples gets no velocity (zone unknown)
WELCH_SEGMENT_S = 1.0  # 1 Hz resolution on windows of 1 s or more; shorter windows: one segment


class IsoZone(IntEnum):
    """Evaluation zone; UNKNOWN when no velocity was measured (no accelerometer data)."""

    UNKNOWN = 0
    A = 1
    B = 2
    C = 3
    D = 4

    @property
    def label(self) -> str:
        return "" if self == IsoZone.UNKNOWN else self.name


# (machine group, foundation) -> (A/B, B/C, C/D) boundaries in mm/s, see the module docstring.
ISO_10816_3_BOUNDARIES_MM_S: dict[tuple[int, str], tuple[float, float, float]] = {
    (1, "rigid"): (2.3, 4.5, 7.1),
    (1, "flexible"): (3.5, 7.1, 11.0),
    (2, "rigid"): (1.4, 2.8, 4.5),
    (2, "flexible"): (2.3, 4.5, 7.1),
}
FOUNDATIONS = ("rigid", "flexible")


@dataclass(frozen=True)
class ZoneTable:
    """Boundaries A/B, B/C, C/D in mm/s (strictly increasing, > 0) and where they came from."""

    boundaries_mm_s: tuple[float, float, float]
    source: str = "custom"

    def __post_init__(self) -> None:
        b = tuple(float(v) for v in self.boundaries_mm_s)
        if len(b) != 3 or not all(np.isfinite(b)) or b[0] <= 0 or not b[0] < b[1] < b[2]:
            raise ValueError(f"iso_zone_boundaries_mm_s must be 3 increasing positive values "
                             f"(A/B, B/C, C/D), got {self.boundaries_mm_s!r}")
        object.__setattr__(self, "boundaries_mm_s", b)

    @classmethod
    def iso_10816_3(cls, group: int, foundation: str) -> ZoneTable:
        """The standard's table for a machine group (1 or 2) and foundation type."""
        key = (int(group), str(foundation))
        if key[0] not in (1, 2):
            raise ValueError(f"iso_machine_group must be 1 or 2, got {group!r}")
        if key[1] not in FOUNDATIONS:
            raise ValueError(f"iso_foundation must be one of {FOUNDATIONS}, got {foundation!r}")
        return cls(ISO_10816_3_BOUNDARIES_MM_S[key],
                   f"ISO 10816-3/20816-3 group {key[0]}, {key[1]} foundation")

    def classify(self, velocity_mm_s: float) -> IsoZone:
        if velocity_mm_s is None or not np.isfinite(velocity_mm_s) or velocity_mm_s < 0:
            return IsoZone.UNKNOWN
        ab, bc, cd = self.boundaries_mm_s
        if velocity_mm_s < ab:
            return IsoZone.A
        if velocity_mm_s < bc:
            return IsoZone.B
        if velocity_mm_s < cd:
            return IsoZone.C
        return IsoZone.D


def zone_health_state(zone: IsoZone) -> HealthState | None:
    """The health state an engineer reads from a zone: A/B acceptable (NORMAL), C
    unsatisfactory (WARNING), D damaging (FAILURE); None when unknown."""
    return {IsoZone.A: HealthState.NORMAL, IsoZone.B: HealthState.NORMAL,
            IsoZone.C: HealthState.WARNING, IsoZone.D: HealthState.FAILURE}.get(zone)


class Agreement(IntEnum):
    """Model state vs ISO zone; values equal Alert.AGREEMENT_*."""

    UNKNOWN = 0
    AGREE = 1
    MODEL_HIGHER = 2  # the model sees a fault the velocity criterion does not (yet)
    ZONE_HIGHER = 3  # the velocity is in C/D while the model says less


def agreement(model_state: HealthState, zone: IsoZone) -> Agreement:
    """Agree when both say "acceptable" or both say "not acceptable". The zone criterion has
    no Pre-Warning level, so any not-NORMAL model state agrees with zone C or D."""
    zone_state = zone_health_state(zone)
    if zone_state is None:
        return Agreement.UNKNOWN
    model_bad = model_state != HealthState.NORMAL
    zone_bad = zone_state != HealthState.NORMAL
    if model_bad == zone_bad:
        if model_bad and zone_state == HealthState.FAILURE and model_state < zone_state:
            return Agreement.ZONE_HIGHER
        return Agreement.AGREE
    return Agreement.MODEL_HIGHER if model_bad else Agreement.ZONE_HIGHER


def velocity_rms_mm_s(accel_m_s2: np.ndarray, sample_rate_hz: float,
                      band_hz: tuple[float, float] = DEFAULT_BAND_HZ) -> np.ndarray:
    """Band-limited velocity RMS (mm/s) of each channel of an acceleration record (m/s^2).

    accel_m_s2: (n,) or (n, channels). Returns (channels,) (a 0-d array for 1-D input).
    The record must cover at least one period of the band's lower edge.
    """
    x = np.asarray(accel_m_s2, dtype=np.float64)
    one_d = x.ndim == 1
    if one_d:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"acceleration must be (n,) or (n, channels), got shape {x.shape}")
    low, high = float(band_hz[0]), float(band_hz[1])
    fs = float(sample_rate_hz)
    if not (np.isfinite(fs) and fs > 0):
        raise ValueError(f"sample rate must be > 0, got {sample_rate_hz!r}")
    if not 0 < low < high <= fs / 2:
        raise ValueError(f"band {band_hz} must satisfy 0 < low < high <= fs/2 = {fs / 2}")
    duration_s = x.shape[0] / fs
    if duration_s * low < 1.0 - 1e-9:
        raise ValueError(f"{duration_s:.3f} s of data cannot resolve the band's lower edge "
                         f"{low} Hz (need >= {1 / low:.3f} s)")
    if not np.isfinite(x).all():
        raise ValueError("acceleration contains NaN or Inf")
    nperseg = min(x.shape[0], round(WELCH_SEGMENT_S * fs))
    freqs, psd = signal.welch(x, fs=fs, window="hann", nperseg=nperseg, detrend="linear",
                              scaling="density", axis=0)
    in_band = (freqs >= low) & (freqs <= high)
    df = freqs[1] - freqs[0]
    velocity_psd = psd[in_band] / (2 * np.pi * freqs[in_band, None]) ** 2
    rms = np.sqrt(velocity_psd.sum(axis=0) * df) * MM_PER_M
    return rms[0] if one_d else rms


def window_velocity_mm_s(window, stream: str = "accel", channels: tuple[str, ...] = ("x", "y"),
                         band_hz: tuple[float, float] = DEFAULT_BAND_HZ) -> float | None:
    """Velocity RMS (mm/s) of an AnalysisWindow's accelerometer: the largest of the named
    channels (ISO 20816-3 evaluates each radial direction and takes the highest). None when
    the window has no such stream, or the data cannot give a velocity (too short)."""
    stream_window = window.streams.get(stream) if hasattr(window, "streams") else None
    if stream_window is None:
        return None
    names = list(stream_window.channel_names)
    picked = [names.index(c) for c in channels if c in names] or list(range(len(names)))
    samples = np.asarray(stream_window.samples)[:, picked]
    valid = getattr(stream_window, "valid", None)
    if valid is not None and np.asarray(valid).size and np.mean(valid) < MIN_COVERAGE:
        return None  # gaps are zero-filled: the velocity would read low, so say "unknown"
    try:
        return float(np.max(velocity_rms_mm_s(samples, stream_window.sample_rate, band_hz)))
    except ValueError:
        return None
