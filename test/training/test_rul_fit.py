"""Fitting the default RUL model: only the given histories are used (no leakage), the onset is
the histories' first confirmed not-Normal health state (no second detector), the calibration is
nested, the tracker and the fit agree on the onset, the model records the rise ratios."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from pm_monitor.core.rul.onset import indicator_names
from pm_monitor.core.rul.prior import OperatingCondition
from pm_monitor.training import rul_fit
from pm_monitor.training.rul_fit import FitConfig, History, fit_model

NAMES = indicator_names(25600.0)
CONFIG = replace(FitConfig(), indicators=("rms_g_h", "rms_g_v"), reference_s=100.0,
                 calibration_step_s=30.0)


def synthetic(name: str, life_s: float, onset_fraction: float, seed: int) -> History:
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, life_s + 1, 10.0)
    rise = np.clip((t - onset_fraction * life_s) / ((1 - onset_fraction) * life_s), 0, None)
    level = np.exp(3.0 * rise ** 2) * (1 + 0.05 * rng.normal(size=t.size))
    rows = np.ones((t.size, len(NAMES)))
    rows[:, NAMES.index("rms_g_h")] = level
    rows[:, NAMES.index("rms_g_v")] = level
    # the any-machine state: unjudged during the reference, Pre-Warning once the level is 1.5x
    states = np.where(t < CONFIG.reference_s, -1, np.where(level > 1.5, 1, 0))
    states = np.maximum.accumulate(states)  # latching, like the state machine
    return History(name, t, rows, NAMES, OperatingCondition(1800.0, 4000.0), float(t[-1]),
                   states=states)


HISTORIES = [synthetic(f"b{i}", life, frac, i) for i, (life, frac) in
             enumerate([(3000, 0.7), (5000, 0.8), (4000, 0.6), (6000, 0.75), (3500, 0.8)])]


def test_fit_uses_only_the_given_histories(monkeypatch):
    seen = set()
    original = rul_fit.damage_scores

    def spy(history, config):
        seen.add(history.name)
        return original(history, config)

    monkeypatch.setattr(rul_fit, "damage_scores", spy)
    fit_model(HISTORIES[:4], CONFIG)
    assert seen == {"b0", "b1", "b2", "b3"}  # b4, the "held-out" one, never read


def test_fitted_model_is_calibrated_and_learns_durations_from_the_state_onsets():
    model = fit_model(HISTORIES, CONFIG)
    kinds = {"population_prior", "condition_based"}
    assert kinds <= set(model.calibration)
    assert {key.split("/")[0] for key in model.calibration} == kinds
    assert all(np.all(np.diff(z) >= 0) for z in model.calibration.values())
    # the trend view's failure damages: each history's end damage, as the tracker computes d
    assert len(model.failure_damages) == len(HISTORIES)
    assert np.median(model.failure_damages) == pytest.approx(1.0, rel=0.2)
    durations = [h.life_s - h.onset_s() for h in HISTORIES]
    assert model.post_onset_log_mean == pytest.approx(np.mean(np.log(durations)))
    assert model.prior.reference == "rating_life" and model.prior.n_histories == 5


def test_the_tracker_onset_is_the_first_not_normal_state():
    model = fit_model(HISTORIES[:3], CONFIG)
    h = HISTORIES[4]
    tracked = rul_fit.run_tracker(model, h, np.array([h.life_s]))[-1]
    assert tracked.onset_s == h.onset_s() == float(h.t_s[np.argmax(h.states >= 1)])
    silent = replace(h, states=None)  # no health states: no onset, whatever the indicators
    assert rul_fit.run_tracker(model, silent, np.array([h.life_s]))[-1].onset_s is None


def test_the_model_records_the_rise_ratios_its_states_used():
    config = replace(CONFIG, trend_ratio=2.239, crest_trend_ratio=float("inf"))
    model = fit_model(HISTORIES[:3], config)
    rules = model.onset.health_rules()
    assert (rules.trend_ratio, rules.crest_trend_ratio) == (2.239, float("inf"))


def test_too_few_histories_is_an_error():
    with pytest.raises(ValueError, match="two histories"):
        rul_fit.fit_uncalibrated(HISTORIES[:1], CONFIG)


def test_life_exponent_option_fits_a_weibull_aft_on_the_rating_life():
    rng = np.random.default_rng(1)
    conditions = [OperatingCondition(1800.0, 4000.0), OperatingCondition(1500.0, 5000.0)] * 6
    # lives proportional to L10^2 around a common Weibull: the fit should find exponent ~2
    from pm_monitor.core.rul.prior import rating_life_s
    lives = [rating_life_s(c, 4000.0) ** 2 / 3e4 * rng.weibull(4.0) for c in conditions]
    prior = rul_fit.fit_prior(lives, conditions, [True] * 12,
                              replace(FitConfig(), fit_life_exponent=True))
    assert prior.exponent == pytest.approx(2.0, abs=0.5)
    iso = rul_fit.fit_prior(lives, conditions, [True] * 12, FitConfig())
    assert iso.exponent == 1.0


def test_damage_paths_are_first_passages_after_the_onset():
    config = replace(CONFIG, similarity=True)
    model = fit_model(HISTORIES[:4], config)
    assert len(model.damage_paths) >= 2
    for path in model.damage_paths:
        assert np.all(np.diff(path.damage) > 0)  # each level reached for the first time
        assert np.all(np.diff(path.rul_s) < 0)  # later, so less life left
        assert len(path.damage) <= rul_fit.PATH_POINTS
    assert fit_model(HISTORIES[:4], CONFIG).damage_paths == ()  # off by default


def test_state_durations_are_counted_from_each_histories_first_severe_state():
    def warned(h: History) -> History:
        # Warning once the level passed 3x (latched, like the state machine)
        level = h.columns(("rms_g_h",))[:, 0]
        states = np.where(np.maximum.accumulate(level) > 3.0, 2, h.state_rows())
        return replace(h, states=states)

    histories = [warned(h) for h in HISTORIES]
    model = rul_fit.fit_uncalibrated(histories, replace(CONFIG, state_durations=True))
    since = [h.life_s - h.first_in_state(2) for h in histories]
    assert model.state_durations["warning"][0] == pytest.approx(np.mean(np.log(since)))
    assert "failure" not in model.state_durations  # no history reached Failure
    assert rul_fit.fit_uncalibrated(histories, CONFIG).state_durations == {}


def test_calibration_groups_need_enough_points_else_the_kind_is_the_fallback():
    rng = np.random.default_rng(0)
    enough = [rng.normal(size=15), rng.normal(size=15)]
    z_groups = {"condition_based": [*enough, rng.normal(size=3)],
                "condition_based/warning": enough,  # 30 points, 2 histories
                "condition_based/failure": [rng.normal(size=5), rng.normal(size=5)],  # 10
                "condition_based/pre_warning": [rng.normal(size=40)],  # one history
                "population_prior": [rng.normal(size=30)],  # one history: not calibrated
                "population_prior/before_median_life": enough}
    out = rul_fit.calibration_quantiles(z_groups)
    assert set(out) == {"condition_based", "condition_based/warning"}
    assert len(out["condition_based/warning"]) == rul_fit.Z_POINTS
    assert set(rul_fit.calibration_quantiles(z_groups, with_groups=False)) == {"condition_based"}


def test_fit_is_calibrated_per_evidence_kind_unless_groups_are_asked_for():
    assert set(fit_model(HISTORIES, CONFIG).calibration) == {"population_prior",
                                                             "condition_based"}
    grouped = fit_model(HISTORIES, replace(CONFIG, calibration_groups=True))
    assert {"population_prior", "condition_based"} < set(grouped.calibration)
    assert all(key.split("/")[0] in grouped.calibration for key in grouped.calibration)
