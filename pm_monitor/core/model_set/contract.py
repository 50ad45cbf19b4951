"""The model-set contract: what the monitor's pipeline runs, whatever the models are.

A model set declares its inputs (per modality: channels, unit, accepted rate, which stages need
it) and its window / hop, and turns each analysis window into a CascadeResult. Both shipped
sets (the rig bundle and the real-data models) are CascadeModelSet instances: the one generic
Cascade over shared stage blocks (pm_monitor.core.stages) plus the one Explainer.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from pm_monitor.core.cascade import Cascade, CascadeResult
from pm_monitor.core.explain.explainer import AlertExplanation, Explainer
from pm_monitor.core.model_set.descriptor import InputSpec
from pm_monitor.core.rul.live import LiveEstimate
from pm_monitor.core.sync.window import AnalysisWindow, FrameSample
from pm_monitor.core.types import ACCEL


@runtime_checkable
class ModelSet(Protocol):
    name: str
    version: str
    window_s: float
    hop_s: float
    inputs: Mapping[str, InputSpec]
    explainer: Explainer

    def process(self, window: AnalysisWindow) -> CascadeResult: ...

    def observe_rul(self, window: AnalysisWindow) -> LiveEstimate | None: ...

    def explain(self, result: CascadeResult,
                frames: Mapping[str, FrameSample] | None = None) -> AlertExplanation: ...

    def reset(self) -> None: ...

    def status(self) -> dict[str, object]: ...

    def describe(self) -> list[str]: ...

    def backend_summary(self) -> str: ...


@dataclass
class CascadeModelSet:
    """A model set made of the generic cascade, its explainer and what it was loaded from."""

    name: str
    version: str
    window_s: float
    hop_s: float
    inputs: dict[str, InputSpec]
    cascade: Cascade
    explainer: Explainer
    report: list[str] = field(default_factory=list)  # one line per loading decision
    backend: Callable[[], str] = lambda: "torch"

    def process(self, window: AnalysisWindow) -> CascadeResult:
        return self.cascade.process(window)

    def observe_rul(self, window: AnalysisWindow) -> LiveEstimate | None:
        """The RUL stage on a window whose decision is out (Cascade.observe_rul)."""
        return self.cascade.observe_rul(window)

    def explain(self, result: CascadeResult,
                frames: Mapping[str, FrameSample] | None = None) -> AlertExplanation:
        return self.explainer.explain(result, frames)

    def reset(self) -> None:
        self.cascade.reset()

    def status(self) -> dict[str, object]:
        """Extra /diagnostics values (commissioning progress, buffers)."""
        return self.cascade.status()

    def describe(self) -> list[str]:
        """Start-up log lines: inputs, then one per loading decision / model."""
        parts = []
        for spec in self.inputs.values():
            rate = f" at {spec.sample_rate_hz:g} Hz" if spec.sample_rate_hz else ""
            channels = f" {', '.join(spec.channels)}" if spec.channels else ""
            needs = f" (needed by {', '.join(spec.required_by)})" if spec.required_by else ""
            unit = f" in {spec.unit}" if spec.unit else ""
            parts.append(f"{spec.modality}{channels}{rate}{unit}{needs}")
        head = (f"model set {self.name}: window {self.window_s:g} s / hop {self.hop_s:g} s; "
                + "; ".join(parts))
        return [head, *self.report]

    def backend_summary(self) -> str:
        return self.backend()

    # what the pipeline configures its inputs with
    @property
    def accel_channels(self) -> tuple[str, ...]:
        return self.inputs[ACCEL].channels if ACCEL in self.inputs else ()

    @property
    def accel_unit(self) -> str:
        return self.inputs[ACCEL].unit if ACCEL in self.inputs else "m/s^2"

    @property
    def sample_rates(self) -> dict[str, float]:
        """Input -> the only sample rate its models accept (inputs with any rate absent)."""
        return {m: s.sample_rate_hz for m, s in self.inputs.items()
                if s.sample_rate_hz is not None}


def with_required_by(inputs: Mapping[str, InputSpec], cascade: Cascade) -> dict[str, InputSpec]:
    """The declared inputs with the names of the stages that need each."""
    needs: dict[str, list[str]] = {m: [] for m in inputs}
    for name in cascade.stage1.required_inputs:
        needs.setdefault(name, []).append(cascade.stage1.name)
    for stage in (*cascade.localizers, *cascade.scorers):
        needs.setdefault(stage.modality, []).append(stage.name)
    missing = sorted(set(needs) - set(inputs))
    if missing:
        raise ValueError(f"stages need inputs the model set does not declare: {missing}")
    return {m: InputSpec(s.modality, s.unit, s.channels, s.sample_rate_hz, tuple(needs[m]))
            for m, s in inputs.items()}
