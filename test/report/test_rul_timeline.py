"""The RUL timeline of a run (the FEMTO demo's rul_node, the rig demo's monitor): errors and
coverage of the valid estimates only, per evidence kind; the onset on the run's time axis; the
PNG shows the prior, the onset and the condition-based part."""
from __future__ import annotations

import pytest

from pm_monitor.report.rul_timeline import onset_time, plot, summarise


def _estimate(t_s: float, rul_s: float, valid: bool = True, width_s: float = 100.0,
              evidence: str = "condition_based", onset_s: float | None = None) -> dict:
    return {"t_s": t_s, "valid": valid, "rul_s": rul_s, "rul_lower_s": rul_s - width_s,
            "rul_upper_s": rul_s + width_s, "interval_coverage": 0.8, "health_index": 0.5,
            "evidence_kind": evidence if valid else "not_calibrated", "point_kind": "median",
            "onset_detected": onset_s is not None,
            "onset_elapsed_s": onset_s if onset_s is not None else -1.0}


ESTIMATES = [_estimate(100.0, 0.0, valid=False),                         # not scored
             _estimate(500.0, 450.0, evidence="population_prior"),       # truth 500: err 50
             _estimate(800.0, 250.0, onset_s=700.0),                     # truth 200: err 50
             _estimate(900.0, 400.0, onset_s=700.0)]                     # truth 100: err 300


def test_summary_scores_valid_estimates_against_time_left():
    summary = summarise(ESTIMATES, 1000.0)
    assert summary["estimates"] == 4 and summary["valid_estimates"] == 3
    assert summary["mae_s"] == pytest.approx(400.0 / 3)
    assert summary["interval_coverage"] == pytest.approx(2 / 3)
    assert summary["first_valid_at_life_fraction"] == pytest.approx(0.5)
    assert summary["onset_life_fraction"] == pytest.approx(0.7)
    by = summary["by_evidence"]
    assert by["population_prior"]["estimates"] == 1
    assert by["condition_based"]["mae_s"] == pytest.approx(175.0)


def test_no_valid_estimate_gives_counts_only():
    summary = summarise([_estimate(10.0, 5.0, valid=False)], 100.0)
    assert summary == {"estimates": 1, "valid_estimates": 0, "life_s": 100.0,
                       "onset_s": None, "onset_life_fraction": None}


def test_timeline_png_is_written(tmp_path):
    path = tmp_path / "rul_timeline.png"
    plot(ESTIMATES, 1000.0, "Bearing_test", path)
    assert path.stat().st_size > 10_000


def test_onset_is_placed_on_the_runs_time_axis():
    # the monitor's stream started 3 s after the run's t = 0: elapsed = t - 3
    late = [dict(e, elapsed_s=e["t_s"] - 3.0) for e in ESTIMATES]
    assert onset_time(late) == pytest.approx(703.0)
    assert onset_time(ESTIMATES[:2]) is None


def test_estimates_after_the_failure_are_not_scored():
    summary = summarise([*ESTIMATES, _estimate(1100.0, 0.0)], 1000.0)
    assert summary["valid_estimates"] == 3
