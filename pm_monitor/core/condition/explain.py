"""Explanations of a physics decision: which features of which axis moved, and how far, from
the asset's own reference (robust z of the log features), plus the physics evidence (defect
lines, level over reference) that the decision's notes carry. No network, so no gradients:
`feature_importance` is each feature's share of |z|, `sensor_importance` each axis's share.
"""
from __future__ import annotations

import time
from collections.abc import Mapping

import numpy as np

from pm_monitor.core.condition.stage import PhysicsStage1
from pm_monitor.core.explain.background import HealthyBackground
from pm_monitor.core.explain.explainer import AlertExplanation
from pm_monitor.core.types import ACCEL

METHOD = "reference_robust_z"


class PhysicsExplainer:
    def __init__(self, stage1: PhysicsStage1) -> None:
        self.stage1 = stage1
        # the live explainer offers healthy windows here; the physics reference is the
        # commissioning one, so these are kept only as the one background interface wants
        self.background = HealthyBackground()

    def explain(self, result, frames: Mapping[str, object] | None = None) -> AlertExplanation:
        start = time.perf_counter()
        monitor = self.stage1.monitor
        z = np.abs(np.asarray(result.stage1_input, dtype=np.float64).ravel())
        labels = monitor.feature_labels if monitor is not None else []
        if len(labels) != z.size or not np.isfinite(z).all() or z.sum() <= 0:
            labels, z = [], np.zeros(0)
        share = z / z.sum() if z.size else z
        features = {f"{ACCEL}_{label}": float(v) for label, v in zip(labels, share, strict=True)}
        sensors: dict[str, float] = {}
        for label, v in zip(labels, share, strict=True):
            key = f"{ACCEL}_{label.split('/')[0]}"
            sensors[key] = sensors.get(key, 0.0) + float(v)
        return AlertExplanation(
            t_end_ns=result.t_end_ns, explained_state=result.state,
            sensor_importance=sensors, modality_weights={ACCEL: 1.0},
            modality_weights_method="single_modality", feature_importance=features,
            temporal_attention=np.ones(1, np.float32), temporal_importance=np.ones(1, np.float32),
            heatmaps={}, counterfactual=None, methods=(METHOD,), ig_baseline="none",
            ig_completeness_error=0.0, ig_relative_completeness_error=0.0,
            computation_ms=(time.perf_counter() - start) * 1e3)
