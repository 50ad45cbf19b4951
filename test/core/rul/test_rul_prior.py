"""Population prior: conditional Weibull residual life, rating-life scaling."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from pm_monitor.core.rul.prior import OperatingCondition, WeibullPrior, rating_life_s

FEMTO_1 = OperatingCondition(rpm=1800.0, load_n=4000.0)


def test_rating_life_follows_iso_281():
    # C = P: 10^6 revolutions at 30 rev/s
    assert rating_life_s(FEMTO_1, 4000.0) == pytest.approx(1e6 / 30.0)
    heavier = OperatingCondition(rpm=1800.0, load_n=8000.0)
    assert rating_life_s(heavier, 4000.0) == pytest.approx(1e6 / 30.0 / 8)
    with pytest.raises(ValueError):
        rating_life_s(OperatingCondition(), 4000.0)


def test_residual_quantiles_are_the_conditional_weibull():
    prior = WeibullPrior("t", shape=2.0, scale=1000.0, reference="seconds")
    elapsed = 600.0
    dist = prior.residual(elapsed, OperatingCondition())
    weibull = stats.weibull_min(2.0, scale=1000.0)
    for q in (0.1, 0.5, 0.9):
        r = float(dist.quantile(q))
        conditional_cdf = 1 - weibull.sf(elapsed + r) / weibull.sf(elapsed)
        assert conditional_cdf == pytest.approx(q, abs=0.01)
    fresh = prior.residual(0.0, OperatingCondition())
    assert fresh.median_s == pytest.approx(weibull.median(), rel=0.01)
    assert dist.evidence == "population_prior"


def test_heavier_load_means_shorter_prior_life():
    prior = WeibullPrior("femto", 2.0, 0.5, "rating_life", dynamic_load_rating_n=4000.0)
    light = prior.residual(1000.0, FEMTO_1).median_s
    heavy = prior.residual(1000.0, OperatingCondition(1500.0, 5000.0)).median_s
    assert heavy < light
    assert prior.median_life_s(FEMTO_1) == pytest.approx(
        0.5 * 1e6 / 30 * np.log(2) ** 0.5)


def test_bad_priors_are_refused():
    with pytest.raises(ValueError):
        WeibullPrior("t", shape=0.0, scale=1.0, reference="seconds")
    with pytest.raises(ValueError, match="dynamic_load_rating_n"):
        WeibullPrior("t", shape=1.0, scale=1.0, reference="rating_life")
    with pytest.raises(ValueError):
        WeibullPrior("t", 1.0, 1.0, "seconds").residual(-1.0, OperatingCondition())
