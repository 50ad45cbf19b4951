"""What a replay plays: streams of sample segments and sequences of image frames, placed on
one timeline that starts at 0 (the scheduler adds the start stamp and loop offsets).

A stream's timeline is its sample index: segment ``first_index`` says where its first sample
sits, so a recording with pauses (FEMTO's 0.1 s snapshot every 10 s, clips one after another)
shows the pauses as index gaps, never as fake continuity. Time follows from the index, so
stamps and ``first_sample_index`` always agree (``sample_time_ns``).
"""
from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from pm_monitor.core.types import NS_PER_S


def sample_time_ns(index: int, sample_rate: float) -> int:
    """Time of sample ``index`` after sample 0, in ns, exact integer arithmetic (rounded)."""
    ns = Fraction(int(index) * NS_PER_S) / Fraction(sample_rate)
    return round(ns)


def samples_in(duration_ns: int, sample_rate: float) -> int:
    """Samples needed to cover ``duration_ns`` (rounded up)."""
    exact = Fraction(int(duration_ns)) * Fraction(sample_rate) / NS_PER_S
    return -((-exact.numerator) // exact.denominator)


@dataclass(frozen=True)
class StreamSegment:
    """Contiguous samples of one recording. ``load`` returns (n_samples, n_channels) float32."""

    first_index: int
    n_samples: int
    load: Callable[[], np.ndarray]
    record_id: str


@dataclass(frozen=True)
class StreamSource:
    """One sample stream (published as SensorChunk), segments in time order."""

    stream: str  # input name of the monitor: "accel" or "mic"
    frame_id: str
    sample_rate: float
    channel_names: tuple[str, ...]
    unit: str
    segments: tuple[StreamSegment, ...]

    def __post_init__(self) -> None:
        if not self.segments:
            raise ValueError(f"{self.stream}: nothing to replay (no segments)")
        if not (self.sample_rate > 0):
            raise ValueError(f"{self.stream}: sample_rate must be > 0, got {self.sample_rate}")
        end = 0
        for seg in self.segments:
            if seg.n_samples <= 0 or seg.first_index < end:
                raise ValueError(f"{self.stream}: segment {seg.record_id} at index "
                                 f"{seg.first_index} (n={seg.n_samples}) overlaps or is empty")
            end = seg.first_index + seg.n_samples

    @property
    def end_ns(self) -> int:
        """Time just after the last sample (where a following pass may start)."""
        last = self.segments[-1]
        return sample_time_ns(last.first_index + last.n_samples, self.sample_rate)


@dataclass(frozen=True)
class ImageFrameRef:
    """One image at ``t_ns`` on the timeline; ``load`` returns pixels in ``encoding``."""

    t_ns: int
    load: Callable[[], np.ndarray]
    record_id: str


@dataclass(frozen=True)
class ImageSource:
    """One image stream (published as sensor_msgs/Image), frames in time order."""

    stream: str  # "thermal" or "camera"
    frame_id: str
    encoding: str
    frame_period_ns: int  # spacing of consecutive frames (the last one lasts this long too)
    frames: tuple[ImageFrameRef, ...]

    def __post_init__(self) -> None:
        if not self.frames:
            raise ValueError(f"{self.stream}: nothing to replay (no frames)")
        if self.frame_period_ns <= 0:
            raise ValueError(f"{self.stream}: frame period must be > 0")
        times = [f.t_ns for f in self.frames]
        if times[0] < 0 or any(b <= a for a, b in itertools.pairwise(times)):
            raise ValueError(f"{self.stream}: frame times must increase from >= 0")

    @property
    def end_ns(self) -> int:
        return self.frames[-1].t_ns + self.frame_period_ns


Source = StreamSource | ImageSource


def contiguous_segments(loads: Sequence[tuple[int, Callable[[], np.ndarray], str]],
                        gap_samples: int) -> tuple[StreamSegment, ...]:
    """Recordings played one after another, ``gap_samples`` of silence between them
    (the receiver sees a gap, so no window spans two recordings)."""
    if gap_samples < 0:
        raise ValueError(f"gap must be >= 0 samples, got {gap_samples}")
    segments, index = [], 0
    for n_samples, load, record_id in loads:
        segments.append(StreamSegment(index, n_samples, load, record_id))
        index += n_samples + gap_samples
    return tuple(segments)
