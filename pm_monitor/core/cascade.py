"""The cascade of one asset: features -> Stage 1 + anomaly score -> (gate) -> Stage 2 + RUL.

Stage 1 (health state, fault type) and the anomaly score run on every window. Only when Stage 1
says "not normal" or the anomaly score crosses its dynamic threshold does the cascade spend time
on Stage 2 (where on the thermal frame, Grad-CAM) and the RUL extrapolation (paper 000: Stage 2
answers "where", not "whether"). Explanations are a separate, slower call (`explain`) so the
node can publish the alert first.

The models run through the inference layer (pm_monitor.core.inference): torch by default (the
reference, today's behaviour), or ONNX Runtime / TensorRT when an InferenceConfig or ready
CascadeModels is passed. Explanations (integrated gradients) always run on torch; Grad-CAM runs
on torch autograd with the torch backend and comes from the exported graph's CAM output
otherwise (identical maps, see pm_monitor/core/inference/wrappers.py).
"""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from pm_monitor.core.explain.attribution import shares, stage1_integrated_gradients
from pm_monitor.core.explain.gradcam import grad_cam, hotspot_and_region
from pm_monitor.core.features import FeatureExtractor
from pm_monitor.core.inference import CascadeModels, InferenceConfig
from pm_monitor.core.models.bundle import ModelBundle
from pm_monitor.core.models.rul import ExponentialRulEstimator, RulResult
from pm_monitor.core.models.thermal_resnet import normalise_thermal_frame
from pm_monitor.core.models.threshold import DynamicThreshold
from pm_monitor.core.sync.window import AnalysisWindow
from pm_monitor.core.types import ACCEL, MIC, NS_PER_S, THERMAL, HealthState

MODEL_MODALITIES: tuple[str, ...] = (ACCEL, MIC, THERMAL)


@dataclass(frozen=True)
class CascadeConfig:
    """stage2_on_anomaly: also open the gate when only the anomaly score fires (Stage 1 normal).
    region_fraction: the Grad-CAM region is the blob above this fraction of the heatmap max.
    ig_steps: integration steps of integrated gradients in explain()."""

    stage2_on_anomaly: bool = True
    region_fraction: float = 0.5
    ig_steps: int = 32
    seed: int = 0


@dataclass(frozen=True)
class Localization:
    modality: str
    frame_id: str
    heatmap: np.ndarray  # (H, W) float32 in [0, 1], the frame's size
    hotspot_xy: tuple[int, int]
    region: tuple[int, int, int, int]  # x, y, w, h
    location: str  # one of the bundle's location_names
    confidence: float


@dataclass(frozen=True)
class CascadeResult:
    t_end_ns: int
    state: HealthState
    state_probabilities: np.ndarray  # (4,)
    confidence: float
    anomaly_score: float
    anomaly_threshold: float
    anomalous: bool
    fault_type: str  # "none" whenever state is NORMAL
    fault_type_probabilities: dict[str, float]
    stage2_ran: bool
    localization: Localization | None
    rul: RulResult | None
    modalities_used: tuple[str, ...]
    modalities_missing: tuple[str, ...]
    timings_ms: dict[str, float]
    summary: str
    temporal_attention: np.ndarray  # (T,) Stage 1 attention, sums to 1
    stage1_input: np.ndarray  # (T, D) standardised sequence; what explain() attributes
    # Optional, for cascades with more Stage 2 models (pm_monitor/core/realdata): more maps
    # (e.g. camera), scores beside the maps (e.g. the microphone's anomaly score and its
    # threshold), why an input was not used, and commissioning progress (done, needed) while
    # the cascade learns its baseline and makes no decision yet.
    extra_localizations: tuple[Localization, ...] = ()
    stage2_scores: dict[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    commissioning: tuple[int, int] | None = None


@dataclass(frozen=True)
class ExplanationResult:
    t_end_ns: int
    explained_state: HealthState
    sensor_importance: dict[str, float]  # accel_x ... thermal; shares of |IG|, sum 1
    modality_weights: dict[str, float]  # accel / mic / thermal; shares of |IG|, sum 1
    feature_importance: dict[str, float]  # every feature's share of |IG|
    temporal_attention: np.ndarray  # (T,) Stage 1 attention weights
    temporal_importance: np.ndarray  # (T,) share of |IG| per time step
    hotspot_xy: tuple[int, int] | None
    region: tuple[int, int, int, int] | None
    methods: tuple[str, ...]
    ig_completeness_error: float
    computation_ms: float


class SequenceHistory:
    """The last `length` feature vectors of Stage 1's input, oldest first. Until `length`
    windows exist it is left-padded with the first vector (no made-up "healthy" past), as
    training's sequence_indices pads a record's start."""

    def __init__(self, length: int) -> None:
        self._rows: deque[np.ndarray] = deque(maxlen=length)

    def push(self, row: np.ndarray) -> np.ndarray:
        """Append and return the (length, D) float32 sequence."""
        if not self._rows:
            self._rows.extend([row] * self._rows.maxlen)
        else:
            self._rows.append(row)
        return np.stack(self._rows).astype(np.float32)

    def clear(self) -> None:
        self._rows.clear()


class Cascade:
    """One asset's cascade; holds its feature history, threshold state and RUL state."""

    def __init__(
        self,
        bundle: ModelBundle,
        config: CascadeConfig | None = None,
        inference: InferenceConfig | CascadeModels | None = None,
    ) -> None:
        """inference: how to run the models (default: torch); building non-torch backends
        exports / compiles and warms up here, so construct the cascade before going live."""
        self.bundle = bundle.eval()
        self.config = config or CascadeConfig()
        if isinstance(inference, CascadeModels):
            inference.check_fits(bundle)
            self.models = inference
        else:
            self.models = CascadeModels.create(bundle, inference)
        self.extractor = FeatureExtractor(bundle.feature_config)
        self._history = SequenceHistory(bundle.sequence_length)
        self.threshold = DynamicThreshold(bundle.threshold)
        self.rul_estimator = ExponentialRulEstimator(bundle.rul, seed=self.config.seed)

    def reset(self) -> None:
        self._history.clear()
        self.threshold.reset()
        self.rul_estimator.reset()

    def process(self, window: AnalysisWindow) -> CascadeResult:
        timings = dict.fromkeys(("features", "stage1", "anomaly", "stage2", "rul", "total"), 0.0)
        start = tick = time.perf_counter()
        values, present = self.extractor.extract(window)
        standardised = self.bundle.scaler.standardise(values, present)
        tick = _lap(timings, "features", tick)

        sequence = self._history.push(standardised)
        stage1 = self.models.run("stage1", {"sequence": sequence[None]})
        state_p = stage1["state_probabilities"][0]
        fault_p = stage1["fault_probabilities"][0]
        state = HealthState(int(np.argmax(state_p)))
        fault_type = "none" if state == HealthState.NORMAL else self._top_fault(fault_p)
        tick = _lap(timings, "stage1", tick)

        anomaly = self.models.run(
            "anomaly",
            {"features": standardised[None], "present": present[None].astype(np.float32)},
        )
        score = float(anomaly["anomaly_score"][0])
        anomalous, threshold = self.threshold.update(score)
        tick = _lap(timings, "anomaly", tick)

        gate_open = state != HealthState.NORMAL or (anomalous and self.config.stage2_on_anomaly)
        localization = None
        if gate_open and THERMAL in window.frames:
            localization = self._localize(window)
            tick = _lap(timings, "stage2", tick)

        t_s = window.t_end_ns / NS_PER_S
        self.rul_estimator.update(t_s, self.bundle.health_indicator(standardised))
        rul = self.rul_estimator.estimate() if gate_open else None
        _lap(timings, "rul", tick)
        timings["total"] = (time.perf_counter() - start) * 1e3

        used, missing = self._modalities(window, present, localization is not None)
        result = CascadeResult(
            t_end_ns=window.t_end_ns,
            state=state,
            state_probabilities=state_p,
            confidence=float(state_p[state]),
            anomaly_score=score,
            anomaly_threshold=threshold,
            anomalous=anomalous,
            fault_type=fault_type,
            fault_type_probabilities={
                name: float(p) for name, p in zip(self.bundle.fault_types, fault_p, strict=True)
            },
            stage2_ran=localization is not None,
            localization=localization,
            rul=rul,
            modalities_used=used,
            modalities_missing=missing,
            timings_ms=timings,
            summary="",
            temporal_attention=stage1["attention"][0],
            stage1_input=sequence,
        )
        return _with_summary(result)

    def explain(self, result: CascadeResult) -> ExplanationResult:
        """Integrated gradients on Stage 1 for result.state, aggregated per sensor / modality,
        plus the temporal attention and the Grad-CAM region already in `result`."""
        start = time.perf_counter()
        attributions, delta = stage1_integrated_gradients(
            self.bundle.stage1, result.stage1_input, int(result.state), self.config.ig_steps
        )
        magnitude = np.abs(attributions)
        per_feature = magnitude.sum(axis=0)
        names = self.extractor.feature_names
        feature_importance = shares(dict(zip(names, per_feature.tolist(), strict=True)))
        sensors = {
            sensor: float(per_feature[self.extractor.sensor_slice(sensor)].sum())
            for sensor in self.extractor.sensor_groups
        }
        modalities: dict[str, float] = {}
        for sensor, value in sensors.items():
            modality = self.extractor.modality_of_sensor(sensor)
            modalities[modality] = modalities.get(modality, 0.0) + value
        per_step = magnitude.sum(axis=1)
        temporal = per_step / per_step.sum() if per_step.sum() > 0 else per_step
        methods = ["integrated_gradients(captum)", "temporal_attention"]
        loc = result.localization
        if loc is not None:
            methods.append("grad_cam")
        return ExplanationResult(
            t_end_ns=result.t_end_ns,
            explained_state=result.state,
            sensor_importance=shares(sensors),
            modality_weights=shares(modalities),
            feature_importance=feature_importance,
            temporal_attention=result.temporal_attention,
            temporal_importance=temporal.astype(np.float32),
            hotspot_xy=loc.hotspot_xy if loc else None,
            region=loc.region if loc else None,
            methods=tuple(methods),
            ig_completeness_error=delta,
            computation_ms=(time.perf_counter() - start) * 1e3,
        )

    def _top_fault(self, fault_p: np.ndarray) -> str:
        """Most likely fault type other than "none" (the state head already said "faulty")."""
        names = self.bundle.fault_types
        candidates = [i for i, name in enumerate(names) if name != "none"]
        return names[max(candidates, key=lambda i: fault_p[i])]

    def _localize(self, window: AnalysisWindow) -> Localization:
        frame = window.frames[THERMAL]
        image = normalise_thermal_frame(frame.image, self.bundle.thermal_scale_k)
        names = self.bundle.location_names
        # The heatmap always shows the most likely bearing, also when the frame looks healthy
        # (an early fault is often not hot yet): "where would it be" is still useful.
        bearings = [i for i, name in enumerate(names) if name != "healthy"]
        if self.models.backend_of("thermal") == "torch":
            cam = grad_cam(
                self.bundle.thermal,
                self.bundle.thermal.gradcam_layer,
                torch.from_numpy(image)[None, None],
                region_fraction=self.config.region_fraction,
                candidates=bearings,
            )
            probabilities, heatmap = cam.probabilities, cam.heatmap
            hotspot_xy, region = cam.hotspot_xy, cam.region
        else:
            # The graph returns every location's CAM: take the most likely bearing's, as
            # grad_cam does with `candidates` (softmax keeps the logits' order).
            out = self.models.run("thermal", {"image": image[None, None]})
            probabilities = out["location_probabilities"][0]
            target = max(bearings, key=lambda i: float(probabilities[i]))
            heatmap = out["cam"][0, target]
            hotspot_xy, region = hotspot_and_region(heatmap, self.config.region_fraction)
        predicted = int(np.argmax(probabilities))
        return Localization(
            modality=THERMAL,
            frame_id=frame.frame_id,
            heatmap=heatmap,
            hotspot_xy=hotspot_xy,
            region=region,
            location=names[predicted],
            confidence=float(probabilities[predicted]),
        )

    def _modalities(
        self, window: AnalysisWindow, present: np.ndarray, stage2_used_thermal: bool
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        contributed = {
            self.extractor.modality_of_sensor(sensor)
            for sensor in self.extractor.sensor_groups
            if present[self.extractor.sensor_slice(sensor)].any()
        }
        if stage2_used_thermal:
            contributed.add(THERMAL)
        used = tuple(m for m in MODEL_MODALITIES if m in contributed)
        missing = set(window.missing) | {m for m in MODEL_MODALITIES if m not in contributed}
        return used, tuple(sorted(missing))


def _lap(timings: dict[str, float], name: str, tick: float) -> float:
    now = time.perf_counter()
    timings[name] = (now - tick) * 1e3
    return now


def _with_summary(result: CascadeResult) -> CascadeResult:
    """One human line, e.g. 'warning (87 %): inner_race fault; anomaly 3.1 > 1.2; hot spot at
    de_bearing (92 %); RUL 410 s [300, 560]; missing mic'."""
    if result.commissioning is not None:
        done, needed = result.commissioning
        parts = [f"commissioning baseline {done}/{needed}"]
        parts += list(result.notes)
        if result.modalities_missing:
            parts.append("missing " + ", ".join(result.modalities_missing))
        return replace(result, summary="; ".join(parts))
    parts = [f"{result.state.label} ({result.confidence:.0%})"]
    if result.fault_type != "none":
        parts[0] += f": {result.fault_type} fault"
    relation = ">" if result.anomalous else "<="
    parts.append(f"anomaly {result.anomaly_score:.2f} {relation} {result.anomaly_threshold:.2f}")
    if result.localization is not None:
        loc = result.localization
        what = "hot spot" if loc.modality == THERMAL else loc.modality
        parts.append(f"{what} {loc.location} ({loc.confidence:.0%}) at {loc.hotspot_xy}")
    for loc in result.extra_localizations:
        parts.append(f"{loc.modality} {loc.location} ({loc.confidence:.0%}) at {loc.hotspot_xy}")
    for name, value in result.stage2_scores.items():
        parts.append(f"{name} {value:.3g}")
    if result.rul is not None:
        rul = result.rul
        parts.append(f"RUL {rul.rul_s:.0f} s [{rul.lower_s:.0f}, {rul.upper_s:.0f}]")
    parts += list(result.notes)
    if result.modalities_missing:
        parts.append("missing " + ", ".join(result.modalities_missing))
    return replace(result, summary="; ".join(parts))
