"""The monitor's synchronisation outputs as ROS messages: ~/sync_drops and the clock fields
of HealthStatus."""
from __future__ import annotations

from collections.abc import Sequence

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

from pm_monitor.core.sync.clock_offsets import ClockEstimate
from pm_monitor.core.sync.drops import DropRecord


def sync_drops_msg(records: Sequence[DropRecord], stamp, node_name: str,
                   lost: int = 0) -> DiagnosticArray:
    """One WARN status per dropped message: name = input, message = reason, stamp_ns; lost:
    drops not listed (more than the recent list holds), as a last status."""
    array = DiagnosticArray()
    array.header.stamp = stamp
    array.status = [DiagnosticStatus(level=DiagnosticStatus.WARN,
                                     name=f"{node_name}: sync drop {r.input}",
                                     message=r.reason, hardware_id=r.input,
                                     values=[KeyValue(key="stamp_ns", value=str(r.stamp_ns))])
                    for r in records]
    if lost:
        array.status.append(DiagnosticStatus(
            level=DiagnosticStatus.WARN, name=f"{node_name}: sync drops not listed",
            message=f"{lost} more drops (see /diagnostics counters)"))
    return array


def fill_health_clocks(msg, estimates: Sequence[ClockEstimate]) -> None:
    """The clock fields at the end of HealthStatus (same order in all five arrays)."""
    msg.clock_inputs = [e.name for e in estimates]
    msg.clock_status = [e.status for e in estimates]
    msg.clock_offsets_ms = [float(e.offset_s * 1e3) for e in estimates]
    msg.clock_drift_ppm = [float(e.drift_ppm) for e in estimates]
    msg.clock_corrected = [bool(e.applied) for e in estimates]
