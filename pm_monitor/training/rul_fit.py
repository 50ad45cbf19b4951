"""Fit the default RUL model (core/rul/prognosis.py) from run-to-failure histories.

Everything here sees only the histories it is given: the evaluation passes the training
bearings of a fold, never the held-out one. Steps:
1. population prior: Weibull (lifelines) of lives in units of the ISO 281 rating life;
2. onset: nothing to fit here. Each history carries the any-machine health state of every
   snapshot (core/condition/monitor.py AssetMonitor with the rise ratios of
   ``FitConfig.trend_ratio`` / ``crest_trend_ratio``, chosen by the caller on the training
   histories only); the onset is its first confirmed not-Normal state (core/rul/onset.py);
3. failure levels (damage score at the end of life, median), post-onset durations
   (log-normal) and the damage paths of the similarity view (remaining life at each
   first-reached damage);
4. calibration: nested leave-one-history-out. Each history is predicted by a model fitted on the
   others (steps 1-3); the standardised errors z = (log(true + 1) - mu) / sigma, bearing-weighted,
   give the quantiles that turn (mu, sigma) into a calibrated distribution per evidence kind
   and per calibration group within it (PrognosisTracker.calibration_group: what the tracker
   knows at run time); a group with fewer than MIN_GROUP_POINTS points or from fewer than two
   histories is left out, so its estimates use their evidence kind's quantiles.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from lifelines import WeibullAFTFitter, WeibullFitter

from pm_monitor.core.condition.health import HealthRules
from pm_monitor.core.rul.onset import OnsetConfig, OnsetTracker
from pm_monitor.core.rul.prior import OperatingCondition, WeibullPrior, rating_life_s
from pm_monitor.core.rul.prognosis import (
    EVIDENCE_KINDS,
    SEVERE_STATES,
    DamagePath,
    PrognosisModel,
    PrognosisTracker,
)
from pm_monitor.core.types import HealthState

DAMAGE_INDICATORS = ("rms_g_h", "band_2.2_5khz_g_h", "band_5_10khz_g_h", "rms_g_v",
                    "band_2.2_5khz_g_v", "band_5_10khz_g_v")
Z_POINTS = 99
MIN_DURATION_LOG_STD = 0.3
# a history with fewer calibration points weighs less; a calibration group needs this many
# points (and two histories) or it falls back to its evidence kind's quantiles
MIN_GROUP_POINTS = 20
PATH_POINTS = 24  # damage levels kept per similarity path (keeps the model file small)
MIN_FAILURE_LEVEL = 0.1  # damage score at failure is at least a 10 % rise (log ratio)
MIN_STATE_HISTORIES = 3  # histories that reached a severe state before its duration is used


@dataclass(frozen=True)
class History:
    """One asset's run: indicator rows per snapshot (columns `names`, see
    core/rul/onset.indicator_names), the any-machine health state judged on each snapshot
    (core/types.HealthState values, -1 = not judged / commissioning; None = never judged, so
    no onset), and its end."""

    name: str
    t_s: np.ndarray
    indicators: np.ndarray  # (n, len(names))
    names: tuple[str, ...]
    condition: OperatingCondition
    life_s: float
    failed: bool = True  # False: stopped before failure (right-censored)
    states: np.ndarray | None = None

    def state_rows(self) -> np.ndarray:
        return (np.full(self.t_s.size, -1) if self.states is None
                else np.asarray(self.states, dtype=int))

    def onset_s(self) -> float | None:
        """The first snapshot with a confirmed not-Normal state (what the tracker latches)."""
        return self.first_in_state(int(HealthState.PRE_WARNING))

    def first_in_state(self, level: int) -> float | None:
        """The first snapshot judged in state `level` (HealthState value) or worse."""
        idx = np.flatnonzero(self.state_rows() >= level)
        return float(self.t_s[idx[0]]) if idx.size else None

    def columns(self, names: Sequence[str]) -> np.ndarray:
        return self.indicators[:, [self.names.index(n) for n in names]]


@dataclass(frozen=True)
class FitConfig:
    asset_type: str = "femto_pronostia"
    dynamic_load_rating_n: float | None = 4000.0  # FEMTO test bearing (README)
    indicators: tuple[str, ...] = DAMAGE_INDICATORS
    reference_s: float = 600.0
    smooth_s: float = 50.0
    # the rise ratios the histories' health states were computed with (written to the model,
    # so the live monitor runs the same rules)
    trend_ratio: float = HealthRules.trend_ratio
    crest_trend_ratio: float = HealthRules.crest_trend_ratio
    calibration_step_s: float = 60.0
    coverage: float = 0.8
    # Chosen by leave-one-out over the 6 learning bearings only (docs/sections/rul.md): the
    # median scored higher than the PHM-optimal point of the (wide) calibrated distribution.
    point_kind: str = "median"
    prior_after_onset: bool = True
    # Fit the exponent of the rating life (Weibull AFT on log L10) instead of ISO's 1; needs
    # histories under at least two operating conditions.
    fit_life_exponent: bool = False
    # The similarity view after onset (library damage paths). Off in the generic defaults
    # (round 2's FEMTO choice); the FEMTO model turns it on with state_durations
    # (evaluation/rul_evaluate.FEMTO_CONFIG, the argmax of its section (0)).
    similarity: bool = False
    # Severity conditioning of the duration view: after the asset reaches Warning / Failure,
    # count its remaining life from the training histories' first time in that state (each
    # state needs MIN_STATE_HISTORIES histories that reached it). On in FEMTO_CONFIG.
    state_durations: bool = False
    # Calibration conditional on what the tracker knows (PrognosisTracker.calibration_group),
    # with the evidence kind's as the fallback. Off: per evidence kind only. Measured worse
    # on FEMTO's section (0) (rul_evaluate variant) and on the rig (rul_rig column), so off
    # by default (docs/sections/rul.md, round 4).
    calibration_groups: bool = False


def fit_prior(lives_s: Sequence[float], conditions: Sequence[OperatingCondition],
              failed: Sequence[bool], config: FitConfig) -> WeibullPrior:
    """Weibull of lives / reference life (right-censored runs count as survivors)."""
    rated = config.dynamic_load_rating_n is not None and all(c.is_complete() for c in conditions)
    if rated:
        units = np.array([rating_life_s(c, config.dynamic_load_rating_n) for c in conditions])
    else:
        units = np.ones(len(lives_s))
    common = {"asset_type": config.asset_type, "reference": "rating_life" if rated else "seconds",
              "dynamic_load_rating_n": config.dynamic_load_rating_n if rated else None,
              "n_histories": len(lives_s), "n_failures": int(np.sum(failed))}
    if rated and config.fit_life_exponent and len(set(np.round(units, 3))) >= 2:
        centre = float(np.mean(np.log(units)))
        frame = pd.DataFrame({"T": np.asarray(lives_s, dtype=float),
                              "E": np.asarray(failed, dtype=bool),
                              "x": np.log(units) - centre})
        aft = WeibullAFTFitter().fit(frame, "T", "E")
        b0 = float(aft.params_.loc[("lambda_", "Intercept")])
        b1 = float(aft.params_.loc[("lambda_", "x")])
        rho = float(np.exp(aft.params_.loc[("rho_", "Intercept")]))
        return WeibullPrior(shape=rho, scale=float(np.exp(b0 - b1 * centre)), exponent=b1,
                            **common)
    fitter = WeibullFitter().fit(np.asarray(lives_s, dtype=float) / units,
                                 event_observed=np.asarray(failed, dtype=bool))
    return WeibullPrior(shape=float(fitter.rho_), scale=float(fitter.lambda_), **common)


def damage_scores(history: History, config: FitConfig) -> tuple[np.ndarray, np.ndarray]:
    """(t, damage scores (m, k)) over a history, as the tracker computes them."""
    tracker = OnsetTracker(onset_config(config))
    times, scores = [], []
    for t, row in zip(history.t_s, history.columns(config.indicators), strict=True):
        tracker.update(float(t), row)
        if tracker.score is not None:
            times.append(float(t))
            scores.append(tracker.score.copy())
    return np.asarray(times), np.asarray(scores).reshape(len(times), len(config.indicators))


def onset_config(config: FitConfig) -> OnsetConfig:
    return OnsetConfig(indicators=config.indicators, reference_s=config.reference_s,
                       smooth_s=config.smooth_s, trend_ratio=config.trend_ratio,
                       crest_trend_ratio=config.crest_trend_ratio)


def fit_uncalibrated(histories: Sequence[History], config: FitConfig,
                     scores: dict[str, tuple[np.ndarray, np.ndarray]] | None = None
                     ) -> PrognosisModel:
    """Steps 1-3 (no calibration: such a model publishes nothing as valid)."""
    if len(histories) < 2:
        raise ValueError("need at least two histories to fit a RUL model")
    scores = scores or {h.name: damage_scores(h, config) for h in histories}
    prior = fit_prior([h.life_s for h in histories], [h.condition for h in histories],
                      [h.failed for h in histories], config)
    end_levels = [scores[h.name][1][-1] for h in histories if h.failed and scores[h.name][0].size]
    levels = (np.maximum(np.median(np.asarray(end_levels), axis=0), MIN_FAILURE_LEVEL)
              if end_levels else np.full(len(config.indicators), 3.0 * MIN_FAILURE_LEVEL))
    # each failed history's damage at its end, as the tracker computes d (the trend view's
    # failure damages); a history that ended undamaged says nothing about the failure damage
    end_damages = [float(np.max(end / levels)) for end in end_levels]
    end_damages = tuple(sorted(d for d in end_damages if d > 0))
    durations, paths = [], []
    for h in histories:
        t, s = scores[h.name]
        onset_s = h.onset_s()
        if h.failed and onset_s is not None:
            durations.append(max(h.life_s - onset_s, 10.0))
            paths.append(damage_path(t, s, levels, onset_s, h.life_s))
    log_mean = log_std = None
    if len(durations) >= 2:
        log_mean, log_std = _log_normal(durations)
    state_durations = {}
    if config.state_durations:
        for name in SEVERE_STATES:
            level = int(HealthState[name.upper()])
            firsts = [(h, h.first_in_state(level)) for h in histories if h.failed]
            since = [max(h.life_s - t, 10.0) for h, t in firsts if t is not None]
            if len(since) >= MIN_STATE_HISTORIES:
                state_durations[name] = _log_normal(since)
    return PrognosisModel(prior=prior, onset=onset_config(config),
                          failure_levels=tuple(float(v) for v in levels),
                          post_onset_log_mean=log_mean, post_onset_log_std=log_std,
                          coverage=config.coverage, point_kind=config.point_kind,
                          prior_after_onset=config.prior_after_onset,
                          damage_paths=tuple(paths) if config.similarity else (),
                          state_durations=state_durations, failure_damages=end_damages)


def _log_normal(durations: Sequence[float]) -> tuple[float, float]:
    logs = np.log(np.asarray(durations, dtype=float))
    return float(logs.mean()), float(max(logs.std(ddof=1), MIN_DURATION_LOG_STD))


def damage_path(t_s: np.ndarray, scores: np.ndarray, levels: np.ndarray, onset_s: float,
                life_s: float) -> DamagePath:
    """The remaining life when the damage (as the tracker computes it) first reached each
    level after the onset, kept at PATH_POINTS levels."""
    after = t_s >= onset_s
    peak = np.maximum.accumulate(np.max(scores[after] / levels, axis=1))
    rul = life_s - t_s[after]
    first = np.concatenate([[True], np.diff(peak) > 0])  # first passages only
    peak, rul = peak[first], rul[first]
    keep = np.unique(np.linspace(0, peak.size - 1, min(PATH_POINTS, peak.size)).round()
                     .astype(int))
    return DamagePath(tuple(peak[keep]), tuple(rul[keep]))


def run_tracker(model: PrognosisModel, history: History, at_s: np.ndarray,
                with_point: bool = True) -> list:
    """Feed the history in order; one estimate per time in at_s, from the snapshot at or
    before it (the tracker never sees a later snapshot than the one it answers for)."""
    positions = np.searchsorted(history.t_s, np.asarray(at_s, dtype=float), side="right") - 1
    positions = np.maximum(positions, 0)
    tracker = PrognosisTracker(model, history.condition)
    wanted = set(int(i) for i in positions)
    out = {}
    for i, (t, row, state) in enumerate(zip(history.t_s, history.columns(model.indicator_names),
                                            history.state_rows(), strict=True)):
        tracker.update(float(t), row, int(state))
        if i in wanted:
            out[i] = tracker.estimate(with_point=with_point)
        if i >= positions.max():
            break
    return [out[int(i)] for i in positions]


def _weighted_quantiles(groups: list[np.ndarray], n_points: int) -> tuple[float, ...]:
    """Quantiles with each history weighing about equally; a history with fewer than
    MIN_GROUP_POINTS points weighs less (a handful of points says little)."""
    values = np.concatenate(groups)
    weights = np.concatenate([np.full(g.size, 1.0 / max(g.size, MIN_GROUP_POINTS))
                              for g in groups])
    order = np.argsort(values)
    cdf = (np.cumsum(weights[order]) - 0.5 * weights[order]) / weights.sum()
    q = (np.arange(n_points) + 0.5) / n_points
    return tuple(float(v) for v in np.interp(q, cdf, values[order]))


def fit_model(histories: Sequence[History], config: FitConfig = FitConfig(),
              verbose: bool = False) -> PrognosisModel:
    """Steps 1-4. The calibration uses only these histories (nested leave-one-out)."""
    scores = {h.name: damage_scores(h, config) for h in histories}
    model = fit_uncalibrated(histories, config, scores)
    # evidence kind or "<kind>/<group>" -> one array of z per held-out history
    z_groups: dict[str, list[np.ndarray]] = {}
    for held_out in histories:
        if not held_out.failed:
            continue
        others = [h for h in histories if h.name != held_out.name]
        if len(others) < 2:
            continue
        inner = fit_uncalibrated(others, config, scores)
        start = held_out.t_s[0] + config.reference_s
        at = np.arange(start, held_out.life_s, config.calibration_step_s)
        z_by_key: dict[str, list[float]] = {}
        for est in run_tracker(inner, held_out, at, with_point=False):
            truth = held_out.life_s - est.elapsed_s
            mu, sigma = est.raw_log_moments
            z = (np.log(truth + 1.0) - mu) / sigma
            for key in (est.evidence, est.calibration_group):
                z_by_key.setdefault(key, []).append(z)
        for key, values in z_by_key.items():
            z_groups.setdefault(key, []).append(np.asarray(values))
        if verbose:
            print(f"    calibration: {held_out.name} "
                  + ", ".join(f"{k} {len(v)}" for k, v in z_by_key.items()), flush=True)
    return replace(model, calibration=calibration_quantiles(z_groups, config.calibration_groups))


def calibration_quantiles(z_groups: dict[str, list[np.ndarray]],
                          with_groups: bool = True) -> dict[str, tuple[float, ...]]:
    """z quantiles per evidence kind (from two held-out histories on) and per calibration
    group (`with_groups`; MIN_GROUP_POINTS points from two histories on, and only where its
    kind is calibrated: the kind is every group's fallback)."""
    out = {kind: _weighted_quantiles(z_groups[kind], Z_POINTS) for kind in EVIDENCE_KINDS
           if len(z_groups.get(kind, ())) >= 2}
    if not with_groups:
        return out
    for key, arrays in z_groups.items():
        kind = key.split("/")[0]
        if ("/" in key and kind in out and len(arrays) >= 2
                and sum(a.size for a in arrays) >= MIN_GROUP_POINTS):
            out[key] = _weighted_quantiles(arrays, Z_POINTS)
    return out
