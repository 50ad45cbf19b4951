"""The real-data model set end to end on windows: the gate, Stage 2 on every modality a window
has, missing and refused inputs (no decision without the accelerometer), commissioning, the
explainer with camera Grad-CAM."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from realdata_windows import (
    REAL_DATA_SET,
    START_NS,
    accel_window,
    cascade,
    mic_window,
    need_data,
    profile,
    window,
)

from pm_monitor.core.cascade import Cascade
from pm_monitor.core.explain.feature_units import to_physical, to_relative
from pm_monitor.core.model_set import load_model_set
from pm_monitor.core.realdata.explain import build_real_explainer, femto_layout
from pm_monitor.core.sync.window import FrameSample
from pm_monitor.core.types import ACCEL, CAMERA, MIC, THERMAL, HealthState
from pm_monitor.datasets import femto

REPO = Path(__file__).resolve().parents[3]
STORED = np.load(REPO / "test/fixtures/femto_shipped_snapshots.npz")
FAILING = STORED["snapshots_mg"].astype(np.float64) / 1000.0  # end of Bearing1_3's life


def thermal_frame() -> FrameSample:
    """A warm block on a 240x320 frame in the replay's assumed 20..80 deg C."""
    celsius = np.full((240, 320), 30.0, np.float32)
    celsius[100:160, 120:220] = 65.0
    return FrameSample(START_NS, celsius, "thermal_optical")


def camera_frame() -> FrameSample:
    rng = np.random.default_rng(1)
    grey = rng.integers(90, 110, (200, 200)).astype(np.uint8)
    grey[40:60, :] = 200  # a bright scratch-like band
    return FrameSample(START_NS, np.repeat(grey[:, :, None], 3, axis=2), "camera_optical")


def failing_cascade() -> Cascade:
    live = cascade()
    live.stage1.set_baseline(STORED["baseline"])
    return live


def test_open_gate_runs_stage2_on_every_modality_the_window_has() -> None:
    live = failing_cascade()
    noise = np.random.default_rng(0).normal(0.0, 0.05, 1600 * 22).astype(np.float32)
    frames = {THERMAL: thermal_frame(), CAMERA: camera_frame()}
    for k in range(22):  # 2.2 s of microphone: one whole patch for the fan model
        mic = mic_window(noise[k * 1600:(k + 1) * 1600], START_NS + k * 100_000_000)
        result = live.process(window(k, accel_window(FAILING[k % 10], k), mic, frames))
    assert result.state != HealthState.NORMAL and result.stage2_ran
    loc = result.localization
    assert loc.modality == THERMAL and loc.heatmap.shape == (240, 320)
    assert loc.location in profile().thermal.class_names
    thermal, camera = result.localizations
    assert camera.modality == CAMERA and camera.heatmap.shape == (200, 200)
    assert thermal is loc and camera.location in profile().camera.class_names
    assert camera.heatmap.min() >= 0.0 and camera.heatmap.max() == pytest.approx(1.0)
    assert result.scores["mic_anomaly_score"] > 0.0
    assert result.decision_basis == ("femto_stage1", "thermal_classifier", "camera_defect",
                                     "mic_anomaly")
    assert live.status() == {"commissioning": "done", "mic_buffer_s": 2.11,
                                "mic_buffer_restarts": 0}
    assert result.modalities_used == (ACCEL, MIC, THERMAL, CAMERA)
    assert result.modalities_missing == ()
    assert "camera" in result.summary and "mic_anomaly_score" in result.summary
    assert result.rul is None and result.fault_type == "bearing_degradation"
    assert result.timings_ms.keys() == {"features", "stage1", "anomaly", "stage2", "total"}


def test_missing_modalities_are_named_and_only_stage1_inputs_decide() -> None:
    live = failing_cascade()
    only_accel = live.process(window(0, accel_window(FAILING[0], 0),
                                        missing=(CAMERA, MIC, THERMAL)))
    assert only_accel.state != HealthState.NORMAL and only_accel.localization is None
    assert only_accel.modalities_used == (ACCEL,)
    assert only_accel.modalities_missing == (CAMERA, MIC, THERMAL)
    # no accelerometer: no decision (no stale Stage 1 vote), so no gate and no Stage 2
    no_accel = live.process(window(1, frames={CAMERA: camera_frame()},
                                   missing=(ACCEL, MIC, THERMAL)))
    assert not no_accel.decided and no_accel.decision_basis == ()
    assert no_accel.state == HealthState.NORMAL and not no_accel.anomalous
    assert no_accel.confidence == 0.0 and no_accel.localization is None
    assert ACCEL in no_accel.modalities_missing
    assert "no decision: Stage 1 needs accel" in no_accel.summary


def test_refused_inputs_are_named_and_do_not_stop_the_decision() -> None:
    live = failing_cascade()
    small = FrameSample(START_NS, np.full((100, 101), 30.0, np.float32), "thermal_optical")
    loud = mic_window(np.zeros(4410), START_NS, rate=44100.0)
    result = live.process(window(0, accel_window(FAILING[0], 0), loud, {THERMAL: small}))
    assert result.state != HealthState.NORMAL
    assert {MIC, THERMAL} <= set(result.modalities_missing)
    assert any("thermal refused" in note for note in result.notes)
    assert any("mic refused: mic sample rate 44100 Hz" in note for note in result.notes)
    wrong_axes = accel_window(FAILING[1], 1, channels=("x", "y"))
    refused = live.process(window(1, wrong_axes))
    assert "accel refused: accel channels ('x', 'y')" in refused.summary
    assert not refused.decided and ACCEL in refused.modalities_missing


def test_commissioning_then_reset_starts_over() -> None:
    live = cascade()
    first = live.process(window(0, accel_window(FAILING[0], 0),
                                frames={THERMAL: thermal_frame()}))
    assert first.commissioning == (1, 30) and live.stage1.progress == (1, 30)
    assert live.status()["commissioning"] == "1/30" and not first.decided
    assert first.summary.startswith("commissioning baseline 1/30")
    assert not first.stage2_ran and first.state == HealthState.NORMAL and not first.anomalous
    live.reset()
    assert live.stage1.progress == (0, 30)


def test_healthy_early_life_keeps_the_gate_closed() -> None:
    need_data()
    acc = femto.load_bearing("Bearing1_3").acc_g
    live = cascade()
    frames = {THERMAL: thermal_frame(), CAMERA: camera_frame()}
    results = [live.process(window(k, accel_window(acc[k], k), frames=frames))
               for k in range(36)]
    decided = results[30:]
    assert all(r.state == HealthState.NORMAL and not r.stage2_ran for r in decided)
    assert all(r.localization is None and r.timings_ms["stage2"] == 0.0 for r in decided)


def test_explainer_attributes_per_axis_and_carries_camera_grad_cam() -> None:
    models = load_model_set(REAL_DATA_SET)
    models.cascade.stage1.set_baseline(STORED["baseline"])
    frames = {THERMAL: thermal_frame(), CAMERA: camera_frame()}
    result = models.process(window(0, accel_window(FAILING[0], 0), frames=frames))
    explanation = models.explain(result, frames)
    assert set(explanation.sensor_importance) == {"horizontal", "vertical"}
    assert explanation.modality_weights == pytest.approx({ACCEL: 1.0})
    assert explanation.heatmaps[CAMERA].heatmap.shape == (200, 200)
    assert explanation.heatmaps[THERMAL].heatmap.shape == (240, 320)
    # the explainer's Grad-CAM on its own copy equals the cascade's Stage 2 map
    np.testing.assert_allclose(explanation.heatmaps[THERMAL].heatmap,
                               result.localization.heatmap, atol=1e-5)
    assert explanation.counterfactual is not None  # FEMTO feature names do not break units
    # baseline-relative features read as factors of the commissioning baseline
    assert all(c.current.unit == "x baseline" for c in explanation.counterfactual.changes)
    assert isinstance(explanation.summary, str) and "horizontal" in explanation.summary


def test_layout_and_units_of_the_femto_features() -> None:
    layout = femto_layout(profile())
    assert layout.sensor_slices == {"horizontal": slice(0, 30), "vertical": slice(30, 60)}
    for name in profile().feature_names:  # every FEMTO feature name converts without error
        assert np.isfinite(to_physical(name, 0.1).value)
        assert to_relative(name, 0.1).unit == "x baseline"
    assert build_real_explainer(profile()).layout.sensors == ("horizontal", "vertical")
