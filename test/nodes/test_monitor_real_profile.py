"""The monitor node running the real-data profile (models/real_data): 2-channel FEMTO-style
accelerometer in, commissioning first, then decisions; inputs the models were not trained on
are refused with the reason."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from rclpy.node import Node
from rclpy.parameter import Parameter

from pm_monitor.msg import HealthStatus, SensorChunk
from pm_monitor.nodes import conversions as conv
from pm_monitor.nodes.monitor_node import MonitorNode

PROFILE = Path(__file__).resolve().parents[2] / "models" / "real_data"
FS, SNAPSHOT = 25600.0, 2560
# half a sample after the 0.1 s grid: each window holds one whole snapshot
EPOCH_NS = 1_700_000_000 * 10**9 + 19_531


def _chunk(k: int, samples: np.ndarray, unit: str = "g",
           names: tuple[str, ...] = ("horizontal", "vertical")) -> SensorChunk:
    msg = SensorChunk()
    msg.header = conv.make_header(EPOCH_NS + round(k * SNAPSHOT / FS * 1e9), "bearing")
    msg.sample_rate, msg.channel_names, msg.unit = FS, list(names), unit
    msg.first_sample_index = k * SNAPSHOT
    msg.samples = samples.astype(np.float32).reshape(-1)
    return msg


@pytest.fixture
def monitor(ros_context, executor, tmp_path):
    node = MonitorNode(context=ros_context, parameter_overrides=[
        Parameter("model_dir", value=str(PROFILE)), Parameter("shaft_speed_rpm", value=1800.0),
        Parameter("alert_log_path", value=str(tmp_path / "alerts.jsonl")),
        Parameter("alarm.zone_alarm_enabled", value=False)])
    executor.add_node(node)
    yield node
    executor.remove_node(node)
    node.destroy_node()


def test_commissioning_then_decisions_on_the_models_own_inputs(monitor, executor):
    assert monitor.active, monitor.last_error
    listener = Node("real_health_listener", context=monitor.context)
    health: list[HealthStatus] = []
    listener.create_subscription(HealthStatus, "/pm_monitor/health", health.append, 100)
    executor.add_node(listener)
    rng = np.random.default_rng(3)
    try:
        end = time.monotonic() + 5.0  # matched before the first window: none lost to discovery
        while time.monotonic() < end and listener.count_publishers("/pm_monitor/health") == 0:
            executor.spin_once(timeout_sec=0.05)
        for _ in range(10):
            executor.spin_once(timeout_sec=0.02)
        for k in range(40):  # stationary vibration: 40 snapshots of 0.1 s
            snapshot = rng.normal(0.0, 0.3, (SNAPSHOT, 2))
            if k % 2:  # the same data in m/s^2 is converted to the models' g at the input
                monitor._on_chunk("accel", _chunk(k, snapshot * 9.80665, unit="m/s^2"))
            else:
                monitor._on_chunk("accel", _chunk(k, snapshot))
        # a rig-style 3-axis chunk is refused, counted, and named in diagnostics
        monitor._on_chunk("accel", _chunk(40, np.zeros((SNAPSHOT, 3)), names=("x", "y", "z")))
        end = time.monotonic() + 2.0
        while time.monotonic() < end and len(health) < 38:
            executor.spin_once(timeout_sec=0.05)
    finally:
        executor.remove_node(listener)
        listener.destroy_node()
    stats = monitor.pipeline.stats.inputs["accel"]
    assert stats.rejected == 1 and "3 channels" in stats.last_error
    assert len(health) >= 38
    learning = [m for m in health if m.commissioning_needed]
    deciding = [m for m in health if not m.commissioning_needed]
    # windows 1..29 learn (done counts this window); the 30th completes the baseline and is
    # the first decided one, as in training (the baseline's own snapshots are scored too)
    assert [m.commissioning_done for m in learning] == list(range(1, 30))
    assert all(m.state == HealthStatus().state and not m.anomalous for m in learning)
    assert deciding and all(len(m.state_probabilities) == 4 for m in deciding)
    # the vibration never changed: relative to its own baseline it is healthy
    assert all(m.state == 0 for m in deciding)
    assert {"thermal", "camera", "mic"} <= set(deciding[-1].modalities_missing)
    assert monitor.models.status()["commissioning"] == "done"
