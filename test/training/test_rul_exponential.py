import numpy as np
import pytest

from pm_monitor.training.rul_exponential import ExponentialRulEstimator, RulConfig

CONFIG = RulConfig(baseline=0.0, failure_level=1.0, onset_margin=0.02, history_s=600.0)


def _feed(estimator: ExponentialRulEstimator, times: np.ndarray, values: np.ndarray) -> None:
    for t, v in zip(times, values, strict=True):
        estimator.update(float(t), float(v))


def test_exponential_trend_extrapolates_to_the_true_failure_time():
    # HI = exp(a + b t) reaches 1.0 at t_fail = 1000 s; observe up to 700 s with 5 % noise.
    b, t_fail = 0.01, 1000.0
    times = np.arange(400.0, 700.0, 2.0)
    rng = np.random.default_rng(0)
    values = np.exp(b * (times - t_fail)) * np.exp(0.05 * rng.standard_normal(times.size))
    estimator = ExponentialRulEstimator(CONFIG)
    _feed(estimator, times, values)
    result = estimator.estimate()
    true_rul = t_fail - times[-1]
    assert result is not None
    assert result.rul_s == pytest.approx(true_rul, rel=0.1)
    assert result.lower_s <= true_rul <= result.upper_s
    assert result.lower_s < result.rul_s < result.upper_s
    assert result.coverage == 0.8
    assert 0.0 <= result.health_index <= 1.0


def test_no_estimate_without_degradation():
    estimator = ExponentialRulEstimator(CONFIG)
    _feed(estimator, np.arange(0.0, 100.0), np.full(100, 0.01))
    assert estimator.estimate() is None
    assert estimator.health_index(0.0) == 1.0


def test_at_or_beyond_failure_level_rul_is_zero():
    estimator = ExponentialRulEstimator(CONFIG)
    _feed(estimator, np.arange(0.0, 20.0), np.linspace(0.5, 1.2, 20))
    result = estimator.estimate()
    assert result is not None and result.rul_s == 0.0 and result.health_index == 0.0


def test_old_history_is_forgotten():
    estimator = ExponentialRulEstimator(RulConfig(0.0, 1.0, 0.02, history_s=10.0))
    _feed(estimator, np.arange(0.0, 100.0), np.full(100, 0.5))
    assert estimator.estimate() is None  # only 11 points left, min_points is 12


def test_offset_exponential_fits_the_rig_like_severity_curve():
    # s(t) = (exp(k u) - 1) / (exp(k) - 1): almost linear early, exponential later.
    k, onset, failure = 3.0, 0.0, 300.0
    times = np.arange(60.0, 200.0, 0.5)
    severity = np.expm1(k * (times - onset) / (failure - onset)) / np.expm1(k)
    rng = np.random.default_rng(2)
    estimator = ExponentialRulEstimator(CONFIG)
    _feed(estimator, times, severity + 0.005 * rng.standard_normal(times.size))
    result = estimator.estimate()
    assert result is not None
    assert result.rul_s == pytest.approx(failure - times[-1], rel=0.15)
