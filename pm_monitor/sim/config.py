"""Configuration of the simulated rig: one flat dataclass, prefixed by signal.

Units are in the names or the comments: Hz, m/s^2 (accelerometer), Pa (microphone),
deg C / K (thermal), pixels, grey levels (0-255 camera).
"""
from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pm_monitor.core.signals.bearing import BearingGeometry

SPEED_OF_SOUND_M_S = 343.0  # dry air at 20 deg C


class RigConfigError(ValueError):
    """A rig configuration is malformed; the message names the offending key and value."""


@dataclass(frozen=True)
class RigConfig:
    """Every tunable of the rig. Defaults: a CWRU-like 2 hp motor at ~1797 rpm."""

    # --- machine -------------------------------------------------------------------------
    shaft_hz: float = 29.95  # 1797 rpm, the CWRU no-load speed
    line_hz: float = 60.0  # mains frequency feeding the motor (CWRU is in the US)
    bearing: BearingGeometry = field(default_factory=BearingGeometry)  # both bearings

    # --- vibration: triaxial accelerometer on the drive-end housing ----------------------
    accel_rate: float = 25600.0  # Hz
    # Channel order is fixed: radial horizontal, radial vertical, axial.
    accel_channels: tuple[str, ...] = ("x", "y", "z")
    # How strongly bearing impacts reach each axis: impacts are radial, axial sees little.
    accel_axis_gains: tuple[float, ...] = (1.0, 0.8, 0.35)
    accel_noise_rms: float = 0.5  # m/s^2, broadband sensor + machine background per axis
    accel_noise_growth: float = 2.0  # broadband level x (1 + growth * DE-equivalent severity)
    accel_imbalance: float = 0.5  # m/s^2 peak at 1x shaft speed (residual imbalance)
    accel_misalignment: float = 0.15  # m/s^2 peak at 2x shaft speed (coupling misalignment)
    accel_impact_at_failure: float = 30.0  # m/s^2 peak ring of one DE impact at severity 1
    accel_nde_transmission: float = 0.3  # NDE impacts reach the DE sensor through the frame
    resonance_hz: float = 3000.0  # structural resonance of the housing the impacts excite
    resonance_damping: float = 0.05  # damping ratio ζ of that resonance
    # rms timing scatter of each impact, fraction of the impact period (the scatter of the
    # interval between two impacts is sqrt(2) times this: ~1.4 %)
    slip_jitter: float = 0.01

    # --- acoustic: one microphone ~1 m from the machine ----------------------------------
    mic_rate: float = 16000.0  # Hz
    mic_noise_rms: float = 0.02  # Pa, broadband (fan, room): ~60 dB SPL
    mic_hum: float = 0.05  # Pa peak of the 2x line-frequency magnetostriction hum
    mic_click_at_failure: float = 0.5  # Pa peak of one bearing click at severity 1
    mic_resonance_hz: float = 2500.0  # radiating panel/housing mode that makes clicks audible
    mic_resonance_damping: float = 0.08
    mic_distance_m: float = 1.0  # sets the acoustic delay relative to the accelerometer

    # --- thermal camera (Lepton-3.5-like) --------------------------------------------------
    thermal_width: int = 160
    thermal_height: int = 120
    thermal_rate: float = 8.7  # Hz, publishing rate used by the rig node and benchmark
    ambient_c: float = 25.0
    motor_c: float = 55.0  # steady motor frame temperature at load
    de_housing_c: float = 42.0  # healthy steady state, warmer: next to the motor
    nde_housing_c: float = 36.0
    fault_heating_k: float = 40.0  # housing temperature rise at severity 1 (steady state)
    housing_tau_s: float = 20.0  # first-order thermal time constant of a housing
    thermal_netd_k: float = 0.1  # per-pixel temporal noise
    thermal_drift_k: float = 0.3  # amplitude of the slow frame offset drift

    # --- visible camera ------------------------------------------------------------------
    camera_width: int = 320
    camera_height: int = 240
    camera_rate: float = 15.0  # Hz, publishing rate used by the rig node and benchmark
    camera_noise: float = 2.0  # grey levels rms

    def __post_init__(self) -> None:
        positive = (
            "shaft_hz", "line_hz", "accel_rate", "resonance_hz", "resonance_damping",
            "mic_rate", "mic_resonance_hz", "mic_resonance_damping", "thermal_rate",
            "housing_tau_s", "camera_rate",
        )
        for name in positive:
            _require(name, getattr(self, name), lambda v: v > 0.0, "> 0")
        non_negative = (
            "accel_noise_rms", "accel_noise_growth", "accel_imbalance", "accel_misalignment",
            "accel_impact_at_failure", "accel_nde_transmission", "slip_jitter",
            "mic_noise_rms", "mic_hum", "mic_click_at_failure", "mic_distance_m",
            "fault_heating_k", "thermal_netd_k", "thermal_drift_k", "camera_noise",
        )
        for name in non_negative:
            _require(name, getattr(self, name), lambda v: v >= 0.0, ">= 0")
        for name in ("thermal_width", "thermal_height", "camera_width", "camera_height"):
            _require(name, getattr(self, name), lambda v: v >= 16, ">= 16 pixels")
        _require("resonance_damping", self.resonance_damping, lambda v: v < 1.0,
                 "< 1 (an underdamped mode rings)")
        _require("mic_resonance_damping", self.mic_resonance_damping, lambda v: v < 1.0,
                 "< 1 (an underdamped mode rings)")
        _require("resonance_hz", self.resonance_hz, lambda v: v < 0.5 * self.accel_rate,
                 f"< Nyquist ({0.5 * self.accel_rate} Hz)")
        _require("mic_resonance_hz", self.mic_resonance_hz, lambda v: v < 0.5 * self.mic_rate,
                 f"< Nyquist ({0.5 * self.mic_rate} Hz)")
        _require("slip_jitter", self.slip_jitter, lambda v: v <= 0.1, "<= 0.1")
        if len(self.accel_channels) != 3:
            raise RigConfigError(
                f"accel_channels: need 3 names (radial x, radial y, axial), "
                f"got {self.accel_channels!r}"
            )
        if len(self.accel_axis_gains) != len(self.accel_channels):
            raise RigConfigError(
                f"accel_axis_gains: need one gain per channel, got {self.accel_axis_gains!r}"
            )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> RigConfig:
        """Build from a (YAML / ROS parameter) mapping; unknown keys and wrong types raise.

        `bearing` is a nested mapping with the fields of BearingGeometry.
        """
        data = {} if data is None else data
        if not isinstance(data, Mapping):
            raise RigConfigError(f"rig config: expected a mapping, got {type(data).__name__}")
        hints = typing.get_type_hints(cls)
        names = [f.name for f in dataclasses.fields(cls)]
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if key not in names:
                raise RigConfigError(f"unknown key {key!r} (value {value!r})")
            kwargs[key] = _coerce(key, value, hints[key])
        try:
            return cls(**kwargs)
        except RigConfigError:
            raise
        except (TypeError, ValueError) as exc:
            raise RigConfigError(str(exc)) from exc

    @property
    def acoustic_delay_s(self) -> float:
        """Flight time of sound from the machine to the microphone."""
        return self.mic_distance_m / SPEED_OF_SOUND_M_S


def _require(name: str, value: float, ok: typing.Callable[[float], bool], what: str) -> None:
    if not (math.isfinite(value) and ok(value)):
        raise RigConfigError(f"{name}: must be {what}, got {value!r}")


def _coerce(key: str, value: Any, hint: Any) -> Any:
    """Check/convert one value against its field type (float accepts int, tuples accept lists)."""
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RigConfigError(f"{key}: expected a number, got {value!r}")
        return float(value)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise RigConfigError(f"{key}: expected an integer, got {value!r}")
        return value
    if hint is BearingGeometry:
        if isinstance(value, BearingGeometry):
            return value
        if not isinstance(value, Mapping):
            raise RigConfigError(f"{key}: expected a mapping, got {value!r}")
        bearing_hints = typing.get_type_hints(BearingGeometry)
        kwargs = {}
        for sub_key, sub_value in value.items():
            if sub_key not in bearing_hints:
                raise RigConfigError(f"{key}.{sub_key}: unknown key (value {sub_value!r})")
            kwargs[sub_key] = _coerce(f"{key}.{sub_key}", sub_value, bearing_hints[sub_key])
        try:
            return BearingGeometry(**kwargs)
        except ValueError as exc:
            raise RigConfigError(f"{key}: {exc}") from exc
    if typing.get_origin(hint) is tuple:
        if not isinstance(value, list | tuple):
            raise RigConfigError(f"{key}: expected a list, got {value!r}")
        item_hint = typing.get_args(hint)[0]
        return tuple(_coerce(f"{key}[{i}]", item, item_hint) for i, item in enumerate(value))
    if hint is str:
        if not isinstance(value, str):
            raise RigConfigError(f"{key}: expected a string, got {value!r}")
        return value
    raise RigConfigError(f"{key}: unsupported field type {hint!r}")  # pragma: no cover
