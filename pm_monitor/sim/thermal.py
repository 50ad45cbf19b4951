"""Thermal camera: housing temperatures from a lumped thermal model, rendered to deg C.

Thermal model. A damaged bearing turns part of its friction into heat in the housing. We
model the steady-state temperature rise as proportional to severity (fault_heating_k at
severity 1) and the housing as one thermal mass with time constant τ (first-order lag):

    dΔT/dt = (fault_heating_k * s(t) - ΔT) / τ

For the exponential severity curve this has a closed form (below), so any frame time can be
evaluated directly, in any order.

Rendering. Each part of the scene has a temperature; the image is the sum of the parts'
optically blurred coverage masks times their temperatures, plus a Gaussian hot spot on a
heating housing (heat enters at the bearing, in the housing's centre), per-pixel noise
(NETD) and a slow whole-frame offset drift (microbolometers drift between flat-field
corrections).
"""
from __future__ import annotations

import math

import numpy as np

from pm_monitor.sim.config import RigConfig
from pm_monitor.sim.counter_rng import Stream, chunk_generator
from pm_monitor.sim.fault_schedule import (
    BEARING_LOCATIONS,
    DE_BEARING,
    LINEAR_GROWTH_BELOW,
    NDE_BEARING,
    FaultSchedule,
    ScheduledFault,
)
from pm_monitor.sim.layout import RigLayout
from pm_monitor.sim.scene import part_masks, pixel_grid

# A heating housing's bulk surface rises by this fraction of its excess temperature; the
# rest shows only at the hot spot, whose peak therefore reads the full excess.
HOUSING_BULK_FRACTION = 0.6
HOTSPOT_SIGMA_OF_HOUSING_WIDTH = 0.25  # hot spot Gaussian σ relative to the housing width
PEDESTAL_COUPLING = 0.5  # pedestal excess over ambient relative to its housing's
SHAFT_BELOW_HOUSINGS_K = 2.0  # shaft runs slightly cooler than the housings around it
# Bare steel has a low emissivity: the camera reads it closer to the surroundings.
SHAFT_APPARENT_FRACTION = 0.6
MOTOR_FIN_RIPPLE_K = 1.5  # fin tips run cooler than the roots
TERMINAL_BOX_BELOW_MOTOR_K = 8.0
BASE_ABOVE_AMBIENT_K = 3.0  # baseplate warmed by conduction from the motor
DRIFT_PERIOD_S = 97.0
FRAME_OFFSET_JITTER_OF_NETD = 0.2
OPTICS_BLUR_PX = 0.6


def lagged_severity(fault: ScheduledFault, t_s: float, tau_s: float) -> float:
    """Severity seen through a first-order lag of time constant tau_s (0 before onset).

    With t' = t - onset, T = failure - onset, b = k / T and s = (e^{bt'} - 1)/(e^k - 1):

        y(t') = [ (e^{bt'} - e^{-t'/τ}) / (τb + 1) - (1 - e^{-t'/τ}) ] / (e^k - 1)   0<=t'<=T
        y(t') = 1 + (y(T) - 1) e^{-(t' - T)/τ}                                          t'>T

    and for k -> 0 (linear severity): y(t') = (t' - τ (1 - e^{-t'/τ})) / T.
    """
    elapsed = t_s - fault.onset_s
    if elapsed <= 0.0:
        return 0.0
    ramp_s = fault.duration_s

    def during_ramp(t: float) -> float:
        decayed = math.exp(-t / tau_s)
        if fault.growth < LINEAR_GROWTH_BELOW:
            return (t - tau_s * (1.0 - decayed)) / ramp_s
        b = fault.growth / ramp_s
        response = (math.exp(b * t) - decayed) / (tau_s * b + 1.0) - (1.0 - decayed)
        return response / math.expm1(fault.growth)

    if elapsed <= ramp_s:
        return during_ramp(elapsed)
    return 1.0 + (during_ramp(ramp_s) - 1.0) * math.exp(-(elapsed - ramp_s) / tau_s)


class HousingThermalModel:
    """Bearing housing temperatures (deg C) over time."""

    def __init__(self, config: RigConfig, schedule: FaultSchedule) -> None:
        self._config = config
        self._schedule = schedule
        self._base_c = {DE_BEARING: config.de_housing_c, NDE_BEARING: config.nde_housing_c}

    def excess_k(self, t_s: float) -> dict[str, float]:
        """Temperature rise (K) of each housing caused by faults (faults at one housing add)."""
        excess = dict.fromkeys(BEARING_LOCATIONS, 0.0)
        for fault in self._schedule.faults:
            excess[fault.location] += self._config.fault_heating_k * lagged_severity(
                fault, t_s, self._config.housing_tau_s)
        return excess

    def housing_temps_c(self, t_s: float) -> dict[str, float]:
        """Peak surface temperature (deg C) of each housing, keyed by bearing location."""
        return {loc: self._base_c[loc] + rise for loc, rise in self.excess_k(t_s).items()}


class ThermalRenderer:
    """Renders (height, width) float32 thermal frames in deg C."""

    def __init__(self, config: RigConfig, layout: RigLayout, schedule: FaultSchedule,
                 seed: int) -> None:
        self._config = config
        self._seed = seed
        self.model = HousingThermalModel(config, schedule)
        width, height = config.thermal_width, config.thermal_height
        masks = part_masks(layout, width, height, blur_px=OPTICS_BLUR_PX)
        self._static = self._static_scene(masks, config, layout)
        self._housing_masks = {loc: masks[f"{_short(loc)}_housing"] for loc in BEARING_LOCATIONS}
        self._pedestal_masks = {loc: masks[f"{_short(loc)}_pedestal"]
                                for loc in BEARING_LOCATIONS}
        self._shaft_mask = masks["shaft"] + masks["shaft_stub"]
        self._hotspots = {}
        x, y = pixel_grid(width, height)
        for loc in BEARING_LOCATIONS:
            cx, cy = layout.housing_centre_px(loc, width, height)
            sigma = HOTSPOT_SIGMA_OF_HOUSING_WIDTH * layout.housing(loc).to_pixels(
                width, height).width
            spot = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2.0 * sigma**2))
            self._hotspots[loc] = (spot * self._housing_masks[loc]).astype(np.float32)
        rng = np.random.default_rng([seed & 0xFFFFFFFFFFFFFFFF, Stream.PHASES, 2])
        self._drift_phase = float(rng.uniform(0.0, 2.0 * np.pi))

    @staticmethod
    def _static_scene(masks: dict[str, np.ndarray], config: RigConfig,
                      layout: RigLayout) -> np.ndarray:
        """Temperature contribution of the parts that do not change (deg C x coverage)."""
        height = masks["background"].shape[0]
        rows = np.arange(height, dtype=np.float32)[:, None]
        # Warm air collects under the ceiling: background 0.5 K warmer at the top.
        air = config.ambient_c + 0.5 - rows / (height - 1)
        # Axial fins run along the motor: horizontal stripes, tips cooler than roots.
        fin_phase = 2.0 * np.pi * (rows / height - layout.motor.y0) / layout.motor_fin_pitch
        fins = MOTOR_FIN_RIPPLE_K * np.cos(fin_phase)
        scene = masks["background"] * air
        scene += masks["base"] * (config.ambient_c + BASE_ABOVE_AMBIENT_K)
        scene += masks["motor"] * (config.motor_c + fins)
        scene += masks["terminal_box"] * (config.motor_c - TERMINAL_BOX_BELOW_MOTOR_K)
        return scene.astype(np.float32)

    def render(self, t_s: float) -> np.ndarray:
        """Thermal frame at t_s (s): (thermal_height, thermal_width) float32 deg C."""
        cfg = self._config
        excess = self.model.excess_k(t_s)
        housings = self.model.housing_temps_c(t_s)
        image = self._static.copy()
        for loc in BEARING_LOCATIONS:
            bulk_c = housings[loc] - (1.0 - HOUSING_BULK_FRACTION) * excess[loc]
            image += self._housing_masks[loc] * bulk_c
            image += self._hotspots[loc] * ((1.0 - HOUSING_BULK_FRACTION) * excess[loc])
            pedestal_c = cfg.ambient_c + PEDESTAL_COUPLING * (housings[loc] - cfg.ambient_c)
            image += self._pedestal_masks[loc] * pedestal_c
        shaft_c = 0.5 * (housings[DE_BEARING] + housings[NDE_BEARING]) - SHAFT_BELOW_HOUSINGS_K
        image += self._shaft_mask * (
            cfg.ambient_c + SHAFT_APPARENT_FRACTION * (shaft_c - cfg.ambient_c))

        rng = chunk_generator(self._seed, Stream.THERMAL_NOISE, _frame_key(t_s))
        offset = cfg.thermal_drift_k * math.sin(2.0 * math.pi * t_s / DRIFT_PERIOD_S
                                                + self._drift_phase)
        offset += FRAME_OFFSET_JITTER_OF_NETD * cfg.thermal_netd_k * rng.standard_normal()
        noise = rng.standard_normal(image.shape, dtype=np.float32)
        image += np.float32(offset) + np.float32(cfg.thermal_netd_k) * noise
        return image


def _short(location: str) -> str:
    """'de_bearing' -> 'de' (layout part prefix)."""
    return location.removesuffix("_bearing")


def _frame_key(t_s: float) -> int:
    """Non-negative integer naming the frame at t_s (microseconds) for its noise seed."""
    if t_s < 0.0:
        raise ValueError(f"frame time must be >= 0, got {t_s}")
    return round(t_s * 1e6)
