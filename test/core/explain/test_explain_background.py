"""HealthyBackground: reservoir, healthy-only observation, bounds, file round trip."""
from types import SimpleNamespace

import numpy as np
import pytest

from pm_monitor.core.explain.background import HealthyBackground
from pm_monitor.core.types import HealthState


def test_reservoir_keeps_capacity_and_a_spread_of_the_stream():
    background = HealthyBackground(capacity=4, seed=0)
    for i in range(100):
        background.add(np.full((3, 2), float(i), np.float32))
    kept = background.baselines()
    assert kept.shape == (4, 3, 2) and background.seen == 100
    assert kept[:, 0, 0].max() > 20  # not just the first four


def test_observe_takes_only_normal_not_anomalous_results():
    background = HealthyBackground(capacity=4)
    seq = np.ones((3, 2), np.float32)
    assert background.observe(SimpleNamespace(state=HealthState.NORMAL, anomalous=False,
                                              stage1_input=seq))
    assert not background.observe(SimpleNamespace(state=HealthState.NORMAL, anomalous=True,
                                                  stage1_input=seq))
    assert not background.observe(SimpleNamespace(state=HealthState.WARNING, anomalous=False,
                                                  stage1_input=seq))
    assert len(background) == 1


def test_bounds_are_the_healthy_range_widened_by_the_margin():
    background = HealthyBackground(capacity=4)
    assert background.bounds() is None and background.baselines() is None
    background.add(np.array([[0.0, 1.0], [2.0, -1.0]], np.float32))
    low, high = background.bounds(margin=0.5)
    np.testing.assert_allclose(low, [-0.5, -1.5])
    np.testing.assert_allclose(high, [2.5, 1.5])


def test_save_load_round_trip_and_errors(tmp_path):
    background = HealthyBackground(capacity=3)
    for i in range(5):
        background.add(np.full((2, 2), float(i), np.float32))
    path = background.save(tmp_path / "bg.npz")
    loaded = HealthyBackground.load(path)
    np.testing.assert_array_equal(loaded.baselines(), background.baselines())
    assert loaded.seen == 5
    with pytest.raises(ValueError, match="cannot read healthy background"):
        HealthyBackground.load(tmp_path / "missing.npz")
    with pytest.raises(ValueError, match="does not match"):
        background.add(np.zeros((3, 2), np.float32))
    with pytest.raises(ValueError, match="finite"):
        background.add(np.full((2, 2), np.nan, np.float32))
    with pytest.raises(ValueError, match="empty"):
        HealthyBackground().save(tmp_path / "empty.npz")
