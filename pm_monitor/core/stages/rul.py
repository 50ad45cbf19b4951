"""RUL stage: Stage 1's health index of every decided window -> exponential extrapolation to
the failure level (pm_monitor.core.models.rul), estimated when the gate is open."""
from __future__ import annotations

from pm_monitor.core.models.rul import ExponentialRulEstimator, RulConfig, RulResult
from pm_monitor.core.stages.contract import Stage1Decision


class HealthIndexRul:
    name = "rul"

    def __init__(self, config: RulConfig, seed: int = 0) -> None:
        self.estimator = ExponentialRulEstimator(config, seed=seed)

    def observe(self, t_s: float, decision: Stage1Decision) -> None:
        if decision.health_index is not None:
            self.estimator.update(t_s, decision.health_index)

    def estimate(self) -> RulResult | None:
        return self.estimator.estimate()

    def reset(self) -> None:
        self.estimator.reset()
