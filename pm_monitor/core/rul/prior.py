"""Population prior: the residual life of an asset given how long it has run and how it is run.

From a library of run-to-failure (or run-and-stopped, i.e. right-censored) histories of one
asset type, a Weibull life distribution is fitted offline (lifelines, pm_monitor/training/
rul_library.py); this module only evaluates it. Lives are measured in units of a reference
life so that different operating conditions share one fit (accelerated-life model):

- ``reference = "rating_life"``: the ISO 281 basic rating life L10 = (C / P)^3 10^6 revolutions
  at the shaft speed, in seconds (C = dynamic load rating, P = radial load, rpm); a run at a
  heavier load or a higher speed is expected to live proportionally shorter;
- ``reference = "seconds"``: no operating-condition scaling (a library without loads/speeds).

The Weibull scale in seconds is lam = scale * L10^exponent (log lam = log scale + exponent
log L10): exponent 1 is the ISO life equation as is (lives proportional to L10); a
fitted exponent (Weibull AFT regression on log L10) lets the library say how much more
strongly than (C/P)^3 its lives depend on the load and speed.

Given elapsed operating time t, the residual life R = T - t | T > t has the survival function
S(t + r) / S(t); for Weibull(scale lam, shape k) its q-quantile is
    r_q = lam ((t / lam)^k - ln(1 - q))^(1/k) - t.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from pm_monitor.core.rul.distribution import RulDistribution

REFERENCES = ("rating_life", "seconds")
N_POINTS = 199  # quantile points of a prior distribution


@dataclass(frozen=True)
class OperatingCondition:
    rpm: float | None = None
    load_n: float | None = None

    def is_complete(self) -> bool:
        return (self.rpm is not None and self.load_n is not None and self.rpm > 0
                and self.load_n > 0)


def rating_life_s(condition: OperatingCondition, dynamic_load_rating_n: float) -> float:
    """ISO 281 basic rating life L10 of a ball bearing, in seconds of operation."""
    if not condition.is_complete():
        raise ValueError(f"rating life needs rpm and load > 0, got {condition}")
    revolutions = (dynamic_load_rating_n / float(condition.load_n)) ** 3 * 1e6
    return revolutions / (float(condition.rpm) / 60.0)


@dataclass(frozen=True)
class WeibullPrior:
    """A fitted life distribution of one asset type (lives in units of the reference life)."""

    asset_type: str
    shape: float  # Weibull k
    scale: float  # Weibull lambda, in reference lives
    reference: str = "rating_life"
    dynamic_load_rating_n: float | None = None
    n_histories: int = 0
    n_failures: int = 0
    exponent: float = 1.0  # of the rating life in the Weibull scale (1 = ISO 281 as is)

    def __post_init__(self) -> None:
        if self.reference not in REFERENCES:
            raise ValueError(f"reference must be one of {REFERENCES}, got {self.reference!r}")
        if not (self.shape > 0 and self.scale > 0):
            raise ValueError(f"Weibull shape and scale must be > 0 ({self.asset_type})")
        if self.reference == "rating_life" and not (self.dynamic_load_rating_n or 0) > 0:
            raise ValueError("a rating-life prior needs dynamic_load_rating_n > 0")

    def reference_life_s(self, condition: OperatingCondition) -> float:
        if self.reference == "seconds":
            return 1.0
        return rating_life_s(condition, float(self.dynamic_load_rating_n))

    def scale_s(self, condition: OperatingCondition) -> float:
        return self.scale * self.reference_life_s(condition) ** self.exponent

    def residual(self, elapsed_s: float, condition: OperatingCondition,
                 n_points: int = N_POINTS) -> RulDistribution:
        """Residual-life distribution given survival to elapsed_s under this condition."""
        if not (math.isfinite(elapsed_s) and elapsed_s >= 0):
            raise ValueError(f"elapsed_s must be finite and >= 0, got {elapsed_s}")
        lam, k = self.scale_s(condition), self.shape
        q = (np.arange(n_points) + 0.5) / n_points
        points = lam * ((elapsed_s / lam) ** k - np.log1p(-q)) ** (1.0 / k) - elapsed_s
        return RulDistribution(points, "population_prior")

    def median_life_s(self, condition: OperatingCondition) -> float:
        return float(self.scale_s(condition) * math.log(2.0) ** (1.0 / self.shape))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> WeibullPrior:
        return cls(**data)
