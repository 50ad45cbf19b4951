"""Triaxial accelerometer on the drive-end bearing housing, in m/s^2.

Content, per axis (x radial horizontal, y radial vertical, z axial):
  * 1x shaft speed from residual imbalance: a rotating force, so x and y are 90 deg apart;
    the vertical direction is stiffer (the foot is bolted down), so y responds less.
  * 2x shaft speed from coupling misalignment, strongest axially.
  * bearing impacts of every active fault ringing the housing resonance; radial axes see
    them fully, the axial one weakly; impacts from the NDE bearing travel through the
    frame to the DE sensor and arrive attenuated.
  * broadband noise that grows with damage (a worn bearing runs rougher).
"""
from __future__ import annotations

import numpy as np

from pm_monitor.sim.config import RigConfig
from pm_monitor.sim.counter_rng import Stream, chunk_generator
from pm_monitor.sim.fault_schedule import DE_BEARING, FaultSchedule
from pm_monitor.sim.impulses import RingRenderer, impact_trains

# Relative response of (x, y, z) to the shaft-speed forces.
_IMBALANCE_AXIS_GAINS = np.array([1.0, 0.7, 0.1])
_IMBALANCE_AXIS_PHASES = np.array([0.0, -0.5 * np.pi, 0.0])  # rotating force: y lags x 90°
_MISALIGNMENT_AXIS_GAINS = np.array([0.5, 0.4, 1.0])


class VibrationModel:
    """Generates accelerometer samples by absolute sample index (chunking-independent)."""

    def __init__(self, config: RigConfig, schedule: FaultSchedule, seed: int) -> None:
        self._config = config
        self._seed = seed
        self._rate = config.accel_rate
        # Same trains as the acoustic model: the sensors share the very same impacts.
        self._trains = impact_trains(schedule, config.shaft_hz, config.bearing,
                                     config.slip_jitter, seed)
        # How much of an impact at each bearing reaches the DE-mounted sensor.
        self._path_gains = [
            1.0 if fault.location == DE_BEARING else config.accel_nde_transmission
            for fault in schedule.faults
        ]
        self._rings = RingRenderer(config.accel_rate, config.resonance_hz,
                                   config.resonance_damping)
        self._axis_gains = np.asarray(config.accel_axis_gains, dtype=np.float64)
        phases = np.random.default_rng([seed & 0xFFFFFFFFFFFFFFFF, Stream.PHASES]).uniform(
            0.0, 2.0 * np.pi, size=2)
        self._imbalance_phase, self._misalignment_phase = phases

    def accel(self, start_index: int, n: int) -> np.ndarray:
        """Samples [start_index, start_index + n) as an (n, 3) float32 array in m/s^2."""
        if start_index < 0 or n < 0:
            raise ValueError(f"need start_index >= 0 and n >= 0, got {start_index}, {n}")
        t = (start_index + np.arange(n)) / self._rate  # s, absolute
        signal = self._shaft_harmonics(t)
        signal += np.outer(self._impacts(start_index, n), self._axis_gains)
        signal += self._noise(start_index, t)
        return signal.astype(np.float32)

    def _shaft_harmonics(self, t: np.ndarray) -> np.ndarray:
        shaft_angle = 2.0 * np.pi * self._config.shaft_hz * t  # rad
        imbalance = self._config.accel_imbalance * _IMBALANCE_AXIS_GAINS * np.cos(
            shaft_angle[:, None] + self._imbalance_phase + _IMBALANCE_AXIS_PHASES)
        misalignment = self._config.accel_misalignment * np.outer(
            np.cos(2.0 * shaft_angle + self._misalignment_phase), _MISALIGNMENT_AXIS_GAINS)
        return imbalance + misalignment

    def _impacts(self, start_index: int, n: int) -> np.ndarray:
        """Radial impact acceleration (m/s^2) at the sensor, before the per-axis gain."""
        total = np.zeros(n)
        t0, t1 = self._rings.impact_window_s(start_index, n)
        for train, path_gain in zip(self._trains, self._path_gains, strict=True):
            times, strengths = train.impacts_between(t0, t1)
            if times.size:
                total += path_gain * self._rings.render(times, strengths, start_index, n)
        return self._config.accel_impact_at_failure * total

    def _noise(self, start_index: int, t: np.ndarray) -> np.ndarray:
        # Severity as felt at the sensor: an NDE fault roughens the DE signal less.
        felt = np.zeros_like(t)
        for train, path_gain in zip(self._trains, self._path_gains, strict=True):
            felt = np.maximum(felt, path_gain * train.fault.severity(t))
        level = self._config.accel_noise_rms * (1.0 + self._config.accel_noise_growth * felt)
        rng = chunk_generator(self._seed, Stream.ACCEL_NOISE, start_index)
        return rng.standard_normal((t.size, 3)) * level[:, None]
