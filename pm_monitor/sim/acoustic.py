"""Microphone about a metre from the machine, sound pressure in Pa.

Content:
  * motor hum: magnetostriction of the stator iron vibrates at twice the line frequency,
    with weaker even harmonics;
  * broadband noise (cooling fan, room);
  * bearing clicks: the same impacts the accelerometer feels, radiated by a housing/panel
    mode in the audible kHz range and arriving after the sound's flight time. The microphone
    is roughly equidistant from both bearings, so NDE clicks are only slightly weaker.
"""
from __future__ import annotations

import numpy as np

from pm_monitor.sim.config import RigConfig
from pm_monitor.sim.counter_rng import Stream, chunk_generator
from pm_monitor.sim.fault_schedule import DE_BEARING, FaultSchedule
from pm_monitor.sim.impulses import RingRenderer, impact_trains

# Hum harmonics: (multiple of line frequency, amplitude relative to mic_hum).
_HUM_HARMONICS = ((2, 1.0), (4, 0.35), (6, 0.15))
_NDE_CLICK_GAIN = 0.8


class AcousticModel:
    """Generates microphone samples by absolute sample index (chunking-independent)."""

    def __init__(self, config: RigConfig, schedule: FaultSchedule, seed: int) -> None:
        self._config = config
        self._seed = seed
        self._rate = config.mic_rate
        # Same trains as the vibration model: the sensors share the very same impacts.
        self._trains = impact_trains(schedule, config.shaft_hz, config.bearing,
                                     config.slip_jitter, seed)
        self._gains = [1.0 if f.location == DE_BEARING else _NDE_CLICK_GAIN
                       for f in schedule.faults]
        self._rings = RingRenderer(config.mic_rate, config.mic_resonance_hz,
                                   config.mic_resonance_damping, delay_s=config.acoustic_delay_s)
        rng = np.random.default_rng([seed & 0xFFFFFFFFFFFFFFFF, Stream.PHASES, 1])
        self._hum_phases = rng.uniform(0.0, 2.0 * np.pi, size=len(_HUM_HARMONICS))

    def mic(self, start_index: int, n: int) -> np.ndarray:
        """Samples [start_index, start_index + n) as an (n, 1) float32 array in Pa."""
        if start_index < 0 or n < 0:
            raise ValueError(f"need start_index >= 0 and n >= 0, got {start_index}, {n}")
        t = (start_index + np.arange(n)) / self._rate  # s, absolute
        pressure = self._hum(t) + self._clicks(start_index, n)
        rng = chunk_generator(self._seed, Stream.MIC_NOISE, start_index)
        pressure += self._config.mic_noise_rms * rng.standard_normal(n)
        return pressure.astype(np.float32)[:, None]

    def _hum(self, t: np.ndarray) -> np.ndarray:
        hum = np.zeros_like(t)
        for (multiple, amplitude), phase in zip(_HUM_HARMONICS, self._hum_phases, strict=True):
            hum += amplitude * np.sin(2.0 * np.pi * multiple * self._config.line_hz * t + phase)
        return self._config.mic_hum * hum

    def _clicks(self, start_index: int, n: int) -> np.ndarray:
        total = np.zeros(n)
        t0, t1 = self._rings.impact_window_s(start_index, n)
        for train, gain in zip(self._trains, self._gains, strict=True):
            times, strengths = train.impacts_between(t0, t1)
            if times.size:
                total += gain * self._rings.render(times, strengths, start_index, n)
        return self._config.mic_click_at_failure * total
