"""The low-rate report: per-bearing first alarms from state sequences, tables per rate."""
import numpy as np

from pm_monitor.evaluation.any_machine import low_rate
from pm_monitor.evaluation.any_machine.femto_eval import summarise


def _runs():
    t = np.arange(100, dtype=float) * 10.0
    early = np.where(np.arange(100) >= 30, 1, 0)  # first alarm at 30 % of life
    late = np.where(np.arange(100) >= 90, 1, 0)
    return {"B1": {"t_s": t, "state": early}, "B2": {"t_s": t, "state": late}}


def test_alarm_rows_score_each_bearing_from_its_own_state_sequence():
    runs = _runs()
    rows = low_rate._alarm_rows(runs, {n: r["state"] for n, r in runs.items()},
                                {"B1": "learning", "B2": "test_full"})
    assert [r["first_half_alarms"] for r in rows] == [1, 0]
    assert rows[0]["alarm_fraction_of_life"] == 30 * 10.0 / 990.0
    assert rows[1]["split"] == "test_full" and rows[1]["lead_min"] == 90.0 / 60.0


def test_the_femto_table_has_every_rate_and_rule():
    runs = _runs()
    rows = low_rate._alarm_rows(runs, {n: r["state"] for n, r in runs.items()},
                                {"B1": "learning", "B2": "learning"})
    per_rate = {key: rows for key in low_rate.RULES}
    section = {"rates": {rate: {**per_rate, "summary": {k: summarise(rows)
                                                           for k in low_rate.RULES},
                                "not_analysed": ["x off"] if rate == "2560" else []}
                         for rate in ("25600", "2560")}}
    text = "\n".join(low_rate.femto_lines(section))
    for rate in ("25600", "2560"):
        for rule in low_rate.RULES:
            assert f"| {rate} | {rule} | 1 |" in text  # B1's first-half alarm counted
    assert "x off" in text and "| B1 | 0.30 (0.30; 0.30) | 0.30 (0.30; 0.30) |" in text
