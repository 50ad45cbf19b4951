"""Records a monitor run (alerts, explanations, health, RUL, heatmaps, rig ground truth,
diagnostics) and writes the demo's output folder: JSON lines, heatmap PNGs, timeline and
summary as before, plus the whole run as MCAP (`recording/`, rosbag2 layout: `ros2 bag play`,
Foxglove) and an HTML + PNG report (`report/`, pm_monitor.report). Used by
`pm_monitor.demo.run_demo` and the cross-process test.
"""
from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node
from rclpy.serialization import serialize_message
from sensor_msgs.msg import Image

from pm_monitor.core.recording.mcap_bag import McapRecorder
from pm_monitor.msg import Alert, Explanation, HealthStatus, RigGroundTruth, RulEstimate
from pm_monitor.nodes import conversions as conv
from pm_monitor.nodes.qos import ALERT_QOS
from pm_monitor.report.detection import (
    AlertRecord,
    HealthSample,
    RulSample,
    TruthSample,
    format_summary,
    summarise,
)
from pm_monitor.report.timeline_plot import plot_timeline


def ros_type_name(msg_type: type) -> str:
    """'pm_monitor/msg/Alert' for a generated message class."""
    return f"{msg_type.__module__.split('.')[0]}/msg/{msg_type.__name__}"


class RunRecorder(Node):
    """Keeps everything in memory (a demo run is minutes long) and writes it at the end.

    record_mcap: also keep every received message serialised, in arrival order, and write them
    to `<out_dir>/recording/` (MCAP) in write(); make_report: then build `<out_dir>/report/`.
    """

    def __init__(self, monitor_ns: str = "/pm_monitor", truth_topic: str = "/rig/ground_truth",
                 on_alert: Callable[[Alert], None] | None = None,
                 max_heatmaps: int = 40, record_mcap: bool = True,
                 make_report: bool = True, **node_kwargs) -> None:
        """node_kwargs: passed to rclpy's Node (e.g. context=...)."""
        super().__init__("pm_monitor_recorder", **node_kwargs)
        self.on_alert = on_alert
        self.max_heatmaps = max_heatmaps
        self.record_mcap = record_mcap
        self.make_report = make_report
        # (topic, ROS type, receive time ns, CDR bytes), in arrival order
        self.recorded: list[tuple[str, str, int, bytes]] = []
        self.epoch_ns: int | None = None
        self.alerts: list[Alert] = []
        self.explanations: list[Explanation] = []
        self.health: list[HealthStatus] = []
        self.rul: list[RulEstimate] = []
        self.truth: list[RigGroundTruth] = []
        self.heatmaps: list[Image] = []
        self.heatmaps_seen = 0
        self.camera_heatmaps: list[Image] = []  # the real-data profile's camera maps
        subscribe = self._subscribe
        subscribe(Alert, f"{monitor_ns}/alert", self._on_alert, ALERT_QOS)
        subscribe(Explanation, f"{monitor_ns}/explanation", self.explanations.append, 50)
        subscribe(HealthStatus, f"{monitor_ns}/health", self.health.append, 100)
        subscribe(RulEstimate, f"{monitor_ns}/rul", self.rul.append, 100)
        subscribe(Image, f"{monitor_ns}/heatmap", self._on_heatmap, 10)
        subscribe(Image, f"{monitor_ns}/camera_heatmap", self._on_camera_heatmap, 10)
        subscribe(RigGroundTruth, truth_topic, self._on_truth, 100)
        self.diagnostics: dict[str, dict[str, str]] = {}  # latest values per status name
        subscribe(DiagnosticArray, "/diagnostics", self._on_diagnostics, 10)

    def _subscribe(self, msg_type, topic: str, callback, qos) -> None:
        """Subscribe; with record_mcap every message is also kept serialised for the MCAP."""
        if not self.record_mcap:
            self.create_subscription(msg_type, topic, callback, qos)
            return
        type_name = ros_type_name(msg_type)
        subscription = None

        def record_then(msg) -> None:
            self.recorded.append((subscription.topic_name, type_name,
                                  self.get_clock().now().nanoseconds, serialize_message(msg)))
            callback(msg)

        subscription = self.create_subscription(msg_type, topic, record_then, qos)

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            self.diagnostics[status.name] = {
                "message": status.message, **{kv.key: kv.value for kv in status.values}}

    def _on_alert(self, msg: Alert) -> None:
        self.alerts.append(msg)
        if self.on_alert is not None:
            self.on_alert(msg)

    def _on_heatmap(self, msg: Image) -> None:
        self.heatmaps_seen += 1
        if len(self.heatmaps) < self.max_heatmaps:
            self.heatmaps.append(msg)

    def _on_camera_heatmap(self, msg: Image) -> None:
        if len(self.camera_heatmaps) < self.max_heatmaps:
            self.camera_heatmaps.append(msg)

    def _on_truth(self, msg: RigGroundTruth) -> None:
        if self.epoch_ns is None:
            self.epoch_ns = conv.stamp_to_ns(msg.header.stamp) - round(msg.sim_time_s * 1e9)
        self.truth.append(msg)

    # --- conversion to the evaluation records --------------------------------------------
    def _t(self, header) -> float:
        return (conv.stamp_to_ns(header.stamp) - (self.epoch_ns or 0)) / 1e9

    def records(self) -> tuple[list[TruthSample], list[HealthSample], list[AlertRecord],
                               list[RulSample]]:
        truth = [TruthSample(self._t(m.header), m.state, m.severity,
                             m.rul_s if m.rul_known else None,
                             (m.hotspot_x, m.hotspot_y) if m.hotspot_known else None)
                 for m in self.truth]
        health = [HealthSample(self._t(m.header), m.state, m.anomaly_score,
                               m.anomaly_threshold, m.anomalous, m.health_index)
                  for m in self.health]
        alerts = [AlertRecord(self._t(m.header), m.alert_id, m.event, m.state,
                              (m.hotspot_x, m.hotspot_y) if m.localized else None,
                              m.rul_s if m.rul_known else None) for m in self.alerts]
        rul = [RulSample(self._t(m.header), m.rul_s, m.rul_lower_s, m.rul_upper_s)
               for m in self.rul if m.valid]
        return truth, health, alerts, rul

    def write_recording(self, folder: Path) -> Path:
        """The recorded messages as MCAP (rosbag2 folder); an earlier recording there (a
        previous demo run into the same output dir) is replaced, anything else is refused."""
        if folder.exists():
            if not (folder / "metadata.yaml").is_file():
                raise FileExistsError(f"{folder} exists and is not a recording: not replaced")
            shutil.rmtree(folder)
        with McapRecorder(folder) as bag:
            for topic, type_name, t_ns, cdr in self.recorded:
                bag.write(topic, type_name, t_ns, cdr)
        return folder

    def write_rul_timeline(self, out_dir: Path, title: str = "") -> dict | None:
        """rul.jsonl and rul_timeline.png of the monitor's ~/rul (prior, onset, condition-based
        parts against the true RUL of the rig's ground truth); the RUL summary. None without
        RulEstimates or without a ground-truth life to score them against."""
        from pm_monitor.report.rul_timeline import plot, summarise

        lives = [self._t(m.header) + m.rul_s for m in self.truth if m.rul_known]
        if not self.rul or not lives:
            return None
        estimates = [conv.message_to_dict(m) | {"t_s": self._t(m.header)} for m in self.rul]
        with open(out_dir / "rul.jsonl", "w") as f:
            for estimate in estimates:
                f.write(json.dumps(estimate) + "\n")
        life_s = float(np.median(lives))  # the failure time the ground truth counts down to
        plot(estimates, life_s, f"{title or 'run'}: the monitor's ~/rul (population prior "
             "until the onset, condition-based after)", out_dir / "rul_timeline.png",
             unit="s", time_label="run time")
        return summarise(estimates, life_s)

    def write(self, out_dir: Path, title: str = "") -> dict:
        """Write alerts/explanations (JSON lines), heatmap PNGs, timeline PNG and summary;
        with record_mcap the MCAP recording, with make_report the HTML report."""
        import matplotlib.pyplot as plt

        out_dir.mkdir(parents=True, exist_ok=True)
        for name, messages in (("alerts", self.alerts), ("explanations", self.explanations)):
            with open(out_dir / f"{name}.jsonl", "w") as f:
                for m in messages:
                    f.write(json.dumps(conv.message_to_dict(m)) + "\n")
        heat_dir = out_dir / "heatmaps"
        heat_dir.mkdir(exist_ok=True)
        for prefix, images in (("heatmap", self.heatmaps),
                               ("camera_heatmap", self.camera_heatmaps)):
            for i, m in enumerate(images):
                rgb = np.frombuffer(bytes(m.data), np.uint8).reshape(m.height, m.width, 3)
                plt.imsave(heat_dir / f"{prefix}_{i:03d}_t{self._t(m.header):07.1f}s.png", rgb)
        truth, health, alerts, rul = self.records()
        summary = summarise(truth, health, alerts, rul)
        plot_timeline(out_dir / "timeline.png", truth, health, alerts, rul, title)
        result = {**summary.as_dict(), "heatmaps_received": self.heatmaps_seen,
                  "camera_heatmaps_saved": len(self.camera_heatmaps),
                  "explanations": len(self.explanations),
                  "monitor_diagnostics": self.diagnostics}
        rul_summary = self.write_rul_timeline(out_dir, title)
        if rul_summary is not None:
            result["rul"] = rul_summary
        if self.record_mcap:
            recording = self.write_recording(out_dir / "recording")
            result["recording"] = str(recording)
            result["recorded_messages"] = len(self.recorded)
            if self.make_report:
                from pm_monitor.report.__main__ import build_report
                from pm_monitor.report.run_data import load_recording

                result["report"] = str(build_report(load_recording(recording),
                                                    out_dir / "report",
                                                    title or "pm_monitor run report"))
        (out_dir / "summary.json").write_text(json.dumps(result, indent=2))
        (out_dir / "summary.md").write_text(f"# {title or 'pm_monitor run'}\n\n"
                                            + format_summary(summary) + "\n")
        return result
