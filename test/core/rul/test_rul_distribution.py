"""RUL distribution: quantiles, interval, and the PHM-2012-optimal point vs the median."""
from __future__ import annotations

import numpy as np
import pytest

from pm_monitor.core.rul.distribution import RulDistribution, phm_accuracy


def test_phm_accuracy_hand_computed():
    # exact 1; late 10 % -> 0.25; early 20 % -> 0.5; late 5 % -> 0.5
    np.testing.assert_allclose(phm_accuracy(np.array([100.0, 100.0, 100.0, 200.0]),
                                            np.array([100.0, 110.0, 80.0, 210.0])),
                               [1.0, 0.25, 0.5, 0.5])
    assert phm_accuracy(100.0, 1e12) == pytest.approx(0.0)  # absurdly late: 0, no overflow


def test_median_interval_and_sorting():
    dist = RulDistribution(np.array([300.0, 100.0, 200.0, -5.0, 400.0]), "test")
    assert dist.points_s[0] == 0.0  # negative life clipped to 0, points sorted
    assert dist.median_s == pytest.approx(200.0)
    low, high = dist.interval(0.8)
    assert 0.0 <= low < dist.median_s < high <= 400.0
    with pytest.raises(ValueError):
        dist.interval(1.0)
    with pytest.raises(ValueError):
        RulDistribution(np.array([np.nan]), "test")


def test_phm_optimal_point_is_earlier_than_the_median_and_scores_better():
    rng = np.random.default_rng(0)
    truth = np.exp(rng.normal(np.log(1000.0), 0.5, 4000))
    dist = RulDistribution(np.quantile(truth, (np.arange(199) + 0.5) / 199), "test")
    optimal = dist.point("phm_optimal")
    assert optimal < dist.point("median")
    assert phm_accuracy(truth, optimal).mean() > phm_accuracy(truth, dist.median_s).mean()
    with pytest.raises(ValueError, match="unknown point kind"):
        dist.point("mean")


def test_a_sure_distribution_gives_its_value_as_optimal_point():
    assert RulDistribution(np.full(9, 500.0), "test").phm_optimal_s() == pytest.approx(500.0)
