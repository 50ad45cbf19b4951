"""Python `logging` of the core into the ROS log, and the monitor's model report in few lines.

The core logs with the standard library (it never imports rclpy). Without a handler Python
prints WARNING records bare on stderr, without the node's name or a time stamp (the
TensorRT-unavailable lines did that, once per model); bridged, they carry the ROS logger
prefix and reach /rosout and the log files like every other line of the node.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

from rclpy.impl.rcutils_logger import RcutilsLogger

CORE_LOGGER = "pm_monitor"


class RosLogHandler(logging.Handler):
    """Forwards records to an rclpy logger at their severity."""

    def __init__(self, logger: RcutilsLogger) -> None:
        super().__init__()
        self.logger = logger

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = f"{record.name}: {record.getMessage()}"
        except Exception:  # a bad format string in a record must not break the node
            self.handleError(record)
            return
        # rclpy refuses two severities from one call site: one call per severity
        if record.levelno >= logging.ERROR:
            self.logger.error(text)
        elif record.levelno >= logging.WARNING:
            self.logger.warning(text)
        elif record.levelno >= logging.INFO:
            self.logger.info(text)
        else:
            self.logger.debug(text)


def bridge_python_logging(logger: RcutilsLogger) -> RosLogHandler:
    """Route the core's Python logging ("pm_monitor.*") into `logger` (once per process)."""
    core = logging.getLogger(CORE_LOGGER)
    for handler in [h for h in core.handlers if isinstance(h, RosLogHandler)]:
        core.removeHandler(handler)
    handler = RosLogHandler(logger)
    core.addHandler(handler)
    core.setLevel(logging.INFO)
    core.propagate = False
    return handler


@contextmanager
def muted(name: str) -> Iterator[None]:
    """Hold back records of logger `name` below ERROR (the caller reports the same facts in
    its own, shorter words)."""
    target = logging.getLogger(name)

    def below_error(record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR

    target.addFilter(below_error)
    try:
        yield
    finally:
        target.removeFilter(below_error)


_UNAVAILABLE = re.compile(r"^(?P<model>[\w.-]+): (?P<backend>\w+) unavailable: (?P<why>.*)$")


def summarize_model_report(lines: list[str]) -> list[tuple[bool, str]]:
    """The model loader's report with one line per unavailable backend and reason (not one
    per model): [(is_unavailable, line)], in first-seen order."""
    grouped: dict[tuple[str, str], list[str]] = {}
    out: list[tuple[bool, object]] = []
    for line in lines:
        match = _UNAVAILABLE.match(line)
        if match is None:
            out.append((False, line))
            continue
        key = (match["backend"], match["why"])
        if key not in grouped:
            grouped[key] = []
            out.append((True, key))
        grouped[key].append(match["model"])
    return [(True, f"{item[0]} unavailable for {', '.join(grouped[item])}: {item[1]}")
            if flag else (False, item) for flag, item in out]
