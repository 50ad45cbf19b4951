"""RUL targets, the causal degradation-onset rule, and normalised RUL <-> seconds.

Targets (normalised RUL, 1 = new, 0 = end of record):
- linear: y(t) = (L - t) / L, with L the bearing's life (time of the last snapshot);
- piecewise-linear: y(t) = 1 until the degradation onset t_on, then (L - t) / (L - t_on).

Onset rule (causal: the decision at snapshot i uses snapshots 0..i only, so the same rule runs
live and never looks ahead): health indicator = horizontal RMS (g), smoothed by the median of
the last `smooth` snapshots; baseline = median and robust spread (1.4826 * MAD) of the
indicator over the first `baseline_s` seconds; onset = the first snapshot that starts a run of
`persist` consecutive smoothed values above baseline + max(k_sigma * spread,
rel_margin * baseline). A bearing whose rule never fires has t_on = L - its piecewise target
is then 1 everywhere except at the very end, i.e. "no detectable degradation".
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

_EPS = 1e-3  # keeps y / (1 - y) finite when a prediction saturates at 1


@dataclass(frozen=True)
class OnsetRule:
    baseline_s: float = 600.0
    min_baseline_points: int = 10
    smooth: int = 5
    k_sigma: float = 6.0
    rel_margin: float = 1.0  # "the RMS doubled"
    persist: int = 3


class OnlineOnset:
    """Feeds (t, indicator) one snapshot at a time; ``onset_s`` is set once the rule fires."""

    def __init__(self, rule: OnsetRule | None = None) -> None:
        self.rule = rule or OnsetRule()
        self._t0: float | None = None
        self._baseline: list[float] = []
        self._recent: deque[float] = deque(maxlen=self.rule.smooth)
        self._run: list[float] = []
        self.threshold: float | None = None
        self.onset_s: float | None = None

    def update(self, t_s: float, indicator: float) -> float | None:
        """Returns the onset time (s) once detected (then it never changes)."""
        if self.onset_s is not None:
            return self.onset_s
        if self._t0 is None:
            self._t0 = t_s
        self._recent.append(float(indicator))
        smoothed = float(np.median(self._recent))
        rule = self.rule
        if self.threshold is None:
            if t_s - self._t0 <= rule.baseline_s or len(self._baseline) < rule.min_baseline_points:
                self._baseline.append(float(indicator))
                return None
            base = np.asarray(self._baseline)
            centre = float(np.median(base))
            spread = 1.4826 * float(np.median(np.abs(base - centre)))
            self.threshold = centre + max(rule.k_sigma * spread, rule.rel_margin * centre)
        if smoothed > self.threshold:
            self._run.append(t_s)
            if len(self._run) >= rule.persist:
                self.onset_s = self._run[0]
        else:
            self._run.clear()
        return self.onset_s


def detect_onset(t_s: np.ndarray, indicator: np.ndarray, rule: OnsetRule | None = None
                 ) -> tuple[float | None, float | None]:
    """(onset time, time at which the rule decided) over a whole record, both None if never."""
    online = OnlineOnset(rule)
    for t, value in zip(np.asarray(t_s, dtype=float), np.asarray(indicator, dtype=float),
                        strict=True):
        if online.update(float(t), float(value)) is not None:
            return online.onset_s, float(t)
    return None, None


def linear_target(t_s: np.ndarray, life_s: float) -> np.ndarray:
    return np.clip((life_s - np.asarray(t_s, dtype=float)) / life_s, 0.0, 1.0)


def piecewise_target(t_s: np.ndarray, life_s: float, onset_s: float | None) -> np.ndarray:
    t = np.asarray(t_s, dtype=float)
    if onset_s is None or onset_s >= life_s:
        return np.where(t >= life_s, 0.0, 1.0)
    return np.clip((life_s - t) / (life_s - onset_s), 0.0, 1.0)


def rul_s_from_linear(y: np.ndarray | float, elapsed_s: np.ndarray | float) -> np.ndarray:
    """Seconds left from a linear-target prediction: y = RUL / (elapsed + RUL)."""
    y = np.clip(np.asarray(y, dtype=float), 0.0, 1.0 - _EPS)
    return np.asarray(elapsed_s, dtype=float) * y / (1.0 - y)


def rul_s_from_piecewise(y: np.ndarray | float, elapsed_s: np.ndarray | float,
                         onset_s: float | None) -> np.ndarray:
    """Seconds left from a piecewise prediction, after onset: y = RUL / (t - t_on + RUL).

    Before the onset (or when none was detected) the RUL is unknown: NaN."""
    y = np.clip(np.asarray(y, dtype=float), 0.0, 1.0 - _EPS)
    elapsed = np.asarray(elapsed_s, dtype=float)
    if onset_s is None:
        return np.full(np.broadcast(y, elapsed).shape, np.nan)
    since = elapsed - onset_s
    return np.where(since >= 0, since * y / (1.0 - y), np.nan)
