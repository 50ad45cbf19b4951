import numpy as np

from pm_monitor.evaluation.any_machine.femto_eval import first_alarm, reference_rule


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
