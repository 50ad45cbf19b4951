"""Which inputs a rig bundle's Stage 1 may decide without: only what its held-out evidence,
measured through the cascade, shows to raise nothing on healthy runs."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest

from pm_monitor.core.model_set import load_model_set
from pm_monitor.core.model_set.degraded import MEASURED_THROUGH, degraded_modes
from pm_monitor.core.types import HealthState

SHIPPED = Path(__file__).resolve().parents[3] / "models" / "rig_baseline"


def _scenario(false: int = 0, alarms: int = 0, healthy: int = 958) -> dict:
    return {"healthy_windows": healthy, "healthy_not_normal_windows": false,
            "healthy_alarms": alarms, "macro_f1": 0.9}


def _evidence(**entries: dict) -> dict:
    return {"measured_through": MEASURED_THROUGH, "without": entries}


def _entry(max_state: str = "warning", names_fault: bool = True, **scenarios: dict) -> dict:
    entry = {"whole_run": _scenario(), "intermittent": _scenario(), "flapping": _scenario(),
             "max_state": max_state,
             "names_fault": names_fault, "evidence": "held-out: 0/958 healthy windows not normal"}
    entry.update(scenarios)
    return entry


def test_a_bundle_without_evidence_needs_all_its_inputs():
    modes, report = degraded_modes({})
    assert modes == {}
    assert "no held-out evidence" in report[0]


def test_evidence_not_measured_through_the_cascade_enables_nothing():
    evidence = _evidence(thermal=_entry())
    evidence["measured_through"] = "zeroed feature columns"
    assert degraded_modes(evidence)[0] == {}


def test_zero_false_windows_and_alarms_in_every_scenario_enable_a_capped_mode():
    modes, report = degraded_modes(_evidence(thermal=_entry("failure"),
                                             accel=_entry("warning", names_fault=False)))
    accel, thermal = frozenset({"accel"}), frozenset({"thermal"})
    assert set(modes) == {thermal, accel}
    assert modes[accel].max_state == HealthState.WARNING and not modes[accel].names_fault
    assert modes[thermal].max_state == HealthState.FAILURE and modes[thermal].names_fault
    assert modes[accel].missing == ("accel",)
    assert "0/958 healthy windows" in modes[accel].evidence
    assert any("without accel: on, up to warning, fault type unknown" in line
               for line in report)


def test_a_fault_type_not_measured_is_not_named():
    entry = _entry()
    del entry["names_fault"]
    assert not degraded_modes(_evidence(mic=entry))[0][frozenset({"mic"})].names_fault


@pytest.mark.parametrize("scenario", ["whole_run", "intermittent", "flapping"])
@pytest.mark.parametrize("bad", [_scenario(false=1), _scenario(alarms=1), _scenario(healthy=0)],
                         ids=["one_false_window", "one_alarm", "no_healthy_windows"])
def test_a_single_false_window_or_alarm_or_no_measurement_keeps_the_input_required(
        scenario, bad):
    entry = _entry(**{scenario: copy.deepcopy(bad)})
    modes, report = degraded_modes(_evidence(mic=entry, thermal=_entry()))
    assert set(modes) == {frozenset({"thermal"})}
    assert any(line.startswith("degraded mode without mic: off") for line in report)


def test_a_pair_with_its_own_clean_evidence_is_one_mode_with_its_own_cap():
    modes, report = degraded_modes(_evidence(**{
        "mic": _entry("pre_warning"), "thermal": _entry("failure"),
        "mic+thermal": _entry("warning", names_fault=False)}))
    pair = modes[frozenset({"mic", "thermal"})]
    assert pair.missing == ("mic", "thermal") and pair.max_state == HealthState.WARNING
    assert not pair.names_fault
    assert any(line.startswith("degraded mode without mic, thermal: on, up to warning, fault "
                               "type unknown") for line in report)


def test_a_pair_is_enabled_by_its_own_evidence_only():
    """Both members decide alone, but evidence written before pairs were measured (the shipped
    bundle's first evidence: single modalities only) enables no pair; a pair with one false
    window stays off although each member alone is clean."""
    modes, _ = degraded_modes(_evidence(accel=_entry(), mic=_entry()))
    assert set(modes) == {frozenset({"accel"}), frozenset({"mic"})}
    spoiled = _entry(intermittent=_scenario(false=1))
    modes, report = degraded_modes(_evidence(accel=_entry(), mic=_entry(),
                                             **{"accel+mic": spoiled}))
    assert frozenset({"accel", "mic"}) not in modes
    assert any(line.startswith("degraded mode without accel, mic: off (intermittent: 1 of 958")
               for line in report)


@pytest.mark.parametrize("key", ["camera", "accel+camera", "accel+mic+thermal"])
def test_a_set_that_leaves_no_rig_input_or_names_another_is_never_a_mode(key):
    modes, report = degraded_modes(_evidence(**{key: _entry()}))
    assert modes == {}
    assert "not a set of the rig Stage 1's inputs" in report[0]


def test_a_scenario_not_measured_keeps_the_input_required():
    entry = _entry()
    del entry["flapping"]  # e.g. evidence written before that scenario existed
    assert degraded_modes(_evidence(mic=entry))[0] == {}


def test_an_unknown_cap_keeps_the_input_required():
    assert degraded_modes(_evidence(mic=_entry("catastrophic")))[0] == {}


def test_the_shipped_rig_set_logs_its_modes_and_reports_them_in_diagnostics():
    models = load_model_set(SHIPPED, fusion_model_path="none")
    lines = models.describe()
    for modality, cap in (("accel", "warning"), ("mic", "pre_warning"), ("thermal", "failure"),
                          ("accel, thermal", "warning"), ("mic, thermal", "pre_warning")):
        assert any(line.startswith(f"degraded mode without {modality}: on, up to {cap}")
                   for line in lines)
    assert any(line.startswith("degraded mode without accel, mic: off (whole run: 958 of 958 "
                               "healthy held-out windows not normal") for line in lines)
    status = models.status()
    assert status["stage1_may_decide_without"] == (
        "accel (up to warning), mic (up to pre_warning), thermal (up to failure), "
        "accel+thermal (up to warning), mic+thermal (up to pre_warning)")
    assert status["stage1_windows_decided_without_thermal"] == 0
