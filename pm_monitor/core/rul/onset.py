"""Degradation onset and damage score of the RUL path.

Onset: ONE detector for the project. The onset of degradation is the first confirmed
not-Normal state of the any-machine health state machine (core/condition/health.py
`HealthStateMachine`, driven by core/condition/monitor.py `AssetMonitor` against the asset's
commissioning reference: level rule, level rise, crest rise, latching, impulsive guard). This
module does not detect anything: `OnsetTracker.update` is given that state with each snapshot
and latches the first moment it is Pre-Warning or worse. The model carries the two rise ratios
it was fitted with (`OnsetConfig.health_rules()`), so the live path runs the monitor with the
same rules as the histories the model learned from.

Damage score (for the condition-based trend, not for the onset): the indicators are the
any-machine vibration features (core/condition/features.py), one set per axis, named
``<feature>_<axis>`` (e.g. ``rms_g_h``, ``band_5_10khz_g_v``). Per indicator: log ratio to the
median of the first ``reference_s`` seconds (the commissioning level), smoothed (median over
``smooth_s``), minus the lowest smoothed level seen so far (after running-in many machines
settle below their first readings). Causal and in seconds of operation, not snapshot counts.

The score's memory (reference, recent ratios, floor) depends on the indicators, reference_s and
smooth_s only (`memory_key`), not on anything fitted: it is a fact about the asset that a
refitted model with the same three reuses (core/rul/state.py), and meaningless under others.
"""
from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from pm_monitor.core.condition.features import feature_names, window_features
from pm_monitor.core.condition.health import HealthRules
from pm_monitor.core.types import HealthState

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
    indicators: tuple[str, ...]  # damage-score indicator names (see indicator_names)
    reference_s: float = 600.0
    smooth_s: float = 50.0
    # the health state machine's rise ratios the onset states were computed with
    trend_ratio: float = HealthRules.trend_ratio
    crest_trend_ratio: float = HealthRules.crest_trend_ratio

    def __post_init__(self) -> None:
        object.__setattr__(self, "indicators", tuple(self.indicators))
        if not self.indicators:
            raise ValueError("need at least one damage indicator")
        if min(self.reference_s, self.smooth_s) < 0:
            raise ValueError("reference_s and smooth_s must be >= 0")
        if not (self.trend_ratio > 1 and self.crest_trend_ratio > 1):
            raise ValueError("rise ratios must be > 1 (inf: that rise rule off)")

    def health_rules(self, base: HealthRules | None = None) -> HealthRules:
        """The any-machine rules the onset comes from (base: the asset's other rules)."""
        return replace(base or HealthRules(), trend_ratio=self.trend_ratio,
                       crest_trend_ratio=self.crest_trend_ratio)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> OnsetConfig:
        return cls(**data)


def memory_key(config: OnsetConfig) -> dict:
    """What the damage score's memory depends on (JSON-able): two configs with the same key
    compute the same scores from the same snapshots."""
    return {"indicators": list(config.indicators), "reference_s": float(config.reference_s),
            "smooth_s": float(config.smooth_s)}


def is_onset_state(state: HealthState | int | None) -> bool:
    """A confirmed not-Normal state (None / negative: not judged yet, e.g. commissioning)."""
    return state is not None and int(state) >= int(HealthState.PRE_WARNING)


@dataclass
class OnsetTracker:
    """Feed (t, indicator values in config.indicators order, health state) per snapshot."""

    config: OnsetConfig
    reference: np.ndarray | None = None
    onset_s: float | None = None
    trigger: str | None = None  # the health state that marked the onset
    _t0: float | None = None
    _early: list[np.ndarray] = field(default_factory=list)
    _recent: deque = field(default_factory=deque)
    score: np.ndarray | None = None  # latest damage scores (None during the reference period)
    _floor: np.ndarray | None = None

    def update(self, t_s: float, values: np.ndarray,
               state: HealthState | int | None = None) -> float | None:
        """state: the any-machine health state judged on this snapshot (None: not judged)."""
        if self.onset_s is None and is_onset_state(state):
            self.onset_s, self.trigger = float(t_s), HealthState(int(state)).name.lower()
        self._update_score(t_s, values)
        return self.onset_s

    def _update_score(self, t_s: float, values: np.ndarray) -> None:
        values = np.maximum(np.asarray(values, dtype=np.float64), _FLOOR)
        cfg = self.config
        if self._t0 is None:
            self._t0 = t_s
        if self.reference is None:
            if t_s - self._t0 < cfg.reference_s or not self._early:
                self._early.append(values)
                return
            self.reference = np.median(np.stack(self._early), axis=0)
            self._early = []
        ratio = np.log(values / self.reference)
        self._recent.append((t_s, ratio))
        while self._recent and self._recent[0][0] < t_s - cfg.smooth_s:
            self._recent.popleft()
        smoothed = np.median(np.stack([r for _, r in self._recent]), axis=0)
        self._floor = smoothed if self._floor is None else np.minimum(self._floor, smoothed)
        self.score = smoothed - self._floor

    def to_dict(self) -> dict:
        """The latched onset and the damage score's memory with the key it was computed under
        (JSON-able; core/rul/state.py)."""
        return {"onset_s": self.onset_s, "trigger": self.trigger,
                "memory": {"key": memory_key(self.config), "reference": _listed(self.reference),
                           "t0": self._t0, "early": [v.tolist() for v in self._early],
                           "recent": [[t, r.tolist()] for t, r in self._recent],
                           "score": _listed(self.score), "floor": _listed(self._floor)}}

    @staticmethod
    def memory_fits(config: OnsetConfig, data: dict) -> bool:
        """Whether the memory `to_dict` stored was computed under `config`'s key (indicators,
        reference_s, smooth_s); a memory of unknown key (None) never fits."""
        return data["memory"].get("key") == memory_key(config)

    @classmethod
    def from_dict(cls, config: OnsetConfig, data: dict) -> OnsetTracker:
        """A tracker of `config` resumed from `to_dict`. Raises KeyError / ValueError /
        TypeError for a bad one (a memory of another key, indicator counts other than the
        config's)."""
        if not cls.memory_fits(config, data):
            raise ValueError(f"damage score memory of {data['memory'].get('key')}, not of "
                             f"{memory_key(config)}")
        memory, width = data["memory"], len(config.indicators)
        tracker = cls.from_onset(config, data)
        tracker.reference = _array(memory["reference"], width)
        tracker._t0 = None if memory["t0"] is None else float(memory["t0"])
        tracker._early = [_array(v, width) for v in memory["early"]]
        tracker._recent = deque((float(t), _array(r, width)) for t, r in memory["recent"])
        tracker.score, tracker._floor = _array(memory["score"], width), _array(memory["floor"],
                                                                             width)
        return tracker

    @classmethod
    def from_onset(cls, config: OnsetConfig, data: dict) -> OnsetTracker:
        """The latched onset of `to_dict` with a new, empty damage score memory (its reference
        is taken again from the next snapshots)."""
        return cls(config, onset_s=None if data["onset_s"] is None else float(data["onset_s"]),
                   trigger=None if data["trigger"] is None else str(data["trigger"]))


def _listed(values: np.ndarray | None) -> list[float] | None:
    return None if values is None else np.asarray(values, dtype=np.float64).tolist()


def _array(values, width: int) -> np.ndarray | None:
    if values is None:
        return None
    out = np.asarray(values, dtype=np.float64)
    if out.shape != (width,):
        raise ValueError(f"need {width} indicator values, got shape {out.shape}")
    return out
