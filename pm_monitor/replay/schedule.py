"""Turn replay sources into a time-ordered sequence of messages-as-data, and pace it.

``replay_messages`` is the whole stamping logic: chunk k of a stream carries the samples
``first_index + k*L ..`` of its segment, ``first_sample_index`` equal to that index and the
stamp ``start + time(index)``; image frames carry ``start + t``. With ``loop``, pass p is the
same sequence shifted by p loop periods (the longest source plus ``gap_s``), so stamps and
sample indices keep increasing: a receiver sees a gap between passes, never a jump back or a
sensor reset. ``ReplayPacer`` decides when each message is due in wall time at a speed factor.
"""
from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from pm_monitor.core.types import NS_PER_S
from pm_monitor.replay.sources import (
    ImageSource,
    Source,
    StreamSource,
    sample_time_ns,
    samples_in,
)


@dataclass(frozen=True)
class ChunkPayload:
    """Fields of a SensorChunk. ``samples``: (n_frames, n_channels) float32."""

    samples: np.ndarray
    sample_rate: float
    channel_names: tuple[str, ...]
    unit: str
    first_sample_index: int


@dataclass(frozen=True)
class ImagePayload:
    pixels: np.ndarray
    encoding: str


@dataclass(frozen=True)
class ReplayMessage:
    stream: str  # "accel", "mic", "thermal", "camera"
    stamp_ns: int
    frame_id: str
    payload: ChunkPayload | ImagePayload
    record_id: str  # the recording it comes from (bearing, record, clip, image)
    pass_index: int  # 0 on the first pass, 1.. when looping


@dataclass(frozen=True)
class ReplayConfig:
    start_stamp_ns: int  # stamp of timeline t = 0
    chunk_s: float = 0.02  # duration of one SensorChunk (the last of a segment may be shorter)
    loop: bool = False
    gap_s: float = 1.0  # silence between loop passes (and, in the sources, between recordings)
    duration_s: float = 0.0  # stop after this much message time; 0 = the whole selection

    def __post_init__(self) -> None:
        if self.start_stamp_ns <= 0:
            raise ValueError("start_stamp_ns must be > 0 (a zero stamp means 'no time' in ROS)")
        if not self.chunk_s > 0:
            raise ValueError(f"chunk_s must be > 0, got {self.chunk_s}")
        if self.gap_s < 0 or self.duration_s < 0:
            raise ValueError("gap_s and duration_s must be >= 0")


def loop_period_ns(sources: Sequence[Source], gap_s: float) -> int:
    """Timeline length of one pass: end of the longest source plus the gap."""
    return max(s.end_ns for s in sources) + round(gap_s * NS_PER_S)


def _stream_messages(src: StreamSource, config: ReplayConfig, pass_index: int,
                     period_ns: int) -> Iterator[ReplayMessage]:
    chunk_len = max(1, round(config.chunk_s * src.sample_rate))
    index_offset = pass_index * samples_in(period_ns, src.sample_rate)
    for seg in src.segments:
        data = np.asarray(seg.load(), dtype=np.float32)
        if data.ndim != 2 or data.shape != (seg.n_samples, len(src.channel_names)):
            raise ValueError(f"{seg.record_id}: loaded samples of shape {data.shape}, expected "
                             f"({seg.n_samples}, {len(src.channel_names)})")
        for k in range(0, seg.n_samples, chunk_len):
            index = index_offset + seg.first_index + k
            yield ReplayMessage(
                src.stream, config.start_stamp_ns + sample_time_ns(index, src.sample_rate),
                src.frame_id,
                ChunkPayload(data[k:k + chunk_len], src.sample_rate, src.channel_names,
                             src.unit, index),
                seg.record_id, pass_index)


def _image_messages(src: ImageSource, config: ReplayConfig, pass_index: int,
                    period_ns: int) -> Iterator[ReplayMessage]:
    for frame in src.frames:
        yield ReplayMessage(
            src.stream, config.start_stamp_ns + pass_index * period_ns + frame.t_ns,
            src.frame_id, ImagePayload(frame.load(), src.encoding), frame.record_id, pass_index)


def replay_messages(sources: Sequence[Source], config: ReplayConfig) -> Iterator[ReplayMessage]:
    """All messages of the selection in stamp order (ties: source order); endless with loop
    unless ``duration_s`` is set. Data load lazily, one segment or frame at a time."""
    if not sources:
        raise ValueError("nothing to replay: no sources")
    streams = [s.stream for s in sources]
    if len(set(streams)) != len(streams):
        raise ValueError(f"two sources for one stream: {streams}")
    period_ns = loop_period_ns(sources, config.gap_s)
    end_ns = (config.start_stamp_ns + round(config.duration_s * NS_PER_S)
              if config.duration_s > 0 else None)
    for pass_index in itertools.count():
        per_source = [
            _stream_messages(s, config, pass_index, period_ns) if isinstance(s, StreamSource)
            else _image_messages(s, config, pass_index, period_ns) for s in sources]
        for message in heapq.merge(*per_source, key=lambda m: m.stamp_ns):
            if end_ns is not None and message.stamp_ns >= end_ns:
                return
            yield message
        if not config.loop:
            return


class ReplayPacer:
    """Releases messages when their stamp is due in wall time: a message stamped t after the
    start is due ``t / speed_factor`` wall seconds after the replay began."""

    def __init__(self, messages: Iterator[ReplayMessage], start_stamp_ns: int,
                 speed_factor: float) -> None:
        if not speed_factor > 0:
            raise ValueError(f"speed_factor must be > 0, got {speed_factor}")
        self._messages = messages
        self._next: ReplayMessage | None = next(messages, None)
        self.start_stamp_ns = start_stamp_ns
        self.speed_factor = speed_factor
        self.released = 0

    @property
    def finished(self) -> bool:
        return self._next is None

    def due_at_s(self, message: ReplayMessage) -> float:
        """Wall seconds after the start at which ``message`` is due."""
        return (message.stamp_ns - self.start_stamp_ns) / NS_PER_S / self.speed_factor

    def message_time_ns(self, elapsed_wall_s: float) -> int:
        """Replay time (what /clock shows) ``elapsed_wall_s`` after the start."""
        return self.start_stamp_ns + round(elapsed_wall_s * self.speed_factor * NS_PER_S)

    def lag_s(self, elapsed_wall_s: float) -> float:
        """How late the oldest unreleased message is (0 when none is overdue)."""
        if self._next is None:
            return 0.0
        return max(0.0, elapsed_wall_s - self.due_at_s(self._next))

    def due(self, elapsed_wall_s: float, max_messages: int | None = None) -> list[ReplayMessage]:
        """Messages due by ``elapsed_wall_s``, oldest first, at most ``max_messages``."""
        out: list[ReplayMessage] = []
        while (self._next is not None and self.due_at_s(self._next) <= elapsed_wall_s
               and (max_messages is None or len(out) < max_messages)):
            out.append(self._next)
            self._next = next(self._messages, None)
        self.released += len(out)
        return out
