"""Monitor node: sensor topics in, alerts / heatmaps / explanations / RUL / diagnostics out.

Subscribes (remappable): accel, mic (pm_monitor/SensorChunk), thermal/image_raw,
camera/image_raw (sensor_msgs/Image). Publishes: ~/alert, ~/explanation, ~/rul, ~/heatmap
(rgb8, only while subscribed), ~/health (every window) and /diagnostics.
All logic is in pm_monitor.core.pipeline.
"""
from __future__ import annotations

from pathlib import Path

import rclpy
import torch
from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.qos import (
    DurabilityPolicy,
    HistoryPolicy,
    QoSProfile,
    ReliabilityPolicy,
    qos_profile_sensor_data,
)
from sensor_msgs.msg import Image

from pm_monitor.core.alerting import AlertEvent, AlertPolicy, AlertTracker
from pm_monitor.core.cascade import Cascade
from pm_monitor.core.imaging.codec import RadiometricScale
from pm_monitor.core.imaging.heatmap import overlay
from pm_monitor.core.models.bundle import ModelLoadError, load_bundle
from pm_monitor.core.pipeline import (
    InputRejectedError,
    MonitorPipeline,
    WindowOutput,
    assembler_diagnostics,
    monitor_assembler,
)
from pm_monitor.core.types import ACCEL, CAMERA, MIC, THERMAL
from pm_monitor.msg import Alert, Explanation, HealthStatus, RulEstimate, SensorChunk
from pm_monitor.nodes import conversions as conv
from pm_monitor.nodes.diagnostics import DiagnosticsReporter

# Alerts must never be lost: reliable, and kept for late joiners (transient local).
ALERT_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=100,
                       reliability=ReliabilityPolicy.RELIABLE,
                       durability=DurabilityPolicy.TRANSIENT_LOCAL)
# Sensor data: best effort as ROS drivers publish it, but deep enough for bursts of chunks.
CHUNK_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=200,
                       reliability=qos_profile_sensor_data.reliability,
                       durability=qos_profile_sensor_data.durability)


def default_model_dir() -> str:
    """Installed share/pm_monitor/models/rig_baseline, else the source tree's copy."""
    try:
        from ament_index_python.packages import get_package_share_directory
        return str(Path(get_package_share_directory("pm_monitor")) / "models" / "rig_baseline")
    except (ImportError, LookupError):
        return str(Path(__file__).resolve().parents[2] / "models" / "rig_baseline")


PARAMETERS: dict[str, tuple[object, str]] = {
    "asset_id": ("rig_1", "Asset this monitor watches; part of every alert id."),
    "asset_frame_id": ("asset", "TF frame of the asset, used in alert/RUL headers."),
    "model_dir": ("", "Model bundle directory; empty = the shipped rig baseline."),
    "image_slop_s": (0.1, "Max |frame stamp - window end| for a frame to be used (s)."),
    "modality_timeout_s": (2.0, "A modality silent this long (message time) is left out (s)."),
    "thermal_raw_scale": (0.01, "mono16/16UC1 thermal: deg C = raw * scale + offset."),
    "thermal_raw_offset_c": (-273.15, "mono16/16UC1 thermal: offset in deg C."),
    "alert_on_delay_windows": (2, "Consecutive abnormal windows before an alert is raised."),
    "alert_off_delay_windows": (6, "Consecutive normal windows before an alert is cleared."),
    "alert_update_period_s": (5.0, "An active alert is re-published at most this often (s)."),
    "heatmap_alpha": (0.45, "Opacity of the heatmap over the thermal frame, 0..1."),
    "diagnostics_period_s": (1.0, "Period of /diagnostics messages (s)."),
    "inference_threads": (1, "torch CPU threads; 1 avoids OpenMP contention with the "
                             "node's own thread on small models (measured 13x faster)."),
}


class MonitorNode(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__("pm_monitor", **kwargs)
        for name, (default, description) in PARAMETERS.items():
            self.declare_parameter(name, default, ParameterDescriptor(description=description))
        p = {name: self.get_parameter(name).value for name in PARAMETERS}
        torch.set_num_threads(max(1, int(p["inference_threads"])))
        self.asset_id, self.frame_id = p["asset_id"], p["asset_frame_id"]
        self.heatmap_alpha = float(p["heatmap_alpha"])
        model_dir = p["model_dir"] or default_model_dir()
        bundle = load_bundle(model_dir)  # ModelLoadError is reported by main()
        self.model_version = str(bundle.info.get("version") or bundle.info.get("label", "unknown"))
        self.hop_s = bundle.hop_s
        assembler = monitor_assembler(bundle.window_s, bundle.hop_s, p["image_slop_s"],
                                      p["modality_timeout_s"])
        self.pipeline = MonitorPipeline(
            assembler, Cascade(bundle),
            AlertTracker(self.asset_id, AlertPolicy(p["alert_on_delay_windows"],
                                                    p["alert_off_delay_windows"],
                                                    p["alert_update_period_s"])),
            RadiometricScale(p["thermal_raw_scale"], p["thermal_raw_offset_c"]))
        self.get_logger().info(f"models {self.model_version} from {model_dir}")

        self.alert_pub = self.create_publisher(Alert, "~/alert", ALERT_QOS)
        self.explanation_pub = self.create_publisher(Explanation, "~/explanation", 10)
        self.rul_pub = self.create_publisher(RulEstimate, "~/rul", 10)
        self.health_pub = self.create_publisher(HealthStatus, "~/health", 10)
        self.heatmap_pub = self.create_publisher(Image, "~/heatmap", 5)
        self.diag_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        for name in (ACCEL, MIC):
            self.create_subscription(SensorChunk, name,
                                     lambda msg, n=name: self._on_chunk(n, msg), CHUNK_QOS)
        for name in (THERMAL, CAMERA):
            self.create_subscription(Image, f"{name}/image_raw",
                                     lambda msg, n=name: self._on_image(n, msg),
                                     qos_profile_sensor_data)
        self.diagnostics = DiagnosticsReporter(self.get_name(), self.asset_id,
                                               [ACCEL, MIC, THERMAL, CAMERA])
        self.create_timer(float(p["diagnostics_period_s"]), self._publish_diagnostics)

    # --- inputs ------------------------------------------------------------------------------
    def _on_chunk(self, name: str, msg: SensorChunk) -> None:
        try:
            outputs = self.pipeline.on_chunk(
                name, conv.stamp_to_ns(msg.header.stamp), msg.sample_rate,
                list(msg.channel_names), msg.first_sample_index, msg.samples)
        except InputRejectedError as err:
            self.get_logger().warn(f"rejected {name} chunk: {err}", throttle_duration_sec=2.0)
            return
        self._handle(outputs)

    def _on_image(self, name: str, msg: Image) -> None:
        try:
            outputs = self.pipeline.on_image(name, conv.stamp_to_ns(msg.header.stamp),
                                             msg.header.frame_id, conv.image_to_raw(msg))
        except InputRejectedError as err:
            self.get_logger().warn(f"rejected {name} image: {err}", throttle_duration_sec=2.0)
            return
        self._handle(outputs)

    # --- outputs -----------------------------------------------------------------------------
    def _handle(self, outputs: list[WindowOutput]) -> None:
        for event in self.pipeline.assembler.drain_events():
            # rclpy refuses two severities from one call site: one call per severity
            if event.kind.is_warning:
                self.get_logger().warn(str(event), throttle_duration_sec=2.0)
            else:
                self.get_logger().info(str(event), throttle_duration_sec=2.0)
        for out in outputs:
            result = out.result
            self.rul_pub.publish(conv.rul_msg(result, self.asset_id, self.frame_id))
            self.health_pub.publish(conv.health_msg(result, self.asset_id, self.frame_id,
                                                    self.pipeline.tracker.active_alert_id))
            if out.decision is None:
                continue
            # the alert goes out first; explanation and heatmap never delay it
            self.alert_pub.publish(conv.alert_msg(result, out.decision, self.asset_id,
                                                  self.frame_id, self.model_version))
            self.get_logger().info(f"alert {out.decision.alert_id} "
                                   f"{out.decision.event.name}: {result.summary}")
            if out.decision.event != AlertEvent.CLEARED:
                self._publish_explanation(out)
                self._publish_heatmap(out)

    def _publish_explanation(self, out: WindowOutput) -> None:
        explanation = self.pipeline.cascade.explain(out.result)
        self.explanation_pub.publish(conv.explanation_msg(
            explanation, out.result, out.decision.alert_id, self.asset_id, self.frame_id,
            self.hop_s))

    def _publish_heatmap(self, out: WindowOutput) -> None:
        loc = out.result.localization
        if not conv.localized(out.result) or self.heatmap_pub.get_subscription_count() == 0:
            return
        frame = out.window.frames[loc.modality]
        rgb = overlay(frame.image, loc.heatmap, self.heatmap_alpha, loc.hotspot_xy, loc.region)
        self.heatmap_pub.publish(conv.numpy_to_image(rgb, "rgb8", frame.stamp_ns, loc.frame_id))

    def _publish_diagnostics(self) -> None:
        self.diag_pub.publish(self.diagnostics.build(
            self.pipeline.stats, assembler_diagnostics(self.pipeline.assembler),
            {"model_version": self.model_version, "backend": "torch"},
            self.get_clock().now().to_msg()))


def main(args: list[str] | None = None) -> None:
    rclpy.init(args=args)
    node = None
    try:
        node = MonitorNode()
        rclpy.spin(node)
    except ModelLoadError as err:
        rclpy.logging.get_logger("pm_monitor").fatal(f"cannot load models: {err}")
        raise SystemExit(1) from None
    except ValueError as err:  # parameter values the core refuses, with its reason
        rclpy.logging.get_logger("pm_monitor").fatal(f"invalid configuration: {err}")
        raise SystemExit(1) from None
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
