"""RealDataCascade end to end on windows: the gate, Stage 2 on every modality a window has,
missing and refused inputs, commissioning, the explainer with camera Grad-CAM."""
from __future__ import annotations

from inspect import signature
from pathlib import Path

import numpy as np
import pytest
from realdata_windows import START_NS, accel_window, mic_window, need_data, profile, window

from pm_monitor.core.cascade import Cascade
from pm_monitor.core.explain.feature_units import to_physical, to_relative
from pm_monitor.core.realdata.cascade import RealDataCascade
from pm_monitor.core.realdata.explain import build_real_explainer, femto_layout
from pm_monitor.core.realdata.factory import build_real_cascade
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


def failing_cascade() -> RealDataCascade:
    cascade = RealDataCascade(profile())
    cascade.stage1.set_baseline(STORED["baseline"])
    return cascade


def test_open_gate_runs_stage2_on_every_modality_the_window_has() -> None:
    cascade = failing_cascade()
    noise = np.random.default_rng(0).normal(0.0, 0.05, 1600 * 22).astype(np.float32)
    frames = {THERMAL: thermal_frame(), CAMERA: camera_frame()}
    for k in range(22):  # 2.2 s of microphone: one whole patch for the fan model
        mic = mic_window(noise[k * 1600:(k + 1) * 1600], START_NS + k * 100_000_000)
        result = cascade.process(window(k, accel_window(FAILING[k % 10], k), mic, frames))
    assert result.state != HealthState.NORMAL and result.stage2_ran
    loc = result.localization
    assert loc.modality == THERMAL and loc.heatmap.shape == (240, 320)
    assert loc.location in cascade.profile.thermal.class_names
    (camera,) = result.extra_localizations
    assert camera.modality == CAMERA and camera.heatmap.shape == (200, 200)
    assert camera.location in cascade.profile.camera.class_names
    assert camera.heatmap.min() >= 0.0 and camera.heatmap.max() == pytest.approx(1.0)
    assert result.stage2_scores["mic_anomaly_score"] > 0.0
    assert cascade.status() == {"commissioning": "done", "mic_buffer_s": 2.11,
                                "mic_buffer_restarts": 0}
    assert result.modalities_used == (ACCEL, MIC, THERMAL, CAMERA)
    assert result.modalities_missing == ()
    assert "camera" in result.summary and "mic_anomaly_score" in result.summary
    assert result.rul is None and result.fault_type == "bearing_degradation"
    assert result.timings_ms.keys() == {"features", "stage1", "anomaly", "stage2", "rul",
                                        "total"}
    # the interface the pipeline uses from Cascade
    assert signature(RealDataCascade.process).parameters.keys() == signature(
        Cascade.process).parameters.keys()


def test_missing_modalities_are_named_and_the_cascade_keeps_deciding() -> None:
    cascade = failing_cascade()
    only_accel = cascade.process(window(0, accel_window(FAILING[0], 0),
                                        missing=(CAMERA, MIC, THERMAL)))
    assert only_accel.state != HealthState.NORMAL and only_accel.localization is None
    assert only_accel.modalities_used == (ACCEL,)
    assert only_accel.modalities_missing == (CAMERA, MIC, THERMAL)
    # no accelerometer: Stage 1 holds its last decision, Stage 2 still runs on the frame
    no_accel = cascade.process(window(1, frames={CAMERA: camera_frame()},
                                      missing=(ACCEL, MIC, THERMAL)))
    assert no_accel.state == only_accel.state and not no_accel.anomalous
    assert no_accel.localization is not None and no_accel.localization.modality == CAMERA
    assert ACCEL in no_accel.modalities_missing
    assert "Stage 1 holds its last decision" in no_accel.summary


def test_refused_inputs_are_named_and_do_not_stop_the_decision() -> None:
    cascade = failing_cascade()
    small = FrameSample(START_NS, np.full((100, 101), 30.0, np.float32), "thermal_optical")
    loud = mic_window(np.zeros(4410), START_NS, rate=44100.0)
    result = cascade.process(window(0, accel_window(FAILING[0], 0), loud, {THERMAL: small}))
    assert result.state != HealthState.NORMAL
    assert {MIC, THERMAL} <= set(result.modalities_missing)
    assert any("thermal refused" in note for note in result.notes)
    assert any("mic refused: mic sample rate 44100 Hz" in note for note in result.notes)
    wrong_axes = accel_window(FAILING[1], 1, channels=("x", "y"))
    held = cascade.process(window(1, wrong_axes))
    assert "accel refused: accel channels ('x', 'y')" in held.summary


def test_commissioning_then_reset_starts_over() -> None:
    cascade = RealDataCascade(profile())
    first = cascade.process(window(0, accel_window(FAILING[0], 0),
                                   frames={THERMAL: thermal_frame()}))
    assert first.commissioning == (1, 30) and cascade.commissioning == (1, 30)
    assert cascade.status()["commissioning"] == "1/30"
    assert first.summary.startswith("commissioning baseline 1/30")
    assert not first.stage2_ran and first.state == HealthState.NORMAL and not first.anomalous
    cascade.reset()
    assert cascade.commissioning == (0, 30)


def test_healthy_early_life_keeps_the_gate_closed() -> None:
    need_data()
    acc = femto.load_bearing("Bearing1_3").acc_g
    cascade = RealDataCascade(profile())
    frames = {THERMAL: thermal_frame(), CAMERA: camera_frame()}
    results = [cascade.process(window(k, accel_window(acc[k], k), frames=frames))
               for k in range(36)]
    decided = results[30:]
    assert all(r.state == HealthState.NORMAL and not r.stage2_ran for r in decided)
    assert all(r.localization is None and r.timings_ms["stage2"] == 0.0 for r in decided)


def test_explainer_attributes_per_axis_and_carries_camera_grad_cam() -> None:
    cascade, explainer = build_real_cascade(profile(), inference_threads=1)
    cascade.stage1.set_baseline(STORED["baseline"])
    frames = {THERMAL: thermal_frame(), CAMERA: camera_frame()}
    result = cascade.process(window(0, accel_window(FAILING[0], 0), frames=frames))
    explanation = explainer.explain(result, frames)
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
    with pytest.raises(ValueError, match="inference_threads"):
        build_real_cascade(profile(), inference_threads=0)
    assert build_real_explainer(profile()).layout.sensors == ("horizontal", "vertical")
