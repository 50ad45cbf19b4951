"""Suite-wide isolation: every test gets its own ROS_HOME, so the monitor's append-only alert
log (replayed at start-up, by design) never carries alarms from one test into another. The
folder comes from tmp_path_factory, not tmp_path, so tests that check their own tmp_path
stays empty are not disturbed."""
from __future__ import annotations

import pytest

# ros_context: one rclpy context fixture for the in-process node suites (test/nodes, test/sync)
pytest_plugins = ("ros_fixtures",)


@pytest.fixture(autouse=True)
def isolated_ros_home(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("ros_home")
    monkeypatch.setenv("ROS_HOME", str(home))
    return home
