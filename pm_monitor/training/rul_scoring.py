"""Metrics of RUL predictions (offline): MAE / RMSE of normalised RUL and the IEEE PHM 2012 score.

PHM 2012 challenge (Nectoux et al.): for each evaluation point the percent error is
    Er = 100 (ActRUL - RUL_hat) / ActRUL
and its accuracy
    A = exp(-ln(0.5) * Er / 5)   if Er <= 0   (late: predicted more life than there is)
    A = exp(+ln(0.5) * Er / 20)  if Er > 0    (early: conservative, punished less)
The score is the mean of A over the points. Points are scored as given: never sorted.
"""
from __future__ import annotations

import numpy as np

from pm_monitor.core.rul.distribution import phm_accuracy

__all__ = ["coverage", "mae", "percent_error", "phm_accuracy", "phm_score", "rmse"]


def percent_error(actual_rul: np.ndarray | float, predicted_rul: np.ndarray | float) -> np.ndarray:
    actual = np.asarray(actual_rul, dtype=np.float64)
    predicted = np.asarray(predicted_rul, dtype=np.float64)
    if np.any(~np.isfinite(actual)) or np.any(actual <= 0):
        raise ValueError("actual RUL must be finite and > 0 for the percent error")
    if np.any(np.isnan(predicted)):
        raise ValueError("predicted RUL contains NaN")
    return 100.0 * (actual - predicted) / actual


def phm_score(actual_rul: np.ndarray, predicted_rul: np.ndarray) -> float:
    """Mean accuracy over the evaluation points (in the given order; nothing is sorted)."""
    percent_error(actual_rul, predicted_rul)  # refuses NaN predictions and actual RUL <= 0
    accuracy = phm_accuracy(actual_rul, predicted_rul)
    if accuracy.size == 0:
        raise ValueError("no evaluation points")
    return float(np.mean(accuracy))


def mae(truth: np.ndarray, predicted: np.ndarray) -> float:
    truth, predicted = _pair(truth, predicted)
    return float(np.mean(np.abs(truth - predicted)))


def rmse(truth: np.ndarray, predicted: np.ndarray) -> float:
    truth, predicted = _pair(truth, predicted)
    return float(np.sqrt(np.mean((truth - predicted) ** 2)))


def coverage(truth: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Share of points with lower <= truth <= upper."""
    truth = np.asarray(truth, dtype=np.float64)
    return float(np.mean((truth >= np.asarray(lower)) & (truth <= np.asarray(upper))))


def _pair(truth: np.ndarray, predicted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    truth = np.asarray(truth, dtype=np.float64)
    predicted = np.asarray(predicted, dtype=np.float64)
    if truth.shape != predicted.shape or truth.size == 0:
        raise ValueError(f"need equal, non-empty shapes, got {truth.shape} and {predicted.shape}")
    return truth, predicted
