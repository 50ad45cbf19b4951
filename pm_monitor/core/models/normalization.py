"""Standardisation of feature vectors with statistics from the training runs only."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FeatureScaler:
    """z = (x - mean) / std; absent features become 0, i.e. imputed with the training mean."""

    mean: np.ndarray  # (D,) float32
    std: np.ndarray  # (D,) float32, > 0

    def __post_init__(self) -> None:
        if self.mean.shape != self.std.shape or self.mean.ndim != 1:
            raise ValueError("mean and std must be 1-D arrays of the same length")
        if not np.all(self.std > 0):
            raise ValueError("std must be > 0")

    @classmethod
    def fit(cls, values: np.ndarray, present: np.ndarray, min_std: float = 1e-3) -> FeatureScaler:
        """Mean and std of each feature over the rows where it was measured."""
        weights = present.astype(np.float64)
        counts = np.maximum(weights.sum(axis=0), 1.0)
        mean = (values * weights).sum(axis=0) / counts
        variance = (((values - mean) ** 2) * weights).sum(axis=0) / counts
        std = np.maximum(np.sqrt(variance), min_std)
        return cls(mean.astype(np.float32), std.astype(np.float32))

    def standardise(self, values: np.ndarray, present: np.ndarray) -> np.ndarray:
        """Works on (D,) or (..., D); returns float32 with 0 wherever present is False."""
        z = (np.asarray(values, dtype=np.float32) - self.mean) / self.std
        return np.where(present, z, np.float32(0.0)).astype(np.float32)
