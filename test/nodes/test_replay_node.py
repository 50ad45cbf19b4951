"""In-process rclpy tests of the replay node: what it publishes equals the files' samples."""
from __future__ import annotations

import time

import numpy as np
import pytest
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import qos_profile_sensor_data
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Image

from pm_monitor.core.imaging.codec import from_celsius
from pm_monitor.datasets import DataNotFoundError, cwru, data_root, thermal_motor
from pm_monitor.msg import SensorChunk
from pm_monitor.nodes import conversions as conv
from pm_monitor.nodes.qos import CHUNK_QOS
from pm_monitor.nodes.replay_node import ReplayNode

START_S = 1_800_000_000.0


@pytest.fixture(autouse=True)
def data_present():
    try:
        data_root()
    except DataNotFoundError as err:
        pytest.skip(str(err))


@pytest.fixture
def run_replay(ros_context, executor):
    """Start a replay node with parameters and a listener; spin until the replay is done."""
    nodes: list[Node] = []

    def run(topics: dict[str, type], timeout_s: float = 10.0, **params):
        listener = Node("replay_listener", context=ros_context)
        received: dict[str, list] = {topic: [] for topic in topics}
        for topic, msg_type in topics.items():
            qos = CHUNK_QOS if msg_type is SensorChunk else qos_profile_sensor_data
            listener.create_subscription(msg_type, topic, received[topic].append,
                                         qos if topic != "/clock" else 10)
        overrides = [Parameter(k, value=v) for k, v in
                     {"start_stamp_s": START_S, "wait_for_subscribers": True, **params}.items()]
        node = ReplayNode(context=ros_context, parameter_overrides=overrides)
        nodes.extend([node, listener])
        executor.add_node(node)
        executor.add_node(listener)
        deadline = time.monotonic() + timeout_s
        while not node.finished and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.01)
        end = time.monotonic() + 0.3  # let the last messages arrive
        while time.monotonic() < end:
            executor.spin_once(timeout_sec=0.01)
        assert node.finished, "replay did not finish in time"
        return received

    yield run
    for node in nodes:
        executor.remove_node(node)
        node.destroy_node()


def test_cwru_chunks_carry_the_record_samples_and_consistent_stamps(run_replay):
    received = run_replay({"/accel": SensorChunk, "/clock": Clock}, dataset="cwru",
                          record=105, speed_factor=20, duration_s=1)  # integers accepted
    chunks = received["/accel"]
    assert len(chunks) == 50  # 1 s at 12 kHz in 0.02 s chunks, none lost
    samples = np.concatenate([conv.chunk_to_numpy(c) for c in chunks])
    expected = cwru.load_record(105).samples[:12000, 0].astype(np.float32)
    np.testing.assert_array_equal(samples[:, 0], expected)
    first = chunks[0]
    assert (list(first.channel_names), first.unit, first.sample_rate) == (["DE"], "g", 12000.0)
    assert first.header.frame_id == "cwru/accel"
    for c in chunks:
        assert conv.stamp_to_ns(c.header.stamp) == round(
            START_S * 1e9 + c.first_sample_index * 1e9 / 12000)
    assert received["/clock"], "no /clock published"


def test_femto_and_thermal_play_together_on_their_own_topics(run_replay):
    received = run_replay({"/accel": SensorChunk, "/thermal/image_raw": Image},
                          dataset="femto,thermal_motor", bearing="Bearing3_3",
                          thermal_class="fan_failure", speed_factor=100.0, duration_s=25.0,
                          frame_period_s=5.0, publish_clock=False)
    chunks, images = received["/accel"], received["/thermal/image_raw"]
    # snapshots at 0, 10 and 20 s (five 0.02 s chunks each), frames every 5 s
    heads = [c.first_sample_index for c in chunks[::5]]
    assert len(chunks) == 15 and heads == [0, 256_000, 512_000]
    assert [(conv.stamp_to_ns(i.header.stamp) - round(START_S * 1e9)) / 1e9
            for i in images] == [0.0, 5.0, 10.0, 15.0, 20.0]
    assert images[0].encoding == "mono16" and (images[0].height, images[0].width) == (240, 320)
    frame = next(f for f in thermal_motor.list_frames() if f.class_name == "fan_failure")
    index = thermal_motor.load_palette_index(frame)
    counts = np.frombuffer(bytes(images[0].data), dtype="<u2").reshape(240, 320)
    # palette index -> the assumed 20..80 deg C span (defaults) -> centikelvin counts
    np.testing.assert_array_equal(counts, from_celsius(20.0 + index * (60.0 / 241)))


def test_bad_parameters_are_refused_with_a_reason(ros_context):
    with pytest.raises(ValueError, match="unknown dataset"):
        ReplayNode(context=ros_context, parameter_overrides=[Parameter("dataset", value="x")])
    with pytest.raises(ValueError, match="speed_factor"):
        ReplayNode(context=ros_context, parameter_overrides=[
            Parameter("dataset", value="cwru"), Parameter("speed_factor", value=0.0)])
    with pytest.raises(ValueError, match="speed_factor must be a number"):
        ReplayNode(context=ros_context, parameter_overrides=[
            Parameter("speed_factor", value="fast")])
    with pytest.raises(ValueError, match=r"unknown parameter.*bearings"):
        ReplayNode(context=ros_context, parameter_overrides=[
            Parameter("bearings", value="Bearing1_1")])
