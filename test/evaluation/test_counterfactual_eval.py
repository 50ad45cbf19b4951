"""The counterfactual evaluation: its measures, its choice rule, and one real search batch."""
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from pm_monitor.core.explain.background import HealthyBackground
from pm_monitor.core.explain.counterfactual import Counterfactual, FeatureChange
from pm_monitor.core.explain.feature_units import PhysicalValue
from pm_monitor.evaluation import counterfactual_eval as ev
from pm_monitor.evaluation.counterfactual_plot import plot_reach

BUNDLE_DIR = Path(__file__).resolve().parents[2] / "models" / "rig_baseline"


def _change(name, current, needed, unit, current_z, needed_z):
    return FeatureChange(name, PhysicalValue(current, unit), PhysicalValue(needed, unit),
                         current_z, needed_z)


def test_summary_counts_reach_per_state_and_sizes_of_reached_windows_only():
    rms = _change("accel_x.rms", 2.0, 0.5, "m/s^2", 2.0, 0.0)  # factor 4, |dz| 2
    temp = _change("thermal.max_c", 45.0, 42.0, "degC", 2.5, 1.0)  # 3 K, |dz| 1.5
    results = [
        Counterfactual(True, "normal", (rms, temp), 0.1, 0.6),
        Counterfactual(False, "normal", (rms,), 0.1, 0.3),  # not reached: no sizes
        Counterfactual(True, "normal", (rms,), 0.2, 0.7),
        Counterfactual(False, "normal", (), 0.0, 0.0),
    ]
    predicted = np.array([1, 1, 2, 3])
    row = ev.summarise(results, predicted, np.array([0.01, 0.02, 0.03, 0.04]))
    assert row["reach_rate"] == 0.5
    assert row["reach_rate_by_state"] == {"pre_warning": 0.5, "warning": 1.0, "failure": 0.0}
    assert row["changed_features_median_reached"] == 1.5
    assert row["changed_features_max"] == 2
    assert row["dz_sum_median_reached"] == pytest.approx(2.75)  # median of 3.5 and 2.0
    assert row["factor_largest_median_reached"] == pytest.approx(4.0)
    assert row["kelvin_largest_median_reached"] == pytest.approx(3.0)
    assert row["ms_median"] == pytest.approx(25.0)


def test_summary_of_nothing_is_refused():
    with pytest.raises(ValueError, match="no windows"):
        ev.summarise([], np.array([]), np.array([]))


def _row(reach, changed, ms=10.0):
    return {"reach_rate": reach, "changed_features_median_reached": changed, "ms_median": ms}


def test_choice_takes_the_best_eligible_reach_and_ignores_ineligible_settings():
    settings = {
        "small": replace(ev.REFINED, max_features=2),
        "wide margin": replace(ev.REFINED, max_features=2, healthy_margin_z=1.0),
        "many features": replace(ev.REFINED, max_features=6),
        "three sensors": replace(ev.REFINED, move="sensor", max_sensors=3),
        "auto": replace(ev.REFINED, move="auto", max_features=4, max_sensors=2),
        "auto, 6 features": replace(ev.REFINED, move="auto", max_features=6, max_sensors=2),
    }
    rows = {"small": _row(0.3, 1), "wide margin": _row(0.9, 1), "many features": _row(0.9, 3),
            "three sensors": _row(0.9, 10), "auto": _row(0.6, 3),
            "auto, 6 features": _row(0.9, 3)}
    assert ev.choose(rows, settings) == "auto"
    rows["small"] = _row(0.6, 1)  # same reach, fewer features changed
    assert ev.choose(rows, settings) == "small"
    with pytest.raises(ValueError, match="no eligible"):
        ev.choose({"many features": rows["many features"]}, settings)


def test_the_previous_default_is_evaluated_and_eligible():
    assert ev.PREVIOUS in ev.SETTINGS and ev.eligible(ev.SETTINGS[ev.PREVIOUS])
    assert not ev.SETTINGS[ev.PREVIOUS].refine


def test_plot_is_written(tmp_path):
    row = {"reach_rate": 0.4, "changed_features_median_reached": 2.0,
           "reach_rate_by_state": {"pre_warning": 0.8, "warning": 0.2}}
    path = plot_reach({"a": row, "b": row | {"reach_rate": 0.6}}, "b", tmp_path / "r.png")
    assert path.stat().st_size > 10_000


@pytest.mark.skipif(not BUNDLE_DIR.exists(), reason="models/rig_baseline not trained yet")
def test_evaluate_searches_real_windows_with_the_shipped_bundle():
    from pm_monitor.core.models.bundle import load_bundle

    bundle = load_bundle(BUNDLE_DIR)
    rng = np.random.default_rng(0)
    shape = (bundle.sequence_length, len(bundle.feature_names))
    background = HealthyBackground(capacity=4)
    for _ in range(4):
        background.add(rng.normal(0.0, 0.3, shape).astype(np.float32))
    # far outside the healthy range in every feature: Stage 1 should not call these Normal
    sequences = (3.0 + rng.normal(0.0, 0.3, (3, *shape))).astype(np.float32)
    windows = ev.SplitWindows(sequences, np.array([1, 2, 3]), background, 3)
    row = ev.evaluate(bundle, windows, ev.SETTINGS[ev.PREVIOUS], "test")
    assert row["windows"] == 3 and 0.0 <= row["reach_rate"] <= 1.0
    assert row["changed_features_max"] <= 2 and row["ms_median"] > 0.0
