"""The rclpy context fixture shared by the suites that create nodes in-process (test/nodes,
test/sync); their conftests import it, so each keeps its own skips and other fixtures."""
from __future__ import annotations

import pytest


@pytest.fixture
def ros_context():
    """A private rclpy context per test (no global init; parallel-safe)."""
    import rclpy

    context = rclpy.Context()
    rclpy.init(context=context)
    yield context
    rclpy.try_shutdown(context=context)
