"""Validate and reshape the payload of a SensorChunk (interleaved, frame-major float32)."""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


class ChunkDecodeError(ValueError):
    """The chunk's fields are inconsistent or its samples unusable."""


def decode_chunk(samples: Sequence[float] | np.ndarray, channel_names: Sequence[str],
                 sample_rate: float) -> np.ndarray:
    """Return the samples as (n_frames, n_channels) float32, or raise ChunkDecodeError.

    NaN/Inf reject the whole chunk: a partly corrupt chunk is better reported as a gap (the
    stream buffer marks it invalid) than fed to features where one NaN poisons a window.
    """
    n_channels = len(channel_names)
    if n_channels == 0:
        raise ChunkDecodeError("chunk has no channel_names")
    if not (isinstance(sample_rate, int | float) and math.isfinite(sample_rate)
            and sample_rate > 0):
        raise ChunkDecodeError(f"sample_rate must be a finite number > 0, got {sample_rate!r}")
    flat = np.asarray(samples, dtype=np.float32)
    if flat.size == 0:
        raise ChunkDecodeError("chunk has no samples")
    if flat.size % n_channels:
        raise ChunkDecodeError(
            f"{flat.size} samples is not a multiple of {n_channels} channels "
            f"({', '.join(channel_names)})")
    finite = np.isfinite(flat)
    if not finite.all():
        bad = int(flat.size - finite.sum())
        raise ChunkDecodeError(f"{bad} of {flat.size} samples are NaN or Inf")
    return flat.reshape(-1, n_channels)


def encode_chunk(frames: np.ndarray) -> np.ndarray:
    """(n_frames, n_channels) -> flat float32, frame-major (what SensorChunk.samples holds)."""
    return np.ascontiguousarray(frames, dtype=np.float32).reshape(-1)
