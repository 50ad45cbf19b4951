import numpy as np

from pm_monitor.core.alarms.severity_zones import IsoZone
from pm_monitor.core.condition.health import HealthRules
from pm_monitor.core.types import HealthState
from pm_monitor.evaluation.any_machine.femto_eval import (
    INF,
    choose_most_sensitive,
    choose_pair,
    first_alarm,
    reference_rule,
    replay_states,
)


def test_first_alarm_reports_fraction_of_life_lead_and_first_half_calls():
    t = np.arange(0.0, 1000.0, 10.0)
    alarm = t >= 900.0
    r = first_alarm(t, alarm)
    assert r["first_half_alarms"] == 0 and r["first_half_not_normal_pct"] == 0.0
    assert r["alarm_fraction_of_life"] == 900.0 / 990.0
    assert r["lead_min"] == 90.0 / 60.0
    early = first_alarm(t, t >= 100.0)
    assert early["first_half_alarms"] == 1 and early["first_half_not_normal_pct"] == 80.0
    assert first_alarm(t, np.zeros(t.size, bool))["lead_min"] is None


def test_reference_rule_needs_three_in_a_row_and_latches():
    t = np.arange(0.0, 2000.0, 10.0)
    rms = 1.0 + 0.01 * np.random.default_rng(0).standard_normal(t.size)
    rms[150] = 10.0  # one spike: no alarm
    rms[180:183] = 10.0  # three in a row: alarm from the third, latched
    alarm = reference_rule(t, rms, z_threshold=10.0)
    assert not alarm[:182].any() and alarm[182:].all()


def _row(first_half_alarms: int, lead_min: float, not_normal_pct: float = 0.0) -> dict:
    return {"first_half_alarms": first_half_alarms, "lead_min": lead_min,
            "first_half_not_normal_pct": not_normal_pct}


def test_the_pair_choice_ignores_unacceptable_pairs_and_prefers_the_longer_median_lead():
    off, rise = (INF, INF), (1.778, INF)
    results = {"a": {off: _row(0, 5.0), rise: _row(0, 30.0)},
               "b": {off: _row(0, 4.0), rise: _row(1, 90.0)},  # a first-half alarm on b
               "c": {off: _row(0, 6.0), rise: _row(0, 40.0)}}
    assert choose_pair(results, ["a", "c"], [off, rise]) == rise
    assert choose_pair(results, ["a", "b", "c"], [off, rise]) == off
    assert choose_most_sensitive(results, ["a", "c"], [rise, off]) == rise
    assert choose_most_sensitive(results, ["b"], [rise, off]) == off


def test_the_pair_choice_breaks_ties_toward_the_less_sensitive_pair():
    results = {"a": {(1.5, INF): _row(0, 5.0), (2.0, INF): _row(0, 5.0)}}
    assert choose_pair(results, ["a"], [(1.5, INF), (2.0, INF)]) == (2.0, INF)
    too_many_calls = {"a": {(1.5, INF): _row(0, 5.0, not_normal_pct=2.0)}}
    assert choose_pair(too_many_calls, ["a"], [(1.5, INF)]) is None


def test_the_replay_is_the_state_machine_on_the_cached_inputs():
    n = 12
    run = {"state": np.array([-1] * 4 + [0] * (n - 4)), "hi": np.r_[np.full(4, np.nan),
                                                                    np.full(n - 4, 1.0)],
           "impulsive": np.zeros(n, bool), "named": np.zeros(n, bool),
           "zone": np.full(n, int(IsoZone.A)),
           "levels": np.r_[np.full((4, 2), np.nan), np.full((4, 2), 0.5), np.full((4, 2), 1.0)],
           "crest": np.ones((n, 2)), "anomaly": np.zeros(n)}
    run["hi"][4:8] = 0.5
    states = replay_states(run, HealthRules(persistence=3, trend_ratio=1.778))
    assert (states[:4] == -1).all()
    # the floor (0.5) is set by windows 4-6; the rise to 1.0 (2x) is confirmed by windows 8-10
    assert (states[4:10] == HealthState.NORMAL).all()
    assert (states[10:] == HealthState.PRE_WARNING).all()
    assert (replay_states(run, HealthRules(trend_ratio=INF))[4:] == HealthState.NORMAL).all()
