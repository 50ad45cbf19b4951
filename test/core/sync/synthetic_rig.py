"""Synthetic 4-modality message sequences for the WindowAssembler tests.

Stream sample values equal their sample index (channel c adds c * 0.25), so a test can check
exactly which samples a window holds. Frames carry their own index in `frame_id`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pm_monitor.core.sync.window import AnalysisWindow
from pm_monitor.core.sync.window_assembler import (
    ImageSpec,
    StreamSpec,
    WindowAssembler,
    WindowAssemblerConfig,
)

NS = 1_000_000_000
T0 = 1_700_000_000 * NS + 123_456_789

STREAM_RATES = {"mic": (16_000, 1), "accel": (25_600, 3)}
FRAME_RATES = {"camera": 30.0, "thermal": 9.0}


def rig_config(**overrides) -> WindowAssemblerConfig:
    settings = {
        "streams": (StreamSpec("mic", 1), StreamSpec("accel", 3)),
        "images": (ImageSpec("camera", 0.02), ImageSpec("thermal", 0.06)),
    }
    settings.update(overrides)
    return WindowAssemblerConfig(**settings)


@dataclass(frozen=True)
class Message:
    arrival_ns: int
    kind: str  # "chunk" or "frame"
    name: str
    stamp_ns: int
    first_index: int = 0
    payload: np.ndarray = field(default_factory=lambda: np.zeros(0))
    rate: float = 0.0


def stream_messages(
    name: str, start_s: float, stop_s: float, rng: np.random.Generator, t0: int = T0
) -> list[Message]:
    rate, channels = STREAM_RATES[name]
    out = []
    index = round(start_s * rate)
    while index < stop_s * rate:
        n = int(rate * rng.choice([0.01, 0.02, 0.05]))
        stamp = t0 - (-index * NS // rate)
        values = np.arange(index, index + n, dtype=np.float32)
        payload = np.stack([values + 0.25 * c for c in range(channels)], axis=1)
        latency = int(rng.integers(1, 20) * 1_000_000)
        out.append(Message(stamp + latency, "chunk", name, stamp, index, payload, rate))
        index += n
    return out


def frame_messages(
    name: str, start_s: float, stop_s: float, rng: np.random.Generator, t0: int = T0
) -> list[Message]:
    hz = FRAME_RATES[name]
    out = []
    for k in range(int(np.ceil(start_s * hz)), int(stop_s * hz)):
        stamp = t0 + round(k * NS / hz) + int(rng.integers(-2_000_000, 2_000_000))
        latency = int(rng.integers(5, 40) * 1_000_000)
        out.append(Message(stamp + latency, "frame", name, stamp, k, np.zeros((2, 2))))
    return out


def rig_messages(
    duration_s: float,
    seed: int = 0,
    silent: dict[str, tuple[float, float]] | None = None,
    t0: int = T0,
) -> list[Message]:
    """All four modalities for duration_s, sorted by arrival; `silent` maps a modality to a
    (from_s, to_s) span in which it sends nothing."""
    rng = np.random.default_rng(seed)
    silent = silent or {}
    messages: list[Message] = []
    for name in [*STREAM_RATES, *FRAME_RATES]:
        make = stream_messages if name in STREAM_RATES else frame_messages
        spans = [(0.0, duration_s)]
        if name in silent:
            off, on = silent[name]
            spans = [(0.0, off), (on, duration_s)]
        for begin, end in spans:
            if end > begin:
                messages += make(name, begin, end, rng, t0)
    return sorted(messages, key=lambda m: m.arrival_ns)


def feed(assembler: WindowAssembler, messages: list[Message]) -> list[AnalysisWindow]:
    windows: list[AnalysisWindow] = []
    for m in messages:
        if m.kind == "chunk":
            windows += assembler.add_chunk(m.name, m.stamp_ns, m.rate, m.first_index, m.payload)
        else:
            windows += assembler.add_frame(m.name, m.stamp_ns, m.payload, str(m.first_index))
    return windows
