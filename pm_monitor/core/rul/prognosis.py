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
     indicators of (smoothed log ratio / its median level at failure in the training
     histories), extrapolated to this asset's failure damage, with its state uncertainty. The
     failure damage is uncertain: log-normal over the training histories' end damages, and
     conditioned on the asset being alive at the highest damage it has reached since onset (a
     failure damage below that is refuted by the asset still running). A filter sample at or
     past its failure damage reads 0 s whatever its rate; one below it with a rate <= 0 reads
     MAX_RUL_S ("no failure in sight");
   - *similarity*: the library's damage paths (one per training history after its onset: the
     remaining life when its damage first reached each level). The highest damage this asset
     has reached since its onset is looked up in every path; the lives those histories had
     left at that damage are the sample (a path that failed below that damage gives the life
     it had left at its highest damage).
Every published distribution is *calibrated*: the raw log-normal (mu, sigma) is replaced by
mu + sigma * z_q with z_q the quantiles of standardised errors measured on held-out training
histories (pm_monitor/training/rul_fit.py, nested leave-one-out). A model may also hold z_q
conditional on what the tracker knows (``calibration_group``: the evidence kind x, before
onset, whether the asset has outlived the prior's median life, after onset, the most severe
health state reached; rul_fit.FitConfig.calibration_groups); a group it lacks falls back to
its evidence kind's z_q. An evidence kind without calibration is never ``valid``.

Past the failure level (after onset, the damage at or above HOLD_QUANTILE of the failure-damage
distribution: more damage than 90 % of the training assets had when they failed) the published
quantiles do not rise: each is at most what it was at the previous snapshot
(``PrognosisTracker`` keeps that ceiling while the damage stays there, and drops it when the
damage falls back below). Why: a damage plateau past the level at which the training assets
failed says nothing about the asset having healed, but every view grows once the asset
outlives its evidence (the duration view's conditional residual, the trend's flat rate), which
made the estimate climb off 0 s after the rig demo's failure. Why not from the median failure
damage on: FEMTO's damage score is noisy and crosses it long before the end on some bearings
(Bearing1_3 from its onset, 6000 s before failure); held there, the estimate stuck at its
lowest dip (measured: official protocol 0.102 -> 0.026).

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
# 2: the onset comes from the any-machine health state (no thresholds); 3: calibration groups
# ("<evidence>/<group>" keys) and the training histories' end damages (trend view)
MODEL_VERSION = 3
MAX_RUL_S = 30 * 24 * 3600.0  # a flat trend extrapolates to "beyond a month": cut it here
_N_TREND_SAMPLES = 200
# the states past the onset whose first time can restart the duration view (most severe last)
SEVERE_STATES = ("warning", "failure")
# the failure damage's log-normal spread when the training histories say nothing about it
# (fewer than 2 end damages) or all ended at nearly the same damage
MIN_FAILURE_DAMAGE_LOG_STD = 0.05
# past this quantile of the failure-damage distribution the published RUL does not rise
HOLD_QUANTILE = 0.9
# calibration groups within each evidence kind (see calibration_group)
PRIOR_GROUPS = ("before_median_life", "after_median_life")
CONDITION_GROUPS = ("pre_warning", *SEVERE_STATES)
CALIBRATION_GROUPS = {"population_prior": PRIOR_GROUPS, "condition_based": CONDITION_GROUPS}


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
    # evidence kind -> z (its fallback), and "<evidence kind>/<group>" -> z (calibration_group)
    calibration: dict[str, tuple[float, ...]] = field(default_factory=dict)
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
    # the training histories' damage at failure, in units of failure_levels (the trend view's
    # failure damages; empty: exactly 1)
    failure_damages: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.point_kind not in POINT_KINDS:
            raise ValueError(f"point_kind must be one of {POINT_KINDS}")
        if len(self.failure_levels) != len(self.onset.indicators):
            raise ValueError("one failure level per onset indicator")
        known = set(EVIDENCE_KINDS) | {f"{kind}/{group}" for kind, groups in
                                       CALIBRATION_GROUPS.items() for group in groups}
        unknown = set(self.calibration) - known
        if unknown:
            raise ValueError(f"calibration for unknown evidence kinds / groups {sorted(unknown)}")
        orphans = {key for key in self.calibration
                   if "/" in key and key.split("/")[0] not in self.calibration}
        if orphans:  # the kind's calibration is every group's fallback: it must exist
            raise ValueError(f"calibration groups {sorted(orphans)} without their evidence kind")
        if any(not v > 0 for v in self.failure_damages):
            raise ValueError("failure damages must be > 0")
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
                   failure_damages=tuple(data.pop("failure_damages", ())),
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
    calibration_group: str = ""  # "<evidence>/<group>" (calibration_group); the z used is
    # this group's where the model has it, else the evidence kind's
    held: bool = False  # some quantile was lowered to its value at the previous snapshot


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
        # per indicator, the highest damage score since the onset: the peak damage under any
        # model's failure levels (max over time and indicators commute), kept across a refit
        self.peak_scores: np.ndarray | None = None
        # operating time at which the damage score's memory was started again after a model
        # change with another reference / indicators (None: never)
        self.memory_restarted_s: float | None = None
        # why condition-based estimates are not calibrated for this asset (None: they are):
        # its damage score lost its commissioning reference after the onset (core/rul/state.py)
        self.condition_not_valid: str | None = None
        # past the failure level: the published log quantile points of the previous snapshot
        # (no quantile may rise above them); None below it
        self._ceiling: np.ndarray | None = None
        self.hold_damage = float(failure_damage_quantiles(model.failure_damages, 0.0,
                                                          HOLD_QUANTILE))

    @property
    def elapsed_s(self) -> float:
        return self._last_t if self._last_t is not None else self.elapsed_at_start_s

    def to_dict(self) -> dict:
        """Everything the next estimate rests on (JSON-able), in two parts. "facts": what
        happened to the asset, whatever model reads it: operating time of the last snapshot,
        onset latch and trigger, first times in the severe states, the damage score's memory
        (with its key, core/rul/onset.py memory_key), the peak scores since the onset.
        "model": what this model computed from them: damage, peak damage, the damage Kalman
        filter, the ceiling past the failure level. The model is not in it (core/rul/state.py
        ties a stored state to the model's fingerprint, and re-derives "model" under another
        model: `migrated`)."""
        kf = None if self._kf is None else {"x": self._kf.x.tolist(), "P": self._kf.P.tolist()}
        facts = {"elapsed_at_start_s": self.elapsed_at_start_s, "last_t": self._last_t,
                 "first_in_state": dict(self.first_in_state), "onset": self.onset.to_dict(),
                 "peak_scores": None if self.peak_scores is None else self.peak_scores.tolist(),
                 "memory_restarted_s": self.memory_restarted_s,
                 "condition_not_valid": self.condition_not_valid}
        return {"facts": facts,
                "model": {"damage": self.damage, "peak_damage": self.peak_damage, "kalman": kf,
                          "ceiling": None if self._ceiling is None else self._ceiling.tolist()}}

    @classmethod
    def from_dict(cls, model: PrognosisModel, condition: OperatingCondition,
                  data: dict) -> PrognosisTracker:
        """The tracker `to_dict` described, resumed on `model` (the one it was made with).
        Raises KeyError / ValueError / TypeError for a bad description."""
        tracker = cls._from_facts(model, condition, data["facts"], keep_memory=True)
        state = data["model"]
        tracker.damage, tracker.peak_damage = float(state["damage"]), float(state["peak_damage"])
        if state["kalman"] is not None:
            kf = _damage_filter(0.0, model.trend)
            x, p = np.asarray(state["kalman"]["x"], float), np.asarray(state["kalman"]["P"], float)
            if x.shape != kf.x.shape or p.shape != kf.P.shape:
                raise ValueError(f"Kalman state of shape {x.shape} / {p.shape}")
            kf.x, kf.P = x, p
            tracker._kf = kf
        if state["ceiling"] is not None:
            ceiling = np.asarray(state["ceiling"], dtype=np.float64)
            if ceiling.ndim != 1 or not np.all(np.isfinite(ceiling)):
                raise ValueError(f"ceiling of shape {ceiling.shape} or not finite")
            tracker._ceiling = ceiling
        return tracker

    @classmethod
    def migrated(cls, model: PrognosisModel, condition: OperatingCondition,
                 facts: dict, previous: dict | None = None) -> PrognosisTracker:
        """The asset's facts (to_dict()["facts"], written under another model) under `model`:
        what the other model computed is computed again.

        Kept: operating time, onset and trigger, first times in the severe states, and the
        damage score's memory where `model` computes the score the same way (same memory key).
        Then damage = max(score / the new failure levels), the peak damage likewise from the
        peak scores (exact; a state without them, version 1, starts the peak at the current
        damage: the similarity view then forgets a higher damage reached before the change
        until the asset reaches it again). The Kalman filter: `previous` (to_dict()["model"]
        of the other model) holds its filter on the other model's damage; where both damages
        are > 0 its level, rate and covariance are rescaled by c = new damage / old damage
        (the damage is one indicator's score over its failure level, so while the same
        indicator leads under both models the new damage is c times the old one, and so is
        its slope; where another indicator leads, the slope is approximate and the next
        snapshots correct it). Without it (or at zero damage) the filter starts again at the
        new damage with rate 0 (lost: the slope it had learned; the trend view needs a few
        snapshots to see it again). The ceiling past the failure level is set again at the
        next update (lost: the previous model's published quantiles, which no longer apply).

        Under another memory key (other indicators or reference / smoothing lengths) the old
        memory means nothing to `model` and is dropped: the score's reference is taken again
        from the next snapshots. Before the onset that is what commissioning a used machine
        does (the population prior, conditioned on the kept operating time, stays valid).
        After the onset the new reference would be a degraded asset's level, read as healthy:
        the trend and similarity views would see no damage. Condition-based estimates of
        this asset are then never valid (`condition_not_valid`, kept until the asset is
        reset), rather than a confident estimate of a healthy bearing."""
        keep = OnsetTracker.memory_fits(model.onset, facts["onset"])
        tracker = cls._from_facts(model, condition, facts, keep_memory=keep)
        onset = tracker.onset
        if not keep:
            tracker.peak_scores = None
            tracker.memory_restarted_s = tracker.elapsed_s
            if onset.onset_s is not None and tracker.condition_not_valid is None:
                tracker.condition_not_valid = (
                    f"the damage score's reference was taken again at {tracker.elapsed_s:.0f} s "
                    f"of operation, after the onset ({onset.onset_s:.0f} s), for a RUL model "
                    "with other indicators or reference length: a degraded level read as "
                    "healthy (reset at the next bearing change)")
            return tracker
        if onset.score is not None:
            tracker.damage = float(np.max(onset.score / tracker._levels))
        if onset.onset_s is not None and onset.score is not None:
            tracker.peak_damage = max(tracker.damage, 0.0 if tracker.peak_scores is None else
                                      float(np.max(tracker.peak_scores / tracker._levels)))
            if tracker.peak_scores is None:  # from here on, exact again
                tracker.peak_scores = onset.score.copy()
            tracker._kf = _damage_filter(tracker.damage, model.trend)
            old = _rescaled_filter(previous, tracker.damage)
            if old is not None:
                tracker._kf.x, tracker._kf.P = old
        return tracker

    @classmethod
    def _from_facts(cls, model: PrognosisModel, condition: OperatingCondition, facts: dict,
                    keep_memory: bool) -> PrognosisTracker:
        tracker = cls(model, condition, float(facts["elapsed_at_start_s"]))
        tracker.onset = (OnsetTracker.from_dict(model.onset, facts["onset"]) if keep_memory
                         else OnsetTracker.from_onset(model.onset, facts["onset"]))
        tracker._last_t = None if facts["last_t"] is None else float(facts["last_t"])
        unknown = set(facts["first_in_state"]) - set(SEVERE_STATES)
        if unknown:
            raise ValueError(f"first times of unknown states {sorted(unknown)}")
        tracker.first_in_state = {k: float(v) for k, v in facts["first_in_state"].items()}
        peaks = facts["peak_scores"]
        if peaks is not None:
            peaks = np.asarray(peaks, dtype=np.float64)
            if peaks.shape != tracker._levels.shape or not np.all(np.isfinite(peaks)):
                raise ValueError(f"peak scores of shape {peaks.shape} or not finite")
        tracker.peak_scores = peaks
        restarted = facts["memory_restarted_s"]
        tracker.memory_restarted_s = None if restarted is None else float(restarted)
        reason = facts["condition_not_valid"]
        tracker.condition_not_valid = None if reason is None else str(reason)
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
        had_onset = self.onset.onset_s is not None
        self.onset.update(float(t_s), values, judged)
        if (not had_onset and self.onset.onset_s is not None and self.onset.reference is None
                and self.memory_restarted_s is not None and self.condition_not_valid is None):
            # the score's new reference (after a model change) would include degraded levels
            self.condition_not_valid = (
                f"the onset ({t_s:.0f} s) came while the damage score's reference was being "
                f"taken again after a RUL model change (from {self.memory_restarted_s:.0f} s)")
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
        self.peak_scores = (self.onset.score.copy() if self.peak_scores is None
                            else np.maximum(self.peak_scores, self.onset.score))
        if self._kf is None:
            self._kf = _damage_filter(self.damage, self.model.trend)
        else:
            self._kf.F = np.array([[1.0, dt], [0.0, 1.0]])
            q = self.model.trend.rate_noise
            self._kf.Q = q * np.array([[dt ** 3 / 3, dt ** 2 / 2], [dt ** 2 / 2, dt]])
            self._kf.predict()
            self._kf.update(np.array([self.damage]))
        # every snapshot past the failure level moves the ceiling; below it there is none
        self._ceiling = self._published()[4] if self.damage >= self.hold_damage else None

    def estimate(self, with_point: bool = True) -> PrognosisEstimate:
        model = self.model
        t = self.elapsed_s
        evidence, parts, (mu, sigma), z, log_points = self._published()
        if log_points is not None:
            distribution = RulDistribution(np.exp(log_points) - 1.0, evidence)
        else:
            prior_points = model.prior.residual(t, self.condition).points_s
            distribution = RulDistribution(prior_points if evidence == "population_prior"
                                           else np.exp(np.minimum(mu + sigma * _STD_NORMAL,
                                                                  math.log(MAX_RUL_S))) - 1.0,
                                           NOT_CALIBRATED)
        held = bool(log_points is not None and self._ceiling is not None
                    and np.any(self._raw_log_points(mu, sigma, z) > log_points))
        lower, upper = distribution.interval(model.coverage)
        median = distribution.median_s
        point = distribution.point(model.point_kind) if with_point else median
        return PrognosisEstimate(
            elapsed_s=t, evidence=evidence, valid=z is not None, rul_s=point, median_s=median,
            lower_s=lower, upper_s=upper, coverage=model.coverage, point_kind=model.point_kind,
            health_index=float(np.clip(1.0 - self.damage, 0.0, 1.0)), onset_s=self.onset.onset_s,
            onset_trigger=self.onset.trigger, damage=self.damage, distribution=distribution,
            raw_log_moments=(mu, sigma), parts=parts,
            calibration_group=self.calibration_group(evidence), held=held)

    def calibration_group(self, evidence: str) -> str:
        """What the tracker knows now that the calibration may depend on: before onset, whether
        the asset has outlived the prior's median life (in its operating condition); after
        onset, the most severe health state reached (Pre-Warning, Warning, Failure)."""
        if evidence == "population_prior":
            outlived = self.elapsed_s >= self.model.prior.median_life_s(self.condition)
            return f"{evidence}/{PRIOR_GROUPS[int(outlived)]}"
        severe = [name for name in SEVERE_STATES if name in self.first_in_state]
        return f"{evidence}/{severe[-1] if severe else CONDITION_GROUPS[0]}"

    def _calibration(self, evidence: str) -> tuple[float, ...] | None:
        """The z of this evidence's group, else of the evidence kind (None: not calibrated)."""
        calibration = self.model.calibration
        return calibration.get(self.calibration_group(evidence), calibration.get(evidence))

    @staticmethod
    def _raw_log_points(mu: float, sigma: float, z) -> np.ndarray:
        return np.minimum(mu + sigma * np.asarray(z), math.log(MAX_RUL_S))

    def _published(self) -> tuple[str, dict[str, tuple[float, float]], tuple[float, float],
                                  tuple[float, ...] | None, np.ndarray | None]:
        """(evidence, raw parts, fused raw (mu, sigma), z used, published log(RUL + 1) points:
        calibrated, under the ceiling; None where not calibrated)."""
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
        # a condition-based estimate on a lost reference is not what was calibrated
        z = (None if evidence == "condition_based" and self.condition_not_valid
             else self._calibration(evidence))
        if z is None:
            return evidence, parts, (mu, sigma), None, None
        log_points = self._raw_log_points(mu, sigma, z)
        if self._ceiling is not None and self._ceiling.shape == log_points.shape:
            log_points = np.minimum(log_points, self._ceiling)
        return evidence, parts, (mu, sigma), z, log_points

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
        failure = failure_damage_quantiles(self.model.failure_damages, self.peak_damage,
                                           _TREND_QUANTILES)
        times = trend_times(samples[:, 0], samples[:, 1], failure)
        if times.points_s[0] >= MAX_RUL_S:  # no sample reaches its failure damage: the trend
            return None  # says nothing about when (not "a month, certainly")
        return times.log_moments()


_STD_NORMAL = norm.ppf((np.arange(99) + 0.5) / 99)
_TREND_QUANTILES = (np.arange(_N_TREND_SAMPLES) + 0.5) / _N_TREND_SAMPLES


def failure_damage_quantiles(end_damages: tuple[float, ...], alive_at: float,
                             q: np.ndarray | float) -> np.ndarray:
    """The q-quantiles of this asset's failure damage: log-normal over the training histories'
    end damages (none: centred on 1), conditioned on exceeding `alive_at` (the asset has
    survived that damage). Why conditioned: one shared failure level reads 0 s for every filter
    sample past it, with no spread, and outweighs every other view wherever an asset outlives
    the damage its training histories failed at (FEMTO's Bearing1_3)."""
    logs = np.log(np.asarray(end_damages, dtype=np.float64)) if end_damages else np.zeros(1)
    mean = float(logs.mean())
    std = max(float(logs.std(ddof=1)) if logs.size >= 2 else 0.0, MIN_FAILURE_DAMAGE_LOG_STD)
    # upper-tail form, as the duration view: stays finite far above every training damage
    tail = max(float(norm.sf((math.log(max(alive_at, 1e-12)) - mean) / std)), 1e-300)
    return np.exp(mean + std * norm.isf(tail * (1.0 - np.asarray(q, dtype=np.float64))))


def trend_times(level: np.ndarray, rate: np.ndarray, failure: np.ndarray) -> RulDistribution:
    """Time for a damage (level, rate per s) to reach `failure`, per sample: 0 where the level
    is already at or past it (whatever the rate), (failure - level) / rate where the rate is
    positive, MAX_RUL_S where it is not (no failure in sight)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        times = (failure - level) / rate
    times = np.where((rate > 0) & np.isfinite(times), times, MAX_RUL_S)
    return RulDistribution(np.clip(np.where(level >= failure, 0.0, times), 0.0, MAX_RUL_S),
                           "trend")


def _rescaled_filter(previous: dict | None,
                     damage: float) -> tuple[np.ndarray, np.ndarray] | None:
    """The other model's damage filter (x, P) in units of this model's damage (see
    PrognosisTracker.migrated), None where it cannot be rescaled (none, zero damage)."""
    if previous is None or previous.get("kalman") is None:
        return None
    old_damage = float(previous["damage"])
    if not (old_damage > 0 and damage > 0 and math.isfinite(old_damage)):
        return None
    x = np.asarray(previous["kalman"]["x"], dtype=np.float64)
    p = np.asarray(previous["kalman"]["P"], dtype=np.float64)
    if x.shape != (2, 1) or p.shape != (2, 2) or not (np.all(np.isfinite(x))
                                                       and np.all(np.isfinite(p))):
        raise ValueError(f"Kalman state of shape {x.shape} / {p.shape} or not finite")
    scale = damage / old_damage
    return x * scale, p * scale ** 2


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
