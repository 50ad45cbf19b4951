"""Random numbers that depend only on *what* they are for, never on call order.

The rig is generated chunk by chunk, and a chunk must not change when the chunking does.
Per-impulse randomness (slip jitter, amplitude scatter) is therefore a pure function of
(seed, stream, impulse index): a SplitMix64 hash, vectorised in numpy. Noise that may depend
on the chunking (sensor noise) comes from a numpy Generator seeded by (seed, stream, index).
"""
from __future__ import annotations

from enum import IntEnum

import numpy as np

_GOLDEN_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)
_TWO_POW_MINUS_53 = 1.0 / float(1 << 53)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser of uint64 array x (wrap-around arithmetic is intended)."""
    z = x + _GOLDEN_GAMMA
    z = (z ^ (z >> np.uint64(30))) * _MIX_1
    z = (z ^ (z >> np.uint64(27))) * _MIX_2
    return z ^ (z >> np.uint64(31))


def stream_key(seed: int, *labels: int) -> int:
    """A 64-bit key for one random stream, derived from the seed and integer labels."""
    key = np.array([seed & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64)
    for label in labels:
        key = _splitmix64(key ^ np.uint64(label & 0xFFFFFFFFFFFFFFFF))
    return int(key[0])


def hashed_uniform(key: int, index: np.ndarray) -> np.ndarray:
    """Uniform floats in [0, 1), one per non-negative integer in `index`, fixed by `key`."""
    counters = np.asarray(index, dtype=np.int64).astype(np.uint64)
    bits = _splitmix64(counters ^ np.uint64(key))
    return (bits >> np.uint64(11)).astype(np.float64) * _TWO_POW_MINUS_53


def hashed_normal(key: int, index: np.ndarray) -> np.ndarray:
    """Standard normal floats, one per index, fixed by `key` (Box-Muller of two hashes)."""
    u1 = hashed_uniform(key, index)
    u2 = hashed_uniform(stream_key(key, 1), index)
    radius = np.sqrt(-2.0 * np.log1p(-u1))  # 1 - u1 lies in (0, 1]: no log(0)
    return radius * np.cos(2.0 * np.pi * u2)


def chunk_generator(seed: int, stream: int, index: int) -> np.random.Generator:
    """numpy Generator for the noise of one chunk (or frame) starting at `index`."""
    return np.random.default_rng([seed & 0xFFFFFFFFFFFFFFFF, stream, index])


class Stream(IntEnum):
    """Labels that keep the random streams of the rig independent of each other."""

    IMPACTS = 1  # per-impact jitter and scatter (shared by accelerometer and microphone)
    ACCEL_NOISE = 2
    MIC_NOISE = 3
    THERMAL_NOISE = 4
    CAMERA_NOISE = 5
    PHASES = 6  # fixed phases of harmonics and drifts
