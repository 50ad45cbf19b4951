"""RigSimulator: the one object the rig node (and the tests) talk to."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pm_monitor.core.signals.bearing import DefectFrequencies, defect_frequencies
from pm_monitor.core.types import HealthState
from pm_monitor.sim.acoustic import AcousticModel
from pm_monitor.sim.camera import CameraRenderer
from pm_monitor.sim.config import RigConfig
from pm_monitor.sim.fault_schedule import FaultSchedule, health_state_from_severity
from pm_monitor.sim.layout import RigLayout
from pm_monitor.sim.thermal import ThermalRenderer
from pm_monitor.sim.vibration import VibrationModel


@dataclass(frozen=True)
class RigTruth:
    """What is really going on at time t_s (for scoring the monitor, never for the monitor).

    With several faults, fault_type / fault_location / severity describe the most severe
    one; rul_s counts down to the earliest scheduled failure.
    """

    t_s: float
    state: HealthState
    severity: float  # [0, 1]
    fault_type: str  # one of FAULT_TYPES; "none" while no fault has started
    fault_location: str | None  # de_bearing | nde_bearing; None while healthy
    rul_s: float | None  # s to the earliest scheduled failure (>= 0); None: none scheduled
    housing_temps_c: dict[str, float]  # peak surface temperature per bearing location
    hotspot_px: tuple[int, int] | None  # (x, y) thermal pixel of the failing housing
    shaft_hz: float


class RigSimulator:
    """Deterministic simulated rig: same (config, schedule, seed) -> same data.

    Streams (accel, mic) are addressed by absolute sample index at their own rate (sample i
    is at i / rate seconds); images by time in seconds. All methods may be called in any
    order and any chunking.
    """

    def __init__(self, config: RigConfig, schedule: FaultSchedule, seed: int = 0,
                 layout: RigLayout | None = None) -> None:
        self.config = config
        self.schedule = schedule
        self.seed = seed
        self.layout = layout if layout is not None else RigLayout()
        self.defect_frequencies: DefectFrequencies = defect_frequencies(config.shaft_hz,
                                                                        config.bearing)
        self._vibration = VibrationModel(config, schedule, seed)
        self._acoustic = AcousticModel(config, schedule, seed)
        self._thermal = ThermalRenderer(config, self.layout, schedule, seed)
        self._camera = CameraRenderer(config, self.layout, schedule, seed)

    def accel(self, start_index: int, n: int) -> np.ndarray:
        """Accelerometer samples [start_index, start_index + n): (n, 3) float32, m/s^2."""
        return self._vibration.accel(start_index, n)

    def mic(self, start_index: int, n: int) -> np.ndarray:
        """Microphone samples [start_index, start_index + n): (n, 1) float32, Pa."""
        return self._acoustic.mic(start_index, n)

    def thermal(self, t_s: float) -> np.ndarray:
        """Thermal frame at t_s: (thermal_height, thermal_width) float32, deg C."""
        return self._thermal.render(t_s)

    def camera(self, t_s: float) -> np.ndarray:
        """Camera frame at t_s: (camera_height, camera_width, 3) uint8 RGB."""
        return self._camera.render(t_s)

    def thermal_hotspot_px(self, t_s: float) -> tuple[int, int] | None:
        """(x, y) thermal pixel at the centre of the most severely failing housing, or None
        while no fault has started."""
        fault = self.schedule.dominant_fault(t_s)
        if fault is None:
            return None
        return self.layout.housing_centre_px(fault.location, self.config.thermal_width,
                                             self.config.thermal_height)

    def truth(self, t_s: float) -> RigTruth:
        """Ground truth at t_s."""
        fault = self.schedule.dominant_fault(t_s)
        severity = self.schedule.severity(t_s)
        return RigTruth(
            t_s=t_s,
            state=health_state_from_severity(severity),
            severity=severity,
            fault_type=fault.fault_type if fault is not None else "none",
            fault_location=fault.location if fault is not None else None,
            rul_s=self.schedule.rul_s(t_s),
            housing_temps_c=self._thermal.model.housing_temps_c(t_s),
            hotspot_px=self.thermal_hotspot_px(t_s),
            shaft_hz=self.config.shaft_hz,
        )
