from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
from rclpy.serialization import deserialize_message, serialize_message
from rul_fakes import small_prognosis

from pm_monitor.core.alarms import AlarmEvent, AlarmState, AlarmUpdate
from pm_monitor.core.explain.explainer import AlertExplanation
from pm_monitor.core.explain.shapley import ShapleyAttribution
from pm_monitor.core.imaging.codec import decode
from pm_monitor.core.rul.live import LiveEstimate
from pm_monitor.core.rul.prior import OperatingCondition
from pm_monitor.core.rul.prognosis import PrognosisTracker
from pm_monitor.core.types import HealthState
from pm_monitor.msg import Alert, Explanation, SensorChunk
from pm_monitor.nodes import conversions as conv


def _result(rul=None, location="de_bearing"):
    loc = SimpleNamespace(modality="thermal", frame_id="thermal_optical", location=location,
                          hotspot_xy=(81, 64), region=(70, 50, 20, 30), confidence=0.9,
                          heatmap=np.zeros((120, 160), np.float32))
    return SimpleNamespace(
        t_end_ns=1_700_000_000_500_000_000, state=HealthState.WARNING,
        state_probabilities=np.array([0.05, 0.15, 0.7, 0.1]), confidence=0.7,
        anomaly_score=3.2, anomaly_threshold=0.1, anomalous=True, fault_type="outer_race",
        fault_type_probabilities={"outer_race": 0.9}, localization=loc, rul=rul,
        modalities_used=("accel", "mic", "thermal"), modalities_missing=("camera",),
        timings_ms={"total": 9.0}, summary="warning", stage2_ran=True, localizations=(loc,),
        scores={}, notes=(), commissioning=None, decision_basis=("rig_stage1", "thermal"),
        decided=True)


def test_chunk_survives_serialisation_frame_major():
    frames = np.arange(30, dtype=np.float32).reshape(10, 3)
    msg = conv.numpy_to_chunk(frames, 123, "imu", 25600.0, ["x", "y", "z"], "m/s^2", 42)
    back = deserialize_message(serialize_message(msg), SensorChunk)
    np.testing.assert_array_equal(conv.chunk_to_numpy(back), frames)
    assert back.first_sample_index == 42 and conv.stamp_to_ns(back.header.stamp) == 123


def test_image_round_trip_through_the_wire_format():
    pixels = (np.arange(240 * 320 * 3) % 251).astype(np.uint8).reshape(240, 320, 3)
    msg = conv.numpy_to_image(pixels, "rgb8", 5, "cam")
    np.testing.assert_array_equal(decode(conv.image_to_raw(msg)), pixels)


def test_alert_carries_state_localisation_rul_and_modalities():
    rul = SimpleNamespace(rul_s=90.0, lower_s=60.0, upper_s=130.0, health_index=0.4,
                          coverage=0.8, model_name="exp", valid=True)
    update = AlarmUpdate("rig_1-abc", "rig_1", "outer_race", AlarmEvent.ESCALATED,
                         AlarmState.ACTIVE_UNACKED, HealthState.WARNING, 3, 0)
    msg = conv.alert_msg(_result(rul), update, "rig_1", "asset", "v1")
    assert (msg.state, msg.event, msg.sequence) == (Alert.WARNING, Alert.EVENT_ESCALATED, 3)
    assert msg.localized and (msg.hotspot_x, msg.hotspot_y) == (81, 64)
    assert msg.hotspot_region.width == 20 and msg.location == "de_bearing"
    assert msg.rul_known and msg.rul_lower_s == 60.0 and msg.health_index == np.float32(0.4)
    assert list(msg.modalities_missing) == ["camera"]
    as_dict = conv.message_to_dict(msg)
    assert as_dict["hotspot_region"]["x_offset"] == 70 and as_dict["alert_id"] == "rig_1-abc"


def test_healthy_stage2_class_is_not_a_localisation():
    update = AlarmUpdate("a", "rig_1", "outer_race", AlarmEvent.RAISED,
                         AlarmState.ACTIVE_UNACKED, HealthState.PRE_WARNING, 1, 0)
    msg = conv.alert_msg(_result(location="healthy"), update, "rig_1", "asset", "v1")
    assert not msg.localized and not msg.rul_known and msg.health_index == 1.0


def _live_estimate(calibrated: bool) -> LiveEstimate:
    tracker = PrognosisTracker(small_prognosis(calibrated), OperatingCondition())
    tracker.update(100.0, np.array([1.0, 1.0]), None)
    return LiveEstimate(10**18, tracker.estimate(), "rul_test")


def test_rul_msg_is_valid_only_for_a_calibrated_estimate():
    for calibrated in (False, True):
        estimate = _live_estimate(calibrated)
        msg = conv.rul_msg(estimate, "rig_1", "asset")
        assert msg.valid == calibrated and msg.rul_s == pytest.approx(estimate.rul_s)
        assert msg.evidence_kind == ("population_prior" if calibrated else "not_calibrated")
        assert msg.elapsed_s == 100.0 and not msg.onset_detected and msg.onset_elapsed_s == -1.0
        assert msg.point_kind == "median" and msg.rul_median_s == pytest.approx(estimate.median_s)
        assert conv.stamp_to_ns(msg.header.stamp) == 10**18 and msg.model_name == "rul_test"


def test_an_alert_carries_only_a_valid_rul():
    update = AlarmUpdate("a", "rig_1", "outer_race", AlarmEvent.RAISED,
                         AlarmState.ACTIVE_UNACKED, HealthState.PRE_WARNING, 1, 0)
    plain = conv.alert_msg(_result(_live_estimate(False)), update, "rig_1", "asset", "v1")
    assert not plain.rul_known and plain.rul_s == 0.0
    valid = _live_estimate(True)
    msg = conv.alert_msg(_result(valid), update, "rig_1", "asset", "v1")
    assert msg.rul_known and msg.rul_s == pytest.approx(valid.rul_s)


def _gated_explanation() -> AlertExplanation:
    return AlertExplanation(
        t_end_ns=1_700_000_000_500_000_000, explained_state=HealthState.WARNING,
        sensor_importance={"accel_x": 0.6, "thermal": 0.4},
        modality_weights={"thermal": 0.1, "sensors": 0.9}, modality_weights_method="fusion_gate",
        feature_importance={"accel_x.rms": 1.0}, temporal_attention=np.full(4, 0.25, np.float32),
        temporal_importance=np.full(4, 0.25, np.float32), heatmaps={}, counterfactual=None,
        methods=("integrated_gradients(captum)", "gate_weights"), ig_baseline="training mean",
        ig_completeness_error=0.0, ig_relative_completeness_error=0.0, computation_ms=12.0,
        # another key order than modality_weights: the message follows modality_names
        modality_ideal_weights={"sensors": 0.49, "thermal": 0.51},
        modality_bias={"sensors": 0.41, "thermal": -0.41}, modality_bias_decisions=7)


def test_explanation_carries_the_fusion_gate_and_modality_bias():
    msg = deserialize_message(serialize_message(conv.explanation_msg(
        _gated_explanation(), _result(), "rig_1-0002", "rig_1", "asset", 0.5)), Explanation)
    assert list(msg.modality_names) == ["thermal", "sensors"]
    assert msg.modality_weights_method == "fusion_gate"
    np.testing.assert_allclose(msg.modality_weights, [0.1, 0.9], rtol=1e-6)
    np.testing.assert_allclose(msg.modality_ideal_weights, [0.51, 0.49], rtol=1e-6)
    np.testing.assert_allclose(msg.modality_bias, [-0.41, 0.41], rtol=1e-6)
    assert msg.modality_bias_decisions == 7
    assert conv.message_to_dict(msg)["modality_bias_decisions"] == 7


def test_explanation_without_a_fusion_gate_leaves_the_bias_empty():
    plain = replace(_gated_explanation(), modality_weights_method="integrated_gradients_share",
                    modality_ideal_weights={}, modality_bias={}, modality_bias_decisions=0)
    msg = conv.explanation_msg(plain, _result(), "rig_1-0003", "rig_1", "asset", 0.5)
    assert len(msg.modality_ideal_weights) == 0 and len(msg.modality_bias) == 0
    assert msg.modality_bias_decisions == 0
    before_first = replace(_gated_explanation(), modality_bias={}, modality_bias_decisions=0)
    msg = conv.explanation_msg(before_first, _result(), "rig_1-0004", "rig_1", "asset", 0.5)
    np.testing.assert_allclose(msg.modality_ideal_weights, [0.51, 0.49], rtol=1e-6)
    assert len(msg.modality_bias) == 0 and msg.modality_bias_decisions == 0


def test_explanation_carries_shapley_values_or_leaves_them_empty():
    shapley = ShapleyAttribution({"accel_x": 0.9, "thermal": -0.2}, {"accel": 0.9, "thermal": -0.2},
                                 2, 1.5, 0.8, "shapley(sensors exact, modalities exact)", 6)
    msg = deserialize_message(serialize_message(conv.explanation_msg(
        replace(_gated_explanation(), shapley=shapley), _result(), "rig_1-0005", "rig_1",
        "asset", 0.5)), Explanation)
    assert list(msg.shapley_sensor_names) == ["accel_x", "thermal"]
    np.testing.assert_allclose(msg.shapley_sensor_values, [0.9, -0.2], rtol=1e-6)
    assert list(msg.shapley_modality_names) == ["accel", "thermal"]
    assert msg.shapley_output == np.float32(1.5) and msg.shapley_reference_output == np.float32(0.8)
    assert msg.shapley_method.startswith("shapley(")
    plain = conv.explanation_msg(_gated_explanation(), _result(), "rig_1-0006", "rig_1", "asset",
                                 0.5)
    assert len(plain.shapley_sensor_names) == 0 and plain.shapley_method == ""


def test_health_says_when_the_models_are_still_commissioning_and_carries_stage2_scores():
    plain = conv.health_msg(_result(), "rig_1", "asset", None)
    assert (plain.commissioning_done, plain.commissioning_needed) == (0, 0)
    assert list(plain.stage2_score_names) == [] and list(plain.notes) == []
    learning = SimpleNamespace(**{**vars(_result()), "commissioning": (12, 30),
                                  "scores": {"mic_anomaly_score": 1.5,
                                             "mic_anomaly_threshold": 1.2},
                                  "notes": ("mic: 8000 Hz, the model needs 16000 Hz",)})
    msg = deserialize_message(serialize_message(
        conv.health_msg(learning, "femto", "asset", None)), type(plain))
    assert (msg.commissioning_done, msg.commissioning_needed) == (12, 30)
    assert dict(zip(msg.stage2_score_names, msg.stage2_scores, strict=True)) == {
        "mic_anomaly_score": 1.5, "mic_anomaly_threshold": pytest.approx(1.2)}
    assert list(msg.notes) == ["mic: 8000 Hz, the model needs 16000 Hz"]


def test_alert_and_health_say_what_the_decision_rests_on():
    """A stage whose inputs are missing does not vote: the messages carry the stages the
    decision rests on (field added at the end of Alert and HealthStatus); empty = none."""
    from pm_monitor.msg import HealthStatus

    reduced = SimpleNamespace(**{**vars(_result()), "modalities_missing": ("mic",),
                                 "modalities_used": ("accel",),
                                 "decision_basis": ("stage1", "thermal_localizer")})
    update = AlarmUpdate("rig_1-0009", "rig_1", "outer_race", AlarmEvent.RAISED,
                         AlarmState.ACTIVE_UNACKED, HealthState.WARNING, 1, 5_000_000_000)
    alert = deserialize_message(serialize_message(
        conv.alert_msg(reduced, update, "rig_1", "asset", "v1")), Alert)
    health = deserialize_message(serialize_message(
        conv.health_msg(reduced, "rig_1", "asset", None)), HealthStatus)
    for msg in (alert, health):
        assert list(msg.decision_basis) == ["stage1", "thermal_localizer"]
        assert list(msg.modalities_missing) == ["mic"]
    undecided = conv.health_msg(SimpleNamespace(**{**vars(reduced), "decision_basis": ()}),
                                "rig_1", "asset", None)
    assert list(undecided.decision_basis) == []


def test_rul_explanation_message_round_trip():
    from pm_monitor.core.explain.rul_relevance import explain_history
    from pm_monitor.msg import RulExplanation

    history = np.ones((8, 2))
    history[6:, 0] = 2.0
    explanation = explain_history(lambda h: 100.0 - 10.0 * float(h[-2:, 0].sum() - 2.0),
                                  history, np.arange(8) * 10.0, ("rms_h", "kurtosis_h"),
                                  n_blocks=4, n_permutations=4)
    msg = deserialize_message(serialize_message(conv.rul_explanation_msg(
        explanation, 1_700_000_000_000_000_000, "rig_1", "asset", "rul_prognosis")),
        RulExplanation)
    assert list(msg.input_names) == ["rms_h", "kurtosis_h"]
    assert list(msg.block_start_s) == [0.0, 20.0, 40.0, 60.0]
    assert list(msg.block_end_s) == [10.0, 30.0, 50.0, 70.0]
    relevance = np.asarray(msg.relevance).reshape(2, 4)
    assert relevance[0, 3] == pytest.approx(-20.0) and msg.estimate == pytest.approx(80.0)
    assert msg.reference_estimate == pytest.approx(100.0)
    assert "rms_h at 60-70 s lowered it" in msg.summary
