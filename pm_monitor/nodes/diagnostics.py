"""Build /diagnostics messages from the pipeline's counters (diagnostic_updater is not on PyPI)."""
from __future__ import annotations

import time

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

from pm_monitor.core.pipeline import PipelineStats


def _kv(**values: object) -> list[KeyValue]:
    return [KeyValue(key=k, value=f"{v:.3f}" if isinstance(v, float) else str(v))
            for k, v in values.items()]


class DiagnosticsReporter:
    """Turns counters into statuses; WARN when an input rejected messages since the last
    report or went silent, so an operator sees *which* input is wrong and why."""

    def __init__(self, node_name: str, hardware_id: str, inputs: list[str],
                 stale_after_s: float = 3.0) -> None:
        self.node_name = node_name
        self.hardware_id = hardware_id
        self.inputs = inputs
        self.stale_after_s = stale_after_s
        self._last_rejected: dict[str, int] = {}
        self._last_received: dict[str, int] = {}
        self._last_progress_wall: dict[str, float] = {}
        self._started_wall = time.monotonic()

    def build(self, stats: PipelineStats, sync_stats: dict[str, object],
              model_info: dict[str, str], stamp) -> DiagnosticArray:
        array = DiagnosticArray()
        array.header.stamp = stamp
        now = time.monotonic()
        for name in self.inputs:
            array.status.append(self._input_status(name, stats, now))
        array.status.append(self._status(
            "synchroniser", DiagnosticStatus.OK, "aligning inputs into windows", sync_stats))
        inference = stats.inference
        array.status.append(self._status(
            "inference", DiagnosticStatus.OK, f"{inference.windows} windows processed",
            {"windows": inference.windows, "stage2_runs": inference.stage2_runs,
             "latency_ms_mean": inference.latency_ms_mean,
             "latency_ms_max": inference.latency_ms_max, **model_info}))
        return array

    def _input_status(self, name: str, stats: PipelineStats, now: float) -> DiagnosticStatus:
        s = stats.inputs.get(name)
        received = s.received if s else 0
        rejected = s.rejected if s else 0
        if received != self._last_received.get(name, 0):
            self._last_progress_wall[name] = now
        new_rejections = rejected - self._last_rejected.get(name, 0)
        self._last_rejected[name] = rejected
        self._last_received[name] = received
        silent_s = now - self._last_progress_wall.get(name, self._started_wall)
        level, message = DiagnosticStatus.OK, "receiving"
        if new_rejections > 0 and s is not None:
            level, message = DiagnosticStatus.WARN, f"rejected {new_rejections}: {s.last_error}"
        elif silent_s > self.stale_after_s:
            level, message = DiagnosticStatus.WARN, f"no message for {silent_s:.1f} s"
        values = {"received": received, "rejected": rejected,
                  "rate_hz": s.rate_hz() if s else 0.0,
                  "last_error": s.last_error if s else ""}
        return self._status(f"input {name}", level, message, values)

    def _status(self, what: str, level: bytes, message: str,
                values: dict[str, object]) -> DiagnosticStatus:
        return DiagnosticStatus(level=level, name=f"{self.node_name}: {what}", message=message,
                                hardware_id=self.hardware_id, values=_kv(**values))
