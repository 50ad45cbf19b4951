"""Degradation onset from health indicators relative to the asset's own early-life reference.

The indicators are the any-machine vibration features (core/condition/features.py: RMS, peak,
crest, kurtosis, ISO velocity, spectral kurtosis, band RMS in Hz-fixed bands), one set per
axis, named ``<feature>_<axis>`` (e.g. ``rms_g_h``, ``band_5_10khz_g_v``): one implementation
of vibration indicators for the health state and the remaining life.

Causal and rate-aware (everything in seconds of operation, not in snapshot counts):
- reference: the median of each indicator over the first ``reference_s`` seconds the asset is
  watched (its commissioning / running-in level); indicators are compared as log ratios to it,
  so the units cancel and one threshold serves any machine of the type;
- smoothing: median of each log ratio over the last ``smooth_s`` seconds;
- score: the smoothed log ratio above the lowest smoothed level seen so far (after running-in
  many machines settle *below* their first readings: the healthiest level is the reference);
- onset: the first moment an indicator's score has stayed above its threshold for
  ``persist_s`` seconds (the onset time is the start of that run). Once declared it stays.

The thresholds are learned from training histories (pm_monitor/training/rul_fit.py): for each
indicator, the highest level that healthy periods of the training assets *sustained* for
``persist_s``, times a margin, so the detector stays silent where those assets were healthy.
"""
from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass, field

import numpy as np

from pm_monitor.core.condition.features import feature_names, window_features

AXES = ("h", "v")  # horizontal, vertical: the two accelerometer axes the RUL path reads
_FLOOR = 1e-12  # indicator values are >= 0 in physical units; log needs > 0


def indicator_names(rate_hz: float) -> tuple[str, ...]:
    """The columns of `snapshot_indicators` at this rate (bands above 0.45 fs are absent)."""
    return tuple(f"{name}_{axis}" for axis in AXES for name in feature_names(rate_hz))


def snapshot_indicators(horizontal: np.ndarray, vertical: np.ndarray,
                        rate_hz: float) -> np.ndarray:
    """Indicators of one snapshot (acceleration in g), in the order of `indicator_names`.
    Raises core.condition.features.RateError when the rate cannot support the analysis."""
    window = np.stack([np.asarray(horizontal, dtype=np.float64),
                       np.asarray(vertical, dtype=np.float64)], axis=1)
    return window_features(window, rate_hz, AXES).values.ravel()  # axis-major, as the names


@dataclass(frozen=True)
class OnsetConfig:
    indicators: tuple[str, ...]  # names (see indicator_names)
    thresholds: tuple[float, ...]  # log-ratio threshold per indicator
    reference_s: float = 600.0
    smooth_s: float = 50.0
    persist_s: float = 60.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "indicators", tuple(self.indicators))
        object.__setattr__(self, "thresholds", tuple(float(v) for v in self.thresholds))
        if len(self.indicators) != len(self.thresholds) or not self.indicators:
            raise ValueError("need one threshold per indicator, at least one indicator")
        if min(self.reference_s, self.smooth_s, self.persist_s) < 0:
            raise ValueError("reference_s, smooth_s and persist_s must be >= 0")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> OnsetConfig:
        return cls(**data)


@dataclass
class OnsetTracker:
    """Feed (t, indicator values in config.indicators order) snapshot by snapshot."""

    config: OnsetConfig
    reference: np.ndarray | None = None
    onset_s: float | None = None
    trigger: str | None = None  # the indicator that fired
    _t0: float | None = None
    _early: list[np.ndarray] = field(default_factory=list)
    _recent: deque = field(default_factory=deque)
    _above_since: list[float | None] = field(default_factory=list)
    score: np.ndarray | None = None  # latest scores (None during the reference period)
    _floor: np.ndarray | None = None

    def update(self, t_s: float, values: np.ndarray) -> float | None:
        values = np.maximum(np.asarray(values, dtype=np.float64), _FLOOR)
        cfg = self.config
        if self._t0 is None:
            self._t0 = t_s
            self._above_since = [None] * len(cfg.indicators)
        if self.reference is None:
            if t_s - self._t0 < cfg.reference_s or not self._early:
                self._early.append(values)
                return None
            self.reference = np.median(np.stack(self._early), axis=0)
            self._early = []
        ratio = np.log(values / self.reference)
        self._recent.append((t_s, ratio))
        while self._recent and self._recent[0][0] < t_s - cfg.smooth_s:
            self._recent.popleft()
        smoothed = np.median(np.stack([r for _, r in self._recent]), axis=0)
        self._floor = smoothed if self._floor is None else np.minimum(self._floor, smoothed)
        self.score = smoothed - self._floor
        if self.onset_s is not None:
            return self.onset_s
        for i, threshold in enumerate(cfg.thresholds):
            if self.score[i] > threshold:
                if self._above_since[i] is None:
                    self._above_since[i] = t_s
                if t_s - self._above_since[i] >= cfg.persist_s:
                    self.onset_s, self.trigger = self._above_since[i], cfg.indicators[i]
                    break
            else:
                self._above_since[i] = None
        return self.onset_s
