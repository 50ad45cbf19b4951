"""The FEMTO RUL demo's scoring: errors and coverage of the valid estimates only."""
from __future__ import annotations

import pytest

from pm_monitor.demo.run_femto_demo import summarise


def _estimate(t_s: float, rul_s: float, valid: bool = True, width_s: float = 100.0) -> dict:
    return {"t_s": t_s, "valid": valid, "rul_s": rul_s, "rul_lower_s": rul_s - width_s,
            "rul_upper_s": rul_s + width_s, "interval_coverage": 0.8, "health_index": 0.5}


def test_summary_scores_valid_estimates_against_time_left():
    life_s = 1000.0
    estimates = [_estimate(100.0, 0.0, valid=False),          # before onset: not scored
                 _estimate(800.0, 250.0),                     # truth 200: error 50, covered
                 _estimate(900.0, 400.0)]                     # truth 100: error 300, missed
    summary = summarise(estimates, life_s)
    assert summary["estimates"] == 3 and summary["valid_estimates"] == 2
    assert summary["mae_s"] == pytest.approx(175.0)
    assert summary["mae_normalised"] == pytest.approx(0.175)
    assert summary["interval_coverage"] == pytest.approx(0.5)
    assert summary["first_valid_at_life_fraction"] == pytest.approx(0.8)


def test_no_valid_estimate_gives_counts_only():
    summary = summarise([_estimate(10.0, 5.0, valid=False)], 100.0)
    assert summary == {"estimates": 1, "valid_estimates": 0, "life_s": 100.0}
