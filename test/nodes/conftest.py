"""ROS node tests: need rclpy and the built messages (tools/run_tests.sh provides both)."""
from __future__ import annotations

import pytest

rclpy = pytest.importorskip("rclpy")
pytest.importorskip("pm_monitor.msg", reason="messages not built: run tools/setup_env.sh")

from rclpy.executors import SingleThreadedExecutor  # noqa: E402


@pytest.fixture
def executor(ros_context):
    ex = SingleThreadedExecutor(context=ros_context)
    yield ex
    ex.shutdown()
