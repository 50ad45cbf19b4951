"""Suite-wide isolation: every test gets its own ROS_HOME, so the monitor's append-only alert
log (replayed at start-up, by design) never carries alarms from one test into another."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def isolated_ros_home(tmp_path, monkeypatch):
    home = tmp_path / "ros_home"
    home.mkdir()
    monkeypatch.setenv("ROS_HOME", str(home))
    return home
