"""The monitor node on image_transport's compressed transports (thermal_transport,
camera_transport): PNG frames give exactly the windows and heatmaps of raw Images, a JPEG
thermal frame is refused with what to do while the camera takes JPEG, and the transport topics
hang off the (remapped) base topic as image_transport names them."""
from __future__ import annotations

from pathlib import Path

import pytest
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rclpy.node import Node
from rclpy.parameter import Parameter
from rig_feed import RigFeed
from sensor_msgs.msg import Image

from pm_monitor.msg import HealthStatus
from pm_monitor.nodes.monitor_node import MonitorNode
from pm_monitor.sim.fault_schedule import FaultSchedule

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
# A name of their own: a monitor of an earlier test's context can linger in the DDS graph for
# a while, and other tests look the monitor's topics up by the name "pm_monitor"
NAME = "compressed_monitor"
RENAME = ["--ros-args", "-r", f"__node:={NAME}"]


class Run:
    """A monitor and a rig feed whose image inputs go raw or compressed."""

    def __init__(self, context, executor, compressed: dict[str, str], **params) -> None:
        overrides = [Parameter(k, value=v) for k, v in params.items()]
        self.monitor = MonitorNode(context=context, parameter_overrides=overrides,
                                   cli_args=RENAME)
        self.client = Node("compressed_test_client", context=context)
        self.health: list[HealthStatus] = []
        self.heatmaps: list[Image] = []
        self.diagnostics: list[DiagnosticArray] = []
        c = self.client
        c.create_subscription(HealthStatus, f"/{NAME}/health", self.health.append, 200)
        c.create_subscription(Image, f"/{NAME}/heatmap", self.heatmaps.append, 50)
        c.create_subscription(DiagnosticArray, "/diagnostics", self.diagnostics.append, 50)
        executor.add_node(self.monitor)
        executor.add_node(self.client)
        self.executor = executor
        self.feed = RigFeed(c, executor, FaultSchedule.from_yaml(
            FIXTURES / "fast_outer_race.yaml"), compressed=compressed)

    def run(self, t_s: float) -> None:
        self.feed.run_until(t_s, self.monitor)
        # the last window's health and heatmap
        for _ in range(40):
            self.executor.spin_once(timeout_sec=0.02)

    def close(self) -> None:
        """Destroy both nodes (once): a later run's nodes take the same topic names."""
        nodes, self.nodes = getattr(self, "nodes", (self.monitor, self.client)), ()
        for node in nodes:
            self.executor.remove_node(node)
            node.destroy_node()


@pytest.fixture
def start(ros_context, executor, tmp_path):
    """Runs that start afresh: each its own alert log and RUL state (a monitor restores both)."""
    runs: list[Run] = []

    def make(compressed: dict[str, str], **params) -> Run:
        home = tmp_path / f"run{len(runs)}"
        runs.append(Run(ros_context, executor, compressed, reference_dir=str(home / "refs"),
                        alert_log_path=str(home / "alerts.jsonl"), **params))
        return runs[-1]

    yield make
    for run in runs:
        run.close()


def _windows(run: Run) -> list[tuple]:
    return [(m.header.stamp.sec, m.header.stamp.nanosec, m.state, m.anomaly_score,
             tuple(m.modalities_used)) for m in run.health]


def test_png_compressed_images_give_the_windows_and_heatmaps_of_raw_images(start):
    raw = start({})
    raw.run(18.0)
    raw.close()
    compressed = start({"thermal": "png", "camera": "png"}, thermal_transport="compressed",
                       camera_transport="compressed")
    assert [s.topic_name for s in compressed.monitor._input_subscriptions[2:]] == [
        "/thermal/image_raw/compressed", "/camera/image_raw/compressed"]
    compressed.run(18.0)
    stats = compressed.monitor.pipeline.stats.inputs
    assert stats["thermal"].received > 50 and stats["thermal"].rejected == 0
    assert stats["camera"].received > 30 and stats["camera"].rejected == 0
    windows = _windows(compressed)
    # the rig's model set decides on accel, mic and thermal (the camera frames are taken,
    # no model of this set looks at them)
    assert len(windows) >= 10 and all("thermal" in w[4] for w in windows)
    assert windows == _windows(raw)
    assert compressed.heatmaps and len(compressed.heatmaps) == len(raw.heatmaps)
    for a, b in zip(raw.heatmaps, compressed.heatmaps, strict=True):
        assert bytes(a.data) == bytes(b.data)


def test_jpeg_thermal_is_refused_with_what_to_do_and_a_jpeg_camera_is_used(start):
    run = start({"thermal": "jpeg", "camera": "jpeg"}, thermal_transport="compressed",
                camera_transport="compressed", diagnostics_period_s=0.2)
    run.run(5.0)
    stats = run.monitor.pipeline.stats.inputs
    thermal, camera = stats["thermal"], stats["camera"]
    assert thermal.received > 20 and thermal.rejected == thermal.received
    assert "no temperature scale" in thermal.last_error and "png" in thermal.last_error
    assert camera.received > 10 and camera.rejected == 0
    assert run.monitor.active and run.health
    # windows go on without thermal (never a vote from a missing input)
    assert all("thermal" not in m.modalities_used for m in run.health)
    assert "thermal" in run.health[-1].modalities_missing
    statuses = [s for d in run.diagnostics for s in d.status if s.name.endswith("input thermal")]
    warned = [s for s in statuses if s.level >= DiagnosticStatus.WARN]
    assert warned and any("no temperature scale" in s.message for s in warned)


def test_transport_topics_follow_the_remapped_base_topic(ros_context):
    monitor = MonitorNode(
        context=ros_context, cli_args=[*RENAME, "-r",
                                       "thermal/image_raw:=/ptz/thermal/image_raw"],
        parameter_overrides=[Parameter("thermal_transport", value="compressedDepth"),
                             Parameter("camera_transport", value="compressed")])
    try:
        assert monitor.active, monitor.last_error
        names = [s.topic_name for s in monitor._input_subscriptions]
        assert names[2:] == ["/ptz/thermal/image_raw/compressedDepth",
                             "/camera/image_raw/compressed"]
        types = [s.msg_type.__name__ for s in monitor._input_subscriptions[2:]]
        assert types == ["CompressedImage", "CompressedImage"]
    finally:
        monitor.destroy_node()


def test_a_camera_cannot_take_compressed_depth(ros_context):
    monitor = MonitorNode(context=ros_context, cli_args=RENAME, parameter_overrides=[
        Parameter("camera_transport", value="compressedDepth")])
    try:
        assert not monitor.active and "camera_transport" in monitor.last_error
    finally:
        monitor.destroy_node()
