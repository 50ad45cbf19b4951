"""Fit the RUL baseline: health indicator, RUL configuration and interval calibration."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from pm_monitor.core.models.health_indicator import HealthIndicator
from pm_monitor.core.models.rul import ExponentialRulEstimator, RulConfig
from pm_monitor.core.types import MIC

# Vibration features that track wear (RMS / kurtosis / Teager-Kaiser energy / envelope lines),
# plus the microphone band energies: the accelerometer sits on the DE housing and feels an NDE
# fault ~3x weaker, while the microphone hears both bearings about equally, so with it the same
# HI value means the same damage at either bearing.
WEAR_FEATURES: tuple[str, ...] = ("rms", "kurtosis", "tke", "env_bpfo", "env_bpfi", "env_2bsf")
FAILURE_SEVERITY = 1.0  # the rig's RUL counts down to the time severity reaches 1


def fit_health_indicator(
    standardised: np.ndarray,
    severity: np.ndarray,
    feature_names: tuple[str, ...],
    offset: float = 0.05,
    ridge: float = 1.0,
) -> HealthIndicator:
    """Ridge regression of log(severity + offset) on the wear and microphone features
    (intercept unpenalised)."""
    columns = [i for i, name in enumerate(feature_names) if _is_wear_feature(name)]
    x = standardised[:, columns].astype(np.float64)
    target = np.log(np.clip(severity, 0.0, 1.0) + offset)
    x_mean, t_mean = x.mean(axis=0), target.mean()
    xc = x - x_mean
    gram = xc.T @ xc + ridge * np.eye(len(columns))
    coef = np.linalg.solve(gram, xc.T @ (target - t_mean))
    weights = np.zeros(len(feature_names), dtype=np.float32)
    weights[columns] = coef
    return HealthIndicator(weights, float(t_mean - x_mean @ coef), offset)


def _is_wear_feature(name: str) -> bool:
    sensor, feature = name.split(".", 1)
    return sensor == MIC or (sensor.startswith("accel_") and feature in WEAR_FEATURES)


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


HEALTH_BANDS: tuple[float, ...] = (0.6, 0.3, 0.0)  # lower edges of the health-index bands


def calibrate_rul_intervals(
    config: RulConfig,
    runs: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
) -> tuple[tuple[float, float, float], ...]:
    """Empirical log-error quantiles of the RUL estimate per health-index band, from validation
    runs (split-conformal calibration; never from held-out runs).

    runs: per run (t_s, HI, true RUL, asked), `asked` marking the windows where the cascade would
    ask for a RUL (truly not NORMAL, i.e. where the gate is meant to be open).
    Returns RulConfig.calibration: ((min health index, low, high), ...).
    """
    errors: dict[float, list[float]] = {edge: [] for edge in HEALTH_BANDS}
    for t_s, indicator, truth, asked in runs:
        estimator = ExponentialRulEstimator(replace(config, calibration=()))
        for t, hi, true_rul, ask in zip(t_s, indicator, truth, asked, strict=True):
            estimator.update(float(t), float(hi))
            if not (ask and np.isfinite(true_rul)):
                continue
            result = estimator.estimate()
            if result is None:
                continue
            band = next(e for e in HEALTH_BANDS if result.health_index >= e)
            errors[band].append(float(np.log((true_rul + 1.0) / (result.rul_s + 1.0))))
    tail = (1.0 - config.coverage) / 2.0
    bands = []
    for edge, values in errors.items():
        if len(values) >= 20:  # too few windows say nothing about a quantile
            low, high = np.quantile(values, [tail, 1.0 - tail])
            bands.append((edge, float(min(low, 0.0)), float(max(high, 0.0))))
    return tuple(bands)
