"""Asset description (config/assets/*.yaml): schema, validation and loading.

One file per asset: its id, how the shaft speed is known (fixed, a topic such as a tachometer
publishing std_msgs/Float64 in rpm, or estimated from the signal's shaft harmonics near a
nominal value), its bearings (geometry, or defect-frequency orders as the maker's catalogue
gives them), which sensor axis sits on which bearing, its ISO 10816-3 machine group and
foundation, and how long commissioning lasts. Validated with the project's parameter
validation (`core.config_schema`): every problem is reported at once, with the file name.

    asset:
      id: pump_7
      iso: {machine_group: 2, foundation: rigid}
      shaft_speed: {source: estimated, nominal_rpm: 1480.0, search_fraction: 0.05}
      commissioning: {duration_s: 600.0}
      bearings:
        drive_end: {geometry: {n_balls: 9, ball_diameter_mm: 7.94, pitch_diameter_mm: 39.04}}
        fan_end: {orders: {outer_race: 3.05, inner_race: 4.95, ball: 3.99, cage: 0.38}}
      axes: {DE: drive_end, FE: fan_end}
      microphone: {enabled: true}       # optional: an acoustic reference beside the vibration
      analysis: {window_s: 1.0, hop_s: 0.5}  # optional: else the model set's

A machine watched by sound alone (a fan with no accelerometer and no declared bearing
geometry) says so, and then needs no bearings, axes or speed:

    asset:
      id: fan_3
      accelerometer: {enabled: false}
      microphone: {enabled: true, alone_s: 5.0}
      commissioning: {duration_s: 600.0}

A file must declare at least one sensor (an accelerometer, the default, or a microphone).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from pm_monitor.core.condition.defects import DefectOrders
from pm_monitor.core.config_schema import ConfigError, ParamSpec, flatten, problems_of
from pm_monitor.core.signals.bearing import BearingGeometry

SPEED_SOURCES = ("fixed", "topic", "estimated")

ASSET_TABLE: dict[str, ParamSpec] = {
    "id": ParamSpec("", "asset id (names the reference file; A-Z a-z 0-9 _ . -)"),
    "description": ParamSpec("", "free text"),
    "iso.machine_group": ParamSpec(2, "ISO 10816-3 machine group (1: 300 kW-50 MW, "
                                      "2: 15-300 kW)", (1, 2)),
    "iso.foundation": ParamSpec("rigid", "ISO 10816-3 foundation", choices=("rigid", "flexible")),
    "shaft_speed.source": ParamSpec("fixed", "how the shaft speed is known",
                                    choices=SPEED_SOURCES),
    "shaft_speed.nominal_rpm": ParamSpec(1500.0, "nameplate speed (fixed value, or the centre "
                                                 "of the estimate's search)", (1.0, 100000.0)),
    "shaft_speed.search_fraction": ParamSpec(0.05, "estimated: search +- this fraction of "
                                                   "nominal", (0.0, 0.5)),
    "shaft_speed.topic": ParamSpec("", "topic: std_msgs/Float64 speed in rpm"),
    "commissioning.duration_s": ParamSpec(600.0, "seconds of data the reference learns from",
                                          (1.0, 86400.0)),
    "unit": ParamSpec("g", "accelerometer unit", choices=("g", "m/s^2")),
    "accelerometer.enabled": ParamSpec(True, "the asset has an accelerometer (then bearings "
                                             "are required); false: watched by its "
                                             "microphone alone"),
    "microphone.enabled": ParamSpec(False, "the asset has a microphone (any rate >= 8 kHz): its "
                                           "acoustic reference is commissioned beside the "
                                           "vibration one; without it no mic is expected"),
    "microphone.alone_s": ParamSpec(30.0, "seconds of consecutive anomalous sound for the "
                                          "microphone alone to raise Pre-Warning",
                                    (1.0, 86400.0)),
    "analysis.window_s": ParamSpec(0.0, "analysis window (s); 0 = the model set's",
                                   (0.0, 60.0)),
    "analysis.hop_s": ParamSpec(0.0, "analysis hop (s); 0 = the model set's", (0.0, 60.0)),
}
GEOMETRY_TABLE: dict[str, ParamSpec] = {
    "n_balls": ParamSpec(9, "rolling elements", (1, 200)),
    "ball_diameter_mm": ParamSpec(7.94, "ball diameter d", (0.1, 1000.0)),
    "pitch_diameter_mm": ParamSpec(39.04, "pitch diameter D", (0.1, 5000.0)),
    "contact_angle_deg": ParamSpec(0.0, "contact angle", (0.0, 89.0)),
}
ORDERS_TABLE: dict[str, ParamSpec] = {
    name: ParamSpec(1.0, f"{name} defect frequency / shaft frequency", (0.01, 100.0))
    for name in ("outer_race", "inner_race", "ball", "cage")}


@dataclass(frozen=True)
class ShaftSpeed:
    source: str
    nominal_rpm: float
    search_fraction: float
    topic: str

    @property
    def nominal_hz(self) -> float:
        return self.nominal_rpm / 60.0


@dataclass(frozen=True)
class AssetDescription:
    asset_id: str
    description: str
    iso_group: int
    iso_foundation: str
    shaft_speed: ShaftSpeed
    bearings: dict[str, DefectOrders]
    axes: dict[str, str]  # sensor axis name -> bearing name
    commissioning_s: float
    unit: str
    source: str = ""
    accelerometer: bool = True  # False: a microphone-only asset (bearings optional)
    microphone: bool = False
    microphone_alone_s: float = 30.0
    window_s: float = 0.0  # 0: the model set's (e.g. 0.1 s for FEMTO's 0.1 s snapshots)
    hop_s: float = 0.0

    def bearings_of(self, axis: str) -> dict[str, DefectOrders]:
        """Bearings an axis sits on; every bearing when the axis is not mapped."""
        name = self.axes.get(axis)
        return {name: self.bearings[name]} if name else dict(self.bearings)


def parse(data: Mapping, source: str = "") -> AssetDescription:
    """An AssetDescription from the `asset:` mapping; ConfigError listing every problem."""
    problems: list[str] = []
    if not isinstance(data, Mapping) or not isinstance(data.get("asset"), Mapping):
        raise ConfigError(["the file must hold one mapping `asset:`"], source)
    asset = dict(data["asset"])
    bearings_raw = asset.pop("bearings", None)
    axes_raw = asset.pop("axes", None) or {}
    flat = flatten(asset)
    problems += problems_of(flat, ASSET_TABLE)
    values = {name: flat.get(name, spec.default) for name, spec in ASSET_TABLE.items()}
    if not values["id"]:
        problems.append("id: required")
    if values["shaft_speed.source"] == "topic" and not values["shaft_speed.topic"]:
        problems.append("shaft_speed.topic: required when source is topic")
    bearings: dict[str, DefectOrders] = {}
    problems += _sensor_problems(values, bearings_raw, axes_raw)
    if not isinstance(bearings_raw, Mapping):
        bearings_raw = {}
    for name, spec in bearings_raw.items():
        where = f"bearings.{name}"
        if not isinstance(spec, Mapping) or len(spec) != 1 or not (
                "geometry" in spec or "orders" in spec):
            problems.append(f"{where}: give exactly one of geometry: or orders:")
            continue
        kind, table = ("geometry", GEOMETRY_TABLE) if "geometry" in spec else ("orders",
                                                                                ORDERS_TABLE)
        given = spec[kind] if isinstance(spec[kind], Mapping) else {}
        found = [f"{where}.{kind}.{p}" for p in problems_of(given, table)]
        missing = [f"{where}.{kind}.{k}: required" for k in table
                   if k not in given and k != "contact_angle_deg"]
        problems += found + missing
        if found or missing:
            continue
        try:
            bearings[name] = (DefectOrders.from_geometry(BearingGeometry(**given))
                              if kind == "geometry" else DefectOrders(**given))
        except (TypeError, ValueError) as exc:
            problems.append(f"{where}: {exc}")
    if not isinstance(axes_raw, Mapping):
        problems.append("axes: a mapping axis -> bearing")
        axes_raw = {}
    for axis, bearing in axes_raw.items():
        if bearing not in bearings_raw:
            problems.append(f"axes.{axis}: unknown bearing {bearing!r}")
    window, hop = values["analysis.window_s"], values["analysis.hop_s"]
    if not all(isinstance(v, int | float) for v in (window, hop)):
        pass  # already reported as a wrong type
    elif (hop > 0) != (window > 0):
        problems.append("analysis: give both window_s and hop_s, or neither")
    elif hop > window:
        problems.append("analysis.hop_s: longer than window_s (samples would be skipped)")
    if problems:
        raise ConfigError(problems, source)
    return AssetDescription(
        asset_id=str(values["id"]), description=str(values["description"]),
        iso_group=int(values["iso.machine_group"]), iso_foundation=str(values["iso.foundation"]),
        shaft_speed=ShaftSpeed(str(values["shaft_speed.source"]),
                               float(values["shaft_speed.nominal_rpm"]),
                               float(values["shaft_speed.search_fraction"]),
                               str(values["shaft_speed.topic"])),
        bearings=bearings, axes={str(k): str(v) for k, v in axes_raw.items()},
        commissioning_s=float(values["commissioning.duration_s"]), unit=str(values["unit"]),
        source=source, accelerometer=values["accelerometer.enabled"] is not False,
        microphone=bool(values["microphone.enabled"]),
        microphone_alone_s=float(values["microphone.alone_s"]),
        window_s=float(values["analysis.window_s"]), hop_s=float(values["analysis.hop_s"]))


def _sensor_problems(values: Mapping, bearings_raw: object, axes_raw: object) -> list[str]:
    """What the declared sensors require: an accelerometer needs its bearings (the defect
    frequencies it is judged on); a microphone-only asset needs none and has no axes; a file
    with no sensor at all cannot be monitored."""
    has_accel = values["accelerometer.enabled"] is not False
    if bearings_raw is not None and not isinstance(bearings_raw, Mapping):
        return ["bearings: a mapping bearing name -> geometry: or orders:"]
    if not has_accel and values["microphone.enabled"] is not True:
        return ["no sensor declared: keep the accelerometer (accelerometer.enabled: true, with "
                "bearings) or declare a microphone (microphone.enabled: true)"]
    if has_accel and (not isinstance(bearings_raw, Mapping) or not bearings_raw):
        return ["bearings: at least one bearing (geometry or orders) is required with an "
                "accelerometer (a microphone-only asset says accelerometer: {enabled: false})"]
    if not has_accel and axes_raw:
        return ["axes: accelerometer axes declared while accelerometer.enabled is false"]
    return []


def load(path: str | Path) -> AssetDescription:
    """Read and validate one config/assets/*.yaml."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError([f"cannot read: {exc}"], str(path)) from exc
    return parse(data, str(path))
