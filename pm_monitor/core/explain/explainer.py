"""The whole explanation of one cascade decision, for the alert it belongs to.

    per-sensor / per-feature importance   integrated gradients (captum) against a healthy
                                          background (or the training mean while none exists)
    per-modality weights                  the fusion model's gate weights when one is wired in
                                          (with the [P1] running modality bias), else the
                                          modalities' shares of |IG|
    temporal                              Stage 1's attention + |IG| per time step
    where                                 Grad-CAM on every registered CNN (thermal, camera)
                                          with a frame; else the cascade's own Stage 2 map
    what would fix it                     counterfactual towards Normal (Stage 1)

The explainer works on private deep copies of the models, so it can run on a worker thread
(AsyncExplainer) while the cascade keeps using the originals (Grad-CAM registers hooks and
writes .grad; on shared modules that would race with the cascade's own forward passes).
"""
from __future__ import annotations

import copy
import inspect
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from pm_monitor.core.explain.attribution import (
    LogitsOf,
    SensorLayout,
    aggregate,
    default_logits,
    integrated_gradients,
)
from pm_monitor.core.explain.background import HealthyBackground
from pm_monitor.core.explain.counterfactual import (
    Counterfactual,
    CounterfactualConfig,
    CounterfactualSearch,
)
from pm_monitor.core.explain.feature_units import UnitReader, to_physical
from pm_monitor.core.explain.gradcam import grad_cam_by_name
from pm_monitor.core.features import FeatureExtractor
from pm_monitor.core.models.thermal_resnet import normalise_thermal_frame
from pm_monitor.core.types import THERMAL, HealthState


@dataclass(frozen=True)
class GateReading:
    """What a fusion gate says about one decision, and the running modality bias ([P1])."""

    weights: dict[str, float]  # this decision's gate weight per modality, sums to 1
    ideal: dict[str, float] = field(default_factory=dict)  # g*_m: weights unimodal skill earns
    bias: dict[str, float] = field(default_factory=dict)  # B_m = E[g_m] - g*_m (running mean)
    decisions: int = 0  # how many decisions E[g_m] is the mean over
    note: str = ""  # e.g. why the gate was forced (a modality missing)


# (CascadeResult, the window's frames by modality) -> weights per modality or a GateReading.
# Hooks written for the older one-argument form (result only) are still accepted.
ModalityGates = Callable[[object, Mapping[str, object]], "Mapping[str, float] | GateReading"]


def _two_argument_hook(gates: Callable) -> ModalityGates:
    """The hook as gates(result, frames): a one-argument hook is wrapped to drop the frames."""
    try:
        inspect.signature(gates).bind(None, None)
    except TypeError:  # takes the result only
        return lambda result, frames: gates(result)
    except ValueError:  # no signature to inspect (some builtins): assume the current form
        pass
    return gates


@dataclass(frozen=True)
class ImageTarget:
    """A CNN on one image modality, explained by Grad-CAM at a named layer."""

    modality: str  # key of the window's frames, e.g. "thermal", "camera"
    model: nn.Module
    layer_name: str
    preprocess: Callable[[np.ndarray], np.ndarray]  # frame -> (C, H, W) or (H, W) float32
    class_names: tuple[str, ...]
    candidates: tuple[int, ...] | None = None  # classes worth explaining (None = predicted)


@dataclass(frozen=True)
class ExplainerConfig:
    ig_steps: int = 32
    region_fraction: float = 0.5
    counterfactual: CounterfactualConfig | None = field(default_factory=CounterfactualConfig)


@dataclass(frozen=True)
class HeatmapExplanation:
    modality: str
    frame_id: str
    stamp_ns: int
    heatmap: np.ndarray  # (H, W) float32 in [0, 1], the frame's size
    hotspot_xy: tuple[int, int]
    region: tuple[int, int, int, int]
    explained_class: str
    probability: float
    method: str  # "grad_cam(<layer>)" or "stage2_grad_cam"


@dataclass(frozen=True)
class AlertExplanation:
    """Field names shared with cascade.ExplanationResult, so conversions.explanation_msg takes
    either; the extra fields (counterfactual, heatmaps, baseline) are for the report and
    the summary line."""

    t_end_ns: int
    explained_state: HealthState
    sensor_importance: dict[str, float]
    modality_weights: dict[str, float]
    modality_weights_method: str
    feature_importance: dict[str, float]
    temporal_attention: np.ndarray
    temporal_importance: np.ndarray
    heatmaps: dict[str, HeatmapExplanation]
    counterfactual: Counterfactual | None
    methods: tuple[str, ...]
    ig_baseline: str
    ig_completeness_error: float
    ig_relative_completeness_error: float
    computation_ms: float
    # Fusion gate only (empty / 0 otherwise): g*_m, running B_m = E[g_m] - g*_m, and how many
    # explained decisions E[g_m] is over; note says when the gate was forced (modality missing).
    modality_ideal_weights: dict[str, float] = field(default_factory=dict)
    modality_bias: dict[str, float] = field(default_factory=dict)
    modality_bias_decisions: int = 0
    modality_gate_note: str = ""

    @property
    def _main_heatmap(self) -> HeatmapExplanation | None:
        return self.heatmaps.get(THERMAL) or next(iter(self.heatmaps.values()), None)

    @property
    def hotspot_xy(self) -> tuple[int, int] | None:
        heatmap = self._main_heatmap
        return heatmap.hotspot_xy if heatmap else None

    @property
    def region(self) -> tuple[int, int, int, int] | None:
        heatmap = self._main_heatmap
        return heatmap.region if heatmap else None

    def top_features(self, n: int = 3) -> list[tuple[str, float]]:
        return sorted(self.feature_importance.items(), key=lambda kv: -kv[1])[:n]

    @property
    def summary(self) -> str:
        sensor, share = max(self.sensor_importance.items(), key=lambda kv: kv[1],
                            default=("-", 0.0))
        parts = [f"{self.explained_state.label} driven mostly by {sensor} ({share:.0%})"]
        if self.modality_weights_method == "fusion_gate":
            parts.append(self._gate_summary())
        for modality, heatmap in self.heatmaps.items():
            parts.append(f"{modality} hot spot {heatmap.explained_class} at {heatmap.hotspot_xy}")
        if self.counterfactual is not None:
            parts.append(self.counterfactual.summary)
        return "; ".join(parts)

    def _gate_summary(self) -> str:
        text = "fusion gate " + ", ".join(f"{m} {w:.2f}" for m, w in self.modality_weights.items())
        if self.modality_gate_note:
            text += f" ({self.modality_gate_note})"
        if self.modality_bias:
            text += (", modality bias " + ", ".join(f"{m} {b:+.2f}"
                                                     for m, b in self.modality_bias.items())
                     + f" over {self.modality_bias_decisions} decisions")
        return text

    def to_dict(self) -> dict:
        """JSON-ready (heatmap arrays left out: they go to images)."""
        cf = self.counterfactual
        return {
            "t_end_ns": self.t_end_ns,
            "explained_state": self.explained_state.label,
            "sensor_importance": self.sensor_importance,
            "modality_weights": self.modality_weights,
            "modality_weights_method": self.modality_weights_method,
            "modality_ideal_weights": self.modality_ideal_weights,
            "modality_bias": self.modality_bias,
            "modality_bias_decisions": self.modality_bias_decisions,
            "modality_gate_note": self.modality_gate_note,
            "top_features": dict(self.top_features(5)),
            "temporal_attention": [float(v) for v in self.temporal_attention],
            "temporal_importance": [float(v) for v in self.temporal_importance],
            "heatmaps": {m: {"frame_id": h.frame_id, "hotspot_xy": list(h.hotspot_xy),
                             "region": list(h.region), "class": h.explained_class,
                             "probability": h.probability, "method": h.method}
                         for m, h in self.heatmaps.items()},
            "counterfactual": None if cf is None else {
                "reached": cf.reached_target, "target": cf.target_label,
                "sensors": list(cf.sensors),
                "p_before": cf.p_target_before, "p_after": cf.p_target_after,
                "changes": [{"feature": c.feature, "current": c.current.value,
                             "needed": c.needed.value, "unit": c.current.unit}
                            for c in cf.changes],
                "summary": cf.summary},
            "methods": list(self.methods),
            "ig_baseline": self.ig_baseline,
            "ig_completeness_error": self.ig_completeness_error,
            "computation_ms": self.computation_ms,
            "summary": self.summary,
        }


class Explainer:
    def __init__(
        self,
        stage1: nn.Module,
        layout: SensorLayout,
        mean: np.ndarray,
        std: np.ndarray,
        state_names: tuple[str, ...],
        image_targets: tuple[ImageTarget, ...] = (),
        background: HealthyBackground | None = None,
        modality_gates: ModalityGates | None = None,
        config: ExplainerConfig | None = None,
        logits_of: LogitsOf = default_logits,
        units: UnitReader = to_physical,
    ) -> None:
        """units: how counterfactual values read in physical units (to_relative for
        baseline-relative features)."""
        self.config = config or ExplainerConfig()
        self.layout = layout
        self.state_names = state_names
        self.logits_of = logits_of
        self.stage1 = copy.deepcopy(stage1).eval()
        self.image_targets = {
            t.modality: ImageTarget(t.modality, copy.deepcopy(t.model).eval(), t.layer_name,
                                    t.preprocess, t.class_names, t.candidates)
            for t in image_targets}
        self.background = background if background is not None else HealthyBackground()
        self.modality_gates = None if modality_gates is None else _two_argument_hook(
            modality_gates)
        cf = self.config.counterfactual
        self.counterfactual = None if cf is None else CounterfactualSearch(
            self.stage1, layout.feature_names, mean, std, state_names[cf.target_state], cf,
            logits_of, units)

    @classmethod
    def from_bundle(cls, bundle, background: HealthyBackground | None = None,
                    config: ExplainerConfig | None = None, thermal_gradcam: bool = False,
                    **kwargs) -> Explainer:  # bundle: ModelBundle
        """thermal_gradcam: compute Grad-CAM on the bundle's thermal model here (needs the
        frames) instead of reusing the cascade's Stage 2 map."""
        targets = list(kwargs.pop("image_targets", ()))
        if thermal_gradcam:
            targets.append(thermal_target(bundle))
        return cls(bundle.stage1, SensorLayout.from_extractor(
            FeatureExtractor(bundle.feature_config)), bundle.scaler.mean, bundle.scaler.std,
            tuple(bundle.state_names), tuple(targets), background, config=config, **kwargs)

    def explain(self, result, frames: Mapping[str, object] | None = None) -> AlertExplanation:
        """result: a CascadeResult; frames: the window's frames (modality -> FrameSample),
        needed only for the registered image targets and the fusion gate (a missing thermal
        frame makes a fusion gate leave the decision to the sensors)."""
        start = time.perf_counter()
        state = HealthState(int(result.state))
        baselines = self.background.baselines()
        attribution = integrated_gradients(self.stage1, result.stage1_input, int(state),
                                           baselines, self.config.ig_steps, self.logits_of)
        importance = aggregate(attribution.values, self.layout)
        methods = ["integrated_gradients(captum)", "temporal_attention"]
        reading = GateReading(importance.modalities)
        weights_method = "integrated_gradients_share"
        if self.modality_gates is not None:
            gated = self.modality_gates(result, frames or {})
            reading = gated if isinstance(gated, GateReading) else GateReading(dict(gated))
            weights_method = "fusion_gate"
            methods.append("gate_weights")
        heatmaps = self._heatmaps(result, frames or {})
        methods += sorted({h.method for h in heatmaps.values()})
        counterfactual = None
        target = self.config.counterfactual.target_state if self.counterfactual else None
        if self.counterfactual is not None and int(state) != target:
            counterfactual = self.counterfactual.search(
                result.stage1_input,
                self.background.bounds(self.config.counterfactual.healthy_margin_z))
            methods.append("counterfactual(gradient-guided)")
        return AlertExplanation(
            t_end_ns=int(result.t_end_ns),
            explained_state=state,
            sensor_importance=importance.sensors,
            modality_weights=reading.weights,
            modality_weights_method=weights_method,
            feature_importance=importance.features,
            temporal_attention=np.asarray(result.temporal_attention, np.float32),
            temporal_importance=importance.time_steps,
            heatmaps=heatmaps,
            counterfactual=counterfactual,
            methods=tuple(methods),
            ig_baseline=(f"healthy background (K={len(baselines)})" if baselines is not None
                         else "training mean"),
            ig_completeness_error=attribution.completeness_error,
            ig_relative_completeness_error=attribution.relative_completeness_error,
            computation_ms=(time.perf_counter() - start) * 1e3,
            modality_ideal_weights=reading.ideal,
            modality_bias=reading.bias,
            modality_bias_decisions=reading.decisions,
            modality_gate_note=reading.note,
        )

    def _heatmaps(self, result, frames: Mapping[str, object]) -> dict[str, HeatmapExplanation]:
        heatmaps: dict[str, HeatmapExplanation] = {}
        for modality, target in self.image_targets.items():
            frame = frames.get(modality)
            if frame is not None:
                heatmaps[modality] = self._grad_cam(target, frame)
        loc = result.localization
        if loc is not None and loc.modality not in heatmaps:
            heatmaps[loc.modality] = HeatmapExplanation(
                loc.modality, loc.frame_id, int(result.t_end_ns), loc.heatmap, loc.hotspot_xy,
                loc.region, loc.location, float(loc.confidence), "stage2_grad_cam")
        return heatmaps

    def _grad_cam(self, target: ImageTarget, frame) -> HeatmapExplanation:
        image = np.asarray(target.preprocess(frame.image), np.float32)
        if image.ndim == 2:
            image = image[None]
        cam = grad_cam_by_name(target.model, target.layer_name, torch.from_numpy(image)[None],
                               region_fraction=self.config.region_fraction,
                               candidates=target.candidates)
        return HeatmapExplanation(
            target.modality, frame.frame_id, int(frame.stamp_ns), cam.heatmap, cam.hotspot_xy,
            cam.region, target.class_names[cam.target_class],
            float(cam.probabilities[cam.target_class]), f"grad_cam({target.layer_name})")


def thermal_target(bundle) -> ImageTarget:
    """The bundle's thermal localiser as a Grad-CAM target (bearings only, as Stage 2 does)."""
    scale = bundle.thermal_scale_k
    names = tuple(bundle.location_names)
    return ImageTarget(
        THERMAL, bundle.thermal, "attended", lambda frame: normalise_thermal_frame(frame, scale),
        names, tuple(i for i, name in enumerate(names) if name != "healthy"))
