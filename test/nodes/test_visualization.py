"""Heatmap and marker outputs: wire-format round trip, published only while subscribed, and
message contents for a known injected fault (outer race at the drive-end bearing)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rclpy.node import Node
from rclpy.serialization import deserialize_message, serialize_message
from ros_wait import spin_until
from sensor_msgs.msg import Image
from visualization_msgs.msg import Marker, MarkerArray

from pm_monitor.core.explain.background import HealthyBackground
from pm_monitor.core.explain.explainer import Explainer
from pm_monitor.core.imaging.codec import decode
from pm_monitor.core.imaging.heatmap import render
from pm_monitor.core.model_set.rig import rig_cascade, shipped_rig_rul
from pm_monitor.core.models.bundle import load_bundle
from pm_monitor.core.types import HealthState
from pm_monitor.nodes import conversions as conv
from pm_monitor.nodes.visualization import (
    STATE_COLOURS,
    HeatmapPublisher,
    MarkerPublisher,
    asset_markers,
)
from pm_monitor.sim import FaultSchedule, RigConfig, RigSimulator, ScheduledFault
from pm_monitor.training.rig_dataset import housing_test, rig_window

BUNDLE_DIR = Path(__file__).resolve().parents[2] / "models" / "rig_baseline"



@pytest.fixture(scope="module")
def faulty_window():
    """The cascade's result on a late window of an outer-race fault at the DE bearing."""
    if not (BUNDLE_DIR / "metadata.json").is_file():
        pytest.skip("models/rig_baseline not trained yet")
    bundle = load_bundle(BUNDLE_DIR)
    fault = ScheduledFault("outer_race", "de_bearing", 5.0, 45.0, 2.0)
    simulator = RigSimulator(RigConfig(), FaultSchedule((fault,), "test"), seed=7_401)
    cascade = rig_cascade(bundle, rul=shipped_rig_rul(BUNDLE_DIR))
    background = HealthyBackground()
    for i in range(80):
        window = rig_window(simulator, 1.0 + 0.5 * i, bundle.window_s)
        # the monitor feeds the RUL stage after each decision; fed first here, so that the
        # last result carries the estimate made on its own window
        cascade.observe_rul(window)
        result = cascade.process(window)
        background.observe(result)
    assert result.state >= HealthState.WARNING and result.localization is not None
    explanation = Explainer.from_bundle(bundle, background).explain(result, window.frames)
    return bundle, window, result, explanation


def _over_the_wire(msg):
    return deserialize_message(serialize_message(msg), type(msg))


def test_heatmap_encodings_round_trip(faulty_window):
    _, window, result, _ = faulty_window
    loc = result.localization
    frame = window.frames["thermal"]
    rgb = render(frame.image, loc.heatmap, hotspot_xy=loc.hotspot_xy, region=loc.region)
    for pixels, encoding in ((rgb, "rgb8"), (loc.heatmap.astype(np.float32), "32FC1")):
        msg = _over_the_wire(conv.numpy_to_image(pixels, encoding, frame.stamp_ns,
                                                 loc.frame_id))
        assert msg.encoding == encoding and msg.header.frame_id == "thermal_optical"
        assert conv.stamp_to_ns(msg.header.stamp) == frame.stamp_ns
        decoded = decode(conv.image_to_raw(msg))
        assert decoded.dtype == pixels.dtype
        np.testing.assert_array_equal(decoded.reshape(pixels.shape), pixels)


def test_heatmaps_are_published_only_while_subscribed(ros_context, executor, faulty_window):
    _, window, result, _ = faulty_window
    node = Node("pm_monitor", context=ros_context)
    client = Node("heatmap_client", context=ros_context)
    executor.add_node(node)
    executor.add_node(client)
    heatmaps = HeatmapPublisher(node)
    frame = window.frames["thermal"]
    assert not heatmaps.wanted()
    assert heatmaps.publish_localization(result.localization, frame) == (False, False)
    received: list[Image] = []
    client.create_subscription(Image, "/pm_monitor/heatmap", received.append, 5)
    assert spin_until(executor, heatmaps.wanted, timeout_s=5.0)
    assert heatmaps.publish_localization(result.localization, frame) == (True, False)
    assert spin_until(executor, lambda: received, timeout_s=5.0)
    msg = received[0]
    assert msg.encoding == "rgb8" and msg.header.frame_id == "thermal_optical"
    image = decode(conv.image_to_raw(msg))
    x, y = result.localization.hotspot_xy
    assert tuple(image[3 * y + 1, 3 * x + 1]) == (0, 255, 0)  # the cross, at scale 3
    raw: list[Image] = []
    client.create_subscription(Image, "/pm_monitor/heatmap_raw", raw.append, 5)
    assert spin_until(executor, lambda: heatmaps.raw.get_subscription_count() > 0, timeout_s=5.0)
    assert heatmaps.publish_localization(result.localization, frame) == (True, True)
    assert spin_until(executor, lambda: raw, timeout_s=5.0)
    heat = decode(conv.image_to_raw(raw[0]))
    assert raw[0].encoding == "32FC1" and heat.shape[:2] == (120, 160)
    assert np.unravel_index(np.argmax(heat), heat.shape[:2]) == (y, x)
    assert heatmaps.published == {"rgb8": 2, "32FC1": 1}
    node.destroy_node()
    client.destroy_node()


def test_markers_for_the_injected_fault(ros_context, executor, faulty_window):
    _, _, result, _ = faulty_window
    node = Node("pm_monitor", context=ros_context)
    client = Node("marker_client", context=ros_context)
    executor.add_node(node)
    executor.add_node(client)
    markers = MarkerPublisher(node, "rig_1", "asset")
    assert not markers.publish_result(result)  # nobody listens yet
    received: list[MarkerArray] = []
    client.create_subscription(MarkerArray, "/pm_monitor/markers", received.append, 5)
    assert spin_until(executor, lambda: markers.publisher.get_subscription_count() > 0,
                      timeout_s=5.0)
    assert markers.publish_result(result)
    assert spin_until(executor, lambda: received, timeout_s=5.0)
    sphere, text = received[0].markers
    assert sphere.type == Marker.SPHERE and text.type == Marker.TEXT_VIEW_FACING
    assert sphere.header.frame_id == text.header.frame_id == "asset"
    expected = STATE_COLOURS[result.state]
    assert (sphere.color.r, sphere.color.g, sphere.color.b) == pytest.approx(expected[:3])
    assert text.text.splitlines()[0] == f"rig_1: {result.state.name}"
    assert "outer race fault" in text.text
    assert result.rul.valid and f"RUL {result.rul.rul_s:.0f} s" in text.text
    assert text.pose.position.z > sphere.scale.z / 2  # above the sphere
    node.destroy_node()
    client.destroy_node()


def test_marker_text_without_fault_or_rul():
    array = asset_markers("press_3", "press_frame", 5, HealthState.NORMAL)
    assert array.markers[1].text == "press_3: NORMAL"
    assert array.markers[0].color.g > array.markers[0].color.r


def test_explanation_message_for_the_injected_fault(faulty_window):
    bundle, _, result, explanation = faulty_window
    msg = _over_the_wire(conv.explanation_msg(explanation, result, "rig_1-0001", "rig_1",
                                              "asset", bundle.hop_s))
    assert msg.alert_id == "rig_1-0001" and msg.asset_id == "rig_1"
    assert list(msg.sensor_names) == ["accel_x", "accel_y", "accel_z", "mic", "thermal"]
    assert sum(msg.sensor_importance) == pytest.approx(1.0, abs=1e-5)
    assert len(msg.temporal_attention) == bundle.sequence_length
    assert msg.localized and msg.localization_method == "grad_cam"
    assert housing_test()("de_bearing", (msg.hotspot_x, msg.hotspot_y))
    assert msg.computation_time_s > 0
    assert explanation.counterfactual is not None
    assert explanation.summary.startswith(result.state.label)
