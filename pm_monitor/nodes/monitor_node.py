"""Monitor node (lifecycle): sensor topics in, alerts / heatmaps / explanations / RUL /
diagnostics out.

Subscribes (remappable): accel, mic (pm_monitor/SensorChunk), thermal/image_raw,
camera/image_raw (sensor_msgs/Image; with thermal_transport / camera_transport "compressed" or
"compressedDepth" the sensor_msgs/CompressedImage of image_transport's plugin on
<base>/compressed, <base>/compressedDepth, the base remapped as for raw), rul_in
(pm_monitor/RulEstimate of a dedicated RUL node, attached to alerts while the cascade has no
valid estimate). Publishes: ~/alert, ~/explanation, ~/rul (once per estimate of the model
set's RUL stage, core/stages/rul.py), ~/health (every window), ~/heatmap (rgb8) and
~/heatmap_raw (32FC1),
~/camera_heatmap(_raw) when the models also localise on the camera, ~/markers (RViz; heatmaps
and markers only while subscribed) and /diagnostics. Services: ~/acknowledge_alarm,
~/shelve_alarm, ~/unshelve_alarm, ~/set_alarm_in_service, ~/list_alarms, and with the physics
model set (asset_file) ~/commission (start / reset / progress of the asset's reference) plus
the asset's tachometer topic when its description names one; with a model set whose RUL stage
keeps its state under reference_dir (core/stages/rul.py), ~/commission "reset" (new bearing)
forgets that state and onset reference too.

Lifecycle (ros2/demos lifecycle_py style): configure validates the parameters and loads the
models, activate subscribes and switches the publishers on, deactivate unsubscribes, cleanup
releases everything. A configuration or model problem goes to error processing with one clear
message and leaves the node unconfigured, alive, for a lifecycle manager to retry.
`autostart` (default true) configures and activates at start-up when no manager is used.
All logic is in pm_monitor.core.pipeline.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.qos import HistoryPolicy, QoSProfile, qos_profile_sensor_data
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Float64

from pm_monitor.core.alarms import AlarmConfig, AlarmManager, default_alert_log_path
from pm_monitor.core.condition.reference import default_reference_dir
from pm_monitor.core.condition.stage import PhysicsStage1
from pm_monitor.core.config_schema import ConfigError
from pm_monitor.core.explain.live_explainer import LiveExplainer
from pm_monitor.core.imaging.codec import RadiometricScale
from pm_monitor.core.inference import InferenceConfig
from pm_monitor.core.model_set import load_model_set
from pm_monitor.core.models.bundle import ModelLoadError
from pm_monitor.core.pipeline import (
    InputRejectedError,
    MonitorPipeline,
    WindowOutput,
    assembler_diagnostics,
    monitor_assembler,
)
from pm_monitor.core.stages.rul import PrognosisRul
from pm_monitor.core.sync.parameters import clock_offsets_from
from pm_monitor.core.types import ACCEL, CAMERA, MIC, THERMAL
from pm_monitor.msg import RulEstimate, SensorChunk
from pm_monitor.nodes import conversions as conv
from pm_monitor.nodes.alarm_services import AlarmServices
from pm_monitor.nodes.commission_service import attach_commission_service
from pm_monitor.nodes.diagnostics import DiagnosticsReporter, log_rul_state
from pm_monitor.nodes.monitor_outputs import MonitorOutputs, OutputContext
from pm_monitor.nodes.node_main import run_node
from pm_monitor.nodes.params import (
    ALARM_PREFIX,
    MONITOR_PARAMETERS,
    ParameterGuard,
    declare_from_table,
    values_of,
)
from pm_monitor.nodes.qos import CHUNK_QOS
from pm_monitor.nodes.ros_logging import muted, summarize_model_report
from pm_monitor.sync.monitor_messages import sync_drops_msg

INPUTS = (ACCEL, MIC, THERMAL, CAMERA)
# Queued explanations beyond this are dropped and counted (an alert storm must not pile up
# seconds of integrated gradients behind the alerts).
MAX_PENDING_EXPLANATIONS = 4


def default_model_dir(name: str = "rig_baseline") -> str:
    """Installed share/pm_monitor/models/<name>, else the source tree's copy."""
    try:
        from ament_index_python.packages import get_package_share_directory
        return str(Path(get_package_share_directory("pm_monitor")) / "models" / name)
    except (ImportError, LookupError):
        return str(Path(__file__).resolve().parents[2] / "models" / name)


class MonitorNode(LifecycleNode):
    def __init__(self, **kwargs) -> None:
        super().__init__("pm_monitor", **kwargs)
        # bad start-up values are not raised here: configure reports all of them at once
        self._startup_problems = declare_from_table(self, MONITOR_PARAMETERS)
        self._guard = ParameterGuard(self, MONITOR_PARAMETERS, self._apply_change)
        self.pipeline: MonitorPipeline | None = None
        self.outputs: MonitorOutputs | None = None
        self.alarm_services: AlarmServices | None = None
        self._diagnostics_pub = None
        self._sync_drops_pub = None
        self._rul_subscription = None
        self._input_subscriptions: list = []
        self._commission_service = None
        self._speed_subscription = None
        self._diag_timer = None
        self.active = False
        self.finished = False  # after the shutdown transition
        self.last_error = ""
        self._failures_logged = 0
        if self.get_parameter("autostart").value:
            self.trigger_configure()
            if self.pipeline is not None:
                self.trigger_activate()

    # --- lifecycle ---------------------------------------------------------------------------
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        try:
            # the loader's own log lines say per model what the report below says once
            with muted("pm_monitor.inference"):
                self._configure()
        except (ConfigError, ValueError) as err:
            return self._fail(f"invalid configuration: {err}")
        except ModelLoadError as err:
            return self._fail(f"cannot load models: {err}")
        except Exception as err:  # anything else (torch, files): still one line, no traceback
            return self._fail(f"configure failed: {type(err).__name__}: {err}")
        self.get_logger().info(f"configured: models {self.model_version} from {self.model_dir}")
        return TransitionCallbackReturn.SUCCESS

    def _configure(self) -> None:
        if self._startup_problems:
            raise ConfigError(self._startup_problems, "start-up parameters")
        p = values_of(self, MONITOR_PARAMETERS)
        torch.set_num_threads(int(p["inference_threads"]))
        self.asset_id, self.frame_id = p["asset_id"], p["asset_frame_id"]
        self.model_dir = p["model_dir"] or default_model_dir(
            "physics" if p["asset_file"] else "rig_baseline")
        self.models = load_model_set(
            self.model_dir, InferenceConfig.from_parameters(
                p, ort_threads=int(p["inference_threads"])),
            fusion_model_path=p["fusion_model_path"], shaft_speed_rpm=p["shaft_speed_rpm"],
            asset_file=p["asset_file"],
            reference_dir=p["reference_dir"] or str(default_reference_dir()),
            asset_id=self.asset_id)
        self.model_version, self.hop_s = self.models.version, self.models.hop_s
        rul = self.rul_stage()
        # refused / migrated: said once here too (the report line below says it calmly)
        if rul is not None and (rul.estimator.state_refused
                                or rul.estimator.model_change is not None):
            log_rul_state(self.get_logger(), rul.estimator)
        for unavailable, line in summarize_model_report(self.models.describe()):
            # under auto, trying a backend this machine lacks is normal: say it, calmly
            # (once for all models); a backend asked for by name is worth a warning
            if p["backend"] != "auto" and unavailable:
                self.get_logger().warn(f"models: {line}")
            else:
                self.get_logger().info(f"models: {line}")
        alarm_config = AlarmConfig.from_parameters(p, prefix=ALARM_PREFIX)
        alarms = AlarmManager(self.asset_id, alarm_config,
                              p["alert_log_path"] or default_alert_log_path(self.asset_id),
                              clock=self._now_ns)
        self.pipeline = MonitorPipeline(
            monitor_assembler(self.models.window_s, self.models.hop_s, p["image_slop_s"],
                              p["modality_timeout_s"], self.models.accel_channels,
                              p["sync_latency_budget_s"], p["sync_drop_warn_s"]),
            self.models, alarms,
            RadiometricScale(p["thermal_raw_scale"], p["thermal_raw_offset_c"]),
            max_future_s=float(p["max_future_stamp_s"]), accel_unit=self.models.accel_unit,
            sample_rates=self.models.sample_rates,
            clocks=clock_offsets_from(p, (ACCEL, MIC), (THERMAL, CAMERA)))
        self._failures_logged = 0
        context = OutputContext(self.asset_id, self.frame_id, self.model_version, self.hop_s)
        explainer = LiveExplainer(self.models.explainer, self._on_explained,
                                  MAX_PENDING_EXPLANATIONS, self._on_explanation_dropped)
        self.outputs = MonitorOutputs(self, context, alarms, explainer,
                                      float(p["heatmap_alpha"]))
        self.alarm_services = AlarmServices(self, alarms, self.outputs.publish_alarm_update,
                                            self.frame_id, self.model_version)
        self._physics_inputs()
        # diagnostics also while inactive: an operator should see the node is idle
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        # what the synchroniser dropped and why, each diagnostics period
        self._sync_drops_pub = self.create_publisher(DiagnosticArray, "~/sync_drops", 10)
        self.diagnostics = DiagnosticsReporter(
            self.get_name(), self.asset_id, list(INPUTS), self._now_ns(),
            warn_after_s=p["modality_timeout_s"], error_after_s=p["stale_error_s"],
            latency_budget_ms=self.models.hop_s * 1000.0,
            unused=tuple(m for m in INPUTS if m not in self.models.inputs))
        self._diag_timer = self.create_timer(float(p["diagnostics_period_s"]),
                                             self._publish_diagnostics)

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        for name in (ACCEL, MIC):
            self._input_subscriptions.append(self.create_subscription(
                SensorChunk, name, lambda msg, n=name: self._on_chunk(n, msg), CHUNK_QOS))
        for name in (THERMAL, CAMERA):
            self._input_subscriptions.append(self._image_subscription(name))
        self._rul_subscription = self.create_subscription(
            RulEstimate, "rul_in", self.outputs.note_external_rul,
            QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=10))
        self.diagnostics.restart(self._now_ns())
        self.active = True
        self.get_logger().info("active: subscribed to "
                               + ", ".join(s.topic_name for s in self._input_subscriptions))
        return super().on_activate(state)

    def _image_subscription(self, name: str):
        """The image input's subscription on its transport: raw Image on <name>/image_raw, or
        image_transport's CompressedImage on <name>/image_raw/<transport>. As image_transport
        does, the transport topic hangs off the base topic after remapping, so
        thermal/image_raw:=/ptz/thermal/image_raw moves /compressed along."""
        base = f"{name}/image_raw"
        transport = self.get_parameter(f"{name}_transport").value
        callback = functools.partial(self._on_image, name)
        if transport == "raw":
            return self.create_subscription(Image, base, callback, qos_profile_sensor_data)
        return self.create_subscription(
            CompressedImage, f"{self.resolve_topic_name(base)}/{transport}", callback,
            qos_profile_sensor_data)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._unsubscribe()
        self.get_logger().info("inactive: unsubscribed (models and buffers kept)")
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._release()
        self.get_logger().info("cleaned up: models released")
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._release()
        # main() spins until `finished`, lingers a moment so the transition's reply goes
        # out, and exits: a finalized lifecycle node has nothing left to do
        self.finished = True
        self.get_logger().info(f"shut down from {state.label}: subscriptions, publishers, "
                               "models and alert log released; exiting")
        return TransitionCallbackReturn.SUCCESS

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        # release what a failed transition left half built; back to unconfigured, so a
        # lifecycle manager can try again once the model file or configuration is fixed
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def destroy_node(self) -> None:
        # a node destroyed without a cleanup transition must not leave the explanation
        # worker thread or the alert log open
        self._release()
        super().destroy_node()

    def _fail(self, reason: str) -> TransitionCallbackReturn:
        self.last_error = reason
        self.get_logger().error(reason)
        return TransitionCallbackReturn.ERROR

    def _destroy(self, attribute: str, destroy: Callable[[Any], object]) -> None:
        """Destroy the ROS entity (subscription, service, timer, publisher) the attribute
        holds, if any, and forget it, so releasing twice is harmless."""
        entity = getattr(self, attribute)
        if entity is not None:
            destroy(entity)
            setattr(self, attribute, None)

    def _unsubscribe(self) -> None:
        for subscription in self._input_subscriptions:
            self.destroy_subscription(subscription)
        self._input_subscriptions = []
        self._destroy("_rul_subscription", self.destroy_subscription)
        self.active = False

    def physics_stage(self) -> PhysicsStage1 | None:
        """The physics model set's Stage 1 (commissioning), None with another model set."""
        stage = getattr(getattr(getattr(self, "models", None), "cascade", None), "stage1", None)
        return stage if isinstance(stage, PhysicsStage1) else None

    def rul_stage(self) -> PrognosisRul | None:
        """The model set's RUL stage (None without one)."""
        return getattr(getattr(getattr(self, "models", None), "cascade", None), "rul", None)

    def _physics_inputs(self) -> None:
        """~/commission (the physics set's commissioning and / or the RUL stage's onset
        reference and state: "reset" forgets both), and the asset's tachometer topic
        (std_msgs/Float64, rpm) when its description says the speed comes from one."""
        stage = self.physics_stage()
        if stage is None and self.rul_stage() is None:
            return
        self._commission_service = attach_commission_service(self, self.physics_stage,
                                                             self.rul_stage)
        if stage is None:
            return
        speed = stage.asset.shaft_speed
        if speed.source == "topic":
            def on_speed(msg: Float64) -> None:
                if math.isfinite(msg.data) and msg.data > 0:
                    stage.given_rpm = float(msg.data)
            self._speed_subscription = self.create_subscription(Float64, speed.topic,
                                                                on_speed, 10)

    def _release_physics_inputs(self) -> None:
        self._destroy("_commission_service", self.destroy_service)
        self._destroy("_speed_subscription", self.destroy_subscription)

    def _release(self) -> None:
        self._release_physics_inputs()
        self._unsubscribe()
        self._destroy("_diag_timer", self.destroy_timer)
        if self.alarm_services is not None:
            self.alarm_services.destroy()
            self.alarm_services = None
        if self.outputs is not None:
            self.outputs.close()
            for publisher in self.outputs.publishers():
                self.destroy_lifecycle_publisher(publisher)
            self.outputs = None
        self._destroy("_diagnostics_pub", self.destroy_publisher)
        self._destroy("_sync_drops_pub", self.destroy_publisher)
        if self.pipeline is not None:
            self.pipeline.alarms.close()  # flushes and closes the alert log
            self.pipeline = None

    # --- parameters --------------------------------------------------------------------------
    def _apply_change(self, changes: dict[str, object]) -> None:
        """Dynamic parameters take effect on the running pipeline at once (read-only ones
        are refused by their descriptor before this runs)."""
        if self.pipeline is None:
            return  # read at configure
        pipeline = self.pipeline
        values = {**values_of(self, MONITOR_PARAMETERS), **changes}
        if any(name.startswith(ALARM_PREFIX) for name in changes):
            pipeline.set_alarm_config(AlarmConfig.from_parameters(values, prefix=ALARM_PREFIX))
        if "image_slop_s" in changes:
            pipeline.assembler.set_image_slop(float(values["image_slop_s"]))
        if changes.keys() & {"thermal_raw_scale", "thermal_raw_offset_c"}:
            pipeline.radiometric = RadiometricScale(values["thermal_raw_scale"],
                                                    values["thermal_raw_offset_c"])
        pipeline.max_future_s = float(values["max_future_stamp_s"])
        self.outputs.heatmaps.alpha = float(values["heatmap_alpha"])
        self.outputs.camera_heatmaps.alpha = float(values["heatmap_alpha"])
        self.diagnostics.error_after_s = float(values["stale_error_s"])
        self.get_logger().info(f"parameters changed: {changes}")

    # --- inputs ------------------------------------------------------------------------------
    def _now_ns(self) -> int:
        return self.get_clock().now().nanoseconds

    def _receive_clock_ns(self) -> int | None:
        """The clock for the far-future check; None before a sim-time /clock has arrived."""
        now = self._now_ns()
        return now if now > 0 else None

    def _on_chunk(self, name: str, msg: SensorChunk) -> None:
        try:
            outputs = self.pipeline.on_chunk(
                name, conv.stamp_to_ns(msg.header.stamp), msg.sample_rate,
                list(msg.channel_names), msg.first_sample_index, msg.samples,
                self._receive_clock_ns(), unit=msg.unit, frame_id=msg.header.frame_id)
        except InputRejectedError as err:
            self.get_logger().warn(f"rejected {name} chunk: {err}", throttle_duration_sec=2.0)
            return
        self._handle(outputs)

    def _on_image(self, name: str, msg: Image | CompressedImage) -> None:
        fields = (conv.compressed_image_data(msg) if isinstance(msg, CompressedImage)
                  else conv.image_to_raw(msg))
        try:
            outputs = self.pipeline.on_image(name, conv.stamp_to_ns(msg.header.stamp),
                                             msg.header.frame_id, fields,
                                             self._receive_clock_ns())
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
        inference = self.pipeline.stats.inference
        if inference.failures > self._failures_logged:
            self._failures_logged = inference.failures
            self.get_logger().error(f"{inference.failures} window(s) failed so far, last: "
                                    f"{inference.last_failure}", throttle_duration_sec=5.0)
        for out in outputs:
            self.outputs.publish_window(out)
        # after every window's alerts and health are out: the RUL never delays them
        for out in outputs:
            estimate = self.pipeline.observe_rul(out)
            if estimate is not None:
                self.outputs.publish_rul(estimate)

    def _on_explained(self, done) -> None:
        if self.outputs is not None:
            self.outputs.on_explained(done)

    def _on_explanation_dropped(self, alert_id: str, dropped: int) -> None:
        self.get_logger().warn(f"explanation of {alert_id} dropped: {dropped} so far "
                               "(explanations queue full)", throttle_duration_sec=5.0)

    def _publish_diagnostics(self) -> None:
        now = self.get_clock().now()
        models = {"model_version": self.model_version, "model_dir": self.model_dir,
                  "models": self.models.name, "backend": self.models.backend_summary(),
                  **self.models.status()}
        alarm_values = self.pipeline.alarms.diagnostics()
        explainer = self.outputs.explainer.stats() if self.outputs.explainer else None
        if explainer is not None:
            alarm_values.update({"explanations_published": self.outputs.explanations_published,
                                 "explanations_dropped": explainer.dropped,
                                 "explanation_failures": self.outputs.explanation_failures})
        self._diagnostics_pub.publish(self.diagnostics.build(
            self.pipeline.stats,
            assembler_diagnostics(self.pipeline.assembler, self.pipeline.clocks), models,
            now.nanoseconds, now.to_msg(), self.active, alarm_values,
            self._input_publishers()))
        drops = self.pipeline.assembler.drops
        records, lost = drops.drain(), drops.recent_overflowed
        drops.recent_overflowed = 0
        if records or lost:
            self._sync_drops_pub.publish(sync_drops_msg(records, now.to_msg(), self.get_name(),
                                                        lost))

    def _input_publishers(self) -> dict[str, list[str]]:
        """Who publishes on each input topic, from the ROS graph: more than one publisher on
        an input is an error the diagnostics name (their streams interleave)."""
        publishers = {}
        for name, subscription in zip(INPUTS, self._input_subscriptions, strict=False):
            publishers[name] = [conv.describe_endpoint(info) for info in
                                self.get_publishers_info_by_topic(subscription.topic_name)]
        return publishers


class MonitorNotStartedError(RuntimeError):
    """autostart asked for an active monitor and configuring or activating it failed."""


def _started_monitor() -> MonitorNode:
    node = MonitorNode()
    if node.get_parameter("autostart").value and not node.active:
        # no lifecycle manager will retry: end with the reason, not a traceback
        reason = node.last_error
        node.destroy_node()
        raise MonitorNotStartedError(reason)
    return node


def main(args: list[str] | None = None) -> None:
    run_node(_started_monitor, "pm_monitor", (MonitorNotStartedError,), "not started", args=args,
             until_finished=True)


if __name__ == "__main__":
    main()
