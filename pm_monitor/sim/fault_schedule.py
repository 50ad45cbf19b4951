"""Fault schedule of the simulated rig: which bearing fault starts when and how fast it grows.

YAML schema (all times in seconds of simulated time, t = 0 at rig start)::

    description: free text                # optional
    faults:                               # required, may be empty (healthy run)
      - type: outer_race                  # outer_race | inner_race | ball
        location: de_bearing              # de_bearing | nde_bearing
        onset_s: 40.0                     # severity leaves 0 here (>= 0)
        failure_s: 200.0                  # severity reaches 1 here (> onset_s)
        growth: 3.0                       # optional, exponent k in [0, 50], default 3

Severity of one fault (dimensionless, 0 = as new, 1 = functional failure)::

    s(t) = 0                                   t < onset
    s(t) = (exp(k u) - 1) / (exp(k) - 1)       u = (t - onset) / (failure - onset) in [0, 1]
    s(t) = 1                                   t > failure

Damage in rolling bearings propagates faster the larger it is (spalls grow from their
edges), hence the convex exponential; k = 0 is the linear limit.

Ground truth health state from severity (see the *_SEVERITY constants below) and remaining
useful life = failure_s - t of the earliest scheduled failure (clipped at 0).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from pm_monitor.core.types import FAULT_TYPES, HealthState

# Bearing positions of the rig. The accelerometer sits on the drive-end housing.
DE_BEARING = "de_bearing"
NDE_BEARING = "nde_bearing"
BEARING_LOCATIONS: tuple[str, ...] = (DE_BEARING, NDE_BEARING)

# Severity thresholds of the ground-truth health state (lower bound of each state):
#   NORMAL       s < 0.10   damage too small to matter (sub-surface cracks, first pits)
#   PRE_WARNING  s >= 0.10  a defect is measurable (envelope spectrum shows the defect line)
#   WARNING      s >= 0.40  spall growing, vibration and temperature clearly up: plan repair
#   FAILURE      s >= 0.75  end of useful life: stop the machine
PRE_WARNING_SEVERITY = 0.10
WARNING_SEVERITY = 0.40
FAILURE_SEVERITY = 0.75

DEFAULT_GROWTH = 3.0
LINEAR_GROWTH_BELOW = 1e-6  # smaller k: use the curve's linear limit s = u (no 0/0)
MAX_GROWTH = 50.0  # beyond this the curve is a step at failure_s and exp() nears overflow

_FAULT_KEYS = ("type", "location", "onset_s", "failure_s", "growth")
_REQUIRED_FAULT_KEYS = ("type", "location", "onset_s", "failure_s")
_TOP_LEVEL_KEYS = ("description", "faults")


class FaultScheduleError(ValueError):
    """A fault schedule is malformed; the message names the offending key and value."""


def health_state_from_severity(severity: float) -> HealthState:
    """Ground-truth health state of a severity in [0, 1]."""
    if severity >= FAILURE_SEVERITY:
        return HealthState.FAILURE
    if severity >= WARNING_SEVERITY:
        return HealthState.WARNING
    if severity >= PRE_WARNING_SEVERITY:
        return HealthState.PRE_WARNING
    return HealthState.NORMAL


@dataclass(frozen=True)
class ScheduledFault:
    """One bearing fault with its growth curve."""

    fault_type: str
    location: str
    onset_s: float
    failure_s: float
    growth: float = DEFAULT_GROWTH

    def __post_init__(self) -> None:
        if self.fault_type not in FAULT_TYPES or self.fault_type == "none":
            allowed = [f for f in FAULT_TYPES if f != "none"]
            raise FaultScheduleError(f"type: unknown fault type {self.fault_type!r}, "
                                     f"expected one of {allowed}")
        if self.location not in BEARING_LOCATIONS:
            raise FaultScheduleError(f"location: unknown location {self.location!r}, "
                                     f"expected one of {list(BEARING_LOCATIONS)}")
        if not (math.isfinite(self.onset_s) and self.onset_s >= 0.0):
            raise FaultScheduleError(f"onset_s: must be finite and >= 0, got {self.onset_s!r}")
        if not (math.isfinite(self.failure_s) and self.failure_s > self.onset_s):
            raise FaultScheduleError(
                f"failure_s: must be finite and > onset_s ({self.onset_s}), "
                f"got {self.failure_s!r}"
            )
        if not 0.0 <= self.growth <= MAX_GROWTH:
            raise FaultScheduleError(f"growth: must be in [0, {MAX_GROWTH}], got {self.growth!r}")

    @property
    def duration_s(self) -> float:
        """Time from onset to failure in seconds."""
        return self.failure_s - self.onset_s

    def severity(self, t_s: float | np.ndarray) -> float | np.ndarray:
        """Severity in [0, 1] at time(s) t_s; scalar in, float out; array in, array out."""
        u = np.clip((np.asarray(t_s, dtype=np.float64) - self.onset_s) / self.duration_s,
                    0.0, 1.0)
        if self.growth >= LINEAR_GROWTH_BELOW:
            # min(): numpy's and math's expm1 may differ in the last bit at u = 1
            u = np.minimum(np.expm1(self.growth * u) / math.expm1(self.growth), 1.0)
        return float(u) if np.ndim(u) == 0 else u


@dataclass(frozen=True)
class FaultSchedule:
    """All faults of one simulated run (possibly none, possibly overlapping)."""

    faults: tuple[ScheduledFault, ...] = ()
    description: str = ""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> FaultSchedule:
        """Build from the parsed YAML document (see the module docstring for the schema)."""
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise FaultScheduleError(f"schedule: expected a mapping, got {type(data).__name__}")
        _reject_unknown_keys(data, _TOP_LEVEL_KEYS, "schedule")
        description = data.get("description", "")
        if not isinstance(description, str):
            raise FaultScheduleError(f"description: expected a string, got {description!r}")
        raw_faults = data.get("faults", [])
        if raw_faults is None:
            raw_faults = []
        if not isinstance(raw_faults, list):
            raise FaultScheduleError(f"faults: expected a list, got {raw_faults!r}")
        faults = tuple(_parse_fault(entry, f"faults[{i}]") for i, entry in enumerate(raw_faults))
        return cls(faults=faults, description=description)

    @classmethod
    def from_yaml(cls, path: str | Path) -> FaultSchedule:
        """Load a schedule file; errors name the file as well as the offending key."""
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            raise FaultScheduleError(f"{path}: not valid YAML: {exc}") from exc
        try:
            return cls.from_dict(data)
        except FaultScheduleError as exc:
            raise FaultScheduleError(f"{path}: {exc}") from exc

    def dominant_fault(self, t_s: float) -> ScheduledFault | None:
        """The most severe fault at t_s, or None while every fault has severity 0.

        Ties go to the fault listed first.
        """
        best, best_severity = None, 0.0
        for fault in self.faults:
            severity = fault.severity(t_s)
            if severity > best_severity:
                best, best_severity = fault, severity
        return best

    def severity(self, t_s: float) -> float:
        """Severity of the most severe fault (0 for a healthy rig)."""
        return max((float(f.severity(t_s)) for f in self.faults), default=0.0)

    def severity_at(self, location: str, t_s: float) -> float:
        """Severity of the most severe fault at one bearing location (0 if none there)."""
        return max((float(f.severity(t_s)) for f in self.faults if f.location == location),
                   default=0.0)

    def state(self, t_s: float) -> HealthState:
        """Ground-truth health state at t_s."""
        return health_state_from_severity(self.severity(t_s))

    def rul_s(self, t_s: float) -> float | None:
        """Seconds until the earliest scheduled failure (0 once failed); None without faults."""
        if not self.faults:
            return None
        return max(0.0, min(f.failure_s for f in self.faults) - t_s)


def load_fault_schedule(path: str | Path) -> FaultSchedule:
    """Convenience alias of FaultSchedule.from_yaml."""
    return FaultSchedule.from_yaml(path)


def _reject_unknown_keys(data: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    for key in data:
        if key not in allowed:
            raise FaultScheduleError(
                f"{where}: unknown key {key!r} (value {data[key]!r}), allowed: {list(allowed)}"
            )


def _parse_fault(entry: Any, where: str) -> ScheduledFault:
    if not isinstance(entry, Mapping):
        raise FaultScheduleError(f"{where}: expected a mapping, got {entry!r}")
    _reject_unknown_keys(entry, _FAULT_KEYS, where)
    for key in _REQUIRED_FAULT_KEYS:
        if key not in entry:
            raise FaultScheduleError(f"{where}: missing required key {key!r}")
    try:
        return ScheduledFault(
            fault_type=_expect_str(entry, "type", where),
            location=_expect_str(entry, "location", where),
            onset_s=_expect_number(entry, "onset_s", where),
            failure_s=_expect_number(entry, "failure_s", where),
            growth=_expect_number(entry, "growth", where) if "growth" in entry
            else DEFAULT_GROWTH,
        )
    except FaultScheduleError as exc:
        raise FaultScheduleError(f"{where}.{exc}") from None


def _expect_str(entry: Mapping[str, Any], key: str, where: str) -> str:
    value = entry[key]
    if not isinstance(value, str):
        raise FaultScheduleError(f"{where}.{key}: expected a string, got {value!r}")
    return value


def _expect_number(entry: Mapping[str, Any], key: str, where: str) -> float:
    value = entry[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FaultScheduleError(f"{where}.{key}: expected a number, got {value!r}")
    return float(value)
