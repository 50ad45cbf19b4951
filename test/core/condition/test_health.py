import numpy as np
import pytest

from pm_monitor.core.alarms.severity_zones import IsoZone
from pm_monitor.core.condition.health import (
    HealthRules,
    HealthStateMachine,
    axis_levels,
    level_features,
)
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


def test_a_defect_tone_in_a_deviating_window_is_pre_warning_and_neither_alone_is():
    def states(named, anomalous, impulsive=False, hi=1.2):
        m = HealthStateMachine(HealthRules(persistence=3))
        return [m.update(hi, impulsive, named, IsoZone.A, anomalous=anomalous)
                for _ in range(5)]
    # the tone holds 3 windows, then its Pre-Warning is confirmed like any rule
    assert states(True, True)[-1] == HealthState.PRE_WARNING
    assert states(True, True)[3] == HealthState.NORMAL
    assert states(False, True)[-1] == HealthState.NORMAL  # run-in deviation: advisory only
    assert states(True, False)[-1] == HealthState.NORMAL  # a line in a healthy spectrum


def test_impacts_repeating_at_a_defect_tone_are_not_isolated():
    # a spalled race: impulsive every window, level 3x, tone named while deviating
    m = HealthStateMachine(HealthRules(persistence=3))
    for _ in range(5):
        m.update(3.0, True, True, IsoZone.A, anomalous=True)
    assert m.state == HealthState.WARNING  # level >= 2 with a named tone
    quiet = HealthStateMachine(HealthRules(persistence=3))
    for _ in range(5):
        quiet.update(3.0, True, False, IsoZone.A, anomalous=True)
    assert quiet.state == HealthState.NORMAL  # no tone: isolated impacts, ignored
    burst = HealthStateMachine(HealthRules(persistence=3))
    for named in (True, False, True, False, True, False):  # sporadic lines inside a burst
        burst.update(3.0, True, named, IsoZone.A, anomalous=True)
    assert burst.state == HealthState.NORMAL


def test_before_commissioning_only_iso_zones_judge():
    m = HealthStateMachine(HealthRules(persistence=2))
    assert _run(m, [None, None], zone=IsoZone.B)[-1] == HealthState.NORMAL
    assert _run(m, [None, None], zone=IsoZone.D)[-1] == HealthState.FAILURE


def test_level_features_are_rms_and_high_frequency_bands():
    names = ["rms_g", "kurtosis", "band_0.01_1khz_g", "band_2.2_5khz_g", "band_5_10khz_g"]
    assert level_features(names) == [0, 3, 4]


def _run_levels(machine, levels):
    """Windows with per-axis levels; the HI is their max, as AssetMonitor computes it."""
    return [machine.update(float(max(lv)), False, False, IsoZone.A, np.asarray(lv, float))
            for lv in levels]


def test_a_rise_over_the_lowest_sustained_level_on_every_axis_is_pre_warning():
    m = HealthStateMachine(HealthRules(persistence=3, trend_ratio=1.778))
    # run-in: both axes settle at half the commissioning level, then rise back to it: the HI
    # (1.0) never reaches the 2x level rule, but the rise over the settled level is 2x
    assert _run_levels(m, [[0.5, 0.5]] * 10)[-1] == HealthState.NORMAL
    assert _run_levels(m, [[1.0, 1.0]] * 2)[-1] == HealthState.NORMAL  # not yet confirmed
    assert _run_levels(m, [[1.0, 1.0]])[-1] == HealthState.PRE_WARNING
    assert m.rise == pytest.approx(2.0)
    assert _run_levels(m, [[0.5, 0.5]] * 3)[-1] == HealthState.PRE_WARNING  # latched


def test_a_rise_on_one_axis_only_is_not_a_trend_alarm():
    m = HealthStateMachine(HealthRules(persistence=3, trend_ratio=1.778))
    _run_levels(m, [[0.5, 0.5]] * 10)
    assert _run_levels(m, [[1.5, 0.5]] * 10)[-1] == HealthState.NORMAL
    assert m.rise == pytest.approx(1.0)


def test_an_isolated_low_window_does_not_lower_the_floor():
    m = HealthStateMachine(HealthRules(persistence=3, trend_ratio=1.778))
    _run_levels(m, [[1.0, 1.0]] * 5 + [[0.2, 0.2]] + [[1.0, 1.0]] * 5)
    assert m.state == HealthState.NORMAL
    assert m.rise == pytest.approx(1.0)


def test_the_floor_is_never_below_trend_floor_min():
    m = HealthStateMachine(HealthRules(persistence=3, trend_ratio=1.778, trend_floor_min=0.25))
    _run_levels(m, [[0.01, 0.01]] * 5)  # a near-dead sensor
    _run_levels(m, [[0.3, 0.3]] * 5)
    assert m.rise == pytest.approx(0.3 / 0.25)
    assert m.state == HealthState.NORMAL


def test_without_levels_or_with_bad_levels_only_the_level_rule_judges():
    m = HealthStateMachine(HealthRules(persistence=1, trend_ratio=1.1))
    assert _run(m, [1.5, 1.5])[-1] == HealthState.NORMAL
    assert np.isnan(m.rise)
    assert _run_levels(m, [[np.nan, 1.0]] * 3)[-1] == HealthState.NORMAL


def test_axis_levels_are_the_median_ratio_over_the_level_features():
    values = np.array([[2.0, 9.0, 4.0, 8.0], [1.0, 9.0, 1.0, 1.0]])
    ref = np.ones((2, 4))
    assert axis_levels(values, ref, [0, 2, 3]).tolist() == [4.0, 1.0]


def _run_crest(machine, crest, impulsive):
    """Windows at the reference level whose crest factor (x reference) is `crest` on each axis."""
    return [machine.update(1.0, impulsive, False, IsoZone.A, np.ones(2), np.asarray(c, float))
            for c in crest]


def test_a_sustained_crest_rise_on_every_axis_counts_even_in_impulsive_windows():
    m = HealthStateMachine(HealthRules(persistence=3, crest_trend_ratio=3.981))
    assert _run_crest(m, [[1.0, 1.0]] * 5, impulsive=False)[-1] == HealthState.NORMAL
    # impacts ring the structure while the level stays at the reference (stage 1-2 damage)
    assert _run_crest(m, [[4.5, 4.5]] * 2, impulsive=True)[-1] == HealthState.NORMAL
    assert _run_crest(m, [[4.5, 4.5]], impulsive=True)[-1] == HealthState.PRE_WARNING
    assert m.crest_rise == pytest.approx(4.5)


def test_an_impulsive_window_without_a_crest_rise_on_every_axis_is_still_ignored():
    m = HealthStateMachine(HealthRules(persistence=3, crest_trend_ratio=3.981))
    _run_crest(m, [[1.0, 1.0]] * 5, impulsive=False)
    # one axis only (a knock near one sensor): neither confirms nor clears
    assert _run_crest(m, [[6.0, 1.0]] * 10, impulsive=True)[-1] == HealthState.NORMAL
    _run_levels(m, [[2.5, 2.5]] * 2)
    _run_crest(m, [[6.0, 1.0]], impulsive=True)
    assert _run_levels(m, [[2.5, 2.5]])[-1] == HealthState.PRE_WARNING  # the count was kept


def test_a_machine_restored_from_its_dict_goes_on_the_same():
    """to_dict / restore through JSON (the RUL tracker state keeps the onset monitor's)."""
    import json

    rules = HealthRules(persistence=3)
    levels = [np.array([1.0, 1.0])] * 5 + [np.array([2.0, 2.1])] * 6
    whole, half = HealthStateMachine(rules), HealthStateMachine(rules)
    for i, lv in enumerate(levels):
        whole.update(1.5, False, False, IsoZone.A, lv)
        if i < 7:
            half.update(1.5, False, False, IsoZone.A, lv)
    restored = HealthStateMachine(rules)
    restored.restore(json.loads(json.dumps(half.to_dict())))
    for lv in levels[7:]:
        restored.update(1.5, False, False, IsoZone.A, lv)
    assert restored.state == whole.state == HealthState.PRE_WARNING  # by the trend rise
    assert restored.to_dict() == whole.to_dict()
    with pytest.raises(ValueError):
        restored.restore({**whole.to_dict(), "state": 7})


def test_without_the_bearing_rules_only_the_iso_zones_judge_with_the_impulse_guard():
    m = HealthStateMachine(HealthRules(persistence=3))
    levels, crest = np.array([12.0, 12.0]), np.array([5.0, 5.0])
    for _ in range(5):  # a level, level rise, crest rise and a tone: none votes
        m.update(12.0, False, True, IsoZone.A, levels, crest, anomalous=True,
                 bearing_rules=False)
    assert m.state == HealthState.NORMAL and m._level.floor is None  # no floor learned
    for _ in range(3):  # isolated impacts in zone D neither confirm nor clear
        m.update(1.0, True, False, IsoZone.D, bearing_rules=False)
    assert m.state == HealthState.NORMAL
    for _ in range(3):
        m.update(1.0, False, False, IsoZone.D, bearing_rules=False)
    assert m.state == HealthState.FAILURE
