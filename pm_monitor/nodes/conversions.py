"""Messages <-> numpy and core results. The only place that knows both worlds' field names."""
from __future__ import annotations

import math

import numpy as np
from builtin_interfaces.msg import Duration, Time
from sensor_msgs.msg import CompressedImage, Image, RegionOfInterest
from std_msgs.msg import Header

from pm_monitor.core.chunk_codec import decode_chunk, encode_chunk
from pm_monitor.core.imaging.codec import CompressedImageData, RawImage, encode
from pm_monitor.core.types import NS_PER_S, HealthState
from pm_monitor.msg import (
    AlarmInfo,
    Alert,
    Explanation,
    HealthStatus,
    RulEstimate,
    RulExplanation,
    SensorChunk,
)


def stamp_to_ns(stamp: Time) -> int:
    return int(stamp.sec) * NS_PER_S + int(stamp.nanosec)


def ns_to_stamp(t_ns: int) -> Time:
    sec, nanosec = divmod(int(t_ns), NS_PER_S)
    return Time(sec=sec, nanosec=nanosec)


def seconds_to_duration(seconds: float) -> Duration:
    sec, nanosec = divmod(round(seconds * NS_PER_S), NS_PER_S)
    return Duration(sec=sec, nanosec=nanosec)


def localized(result) -> bool:
    """Stage 2 ran *and* found a faulty component (its "healthy" class localises nothing)."""
    loc = result.localization
    return loc is not None and loc.location != "healthy"


def make_header(t_ns: int, frame_id: str) -> Header:
    return Header(stamp=ns_to_stamp(t_ns), frame_id=frame_id)


# --- SensorChunk -----------------------------------------------------------------------------

def chunk_to_numpy(msg: SensorChunk) -> np.ndarray:
    """(n_frames, n_channels) float32; raises ChunkDecodeError for inconsistent chunks."""
    return decode_chunk(np.asarray(msg.samples, dtype=np.float32), list(msg.channel_names),
                        float(msg.sample_rate))


def numpy_to_chunk(frames: np.ndarray, t_ns: int, frame_id: str, sample_rate: float,
                   channel_names: list[str], unit: str, first_sample_index: int) -> SensorChunk:
    msg = SensorChunk()
    msg.header = make_header(t_ns, frame_id)
    msg.sample_rate = float(sample_rate)
    msg.channel_names = list(channel_names)
    msg.unit = unit
    msg.first_sample_index = int(first_sample_index)
    # assigning a numpy float32 array is the fast path of the generated setter (no Python loop)
    msg.samples = encode_chunk(frames)
    return msg


# --- Image -----------------------------------------------------------------------------------

def image_to_raw(msg: Image) -> RawImage:
    return RawImage(msg.encoding, int(msg.height), int(msg.width), int(msg.step),
                    bool(msg.is_bigendian), bytes(msg.data))


def compressed_image_data(msg: CompressedImage) -> CompressedImageData:
    return CompressedImageData(msg.format, bytes(msg.data))


def numpy_to_image(pixels: np.ndarray, encoding: str, t_ns: int, frame_id: str) -> Image:
    raw = encode(pixels, encoding)
    msg = Image()
    msg.header = make_header(t_ns, frame_id)
    msg.height, msg.width, msg.step = raw.height, raw.width, raw.step
    msg.encoding = raw.encoding
    msg.is_bigendian = 0
    msg.data = raw.data
    return msg


def region_msg(region: tuple[int, int, int, int] | None) -> RegionOfInterest:
    if region is None:
        return RegionOfInterest()
    x, y, w, h = (max(0, int(v)) for v in region)
    return RegionOfInterest(x_offset=x, y_offset=y, width=w, height=h)


# --- results -> outputs ----------------------------------------------------------------------

def _fill_rul(msg, rul) -> bool:
    """A valid RUL estimate's point, interval and health index into an Alert (1 = healthy when
    none); True if one was attached. An estimate that is not valid (uncalibrated) is never
    attached: an alert says nothing it could not plan on."""
    if rul is None or not rul.valid:
        msg.health_index = 1.0 if rul is None else float(rul.health_index)
        return False
    msg.rul_s, msg.rul_lower_s, msg.rul_upper_s = (
        float(rul.rul_s), float(rul.lower_s), float(rul.upper_s))
    msg.health_index = float(rul.health_index)
    return True


def _fill_hotspot(msg, loc) -> None:
    msg.hotspot_x, msg.hotspot_y = (int(v) for v in loc.hotspot_xy)
    msg.hotspot_region = region_msg(loc.region)


def rul_msg(estimate, asset_id: str, frame_id: str) -> RulEstimate:
    """core.rul.live.LiveEstimate (rul_node's, or the monitor's RUL stage's) -> RulEstimate.
    valid only for a calibrated estimate (the model's word); the numbers of an uncalibrated
    one still go out, marked not_calibrated."""
    msg = RulEstimate()
    msg.header = make_header(estimate.stamp_ns, frame_id)
    msg.asset_id = asset_id
    msg.valid = bool(estimate.valid)
    msg.rul_s = float(estimate.rul_s)
    msg.rul_lower_s = float(estimate.lower_s)
    msg.rul_upper_s = float(estimate.upper_s)
    msg.interval_coverage = float(estimate.coverage)
    msg.health_index = float(estimate.health_index)
    msg.model_name = estimate.model_name
    msg.evidence_kind = estimate.distribution.evidence
    msg.point_kind = estimate.point_kind
    msg.rul_median_s = float(estimate.median_s)
    msg.rul_phm_optimal_s = float(estimate.distribution.phm_optimal_s())
    msg.elapsed_s = float(estimate.elapsed_s)
    msg.onset_detected = estimate.onset_s is not None
    msg.onset_elapsed_s = float(estimate.onset_s) if estimate.onset_s is not None else -1.0
    msg.note = estimate.note
    return msg


def _fill_window_scores(msg: HealthStatus | Alert, result) -> None:
    """What the window's Stage 1 said: same field names in HealthStatus and Alert."""
    msg.confidence = float(result.confidence)
    msg.state_probabilities = [float(p) for p in result.state_probabilities]
    msg.anomaly_score = float(result.anomaly_score)
    msg.anomaly_threshold = float(result.anomaly_threshold)
    msg.anomalous = bool(result.anomalous)


def health_msg(result, asset_id: str, frame_id: str,
               active_alert_id: str | None) -> HealthStatus:
    msg = HealthStatus()
    msg.header = make_header(result.t_end_ns, frame_id)
    msg.asset_id = asset_id
    msg.state = int(result.state)
    _fill_window_scores(msg, result)
    msg.fault_type = result.fault_type
    msg.health_index = float(result.rul.health_index) if result.rul is not None else 1.0
    msg.stage2_ran = bool(result.stage2_ran)
    msg.modalities_used = list(result.modalities_used)
    msg.modalities_missing = list(result.modalities_missing)
    msg.active_alert_id = active_alert_id or ""
    msg.inference_ms = float(result.timings_ms["total"])
    msg.commissioning_progress = 1.0  # nothing (left) to learn
    if result.commissioning is not None:
        msg.commissioning_done, msg.commissioning_needed = (int(v) for v in result.commissioning)
        msg.commissioning_progress = min(msg.commissioning_done
                                         / max(msg.commissioning_needed, 1), 1.0)
    msg.stage2_score_names = list(result.scores)
    msg.stage2_scores = [float(v) for v in result.scores.values()]
    msg.notes = list(result.notes)
    msg.decision_basis = list(result.decision_basis)
    return msg


def alert_msg(result, update, asset_id: str, frame_id: str, model_version: str,
              iso_zone_table: str = "") -> Alert:
    """Build an Alert from a CascadeResult and the core.alarms.AlarmUpdate it caused
    (lifecycle, operator, flood and ISO zone fields)."""
    msg = Alert()
    msg.header = make_header(result.t_end_ns, frame_id)
    msg.alert_id = update.alert_id
    msg.asset_id = asset_id
    msg.state = int(update.severity)
    _fill_window_scores(msg, result)
    msg.event = int(update.event)
    msg.sequence = int(update.sequence)
    # an alarm is about one fault: its own fault type, whatever this one window said
    msg.fault_type = update.fault_type or result.fault_type
    msg.fault_type_confidence = float(result.fault_type_probabilities.get(msg.fault_type, 0.0))
    loc = result.localization
    msg.localized = localized(result)
    if msg.localized:
        msg.localization_modality = loc.modality
        msg.localization_frame_id = loc.frame_id
        msg.location = loc.location
        _fill_hotspot(msg, loc)
    msg.rul_known = _fill_rul(msg, result.rul)
    msg.modalities_used = list(result.modalities_used)
    msg.modalities_missing = list(result.modalities_missing)
    msg.model_version = model_version
    msg.summary = result.summary
    msg.decision_basis = list(result.decision_basis)
    _fill_alarm(msg, update, iso_zone_table)
    return msg


def alarm_update_msg(update, frame_id: str, model_version: str = "",
                     iso_zone_table: str = "") -> Alert:
    """An Alert for an AlarmUpdate that no window produced (operator action, shelving expiry):
    the alarm fields only; model fields stay at their defaults."""
    msg = Alert()
    msg.header = make_header(update.t_ns, frame_id)
    msg.alert_id = update.alert_id
    msg.asset_id = update.asset_id
    msg.state = int(update.severity)
    msg.event = int(update.event)
    msg.sequence = int(update.sequence)
    msg.fault_type = update.fault_type
    msg.health_index = 1.0
    msg.model_version = model_version
    msg.summary = ""
    _fill_alarm(msg, update, iso_zone_table)
    return msg


def _fill_alarm(msg: Alert, update, iso_zone_table: str) -> None:
    """Lifecycle, operator, flood-control and ISO zone fields of an AlarmUpdate."""
    msg.lifecycle_state = int(update.lifecycle)
    msg.operator_name = update.operator
    msg.note = update.note
    msg.shelved_until = ns_to_stamp(update.shelved_until_ns)
    msg.was_suppressed = bool(update.was_suppressed)
    msg.suppressed_count = int(update.suppressed_count)
    msg.velocity_rms_mm_s = float(update.velocity_mm_s)
    msg.iso_zone = update.iso_zone.label
    msg.iso_zone_table = iso_zone_table
    msg.model_zone_agreement = int(update.agreement)
    head = msg.summary or (f"{HealthState(msg.state).name}: {update.fault_type} alarm")
    parts = [head, f"{update.event.name.lower()} -> {update.lifecycle.name.lower()}"]
    if update.operator:
        parts.append(f"by {update.operator}" + (f" ({update.note})" if update.note else ""))
    if update.iso_zone.label:
        parts.append(f"ISO zone {update.iso_zone.label} ({update.velocity_mm_s:.2f} mm/s, "
                     f"{update.agreement.name.lower().replace('_', ' ')})")
    if update.was_suppressed:
        parts.append("held back by flood control")
    msg.summary = "; ".join(parts)


def alarm_info_msg(alarm) -> AlarmInfo:
    """AlarmInfo from a core.alarms.Alarm (what the alarm services return)."""
    return AlarmInfo(
        alert_id=alarm.alert_id, asset_id=alarm.asset_id, fault_type=alarm.fault_type,
        state=int(alarm.severity), lifecycle_state=int(alarm.lifecycle),
        condition_active=bool(alarm.condition_active), suppressed=bool(alarm.suppressed),
        sequence=int(alarm.sequence), raised=ns_to_stamp(alarm.raised_ns),
        last_change=ns_to_stamp(alarm.last_change_ns), acknowledged_by=alarm.acked_by,
        acknowledge_note=alarm.ack_note, shelved_until=ns_to_stamp(alarm.shelved_until_ns),
        shelved_by=alarm.shelved_by, shelve_reason=alarm.shelve_reason)


def explanation_msg(explanation, result, alert_id: str, asset_id: str, frame_id: str,
                    step_s: float) -> Explanation:
    """Build an Explanation from a Explainer AlertExplanation for the alert it explains."""
    msg = Explanation()
    msg.header = make_header(result.t_end_ns, frame_id)
    msg.alert_id = alert_id
    msg.asset_id = asset_id
    msg.sensor_names = list(explanation.sensor_importance)
    msg.sensor_importance = [float(v) for v in explanation.sensor_importance.values()]
    msg.sensor_importance_method = "integrated_gradients"
    msg.temporal_attention = [float(v) for v in explanation.temporal_attention]
    msg.temporal_step = seconds_to_duration(step_s)
    msg.modality_names = list(explanation.modality_weights)
    msg.modality_weights = [float(v) for v in explanation.modality_weights.values()]
    msg.modality_weights_method = "integrated_gradients_share_per_modality"
    loc = result.localization
    msg.localized = localized(result)
    if msg.localized:
        msg.localization_method = "grad_cam"
        msg.heatmap_frame_id = loc.frame_id
        _fill_hotspot(msg, loc)
    msg.computation_time_s = float(explanation.computation_ms) / 1000.0
    msg.modality_weights_method = getattr(explanation, "modality_weights_method",
                                          msg.modality_weights_method)
    msg.ig_baseline = getattr(explanation, "ig_baseline", "zeros")
    _fill_modality_bias(msg, explanation)
    _fill_counterfactual(msg, getattr(explanation, "counterfactual", None))
    _fill_shapley(msg, getattr(explanation, "shapley", None))
    summary = getattr(explanation, "summary", None)  # the live Explainer's one-liner
    if not summary:
        top = max(explanation.sensor_importance.items(), key=lambda kv: kv[1],
                  default=("-", 0.0))
        summary = (f"{HealthState(explanation.explained_state).name} driven mostly by "
                   f"{top[0]} ({top[1]:.0%} of attribution)")
    msg.summary = f"{summary}; methods: {', '.join(explanation.methods)}"
    return msg


def _fill_modality_bias(msg: Explanation, explanation) -> None:
    """A fusion gate's g* and running bias B, in modality_names order; left empty when there
    is none (Explainer AlertExplanation, IG shares) or it does not cover every modality."""
    names = list(msg.modality_names)
    ideal = getattr(explanation, "modality_ideal_weights", None) or {}
    bias = getattr(explanation, "modality_bias", None) or {}
    if ideal and all(n in ideal for n in names):
        msg.modality_ideal_weights = [float(ideal[n]) for n in names]
    if bias and all(n in bias for n in names):
        msg.modality_bias = [float(bias[n]) for n in names]
        msg.modality_bias_decisions = int(getattr(explanation, "modality_bias_decisions", 0))


def _fill_shapley(msg: Explanation, shapley) -> None:
    """core.explain.shapley.ShapleyAttribution -> the shapley_* fields (empty when None)."""
    if shapley is None:
        return
    msg.shapley_sensor_names = list(shapley.sensors)
    msg.shapley_sensor_values = [float(v) for v in shapley.sensors.values()]
    msg.shapley_modality_names = list(shapley.modalities)
    msg.shapley_modality_values = [float(v) for v in shapley.modalities.values()]
    msg.shapley_output = float(shapley.output)
    msg.shapley_reference_output = float(shapley.reference_output)
    msg.shapley_method = shapley.method


def _fill_counterfactual(msg: Explanation, counterfactual) -> None:
    """core.explain.counterfactual.Counterfactual -> the counterfactual_* fields."""
    msg.counterfactual_computed = counterfactual is not None
    if counterfactual is None:
        return
    msg.counterfactual_target = counterfactual.target_label
    msg.counterfactual_reached = bool(counterfactual.reached_target)
    changes = counterfactual.changes
    msg.counterfactual_features = [c.feature for c in changes]
    msg.counterfactual_current_values = [float(c.current.value) for c in changes]
    msg.counterfactual_needed_values = [float(c.needed.value) for c in changes]
    msg.counterfactual_units = [c.current.unit for c in changes]
    msg.counterfactual_probability_before = float(counterfactual.p_target_before)
    msg.counterfactual_probability_after = float(counterfactual.p_target_after)


def message_to_dict(msg) -> dict:
    """Any generated ROS message -> JSON-ready dict (rosidl_runtime_py is not on PyPI).
    NaN / inf (e.g. Alert.velocity_rms_mm_s when unknown) become None: strict JSON."""
    out = {}
    for name in msg.get_fields_and_field_types():
        value = getattr(msg, name)
        if hasattr(value, "get_fields_and_field_types"):
            out[name] = message_to_dict(value)
        elif isinstance(value, (list, tuple)) or hasattr(value, "tolist"):
            items = value.tolist() if hasattr(value, "tolist") else list(value)
            out[name] = [message_to_dict(v) if hasattr(v, "get_fields_and_field_types")
                         else _finite_or_none(v) for v in items]
        elif isinstance(value, bytes):
            out[name] = int.from_bytes(value, "little") if len(value) == 1 else value.hex()
        else:
            out[name] = _finite_or_none(value)
    return out


def _finite_or_none(value):
    return None if isinstance(value, float) and not math.isfinite(value) else value


def describe_endpoint(info) -> str:
    """A publisher of the ROS graph (rclpy TopicEndpointInfo) in words: node and GID."""
    node = f"{info.node_namespace.rstrip('/')}/{info.node_name}"
    gid = ".".join(f"{byte:02x}" for byte in bytes(info.endpoint_gid)[:16])
    return f"{node} (gid {gid})"


def rul_explanation_msg(explanation, stamp_ns: int, asset_id: str, frame_id: str,
                        model_name: str) -> RulExplanation:
    """core.explain.rul_relevance.RulExplanation -> RulExplanation (relevance row-major)."""
    msg = RulExplanation()
    msg.header = make_header(stamp_ns, frame_id)
    msg.asset_id, msg.model_name = asset_id, model_name
    msg.method, msg.explained_quantity = explanation.method, explanation.explained_quantity
    msg.estimate = float(explanation.estimate)
    msg.reference_estimate = float(explanation.reference_estimate)
    msg.input_names = list(explanation.input_names)
    msg.block_start_s = [float(v) for v in explanation.block_start_s]
    msg.block_end_s = [float(v) for v in explanation.block_end_s]
    msg.relevance = [float(v) for v in np.asarray(explanation.relevance, np.float64).ravel()]
    msg.conservation_error = float(explanation.conservation_error)
    msg.computation_time_s = float(explanation.computation_ms) / 1000.0
    msg.summary = explanation.summary
    return msg
