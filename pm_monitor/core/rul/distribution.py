"""A predictive distribution of remaining useful life, and the points a planner can read off it.

Represented by equally weighted quantile points of the RUL in seconds (sorted, >= 0), so every
source (a survival prior, a condition-based model, their fusion, an empirical calibration)
hands the same object to the publisher. Two point estimates:

- ``median``: half the probability on each side;
- ``phm_optimal``: the point that maximises the expected PHM 2012 accuracy
  A = exp(-ln 0.5 Er / 5) when late (Er <= 0), exp(ln 0.5 Er / 20) when early, with
  Er = 100 (actual - predicted) / actual. Late is punished four times harder than early, so this
  point lies below the median: the decision a maintenance planner who shares the challenge's
  cost asymmetry would take.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

POINT_KINDS = ("phm_optimal", "median")
_LN_HALF = float(np.log(0.5))
_MIN_RUL_S = 1.0  # the PHM error divides by the actual RUL


def phm_accuracy(actual_s: np.ndarray, predicted_s: np.ndarray) -> np.ndarray:
    """The PHM 2012 per-point accuracy A (broadcasting)."""
    actual = np.maximum(np.asarray(actual_s, dtype=np.float64), _MIN_RUL_S)
    # Clipped where A is 0 to machine precision anyway (no overflow for absurd predictions).
    err = np.maximum(100.0 * (actual - np.asarray(predicted_s, dtype=np.float64)) / actual,
                     -5000.0)
    return np.where(err <= 0, np.exp(-_LN_HALF * err / 5.0), np.exp(_LN_HALF * err / 20.0))


@dataclass(frozen=True)
class RulDistribution:
    """Quantile points of RUL (s). ``evidence`` says what it rests on."""

    points_s: np.ndarray
    evidence: str

    def __post_init__(self) -> None:
        points = np.sort(np.asarray(self.points_s, dtype=np.float64).ravel())
        if points.size == 0 or not np.all(np.isfinite(points)):
            raise ValueError("a RUL distribution needs finite quantile points")
        object.__setattr__(self, "points_s", np.maximum(points, 0.0))

    def quantile(self, q: float | np.ndarray) -> np.ndarray | float:
        grid = (np.arange(self.points_s.size) + 0.5) / self.points_s.size
        return np.interp(q, grid, self.points_s)

    @property
    def median_s(self) -> float:
        return float(self.quantile(0.5))

    def interval(self, coverage: float) -> tuple[float, float]:
        if not 0 < coverage < 1:
            raise ValueError(f"coverage must lie in (0, 1), got {coverage}")
        tail = (1.0 - coverage) / 2.0
        return float(self.quantile(tail)), float(self.quantile(1.0 - tail))

    def phm_optimal_s(self) -> float:
        """argmax over candidate points of the mean PHM accuracy against these quantiles."""
        candidates = np.unique(np.concatenate([
            self.points_s, np.geomspace(max(self.points_s[0], _MIN_RUL_S),
                                        max(self.points_s[-1], 2 * _MIN_RUL_S), 200)]))
        expected = phm_accuracy(self.points_s[None, :], candidates[:, None]).mean(axis=1)
        return float(candidates[int(np.argmax(expected))])

    def point(self, kind: str) -> float:
        if kind == "median":
            return self.median_s
        if kind == "phm_optimal":
            return self.phm_optimal_s()
        raise ValueError(f"unknown point kind {kind!r}; choose from {POINT_KINDS}")

    def log_moments(self) -> tuple[float, float]:
        """Mean and standard deviation of log(RUL + 1 s): what the fusion combines."""
        logs = np.log(self.points_s + _MIN_RUL_S)
        return float(logs.mean()), float(max(logs.std(), 1e-3))
