"""Fit the RUL baseline's health indicator and derive its RUL configuration from training runs."""
from __future__ import annotations

import numpy as np

from pm_monitor.core.models.health_indicator import HealthIndicator
from pm_monitor.core.models.rul import RulConfig

# Vibration features that track wear (the brief of the RUL baseline: RMS / kurtosis / envelope).
WEAR_FEATURES: tuple[str, ...] = ("rms", "kurtosis", "tke", "env_bpfo", "env_bpfi", "env_2bsf")
FAILURE_SEVERITY = 1.0  # the rig's RUL counts down to the time severity reaches 1


def fit_health_indicator(
    standardised: np.ndarray,
    severity: np.ndarray,
    feature_names: tuple[str, ...],
    offset: float = 0.05,
    ridge: float = 1.0,
) -> HealthIndicator:
    """Ridge regression of log(severity + offset) on the wear features (intercept unpenalised)."""
    columns = [
        i for i, name in enumerate(feature_names)
        if name.startswith("accel_") and name.split(".", 1)[1] in WEAR_FEATURES
    ]
    x = standardised[:, columns].astype(np.float64)
    target = np.log(np.clip(severity, 0.0, 1.0) + offset)
    x_mean, t_mean = x.mean(axis=0), target.mean()
    xc = x - x_mean
    gram = xc.T @ xc + ridge * np.eye(len(columns))
    coef = np.linalg.solve(gram, xc.T @ (target - t_mean))
    weights = np.zeros(len(feature_names), dtype=np.float32)
    weights[columns] = coef
    return HealthIndicator(weights, float(t_mean - x_mean @ coef), offset)


def rul_config_from_healthy(healthy_indicator: np.ndarray, history_s: float = 300.0) -> RulConfig:
    """Baseline = median HI of healthy validation windows; onset margin = its 99.5th percentile
    above the median, so healthy noise alone rarely counts as a degradation trend."""
    baseline = float(np.median(healthy_indicator))
    margin = max(float(np.quantile(healthy_indicator, 0.995)) - baseline, 0.02)
    return RulConfig(
        baseline=baseline,
        failure_level=FAILURE_SEVERITY,
        onset_margin=margin,
        history_s=history_s,
    )
