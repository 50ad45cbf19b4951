"""What a stage of a model set promises the generic cascade (pm_monitor.core.cascade).

Every stage declares the inputs it needs (`required_inputs`, names of pm_monitor.core.types:
accel, mic, thermal, camera). The cascade runs a stage only when all of them are present in the
window; a stage that finds an input it cannot take (wrong rate, incomplete window, frame of
another size) raises InputRefusedError and is treated as if the input were missing. A Stage 1 that
cannot decide (inputs missing, baseline still being commissioned) returns an Abstention: the
window then carries no decision, and the alarm manager neither raises nor clears on it.

A Stage 1 may also decide without some of its inputs (`degraded_modes`, one DegradedMode per
SET of inputs it can do without: one input, or two with one modality left), but only where the
model set's own held-out evidence for exactly that set allows it
(pm_monitor.core.model_set.degraded for the rig bundle): such a decision names the inputs it was
taken without (Stage1Decision.decided_without), may be capped at a state
(DegradedMode.max_state), and the alarm manager may raise on it but never clear on it.

Networks run through one interface, NetworkRunner: named networks, `run(name, feeds)` with
named numpy inputs and outputs (pm_monitor.core.inference.NetworkSet, on torch / ONNX Runtime /
TensorRT), so an inference backend plugs in under any stage without the stage changing.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol, runtime_checkable

import numpy as np

from pm_monitor.core.rul.live import LiveEstimate
from pm_monitor.core.sync.window import AnalysisWindow, FrameSample
from pm_monitor.core.types import HealthState


class InputRefusedError(ValueError):
    """A stage cannot take one of its inputs in this window; `modality` names it."""

    def __init__(self, modality: str, reason: str) -> None:
        super().__init__(f"{modality} refused: {reason}")
        self.modality = modality
        self.reason = reason


@dataclass(frozen=True)
class DegradedMode:
    """Stage 1 may decide without all of `missing` (the other inputs present): the worst state
    such a decision may name (`max_state`; a worse output is reported at this state), whether
    it may name the fault type (`names_fault`; else the fault is UNKNOWN_FAULT) and, in words,
    the held-out evidence that allowed it (shown in notes, logs and /diagnostics). A mode holds
    for exactly its set: a mode without accel says nothing about accel and mic both missing."""

    missing: tuple[str, ...]
    max_state: HealthState = HealthState.FAILURE
    evidence: str = ""
    names_fault: bool = True

    @property
    def key(self) -> frozenset[str]:
        """The set of inputs, as `Stage1.degraded_modes` is keyed."""
        return frozenset(self.missing)


DegradedModes = Mapping[frozenset[str], DegradedMode]  # set of missing inputs -> its mode
NO_DEGRADED_MODES: DegradedModes = MappingProxyType({})  # needs all its inputs


def modes_by_missing(*modes: DegradedMode) -> dict[frozenset[str], DegradedMode]:
    """`Stage1.degraded_modes` of these modes (each keyed by its set of inputs)."""
    return {mode.key: mode for mode in modes}


@dataclass(frozen=True)
class Stage1Decision:
    """A Stage 1 vote on one window: health state, fault type, anomaly score."""

    state_probabilities: np.ndarray  # (n_states,), index = HealthState
    fault_type_probabilities: dict[str, float]  # fault name -> probability ("none" included)
    fault_type: str  # the named fault when the state is not Normal, else "none"
    attention: np.ndarray  # (T,) temporal attention over the sequence, sums to 1
    sequence: np.ndarray  # (T, D) standardised Stage 1 input (what explanations attribute)
    anomaly_score: float
    anomaly_threshold: float
    anomalous: bool
    # Stage 1's own health indicator (1 healthy .. 0 failed), when it has one; the RUL stage
    # does not use it: it runs the RUL model's own indicators and onset (core/stages/rul.py)
    health_index: float | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)  # e.g. features, anomaly
    # what the decision rests on, in words (e.g. the physics set's defect lines and level over
    # the asset's reference); the cascade puts it first in the result's notes and summary
    evidence: tuple[str, ...] = ()
    # optional inputs the stage could not use in this window, (modality, reason): the decision
    # stands on the others (a refused microphone never blocks the vibration decision)
    refused_inputs: tuple[tuple[str, str], ...] = ()
    # may the anomaly alone (state Normal) raise an alarm? False where the stage's states
    # already weigh it and a bare deviation is advisory (physics set: run-in changes of a new
    # asset deviate from its reference for hours without damage; `anomalous` is still reported)
    anomaly_alarms: bool = True
    # the required inputs this decision was taken without (the set of one of the stage's
    # degraded_modes); () for a decision on all of them
    decided_without: tuple[str, ...] = ()


@dataclass(frozen=True)
class Abstention:
    """Stage 1 gives no decision for this window, and why. commissioning: (windows seen,
    windows needed) while a per-asset baseline is being learned."""

    reason: str
    commissioning: tuple[int, int] | None = None


@runtime_checkable
class NetworkRunner(Protocol):
    """Named networks behind one call: `run(name, {input: array}) -> {output: array}`."""

    def run(self, model: str, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]: ...

    def backend_of(self, model: str) -> str: ...

    def summary(self) -> str: ...


class Stage1(Protocol):
    """Health state + anomaly score on every window (or an abstention). degraded_modes:
    frozenset of required inputs -> DegradedMode for each set the stage may decide without ({}:
    it needs all of them); the cascade lets exactly such a set be missing, nothing else."""

    name: str
    required_inputs: tuple[str, ...]
    degraded_modes: DegradedModes

    def decide(self, window: AnalysisWindow) -> Stage1Decision | Abstention:
        """Raises InputRefusedError for an input it cannot take."""
        ...

    def reset(self) -> None: ...

    def status(self) -> dict[str, object]: ...


class Localizer(Protocol):
    """Stage 2: where on one frame (a Localization of pm_monitor.core.cascade)."""

    name: str
    modality: str  # the frame it reads; also its only required input

    def localize(self, frame: FrameSample) -> object:
        """-> pm_monitor.core.cascade.Localization; raises InputRefusedError."""
        ...


class Scorer(Protocol):
    """A per-modality score reported beside the decision (never a vote on the state)."""

    name: str
    modality: str

    def observe(self, window: AnalysisWindow) -> None:
        """Every window with the modality (buffers across windows); raises InputRefusedError."""
        ...

    def scores(self) -> dict[str, float]:
        """Named values (e.g. the score and its threshold); {} while it has none."""
        ...

    def reset(self) -> None: ...

    def status(self) -> dict[str, object]: ...


class RulStage(Protocol):
    """Remaining useful life from the window's inputs, on every window that has them (not
    behind Stage 1's gate: before any degradation the estimate is the population prior, which
    a planner needs as much as the condition-based one after the onset)."""

    name: str
    required_inputs: tuple[str, ...]

    def observe(self, window: AnalysisWindow) -> LiveEstimate | None:
        """Feed one window (its required inputs present); the estimate made on it, if any
        (one per update period of stream time). Never raises for bad input: it is counted."""
        ...

    @property
    def latest(self) -> LiveEstimate | None:
        """The newest estimate (None before the first)."""
        ...

    def reset(self) -> None: ...

    def status(self) -> dict[str, object]: ...
