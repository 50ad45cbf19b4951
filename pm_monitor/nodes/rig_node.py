"""Simulated test rig node: publishes accelerometer, microphone, thermal and camera data of a
rotating machine developing the faults of a YAML schedule, plus its ground truth.

Runs on a simulated clock (speed_factor x wall time) whose stamps go into every header and,
optionally, onto /clock for use_sim_time users. The physics lives in pm_monitor.sim.

A plain node, not a lifecycle node: it is a simulator that owns no models or hardware, starts
publishing as soon as it exists and is only ever started and stopped with its test; a
configure/activate cycle would add states nobody manages. Its parameters are read-only and
checked against the same kind of spec table as the monitor's.
"""
from __future__ import annotations

import time

from rclpy.node import Node
from rclpy.qos import QoSProfile, qos_profile_sensor_data
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Image

from pm_monitor.core.config_schema import ConfigError
from pm_monitor.core.imaging.codec import from_celsius
from pm_monitor.core.types import NS_PER_S
from pm_monitor.msg import RigGroundTruth, SensorChunk
from pm_monitor.nodes import conversions as conv
from pm_monitor.nodes.node_main import run_node
from pm_monitor.nodes.params import RIG_PARAMETERS, declare_from_table, values_of
from pm_monitor.sim.config import RigConfig
from pm_monitor.sim.fault_schedule import FaultSchedule, FaultScheduleError
from pm_monitor.sim.simulator import RigSimulator
from pm_monitor.sim.streaming import RigClock

CHUNK_QOS = QoSProfile(depth=200, reliability=qos_profile_sensor_data.reliability,
                       durability=qos_profile_sensor_data.durability)

class RigNode(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__("rig", **kwargs)
        problems = declare_from_table(self, RIG_PARAMETERS)
        if problems:
            raise ConfigError(problems, "rig parameters")
        p = values_of(self, RIG_PARAMETERS)
        schedule = _schedule(p["fault_schedule"])
        self.params = p
        self.sim = RigSimulator(RigConfig(), schedule, seed=int(p["seed"]))
        epoch_ns = int(p["stamp_epoch_s"] * NS_PER_S) or time.time_ns()
        self.clock = RigClock(self.sim, epoch_ns=epoch_ns, chunk_s=float(p["chunk_s"]),
                              camera_hz=float(p["camera_hz"]),
                              thermal_hz=float(p["thermal_hz"]), truth_hz=float(p["truth_hz"]))
        self.accel_pub = self.create_publisher(SensorChunk, "accel", CHUNK_QOS)
        self.mic_pub = self.create_publisher(SensorChunk, "mic", CHUNK_QOS)
        self.thermal_pub = self.create_publisher(Image, "thermal/image_raw", 10)
        self.camera_pub = self.create_publisher(Image, "camera/image_raw", 10)
        self.truth_pub = self.create_publisher(RigGroundTruth, "~/ground_truth", 10)
        self.clock_pub = (self.create_publisher(Clock, "/clock", 10) if p["publish_clock"]
                          else None)
        self.speed = float(p["speed_factor"])
        self.duration_s = float(p["duration_s"])
        self.finished = False
        self._wall_start: float | None = None
        self._sensor_pubs = (self.accel_pub, self.mic_pub, self.thermal_pub, self.camera_pub)
        self.create_timer(0.01, self._tick)
        self.get_logger().info(
            f"rig running at {self.speed}x, schedule: {schedule.description or 'healthy'}")

    def _tick(self) -> None:
        if self._wall_start is None:
            if self.params["wait_for_subscribers"] and not all(
                    pub.get_subscription_count() > 0 for pub in self._sensor_pubs):
                return
            self._wall_start = time.monotonic()
        t_sim = (time.monotonic() - self._wall_start) * self.speed
        if self.duration_s > 0:
            t_sim = min(t_sim, self.duration_s)
        for item in self.clock.advance_to(t_sim):
            self._publish(item)
        if self.clock_pub is not None:
            self.clock_pub.publish(Clock(clock=conv.ns_to_stamp(self.clock.stamp_ns(t_sim))))
        if self.duration_s > 0 and t_sim >= self.duration_s and not self.finished:
            self.finished = True
            self.get_logger().info(f"simulated {self.duration_s:.1f} s: done")

    def _publish(self, item) -> None:
        kind = item.kind
        if kind in ("accel", "mic"):
            names = list(self.sim.config.accel_channels) if kind == "accel" else ["mic"]
            unit = "m/s^2" if kind == "accel" else "Pa"
            msg = conv.numpy_to_chunk(item.data, item.stamp_ns, f"rig/{kind}", item.sample_rate,
                                      names, unit, item.first_sample_index)
            (self.accel_pub if kind == "accel" else self.mic_pub).publish(msg)
        elif kind == "thermal":
            if self.params["thermal_encoding"] == "mono16":
                pixels, encoding = from_celsius(item.data), "mono16"
            else:
                pixels, encoding = item.data, "32FC1"
            self.thermal_pub.publish(conv.numpy_to_image(pixels, encoding, item.stamp_ns,
                                                         "rig/thermal_optical"))
        elif kind == "camera":
            self.camera_pub.publish(conv.numpy_to_image(item.data, "rgb8", item.stamp_ns,
                                                        "rig/camera_optical"))
        elif kind == "truth":
            self.truth_pub.publish(self._truth_msg(item.stamp_ns, item.data))

    def _truth_msg(self, stamp_ns: int, truth) -> RigGroundTruth:
        msg = RigGroundTruth()
        msg.header = conv.make_header(stamp_ns, "rig")
        msg.asset_id = self.params["asset_id"]
        msg.sim_time_s = float(truth.t_s)
        msg.state = int(truth.state)
        msg.fault_type = truth.fault_type
        msg.fault_location = truth.fault_location or ""
        msg.severity = float(truth.severity)
        msg.rul_known = truth.rul_s is not None
        msg.rul_s = float(truth.rul_s) if truth.rul_s is not None else 0.0
        msg.shaft_speed_hz = float(truth.shaft_hz)
        msg.hotspot_known = truth.hotspot_px is not None
        if truth.hotspot_px is not None:
            msg.hotspot_x, msg.hotspot_y = (int(v) for v in truth.hotspot_px)
        return msg


def _schedule(path: str) -> FaultSchedule:
    """The fault schedule of `path` (empty: healthy); a file that cannot be read is a
    configuration problem of the fault_schedule parameter, reported in one line."""
    if not path:
        return FaultSchedule()
    try:
        return FaultSchedule.from_yaml(path)
    except OSError as err:
        raise ConfigError([f"fault_schedule: cannot read {path!r}: "
                           f"{err.strerror or err}"], "rig parameters") from None


def main(args: list[str] | None = None) -> None:
    # OSError: a fault schedule that does not exist or cannot be read
    run_node(RigNode, "rig", (FaultScheduleError, ValueError, OSError), args=args,
             until_finished=True)

if __name__ == "__main__":
    main()
