"""The default RUL model: population prior before degradation, condition-based after onset.

Evidence, in order of what is known:
1. ``population_prior``: no degradation seen. The residual life of the asset type given its
   elapsed operating time and operating condition (core/rul/prior.py).
2. ``condition_based``: the onset has been declared: the any-machine health state machine
   (core/condition/health.py, run by core/condition/monitor.py AssetMonitor against the
   asset's commissioning reference) confirmed a not-Normal state (core/rul/onset.py latches
   it). Two views of the
   time left, fused (inverse-variance in log(RUL + 1 s)) with each other and the prior:
   - *duration*: how long training assets lasted after their onset (log-normal), given the
     time already spent since this onset; with ``state_durations`` (severity conditioning) the
     durations are counted from the first time the training assets reached the most severe
     state this asset has reached (Warning, Failure), given the time spent since it did;
   - *trend*: a Kalman filter (filterpy, constant velocity) on the damage d = max over the
     indicators of (smoothed log ratio / its level at failure in the training histories),
     extrapolated to d = 1, with its state uncertainty;
   - *similarity*: the library's damage paths (one per training history after its onset: the
     remaining life when its damage first reached each level). The highest damage this asset
     has reached since its onset is looked up in every path; the lives those histories had
     left at that damage are the sample (a path that failed below that damage gives the life
     it had left at its highest damage).
Every published distribution is *calibrated*: the raw log-normal (mu, sigma) is replaced by
mu + sigma * z_q with z_q the quantiles of standardised errors measured on held-out training
histories (pm_monitor/training/rul_fit.py, nested leave-one-out). An evidence kind without
calibration is never ``valid``.

API for attribution / what-if analysis: ``estimate(model, condition, t_s, indicators)`` ->
``PrognosisEstimate`` is a pure function of the indicator history (rows = snapshots, columns
= ``model.indicator_names``) and of the health states judged on those snapshots; perturb the
inputs and call it again. The live path feeds the same
``PrognosisTracker`` one snapshot at a time.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from filterpy.kalman import KalmanFilter
from scipy.stats import norm

from pm_monitor.core.rul.distribution import POINT_KINDS, RulDistribution
from pm_monitor.core.rul.onset import OnsetConfig, OnsetTracker
from pm_monitor.core.rul.prior import OperatingCondition, WeibullPrior
from pm_monitor.core.types import HealthState

EVIDENCE_KINDS = ("population_prior", "condition_based")
NOT_CALIBRATED = "not_calibrated"
MODEL_VERSION = 2  # 2: the onset comes from the any-machine health state (no thresholds)
MAX_RUL_S = 30 * 24 * 3600.0  # a flat trend extrapolates to "beyond a month": cut it here
_N_TREND_SAMPLES = 200
# the states past the onset whose first time can restart the duration view (most severe last)
SEVERE_STATES = ("warning", "failure")


class PrognosisModelError(ValueError):
    """A prognosis model file is missing, corrupt or of another version."""


@dataclass(frozen=True)
class TrendConfig:
    """Kalman filter on the damage d (level, rate per s)."""

    measurement_std: float = 0.05
    rate_noise: float = 1e-7  # process noise spectral density of the rate, (1/s)^2 per s


@dataclass(frozen=True)
class DamagePath:
    """One training history after its onset: the remaining life (s) when its damage first
    reached each level (levels increasing, remaining lives decreasing)."""

    damage: tuple[float, ...]
    rul_s: tuple[float, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "damage", tuple(float(v) for v in self.damage))
        object.__setattr__(self, "rul_s", tuple(float(v) for v in self.rul_s))
        if not self.damage or len(self.damage) != len(self.rul_s):
            raise ValueError("a damage path needs one remaining life per damage level")
        if np.any(np.diff(self.damage) < 0):
            raise ValueError("damage levels of a path must not decrease")

    def rul_at(self, damage: float) -> float:
        """Remaining life when the path first reached `damage` (its last one if it never did)."""
        i = int(np.searchsorted(self.damage, damage, side="left"))
        return self.rul_s[min(i, len(self.rul_s) - 1)]


@dataclass(frozen=True)
class PrognosisModel:
    prior: WeibullPrior
    onset: OnsetConfig
    failure_levels: tuple[float, ...]  # damage score at failure, per damage indicator
    post_onset_log_mean: float | None  # log-normal of (failure - onset) time, s
    post_onset_log_std: float | None
    calibration: dict[str, tuple[float, ...]] = field(default_factory=dict)  # evidence -> z
    coverage: float = 0.8
    point_kind: str = "median"
    prior_after_onset: bool = True  # fuse the population prior into condition-based estimates
    trend: TrendConfig = field(default_factory=TrendConfig)
    name: str = "rul_prognosis"
    damage_paths: tuple[DamagePath, ...] = ()  # the similarity view (none: not used)
    # severity conditioning of the duration view: state name ("warning", "failure") -> the
    # log-normal (mean, std) of (failure - first time in that state or worse), s (empty: the
    # duration is always counted from the onset)
    state_durations: dict[str, tuple[float, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.point_kind not in POINT_KINDS:
            raise ValueError(f"point_kind must be one of {POINT_KINDS}")
        if len(self.failure_levels) != len(self.onset.indicators):
            raise ValueError("one failure level per onset indicator")
        unknown = set(self.calibration) - set(EVIDENCE_KINDS)
        if unknown:
            raise ValueError(f"calibration for unknown evidence kinds {sorted(unknown)}")
        unknown = set(self.state_durations) - set(SEVERE_STATES)
        if unknown:
            raise ValueError(f"state durations for unknown states {sorted(unknown)}")

    @property
    def indicator_names(self) -> tuple[str, ...]:
        return self.onset.indicators

    def to_dict(self) -> dict:
        data = asdict(self)
        data["version"] = MODEL_VERSION
        return data

    @classmethod
    def from_dict(cls, data: dict) -> PrognosisModel:
        data = dict(data)
        if data.pop("version", None) != MODEL_VERSION:
            raise PrognosisModelError(f"model version is not {MODEL_VERSION}")
        return cls(prior=WeibullPrior.from_dict(data.pop("prior")),
                   onset=OnsetConfig.from_dict(data.pop("onset")),
                   trend=TrendConfig(**data.pop("trend")),
                   failure_levels=tuple(data.pop("failure_levels")),
                   calibration={k: tuple(v) for k, v in data.pop("calibration").items()},
                   damage_paths=tuple(DamagePath(**p) for p in data.pop("damage_paths", ())),
                   state_durations={k: tuple(v) for k, v in
                                    data.pop("state_durations", {}).items()},
                   **data)

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=1) + "\n")

    @classmethod
    def load(cls, path: Path | str) -> PrognosisModel:
        try:
            return cls.from_dict(json.loads(Path(path).read_text()))
        except PrognosisModelError as err:
            raise PrognosisModelError(f"{path}: {err}") from None
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise PrognosisModelError(f"cannot read RUL model {path}: "
                                      f"{type(err).__name__}: {err}") from None


@dataclass(frozen=True)
class PrognosisEstimate:
    elapsed_s: float
    evidence: str  # one of EVIDENCE_KINDS
    valid: bool  # a calibrated estimate (False: the numbers are not to be planned on)
    rul_s: float  # the model's point (point_kind)
    median_s: float
    lower_s: float
    upper_s: float
    coverage: float
    point_kind: str
    health_index: float  # 1 healthy .. 0 at the failure level of the training histories
    onset_s: float | None
    onset_trigger: str | None
    damage: float  # d: 0 healthy reference, 1 = failure level
    distribution: RulDistribution  # calibrated where valid
    raw_log_moments: tuple[float, float]  # (mu, sigma) of log(RUL + 1) before calibration
    parts: dict[str, tuple[float, float]]  # evidence source -> raw (mu, sigma)


class PrognosisTracker:
    """One asset's state: onset latch + damage score + damage Kalman filter. update() per
    snapshot, with the any-machine health state judged on that snapshot."""

    def __init__(self, model: PrognosisModel, condition: OperatingCondition,
                 elapsed_at_start_s: float = 0.0) -> None:
        self.model = model
        self.condition = condition
        self.elapsed_at_start_s = float(elapsed_at_start_s)
        self.onset = OnsetTracker(model.onset)
        self._levels = np.asarray(model.failure_levels, dtype=np.float64)
        self._kf: KalmanFilter | None = None
        self._last_t: float | None = None
        self.damage = 0.0
        self.peak_damage = 0.0  # highest damage since the onset (the similarity view's key)
        self.first_in_state: dict[str, float] = {}  # severe state -> first time in it or worse

    @property
    def elapsed_s(self) -> float:
        return self._last_t if self._last_t is not None else self.elapsed_at_start_s

    def to_dict(self) -> dict:
        """Everything the next estimate rests on (JSON-able): the operating time of the last
        snapshot, the onset latch and damage score, the most severe states reached, the peak
        damage and the damage Kalman filter. The model is not in it (core/rul/state.py ties a
        stored state to the model's fingerprint)."""
        kf = None if self._kf is None else {"x": self._kf.x.tolist(), "P": self._kf.P.tolist()}
        return {"elapsed_at_start_s": self.elapsed_at_start_s, "last_t": self._last_t,
                "damage": self.damage, "peak_damage": self.peak_damage,
                "first_in_state": dict(self.first_in_state), "kalman": kf,
                "onset": self.onset.to_dict()}

    @classmethod
    def from_dict(cls, model: PrognosisModel, condition: OperatingCondition,
                  data: dict) -> PrognosisTracker:
        """The tracker `to_dict` described, resumed on `model` (the one it was made with).
        Raises KeyError / ValueError / TypeError for a bad description."""
        tracker = cls(model, condition, float(data["elapsed_at_start_s"]))
        tracker.onset = OnsetTracker.from_dict(model.onset, data["onset"])
        tracker._last_t = None if data["last_t"] is None else float(data["last_t"])
        tracker.damage, tracker.peak_damage = float(data["damage"]), float(data["peak_damage"])
        unknown = set(data["first_in_state"]) - set(SEVERE_STATES)
        if unknown:
            raise ValueError(f"first times of unknown states {sorted(unknown)}")
        tracker.first_in_state = {k: float(v) for k, v in data["first_in_state"].items()}
        if data["kalman"] is not None:
            kf = _damage_filter(0.0, model.trend)
            x, p = np.asarray(data["kalman"]["x"], float), np.asarray(data["kalman"]["P"], float)
            if x.shape != kf.x.shape or p.shape != kf.P.shape:
                raise ValueError(f"Kalman state of shape {x.shape} / {p.shape}")
            kf.x, kf.P = x, p
            tracker._kf = kf
        return tracker

    def update(self, t_s: float, values: np.ndarray,
               state: HealthState | int | None = None) -> None:
        """t_s: operating time of the asset (s); values in model.indicator_names order; state:
        the any-machine health state of this snapshot (core/condition/monitor.py AssetMonitor
        with `model.onset.health_rules()`; None or negative: not judged, e.g. commissioning).
        The onset is the first confirmed not-Normal state."""
        values = np.asarray(values, dtype=np.float64)
        if values.shape != (len(self.model.indicator_names),) or not np.all(np.isfinite(values)):
            raise ValueError(f"need {len(self.model.indicator_names)} finite indicator values")
        dt = None if self._last_t is None else t_s - self._last_t
        if dt is not None and dt <= 0:
            raise ValueError(f"time must increase ({t_s} after {self._last_t})")
        self._last_t = float(t_s)
        judged = None if state is None or int(state) < 0 else state
        self.onset.update(float(t_s), values, judged)
        if judged is not None:
            for name in SEVERE_STATES:
                if int(judged) >= int(HealthState[name.upper()]):
                    self.first_in_state.setdefault(name, float(t_s))
        if self.onset.score is None:
            return
        self.damage = float(np.max(self.onset.score / self._levels))
        if self.onset.onset_s is None:
            return
        self.peak_damage = max(self.peak_damage, self.damage)
        if self._kf is None:
            self._kf = _damage_filter(self.damage, self.model.trend)
        else:
            self._kf.F = np.array([[1.0, dt], [0.0, 1.0]])
            q = self.model.trend.rate_noise
            self._kf.Q = q * np.array([[dt ** 3 / 3, dt ** 2 / 2], [dt ** 2 / 2, dt]])
            self._kf.predict()
            self._kf.update(np.array([self.damage]))

    def estimate(self, with_point: bool = True) -> PrognosisEstimate:
        model = self.model
        t = self.elapsed_s
        prior = model.prior.residual(t, self.condition)
        parts = {"prior": prior.log_moments()}
        onset_s = self.onset.onset_s
        if onset_s is not None:
            evidence = "condition_based"
            if not model.prior_after_onset and (model.post_onset_log_mean is not None
                                                or self._kf is not None):
                parts = {}
            duration = self._duration_part(t, onset_s)
            if duration is not None:
                parts["duration"] = duration
            trend = self._trend_part()
            if trend is not None:
                parts["trend"] = trend
            similarity = self._similarity_part()
            if similarity is not None:
                parts["similarity"] = similarity
        else:
            evidence = "population_prior"
        mu, sigma = _fuse(list(parts.values()))
        z = model.calibration.get(evidence)
        if z is not None:
            log_points = np.minimum(mu + sigma * np.asarray(z), math.log(MAX_RUL_S))
            distribution = RulDistribution(np.exp(log_points) - 1.0, evidence)
        else:
            distribution = RulDistribution(prior.points_s if evidence == "population_prior"
                                           else np.exp(np.minimum(mu + sigma * _STD_NORMAL,
                                                                  math.log(MAX_RUL_S))) - 1.0,
                                           NOT_CALIBRATED)
        lower, upper = distribution.interval(model.coverage)
        median = distribution.median_s
        point = distribution.point(model.point_kind) if with_point else median
        return PrognosisEstimate(
            elapsed_s=t, evidence=evidence, valid=z is not None, rul_s=point, median_s=median,
            lower_s=lower, upper_s=upper, coverage=model.coverage, point_kind=model.point_kind,
            health_index=float(np.clip(1.0 - self.damage, 0.0, 1.0)), onset_s=onset_s,
            onset_trigger=self.onset.trigger, damage=self.damage, distribution=distribution,
            raw_log_moments=(mu, sigma), parts=parts)

    def _duration_part(self, t_s: float, onset_s: float) -> tuple[float, float] | None:
        m, s = self.model.post_onset_log_mean, self.model.post_onset_log_std
        since = t_s - onset_s
        for name in SEVERE_STATES:  # the most severe state reached that the model knows wins
            if name in self.first_in_state and name in self.model.state_durations:
                (m, s), since = self.model.state_durations[name], t_s - self.first_in_state[name]
        if m is None or s is None:
            return None
        # log-normal durations D, conditioned on D > since: residual D - since
        q = (np.arange(99) + 0.5) / 99
        # upper-tail form: far beyond the fitted durations the conditional tail stays finite
        tail = max(float(norm.sf((math.log(max(since, 1.0)) - m) / s)), 1e-300)
        durations = np.exp(m + s * norm.isf(tail * (1.0 - q)))
        residual = np.maximum(durations - since, 0.0)
        return RulDistribution(residual, "duration").log_moments()

    def _similarity_part(self) -> tuple[float, float] | None:
        paths = self.model.damage_paths
        if len(paths) < 2:
            return None
        lives = [p.rul_at(self.peak_damage) for p in paths]
        return RulDistribution(np.asarray(lives), "similarity").log_moments()

    def _trend_part(self) -> tuple[float, float] | None:
        if self._kf is None:
            return None
        level, rate = self._kf.x[:, 0]
        rng = np.random.default_rng(0)  # fixed: the same history gives the same estimate
        samples = rng.multivariate_normal([level, rate], self._kf.P, _N_TREND_SAMPLES,
                                          check_valid="ignore")
        with np.errstate(divide="ignore", invalid="ignore"):
            times = (1.0 - samples[:, 0]) / samples[:, 1]
        times = np.where((samples[:, 1] > 0) & np.isfinite(times), times, MAX_RUL_S)
        return RulDistribution(np.clip(times, 0.0, MAX_RUL_S), "trend").log_moments()


_STD_NORMAL = norm.ppf((np.arange(99) + 0.5) / 99)


def _damage_filter(initial: float, trend: TrendConfig) -> KalmanFilter:
    kf = KalmanFilter(dim_x=2, dim_z=1)
    kf.x = np.array([[initial], [0.0]])
    kf.H = np.array([[1.0, 0.0]])
    kf.P = np.diag([trend.measurement_std ** 2, 1e-6])
    kf.R = np.array([[trend.measurement_std ** 2]])
    return kf


def _fuse(parts: list[tuple[float, float]]) -> tuple[float, float]:
    """Inverse-variance fusion of independent Gaussian views of log(RUL + 1)."""
    weights = np.array([1.0 / s ** 2 for _, s in parts])
    means = np.array([m for m, _ in parts])
    return float((weights * means).sum() / weights.sum()), float(1.0 / math.sqrt(weights.sum()))


def estimate(model: PrognosisModel, condition: OperatingCondition, t_s: np.ndarray,
             indicators: np.ndarray, states: np.ndarray | None = None,
             elapsed_at_start_s: float = 0.0) -> PrognosisEstimate:
    """The estimate after the last row of an indicator history and its health states (one
    per row, -1 = not judged; None: never judged, so no onset) (pure: a fresh tracker)."""
    t_s = np.asarray(t_s, dtype=np.float64)
    indicators = np.asarray(indicators, dtype=np.float64)
    if t_s.size == 0 or indicators.shape[0] != t_s.size:
        raise ValueError("need one indicator row per time, at least one")
    states = np.full(t_s.size, -1) if states is None else np.asarray(states, dtype=int)
    if states.shape != t_s.shape:
        raise ValueError("need one health state per time")
    tracker = PrognosisTracker(model, condition, elapsed_at_start_s)
    for t, row, state in zip(t_s, indicators, states, strict=True):
        tracker.update(float(t), row, int(state))
    return tracker.estimate()
