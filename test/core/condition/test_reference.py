import json

import numpy as np
import pytest

from pm_monitor.core.condition.reference import (
    SAVE_EVERY_FRACTION,
    ReferenceBuilder,
    ReferenceStore,
    anomaly_distance,
    check_asset_id,
)

NAMES = ["rms_g", "kurtosis", "velocity_rms_mm_s"]


def _rows(n, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    return [scale * np.exp(rng.normal(0, 0.05, (1, 3))) * [[0.1, 3.0, 1.5]] for _ in range(n)]


def test_fit_gives_robust_statistics_and_a_threshold_new_healthy_windows_stay_under():
    b = ReferenceBuilder.new("pump_7", 20000.0, ["x"], NAMES, required_s=10.0)
    done = [b.add(r, 1.0) for r in _rows(10)]
    assert done[-1] and not any(done[:-1])
    ref = b.reference
    assert ref.complete and ref.velocity_mm_s == pytest.approx(1.5, rel=0.1)
    healthy = np.array([anomaly_distance(ref, r) / ref.threshold for r in _rows(200, seed=1)])
    faulty = anomaly_distance(ref, _rows(1, seed=2, scale=3.0)[0]) / ref.threshold
    assert np.mean(healthy > 1.0) < 0.05 and faulty > 3.0


def test_store_is_atomic_resumable_and_never_mixes_assets(tmp_path):
    store = ReferenceStore(tmp_path)
    a = ReferenceBuilder.new("pump_7", 20000.0, ["x"], NAMES, required_s=10.0)
    for r in _rows(4):
        a.add(r, 1.0)
    store.save(a.reference)
    b = ReferenceBuilder.new("fan_2", 20000.0, ["x"], NAMES, required_s=10.0)
    b.add(_rows(1, scale=5.0)[0], 1.0)
    store.save(b.reference)
    resumed = ReferenceBuilder(store.load("pump_7"))  # a restart / the robot's next visit
    assert resumed.reference.progress == pytest.approx(0.4)
    for r in _rows(6, seed=5):
        resumed.add(r, 1.0)
    store.save(resumed.reference)
    again = store.load("pump_7")
    assert again.complete and len(again.rows) == 10
    assert len(store.load("fan_2").rows) == 1  # the other asset is untouched
    assert not list(tmp_path.glob("*.tmp"))
    assert json.loads(store.path("pump_7").read_text())["asset_id"] == "pump_7"
    store.reset("pump_7")
    assert store.load("pump_7") is None and store.load("fan_2") is not None


def test_a_bad_window_does_not_enter_the_reference():
    b = ReferenceBuilder.new("pump_7", 20000.0, ["x"], NAMES, required_s=10.0)
    assert not b.add(np.array([[np.nan, 3.0, 1.0]]), 1.0)
    assert b.reference.rows == []


@pytest.mark.parametrize("bad", ["", "../etc", "a/b", ".hidden", "x" * 65])
def test_asset_ids_cannot_escape_the_store(bad):
    with pytest.raises(ValueError):
        check_asset_id(bad)


def test_compatibility_check_names_the_difference():
    b = ReferenceBuilder.new("pump_7", 20000.0, ["x"], NAMES, required_s=10.0)
    assert "rate" in b.compatible(25600.0, ["x"], NAMES)
    assert "axes" in b.compatible(20000.0, ["x", "y"], NAMES)
    assert b.compatible(20000.0, ["x"], NAMES) == ""


def test_a_long_commissioning_is_saved_in_steps_and_resumes_losing_at_most_one_step(tmp_path):
    # An hour of 1 s windows: saving each window would rewrite a growing file 3600 times.
    store = ReferenceStore(tmp_path)
    builder = ReferenceBuilder.new("pump_7", 20000.0, ["x"], NAMES, required_s=3600.0)
    writes = 0
    for r in _rows(1800):
        builder.add(r, 1.0)
        writes += store.save_progress(builder.reference) is not None
    steps = round(1 / SAVE_EVERY_FRACTION)
    assert writes <= steps // 2 + 1  # half of the commissioning: at most one write per step
    resumed = ReferenceStore(tmp_path).load("pump_7")  # a crash now, then a restart
    assert 0.5 - SAVE_EVERY_FRACTION <= resumed.progress <= 0.5
    builder = ReferenceBuilder(resumed)
    done = False
    for r in _rows(2000, seed=3):
        done = builder.add(r, 1.0)
        store.save_progress(builder.reference)
        if done:
            break
    assert done and store.load("pump_7").complete  # completion is always written
