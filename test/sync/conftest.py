"""Tests of pm_monitor.sync (the rclpy drop-in): need rclpy."""
from __future__ import annotations

import pytest

rclpy = pytest.importorskip("rclpy")

from rclpy.executors import SingleThreadedExecutor  # noqa: E402


@pytest.fixture
def node(ros_context):
    created = rclpy.create_node("sync_test", context=ros_context)
    yield created
    created.destroy_node()


@pytest.fixture
def executor(ros_context, node):
    ex = SingleThreadedExecutor(context=ros_context)
    ex.add_node(node)
    yield ex
    ex.shutdown()
