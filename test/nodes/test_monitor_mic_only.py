"""The monitor node on a fan watched by sound alone: the shipped mic-only asset file
(config/assets/mimii_fan.yaml, commissioning shortened), microphone SensorChunks at 16 kHz.
Commissioning first (HealthStatus says so, ~/commission reports the microphone reference),
then Normal on the fan's usual sound, then a sound that stays changed raises Pre-Warning and
never more, with the moved bands in the Alert summary; an accelerometer chunk is refused with
the reason; the reference survives a restart."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import yaml
from rclpy.node import Node
from rclpy.parameter import Parameter

from pm_monitor.core.condition.reference import ReferenceStore
from pm_monitor.msg import Alert, HealthStatus, SensorChunk
from pm_monitor.nodes import conversions as conv
from pm_monitor.nodes.monitor_node import MonitorNode
from pm_monitor.nodes.qos import ALERT_QOS
from pm_monitor.srv import Commission

FS, CHUNK = 16000.0, 1600  # 0.1 s chunks
EPOCH_NS = 1_700_000_000 * 10**9
COMMISSIONING_S = 5.0


def _fan_sound(seconds: float, seed: int, whine: bool = False) -> np.ndarray:
    """Broadband fan noise with a blade-pass hum; `whine`: a 3 kHz tone joins it."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * FS)) / FS
    x = 0.1 * rng.standard_normal(t.size) + 0.05 * np.sin(2 * np.pi * 120.0 * t)
    return (x + (0.1 * np.sin(2 * np.pi * 3000.0 * t) if whine else 0.0)).astype(np.float32)


def _chunks(x: np.ndarray, first: int = 0):
    for k in range(x.size // CHUNK):
        i = first + k
        msg = SensorChunk()
        msg.header = conv.make_header(EPOCH_NS + round(i * CHUNK / FS * 1e9), "fan")
        msg.sample_rate, msg.channel_names, msg.unit = FS, ["mic"], ""
        msg.first_sample_index = i * CHUNK
        msg.samples = x[k * CHUNK:(k + 1) * CHUNK]
        yield msg


class Harness:
    def __init__(self, context, executor, tmp_path: Path) -> None:
        data = yaml.safe_load(Path("config/assets/mimii_fan.yaml").read_text())
        data["asset"]["commissioning"]["duration_s"] = COMMISSIONING_S
        asset_file = tmp_path / "mimii_fan.yaml"
        asset_file.write_text(yaml.safe_dump(data))
        self.monitor = MonitorNode(context=context, parameter_overrides=[
            Parameter("asset_file", value=str(asset_file)),
            Parameter("reference_dir", value=str(tmp_path / "refs")),
            Parameter("asset_id", value="mimii_fan"),
            Parameter("alert_log_path", value=str(tmp_path / "alerts.jsonl"))])
        self.client = Node("mic_only_client", context=context)
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

    def feed(self, chunks, name: str = "mic") -> None:
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


def test_a_fan_by_sound_alone_commissions_then_raises_pre_warning_at_most(
        ros_context, executor, tmp_path):
    h = Harness(ros_context, executor, tmp_path)
    try:
        assert h.monitor.active, h.monitor.last_error
        assert h.call("progress").progress == 0.0
        h.feed(_chunks(_fan_sound(10.0, 1)))
        learning = [m for m in h.health if m.commissioning_needed]
        progress = [m.commissioning_progress for m in learning]
        assert progress == sorted(progress) and progress[0] < 1.0 and progress[-1] == 1.0
        decided = [m for m in h.health if not m.commissioning_needed]
        assert decided and all(m.state == Alert.NORMAL for m in decided)
        response = h.call("progress")
        assert response.success and response.complete and response.asset_id == "mimii_fan"
        assert h.alerts == []
        # an accelerometer on the same node is no input of this asset: refused, with why
        h.feed(_chunks(np.zeros(2000, np.float32)), name="accel")
        accel = h.monitor.pipeline.stats.inputs["accel"]
        assert accel.rejected == accel.received > 0
        assert "not an input of the loaded model set" in accel.last_error
        n_before = len(h.health)
        h.feed(_chunks(_fan_sound(10.0, 2, whine=True), first=int(10.0 * FS) // CHUNK))
        raised = [a for a in h.alerts if a.event == Alert.EVENT_RAISED]
        assert raised, [m.notes for m in h.health[n_before:]][-3:]
        assert all(a.state == Alert.PRE_WARNING for a in h.alerts)
        assert raised[0].fault_type == "acoustic_anomaly"
        assert "mic anomaly" in raised[0].summary and "share_" in raised[0].summary
        assert max(m.state for m in h.health) == Alert.PRE_WARNING
        assert h.alerts[0].modalities_used == ["mic"]
    finally:
        h.close()
    stored = ReferenceStore(tmp_path / "refs").part("acoustic").load("mimii_fan")
    assert stored.complete and stored.rate_hz == FS

    again = Harness(ros_context, executor, tmp_path)  # restart: the reference is reloaded
    try:
        assert again.call("progress").complete
        assert again.call("reset").success and not again.call("progress").complete
    finally:
        again.close()
