"""FEMTO Stage 1 inputs shared by training (training/tasks/femto_states.py) and the live
real-data cascade: the bearing geometry, axis names, state names, the commissioning baseline
and the anomaly threshold built from a shipped model's metadata.

Features are the bearing window features (core/features/bearing_window.py) of one 2560-sample
snapshot per axis, taken relative to the mean of the first ``baseline_snapshots`` snapshots of
the bearing (training: of its record; live: of the first windows seen after start-up).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from pm_monitor.core.models.threshold import ThresholdConfig
from pm_monitor.core.signals.bearing import BearingGeometry

STATE_NAMES: tuple[str, ...] = ("Normal", "Pre-Warning", "Warning", "Failure")
AXES: tuple[str, ...] = ("horizontal", "vertical")
# PRONOSTIA test bearing (data set README): 13 balls of 3.5 mm on a 25.6 mm pitch diameter.
FEMTO_BEARING = BearingGeometry(n_balls=13, ball_diameter_mm=3.5, pitch_diameter_mm=25.6)


def baseline_relative(features: np.ndarray, n_baseline: int) -> np.ndarray:
    """Features minus the mean of the first n_baseline snapshots (log features: a ratio)."""
    if n_baseline < 1 or n_baseline > features.shape[0]:
        raise ValueError(f"baseline_snapshots must be in [1, {features.shape[0]}]")
    return relative_to(features, baseline_of(features[:n_baseline]))


def baseline_of(first_features: np.ndarray) -> np.ndarray:
    """The commissioning baseline: mean of the first snapshots' raw features (float32, as
    numpy reduces float32 rows; training and live share this line)."""
    return np.asarray(first_features).mean(axis=0)


def relative_to(features: np.ndarray, baseline: np.ndarray) -> np.ndarray:
    return (features - baseline).astype(np.float32)


def threshold_config(floor: float, threshold: dict[str, Any]) -> ThresholdConfig:
    """The DynamicThreshold of a FEMTO fold: floor from training, the rest from the config
    section ``threshold`` (ceiling = floor x ceiling_factor)."""
    return ThresholdConfig(floor=float(floor), ceiling=float(floor) * float(
        threshold["ceiling_factor"]), c=float(threshold["c"]),
        history=int(threshold["history"]), min_history=int(threshold["min_history"]))
