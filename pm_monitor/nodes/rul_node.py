"""RUL node: accelerometer SensorChunks in, RulEstimate on ~/rul and /diagnostics out.

Subscribes `accel` (pm_monitor/SensorChunk, remappable; channels named by the
horizontal_channel / vertical_channel parameters, unit g or m/s^2 by the `unit` field).
Publishes ~/rul (pm_monitor/RulEstimate, reliable, depth 10) once per update period of stream
time, and /diagnostics. All logic is in pm_monitor.core.rul.live; this node only converts.
"""
from __future__ import annotations

from pathlib import Path

import torch
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.exceptions import ParameterException
from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, qos_profile_sensor_data

from pm_monitor.core.config_schema import as_spec
from pm_monitor.core.explain.rul_relevance import explain_network
from pm_monitor.core.inference import InferenceConfig
from pm_monitor.core.pipeline import InputRejectedError
from pm_monitor.core.rul.accelerate import accelerate
from pm_monitor.core.rul.cwt_features import FEATURE_NAMES
from pm_monitor.core.rul.ensemble import RulEnsemble, RulModelError
from pm_monitor.core.rul.live import INPUT_NAME, LiveConfig, LiveEstimate, LiveRulEstimator
from pm_monitor.msg import RulEstimate, RulExplanation, SensorChunk
from pm_monitor.nodes import conversions as conv
from pm_monitor.nodes.diagnostics import DiagnosticsReporter
from pm_monitor.nodes.node_main import run_node
from pm_monitor.nodes.params import descriptor

# The monitor's chunk profile: best effort as drivers publish, deep enough for bursts.
CHUNK_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=200,
                       reliability=qos_profile_sensor_data.reliability,
                       durability=qos_profile_sensor_data.durability)


def default_model_path() -> str:
    """Installed share/pm_monitor/models/rul_femto/rul_femto.pt, else the source tree's."""
    relative = Path("models") / "rul_femto" / "rul_femto.pt"
    try:
        from ament_index_python.packages import get_package_share_directory
        return str(Path(get_package_share_directory("pm_monitor")) / relative)
    except (ImportError, LookupError):
        return str(Path(__file__).resolve().parents[2] / relative)


# (default, description[, range or allowed values]): the range goes into the ROS descriptor,
# so an out-of-range value is refused at start-up and by `ros2 param set`.
PARAMETERS: dict[str, tuple] = {
    "asset_id": ("rig_1", "Asset whose bearing this node watches (RulEstimate.asset_id)."),
    "asset_frame_id": ("asset", "Frame id of the RulEstimate header."),
    "model_path": ("", "RUL model file (.pt); empty = the shipped models/rul_femto model."),
    "window_samples": (0, "Samples per analysis window; 0 = the model's (2560 = 0.1 s at "
                          "25.6 kHz). Any other value must equal the model's.", (0, 10_000_000)),
    "update_period_s": (10.0, "Stream seconds between estimates (one snapshot each; FEMTO "
                              "took one every 10 s).", (0.01, 86400.0)),
    "horizontal_channel": ("horizontal", "SensorChunk channel with the horizontal axis."),
    "vertical_channel": ("vertical", "SensorChunk channel with the vertical axis."),
    "elapsed_at_start_s": (0.0, "Age of the bearing (s of operation) when the stream starts.",
                           (0.0, 1e9)),
    "diagnostics_period_s": (1.0, "Period of /diagnostics messages (s).", (0.1, 60.0)),
    "inference_threads": (1, "torch / ONNX Runtime CPU threads (1 avoids OpenMP "
                             "contention).", (1, 64)),
    "backend": ("auto", "Inference backend of the ensemble members; auto picks the fastest "
                        "one that works here.", ("auto", "tensorrt", "onnxruntime", "torch")),
    "engine_cache_dir": ("", "Cached ONNX exports and TensorRT engines; empty = "
                             "~/.cache/pm_monitor/inference."),
    "explain": (True, "Publish ~/rul_explanation (layer-wise relevance of each input and "
                      "snapshot) with every estimate (~0.4 s of CPU per estimate)."),
}


class RulNode(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__("rul_node", **kwargs)
        for name, entry in PARAMETERS.items():
            self.declare_parameter(name, entry[0], descriptor(as_spec(entry)))
        p = {name: self.get_parameter(name).value for name in PARAMETERS}
        torch.set_num_threads(int(p["inference_threads"]))
        self.asset_id, self.frame_id = str(p["asset_id"]), str(p["asset_frame_id"])
        self.model_path = str(p["model_path"] or default_model_path())
        model = RulEnsemble.load(self.model_path)  # RulModelError names the file
        for line in accelerate(model, InferenceConfig.from_parameters(
                p, ort_threads=int(p["inference_threads"]))):
            self.get_logger().info(f"inference: {line}")
        window = int(p["window_samples"])
        if window not in (0, model.snapshot.window_samples):
            raise ValueError(f"window_samples {window} differs from the model's "
                             f"{model.snapshot.window_samples} ({self.model_path})")
        self.estimator = LiveRulEstimator(model, LiveConfig(
            horizontal_channel=str(p["horizontal_channel"]),
            vertical_channel=str(p["vertical_channel"]),
            update_period_s=float(p["update_period_s"]),
            elapsed_at_start_s=float(p["elapsed_at_start_s"]),
            model_name=Path(self.model_path).stem))
        self.rul_pub = self.create_publisher(RulEstimate, "~/rul", 10)
        self.explain = bool(p["explain"])
        self.explanation_pub = self.create_publisher(RulExplanation, "~/rul_explanation", 10)
        self.diag_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.diagnostics = DiagnosticsReporter(self.get_name(), self.asset_id, [INPUT_NAME],
                                               self.get_clock().now().nanoseconds,
                                               warn_after_s=3 * float(p["update_period_s"]),
                                               latency_budget_ms=1000.0 * float(
                                                   p["update_period_s"]))
        self.subscription = self.create_subscription(SensorChunk, INPUT_NAME, self._on_chunk,
                                                     CHUNK_QOS)
        self.create_timer(float(p["diagnostics_period_s"]), self._publish_diagnostics)
        self.get_logger().info(f"RUL model {self.model_path}; listening on "
                               f"{self.subscription.topic_name}")

    def _on_chunk(self, msg: SensorChunk) -> None:
        try:
            estimates = self.estimator.on_chunk(
                conv.stamp_to_ns(msg.header.stamp), msg.sample_rate, list(msg.channel_names),
                msg.unit, msg.first_sample_index, msg.samples)
        except InputRejectedError as err:
            self.get_logger().warn(f"rejected accel chunk: {err}", throttle_duration_sec=2.0)
            return
        for estimate in estimates:
            self.rul_pub.publish(self._to_msg(estimate))
            if self.explain:
                self._publish_explanation(estimate)

    def _publish_explanation(self, estimate: LiveEstimate) -> None:
        """LRP of the ensemble on the inputs the estimate used (after it was published: an
        explanation never delays the estimate); a failure is logged, never raised."""
        inputs = self.estimator.last_inputs
        if inputs is None:
            return
        images, features, t_s = inputs
        model = self.estimator.model
        head = 0 if estimate.onset_s is not None else 1  # the head the RUL was read from
        try:
            x_img, x_feat = model.tensors(images[None], features[None])
            explanation = explain_network(model.members, x_img[0].numpy(), x_feat[0].numpy(),
                                          t_s, FEATURE_NAMES, head)
        except Exception as err:
            self.get_logger().warn(f"RUL explanation failed: {type(err).__name__}: {err}",
                                   throttle_duration_sec=10.0)
            return
        self.explanation_pub.publish(conv.rul_explanation_msg(
            explanation, estimate.stamp_ns, self.asset_id, self.frame_id, estimate.model_name))

    def _to_msg(self, estimate: LiveEstimate) -> RulEstimate:
        msg = RulEstimate()
        msg.header.stamp = conv.ns_to_stamp(estimate.stamp_ns)
        msg.header.frame_id = self.frame_id
        msg.asset_id = self.asset_id
        msg.valid = estimate.valid
        msg.rul_s = float(estimate.rul_s)
        msg.rul_lower_s = float(estimate.lower_s)
        msg.rul_upper_s = float(estimate.upper_s)
        msg.interval_coverage = float(estimate.coverage)
        msg.health_index = float(estimate.health_index)
        msg.model_name = estimate.model_name
        return msg

    def _publish_diagnostics(self) -> None:
        now = self.get_clock().now()
        self.diag_pub.publish(self.diagnostics.build(
            self.estimator.stats, self.estimator.diagnostics(),
            {"model_version": Path(self.model_path).name, "model_path": self.model_path,
             "backend": "torch"}, now.nanoseconds, now.to_msg()))


def main(args: list[str] | None = None) -> None:
    # a bad model file or parameter ends with the reason, not a traceback
    run_node(RulNode, "rul_node", (RulModelError, ValueError, ParameterException),
             "not started", args=args)

if __name__ == "__main__":
    main()
