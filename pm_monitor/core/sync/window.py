"""The analysis window: what the synchroniser hands to feature extraction and the cascade."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class StreamWindow:
    """Samples of one continuous stream inside [t_end - duration, t_end].

    samples: (n_samples, n_channels) float32, frame-major, time ascending.
    valid:   (n_samples,) bool, False where the stream had a gap (those samples are 0).
    """

    samples: np.ndarray
    sample_rate: float
    channel_names: tuple[str, ...]
    t_start_ns: int
    valid: np.ndarray

    @property
    def coverage(self) -> float:
        """Fraction of the window actually covered by received samples."""
        return float(self.valid.mean()) if self.valid.size else 0.0

    def longest_received(self) -> StreamWindow | None:
        """The longest stretch of received samples (itself when nothing was lost; None when
        nothing was received). Samples lost in transport (an index gap) are zeros in the
        window: features computed over them read the steps into and out of the hole as
        impacts (kurtosis, crest, envelope lines), so a healthy machine would look faulty."""
        if self.valid.all():
            return self
        valid = np.concatenate(([False], self.valid, [False]))
        edges = np.flatnonzero(np.diff(valid.astype(np.int8)))
        starts, ends = edges[0::2], edges[1::2]
        if starts.size == 0:
            return None
        longest = int(np.argmax(ends - starts))
        start, end = int(starts[longest]), int(ends[longest])
        offset_ns = round(start * 1e9 / self.sample_rate)
        return StreamWindow(self.samples[start:end], self.sample_rate, self.channel_names,
                            self.t_start_ns + offset_ns, self.valid[start:end])


@dataclass(frozen=True)
class FrameSample:
    """One image frame. Thermal: (H, W) float32 in deg C. Camera: (H, W, 3) uint8 RGB."""

    stamp_ns: int
    image: np.ndarray
    frame_id: str = ""


@dataclass(frozen=True)
class AnalysisWindow:
    """Aligned data of all modalities for the window ending at t_end_ns.

    streams / frames hold only the modalities present; `missing` names the configured
    modalities absent from this window (silent past their timeout, or no frame within slop).
    """

    t_end_ns: int
    duration_s: float
    streams: dict[str, StreamWindow] = field(default_factory=dict)
    frames: dict[str, FrameSample] = field(default_factory=dict)
    missing: tuple[str, ...] = ()

    @property
    def present(self) -> tuple[str, ...]:
        return tuple(self.streams) + tuple(self.frames)
