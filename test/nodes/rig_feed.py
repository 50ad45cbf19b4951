"""Publish simulated rig data straight from the core simulator into a node under test."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image as PillowImage
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CompressedImage, Image

from pm_monitor.core.imaging.codec import from_celsius
from pm_monitor.msg import SensorChunk
from pm_monitor.nodes import conversions as conv
from pm_monitor.nodes.qos import CHUNK_QOS
from pm_monitor.sim.config import RigConfig
from pm_monitor.sim.fault_schedule import FaultSchedule
from pm_monitor.sim.simulator import RigSimulator
from pm_monitor.sim.streaming import RigClock

EPOCH_NS = 1_700_000_000 * 10**9


class RigFeed:
    """Publishes what the rig would, in simulated-time order, spinning the executor after
    every message so nothing queues up (the test runs faster than real time)."""

    def __init__(self, node: Node, executor, schedule: FaultSchedule, seed: int = 3,
                 camera_hz: float = 5.0, compressed: dict[str, str] | None = None) -> None:
        """compressed: image inputs sent as image_transport's "compressed" plugin would, with
        its format parameter, e.g. {"thermal": "png", "camera": "jpeg"}; the others raw."""
        self.executor = executor
        self.sim = RigSimulator(RigConfig(), schedule, seed=seed)
        self.clock = RigClock(self.sim, EPOCH_NS, chunk_s=0.05, camera_hz=camera_hz,
                              thermal_hz=9.0, truth_hz=2.0)
        self.pubs = {
            "accel": node.create_publisher(SensorChunk, "accel", CHUNK_QOS),
            "mic": node.create_publisher(SensorChunk, "mic", CHUNK_QOS),
            "thermal": node.create_publisher(Image, "thermal/image_raw", qos_profile_sensor_data),
            "camera": node.create_publisher(Image, "camera/image_raw", qos_profile_sensor_data),
        }
        self.compressed = dict(compressed or {})
        for kind in self.compressed:
            self.pubs[kind] = node.create_publisher(
                CompressedImage, f"{kind}/image_raw/compressed", qos_profile_sensor_data)
        self.truth: list = []

    def message(self, item):
        if item.kind == "accel":
            return conv.numpy_to_chunk(item.data, item.stamp_ns, "accel", item.sample_rate,
                                       ["x", "y", "z"], "m/s^2", item.first_sample_index)
        if item.kind == "mic":
            return conv.numpy_to_chunk(item.data, item.stamp_ns, "mic", item.sample_rate,
                                       ["mic"], "Pa", item.first_sample_index)
        if item.kind in ("thermal", "camera"):
            pixels, encoding = ((from_celsius(item.data), "mono16") if item.kind == "thermal"
                                else (np.asarray(item.data), "rgb8"))
            codec = self.compressed.get(item.kind)
            if codec == "jpeg" and encoding == "mono16":
                # JPEG takes 8 bits: a thermal camera's picture stream, auto-gain scaled
                span = max(int(pixels.max()) - int(pixels.min()), 1)
                pixels = ((pixels - pixels.min()) * 255 // span).astype(np.uint8)
                encoding = "mono8"
            if codec is not None:
                return compressed_image(pixels, encoding, codec, item.stamp_ns, item.kind)
            return conv.numpy_to_image(pixels, encoding, item.stamp_ns, item.kind)
        return None

    def run_until(self, t_s: float, monitor, skip: frozenset[str] = frozenset(),
                  batch_s: float = 0.25) -> None:
        """Publish up to simulated time t_s in small batches; after each batch spin until the
        monitor has taken every message (its input counters), so none is lost to QoS depth."""
        self.published = getattr(self, "published", 0)
        t = self.clock_t = getattr(self, "clock_t", 0.0)
        while t < t_s:
            t = min(t_s, t + batch_s)
            for item in self.clock.advance_to(t):
                if item.kind == "truth":
                    self.truth.append(item.data)
                elif item.kind not in skip:
                    self.pubs[item.kind].publish(self.message(item))
                    self.published += 1
            self.wait_received(monitor, self.published)
        self.clock_t = t

    def wait_received(self, monitor, count: int, timeout_s: float = 10.0) -> None:
        import time
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            received = sum(s.received for s in monitor.pipeline.stats.inputs.values())
            if received >= count:
                return
            self.executor.spin_once(timeout_sec=0.01)
        raise AssertionError(f"monitor received {received} of {count} messages")


def compressed_image(pixels: np.ndarray, encoding: str, codec: str, t_ns: int,
                     frame_id: str) -> CompressedImage:
    """The CompressedImage image_transport's compressed plugin publishes for a mono16 or rgb8
    Image: the format names the encoding, colour is written from BGR (a true-colour file)."""
    buf = io.BytesIO()
    PillowImage.fromarray(pixels).save(buf, format=codec.upper())
    msg = CompressedImage()
    msg.header = conv.make_header(t_ns, frame_id)
    msg.format = f"{encoding}; {codec} compressed {'bgr8' if pixels.ndim == 3 else ''}"
    msg.data = buf.getvalue()
    return msg
