"""The core's Python logging reaches the ROS log with the node's prefix; the model report says
an unavailable backend once, not once per model."""
from __future__ import annotations

import logging

from pm_monitor.nodes.ros_logging import (
    RosLogHandler,
    bridge_python_logging,
    muted,
    summarize_model_report,
)


class _Recorder:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def __getattr__(self, level):
        return lambda text: self.lines.append((level, text))


def test_one_line_per_unavailable_backend_and_reason():
    why = "the tensorrt Python package is not installed"
    report = [f"stage1: tensorrt unavailable: {why}", "stage1: auto measured ... -> onnxruntime",
              f"anomaly: tensorrt unavailable: {why}", f"thermal: tensorrt unavailable: {why}",
              "thermal: onnxruntime unavailable: no CUDA provider"]
    summary = summarize_model_report(report)
    assert summary == [
        (True, f"tensorrt unavailable for stage1, anomaly, thermal: {why}"),
        (False, "stage1: auto measured ... -> onnxruntime"),
        (True, "onnxruntime unavailable for thermal: no CUDA provider")]


def test_core_records_go_to_the_ros_logger_at_their_severity_and_can_be_muted():
    recorder = _Recorder()
    handler = bridge_python_logging(recorder)
    core = logging.getLogger("pm_monitor.inference")
    try:
        core.warning("thermal: tensorrt unavailable: %s", "not installed")
        core.info("engine cached")
        with muted("pm_monitor.inference"):
            core.warning("said by the node instead")
            core.error("still shown")
        assert recorder.lines == [
            ("warning", "pm_monitor.inference: thermal: tensorrt unavailable: not installed"),
            ("info", "pm_monitor.inference: engine cached"),
            ("error", "pm_monitor.inference: still shown")]
    finally:
        root = logging.getLogger("pm_monitor")
        root.removeHandler(handler)
        root.propagate = True
    assert isinstance(handler, RosLogHandler)
