from pm_monitor.core.alarms.severity_zones import IsoZone
from pm_monitor.core.condition.health import HealthRules, HealthStateMachine, level_features
from pm_monitor.core.types import HealthState


def _run(machine, values, impulsive=False, named=False, zone=IsoZone.A):
    return [machine.update(v, impulsive, named, zone) for v in values]


def test_states_need_persistence_and_latch():
    m = HealthStateMachine(HealthRules(persistence=3))
    assert _run(m, [2.5, 2.5])[-1] == HealthState.NORMAL
    assert _run(m, [2.5])[-1] == HealthState.PRE_WARNING
    assert _run(m, [1.0, 1.0])[-1] == HealthState.PRE_WARNING  # never dropped on its own
    assert _run(m, [5.0, 5.0, 5.0])[-1] == HealthState.WARNING
    assert _run(m, [12.0, 12.0, 12.0])[-1] == HealthState.FAILURE


def test_isolated_impacts_neither_confirm_nor_clear():
    m = HealthStateMachine(HealthRules(persistence=3))
    _run(m, [2.5, 2.5])
    _run(m, [30.0, 30.0, 30.0], impulsive=True)
    assert m.state == HealthState.NORMAL
    assert _run(m, [2.5])[-1] == HealthState.PRE_WARNING  # the count was kept


def test_a_named_defect_tone_raises_pre_warning_level_to_warning():
    m = HealthStateMachine(HealthRules(persistence=1))
    assert _run(m, [2.5], named=True)[-1] == HealthState.WARNING


def test_before_commissioning_only_iso_zones_judge():
    m = HealthStateMachine(HealthRules(persistence=2))
    assert _run(m, [None, None], zone=IsoZone.B)[-1] == HealthState.NORMAL
    assert _run(m, [None, None], zone=IsoZone.D)[-1] == HealthState.FAILURE


def test_level_features_are_rms_and_high_frequency_bands():
    names = ["rms_g", "kurtosis", "band_0.01_1khz_g", "band_2.2_5khz_g", "band_5_10khz_g"]
    assert level_features(names) == [0, 3, 4]
