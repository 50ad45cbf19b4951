"""RUL node: accelerometer SensorChunks in, RulEstimate on ~/rul and /diagnostics out.

Subscribes `accel` (pm_monitor/SensorChunk, remappable; channels named by the
horizontal_channel / vertical_channel parameters, unit g or m/s^2 by the `unit` field).
Publishes ~/rul (pm_monitor/RulEstimate, reliable, depth 10) once per update period of stream
time, and /diagnostics. All logic is in pm_monitor.core.rul.live; this node only converts.
The estimate carries its evidence kind (population prior / condition-based) and is `valid`
only when the model holds a calibration for that kind.

With a `reference_dir` the estimate survives a restart: the onset monitor's reference (part
"rul_snapshots") and the tracker state (part "rul_state", core/rul/state.py) are stored there
per asset_id and restored at start-up (/diagnostics `rul_state` says which, or why a stored
state was refused). Service ~/commission (pm_monitor/Commission): "progress", or "reset" when a
new bearing is fitted (forgets both).
"""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.exceptions import ParameterException
from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, qos_profile_sensor_data

from pm_monitor.core.assets.description import load as load_asset
from pm_monitor.core.condition.reference import ReferenceStore
from pm_monitor.core.config_schema import as_spec
from pm_monitor.core.pipeline import InputRejectedError
from pm_monitor.core.rul.live import INPUT_NAME, LiveConfig, LiveEstimate, LiveRulEstimator
from pm_monitor.core.rul.prognosis import PrognosisModel, PrognosisModelError
from pm_monitor.core.rul.state import RulStateStore
from pm_monitor.msg import RulEstimate, RulExplanation, SensorChunk
from pm_monitor.nodes import conversions as conv
from pm_monitor.nodes.commission_service import attach_commission_service
from pm_monitor.nodes.diagnostics import DiagnosticsReporter, log_rul_state
from pm_monitor.nodes.node_main import run_node
from pm_monitor.nodes.params import descriptor

# The monitor's chunk profile: best effort as drivers publish, deep enough for bursts.
CHUNK_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=200,
                       reliability=qos_profile_sensor_data.reliability,
                       durability=qos_profile_sensor_data.durability)


def default_model_path() -> str:
    """Installed share/pm_monitor/models/rul_femto/rul_prognosis.json, else the source tree's."""
    return _shipped(Path("models") / "rul_femto" / "rul_prognosis.json")


def default_asset_path() -> str:
    """The FEMTO bearing's description (config/assets/femto_bearing.yaml), installed or not."""
    return _shipped(Path("config") / "assets" / "femto_bearing.yaml")


def _shipped(relative: Path) -> str:
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
    "model_path": ("", "RUL model file (.json, core/rul/prognosis.py); empty = the shipped "
                       "models/rul_femto model (FEMTO bearings)."),
    "asset_file": ("", "Asset description (config/assets/*.yaml) of the any-machine monitor "
                       "that gives the degradation onset (its first confirmed not-Normal "
                       "state, judged on this node's own snapshots); empty = the shipped "
                       "FEMTO bearing's; 'none' = no onset (population prior only)."),
    "reference_dir": ("", "Where that monitor stores its commissioning reference (part "
                          "'rul_snapshots' of a reference store, per asset_id) and the RUL "
                          "tracker state (part 'rul_state': operating time, onset, damage), "
                          "restored after a restart; empty = not stored: a restart starts a "
                          "new asset (elapsed_at_start_s, commissioning on the first "
                          "reference_s of the stream)."),
    "update_period_s": (10.0, "Stream seconds between estimates (one snapshot each; FEMTO "
                              "took one every 10 s).", (0.01, 86400.0)),
    "window_s": (0.1, "Snapshot length in s (any sample rate; FEMTO: 0.1 s).", (0.001, 60.0)),
    "horizontal_channel": ("horizontal", "SensorChunk channel with the horizontal axis."),
    "vertical_channel": ("vertical", "SensorChunk channel with the vertical axis."),
    "elapsed_at_start_s": (0.0, "Age of the asset (s of operation) when the stream starts; "
                                "a stored RUL state (reference_dir) overrides it.",
                           (0.0, 1e10)),
    "count_downtime": (False, "After a restart from a stored state, count the time between "
                              "the last stored estimate and the new stream's first chunk (by "
                              "their stamps) as operation (default: not counted, the machine "
                              "may have stood still; true e.g. for intermittent acquisition)."),
    "rpm": (0.0, "Shaft speed (rpm) for the population prior; 0 = unknown.", (0.0, 1e6)),
    "load_n": (0.0, "Radial bearing load (N) for the population prior; 0 = unknown.",
               (0.0, 1e9)),
    "diagnostics_period_s": (1.0, "Period of /diagnostics messages (s).", (0.1, 60.0)),
    "explain_every": (6, "Publish ~/rul_explanation for every n-th estimate (0 = never): "
                         "Shapley values of the RUL over health indicators x time blocks of "
                         "the last 24 snapshots, on a worker thread (~1-2 s of CPU each).",
                      (0, 100000)),
}


class RulNode(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__("rul_node", **kwargs)
        for name, entry in PARAMETERS.items():
            self.declare_parameter(name, entry[0], descriptor(as_spec(entry)))
        p = {name: self.get_parameter(name).value for name in PARAMETERS}
        self.asset_id, self.frame_id = str(p["asset_id"]), str(p["asset_frame_id"])
        self.model_path = str(p["model_path"] or default_model_path())
        model = PrognosisModel.load(self.model_path)  # PrognosisModelError names the file
        if model.prior.reference == "rating_life" and not (p["rpm"] > 0 and p["load_n"] > 0):
            raise ValueError(f"{self.model_path}: its population prior scales with the "
                             "operating condition: set the rpm and load_n parameters")
        asset_file = str(p["asset_file"] or default_asset_path())
        asset = None
        if asset_file != "none":
            asset = replace(load_asset(asset_file), asset_id=self.asset_id)
        references = ReferenceStore(str(p["reference_dir"])) if p["reference_dir"] else None
        self.estimator = LiveRulEstimator(model, LiveConfig(
            horizontal_channel=str(p["horizontal_channel"]),
            vertical_channel=str(p["vertical_channel"]),
            update_period_s=float(p["update_period_s"]), window_s=float(p["window_s"]),
            elapsed_at_start_s=float(p["elapsed_at_start_s"]),
            rpm=float(p["rpm"]) or None, load_n=float(p["load_n"]) or None,
            model_name=model.name, count_downtime=bool(p["count_downtime"])), asset,
            references.part("rul_snapshots") if references else None,
            RulStateStore(references.part("rul_state").root) if references else None,
            self.asset_id)
        log_rul_state(self.get_logger(), self.estimator)
        self._last_evidence = "none yet"
        self.rul_pub = self.create_publisher(RulEstimate, "~/rul", 10)
        self.explain_every = int(p["explain_every"])
        self.explanation_pub = self.create_publisher(RulExplanation, "~/rul_explanation", 10)
        self._explainer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rul_explain")
        self._explaining: Future | None = None
        self._estimates = 0
        self.explanations_skipped = 0  # an explanation was still running: this one skipped
        self.diag_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.diagnostics = DiagnosticsReporter(self.get_name(), self.asset_id, [INPUT_NAME],
                                               self.get_clock().now().nanoseconds,
                                               warn_after_s=3 * float(p["update_period_s"]),
                                               latency_budget_ms=1000.0 * float(
                                                   p["update_period_s"]))
        self.subscription = self.create_subscription(SensorChunk, INPUT_NAME, self._on_chunk,
                                                     CHUNK_QOS)
        self.create_timer(float(p["diagnostics_period_s"]), self._publish_diagnostics)
        self.commission_service = attach_commission_service(self, lambda: None,
                                                            lambda: self.estimator)
        self.get_logger().info(f"RUL model {self.model_path}; onset from "
                               + (f"the any-machine monitor ({asset_file})" if asset else
                                  "nowhere (asset_file none): population prior only")
                               + "; listening on "
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
            self._last_evidence = estimate.evidence
            self.rul_pub.publish(self._to_msg(estimate))
            self._maybe_explain(estimate)

    def _maybe_explain(self, estimate: LiveEstimate) -> None:
        """Every explain_every-th estimate, after it is published, on the worker thread (an
        explanation never delays an estimate); skipped and counted while one still runs."""
        self._estimates += 1
        if not self.explain_every or self._estimates % self.explain_every:
            return
        if self._explaining is not None and not self._explaining.done():
            self.explanations_skipped += 1
            return
        self._explaining = self._explainer.submit(self._explain, self.estimator.recent.frozen(),
                                                  estimate)

    def _explain(self, recent, estimate: LiveEstimate) -> None:
        try:
            explanation = recent.explain(self.estimator.model.indicator_names)
        except Exception as err:
            self.get_logger().warn(f"RUL explanation failed: {type(err).__name__}: {err}",
                                   throttle_duration_sec=10.0)
            return
        if explanation is not None:
            self.explanation_pub.publish(conv.rul_explanation_msg(
                explanation, estimate.stamp_ns, self.asset_id, self.frame_id,
                estimate.model_name))

    def destroy_node(self) -> None:
        self._explainer.shutdown(wait=True, cancel_futures=True)
        super().destroy_node()

    def _to_msg(self, estimate: LiveEstimate) -> RulEstimate:
        return conv.rul_msg(estimate, self.asset_id, self.frame_id)

    def _publish_diagnostics(self) -> None:
        now = self.get_clock().now()
        values = self.estimator.diagnostics()
        self.diag_pub.publish(self.diagnostics.build(
            self.estimator.stats, values,
            {"model_version": Path(self.model_path).name, "model_path": self.model_path,
             "evidence_kind": self._last_evidence, "rul_state": values["rul_state"],
             "rul_note": values["rul_note"]},
            now.nanoseconds, now.to_msg()))


def main(args: list[str] | None = None) -> None:
    # a bad model file or parameter ends with the reason, not a traceback
    run_node(RulNode, "rul_node", (PrognosisModelError, ValueError, ParameterException),
             "not started", args=args)

if __name__ == "__main__":
    main()
