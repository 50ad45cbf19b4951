"""A microphone judged against the asset's own acoustic reference, learned at commissioning.

Features (rate-aware, bands in Hz): the log-spaced bands from 50 Hz to 0.47 fs (32 bands; 8 kHz
and up, a lower rate is refused with the reason) give each band's share of the window's
energy (the spectral shape) plus the total band power (the loudness). Shape and level are kept
apart because the raw band energies all move together with the level: a model on them sees
mostly loudness (on MIMII fan id_00, RMS alone ranks anomalies perfectly and on id_02 exactly
backwards). The reference model is the vibration one (`core.condition.reference`: median / MAD,
shrunk correlation, robust Mahalanobis over a threshold from the commissioning windows), in the
same `ReferenceStore`, one file per asset under its `acoustic/` folder.

How the microphone may raise a state (`AcousticVote`), never a false alarm by design:
- it never lowers a state, never blocks the vibration decision, and a window without it (or
  with it refused) does not vote and breaks its persistence;
- it corroborates: acoustic anomaly in a window where the vibration is anomalous too (anomaly
  model over threshold, or level >= the Pre-Warning ratio) counts toward Pre-Warning with the
  vibration rules' persistence (two independent sensors agree);
- alone it needs persistence: anomalous for `alone_s` seconds of consecutive windows (a sound
  that changed and stayed changed, not a door slam or a passing forklift);
- it raises Pre-Warning at most (Warning and Failure need the vibration level, a defect tone
  or the ISO zone), and latches like the vibration states (reset after maintenance).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from pm_monitor.core.condition import reference
from pm_monitor.core.features.acoustic import log_band_energies
from pm_monitor.core.types import HealthState

MIN_MIC_RATE_HZ = 8000.0
LOW_EDGE_HZ = 50.0
TOP_EDGE_FRACTION = 0.47  # of the rate: below Nyquist and the anti-alias roll-off
N_BANDS = 32
LEVEL_FEATURE = "band_power"
ACOUSTIC_PART = "acoustic"  # the ReferenceStore part (sub-folder) of acoustic references
# the fault a microphone-only asset names: its sound moved away from its reference (which
# fault, sound alone does not tell)
ACOUSTIC_FAULT = "acoustic_anomaly"
MOST_MOVED = 3  # features named in the evidence


class MicRateError(ValueError):
    """A microphone rate that cannot carry the acoustic bands."""


def acoustic_bands(rate_hz: float) -> tuple[tuple[float, float], ...]:
    """N_BANDS log-spaced bands (Hz) from 50 Hz to 0.47 x the rate."""
    if not np.isfinite(rate_hz) or rate_hz < MIN_MIC_RATE_HZ:
        raise MicRateError(f"microphone rate {rate_hz} Hz is below {MIN_MIC_RATE_HZ:.0f} Hz: "
                           "the acoustic bands need up to 3.7 kHz at least")
    edges = np.geomspace(LOW_EDGE_HZ, TOP_EDGE_FRACTION * rate_hz, N_BANDS + 1)
    return tuple(itertools.pairwise(float(e) for e in edges))


def acoustic_feature_names(rate_hz: float) -> list[str]:
    """Band shares (in band order), then the total band power."""
    return ([f"share_{lo:.0f}_{hi:.0f}hz" for lo, hi in acoustic_bands(rate_hz)]
            + [LEVEL_FEATURE])


def acoustic_features(samples: np.ndarray, rate_hz: float) -> np.ndarray:
    """(n_channels, n_features) of one window (n,) or (n, n_channels), linear units (the
    reference model takes the logs)."""
    data = np.asarray(samples, dtype=np.float64)
    data = data[:, None] if data.ndim == 1 else data
    bands = acoustic_bands(rate_hz)
    rows = []
    for channel in data.T:
        energy = 10.0 ** log_band_energies(channel - channel.mean(), rate_hz, bands)
        total = float(energy.sum())
        rows.append(np.append(energy / max(total, 1e-30), total))
    return np.asarray(rows)


def clip_frames(x: np.ndarray, rate_hz: float, frame_s: float = 1.0) -> np.ndarray:
    """Features of every frame of a recording (frame_s long, half-overlapping, as the monitor's
    windows): (n_frames, n_features) for one channel."""
    n = int(frame_s * rate_hz)
    return np.stack([acoustic_features(x[s:s + n], rate_hz)[0]
                     for s in range(0, x.size - n + 1, n // 2)])


@dataclass(frozen=True)
class AcousticRules:
    alone_s: float = 30.0  # consecutive anomalous seconds for the mic alone to raise
    corroboration_persistence: int = 3  # windows, as the vibration rules'


@dataclass(frozen=True)
class AcousticAssessment:
    commissioning: bool
    progress: float
    anomaly: float  # distance / threshold (> 1: anomalous); nan while commissioning
    z: np.ndarray  # robust z per feature ("channel/feature"), empty while commissioning
    summary: str

    @property
    def anomalous(self) -> bool:
        return bool(np.isfinite(self.anomaly) and self.anomaly > 1.0)


class AcousticMonitor:
    """One asset's microphone: commissioning (stored after every window, resumable), then
    the anomaly distance over the reference's threshold."""

    def __init__(self, asset_id: str, channels: list[str], rate_hz: float,
                 store: reference.ReferenceStore | None, required_s: float) -> None:
        self.names = acoustic_feature_names(rate_hz)  # refuses a rate too low
        self.asset_id, self.channels, self.rate_hz = asset_id, list(channels), float(rate_hz)
        self.store, self.required_s = store, float(required_s)
        loaded = store.load(asset_id) if store is not None else None
        if loaded is not None:
            builder = reference.ReferenceBuilder(loaded)
            why = builder.compatible(rate_hz, self.channels, self.names)
            if why:
                raise ValueError(f"stored acoustic reference of {asset_id} does not fit: {why};"
                                 " reset commissioning to learn it again")
            self.builder = builder
        else:
            self.builder = self._new_builder()

    def _new_builder(self) -> reference.ReferenceBuilder:
        return reference.ReferenceBuilder.new(self.asset_id, self.rate_hz, self.channels,
                                              self.names, self.required_s)

    @property
    def reference(self) -> reference.Reference:
        return self.builder.reference

    @property
    def feature_labels(self) -> list[str]:
        return [f"{c}/{name}" for c in self.channels for name in self.names]

    def reset(self) -> None:
        if self.store is not None:
            self.store.reset(self.asset_id)
        self.builder = self._new_builder()

    def process(self, samples: np.ndarray, new_s: float | None = None) -> AcousticAssessment:
        data = np.asarray(samples, dtype=np.float64)
        feats = acoustic_features(data, self.rate_hz)
        ref = self.reference
        if not ref.complete:
            duration = data.shape[0] / self.rate_hz if new_s is None else float(new_s)
            done = self.builder.add(feats, duration)
            if self.store is not None:
                self.store.save_progress(ref)
            return AcousticAssessment(True, ref.progress, float("nan"), np.zeros(0),
                                      f"mic commissioning {ref.progress:.0%}"
                                      + (" (complete)" if done else ""))
        distance = reference.anomaly_distance(ref, feats)
        anomaly = distance / max(ref.threshold, 1e-9)
        z = reference.robust_z(ref, feats)
        moved = ", ".join(f"{self.feature_labels[i]} {z[i]:+.1f} sigma"
                          for i in np.argsort(-np.abs(z))[:MOST_MOVED])
        return AcousticAssessment(False, 1.0, anomaly, z,
                                  f"mic anomaly {anomaly:.1f}x threshold (distance "
                                  f"{distance:.2f} vs {ref.threshold:.2f}; most moved: {moved})")


class AcousticVote:
    """The microphone's latched contribution to the health state (module doc): Pre-Warning
    at most, on corroboration or on `alone_s` of persistence."""

    def __init__(self, rules: AcousticRules | None = None) -> None:
        self.rules = rules or AcousticRules()
        self.reset()

    def reset(self) -> None:
        self.state = HealthState.NORMAL
        self.corroborated = 0  # consecutive windows
        self.alone_s = 0.0  # consecutive anomalous seconds

    def update(self, acoustic: AcousticAssessment | None, vibration_anomalous: bool,
               new_s: float) -> HealthState:
        """One decided window; `acoustic` None: no microphone in it (no vote, streaks end)."""
        if acoustic is None or acoustic.commissioning or not acoustic.anomalous:
            self.corroborated, self.alone_s = 0, 0.0
            return self.state
        self.corroborated = self.corroborated + 1 if vibration_anomalous else 0
        self.alone_s += float(new_s)
        if (self.corroborated >= self.rules.corroboration_persistence
                or self.alone_s >= self.rules.alone_s - 1e-9):
            self.state = max(self.state, HealthState.PRE_WARNING)
        return self.state
