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
