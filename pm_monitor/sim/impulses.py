"""Bearing defect impacts and the decaying resonance each impact excites.

A localised defect gives one short impact per rolling-element pass. The impact itself is
far shorter than a sample, so what a sensor sees is the impulse response of the structure
between defect and sensor: a lightly damped mode (a few kHz) ringing down within
milliseconds. Demodulating that band (envelope analysis) recovers the impact rate — the
defect frequency — which is what the monitor looks for.

Impact times come from absolute time, never from the chunk: impact k of a fault happens at

    t_k = (k + φ + σ ε_k) / f_defect,     ε_k ~ N(0, 1) clipped to ±4

with φ a fixed phase, σ the slip jitter (rolling elements slip a little, so impacts are not
perfectly periodic) and ε_k a hash of (seed, fault, k). Any chunking of the time axis
therefore sees exactly the same impacts.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pm_monitor.core.signals.bearing import (
    BearingGeometry,
    DefectFrequencies,
    defect_frequencies,
)
from pm_monitor.sim.counter_rng import Stream, hashed_normal, hashed_uniform, stream_key
from pm_monitor.sim.fault_schedule import FaultSchedule, ScheduledFault

# Load-zone amplitude modulation, (1 - depth) + depth * (1 + cos(2π f_mod t)) / 2:
# an inner-race defect turns with the shaft and is hit hard only while it is in the load
# zone (once per shaft turn); a ball defect is carried through the load zone by the cage
# (once per cage turn, at FTF). An outer-race defect sits still: constant amplitude.
INNER_RACE_MODULATION_DEPTH = 0.8
BALL_MODULATION_DEPTH = 0.6
AMPLITUDE_SCATTER = 0.1  # rms relative impact-to-impact scatter (surface roughness, slip)
_JITTER_CLIP = 4.0  # jitter is clipped so an impact is never further than 4σ from its slot
RING_DECAY_TO = 1e-3  # a ring is cut where its envelope has decayed to this fraction
# Sub-streams of a train's key: which random quantity a hash is for.
_JITTER_STREAM = 2
_SCATTER_STREAM = 3


@dataclass(frozen=True)
class ImpactTrain:
    """The impacts of one scheduled fault, each with a strength (1 = one impact at failure)."""

    fault: ScheduledFault
    rate_hz: float  # impact rate: BPFO, BPFI or 2 BSF
    modulation_hz: float  # load-zone modulation rate (0: none)
    modulation_depth: float
    slip_jitter: float  # rms timing scatter as a fraction of the impact period
    key: int  # random stream of this train

    @classmethod
    def for_fault(cls, fault: ScheduledFault, frequencies: DefectFrequencies, shaft_hz: float,
                  slip_jitter: float, key: int) -> ImpactTrain:
        """Impact train of `fault` given the bearing's defect frequencies at `shaft_hz`."""
        modulation = {
            "outer_race": (0.0, 0.0),
            "inner_race": (shaft_hz, INNER_RACE_MODULATION_DEPTH),
            "ball": (frequencies.ftf, BALL_MODULATION_DEPTH),
        }[fault.fault_type]
        return cls(fault, frequencies.characteristic_hz(fault.fault_type), *modulation,
                   slip_jitter=slip_jitter, key=key)

    def impacts_between(self, t0_s: float, t1_s: float) -> tuple[np.ndarray, np.ndarray]:
        """(times_s, strengths) of the impacts with t0_s <= time < t1_s, time ascending."""
        t0_s = max(t0_s, self.fault.onset_s)  # no impacts before the defect exists
        if t1_s <= t0_s or self.rate_hz <= 0.0:
            return np.empty(0), np.empty(0)
        phase = hashed_uniform(self.key, np.array([0]))[0]  # where in its slot impact 0 sits
        spread = _JITTER_CLIP * self.slip_jitter
        k_first = max(0, math.floor(t0_s * self.rate_hz - phase - spread))
        k_last = math.ceil(t1_s * self.rate_hz - phase + spread)
        k = np.arange(k_first, k_last + 1, dtype=np.int64)
        jitter = hashed_normal(stream_key(self.key, _JITTER_STREAM), k)
        jitter = np.clip(jitter, -_JITTER_CLIP, _JITTER_CLIP)
        times = (k + phase + self.slip_jitter * jitter) / self.rate_hz
        inside = (times >= t0_s) & (times < t1_s)
        k, times = k[inside], times[inside]

        strengths = np.asarray(self.fault.severity(times), dtype=np.float64)
        strengths = strengths * (1.0 + AMPLITUDE_SCATTER *
                                 hashed_normal(stream_key(self.key, _SCATTER_STREAM), k))
        if self.modulation_depth > 0.0:
            load_zone = 0.5 * (1.0 + np.cos(2.0 * np.pi * self.modulation_hz * times))
            strengths *= 1.0 - self.modulation_depth + self.modulation_depth * load_zone
        return times, np.maximum(strengths, 0.0)


class RingRenderer:
    """Renders impacts as decaying resonance rings on one sensor's absolute sample grid.

    Unit strength gives a ring whose peak is 1 (in the caller's unit). Sample i is taken at
    time i / sample_rate; the sensor receives an impact delay_s after it happens (sound
    flight time for the microphone, 0 for the accelerometer).
    """

    def __init__(self, sample_rate: float, resonance_hz: float, damping_ratio: float,
                 delay_s: float = 0.0) -> None:
        self.sample_rate = sample_rate
        self.delay_s = delay_s
        omega_n = 2.0 * np.pi * resonance_hz  # rad/s
        self._decay = damping_ratio * omega_n  # 1/s, envelope exp(-ζ ω_n τ)
        self._omega_d = omega_n * math.sqrt(1.0 - damping_ratio**2)  # damped frequency
        # Peak of exp(-a τ) sin(ω_d τ) is at tan(ω_d τ) = ω_d / a.
        tau_peak = math.atan2(self._omega_d, self._decay) / self._omega_d
        self._peak = math.exp(-self._decay * tau_peak) * math.sin(self._omega_d * tau_peak)
        ring_s = math.log(1.0 / RING_DECAY_TO) / self._decay
        self.ring_samples = math.ceil(ring_s * sample_rate) + 1
        self._offsets = np.arange(self.ring_samples, dtype=np.int64)

    def impact_window_s(self, start_index: int, n: int) -> tuple[float, float]:
        """Impact times that can reach samples [start_index, start_index + n)."""
        t0 = (start_index - self.ring_samples) / self.sample_rate - self.delay_s
        t1 = (start_index + n) / self.sample_rate - self.delay_s
        return t0, t1

    def render(self, times_s: np.ndarray, strengths: np.ndarray, start_index: int,
               n: int) -> np.ndarray:
        """Sum of the rings of the given impacts over samples [start_index, start_index + n)."""
        if times_s.size == 0:
            return np.zeros(n)
        arrival = times_s + self.delay_s
        first = np.ceil(arrival * self.sample_rate).astype(np.int64)  # first sample >= arrival
        index = first[:, None] + self._offsets[None, :]  # absolute sample of each ring sample
        tau = index / self.sample_rate - arrival[:, None]  # s since the impact reached us
        ring = np.exp(-self._decay * tau) * np.sin(self._omega_d * tau)
        values = (strengths / self._peak)[:, None] * ring
        relative = index - start_index
        keep = (relative >= 0) & (relative < n)
        return np.bincount(relative[keep], weights=values[keep], minlength=n)[:n]


def impact_trains(schedule: FaultSchedule, shaft_hz: float, geometry: BearingGeometry,
                  slip_jitter: float, seed: int) -> list[ImpactTrain]:
    """One impact train per scheduled fault, in schedule order.

    The keys depend only on (seed, fault position), so every sensor built from the same
    seed and schedule sees the very same impacts.
    """
    frequencies = defect_frequencies(shaft_hz, geometry)
    return [
        ImpactTrain.for_fault(fault, frequencies, shaft_hz, slip_jitter,
                              key=stream_key(seed, Stream.IMPACTS, i))
        for i, fault in enumerate(schedule.faults)
    ]
