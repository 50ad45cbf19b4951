"""The exponential-fit RUL baseline of the paper-002 comparison (training/rul_baseline.py, run by
training/rul_femto.py): a health indicator extrapolated to a failure level. Offline only: the
runtime RUL is core/rul (prior, onset, condition-based; the monitor's RUL stage and rul_node).

Pure numpy, stateful per asset. The health indicator (HI) rises from `baseline` on a healthy
machine to `failure_level` at failure. Its excess over the baseline is modelled as

    HI(t) - baseline + c = exp(a + b t)

the exponential degradation model with an offset c >= 0 (c = 0 is the pure exponential; c > 0
describes damage that starts growing almost linearly and accelerates later). For each c of a
small grid, a and b come from least squares on log(excess + c); the c with the smallest error
in HI units wins.

The 80 % interval is a residual bootstrap of the fit (too narrow: residuals of a trend are
autocorrelated; it is not calibrated, which is one reason it is only a baseline).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RulResult:
    rul_s: float
    lower_s: float
    upper_s: float
    health_index: float  # 1 = as healthy as the training baseline, 0 = at the failure level
    coverage: float  # nominal coverage of [lower_s, upper_s]
    model_name: str


@dataclass(frozen=True)
class RulConfig:
    baseline: float  # HI of a healthy machine (training median)
    failure_level: float  # HI at which the machine counts as failed (from training runs)
    onset_margin: float  # HI - baseline above this counts as degradation, not noise
    history_s: float = 300.0  # only the recent trend matters for the extrapolation
    min_points: int = 12
    coverage: float = 0.8
    n_bootstrap: int = 200
    max_rul_s: float = 24 * 3600.0  # a flat trend extrapolates to "beyond this"

    def __post_init__(self) -> None:
        if not self.failure_level > self.baseline + self.onset_margin:
            raise ValueError("failure_level must lie above baseline + onset_margin")


MODEL_NAME = "exponential_degradation_bootstrap"
# Offsets c tried, as fractions of (failure_level - baseline).
OFFSET_FRACTIONS = np.concatenate([[0.0], np.geomspace(0.003, 1.0, 12)])
_TINY = 1e-9


class ExponentialRulEstimator:
    """Keeps one asset's (t, HI) history and extrapolates it to the failure level."""

    def __init__(self, config: RulConfig, seed: int = 0) -> None:
        self.config = config
        self._history: deque[tuple[float, float]] = deque()
        self._rng = np.random.default_rng(seed)

    def health_index(self, indicator: float) -> float:
        """Map an HI value to [0, 1]: 1 at the healthy baseline, 0 at the failure level."""
        span = self.config.failure_level - self.config.baseline
        return float(np.clip(1.0 - (indicator - self.config.baseline) / span, 0.0, 1.0))

    def update(self, t_s: float, indicator: float) -> None:
        """Record the HI of the window ending at t_s (cheap; call it for every window)."""
        self._history.append((t_s, float(indicator)))
        while self._history and self._history[0][0] < t_s - self.config.history_s:
            self._history.popleft()

    def estimate(self) -> RulResult | None:
        """RUL from the current history, or None while there is no degradation trend to fit."""
        if not self._history:
            return None
        cfg = self.config
        times, values = np.array(self._history, dtype=np.float64).T
        health = self.health_index(values[-1])
        if values[-1] >= cfg.failure_level:  # at the failure level: certain, nothing to calibrate
            return RulResult(0.0, 0.0, 0.0, health, cfg.coverage, MODEL_NAME)
        excess = values - cfg.baseline
        degrading = excess > cfg.onset_margin
        if degrading.sum() < cfg.min_points:
            return None
        t_rel = times[degrading] - times[-1]  # fit around "now": the intercept is today's level
        excess = excess[degrading]
        design = np.column_stack([np.ones_like(t_rel), t_rel])
        target = cfg.failure_level - cfg.baseline
        offset = self._best_offset(design, excess, target)
        coef = np.linalg.lstsq(design, np.log(excess + offset), rcond=None)[0]
        fitted = np.exp(design @ coef) - offset
        rul = self._time_to_level(coef[None, :], target, offset)[0]
        # Residual bootstrap in HI units, refitting the line for the chosen offset.
        residuals = excess - fitted
        picks = self._rng.integers(0, residuals.size, size=(cfg.n_bootstrap, residuals.size))
        samples = np.log(np.maximum(fitted[None, :] + residuals[picks] + offset, _TINY))
        boot_coef = np.linalg.lstsq(design, samples.T, rcond=None)[0].T  # (n_bootstrap, 2)
        boot_rul = self._time_to_level(boot_coef, target, offset)
        tail = (1.0 - cfg.coverage) / 2.0
        lower, upper = np.quantile(boot_rul, [tail, 1.0 - tail])
        lower, upper = min(float(lower), float(rul)), min(max(float(upper), float(rul)),
                                                           cfg.max_rul_s)
        return RulResult(float(rul), lower, upper, health, cfg.coverage, MODEL_NAME)

    def _best_offset(self, design: np.ndarray, excess: np.ndarray, target: float) -> float:
        """The offset c whose exponential fit has the smallest squared error in HI units."""
        offsets = OFFSET_FRACTIONS * target
        logs = np.log(excess[:, None] + offsets[None, :])  # (n, n_offsets)
        coef = np.linalg.lstsq(design, logs, rcond=None)[0]  # (2, n_offsets)
        errors = ((np.exp(design @ coef) - offsets[None, :] - excess[:, None]) ** 2).sum(axis=0)
        return float(offsets[int(np.argmin(errors))])

    def _time_to_level(self, coef: np.ndarray, target: float, offset: float) -> np.ndarray:
        """Seconds from now until exp(a + b t) - offset reaches target; capped at max_rul_s."""
        intercept, slope = coef[:, 0], coef[:, 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            rul = (np.log(target + offset) - intercept) / slope
        rul = np.where((slope > 0) & np.isfinite(rul), rul, self.config.max_rul_s)
        return np.clip(rul, 0.0, self.config.max_rul_s)

    def reset(self) -> None:
        self._history.clear()
