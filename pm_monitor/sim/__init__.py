"""Simulated test rig: motor, shaft and two bearings with scheduled bearing faults.

Pure numpy/scipy (no rclpy). Entry point: RigSimulator(RigConfig(), FaultSchedule.from_yaml(p)).
"""
from pm_monitor.sim.config import RigConfig, RigConfigError
from pm_monitor.sim.fault_schedule import (
    BEARING_LOCATIONS,
    DE_BEARING,
    FAILURE_SEVERITY,
    NDE_BEARING,
    PRE_WARNING_SEVERITY,
    WARNING_SEVERITY,
    FaultSchedule,
    FaultScheduleError,
    ScheduledFault,
    health_state_from_severity,
    load_fault_schedule,
)
from pm_monitor.sim.layout import NormBox, PixelBox, RigLayout
from pm_monitor.sim.simulator import RigSimulator, RigTruth

__all__ = [
    "BEARING_LOCATIONS",
    "DE_BEARING",
    "FAILURE_SEVERITY",
    "NDE_BEARING",
    "PRE_WARNING_SEVERITY",
    "WARNING_SEVERITY",
    "FaultSchedule",
    "FaultScheduleError",
    "NormBox",
    "PixelBox",
    "RigConfig",
    "RigConfigError",
    "RigLayout",
    "RigSimulator",
    "RigTruth",
    "ScheduledFault",
    "health_state_from_severity",
    "load_fault_schedule",
]
