"""The simple reference: RMS health indicator + exponential degradation fit to a threshold.

Health indicator (HI) = horizontal RMS (g) of each snapshot. Per bearing, causally:
baseline = median HI of its first `baseline_s` seconds (the onset rule's baseline); failure
level = baseline x `failure_ratio`, where the ratio (end-of-life HI / baseline) is the median
over the *training* bearings; the exponential fit and its bootstrap interval are the rig's
`ExponentialRulEstimator` (pm_monitor/training/rul_exponential.py), offline only.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pm_monitor.training.rul_exponential import ExponentialRulEstimator, RulConfig
from pm_monitor.training.rul_network.targets import OnsetRule

MODEL_NAME = "rms_exponential_fit"


@dataclass(frozen=True)
class BaselineConfig:
    failure_ratio: float
    onset: OnsetRule = field(default_factory=OnsetRule)
    history_s: float = 1800.0
    min_points: int = 12
    max_rul_s: float = 24 * 3600.0
    n_bootstrap: int = 100


def healthy_level(t_s: np.ndarray, indicator: np.ndarray, rule: OnsetRule) -> float:
    """Median HI over the first baseline_s seconds (at least min_baseline_points values)."""
    t_s = np.asarray(t_s, dtype=float)
    count = max(int(np.searchsorted(t_s, t_s[0] + rule.baseline_s, side="right")),
                rule.min_baseline_points)
    return float(np.median(np.asarray(indicator, dtype=float)[:count]))


def end_of_life_ratio(t_s: np.ndarray, indicator: np.ndarray, rule: OnsetRule) -> float:
    """Smoothed HI at the end of the record / healthy level (for fitting failure_ratio)."""
    tail = np.asarray(indicator, dtype=float)[-rule.smooth:]
    return float(np.median(tail) / healthy_level(t_s, indicator, rule))


@dataclass(frozen=True)
class BaselineTrack:
    """Per snapshot of one bearing: RUL (s, inf when the fit found no trend), interval,
    health index."""

    rul_s: np.ndarray
    lower_s: np.ndarray
    upper_s: np.ndarray
    health_index: np.ndarray


def run_baseline(t_s: np.ndarray, indicator: np.ndarray, config: BaselineConfig,
                 seed: int = 0) -> BaselineTrack:
    """Feed a bearing's snapshots in order; the estimate at i uses snapshots 0..i only.

    The healthy level needs the first baseline_s seconds: until then the RUL is the cap."""
    t_s = np.asarray(t_s, dtype=float)
    indicator = np.asarray(indicator, dtype=float)
    rule = config.onset
    n = t_s.size
    rul = np.full(n, config.max_rul_s)
    lower = np.full(n, config.max_rul_s)
    upper = np.full(n, config.max_rul_s)
    health = np.ones(n)
    ready = max(int(np.searchsorted(t_s, t_s[0] + rule.baseline_s, side="right")),
                rule.min_baseline_points)
    if n <= ready:
        return BaselineTrack(rul, lower, upper, health)
    base = healthy_level(t_s, indicator, rule)
    spread = 1.4826 * float(np.median(np.abs(indicator[:ready] - base)))
    margin = max(rule.k_sigma * spread, rule.rel_margin * base)
    failure = base * config.failure_ratio
    if failure <= base + margin:  # a ratio this small cannot be told from noise
        failure = base + 2 * margin
    estimator = ExponentialRulEstimator(RulConfig(
        baseline=base, failure_level=failure, onset_margin=margin, history_s=config.history_s,
        min_points=config.min_points, n_bootstrap=config.n_bootstrap,
        max_rul_s=config.max_rul_s), seed=seed)
    for i in range(n):
        estimator.update(float(t_s[i]), float(indicator[i]))
        health[i] = estimator.health_index(float(indicator[i]))
        if i < ready:
            continue
        result = estimator.estimate()
        if result is not None:
            rul[i], lower[i], upper[i] = result.rul_s, result.lower_s, result.upper_s
    return BaselineTrack(rul, lower, upper, health)
