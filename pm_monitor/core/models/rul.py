"""RUL baseline: exponential degradation fit of a health indicator, extrapolated to failure.

Pure numpy, stateful per asset. The health indicator (HI) rises from `baseline` on a healthy
machine to `failure_level` at failure. Its excess over the baseline is modelled as

    HI(t) - baseline + c = exp(a + b t)

the exponential degradation model with an offset c >= 0 (c = 0 is the pure exponential; c > 0
describes damage that starts growing almost linearly and accelerates later). For each c of a
small grid, a and b come from least squares on log(excess + c); the c with the smallest error
in HI units wins.

The 80 % interval is the union of two: a residual bootstrap of the fit (what the data say about
the trend) and an empirical interval from validation runs, log((true + 1) / (estimate + 1))
quantiles per health-index band (split-conformal calibration). The bootstrap alone is far too
narrow: residuals of a trend are autocorrelated and the degradation is not exactly exponential.
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
    # True when the empirical (split-conformal) interval was applied: only then is the
    # interval a calibrated one and the estimate publishable as valid (RulEstimate contract).
    calibrated: bool = False

    @property
    def evidence(self) -> str:
        """RulEstimate.evidence_kind: a trend of the measured health indicator."""
        return "condition_based" if self.calibrated else "not_calibrated"


@dataclass(frozen=True)
class RulConfig:
    baseline: float  # HI of a healthy machine (training median)
    failure_level: float  # HI at which the machine counts as failed (from training runs)
    onset_margin: float  # HI - baseline above this counts as degradation, not noise
    history_s: float = 300.0  # only the recent trend matters for the extrapolation
    min_points: int = 12
    coverage: float = 0.8
    n_bootstrap: int = 200
    # ((min health index, log-error low quantile, high quantile), ...) sorted by min health
    # index, descending; the first band whose min the current health index reaches applies.
    calibration: tuple[tuple[float, float, float], ...] = ()
    max_rul_s: float = 24 * 3600.0  # a flat trend extrapolates to "beyond this"

    def __post_init__(self) -> None:
        if not self.failure_level > self.baseline + self.onset_margin:
            raise ValueError("failure_level must lie above baseline + onset_margin")
        # JSON gives lists: store tuples so configs compare and hash as values.
        bands = tuple(tuple(float(v) for v in band) for band in self.calibration)
        if any(len(band) != 3 or band[1] > band[2] for band in bands):
            raise ValueError("calibration bands must be (min_health_index, low, high), low<=high")
        object.__setattr__(self, "calibration", tuple(sorted(bands, reverse=True)))


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
            return RulResult(0.0, 0.0, 0.0, health, cfg.coverage, MODEL_NAME, calibrated=True)
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
        lower, upper, calibrated = self._widen(float(rul), float(lower), float(upper), health)
        return RulResult(float(rul), lower, upper, health, cfg.coverage, MODEL_NAME, calibrated)

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

    def _widen(self, rul: float, lower: float, upper: float, health: float
               ) -> tuple[float, float, bool]:
        """Union of the bootstrap interval and the calibrated empirical one; whether a
        calibration band applied."""
        lower, upper = min(lower, rul), max(upper, rul)
        calibrated = False
        for min_health, low, high in self.config.calibration:
            if health >= min_health:
                lower = min(lower, max((rul + 1.0) * np.exp(low) - 1.0, 0.0))
                upper = max(upper, (rul + 1.0) * np.exp(high) - 1.0)
                calibrated = True
                break
        return float(lower), float(min(upper, self.config.max_rul_s)), calibrated

    def reset(self) -> None:
        self._history.clear()
