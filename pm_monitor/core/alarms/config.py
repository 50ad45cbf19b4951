"""Every delay, deadband, rate limit and zone table of the alarm logic, validated.

`ALARM_PARAMETERS` is the single source: field defaults, descriptions and ranges. The node
declares one ROS parameter per entry (with a descriptor and range) and builds the config with
`AlarmConfig.from_parameters`; a value out of range raises ValueError naming the field.

Levels: "anomaly" is an alarm raised by the anomaly score alone (the model's state is NORMAL);
"pre_warning", "warning" and "failure" are the model's health states. On- and off-delays are
set per level; an off-delay applies to the worst level the alarm reached.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from pm_monitor.core.alarms.severity_zones import FOUNDATIONS, ZoneTable
from pm_monitor.core.types import HealthState

LEVELS: tuple[str, ...] = ("anomaly", "pre_warning", "warning", "failure")
DAY_S = 86400.0

ParameterSpec = tuple[object, str, tuple[float, float] | None]


def _per_level(prefix: str, defaults: tuple, text: str, bounds) -> dict[str, ParameterSpec]:
    return {f"{prefix}_{level}": (default, text.format(level=level.replace("_", "-")), bounds)
            for level, default in zip(LEVELS, defaults, strict=True)}


ALARM_PARAMETERS: dict[str, ParameterSpec] = {
    **_per_level("on_delay_windows", (3, 2, 2, 1),
                 "On-delay: consecutive {level}-or-worse windows before raising/escalating.",
                 (1, 1000)),
    **_per_level("on_delay_s", (0.0, 0.0, 0.0, 0.0),
                 "On-delay: the {level}-or-worse condition must also last this long (s); 0 = "
                 "windows only.", (0.0, DAY_S)),
    **_per_level("off_delay_windows", (6, 6, 10, 10),
                 "Off-delay: consecutive clear windows before an alarm whose worst level is "
                 "{level} clears.", (1, 10000)),
    **_per_level("off_delay_s", (0.0, 0.0, 0.0, 0.0),
                 "Off-delay: the clear condition must also last this long (s) for a {level} "
                 "alarm; 0 = windows only.", (0.0, DAY_S)),
    "score_deadband": (0.1, "A window counts as clear only when the anomaly score is below "
                            "threshold * (1 - deadband).", (0.0, 0.9)),
    "probability_deadband": (0.1, "A window counts as clear only when P(not normal) is below "
                                  "0.5 - deadband.", (0.0, 0.45)),
    "update_period_s": (5.0, "An active alarm is re-published at most this often (s).",
                        (0.1, DAY_S)),
    "reannunciate_on_escalation": (True, "An acknowledged alarm that escalates becomes "
                                         "unacknowledged again.", None),
    "failure_overrides_shelving": (True, "An escalation to FAILURE unshelves the alarm.", None),
    "max_shelve_s": (28800.0, "Longest shelving an operator may ask for (s); ISA-18.2 "
                              "shelving is always time-limited.", (1.0, 30 * DAY_S)),
    "flood_asset_max_alarms": (5, "New alarms per asset per flood_asset_period_s before "
                                  "further new alarms are suppressed (FAILURE never is).",
                               (1, 10000)),
    "flood_asset_period_s": (600.0, "Sliding window of the per-asset rate limit (s).",
                             (1.0, DAY_S)),
    "flood_node_max_alarms": (10, "New alarms of the whole node per flood_node_period_s "
                                  "(ISA-18.2: ~10 per 10 min per operator).", (1, 10000)),
    "flood_node_period_s": (600.0, "Sliding window of the node-wide rate limit (s).",
                            (1.0, DAY_S)),
    "iso_machine_group": (2, "ISO 10816-3 machine group: 1 (300 kW - 50 MW) or 2 "
                             "(15 - 300 kW).", (1, 2)),
    "iso_foundation": ("rigid", "ISO 10816-3 foundation: rigid or flexible.", None),
    "iso_zone_boundaries_mm_s": ([0.0, 0.0, 0.0], "Custom zone boundaries A/B, B/C, C/D "
                                                   "(mm/s); all 0 = the ISO table for the "
                                                   "group and foundation.", None),
    "iso_band_low_hz": (10.0, "Lower edge of the velocity band (Hz).", (0.1, 1000.0)),
    "iso_band_high_hz": (1000.0, "Upper edge of the velocity band (Hz).", (10.0, 20000.0)),
    "zone_alarm_enabled": (True, "Raise an alarm from the ISO zone alone (C: WARNING, "
                                 "D: FAILURE), so a zone the model disagrees with is seen.",
                           None),
}


@dataclass(frozen=True)
class AlarmConfig:
    """Field names and defaults equal ALARM_PARAMETERS (checked at import)."""

    on_delay_windows_anomaly: int = 3
    on_delay_windows_pre_warning: int = 2
    on_delay_windows_warning: int = 2
    on_delay_windows_failure: int = 1
    on_delay_s_anomaly: float = 0.0
    on_delay_s_pre_warning: float = 0.0
    on_delay_s_warning: float = 0.0
    on_delay_s_failure: float = 0.0
    off_delay_windows_anomaly: int = 6
    off_delay_windows_pre_warning: int = 6
    off_delay_windows_warning: int = 10
    off_delay_windows_failure: int = 10
    off_delay_s_anomaly: float = 0.0
    off_delay_s_pre_warning: float = 0.0
    off_delay_s_warning: float = 0.0
    off_delay_s_failure: float = 0.0
    score_deadband: float = 0.1
    probability_deadband: float = 0.1
    update_period_s: float = 5.0
    reannunciate_on_escalation: bool = True
    failure_overrides_shelving: bool = True
    max_shelve_s: float = 28800.0
    flood_asset_max_alarms: int = 5
    flood_asset_period_s: float = 600.0
    flood_node_max_alarms: int = 10
    flood_node_period_s: float = 600.0
    iso_machine_group: int = 2
    iso_foundation: str = "rigid"
    iso_zone_boundaries_mm_s: tuple[float, float, float] = (0.0, 0.0, 0.0)
    iso_band_low_hz: float = 10.0
    iso_band_high_hz: float = 1000.0
    zone_alarm_enabled: bool = True

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            _, _, bounds = ALARM_PARAMETERS[f.name]
            value = _coerce(f.name, getattr(self, f.name), f.default)
            if bounds is not None and not bounds[0] <= value <= bounds[1]:
                raise ValueError(f"{f.name} must be in [{bounds[0]}, {bounds[1]}], "
                                 f"got {value!r}")
            object.__setattr__(self, f.name, value)
        if self.iso_band_low_hz >= self.iso_band_high_hz:
            raise ValueError(f"iso_band_low_hz ({self.iso_band_low_hz}) must be below "
                             f"iso_band_high_hz ({self.iso_band_high_hz})")
        if self.iso_foundation not in FOUNDATIONS:
            raise ValueError(f"iso_foundation must be one of {FOUNDATIONS}, "
                             f"got {self.iso_foundation!r}")
        self.zone_table()  # validates custom boundaries

    @classmethod
    def from_parameters(cls, values: Mapping[str, object], prefix: str = "") -> AlarmConfig:
        """Build from {prefix + name: value} (e.g. ROS parameters); names without the prefix
        are ignored when a prefix is given, unknown prefixed names are refused."""
        if prefix:
            values = {k[len(prefix):]: v for k, v in values.items() if k.startswith(prefix)}
        unknown = sorted(set(values) - set(ALARM_PARAMETERS))
        if unknown:
            raise ValueError(f"unknown alarm parameter(s): {', '.join(unknown)}")
        return cls(**dict(values))

    def to_parameters(self) -> dict[str, object]:
        return {f.name: _as_parameter(getattr(self, f.name))
                for f in dataclasses.fields(self)}

    def on_delay(self, level: str) -> tuple[int, float]:
        """(windows, seconds): both must be reached before the level raises/escalates."""
        return getattr(self, f"on_delay_windows_{level}"), getattr(self, f"on_delay_s_{level}")

    def off_delay(self, level: str) -> tuple[int, float]:
        return getattr(self, f"off_delay_windows_{level}"), getattr(self, f"off_delay_s_{level}")

    def zone_table(self) -> ZoneTable:
        custom = self.iso_zone_boundaries_mm_s
        if all(v == 0.0 for v in custom):
            return ZoneTable.iso_10816_3(self.iso_machine_group, self.iso_foundation)
        return ZoneTable(custom, "custom boundaries (iso_zone_boundaries_mm_s)")

    @property
    def band_hz(self) -> tuple[float, float]:
        return (self.iso_band_low_hz, self.iso_band_high_hz)


def prefixed_parameters(prefix: str = "alarm_") -> dict[str, ParameterSpec]:
    """ALARM_PARAMETERS under node parameter names (e.g. to merge into a node's spec table)."""
    return {prefix + name: spec for name, spec in ALARM_PARAMETERS.items()}


def level_name(state: HealthState) -> str:
    """Level key of a health state; NORMAL (an anomaly-only alarm) is "anomaly"."""
    return LEVELS[int(state)]


def _coerce(name: str, value: object, default: object) -> object:
    """Type of the default; bool is not an int here, and an int is accepted for a float."""
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be a bool, got {value!r}")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise ValueError(f"{name} must be an integer, got {value!r}")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{name} must be a number, got {value!r}")
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"{name} must be finite, got {value!r}")
        return float(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise ValueError(f"{name} must be a string, got {value!r}")
        return value
    if isinstance(default, tuple):
        try:
            items = tuple(float(v) for v in value)  # type: ignore[union-attr]
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a list of numbers, got {value!r}") from None
        if len(items) != len(default):
            raise ValueError(f"{name} must have {len(default)} values, got {value!r}")
        return items
    raise TypeError(f"no coercion for {name}")  # programming error: new field type


def _as_parameter(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value


def _check_spec_matches_dataclass() -> None:
    fields = {f.name: f.default for f in dataclasses.fields(AlarmConfig)}
    if set(fields) != set(ALARM_PARAMETERS):
        raise RuntimeError("AlarmConfig fields and ALARM_PARAMETERS differ")
    for name, default in fields.items():
        if _as_parameter(default) != ALARM_PARAMETERS[name][0]:
            raise RuntimeError(f"default of {name} differs from ALARM_PARAMETERS")


_check_spec_matches_dataclass()
