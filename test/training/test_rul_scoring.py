"""PHM 2012 scoring against hand-computed values; MAE / RMSE / coverage."""
from __future__ import annotations

import numpy as np
import pytest

from pm_monitor.training import rul_scoring as scoring


def test_phm_accuracy_hand_computed():
    # exact: A = 1; late by 10 % (Er = -10): exp(ln2 * -10 / 5) = 0.25;
    # early by 20 % (Er = +20): exp(ln0.5 * 20 / 20) = 0.5; late by 5 %: 0.5
    actual = np.array([100.0, 100.0, 100.0, 200.0])
    predicted = np.array([100.0, 110.0, 80.0, 210.0])
    np.testing.assert_allclose(scoring.phm_accuracy(actual, predicted), [1.0, 0.25, 0.5, 0.5])
    assert scoring.phm_score(actual, predicted) == pytest.approx((1 + 0.25 + 0.5 + 0.5) / 4)


def test_late_is_punished_more_than_early():
    assert scoring.phm_accuracy(100.0, 130.0) < scoring.phm_accuracy(100.0, 70.0)
    assert float(scoring.percent_error(5730.0, 5730.0 * 0.9)) == pytest.approx(10.0)


def test_score_keeps_pairs_never_sorts():
    actual = np.array([100.0, 1000.0])
    matched = scoring.phm_score(actual, np.array([100.0, 1000.0]))
    swapped = scoring.phm_score(actual, np.array([1000.0, 100.0]))
    assert matched == 1.0 and swapped < 0.1


def test_bad_inputs_raise():
    with pytest.raises(ValueError):
        scoring.phm_score(np.array([0.0]), np.array([10.0]))
    with pytest.raises(ValueError):
        scoring.phm_score(np.array([10.0]), np.array([np.nan]))
    with pytest.raises(ValueError):
        scoring.mae(np.zeros(2), np.zeros(3))


def test_mae_rmse_coverage():
    truth = np.array([0.0, 0.5, 1.0])
    pred = np.array([0.1, 0.5, 0.7])
    assert scoring.mae(truth, pred) == pytest.approx(0.4 / 3)
    assert scoring.rmse(truth, pred) == pytest.approx(np.sqrt((0.01 + 0.09) / 3))
    assert scoring.coverage(truth, pred - 0.15, pred + 0.15) == pytest.approx(2 / 3)
