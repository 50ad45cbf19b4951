"""The RUL evaluation's onset states: the any-machine state machine replayed with the ratio pair
femto_eval's rule chooses on the TRAINING bearings only (a held-out bearing never moves it)."""
from __future__ import annotations

import numpy as np
import pytest

from pm_monitor.core.alarms.severity_zones import IsoZone
from pm_monitor.core.rul.prior import OperatingCondition
from pm_monitor.evaluation import rul_evaluate
from pm_monitor.training.rul_fit import History

N = 200  # windows of 10 s


def fake_run(rise_at: int, bump: float = 1.0) -> dict:
    """femto_run's cached per-window inputs: commissioning for 5 windows, a level bump of
    `bump` x from window 40 to 90 (first half), then a ramp to 3x from `rise_at` (a level rise
    sees it before the 2x level rule does)."""
    level = np.ones(N)
    level[40:90] = bump
    level[rise_at:] = np.linspace(1.0, 3.0, N - rise_at)
    state = np.where(np.arange(N) < 5, -1, 0)
    return {"t_s": np.arange(N) * 10.0, "state": state, "hi": level,
            "levels": np.column_stack([level, level]), "crest": np.ones((N, 2)),
            "impulsive": np.zeros(N, bool), "named": np.zeros(N, bool),
            "zone": np.full(N, int(IsoZone.A)), "anomaly": np.zeros(N)}


@pytest.fixture()
def onset(monkeypatch):
    runs = {"a": fake_run(150), "b": fake_run(160), "c": fake_run(170),
            "noisy": fake_run(180, bump=1.5)}
    monkeypatch.setattr(rul_evaluate, "load_bearing", lambda name: name)
    monkeypatch.setattr(rul_evaluate, "femto_run", lambda name: runs[name])
    return rul_evaluate.OnsetStates(list(runs))


def test_the_pair_is_chosen_on_the_training_bearings_only(onset):
    without = onset.choose(["a", "b", "c"])
    with_noisy = onset.choose(["a", "b", "c", "noisy"])
    # the noisy bearing's first-half 1.5x bump rules out the more sensitive level rises, but
    # only when it is among the training bearings
    assert without[0] < 1.5 <= with_noisy[0]


def test_apply_replays_the_states_and_records_the_pair(onset):
    t = np.arange(N) * 10.0
    hist = {"noisy": History("noisy", t, np.ones((N, 1)), ("rms_g_h",), OperatingCondition(),
                             float(t[-1]))}
    pair = onset.choose(["a", "b", "c"])
    out, config = onset.apply(hist, pair, rul_evaluate.FitConfig())
    assert (config.trend_ratio, config.crest_trend_ratio) == pair
    states = out["noisy"].states
    assert states.shape == (N,) and np.all(states[:5] == -1)
    # with the pair chosen without it, the noisy bearing's bump is a (false) first-half onset
    assert out["noisy"].onset_s() is not None and out["noisy"].onset_s() < 0.5 * t[-1]


def test_the_design_choice_is_the_argmax_of_section_0_over_variants_and_points():
    design = {"a": {"phm_median": 0.20, "phm_phm_optimal": 0.25},
              "b": {"phm_median": 0.30, "phm_phm_optimal": 0.10},
              "c": {"phm_median": 0.30, "phm_phm_optimal": 0.29}}
    assert rul_evaluate.choose_variant(design) == ("b", "median")  # first of a tie
    design["a"]["phm_phm_optimal"] = 0.31
    assert rul_evaluate.choose_variant(design) == ("a", "phm_optimal")


def test_the_femto_config_is_the_named_variant_of_the_generic_config():
    change = rul_evaluate.VARIANTS[rul_evaluate.FEMTO_VARIANT]
    config = rul_evaluate.FEMTO_CONFIG
    assert all(getattr(config, key) == value for key, value in change.items())
    assert rul_evaluate.VARIANTS["round2_default"] == {}


def test_the_balanced_check_weights_the_life_grid_and_the_after_onset_grid_equally():
    design = {"a": {"phm_median": 0.30, "phm_phm_optimal": 0.10,
                    "after_onset": {"phm_median": 0.10, "phm_phm_optimal": 0.20}},
              "b": {"phm_median": 0.25, "phm_phm_optimal": 0.10,
                    "after_onset": {"phm_median": 0.30, "phm_phm_optimal": 0.20}}}
    assert rul_evaluate.choose_variant(design) == ("a", "median")
    assert rul_evaluate.balanced_choice(design) == ("b", "median")  # 0.275 vs 0.20


def test_after_onset_points_span_the_detected_onset_to_the_failure():
    t = np.arange(N) * 10.0
    states = np.where(t < 1000.0, 0, 1)  # Normal, then Pre-Warning from 1000 s on
    h = History("x", t, np.ones((N, 1)), ("rms_g_h",), OperatingCondition(), 2000.0,
                states=states)
    points = rul_evaluate.after_onset_points(h)
    assert points["after_onset_10"] == pytest.approx((1100.0, 900.0))
    assert points["after_onset_90"] == pytest.approx((1900.0, 100.0))
    assert len(points) == len(rul_evaluate.DESIGN_FRACTIONS)
    never = History("y", t, np.ones((N, 1)), ("rms_g_h",), OperatingCondition(), 2000.0,
                    states=np.zeros(N, int))
    assert rul_evaluate.after_onset_points(never) == {}
