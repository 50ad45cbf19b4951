"""Dynamic anomaly threshold ([P4]): rolling mean + c x std of the recent scores."""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ThresholdConfig:
    """Parameters of DynamicThreshold.

    floor: lowest threshold allowed, a high quantile of the healthy training scores, so a very
        quiet stretch cannot make ordinary noise look anomalous.
    ceiling: highest threshold allowed, so a fault that grows slower than the history window
        cannot lift the threshold without bound.
    """

    floor: float
    ceiling: float
    c: float = 4.0
    history: int = 120  # scores, i.e. 60 s at a 0.5 s hop
    min_history: int = 10  # below this the floor alone is used

    def __post_init__(self) -> None:
        if not 0.0 < self.floor <= self.ceiling:
            raise ValueError(f"need 0 < floor <= ceiling, got {self.floor}, {self.ceiling}")
        if self.history < self.min_history or self.min_history < 2:
            raise ValueError("need 2 <= min_history <= history")


class DynamicThreshold:
    """Stateful threshold of one asset's anomaly scores.

    After warm-up, scores judged anomalous are not added to the history (the threshold is frozen
    while the asset is anomalous), so a developing fault is not absorbed into "normal"; the
    ceiling still catches a machine that was already faulty during warm-up.
    """

    def __init__(self, config: ThresholdConfig) -> None:
        self.config = config
        self._scores: deque[float] = deque(maxlen=config.history)

    @property
    def value(self) -> float:
        """The threshold the next score is compared against."""
        if len(self._scores) < self.config.min_history:
            return self.config.floor
        recent = np.fromiter(self._scores, dtype=np.float64)
        adaptive = float(recent.mean() + self.config.c * recent.std())
        return min(max(adaptive, self.config.floor), self.config.ceiling)

    def update(self, score: float) -> tuple[bool, float]:
        """Judge `score` against the current threshold; returns (anomalous, threshold used)."""
        threshold = self.value
        anomalous = score > threshold
        warming_up = len(self._scores) < self.config.min_history
        # During warm-up every score is kept: with no history there is nothing to protect yet,
        # and a machine whose healthy scores sit above the floor would otherwise never get one.
        if warming_up or not anomalous:
            self._scores.append(float(score))
        return anomalous, threshold

    def reset(self) -> None:
        self._scores.clear()
