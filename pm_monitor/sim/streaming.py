"""Turn the rig simulator into timed sensor output: which chunks, frames and ground-truth
samples are due once the simulated clock reaches t. Pure; the rig node only publishes them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pm_monitor.core.types import NS_PER_S


@dataclass(frozen=True)
class RigOutput:
    """One item to publish. kind: accel | mic | thermal | camera | truth.

    stamp_ns is the acquisition time (first sample for chunks); available_s the simulated
    time at which a real sensor could deliver it (a chunk only after its last sample)."""

    kind: str
    stamp_ns: int
    available_s: float
    data: Any
    sample_rate: float = 0.0
    first_sample_index: int = 0


class _Periodic:
    """Emits item k at k / rate (frames, truth) or, for chunks, once the chunk is complete."""

    def __init__(self, period_s: float, complete_after_s: float = 0.0) -> None:
        if period_s <= 0:
            raise ValueError(f"period must be > 0, got {period_s}")
        self.period_s = period_s
        self.complete_after_s = complete_after_s
        self.next_k = 0

    def due(self, t_s: float) -> list[int]:
        ks = []
        # small epsilon: k * period may round just above t for exact multiples
        while self.next_k * self.period_s + self.complete_after_s <= t_s + 1e-9:
            ks.append(self.next_k)
            self.next_k += 1
        return ks


class RigClock:
    """Schedules the rig's outputs on a simulated clock starting at epoch_ns."""

    def __init__(self, sim, epoch_ns: int, chunk_s: float = 0.02, camera_hz: float = 30.0,
                 thermal_hz: float = 9.0, truth_hz: float = 10.0) -> None:
        if not 0.001 <= chunk_s <= 1.0:
            raise ValueError(f"chunk_s must be within 0.001..1 s, got {chunk_s}")
        self.sim = sim
        self.epoch_ns = int(epoch_ns)
        cfg = sim.config
        self._streams = {}
        for kind, rate in (("accel", float(cfg.accel_rate)), ("mic", float(cfg.mic_rate))):
            n = max(1, round(chunk_s * rate))
            self._streams[kind] = (rate, n, _Periodic(n / rate, complete_after_s=n / rate))
        self._camera = _Periodic(1.0 / camera_hz)
        self._thermal = _Periodic(1.0 / thermal_hz)
        self._truth = _Periodic(1.0 / truth_hz)

    def stamp_ns(self, t_s: float) -> int:
        return self.epoch_ns + round(t_s * NS_PER_S)

    def advance_to(self, t_s: float) -> list[RigOutput]:
        """Everything that became available in (previous t, t], in order of availability."""
        items: list[RigOutput] = []
        for kind, (rate, n, schedule) in self._streams.items():
            generate = self.sim.accel if kind == "accel" else self.sim.mic
            for k in schedule.due(t_s):
                start = k * n
                data = np.asarray(generate(start, n), dtype=np.float32)
                items.append(RigOutput(kind, self.stamp_ns(start / rate), (start + n) / rate,
                                       data, rate, start))
        for k in self._thermal.due(t_s):
            t = k * self._thermal.period_s
            items.append(RigOutput("thermal", self.stamp_ns(t), t, self.sim.thermal(t)))
        for k in self._camera.due(t_s):
            t = k * self._camera.period_s
            items.append(RigOutput("camera", self.stamp_ns(t), t, self.sim.camera(t)))
        for k in self._truth.due(t_s):
            t = k * self._truth.period_s
            items.append(RigOutput("truth", self.stamp_ns(t), t, self.sim.truth(t)))
        items.sort(key=lambda item: item.available_s)
        return items
