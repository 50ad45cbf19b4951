"""Replay node: streams the real data sets (FEMTO, CWRU, thermal motor, NEU, MIMII) as the
monitor's input messages, with stamps that follow each recording's own time, at real time
(speed_factor 1) or faster, so the whole graph can be tried on real data.

Publishes (remappable, or set the *_topic parameters): accel, mic (pm_monitor/SensorChunk),
thermal/image_raw, camera/image_raw (sensor_msgs/Image), /clock (replay time, optional).
All selection, stamping and pacing logic is in pm_monitor.replay.
"""
from __future__ import annotations

import math
import time

from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Image

from pm_monitor.core.config_schema import is_builtin
from pm_monitor.core.types import ACCEL, CAMERA, MIC, NS_PER_S, THERMAL
from pm_monitor.datasets import DataNotFoundError
from pm_monitor.msg import SensorChunk
from pm_monitor.nodes import conversions as conv
from pm_monitor.nodes.node_main import run_node
from pm_monitor.nodes.params import start_up_overrides
from pm_monitor.nodes.qos import CHUNK_QOS
from pm_monitor.replay import (
    ChunkPayload,
    ReplayConfig,
    ReplayMessage,
    ReplayPacer,
    Selection,
    SourceOptions,
    build_source,
    replay_messages,
)
from pm_monitor.replay.datasets import parse_names, parse_records
from pm_monitor.replay.schedule import loop_period_ns

TICK_S = 0.005
MAX_MESSAGES_PER_TICK = 100  # bounds a burst (well below the chunk queue depth)
LAG_WARNING_S = 1.0

PARAMETERS: dict[str, tuple[object, str]] = {
    "dataset": ("femto", "femto, cwru, thermal_motor, neu_surface or machine_sound; several "
                         "(comma-separated) play at once, each on its own topic."),
    "bearing": ("Bearing1_3", "femto: bearing to replay, e.g. Bearing1_3."),
    "record": (105, "cwru: record number, or a list ([97, 105] / '97,105') played in order."),
    "cwru_channels": ("DE", "cwru: channels, comma-separated, from DE, FE, BA."),
    "accel_unit": ("g", "femto, cwru: g (as recorded) or m/s^2 (what the monitor's accel "
                        "input expects)."),
    "thermal_class": ("", "thermal_motor: class (session) to replay; empty = all in turn, "
                          "healthy first."),
    "neu_class": ("", "neu_surface: defect class to replay; empty = all in turn."),
    "machine": ("fan/id_00", "machine_sound: 'type/id' or 'type'; empty = all machines "
                             "(normal clips first, then anomalies, per machine id)."),
    "label": ("", "machine_sound: normal, anomaly, or empty for both."),
    "speed_factor": (1.0, "Replay seconds per wall second: 1 = real time, > 1 faster."),
    "chunk_s": (0.02, "Duration of one SensorChunk (s); the last one of a recording is shorter."),
    "loop": (False, "Start again at the end; stamps and sample indices keep increasing."),
    "gap_s": (1.0, "Silence between recordings and between loop passes (s)."),
    "duration_s": (0.0, "Stop after this much replay time (s); 0 = the whole selection."),
    "compress_gaps": (False, "femto: play the 0.1 s snapshots back to back instead of at their "
                             "true times 10 s apart (stamps then run 100x fast)."),
    "frame_period_s": (1.0, "Image data sets: seconds between frames (the files have no "
                            "time stamps)."),
    "thermal_encoding": ("mono16", "thermal_motor: mono16 (palette index mapped onto the "
                                   "ASSUMED thermal_span_c, centikelvin), mono8 (palette "
                                   "index) or rgb8 (false colour)."),
    "thermal_span_c": ([20.0, 80.0], "thermal_motor, mono16: deg C given to palette index 0 "
                                     "and 241. Assumed: the data set has no temperatures."),
    "start_stamp_s": (0.0, "Stamp of the replay's t = 0 (s since the epoch); 0 = now."),
    "publish_clock": (True, "Publish the replay time on /clock (for use_sim_time nodes)."),
    "wait_for_subscribers": (False, "Hold the replay at t = 0 until every topic it "
                                    "publishes has a subscriber (no data lost to discovery)."),
    "accel_topic": ("accel", "Topic of accelerometer chunks (femto, cwru)."),
    "mic_topic": ("mic", "Topic of microphone chunks (machine_sound)."),
    "thermal_topic": ("thermal/image_raw", "Topic of thermal images (thermal_motor)."),
    "camera_topic": ("camera/image_raw", "Topic of camera images (neu_surface)."),
}
# Parameters whose type depends on the use (one record or a list), and numbers that may be
# written without a decimal point (-p speed_factor:=50): both are declared with dynamic typing
# and checked here.
DYNAMIC = {"record"} | {name for name, (default, _) in PARAMETERS.items()
                        if isinstance(default, float | list)}


def as_float(name: str, value: object) -> float:
    """A number parameter given as integer or float -> float; anything else is refused."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number, got {value!r}")
    return float(value)


def parameter_values(node: Node) -> dict[str, object]:
    """Declare the parameters and return their values, numbers as float; unknown names given
    at start-up (a typo such as 'bearings') are an error rather than silently ignored."""
    for name, (default, description) in PARAMETERS.items():
        node.declare_parameter(name, default, ParameterDescriptor(
            description=description, dynamic_typing=name in DYNAMIC))
    unknown = [n for n in start_up_overrides(node) if n not in PARAMETERS and not is_builtin(n)]
    if unknown:
        raise ValueError(f"unknown parameter(s) {', '.join(unknown)}; replay_node takes "
                         f"{', '.join(PARAMETERS)}")
    p = {name: node.get_parameter(name).value for name in PARAMETERS}
    for name, (default, _) in PARAMETERS.items():
        if isinstance(default, float):
            p[name] = as_float(name, p[name])
        elif isinstance(default, list):
            values = p[name] if isinstance(p[name], list | tuple) else [p[name]]
            p[name] = [as_float(name, v) for v in values]
    return p


class ReplayNode(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__("replay", **kwargs)
        p = parameter_values(self)
        selection = Selection(bearing=p["bearing"], records=parse_records(p["record"]),
                              thermal_class=p["thermal_class"], neu_class=p["neu_class"],
                              machine=p["machine"], label=p["label"])
        span = tuple(p["thermal_span_c"])
        if len(span) != 2:
            raise ValueError(f"thermal_span_c must be [low, high], got {list(span)}")
        options = SourceOptions(
            compress_gaps=bool(p["compress_gaps"]), gap_s=float(p["gap_s"]),
            frame_period_s=float(p["frame_period_s"]),
            cwru_channels=parse_names(p["cwru_channels"]), accel_unit=p["accel_unit"],
            thermal_encoding=p["thermal_encoding"], thermal_span_c=span)
        datasets = parse_names(p["dataset"])
        if not datasets:
            raise ValueError("dataset is empty")
        sources = [build_source(name, selection, options) for name in datasets]
        start_ns = round(float(p["start_stamp_s"]) * NS_PER_S) or time.time_ns()
        config = ReplayConfig(start_stamp_ns=start_ns, chunk_s=float(p["chunk_s"]),
                              loop=bool(p["loop"]), gap_s=float(p["gap_s"]),
                              duration_s=float(p["duration_s"]))
        self.pacer = ReplayPacer(replay_messages(sources, config), start_ns,
                                 float(p["speed_factor"]))

        topics = {ACCEL: p["accel_topic"], MIC: p["mic_topic"], THERMAL: p["thermal_topic"],
                  CAMERA: p["camera_topic"]}
        self.pubs = {}
        for src in sources:
            msg_type, qos = ((SensorChunk, CHUNK_QOS) if src.stream in (ACCEL, MIC)
                             else (Image, qos_profile_sensor_data))
            self.pubs[src.stream] = self.create_publisher(msg_type, topics[src.stream], qos)
        self.clock_pub = (self.create_publisher(Clock, "/clock", 10) if p["publish_clock"]
                          else None)
        self.wait_for_subscribers = bool(p["wait_for_subscribers"])
        self.finished = self.pacer.finished
        self._wall_start: float | None = None
        self._last_lag_warning = -math.inf  # the first warning comes at once
        self.create_timer(TICK_S, self._tick)

        pass_s = loop_period_ns(sources, 0.0) / NS_PER_S
        self.get_logger().info(
            f"replaying {', '.join(datasets)} at {self.pacer.speed_factor}x: "
            f"{', '.join(f'{s.stream} -> {self.pubs[s.stream].topic_name}' for s in sources)}; "
            f"{pass_s:.1f} s of replay time per pass ({pass_s / self.pacer.speed_factor:.1f} s "
            f"wall){', looping' if config.loop else ''}")
        if "thermal_motor" in datasets and options.thermal_encoding == "mono16":
            self.get_logger().warning(
                f"thermal_motor has no temperatures: palette index 0..241 is mapped linearly "
                f"onto an ASSUMED {span[0]}..{span[1]} deg C (thermal_span_c)")

    @property
    def started(self) -> bool:
        """The replay clock runs (subscribers found, when waiting for them)."""
        return self._wall_start is not None

    def _tick(self) -> None:
        if self.finished:
            return
        if self._wall_start is None:
            if self.wait_for_subscribers and not all(
                    pub.get_subscription_count() > 0 for pub in self.pubs.values()):
                return
            self._wall_start = time.monotonic()
        elapsed = time.monotonic() - self._wall_start
        for message in self.pacer.due(elapsed, MAX_MESSAGES_PER_TICK):
            self._publish(message)
        if self.clock_pub is not None:
            self.clock_pub.publish(Clock(clock=conv.ns_to_stamp(
                self.pacer.message_time_ns(elapsed))))
        lag = self.pacer.lag_s(elapsed)
        if lag > LAG_WARNING_S and elapsed - self._last_lag_warning > 5.0:
            self._last_lag_warning = elapsed
            self.get_logger().warning(
                f"replay is {lag:.1f} s (wall) behind: speed_factor "
                f"{self.pacer.speed_factor} is more than this machine can publish "
                f"(fewer messages: raise chunk_s, or frame_period_s for images)")
        if self.pacer.finished:
            self.finished = True
            self.get_logger().info(f"replay done: {self.pacer.released} messages")

    def _publish(self, m: ReplayMessage) -> None:
        payload = m.payload
        if isinstance(payload, ChunkPayload):
            msg = conv.numpy_to_chunk(payload.samples, m.stamp_ns, m.frame_id,
                                      payload.sample_rate, list(payload.channel_names),
                                      payload.unit, payload.first_sample_index)
        else:
            msg = conv.numpy_to_image(payload.pixels, payload.encoding, m.stamp_ns, m.frame_id)
        self.pubs[m.stream].publish(msg)


def main(args: list[str] | None = None) -> None:
    run_node(ReplayNode, "replay", (DataNotFoundError, ValueError), args=args,
             until_finished=True)

if __name__ == "__main__":
    main()
