"""The held-out evidence for deciding without a modality: measured through the cascade and the
alarm manager on every condition, its cap rule, and what the loader makes of it."""
from __future__ import annotations

import copy

import pytest

from pm_monitor.core.model_set.degraded import degraded_modes
from pm_monitor.core.sync.window import AnalysisWindow, FrameSample, StreamWindow
from pm_monitor.core.types import HealthState
from pm_monitor.sim import FaultSchedule, ScheduledFault
from pm_monitor.training import degraded_evidence
from pm_monitor.training.rig_bundle_architecture import untrained_bundle
from pm_monitor.training.run_plan import RunSpec


def test_without_removes_the_modality_as_the_synchroniser_would():
    import numpy as np

    window = AnalysisWindow(
        5, 1.0, {"accel": StreamWindow(np.zeros((4, 3), np.float32), 4.0, ("x", "y", "z"), 0,
                                       np.ones(4, bool))},
        {"thermal": FrameSample(5, np.zeros((2, 2), np.float32), "t")}, ("camera",))
    gone = degraded_evidence.without(window, "thermal")
    assert gone.present == ("accel",) and gone.missing == ("camera", "thermal")
    assert degraded_evidence.without(gone, "accel").present == ()
    both = degraded_evidence.without(window, "accel", "thermal")
    assert both.present == () and both.missing == ("accel", "camera", "thermal")


@pytest.fixture(scope="module")
def evidence():
    specs = [
        RunSpec("t_healthy", FaultSchedule((), "healthy"), 5, 12.0),
        RunSpec("t_fault", FaultSchedule((ScheduledFault("outer_race", "de_bearing", 2.0, 10.0,
                                                         2.0),), "fault"), 6, 12.0),
    ]
    block = degraded_evidence.BLOCK_S
    degraded_evidence.BLOCK_S = 4.0  # several switches inside these short runs
    try:
        return degraded_evidence.measure(untrained_bundle(seed=2), specs, log=lambda _: None)
    finally:
        degraded_evidence.BLOCK_S = block


def test_every_condition_is_measured_through_the_cascade(evidence):
    assert evidence["measured_through"] == "Cascade.process"
    assert evidence["runs"] == ["t_healthy", "t_fault"]
    baseline = evidence["all_inputs"]
    assert baseline["windows"] == 2 * 23 and baseline["undecided_windows"] == 0
    assert baseline["healthy_windows"] == 23
    assert set(evidence["without"]) == {"accel", "mic", "thermal", "accel+mic",
                                        "accel+thermal", "mic+thermal"}
    for entry in evidence["without"].values():
        for scenario in ("whole_run", "intermittent", "flapping"):
            measured = entry[scenario]
            # every window decided: the degraded mode is on while measured
            assert measured["windows"] == 46 and measured["undecided_windows"] == 0
            assert measured["healthy_windows"] == 23
            assert set(measured["detection_delay_s"]) == {"t_fault"}
            assert set(measured["at_least"]) == {"pre_warning", "warning", "failure"}
        assert entry["max_state"] in {s.label for s in HealthState}
        assert isinstance(entry["names_fault"], bool)
        assert "healthy windows not normal" in entry["evidence"]
    assert "| without thermal, whole run |" in degraded_evidence.table(evidence)
    assert "| without mic+thermal, flapping (50% of windows) |" in degraded_evidence.table(
        evidence)


def test_the_loader_enables_exactly_the_modalities_without_a_false_window_or_alarm(evidence):
    modes, _ = degraded_modes(evidence)
    clean = {m for m, entry in evidence["without"].items()
             if all(entry[s]["healthy_not_normal_windows"] == 0 and entry[s]["healthy_alarms"] == 0
                    for s in ("whole_run", "intermittent", "flapping"))}
    assert set(modes) == {frozenset(key.split("+")) for key in clean}
    spoiled = copy.deepcopy(evidence)
    for entry in spoiled["without"].values():
        entry["flapping"]["healthy_not_normal_windows"] = 1
    assert degraded_modes(spoiled)[0] == {}


def test_the_fault_type_is_named_only_about_as_reliably_as_with_all_inputs():
    names = degraded_evidence.names_fault
    baseline = {"fault_type_accuracy": 0.95}
    assert names({"fault_type_accuracy": 0.92}, baseline)
    assert not names({"fault_type_accuracy": 0.80}, baseline)
    assert not names({"fault_type_accuracy": None}, baseline)  # never called a fault


def _measured(**precision) -> dict:
    return {"at_least": {label: {"precision": precision.get(label)}
                         for label in ("pre_warning", "warning", "failure")}}


def test_the_cap_is_the_worst_state_called_about_as_reliably_as_with_all_inputs():
    baseline = _measured(pre_warning=0.99, warning=0.99, failure=1.0)
    cap = degraded_evidence.cap
    assert cap(_measured(pre_warning=0.99, warning=0.97, failure=0.96), baseline) \
        == HealthState.FAILURE
    # without accel on the shipped bundle: warnings called failure 27 % of the time
    assert cap(_measured(pre_warning=0.99, warning=0.97, failure=0.73), baseline) \
        == HealthState.WARNING
    # a milder state below the bar caps everything above it, whatever their precision
    assert cap(_measured(pre_warning=0.88, warning=0.99, failure=1.0), baseline) \
        == HealthState.NORMAL
    assert cap(_measured(pre_warning=0.99, warning=None, failure=None), baseline) \
        == HealthState.PRE_WARNING


def test_each_scenario_removes_the_modality_where_it_says():
    condition = degraded_evidence._Condition(untrained_bundle(seed=2), ("mic",), "intermittent")
    assert [condition._drops(t) for t in (1.0, 19.5, 20.0, 39.5, 40.0)] == [
        False, False, True, True, False]
    flapping = degraded_evidence._Condition(untrained_bundle(seed=2), ("mic",), "flapping")
    flapping.start(RunSpec("r", FaultSchedule((), "healthy"), 5, 12.0))
    drops = [flapping._drops(float(t)) for t in range(200)]
    assert 60 < sum(drops) < 140  # about half, window by window
    flapping.start(RunSpec("r", FaultSchedule((), "healthy"), 5, 12.0))
    assert [flapping._drops(float(t)) for t in range(200)] == drops  # seeded by the run
    assert degraded_evidence._Condition(untrained_bundle(seed=2), ("mic",))._drops(3.0)
