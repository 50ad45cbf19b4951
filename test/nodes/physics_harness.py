"""The monitor node on the physics model set with one asset file, a client listening to its
HealthStatus and Alerts and calling ~/commission (test_monitor_physics, test_monitor_mic_only)."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from rclpy.node import Node
from rclpy.parameter import Parameter

from pm_monitor.msg import Alert, HealthStatus, SensorChunk
from pm_monitor.nodes import conversions as conv
from pm_monitor.nodes.monitor_node import MonitorNode
from pm_monitor.nodes.qos import ALERT_QOS
from pm_monitor.srv import Commission

EPOCH_NS = 1_700_000_000 * 10**9


def sensor_chunks(x: np.ndarray, rate: float, chunk: int, channel: str, unit: str,
                  frame_id: str, first: int = 0):
    """SensorChunks of `chunk` samples of a one-channel stream; `first`: the first chunk's
    number (stamps and sample indices continue from there)."""
    for k in range(x.size // chunk):
        i = first + k
        msg = SensorChunk()
        msg.header = conv.make_header(EPOCH_NS + round(i * chunk / rate * 1e9), frame_id)
        msg.sample_rate, msg.channel_names, msg.unit = rate, [channel], unit
        msg.first_sample_index = i * chunk
        msg.samples = x[k * chunk:(k + 1) * chunk]
        yield msg


class PhysicsHarness:
    def __init__(self, context, executor, tmp_path: Path, asset_file: Path,
                 asset_id: str) -> None:
        self.monitor = MonitorNode(context=context, parameter_overrides=[
            Parameter("asset_file", value=str(asset_file)),
            Parameter("reference_dir", value=str(tmp_path / "refs")),
            Parameter("asset_id", value=asset_id),
            Parameter("alert_log_path", value=str(tmp_path / "alerts.jsonl"))])
        self.client = Node("physics_client", context=context)
        self.health: list[HealthStatus] = []
        self.alerts: list[Alert] = []
        self.client.create_subscription(HealthStatus, "/pm_monitor/health", self.health.append,
                                        500)
        self.client.create_subscription(Alert, "/pm_monitor/alert", self.alerts.append,
                                        ALERT_QOS)
        self.commission = self.client.create_client(Commission, "/pm_monitor/commission")
        self.executor = executor
        for node in (self.monitor, self.client):
            executor.add_node(node)
        end = time.monotonic() + 5.0
        while (time.monotonic() < end
               and self.client.count_publishers("/pm_monitor/health") == 0):
            executor.spin_once(timeout_sec=0.05)
        self.spin(0.3)

    def spin(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.executor.spin_once(timeout_sec=0.02)

    def feed(self, chunks, name: str) -> None:
        """Hand the chunks to the node's `name` input callback, then let it publish."""
        for msg in chunks:
            self.monitor._on_chunk(name, msg)
        self.spin(1.0)

    def call(self, command: str) -> Commission.Response:
        assert self.commission.wait_for_service(timeout_sec=5.0)
        future = self.commission.call_async(Commission.Request(command=command))
        end = time.monotonic() + 5.0
        while not future.done() and time.monotonic() < end:
            self.executor.spin_once(timeout_sec=0.02)
        return future.result()

    def close(self) -> None:
        for node in (self.monitor, self.client):
            self.executor.remove_node(node)
            node.destroy_node()


def assert_restart_reloads_then_reset_forgets(make_harness) -> None:
    """A new node on the same reference_dir (`make_harness()`) finds the reference complete;
    ~/commission reset forgets it."""
    again = make_harness()
    try:
        assert again.call("progress").complete
        assert again.call("reset").success and not again.call("progress").complete
    finally:
        again.close()
