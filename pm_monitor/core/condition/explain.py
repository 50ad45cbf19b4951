"""Explanations of a physics decision: which features of which axis moved, and how far, from
the asset's own reference (robust z of the log features), plus the physics evidence (defect
lines, level over reference) that the decision's notes carry. No network, so no gradients:
`feature_importance` is each feature's share of |z|, `sensor_importance` each axis's share
(the microphone's bands too, when it was judged in the window: `mic_mic/share_...`).
"""
from __future__ import annotations

import time
from collections.abc import Mapping

import numpy as np

from pm_monitor.core.condition.stage import PhysicsStage1
from pm_monitor.core.explain.background import HealthyBackground
from pm_monitor.core.explain.explainer import AlertExplanation
from pm_monitor.core.types import ACCEL, MIC

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
        labels = ([f"{ACCEL}_{label}" for label in monitor.feature_labels]
                  if monitor is not None else [])
        acoustic = self.stage1.acoustic
        if acoustic is not None and z.size == len(labels) + len(acoustic.feature_labels):
            labels += [f"{MIC}_{label}" for label in acoustic.feature_labels]  # mic judged too
        if len(labels) != z.size or not np.isfinite(z).all() or z.sum() <= 0:
            labels, z = [], np.zeros(0)
        share = z / z.sum() if z.size else z
        features = {label: float(v) for label, v in zip(labels, share, strict=True)}
        sensors: dict[str, float] = {}
        modalities: dict[str, float] = {}
        for label, v in zip(labels, share, strict=True):
            key = label.split("/")[0]
            sensors[key] = sensors.get(key, 0.0) + float(v)
            modality = label.split("_")[0]
            modalities[modality] = modalities.get(modality, 0.0) + float(v)
        return AlertExplanation(
            t_end_ns=result.t_end_ns, explained_state=result.state,
            sensor_importance=sensors,
            modality_weights=modalities or {self.stage1.required_inputs[0]: 1.0},
            modality_weights_method=("share_of_robust_z" if len(modalities) > 1
                                     else "single_modality"),
            feature_importance=features,
            temporal_attention=np.ones(1, np.float32), temporal_importance=np.ones(1, np.float32),
            heatmaps={}, counterfactual=None, methods=(METHOD,), ig_baseline="none",
            ig_completeness_error=0.0, ig_relative_completeness_error=0.0,
            computation_ms=(time.perf_counter() - start) * 1e3)
