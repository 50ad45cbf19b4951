"""Everything the monitor publishes about its windows, in one place the lifecycle node creates
at configure and drops at cleanup.

Per window: `~/health`, `~/markers` (RViz, only while subscribed); `~/rul` once per estimate
of the RUL stage, published after the window's alerts and health. Per alarm update: `~/alert`
first — reliable, transient local, deep enough never to drop one — then `~/heatmap` /
`~/heatmap_raw` (the main localisation: thermal, else camera) and `~/camera_heatmap` /
`~/camera_heatmap_raw` (a camera localisation beside a thermal one), only while subscribed,
and, after a raise or an escalation, an `~/explanation` computed on a worker thread (it
carries the alert id and the time it took; an alert never waits for it).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

from pm_monitor.core.alarms import AlarmEvent, AlarmManager
from pm_monitor.core.explain.live_explainer import ExplainedAlert, LiveExplainer
from pm_monitor.core.pipeline import WindowOutput
from pm_monitor.core.types import CAMERA
from pm_monitor.msg import Alert, Explanation, HealthStatus, RulEstimate
from pm_monitor.nodes import conversions as conv
from pm_monitor.nodes.qos import ALERT_QOS
from pm_monitor.nodes.visualization import HeatmapPublisher, MarkerPublisher
from pm_monitor.sync.monitor_messages import fill_health_clocks

# Every alert about an active condition is followed by a heatmap (cheap, and only rendered
# while someone subscribes); an explanation (integrated gradients + counterfactual, ~100 ms
# of CPU) follows a raise or an escalation, when what the operator must know changes. On
# every periodic update as well, the worker competed with the cascade on a 2-core machine and
# the monitor lost chunks (55 accelerometer gaps in the 240 s demo instead of 1).
HEATMAP_EVENTS = (AlarmEvent.RAISED, AlarmEvent.UPDATED, AlarmEvent.ESCALATED)
EXPLAINED_EVENTS = (AlarmEvent.RAISED, AlarmEvent.ESCALATED)
# An external RUL estimate older than this (message time) is not attached to alerts.
EXTERNAL_RUL_MAX_AGE_NS = 120 * 10**9


@dataclass(frozen=True)
class OutputContext:
    asset_id: str
    frame_id: str
    model_version: str
    hop_s: float


class MonitorOutputs:
    """Publishers of one configured monitor and the per-window publishing logic."""

    def __init__(self, node, context: OutputContext, alarms: AlarmManager,
                 explainer: LiveExplainer | None, heatmap_alpha: float) -> None:
        make = node.create_lifecycle_publisher
        self.node, self.context, self.alarms = node, context, alarms
        self.alert = make(Alert, "~/alert", ALERT_QOS)
        self.explanation = make(Explanation, "~/explanation", 10)
        self.rul = make(RulEstimate, "~/rul", 10)
        self.health = make(HealthStatus, "~/health", 10)
        self.heatmaps = HeatmapPublisher(node, make, alpha=heatmap_alpha)
        self.camera_heatmaps = HeatmapPublisher(node, make, alpha=heatmap_alpha,
                                                topic="~/camera_heatmap")
        self.markers = MarkerPublisher(node, context.asset_id, context.frame_id, make)
        self.explainer = explainer
        self._external_rul: RulEstimate | None = None
        self._lock = threading.Lock()  # explanations are published from the worker thread
        self.alerts_published = 0
        self.explanations_published = 0
        self.explanation_failures = 0

    # --- per window ------------------------------------------------------------------------
    def publish_window(self, out: WindowOutput) -> None:
        result, c = out.result, self.context
        # no healthy-background sample from windows without a decision (commissioning,
        # Stage 1 inputs missing): their Stage 1 input is all zeros
        if self.explainer is not None and result.decided:
            self.explainer.observe(result, alert_active=self.alarms.active_alert_id() is not None)
        # alerts go out first: nothing below may delay them
        for update in out.decisions:
            self.alert.publish(self._alert_msg(result, update))
            self.alerts_published += 1
            self.node.get_logger().info(
                f"alert {update.alert_id} {update.event.name} ({update.lifecycle.name}): "
                f"{result.summary}")
        health = conv.health_msg(result, c.asset_id, c.frame_id, self.alarms.active_alert_id())
        fill_health_clocks(health, out.clock_models)
        self.health.publish(health)
        self.markers.publish_result(result, self._worst_active_state(result))
        if any(u.event in HEATMAP_EVENTS for u in out.decisions):
            self._publish_heatmap(out)
        if self.explainer is not None:
            for update in out.decisions:
                if update.event in EXPLAINED_EVENTS:
                    self.explainer.submit(result, update.alert_id, out.window.frames)

    def publish_rul(self, estimate) -> None:
        """One RulEstimate per estimate of the RUL stage (one per update period of the stage;
        a core.rul.live.LiveEstimate, made after its window's decision was published)."""
        c = self.context
        self.rul.publish(conv.rul_msg(estimate, c.asset_id, c.frame_id))

    def publish_alarm_update(self, msg: Alert) -> None:
        """An operator action or shelving expiry (from the alarm services)."""
        self.alert.publish(msg)
        self.alerts_published += 1

    def note_external_rul(self, msg: RulEstimate) -> None:
        """The latest RulEstimate of a dedicated RUL node (e.g. rul_node on the
        accelerometer): attached to alerts while the cascade itself has no estimate."""
        if msg.valid:
            self._external_rul = msg

    def publishers(self) -> list:
        """Every lifecycle publisher (for destroy_lifecycle_publisher at cleanup)."""
        return [self.alert, self.explanation, self.rul, self.health, self.heatmaps.rgb,
                self.heatmaps.raw, self.camera_heatmaps.rgb, self.camera_heatmaps.raw,
                self.markers.publisher]

    def close(self) -> None:
        if self.explainer is not None:
            self.explainer.close(drain=False)

    # --- helpers -----------------------------------------------------------------------------
    def _alert_msg(self, result, update) -> Alert:
        c = self.context
        msg = conv.alert_msg(result, update, c.asset_id, c.frame_id, c.model_version,
                             self.alarms.zone_table.source)
        external = self._external_rul
        if (not msg.rul_known and external is not None
                and abs(result.t_end_ns - conv.stamp_to_ns(external.header.stamp))
                <= EXTERNAL_RUL_MAX_AGE_NS):
            msg.rul_known = True
            msg.rul_s, msg.rul_lower_s = external.rul_s, external.rul_lower_s
            msg.rul_upper_s, msg.health_index = external.rul_upper_s, external.health_index
        return msg

    def _worst_active_state(self, result):
        states = [a.severity for a in self.alarms.active_alarms(include_shelved=False)
                  if a.asset_id == self.context.asset_id and a.condition_active]
        return max([result.state, *states])

    def _publish_heatmap(self, out: WindowOutput) -> None:
        loc = out.result.localization
        if conv.localized(out.result) and self.heatmaps.wanted():
            self.heatmaps.publish_localization(loc, out.window.frames[loc.modality])
        for extra in out.result.localizations[1:]:
            frame = out.window.frames.get(extra.modality)
            if extra.modality == CAMERA and frame is not None and self.camera_heatmaps.wanted():
                self.camera_heatmaps.publish_localization(extra, frame)

    def on_explained(self, done: ExplainedAlert) -> None:
        """Worker-thread callback of the LiveExplainer."""
        if done.explanation is None:
            self.explanation_failures += 1
            self.node.get_logger().warn(f"explanation of {done.alert_id} failed: {done.error}")
            return
        c = self.context
        msg = conv.explanation_msg(done.explanation, done.result, done.alert_id, c.asset_id,
                                   c.frame_id, c.hop_s)
        with self._lock:
            self.explanation.publish(msg)
            self.explanations_published += 1
