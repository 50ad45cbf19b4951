"""Sequences of the last T feature vectors, built the same way the cascade builds them live."""
from __future__ import annotations

import numpy as np


def sequence_indices(n_windows: int, length: int) -> np.ndarray:
    """(n_windows, length) indices into one run; before `length` windows exist the sequence is
    left-padded with window 0, exactly like Cascade's start-up."""
    offsets = np.arange(length) - (length - 1)
    return np.clip(np.arange(n_windows)[:, None] + offsets[None, :], 0, None)


def build_sequences(standardised: np.ndarray, run_lengths: list[int], length: int) -> np.ndarray:
    """(N, length, D) sequences for runs stored back to back in `standardised` (N, D)."""
    parts, start = [], 0
    for n in run_lengths:
        parts.append(standardised[start : start + n][sequence_indices(n, length)])
        start += n
    return np.concatenate(parts).astype(np.float32)
