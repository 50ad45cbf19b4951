"""Health indicator (HI) of the rig bundle's Stage 1, in units of fault severity (0 new, 1 failed):
a diagnostic gauge (Stage1Decision.health_index); the remaining useful life is core/rul's.

HI = exp(bias + weights . z) - offset, with z the standardised feature vector. The weights are
non-zero only on features that track wear (vibration RMS, kurtosis, Teager-Kaiser energy,
envelope peaks; microphone band energies) and are fitted on the training runs to
log(severity + offset) (pm_monitor/training/health_indicator_fit.py). Those features are logs
of amplitudes, which grow roughly like log(severity); reading out in log space and
exponentiating keeps the HI proportional to severity. Absent features have z = 0 (the training
mean), so a sensor dropout does not look like a sudden recovery or failure.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class HealthIndicator:
    weights: np.ndarray  # (D,) float32 over the standardised feature vector
    bias: float
    offset: float = 0.05  # keeps log(severity + offset) finite on healthy windows

    def __call__(self, standardised: np.ndarray) -> np.ndarray | float:
        """HI of one (D,) vector (-> float) or of a (N, D) batch (-> (N,))."""
        log_value = np.asarray(standardised, dtype=np.float64) @ self.weights + self.bias
        value = np.exp(np.clip(log_value, -50.0, 50.0)) - self.offset
        return float(value) if np.ndim(value) == 0 else value
