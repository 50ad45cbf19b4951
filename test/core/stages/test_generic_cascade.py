"""The generic cascade with stand-in stages: the gate, inputs that never vote, refused inputs,
abstention (commissioning) and the one result type; the inference layer's NetworkSet behind
the runner call."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from pm_monitor.core.cascade import Cascade, Localization
from pm_monitor.core.inference import ModelSpec, NetworkSet, TensorSpec
from pm_monitor.core.stages import (
    NO_DEGRADED_MODES,
    Abstention,
    DegradedMode,
    InputRefusedError,
    NetworkRunner,
    Stage1Decision,
    modes_by_missing,
)
from pm_monitor.core.sync.window import AnalysisWindow, FrameSample, StreamWindow
from pm_monitor.core.types import ACCEL, CAMERA, MIC, THERMAL, HealthState


class StandInStage1:
    name = "stand_in"
    required_inputs = (ACCEL,)
    degraded_modes = NO_DEGRADED_MODES

    def __init__(self, state: HealthState = HealthState.WARNING, commissioning: int = 0) -> None:
        self.state, self.left, self.calls = state, commissioning, 0

    def decide(self, window):
        self.calls += 1
        if window.streams[ACCEL].sample_rate != 100.0:
            raise InputRefusedError(ACCEL, "rate")
        if self.left > 0:
            self.left -= 1
            return Abstention("commissioning", (1, 2))
        p = np.zeros(4, np.float32)
        p[int(self.state)] = 1.0
        return Stage1Decision(p, {"none": 0.0, "wear": 1.0}, "wear", np.ones(2, np.float32) / 2,
                              np.zeros((2, 3), np.float32), 2.0, 1.0, True, health_index=0.5)

    def reset(self) -> None: ...

    def status(self) -> dict[str, object]:
        return {"stand_in": "ok"}


class StandInLocalizer:
    name, modality = "frame_map", CAMERA

    def localize(self, frame):
        if frame.image.shape != (4, 4):
            raise InputRefusedError(CAMERA, "frame size")
        return Localization(CAMERA, frame.frame_id, np.zeros((4, 4), np.float32), (1, 1),
                            (0, 0, 2, 2), "scratch", 0.8)


def window(accel_rate: float | None = 100.0, camera_shape=(4, 4)) -> AnalysisWindow:
    streams = {}
    if accel_rate is not None:
        streams[ACCEL] = StreamWindow(np.zeros((10, 1), np.float32), accel_rate, ("x",), 0,
                                      np.ones(10, bool))
    frames = {CAMERA: FrameSample(1, np.zeros(camera_shape, np.uint8), "cam")}
    missing = () if accel_rate is not None else (ACCEL,)
    return AnalysisWindow(10**9, 0.1, streams, frames, missing)


def test_a_decided_window_runs_stage2_and_names_its_basis():
    cascade = Cascade(StandInStage1(), [StandInLocalizer()], stage1_shape=(2, 3))
    result = cascade.process(window())
    assert result.decided and result.decision_basis == ("stand_in", "frame_map")
    assert result.state == HealthState.WARNING and result.fault_type == "wear"
    assert result.localization is result.localizations[0] and result.stage2_ran
    assert result.modalities_used == (ACCEL, CAMERA) and result.modalities_missing == ()
    assert cascade.status() == {"stand_in": "ok"}


def test_missing_stage1_input_gives_no_decision_and_no_stage2():
    stage1 = StandInStage1()
    result = Cascade(stage1, [StandInLocalizer()], stage1_shape=(2, 3)).process(
        window(accel_rate=None))
    assert stage1.calls == 0  # never fed zeros or a stale window
    assert not result.decided and not result.stage2_ran and result.localizations == ()
    assert result.state == HealthState.NORMAL and result.confidence == 0.0
    assert not result.anomalous and result.stage1_input.shape == (2, 3)
    assert result.summary.startswith("no decision: Stage 1 needs accel")


def test_refused_inputs_are_named_and_treated_as_missing():
    cascade = Cascade(StandInStage1(), [StandInLocalizer()])
    refused_frame = cascade.process(window(camera_shape=(5, 5)))
    assert refused_frame.decided and refused_frame.localizations == ()
    assert CAMERA in refused_frame.modalities_missing
    assert "camera refused: frame size" in refused_frame.notes
    refused_accel = cascade.process(window(accel_rate=50.0))
    assert not refused_accel.decided and ACCEL in refused_accel.modalities_missing


def test_abstention_carries_commissioning_progress():
    result = Cascade(StandInStage1(commissioning=1)).process(window())
    assert not result.decided and result.commissioning == (1, 2)
    assert result.summary.startswith("commissioning baseline 1/2")


def test_normal_state_keeps_the_gate_closed():
    result = Cascade(StandInStage1(HealthState.NORMAL), [StandInLocalizer()],
                     inputs=(CAMERA, MIC, ACCEL, THERMAL)).process(window())
    # anomalous opens the gate (stage2_on_anomaly default), so the map runs even when Normal
    assert result.decided and result.localizations
    assert result.modalities_used == (ACCEL, CAMERA)
    assert result.modalities_missing == (MIC, THERMAL)


def test_network_set_runs_by_name_with_named_outputs():
    class Twice(nn.Module):
        def forward(self, x):
            return x * 2, x.sum(dim=-1)

    spec = ModelSpec("twice", (TensorSpec("x", ("batch", 3)),), ("double", "total"),
                     wrap=lambda model: model, dim_ranges={"batch": (1, 1, 4)})
    networks = NetworkSet.create({"twice": (spec, Twice())})  # default backend: torch
    assert isinstance(networks, NetworkRunner)
    out = networks.run("twice", {"x": np.ones((1, 3), np.float32)})
    np.testing.assert_array_equal(out["double"], [[2, 2, 2]])
    assert out["total"].tolist() == [3.0] and networks.backend_of("twice") == "torch"
    assert networks.summary() == "twice=torch(cpu)"
    with pytest.raises(KeyError, match="no network 'other'"):
        networks.backend_of("other")
    assert torch.is_grad_enabled()  # run() leaves grad mode as it was


class StandInRul:
    """Makes an estimate on every second window it sees."""

    name, required_inputs = "rul", (ACCEL,)

    def __init__(self) -> None:
        self.seen, self.latest = 0, None

    def observe(self, window):
        self.seen += 1
        if self.seen % 2:
            return None
        # not valid: the summary line leaves it out (only calibrated estimates are shown)
        self.latest = SimpleNamespace(valid=False, made_on=self.seen)
        return self.latest

    def reset(self) -> None:
        self.seen, self.latest = 0, None

    def status(self) -> dict[str, object]:
        return {"rul_estimates": self.seen // 2}


def test_the_rul_stage_sees_every_window_with_its_inputs_gate_or_not():
    rul = StandInRul()
    cascade = Cascade(StandInStage1(HealthState.NORMAL, commissioning=1), rul=rul,
                      stage1_shape=(2, 3))
    first = cascade.process(window())  # Stage 1 abstains (commissioning)
    assert not first.decided and first.rul is None
    assert rul.seen == 0  # process() never runs the RUL stage: it must not delay a decision
    assert cascade.observe_rul(window()) is None and rul.seen == 1  # fed all the same
    second = cascade.process(window())  # Normal, gate closed
    assert second.decided and not second.stage2_ran and second.rul is None
    made = cascade.observe_rul(window())  # the estimate is made after the decision
    assert made is not None and made.made_on == 2 and cascade.latest_rul is made
    third = cascade.process(window())  # carries the newest estimate made before it
    assert third.rul is made
    assert cascade.observe_rul(window()) is None  # no new estimate on this window
    assert cascade.observe_rul(window(accel_rate=None)) is None  # its input missing: not fed
    assert rul.seen == 3 and cascade.process(window(accel_rate=None)).rul is made
    assert cascade.status()["rul_estimates"] == 1


class TwoInputStage1:
    """Needs accel and mic; may decide without mic (a degraded mode capped at WARNING)."""

    name = "two_inputs"
    required_inputs = (ACCEL, MIC)

    def __init__(self, state: HealthState = HealthState.FAILURE, claims: tuple = (),
                 names_fault: bool = True) -> None:
        self.degraded_modes = modes_by_missing(
            DegradedMode((MIC,), HealthState.WARNING, "0/900 healthy", names_fault))
        self.state, self.claims, self.seen = state, claims, []

    def decide(self, window):
        self.seen.append(window.present)
        p = np.full(4, 0.1, np.float32)
        p[int(self.state)] = 0.7
        without = self.claims or tuple(m for m in self.required_inputs
                                       if m not in window.present)
        return Stage1Decision(p, {"none": 0.0, "wear": 1.0}, "wear", np.ones(2, np.float32) / 2,
                              np.zeros((2, 3), np.float32), 0.5, 1.0, False,
                              decided_without=without)

    def reset(self) -> None: ...

    def status(self) -> dict[str, object]:
        return {}


def two_input_window(accel: bool = True, mic: bool = True) -> AnalysisWindow:
    base = window(accel_rate=100.0 if accel else None)
    streams = dict(base.streams)
    if mic:
        streams[MIC] = StreamWindow(np.zeros((10, 1), np.float32), 100.0, ("mic",), 0,
                                    np.ones(10, bool))
    missing = tuple(m for m, here in ((ACCEL, accel), (MIC, mic)) if not here)
    return AnalysisWindow(base.t_end_ns, base.duration_s, streams, base.frames, missing)


def test_a_degraded_mode_decides_without_its_input_says_so_and_caps_the_state():
    cascade = Cascade(TwoInputStage1(), [StandInLocalizer()], stage1_shape=(2, 3))
    full = cascade.process(two_input_window())
    assert full.decided and not full.degraded and full.state == HealthState.FAILURE
    assert full.decision_basis == ("two_inputs", "frame_map")
    result = cascade.process(two_input_window(mic=False))
    assert result.decided and result.degraded and result.decided_without == (MIC,)
    assert result.decision_basis == ("two_inputs without mic", "frame_map")
    assert result.modalities_missing == (MIC,)
    # the model said FAILURE: without mic it may say at most WARNING, P(at least WARNING)
    assert result.state == HealthState.WARNING
    assert result.confidence == pytest.approx(0.1 + 0.7)
    assert "decided without mic (0/900 healthy)" in result.notes
    assert "failure capped at warning without mic" in result.notes
    assert "decided without mic" in result.summary and "missing mic" in result.summary


def test_an_input_without_a_degraded_mode_or_two_missing_give_no_decision():
    stage1 = TwoInputStage1()
    cascade = Cascade(stage1, stage1_shape=(2, 3))
    no_accel = cascade.process(two_input_window(accel=False))
    assert not no_accel.decided and no_accel.summary.startswith(
        "no decision: Stage 1 needs accel")
    neither = cascade.process(two_input_window(accel=False, mic=False))
    assert not neither.decided and neither.summary.startswith(
        "no decision: Stage 1 needs accel, mic")
    assert stage1.seen == []  # never fed a window it cannot decide


def test_a_stage_claiming_a_mode_it_does_not_have_gives_no_decision():
    cascade = Cascade(TwoInputStage1(claims=(ACCEL,)), stage1_shape=(2, 3))
    result = cascade.process(two_input_window())
    assert not result.decided and result.summary.startswith("no decision: Stage 1 needs accel")


def test_a_degraded_mode_without_fault_evidence_reports_the_fault_as_unknown():
    cascade = Cascade(TwoInputStage1(HealthState.PRE_WARNING, names_fault=False),
                      stage1_shape=(2, 3))
    assert cascade.process(two_input_window()).fault_type == "wear"  # all inputs: named
    result = cascade.process(two_input_window(mic=False))
    assert result.state == HealthState.PRE_WARNING and result.fault_type == "unknown"
    assert "fault type not named without mic (model: wear)" in result.notes


def test_a_degraded_decision_within_its_cap_is_not_changed():
    result = Cascade(TwoInputStage1(HealthState.PRE_WARNING), stage1_shape=(2, 3)).process(
        two_input_window(mic=False))
    assert result.state == HealthState.PRE_WARNING and result.confidence == pytest.approx(0.7)
    assert not any("capped" in note for note in result.notes)


class ThreeInputStage1(TwoInputStage1):
    """Needs accel, mic and thermal; may decide without mic (up to WARNING) and without mic and
    thermal together (up to PRE_WARNING, fault type not named), not without thermal alone."""

    name = "three_inputs"
    required_inputs = (ACCEL, MIC, THERMAL)

    def __init__(self, state: HealthState = HealthState.FAILURE) -> None:
        super().__init__(state)
        self.degraded_modes = modes_by_missing(
            DegradedMode((MIC,), HealthState.WARNING, "mic: 0/900 healthy"),
            DegradedMode((THERMAL, MIC), HealthState.PRE_WARNING, "pair: 0/900 healthy",
                         names_fault=False))


def three_input_window(*missing: str) -> AnalysisWindow:
    base = two_input_window(accel=ACCEL not in missing, mic=MIC not in missing)
    frames = dict(base.frames)
    if THERMAL not in missing:
        frames[THERMAL] = FrameSample(1, np.zeros((4, 4), np.float32), "thermal")
    return AnalysisWindow(base.t_end_ns, base.duration_s, base.streams, frames,
                          tuple(m for m in (ACCEL, MIC, THERMAL) if m in missing))


def test_an_enabled_pair_decides_names_both_and_caps_at_its_own_state():
    cascade = Cascade(ThreeInputStage1(), stage1_shape=(2, 3))
    result = cascade.process(three_input_window(MIC, THERMAL))
    assert result.decided and result.degraded
    assert result.decided_without == (MIC, THERMAL)  # in the cascade's modality order
    assert result.decision_basis == ("three_inputs without mic, thermal",)
    assert result.state == HealthState.PRE_WARNING  # the pair's cap, not the mic mode's
    assert result.confidence == pytest.approx(0.1 + 0.1 + 0.7)
    assert result.fault_type == "unknown"
    assert result.notes[:3] == ("decided without mic, thermal (pair: 0/900 healthy)",
                                "failure capped at pre_warning without mic, thermal",
                                "fault type not named without mic, thermal (model: wear)")
    assert "decided without mic, thermal" in result.summary
    assert "missing mic, thermal" in result.summary
    alone = cascade.process(three_input_window(MIC))
    assert alone.decided_without == (MIC,) and alone.state == HealthState.WARNING
    assert alone.fault_type == "wear"


@pytest.mark.parametrize("missing", [(THERMAL,), (ACCEL, MIC), (ACCEL, THERMAL),
                                     (ACCEL, MIC, THERMAL)])
def test_a_set_without_its_own_mode_gives_no_decision(missing):
    """Thermal alone has no mode although the pair mic+thermal has one: a mode holds for its
    own set, never for a subset or another pair."""
    stage1 = ThreeInputStage1()
    result = Cascade(stage1, stage1_shape=(2, 3)).process(three_input_window(*missing))
    assert not result.decided and result.decision_basis == ()
    assert result.summary.startswith("no decision: Stage 1 needs")
    assert not result.anomalous and result.state == HealthState.NORMAL


def test_a_stage_lacking_a_second_input_beyond_the_missing_one_needs_a_mode_for_both():
    """Thermal absent, and the stage finds mic unusable too (e.g. chunk loss): decided only
    because mic+thermal has a mode; the decision names both."""
    cascade = Cascade(ThreeInputStage1(HealthState.NORMAL), stage1_shape=(2, 3))
    stage1 = cascade.stage1
    stage1.claims = (MIC, THERMAL)
    result = cascade.process(three_input_window(THERMAL))
    assert result.decided and result.decided_without == (MIC, THERMAL)
    stage1.claims = (ACCEL, THERMAL)
    refused = cascade.process(three_input_window(THERMAL))
    assert not refused.decided and refused.summary.startswith(
        "no decision: Stage 1 needs accel, thermal")
