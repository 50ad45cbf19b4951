"""Fit the rig bundle's health indicator (Stage 1's `health_index`: 1 healthy .. 0 at the
severity the rig counts as failure). The remaining useful life is not fitted here: that is the
one RUL model (core/rul), fitted by evaluation/rul_rig.py for the rig."""
from __future__ import annotations

import numpy as np

from pm_monitor.core.models.health_indicator import HealthIndicator
from pm_monitor.core.types import MIC

# Vibration features that track wear (RMS / kurtosis / Teager-Kaiser energy / envelope lines),
# plus the microphone band energies: the accelerometer sits on the DE housing and feels an NDE
# fault ~3x weaker, while the microphone hears both bearings about equally, so with it the same
# HI value means the same damage at either bearing.
WEAR_FEATURES: tuple[str, ...] = ("rms", "kurtosis", "tke", "env_bpfo", "env_bpfi", "env_2bsf")


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
