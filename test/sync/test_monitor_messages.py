"""The monitor's synchronisation messages: ~/sync_drops entries and HealthStatus clocks."""
from __future__ import annotations

import pytest
from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticStatus

from pm_monitor.core.sync.clock_offsets import CONFIDENT, OUT_OF_RANGE, ClockEstimate
from pm_monitor.core.sync.drops import DropRecord
from pm_monitor.sync.monitor_messages import fill_health_clocks, sync_drops_msg

msg_module = pytest.importorskip("pm_monitor.msg", reason="messages not built")


def test_each_drop_says_what_and_why():
    array = sync_drops_msg([DropRecord("thermal", 123, "no_partner")], Time(sec=5), "pm", 4)
    first, lost = array.status
    assert first.level == DiagnosticStatus.WARN and first.message == "no_partner"
    assert first.hardware_id == "thermal" and first.values[0].value == "123"
    assert "4 more drops" in lost.message


def test_health_status_carries_the_clock_models_in_one_order():
    msg = msg_module.HealthStatus()
    fill_health_clocks(msg, [
        ClockEstimate("mic", CONFIDENT, offset_s=0.0125, drift_ppm=150.0, applied=True),
        ClockEstimate("camera", OUT_OF_RANGE)])
    assert list(msg.clock_inputs) == ["mic", "camera"]
    assert list(msg.clock_status) == [CONFIDENT, OUT_OF_RANGE]
    assert list(msg.clock_offsets_ms) == pytest.approx([12.5, 0.0])
    assert list(msg.clock_drift_ppm) == pytest.approx([150.0, 0.0])
    assert list(msg.clock_corrected) == [True, False]
