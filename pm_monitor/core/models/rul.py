"""RUL baseline: exponential degradation fit of a health indicator, extrapolated to failure.

Pure numpy, stateful per asset. The health indicator (HI) rises from `baseline` on a healthy
machine to `failure_level` at failure; its excess over the baseline is modelled as
HI(t) - baseline = exp(a + b t) (the classic exponential degradation model), fitted by least
squares on log(HI - baseline) over the recent history. The 80 % interval comes from a residual
bootstrap of that fit.
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
        t_now, hi_now = times[-1], values[-1]
        health = self.health_index(hi_now)
        if hi_now >= cfg.failure_level:
            return RulResult(0.0, 0.0, 0.0, health, cfg.coverage, MODEL_NAME)
        excess = values - cfg.baseline
        degrading = excess > cfg.onset_margin
        if degrading.sum() < cfg.min_points:
            return None
        t_rel = times[degrading] - t_now  # fit around "now" so the intercept is today's level
        log_excess = np.log(excess[degrading])
        design = np.column_stack([np.ones_like(t_rel), t_rel])
        coef, *_ = np.linalg.lstsq(design, log_excess, rcond=None)
        log_target = np.log(cfg.failure_level - cfg.baseline)
        rul = self._time_to_level(coef[None, :], log_target)[0]
        residuals = log_excess - design @ coef
        # Residual bootstrap: refit on fitted values + resampled residuals, all at once.
        picks = self._rng.integers(0, residuals.size, size=(cfg.n_bootstrap, residuals.size))
        samples = (design @ coef)[None, :] + residuals[picks]
        boot_coef = np.linalg.lstsq(design, samples.T, rcond=None)[0].T  # (n_bootstrap, 2)
        boot_rul = self._time_to_level(boot_coef, log_target)
        tail = (1.0 - cfg.coverage) / 2.0
        lower, upper = np.quantile(boot_rul, [tail, 1.0 - tail])
        return RulResult(
            float(rul),
            float(min(lower, rul)),
            float(max(upper, rul)),
            health,
            cfg.coverage,
            MODEL_NAME,
        )

    def _time_to_level(self, coef: np.ndarray, log_target: float) -> np.ndarray:
        """Seconds from now until exp(a + b t) reaches exp(log_target); capped at max_rul_s."""
        intercept, slope = coef[:, 0], coef[:, 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            rul = (log_target - intercept) / slope
        rul = np.where((slope > 0) & np.isfinite(rul), rul, self.config.max_rul_s)
        return np.clip(rul, 0.0, self.config.max_rul_s)

    def reset(self) -> None:
        self._history.clear()
