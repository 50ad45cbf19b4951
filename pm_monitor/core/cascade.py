"""The one cascade every model set runs: Stage 1 + anomaly score -> (gate) -> Stage 2; RUL.

Stage 1 (health state, fault type, anomaly score) runs on every window whose Stage 1 inputs are
all present. Only when Stage 1 says "not normal" or the anomaly score crosses its dynamic
threshold does the cascade spend time on Stage 2 (where on each frame, Grad-CAM) and the
scorers (paper 000: Stage 2 answers "where", not "whether"). The RUL stage (core/stages/rul.py)
is fed every window that has its inputs, whatever Stage 1 said: it makes one cheap estimate per
update period (population prior before its onset, condition-based after), and the result
carries the newest one. The stages come from the model set (pm_monitor.core.stages, assembled
by pm_monitor.core.model_set); this module holds the gate logic, once.

Missing inputs never vote: a stage whose required inputs are missing (or refused) does not run;
when Stage 1 cannot run, or abstains (commissioning), the window carries no decision
(`decision_basis == ()`), which the alarm manager neither raises nor clears on. The one
exception is a Stage 1 degraded mode (Stage1.degraded_modes: a set of inputs - one, or two with
one modality left - the model set's held-out evidence shows Stage 1 decides well without): with
exactly that set missing Stage 1 still decides, the result says so (`decided_without`,
"rig_stage1 without mic, thermal" in `decision_basis`, a note with the evidence), its state is
capped at the mode's max_state, and the alarm manager may raise or escalate on it but never
clear (an alarm raised on all inputs is not cleared by a model that lost some).
Explanations are the Explainer's (pm_monitor.core.explain.explainer), a separate, slower call.
"""
from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from pm_monitor.core.rul.live import LiveEstimate
from pm_monitor.core.stages.contract import (
    Abstention,
    DegradedMode,
    InputRefusedError,
    Localizer,
    RulStage,
    Scorer,
    Stage1,
    Stage1Decision,
)
from pm_monitor.core.sync.window import AnalysisWindow
from pm_monitor.core.types import ACCEL, CAMERA, MIC, THERMAL, UNKNOWN_FAULT, HealthState

MODALITY_ORDER = (ACCEL, MIC, THERMAL, CAMERA)  # how results list inputs
TIMING_KEYS = ("features", "stage1", "anomaly", "stage2", "total")


@dataclass(frozen=True)
class CascadeConfig:
    """stage2_on_anomaly: also open the gate when only the anomaly score fires (Stage 1 normal).
    region_fraction: the Grad-CAM region is the blob above this fraction of the heatmap max."""

    stage2_on_anomaly: bool = True
    region_fraction: float = 0.5
    seed: int = 0


@dataclass(frozen=True)
class Localization:
    modality: str
    frame_id: str
    heatmap: np.ndarray  # (H, W) float32 in [0, 1], the frame's size
    hotspot_xy: tuple[int, int]
    region: tuple[int, int, int, int]  # x, y, w, h
    location: str  # one of the localiser's class names
    confidence: float


@dataclass(frozen=True)
class CascadeResult:
    """One window's outcome, the same fields for every model set.

    decision_basis: the stages whose output this window's decision rests on (Stage 1 first,
    then the Stage 2 localisers and scorers that ran); empty = no decision (Stage 1's inputs
    missing or refused, or its baseline still being commissioned): state Normal with zero
    confidence, not anomalous, and nothing an alarm may be raised or cleared on."""

    t_end_ns: int
    state: HealthState
    state_probabilities: np.ndarray  # (4,); zeros without a decision
    confidence: float
    anomaly_score: float
    anomaly_threshold: float
    anomalous: bool
    fault_type: str  # "none" whenever state is NORMAL; "unknown": a degraded mode not naming it
    fault_type_probabilities: dict[str, float]
    localizations: tuple[Localization, ...]  # Stage 2 maps, the main one (thermal) first
    scores: dict[str, float]  # scorers' values (e.g. mic_anomaly_score, its threshold)
    # the RUL stage's newest estimate, made on an earlier window (Cascade.observe_rul runs after
    # the decision, so that it never delays an alert)
    rul: LiveEstimate | None
    decision_basis: tuple[str, ...]
    modalities_used: tuple[str, ...]
    modalities_missing: tuple[str, ...]
    timings_ms: dict[str, float]
    summary: str
    temporal_attention: np.ndarray  # (T,) Stage 1 attention, sums to 1
    stage1_input: np.ndarray  # (T, D) standardised sequence; what the Explainer attributes
    notes: tuple[str, ...] = ()  # why an input was not used, why there is no decision
    anomaly_alarms: bool = True  # Stage 1's word: may the anomaly alone raise an alarm
    commissioning: tuple[int, int] | None = None  # (done, needed) while a baseline is learned
    # Stage 1's inputs this decision was taken without (a degraded mode's set, in
    # MODALITY_ORDER); () = all of them
    decided_without: tuple[str, ...] = ()

    @property
    def decided(self) -> bool:
        """Stage 1 voted on this window (alarms may follow it)."""
        return bool(self.decision_basis)

    @property
    def degraded(self) -> bool:
        """Decided, but without some of Stage 1's inputs: alarms may be raised, never cleared."""
        return self.decided and bool(self.decided_without)

    @property
    def localization(self) -> Localization | None:
        """The main Stage 2 map (thermal when there is one), or None."""
        return self.localizations[0] if self.localizations else None

    @property
    def stage2_ran(self) -> bool:
        return bool(self.localizations or self.scores)


class SequenceHistory:
    """The last `length` feature vectors of Stage 1's input, oldest first. Until `length`
    windows exist it is left-padded with the first vector (no made-up "healthy" past), as
    training's sequence_indices pads a record's start."""

    def __init__(self, length: int) -> None:
        self._rows: deque[np.ndarray] = deque(maxlen=length)

    def push(self, row: np.ndarray) -> np.ndarray:
        """Append and return the (length, D) float32 sequence."""
        if not self._rows:
            self._rows.extend([row] * self._rows.maxlen)
        else:
            self._rows.append(row)
        return np.stack(self._rows).astype(np.float32)

    def clear(self) -> None:
        self._rows.clear()


class Cascade:
    """One asset's cascade over a model set's stages; the stages hold the state (feature
    history, thresholds, baselines, buffers)."""

    def __init__(self, stage1: Stage1, localizers: Sequence[Localizer] = (),
                 scorers: Sequence[Scorer] = (), rul: RulStage | None = None,
                 inputs: Sequence[str] = (), config: CascadeConfig | None = None,
                 stage1_shape: tuple[int, int] = (1, 1)) -> None:
        """inputs: the model set's inputs (default: those its stages need); stage1_shape:
        (T, D) of Stage 1's sequence (the zero sequence of a window without a decision)."""
        self.stage1 = stage1
        self.localizers = tuple(localizers)
        self.scorers = tuple(scorers)
        self.rul = rul
        declared = set(inputs) or {*stage1.required_inputs,
                                   *(s.modality for s in (*self.localizers, *self.scorers))}
        self.inputs = tuple(m for m in MODALITY_ORDER if m in declared)
        self.config = config or CascadeConfig()
        self.stage1_shape = stage1_shape

    def reset(self) -> None:
        self.stage1.reset()
        for scorer in self.scorers:
            scorer.reset()
        if self.rul is not None:
            self.rul.reset()

    def status(self) -> dict[str, object]:
        """Extra /diagnostics values of the stages (commissioning, buffers)."""
        values = dict(self.stage1.status())
        for scorer in self.scorers:
            values.update(scorer.status())
        if self.rul is not None:
            values.update(self.rul.status())
        return values

    def process(self, window: AnalysisWindow) -> CascadeResult:
        timings = dict.fromkeys(TIMING_KEYS, 0.0)
        start = tick = time.perf_counter()
        notes: list[str] = []
        refused: set[str] = set()
        for scorer in self.scorers:  # every window feeds the scorers' buffers
            if scorer.modality in window.streams:
                self._guarded(lambda s=scorer: s.observe(window), notes, refused)
        outcome = self._stage1(window, notes, refused)
        tick = _lap(timings, "stage1", tick)
        if isinstance(outcome, Abstention):
            return self._no_decision(window, outcome, timings, start, notes, refused)
        timings.update(outcome.timings_ms)
        for modality, reason in outcome.refused_inputs:
            notes.append(str(InputRefusedError(modality, reason)))
            refused.add(modality)

        without = self._decided_without(window, outcome, refused)
        mode = self.stage1.degraded_modes[frozenset(without)] if without else None
        state, capped = self._state(outcome.state_probabilities, mode, without, notes)
        fault_type = "none" if state == HealthState.NORMAL else outcome.fault_type
        if mode is not None and not mode.names_fault and fault_type != "none":
            notes.append(f"fault type not named without {', '.join(without)} (model: "
                         f"{fault_type})")
            fault_type = UNKNOWN_FAULT
        gate_open = state != HealthState.NORMAL or (
            outcome.anomalous and self.config.stage2_on_anomaly)
        localizations: list[Localization] = []
        scores: dict[str, float] = {}
        basis = [self.stage1.name + (f" without {', '.join(without)}" if without else "")]
        if gate_open:
            for localizer in self.localizers:
                frame = window.frames.get(localizer.modality)
                if frame is None or localizer.modality in refused:
                    continue
                found = self._guarded(lambda loc=localizer, f=frame: loc.localize(f),
                                      notes, refused)
                if found is not None:
                    localizations.append(found)
                    basis.append(localizer.name)
            for scorer in self.scorers:
                if scorer.modality in window.streams and scorer.modality not in refused:
                    values = scorer.scores()
                    if values:
                        scores.update(values)
                        basis.append(scorer.name)
            tick = _lap(timings, "stage2", tick)

        timings["total"] = (time.perf_counter() - start) * 1e3
        used, missing = self._modalities(window, refused)
        return _with_summary(CascadeResult(
            t_end_ns=window.t_end_ns, state=state,
            state_probabilities=outcome.state_probabilities,
            confidence=float(capped),
            anomaly_score=outcome.anomaly_score, anomaly_threshold=outcome.anomaly_threshold,
            anomalous=outcome.anomalous, anomaly_alarms=outcome.anomaly_alarms,
            fault_type=fault_type,
            fault_type_probabilities=outcome.fault_type_probabilities,
            localizations=tuple(localizations), scores=scores, rul=self.latest_rul,
            decision_basis=tuple(basis), modalities_used=used,
            modalities_missing=missing,
            timings_ms=timings, summary="", temporal_attention=outcome.attention,
            stage1_input=outcome.sequence, notes=(*outcome.evidence, *notes),
            decided_without=without))

    def _stage1(self, window: AnalysisWindow, notes: list[str],
                refused: set[str]) -> Stage1Decision | Abstention:
        needed = self.stage1.required_inputs
        absent = [m for m in needed if m not in window.present or m in refused]
        # inputs missing that a degraded mode's set covers: the stage may decide on the others
        # (whether exactly that set lacks - with inputs too short for features - it knows)
        if absent and not any(key >= set(absent) for key in self.stage1.degraded_modes):
            return Abstention(f"no decision: Stage 1 needs {', '.join(absent)}")
        try:
            outcome = self.stage1.decide(window)
        except InputRefusedError as err:
            notes.append(str(err))
            refused.add(err.modality)
            return Abstention(f"no decision: Stage 1 input {err.modality} refused")
        if isinstance(outcome, Stage1Decision):
            lacking = self._decided_without(window, outcome, refused)
            if lacking and frozenset(lacking) not in self.stage1.degraded_modes:
                return Abstention(f"no decision: Stage 1 needs {', '.join(lacking)}")
        return outcome

    def _decided_without(self, window: AnalysisWindow, outcome: Stage1Decision,
                         refused: set[str]) -> tuple[str, ...]:
        """Stage 1's inputs the decision was taken without (absent, refused, or named by the
        stage), in MODALITY_ORDER; once the cascade let the decision through, exactly the set
        of one of its degraded modes."""
        lacking = {m for m in self.stage1.required_inputs
                   if m not in window.present or m in refused}
        lacking |= set(outcome.decided_without)
        return (tuple(m for m in MODALITY_ORDER if m in lacking)
                + tuple(sorted(lacking - set(MODALITY_ORDER))))

    @staticmethod
    def _state(probabilities: np.ndarray, mode: DegradedMode | None,
               without: tuple[str, ...], notes: list[str]) -> tuple[HealthState, float]:
        """The decided state and its confidence. In a degraded mode (some inputs missing) the
        state is capped at the mode's max_state (its confidence: P(at least that state)), and
        the notes say what the decision was taken without and on which evidence."""
        state = HealthState(int(np.argmax(probabilities)))
        confidence = float(probabilities[state])
        if mode is None:
            return state, confidence
        label = ", ".join(without)
        notes.append(f"decided without {label}" + (f" ({mode.evidence})" if mode.evidence else ""))
        if state > mode.max_state:
            notes.append(f"{state.label} capped at {mode.max_state.label} without {label}")
            state = mode.max_state
            confidence = float(np.sum(probabilities[int(state):]))
        return state, confidence

    def observe_rul(self, window: AnalysisWindow) -> LiveEstimate | None:
        """Feed the RUL stage a window whose decision is out (its inputs present, gate open or
        not); the estimate it made now, if any. Apart from process() so that the RUL (tens of
        ms, once per update period of the stage) never delays an alert: call it after the
        window's decision is published. process() reports the newest estimate made before."""
        if self.rul is None or any(m not in window.present for m in self.rul.required_inputs):
            return None
        return self.rul.observe(window)

    @property
    def latest_rul(self) -> LiveEstimate | None:
        return None if self.rul is None else self.rul.latest

    @staticmethod
    def _guarded(call, notes: list[str], refused: set[str]):
        try:
            return call()
        except InputRefusedError as err:
            notes.append(str(err))
            refused.add(err.modality)
            return None

    def _modalities(self, window: AnalysisWindow, refused: set[str]
                    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        present = set(window.present) - refused
        used = tuple(m for m in self.inputs if m in present)
        # only the set's own inputs can be missing: a stream the models do not take (the
        # synchroniser's microphone on an asset without one) is no gap worth a note
        missing = {m for m in set(window.missing) | refused if m in self.inputs}
        missing |= {m for m in self.inputs if m not in present}
        return used, tuple(sorted(missing))

    def _no_decision(self, window: AnalysisWindow, outcome: Abstention,
                     timings: dict[str, float], start: float, notes: list[str],
                     refused: set[str]) -> CascadeResult:
        """Normal with zero confidence, not anomalous, no decision basis: nothing to alarm on."""
        timings["total"] = (time.perf_counter() - start) * 1e3
        used, missing = self._modalities(window, refused)
        length, width = self.stage1_shape
        if outcome.commissioning is None:
            notes.insert(0, outcome.reason)
        return _with_summary(CascadeResult(
            t_end_ns=window.t_end_ns, state=HealthState.NORMAL,
            state_probabilities=np.zeros(len(HealthState), np.float32), confidence=0.0,
            anomaly_score=0.0, anomaly_threshold=0.0, anomalous=False,
            fault_type="none", fault_type_probabilities={}, localizations=(), scores={},
            rul=self.latest_rul, decision_basis=(), modalities_used=used,
            modalities_missing=missing,
            timings_ms=timings, summary="",
            temporal_attention=np.full(length, 1.0 / length, np.float32),
            stage1_input=np.zeros((length, width), np.float32), notes=tuple(notes),
            commissioning=outcome.commissioning))


def _lap(timings: dict[str, float], name: str, tick: float) -> float:
    now = time.perf_counter()
    timings[name] = (now - tick) * 1e3
    return now


def _with_summary(result: CascadeResult) -> CascadeResult:
    """One human line, e.g. 'warning (87 %): inner_race fault; anomaly 3.1 > 1.2; hot spot at
    de_bearing (92 %); RUL 410 s [300, 560]; missing mic'."""
    if not result.decided:
        parts = []
        if result.commissioning is not None:
            done, needed = result.commissioning
            parts.append(f"commissioning baseline {done}/{needed}")
    else:
        parts = [f"{result.state.label} ({result.confidence:.0%})"]
        if result.fault_type != "none":
            parts[0] += f": {result.fault_type} fault"
        relation = ">" if result.anomalous else "<="
        parts.append(f"anomaly {result.anomaly_score:.2f} {relation} "
                     f"{result.anomaly_threshold:.2f}")
        for loc in result.localizations:
            what = "hot spot" if loc.modality == THERMAL else loc.modality
            parts.append(f"{what} {loc.location} ({loc.confidence:.0%}) at {loc.hotspot_xy}")
        for name, value in result.scores.items():
            parts.append(f"{name} {value:.3g}")
        if result.rul is not None and result.rul.valid:
            rul = result.rul
            parts.append(f"RUL {rul.rul_s:.0f} s [{rul.lower_s:.0f}, {rul.upper_s:.0f}] "
                         f"({rul.evidence.replace('_', ' ')})")
    parts += list(result.notes)
    if result.modalities_missing:
        parts.append("missing " + ", ".join(result.modalities_missing))
    return replace(result, summary="; ".join(parts))
