import numpy as np
import pytest

from pm_monitor.core.models.threshold import DynamicThreshold, ThresholdConfig


def _threshold(**overrides) -> DynamicThreshold:
    params = {"floor": 1.0, "ceiling": 5.0, "c": 3.0, "history": 50, "min_history": 10}
    params.update(overrides)
    return DynamicThreshold(ThresholdConfig(**params))


def test_floor_until_enough_history_and_for_quiet_signals():
    threshold = _threshold()
    assert threshold.value == 1.0
    for _ in range(30):
        threshold.update(0.1)  # constant tiny scores: mean + c std = 0.1 < floor
    assert threshold.value == 1.0


def test_adapts_to_noisy_healthy_scores():
    threshold = _threshold()
    rng = np.random.default_rng(0)
    scores = 2.0 + 0.2 * rng.standard_normal(50)
    for score in scores:
        threshold.update(float(score))
    assert threshold.value == pytest.approx(scores.mean() + 3.0 * scores.std(), rel=1e-6)


def test_frozen_while_anomalous_so_a_fault_is_not_absorbed():
    threshold = _threshold()
    for _ in range(20):
        threshold.update(0.5)
    before = threshold.value
    verdicts = [threshold.update(10.0 + i)[0] for i in range(100)]
    assert all(verdicts)
    assert threshold.value == before


def test_ceiling_caps_the_adaptive_part():
    threshold = _threshold(ceiling=2.0)
    rng = np.random.default_rng(1)
    for score in 1.5 + rng.standard_normal(50):
        threshold.update(float(score))
    assert threshold.value == 2.0


def test_invalid_config_is_rejected():
    with pytest.raises(ValueError):
        ThresholdConfig(floor=2.0, ceiling=1.0)
