"""A small background of healthy Stage 1 input sequences: the baseline of integrated gradients,
and the bounds of the counterfactual search.

Filled from data the caller trusts to be healthy: sequences from healthy training or rig runs
(`add`, `save` / `load`), or on line from the asset itself (`observe`: windows the cascade
judged Normal and not anomalous), so the baseline is *this* machine running well. A reservoir
sample keeps it small and spread over the whole healthy period.
"""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from pm_monitor.core.types import HealthState


class HealthyBackground:
    def __init__(self, capacity: int = 8, seed: int = 0) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self._rng = np.random.default_rng(seed)
        self._sequences: list[np.ndarray] = []
        self._lock = threading.Lock()
        self.seen = 0

    def __len__(self) -> int:
        return len(self._sequences)

    def add(self, sequence: np.ndarray) -> None:
        """Reservoir sampling (Algorithm R): every sequence seen so far is kept with equal
        probability capacity / seen."""
        sequence = np.asarray(sequence, dtype=np.float32)
        if sequence.ndim != 2 or not np.all(np.isfinite(sequence)):
            raise ValueError(f"a background sequence must be a finite (T, D) array, "
                             f"got shape {sequence.shape}")
        with self._lock:
            if self._sequences and sequence.shape != self._sequences[0].shape:
                raise ValueError(f"sequence {sequence.shape} does not match the background "
                                 f"{self._sequences[0].shape}")
            self.seen += 1
            if len(self._sequences) < self.capacity:
                self._sequences.append(sequence.copy())
                return
            slot = int(self._rng.integers(self.seen))
            if slot < self.capacity:
                self._sequences[slot] = sequence.copy()

    def observe(self, result) -> bool:  # result: CascadeResult
        """Add the result's Stage 1 input if the cascade judged it healthy; True if offered."""
        if result.state != HealthState.NORMAL or result.anomalous:
            return False
        self.add(result.stage1_input)
        return True

    def baselines(self) -> np.ndarray | None:
        """(K, T, D) float32, or None while empty (callers then use the zero baseline)."""
        with self._lock:
            return np.stack(self._sequences) if self._sequences else None

    def bounds(self, margin: float = 0.5) -> tuple[np.ndarray, np.ndarray] | None:
        """Per-feature (low, high) of the healthy values in standardised units, widened by
        `margin` standard deviations of the training data; None while empty."""
        baselines = self.baselines()
        if baselines is None:
            return None
        values = baselines.reshape(-1, baselines.shape[-1])
        return values.min(axis=0) - margin, values.max(axis=0) + margin

    def save(self, path: Path | str) -> Path:
        path = Path(path)
        baselines = self.baselines()
        if baselines is None:
            raise ValueError("nothing to save: the background is empty")
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, sequences=baselines, seen=self.seen)
        return path

    @classmethod
    def load(cls, path: Path | str, capacity: int | None = None, seed: int = 0
             ) -> HealthyBackground:
        """Read a file written by `save`; a clear error for a missing or malformed file."""
        path = Path(path)
        try:
            with np.load(path) as data:
                sequences, seen = data["sequences"], int(data["seen"])
        except (OSError, KeyError, ValueError) as err:
            raise ValueError(f"cannot read healthy background {path}: {err}") from err
        if sequences.ndim != 3:
            raise ValueError(f"{path}: expected (K, T, D) sequences, got {sequences.shape}")
        background = cls(capacity or len(sequences), seed)
        for sequence in sequences:
            background.add(sequence)
        background.seen = max(seen, len(sequences))
        return background
