"""Alarm management (ISA-18.2 lifecycle, anti-flicker, flood control, ISO 10816-3 zones,
durable alert log). Pure core: no rclpy. Entry point: AlarmManager."""
from pm_monitor.core.alarms.alert_log import AlertLog, ReplayResult
from pm_monitor.core.alarms.config import (
    ALARM_PARAMETERS,
    LEVELS,
    AlarmConfig,
    prefixed_parameters,
)
from pm_monitor.core.alarms.lifecycle import (
    Alarm,
    AlarmEvent,
    AlarmOperationError,
    AlarmState,
)
from pm_monitor.core.alarms.manager import (
    UNKNOWN_FAULT,
    ZONE_FAULT,
    AlarmManager,
    AlarmStats,
    AlarmUpdate,
    default_alert_log_path,
)
from pm_monitor.core.alarms.severity_zones import (
    ISO_10816_3_BOUNDARIES_MM_S,
    Agreement,
    IsoZone,
    ZoneTable,
    agreement,
    velocity_rms_mm_s,
    window_velocity_mm_s,
)

__all__ = [
    "ALARM_PARAMETERS",
    "ISO_10816_3_BOUNDARIES_MM_S",
    "LEVELS",
    "UNKNOWN_FAULT",
    "ZONE_FAULT",
    "Agreement",
    "Alarm",
    "AlarmConfig",
    "AlarmEvent",
    "AlarmManager",
    "AlarmOperationError",
    "AlarmState",
    "AlarmStats",
    "AlarmUpdate",
    "AlertLog",
    "IsoZone",
    "ReplayResult",
    "ZoneTable",
    "agreement",
    "default_alert_log_path",
    "prefixed_parameters",
    "velocity_rms_mm_s",
    "window_velocity_mm_s",
]
