"""Which simulated rig runs to generate for training, validation and held-out testing.

The unit of splitting is the run: a run's windows are strongly correlated, so windows of one run
never end up on both sides. Held-out runs use their own seeds and their own randomly drawn
schedules (onsets, growth times, growth exponents), drawn from a separate random stream.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pm_monitor.sim.fault_schedule import BEARING_LOCATIONS, FaultSchedule, ScheduledFault

FAULT_KINDS: tuple[str, ...] = ("outer_race", "inner_race", "ball")
TAIL_AFTER_FAILURE_S = 15.0  # keep a little of the failed state in every fault run


@dataclass(frozen=True)
class RunSpec:
    name: str
    schedule: FaultSchedule
    seed: int
    duration_s: float


@dataclass(frozen=True)
class SplitPlan:
    faults_per_kind_and_location: int
    healthy_runs: int
    healthy_duration_s: float
    onset_s: tuple[float, float]
    onset_to_failure_s: tuple[float, float]
    growth: tuple[float, float]
    faults: tuple[tuple[str, str], ...] = tuple(
        (kind, location) for kind in FAULT_KINDS for location in BEARING_LOCATIONS
    )


FULL_PLAN: dict[str, SplitPlan] = {
    "train": SplitPlan(2, 3, 240.0, (10.0, 60.0), (150.0, 320.0), (1.5, 5.0)),
    "val": SplitPlan(1, 1, 240.0, (10.0, 60.0), (150.0, 320.0), (1.5, 5.0)),
    "test": SplitPlan(1, 2, 240.0, (10.0, 60.0), (150.0, 320.0), (1.5, 5.0)),
}
QUICK_PLAN: dict[str, SplitPlan] = {
    "train": SplitPlan(1, 1, 40.0, (5.0, 10.0), (25.0, 40.0), (2.0, 4.0)),
    "val": SplitPlan(1, 1, 30.0, (5.0, 10.0), (25.0, 40.0), (2.0, 4.0),
                     (("inner_race", "de_bearing"),)),
    "test": SplitPlan(1, 1, 30.0, (5.0, 10.0), (25.0, 40.0), (2.0, 4.0),
                      (("outer_race", "de_bearing"),)),
}
# Different base seeds keep the simulator noise and the schedules of the splits independent.
SPLIT_SEEDS = {"train": 1_000, "val": 2_000, "test": 3_000}


def plan_runs(split: str, quick: bool = False) -> list[RunSpec]:
    """The runs of one split: each planned (fault kind, bearing) pair, plus healthy runs."""
    plan = (QUICK_PLAN if quick else FULL_PLAN)[split]
    base_seed = SPLIT_SEEDS[split]
    rng = np.random.default_rng(base_seed)
    runs: list[RunSpec] = []
    for kind, location in plan.faults:
        for _ in range(plan.faults_per_kind_and_location):
            onset = float(rng.uniform(*plan.onset_s))
            failure = onset + float(rng.uniform(*plan.onset_to_failure_s))
            fault = ScheduledFault(
                kind, location, round(onset, 1), round(failure, 1),
                round(float(rng.uniform(*plan.growth)), 2),
            )
            runs.append(RunSpec(
                name=f"{split}_{len(runs):02d}_{kind}_{location}",
                schedule=FaultSchedule((fault,), f"{kind} at {location}"),
                seed=base_seed + len(runs),
                duration_s=round(failure + TAIL_AFTER_FAILURE_S, 1),
            ))
    for _ in range(plan.healthy_runs):
        runs.append(RunSpec(
            name=f"{split}_{len(runs):02d}_healthy",
            schedule=FaultSchedule((), "healthy"),
            seed=base_seed + len(runs),
            duration_s=plan.healthy_duration_s,
        ))
    return runs
