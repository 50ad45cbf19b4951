"""Fault schedule: YAML parsing, errors, severity curve, ground-truth state and RUL."""
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pm_monitor.core.types import HealthState
from pm_monitor.sim.fault_schedule import (
    FAILURE_SEVERITY,
    PRE_WARNING_SEVERITY,
    WARNING_SEVERITY,
    FaultSchedule,
    FaultScheduleError,
    ScheduledFault,
    health_state_from_severity,
    load_fault_schedule,
)

SCHEDULE_DIR = Path(__file__).resolve().parents[2] / "config" / "fault_schedules"


def _fault(**overrides):
    entry = {"type": "outer_race", "location": "de_bearing", "onset_s": 10.0, "failure_s": 110.0}
    entry.update(overrides)
    return entry


def _time_of_severity(fault, severity):
    """Inverse of the exponential severity curve."""
    u = math.log1p(severity * math.expm1(fault.growth)) / fault.growth
    return fault.onset_s + u * fault.duration_s


def test_demo_schedule_file():
    schedule = load_fault_schedule(SCHEDULE_DIR / "demo_outer_race.yaml")
    assert schedule.faults == (ScheduledFault("outer_race", "de_bearing", 40.0, 200.0, 3.0),)
    assert schedule.state(39.9) is HealthState.NORMAL
    assert schedule.severity(39.9) == 0.0
    assert schedule.state(200.0) is HealthState.FAILURE


def test_healthy_and_inner_race_schedule_files():
    assert FaultSchedule.from_yaml(SCHEDULE_DIR / "healthy.yaml").faults == ()
    (fault,) = FaultSchedule.from_yaml(SCHEDULE_DIR / "inner_race_nde.yaml").faults
    assert (fault.fault_type, fault.location) == ("inner_race", "nde_bearing")


def test_empty_document_is_a_healthy_schedule():
    assert FaultSchedule.from_dict(None).faults == ()
    assert FaultSchedule.from_dict({"faults": None}).faults == ()


def test_growth_defaults_to_three_and_integers_are_accepted():
    schedule = FaultSchedule.from_dict({"faults": [_fault(onset_s=10, failure_s=20)]})
    assert schedule.faults[0].growth == 3.0
    assert isinstance(schedule.faults[0].onset_s, float)


@pytest.mark.parametrize(
    ("document", "fragments"),
    [
        ({"faults": [], "speed": 3}, ["speed", "3"]),
        ({"faults": [_fault(severity=2)]}, ["faults[0]", "severity"]),
        ({"faults": [_fault(onset_s="forty")]}, ["faults[0].onset_s", "forty"]),
        ({"faults": [_fault(onset_s=True)]}, ["onset_s", "True"]),
        ({"faults": [_fault(failure_s=10.0)]}, ["faults[0].failure_s", "10.0"]),
        ({"faults": [_fault(failure_s=5.0)]}, ["failure_s", "5.0"]),
        ({"faults": [_fault(type="cage")]}, ["faults[0].type", "cage"]),
        ({"faults": [_fault(type="none")]}, ["type", "none"]),
        ({"faults": [_fault(location="gearbox")]}, ["location", "gearbox"]),
        ({"faults": [_fault(growth=-1.0)]}, ["growth", "-1.0"]),
        ({"faults": [_fault(onset_s=-5.0)]}, ["onset_s", "-5.0"]),
        ({"faults": [_fault(type=3)]}, ["type", "3"]),
        ({"faults": [{"type": "ball", "location": "de_bearing", "onset_s": 1}]}, ["failure_s"]),
        ({"faults": {"type": "ball"}}, ["faults", "list"]),
        ({"faults": [_fault(), "ball"]}, ["faults[1]", "ball"]),
        (["faults"], ["mapping"]),
    ],
)
def test_malformed_schedules_name_the_offending_key_and_value(document, fragments):
    with pytest.raises(FaultScheduleError) as error:
        FaultSchedule.from_dict(document)
    for fragment in fragments:
        assert fragment in str(error.value)


def test_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("faults:\n  - type: outer_race\n    location: de_bearing\n"
                   "    onset_s: 50\n    failure_s: 20\n")
    with pytest.raises(FaultScheduleError, match=r"bad\.yaml.*failure_s"):
        FaultSchedule.from_yaml(bad)
    broken = tmp_path / "broken.yaml"
    broken.write_text("faults: [\n")
    with pytest.raises(FaultScheduleError, match="not valid YAML"):
        FaultSchedule.from_yaml(broken)


def test_severity_curve_shape():
    fault = ScheduledFault("ball", "nde_bearing", onset_s=10.0, failure_s=110.0, growth=3.0)
    assert fault.severity(0.0) == 0.0
    assert fault.severity(10.0) == 0.0
    assert fault.severity(60.0) == pytest.approx(math.expm1(1.5) / math.expm1(3.0))
    assert fault.severity(110.0) == pytest.approx(1.0)
    assert fault.severity(1e6) == 1.0
    # Convex: damage grows faster the larger it is.
    assert fault.severity(60.0) < 0.5


def test_zero_growth_is_linear_and_arrays_are_accepted():
    fault = ScheduledFault("ball", "de_bearing", onset_s=0.0, failure_s=100.0, growth=0.0)
    np.testing.assert_allclose(fault.severity(np.array([-5.0, 25.0, 50.0, 150.0])),
                               [0.0, 0.25, 0.5, 1.0])


@settings(max_examples=50, deadline=None)
@given(
    onset=st.floats(0.0, 1e4),
    duration=st.floats(1e-2, 1e4),
    growth=st.floats(0.0, 50.0),
    times=st.lists(st.floats(-10.0, 3e4), min_size=2, max_size=20),
)
def test_severity_is_monotonic_and_bounded(onset, duration, growth, times):
    fault = ScheduledFault("inner_race", "de_bearing", onset, onset + duration, growth)
    severities = fault.severity(np.sort(np.array(times)))
    assert np.all(np.diff(severities) >= 0.0)
    assert np.all((severities >= 0.0) & (severities <= 1.0))


@pytest.mark.parametrize(
    ("severity", "state"),
    [
        (0.0, HealthState.NORMAL),
        (np.nextafter(PRE_WARNING_SEVERITY, 0.0), HealthState.NORMAL),
        (PRE_WARNING_SEVERITY, HealthState.PRE_WARNING),
        (np.nextafter(WARNING_SEVERITY, 0.0), HealthState.PRE_WARNING),
        (WARNING_SEVERITY, HealthState.WARNING),
        (np.nextafter(FAILURE_SEVERITY, 0.0), HealthState.WARNING),
        (FAILURE_SEVERITY, HealthState.FAILURE),
        (1.0, HealthState.FAILURE),
    ],
)
def test_state_thresholds(severity, state):
    assert health_state_from_severity(severity) is state


def test_state_timeline_follows_the_thresholds():
    schedule = FaultSchedule.from_dict({"faults": [_fault()]})
    fault = schedule.faults[0]
    for threshold, state in [(PRE_WARNING_SEVERITY, HealthState.PRE_WARNING),
                             (WARNING_SEVERITY, HealthState.WARNING),
                             (FAILURE_SEVERITY, HealthState.FAILURE)]:
        t_cross = _time_of_severity(fault, threshold)
        assert schedule.state(t_cross - 0.01) < state
        assert schedule.state(t_cross + 0.01) is state


def test_rul_counts_down_to_the_earliest_failure_and_stops_at_zero():
    schedule = FaultSchedule.from_dict({"faults": [
        _fault(onset_s=0.0, failure_s=300.0),
        _fault(type="ball", location="nde_bearing", onset_s=50.0, failure_s=200.0),
    ]})
    assert schedule.rul_s(0.0) == 200.0
    assert schedule.rul_s(150.0) == 50.0
    assert schedule.rul_s(250.0) == 0.0
    assert FaultSchedule().rul_s(10.0) is None


def test_overlapping_faults_report_the_most_severe():
    schedule = FaultSchedule.from_dict({"faults": [
        _fault(onset_s=0.0, failure_s=1000.0),
        _fault(type="ball", location="nde_bearing", onset_s=50.0, failure_s=100.0),
    ]})
    assert schedule.dominant_fault(30.0).fault_type == "outer_race"
    assert schedule.dominant_fault(99.0).fault_type == "ball"
    assert schedule.severity(99.0) == pytest.approx(schedule.faults[1].severity(99.0))
    assert schedule.severity_at("de_bearing", 99.0) == pytest.approx(
        schedule.faults[0].severity(99.0))
    assert FaultSchedule.from_dict({"faults": [_fault()]}).dominant_fault(5.0) is None
