"""RealDataCascade: the live monitor's cascade on the models trained on real public data.

Same interface as ``pm_monitor.core.cascade.Cascade`` (``process(window) -> CascadeResult``,
``reset()``), other models:

    accel (FEMTO, 2 axes, 25.6 kHz)  Stage 1: 4 health states + feature-autoencoder anomaly score
                                     (realdata/stage1.py), after a commissioning baseline
    gate: Stage 1 not Normal, or the anomaly score above its dynamic threshold
    thermal frame                    thermal_motor classifier (11 conditions) + Grad-CAM
    camera frame                     NEU surface-defect classifier (6 classes) + its CAM
    mic (16 kHz)                     MIMII fan autoencoder score on the last 2.1 s

FEMTO has no fault labels (the shipped Stage 1 has one unused fault output), so the fault type
is named honestly: ``profile.fault_type`` ("bearing_degradation") when the state is not
Normal. RUL is None here: on FEMTO it comes from rul_node (the monitor's rul_in input).
Torch only (the rig cascade keeps its ONNX Runtime / TensorRT backends).

An input the models cannot take (wrong channels or rate, incomplete accel window, thermal frame
of another size) is refused for that window, named in ``notes`` and counted as missing; the
cascade keeps deciding on the rest. Without an accelerometer window Stage 1 holds its last
decision (no new evidence: not anomalous) and says so.
"""
from __future__ import annotations

import time

import numpy as np
import torch

from pm_monitor.core.cascade import (
    CascadeConfig,
    CascadeResult,
    Localization,
    _lap,
    _with_summary,
)
from pm_monitor.core.explain.gradcam import grad_cam
from pm_monitor.core.realdata.images import (
    CameraInput,
    ThermalInput,
    grey_pixels,
    thermal_pixels,
)
from pm_monitor.core.realdata.profile import RealDataProfile
from pm_monitor.core.realdata.sound import AcousticScorer
from pm_monitor.core.realdata.stage1 import FemtoStage1, Stage1Decision
from pm_monitor.core.sync.window import AnalysisWindow, FrameSample
from pm_monitor.core.types import ACCEL, CAMERA, MIC, THERMAL, HealthState

REAL_MODALITIES: tuple[str, ...] = (ACCEL, MIC, THERMAL, CAMERA)
TIMING_KEYS = ("features", "stage1", "anomaly", "stage2", "rul", "total")


class RealDataCascade:
    def __init__(self, profile: RealDataProfile, config: CascadeConfig | None = None) -> None:
        self.profile = profile
        self.config = config or CascadeConfig()
        self.stage1 = FemtoStage1(profile)
        self.thermal = ThermalInput(profile.thermal.model, profile.thermal.assumed_span_c,
                                    profile.thermal.downscale).eval()
        self.camera = CameraInput(profile.camera.model, profile.camera.image_size).eval()
        self.acoustic = AcousticScorer(profile.acoustic)
        self._last: Stage1Decision | None = None

    @property
    def commissioning(self) -> tuple[int, int] | None:
        """(windows seen, windows needed) while the baseline is learned, else None."""
        return self.stage1.progress

    def status(self) -> dict[str, object]:
        """Extra /diagnostics values: commissioning progress and the microphone buffer."""
        progress = self.commissioning
        ring = self.acoustic.ring
        return {"commissioning": f"{progress[0]}/{progress[1]}" if progress else "done",
                "mic_buffer_s": round(ring.count / ring.sample_rate_hz, 2),
                "mic_buffer_restarts": ring.restarts}

    def reset(self) -> None:
        self.stage1.reset()
        self.acoustic.reset()
        self._last = None

    def process(self, window: AnalysisWindow) -> CascadeResult:
        timings = dict.fromkeys(TIMING_KEYS, 0.0)
        start = tick = time.perf_counter()
        notes: list[str] = []
        refused: set[str] = set()
        raw = self._accel_features(window, notes, refused)
        self._feed_mic(window, notes, refused)
        tick = _lap(timings, "features", tick)

        decision = self.stage1.update(raw) if raw is not None else None
        tick = _lap(timings, "stage1", tick)  # Stage 1 and the autoencoder run together
        if decision is not None:
            self._last = decision
        elif raw is not None or self._last is None:
            return self._commissioning_result(window, timings, start, notes, refused)
        else:
            notes.append("no accel window: Stage 1 holds its last decision")
            decision = Stage1Decision(self._last.state_probabilities, self._last.attention,
                                      self._last.sequence, self._last.anomaly_score,
                                      self._last.anomaly_threshold, anomalous=False)

        probabilities = decision.state_probabilities
        state = HealthState(int(np.argmax(probabilities)))
        gate_open = state != HealthState.NORMAL or (
            decision.anomalous and self.config.stage2_on_anomaly)
        localizations: list[Localization] = []
        scores: dict[str, float] = {}
        if gate_open:
            localizations = self._localize(window, notes, refused)
            scores = self._mic_scores(window, refused)
            tick = _lap(timings, "stage2", tick)
        timings["total"] = (time.perf_counter() - start) * 1e3

        p_not_normal = float(1.0 - probabilities[HealthState.NORMAL])
        used, missing = self._modalities(window, refused)
        result = CascadeResult(
            t_end_ns=window.t_end_ns,
            state=state,
            state_probabilities=probabilities,
            confidence=float(probabilities[state]),
            anomaly_score=decision.anomaly_score,
            anomaly_threshold=decision.anomaly_threshold,
            anomalous=decision.anomalous,
            fault_type="none" if state == HealthState.NORMAL else self.profile.fault_type,
            # no fault classes on FEMTO: P(degradation) = P(not Normal) from the state head
            fault_type_probabilities={"none": 1.0 - p_not_normal,
                                      self.profile.fault_type: p_not_normal},
            stage2_ran=bool(localizations or scores),
            localization=localizations[0] if localizations else None,
            rul=None,
            modalities_used=used,
            modalities_missing=missing,
            timings_ms=timings,
            summary="",
            temporal_attention=decision.attention,
            stage1_input=decision.sequence,
            extra_localizations=tuple(localizations[1:]),
            stage2_scores=scores,
            notes=tuple(notes),
        )
        return _with_summary(result)

    # ------------------------------------------------------------------ inputs
    def _accel_features(self, window: AnalysisWindow, notes: list[str],
                        refused: set[str]) -> np.ndarray | None:
        accel = window.streams.get(ACCEL)
        if accel is None:
            return None
        try:
            return self.stage1.raw_features(accel)
        except ValueError as err:
            notes.append(f"accel refused: {err}")
            refused.add(ACCEL)
            return None

    def _feed_mic(self, window: AnalysisWindow, notes: list[str], refused: set[str]) -> None:
        """Every window feeds the ring, so a full clip is ready when the gate opens."""
        mic = window.streams.get(MIC)
        if mic is None:
            return
        try:
            self.acoustic.add(mic)
        except ValueError as err:
            notes.append(f"mic refused: {err}")
            refused.add(MIC)

    # ------------------------------------------------------------------ Stage 2
    def _localize(self, window: AnalysisWindow, notes: list[str],
                  refused: set[str]) -> list[Localization]:
        """Thermal first (the main localisation), then camera."""
        out = []
        for modality, model, names, frame_of in (
                (THERMAL, self.thermal, self.profile.thermal.class_names, thermal_pixels),
                (CAMERA, self.camera, self.profile.camera.class_names, grey_pixels)):
            frame = window.frames.get(modality)
            if frame is None:
                continue
            try:
                out.append(self._grad_cam(modality, model, names, frame,
                                          frame_of(frame.image)))
            except ValueError as err:
                notes.append(f"{modality} refused: {err}")
                refused.add(modality)
        return out

    def _grad_cam(self, modality: str, model: torch.nn.Module, names: tuple[str, ...],
                  frame: FrameSample, pixels: np.ndarray) -> Localization:
        image = torch.from_numpy(pixels)[None, None]
        layer = model.net.gradcam_layer
        cam = grad_cam(model, layer, image, region_fraction=self.config.region_fraction)
        predicted = int(np.argmax(cam.probabilities))
        return Localization(modality=modality, frame_id=frame.frame_id, heatmap=cam.heatmap,
                            hotspot_xy=cam.hotspot_xy, region=cam.region,
                            location=names[predicted],
                            confidence=float(cam.probabilities[predicted]))

    def _mic_scores(self, window: AnalysisWindow, refused: set[str]) -> dict[str, float]:
        if MIC not in window.streams or MIC in refused:
            return {}
        score = self.acoustic.score()
        if score is None:
            return {}
        scores = {"mic_anomaly_score": score}
        if self.profile.acoustic.threshold is not None:
            scores["mic_anomaly_threshold"] = self.profile.acoustic.threshold
        return scores

    # ------------------------------------------------------------------ results
    def _modalities(self, window: AnalysisWindow, refused: set[str]
                    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        present = set(window.present) - refused
        used = tuple(m for m in REAL_MODALITIES if m in present)
        missing = set(window.missing) | refused | {m for m in REAL_MODALITIES
                                                   if m not in present}
        return used, tuple(sorted(missing))

    def _commissioning_result(self, window: AnalysisWindow, timings: dict[str, float],
                              start: float, notes: list[str], refused: set[str]
                              ) -> CascadeResult:
        """No decision while the baseline is learned: Normal, zero confidence, not anomalous."""
        p = self.profile
        timings["total"] = (time.perf_counter() - start) * 1e3
        used, missing = self._modalities(window, refused)
        progress = self.commissioning or (0, p.baseline_snapshots)
        t, d = p.sequence_length, len(p.feature_names)
        return _with_summary(CascadeResult(
            t_end_ns=window.t_end_ns, state=HealthState.NORMAL,
            state_probabilities=np.zeros(len(p.state_names), np.float32), confidence=0.0,
            anomaly_score=0.0, anomaly_threshold=float(p.threshold.floor), anomalous=False,
            fault_type="none", fault_type_probabilities={}, stage2_ran=False,
            localization=None, rul=None, modalities_used=used, modalities_missing=missing,
            timings_ms=timings, summary="",
            temporal_attention=np.full(t, 1.0 / t, np.float32),
            stage1_input=np.zeros((t, d), np.float32), notes=tuple(notes),
            commissioning=progress))

