"""RigSimulator.truth: the ground truth the monitor is scored against."""
from pathlib import Path

import pytest

from pm_monitor.core.types import FAULT_TYPES, HealthState
from pm_monitor.sim import (
    FaultSchedule,
    RigConfig,
    RigSimulator,
    RigTruth,
    ScheduledFault,
    load_fault_schedule,
)

SCHEDULE_DIR = Path(__file__).resolve().parents[2] / "config" / "fault_schedules"


@pytest.fixture(scope="module")
def demo():
    return RigSimulator(RigConfig(), load_fault_schedule(SCHEDULE_DIR / "demo_outer_race.yaml"),
                        seed=0)


def test_truth_while_healthy(demo):
    truth = demo.truth(20.0)
    assert isinstance(truth, RigTruth)
    assert truth.state is HealthState.NORMAL
    assert (truth.severity, truth.fault_type, truth.fault_location) == (0.0, "none", None)
    assert truth.hotspot_px is None
    assert truth.rul_s == 180.0  # the failure is scheduled, so its time is known
    assert truth.shaft_hz == pytest.approx(29.95)
    assert set(truth.housing_temps_c) == {"de_bearing", "nde_bearing"}


def test_truth_as_the_fault_develops(demo):
    states = [demo.truth(float(t)).state for t in range(0, 260, 5)]
    assert states == sorted(states)  # only ever gets worse
    assert set(states) == set(HealthState)
    late = demo.truth(190.0)
    assert late.state is HealthState.FAILURE
    assert (late.fault_type, late.fault_location) == ("outer_race", "de_bearing")
    assert late.fault_type in FAULT_TYPES
    assert late.rul_s == pytest.approx(10.0)
    assert late.hotspot_px == demo.thermal_hotspot_px(190.0)
    assert late.housing_temps_c["de_bearing"] > late.housing_temps_c["nde_bearing"] + 20.0
    assert demo.truth(300.0).rul_s == 0.0


def test_truth_of_a_healthy_run():
    truth = RigSimulator(RigConfig(), FaultSchedule(), seed=0).truth(1000.0)
    assert truth.state is HealthState.NORMAL and truth.rul_s is None
    assert truth.fault_type == "none"


def test_overlapping_faults_report_the_most_severe():
    schedule = FaultSchedule((
        ScheduledFault("outer_race", "de_bearing", 0.0, 1000.0),
        ScheduledFault("ball", "nde_bearing", 100.0, 200.0),
    ))
    sim = RigSimulator(RigConfig(), schedule, seed=0)
    assert sim.truth(50.0).fault_type == "outer_race"
    late = sim.truth(199.0)
    assert (late.fault_type, late.fault_location) == ("ball", "nde_bearing")
    assert late.hotspot_px == sim.layout.housing_centre_px("nde_bearing", 160, 120)
    assert late.rul_s == pytest.approx(1.0)
