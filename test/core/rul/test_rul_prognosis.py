"""The default RUL model's contract: nothing valid that is not calibrated; evidence kinds;
estimate(history) is a pure function of the indicator history; the model file round-trips."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from rul_fakes import small_prognosis

from pm_monitor.core.rul.prior import OperatingCondition
from pm_monitor.core.rul.prognosis import (
    PrognosisModel,
    PrognosisModelError,
    PrognosisTracker,
    estimate,
)

NONE = OperatingCondition()


def history(degrade_at_s: float | None, end_s: float = 600.0):
    """(times, indicator rows, health states): the any-machine state is unjudged (-1) during
    the 60 s reference and confirms Pre-Warning 30 s after the degradation starts."""
    t = np.arange(0.0, end_s, 10.0)
    level = np.ones_like(t)
    states = np.where(t < 60.0, -1, 0)
    if degrade_at_s is not None:
        # below the fake model's failure level (d = 1 at RMS x e^2) until the end
        level = np.where(t < degrade_at_s, 1.0, 1.0 + (t - degrade_at_s) / 80.0)
        states = np.where(t >= degrade_at_s + 30.0, 1, states)
    return t, np.column_stack([level, level]), states


@pytest.mark.parametrize("degrade_at_s", [None, 200.0])
def test_uncalibrated_evidence_is_never_valid(degrade_at_s):
    t, rows, states = history(degrade_at_s)
    for calibration in ({}, {"population_prior": small_prognosis().calibration[
            "population_prior"]}):
        model = replace(small_prognosis(), calibration=calibration)
        out = estimate(model, NONE, t, rows, states)
        assert out.valid == (out.evidence in calibration)
        if not out.valid:
            assert out.distribution.evidence == "not_calibrated"


def test_prior_before_onset_condition_based_after():
    model = small_prognosis()
    healthy = estimate(model, NONE, *history(None))
    assert healthy.evidence == "population_prior" and healthy.onset_s is None and healthy.valid
    worn = estimate(model, NONE, *history(200.0))
    assert worn.evidence == "condition_based" and worn.onset_s is not None and worn.valid
    assert set(worn.parts) == {"prior", "duration", "trend"}
    assert worn.median_s < healthy.median_s  # damage shortens the expected life
    assert worn.lower_s <= worn.median_s <= worn.upper_s
    assert worn.health_index < healthy.health_index


def test_estimate_is_pure_and_equals_the_tracker():
    model = small_prognosis()
    t, rows, states = history(200.0)
    first = estimate(model, NONE, t, rows, states)
    assert estimate(model, NONE, t, rows, states).median_s == first.median_s
    tracker = PrognosisTracker(model, NONE)
    for ti, row, state in zip(t, rows, states, strict=True):
        tracker.update(float(ti), row, int(state))
    assert tracker.estimate().median_s == pytest.approx(first.median_s)
    perturbed = rows.copy()
    perturbed[-10:] *= 2.0  # attribution perturbs inputs and sees the estimate move
    assert estimate(model, NONE, t, perturbed, states).median_s != first.median_s
    # the onset is the health state's, not the indicators': without states, prior only
    assert estimate(model, NONE, t, rows).evidence == "population_prior"
    assert first.onset_s == 230.0 and first.onset_trigger == "pre_warning"


def test_point_kind_selects_the_published_point():
    t, rows, states = history(200.0)
    median = estimate(small_prognosis(), NONE, t, rows, states)
    optimal = estimate(replace(small_prognosis(), point_kind="phm_optimal"), NONE, t, rows, states)
    assert median.rul_s == pytest.approx(median.median_s)
    assert optimal.rul_s == pytest.approx(optimal.distribution.phm_optimal_s())
    assert optimal.rul_s <= median.rul_s


def test_bad_inputs_are_refused():
    tracker = PrognosisTracker(small_prognosis(), NONE)
    tracker.update(0.0, np.ones(2))
    with pytest.raises(ValueError, match="increase"):
        tracker.update(0.0, np.ones(2))
    with pytest.raises(ValueError, match="finite"):
        tracker.update(10.0, np.array([1.0, np.nan]))


def test_model_file_round_trip_and_clear_errors(tmp_path):
    path = tmp_path / "m.json"
    small_prognosis().save(path)
    assert PrognosisModel.load(path) == small_prognosis()
    with pytest.raises(PrognosisModelError, match="absent"):
        PrognosisModel.load(tmp_path / "absent.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(PrognosisModelError, match=r"bad\.json"):
        PrognosisModel.load(tmp_path / "bad.json")
    data = json.loads(path.read_text())
    data["version"] = 99
    (tmp_path / "v99.json").write_text(json.dumps(data))
    with pytest.raises(PrognosisModelError, match="version"):
        PrognosisModel.load(tmp_path / "v99.json")


def test_damage_path_lookup_is_the_first_passage():
    from pm_monitor.core.rul.prognosis import DamagePath

    path = DamagePath((0.2, 0.5, 1.0), (900.0, 400.0, 50.0))
    assert path.rul_at(0.1) == 900.0 and path.rul_at(0.5) == 400.0
    assert path.rul_at(0.7) == 50.0  # reached 1.0 with 50 s left
    assert path.rul_at(3.0) == 50.0  # failed below that damage: its last remaining life
    with pytest.raises(ValueError, match="must not decrease"):
        DamagePath((0.5, 0.2), (1.0, 2.0))


def test_similarity_view_joins_after_onset_and_round_trips(tmp_path):
    from pm_monitor.core.rul.prognosis import DamagePath

    paths = (DamagePath((0.3, 1.0, 2.0), (600.0, 200.0, 20.0)),
             DamagePath((0.3, 1.0, 2.0), (900.0, 300.0, 30.0)))
    model = replace(small_prognosis(), damage_paths=paths)
    t, rows, states = history(200.0)
    healthy = estimate(model, NONE, t[:15], rows[:15])
    worn = estimate(model, NONE, t, rows, states)
    assert "similarity" not in healthy.parts and "similarity" in worn.parts
    assert worn.valid and worn.evidence == "condition_based"
    model.save(tmp_path / "m.json")
    assert PrognosisModel.load(tmp_path / "m.json").damage_paths == paths


def test_state_durations_restart_the_duration_view_at_the_most_severe_state(tmp_path):
    # Warning from 400 s on: the duration view counts from the first Warning, with the
    # Warning durations (100 s), not from the onset with the post-onset ones (600 s)
    model = replace(small_prognosis(), state_durations={"warning": (float(np.log(100.0)), 0.3)})
    t, rows, states = history(200.0)
    warned = np.where(t >= 400.0, 2, states)
    pre = estimate(model, NONE, t[:35], rows[:35], warned[:35])  # Pre-Warning only
    worn = estimate(model, NONE, t, rows, warned)
    plain = estimate(small_prognosis(), NONE, t, rows, warned)
    assert pre.parts["duration"] == estimate(small_prognosis(), NONE, t[:35], rows[:35],
                                             warned[:35]).parts["duration"]
    assert worn.parts["duration"][0] < plain.parts["duration"][0]
    assert np.isfinite(worn.median_s) and worn.valid
    model.save(tmp_path / "m.json")
    assert PrognosisModel.load(tmp_path / "m.json").state_durations == model.state_durations
    with pytest.raises(ValueError, match="unknown states"):
        replace(small_prognosis(), state_durations={"normal": (1.0, 1.0)})


def test_duration_view_stays_finite_far_beyond_every_training_duration():
    model = small_prognosis()  # post-onset durations around 600 s, sigma 0.5
    t, rows, states = history(200.0, end_s=60000.0)  # 100x the typical duration since onset
    out = estimate(model, NONE, t, rows, states)
    assert np.isfinite(out.parts["duration"][0]) and out.valid


def plateau_history(end_s: float = 3000.0):
    """Damage rises past the failure level (d = 1 at RMS x e^2) by 600 s, then stays flat for
    the rest of the run: what the rig shows after its simulated failure."""
    t = np.arange(0.0, end_s, 10.0)
    log_level = np.clip((t - 200.0) / 400.0, 0.0, 1.0) * 2.5  # d = 1.25 from 600 s on
    level = np.exp(log_level)
    states = np.where(t < 60.0, -1, np.where(t >= 230.0, 2, 0))
    return t, np.column_stack([level, level]), states


def test_past_the_failure_level_the_estimate_never_rises_again():
    # training assets failed at damage 0.9-1.1; this one sits at 1.25, past 90 % of them: on
    # the plateau the trend sees no failure coming and the duration view would take over
    model = replace(small_prognosis(), failure_damages=(0.9, 1.0, 1.1))
    t, rows, states = plateau_history()
    tracker = PrognosisTracker(model, NONE)
    assert 1.0 < tracker.hold_damage < 1.25
    medians, uppers, held = [], [], []
    for ti, row, state in zip(t, rows, states, strict=True):
        tracker.update(float(ti), row, int(state))
        if tracker.damage >= tracker.hold_damage:
            out = tracker.estimate()
            medians.append(out.median_s)
            uppers.append(out.upper_s)
            held.append(out.held)
    assert len(medians) > 100
    assert np.all(np.diff(medians) <= 1e-9) and np.all(np.diff(uppers) <= 1e-9)
    assert any(held)  # the views alone would have risen: the ceiling did something
    # the same history through the pure function gives the same (call-pattern independent)
    assert estimate(model, NONE, t, rows, states).median_s == pytest.approx(medians[-1])


def test_before_the_failure_level_there_is_no_ceiling():
    model = small_prognosis()
    t, rows, states = history(200.0)  # d stays below 1 (RMS x e^2 not reached)
    tracker = PrognosisTracker(model, NONE)
    for ti, row, state in zip(t, rows, states, strict=True):
        tracker.update(float(ti), row, int(state))
        assert tracker.peak_damage < 1.0 and not tracker.estimate().held


def test_the_ceiling_is_dropped_when_the_damage_falls_back_below_the_failure_level():
    # a noisy damage score (FEMTO) can cross the failure level long before the end: the hold
    # lasts only while the damage stays there
    model = replace(small_prognosis(), failure_damages=(0.9, 1.0, 1.1))
    t, rows, states = plateau_history(2000.0)
    rows = rows.copy()
    rows[t >= 1500.0] = 1.5  # damage back to ~0.2
    tracker = PrognosisTracker(model, NONE)
    for ti, row, state in zip(t, rows, states, strict=True):
        tracker.update(float(ti), row, int(state))
    assert tracker.damage < tracker.hold_damage and not tracker.estimate().held


def test_a_trend_that_sees_no_failure_says_nothing():
    # after onset, a damage receding with a confident negative rate: every filter sample reads
    # "no failure in sight"; the view is left out rather than published as "a month,
    # certainly" (the filter state is set directly: a white-box check of that one branch)
    t, rows, states = history(200.0)
    tracker = PrognosisTracker(small_prognosis(), NONE)
    for ti, row, state in zip(t, rows, states, strict=True):
        tracker.update(float(ti), row, int(state))
    assert "trend" in tracker.estimate().parts
    tracker._kf.x = np.array([[0.5], [-0.01]])
    tracker._kf.P = np.diag([1e-4, 1e-8])
    out = tracker.estimate()
    assert out.evidence == "condition_based" and out.valid and "trend" not in out.parts


def test_trend_samples_are_consistent_at_and_past_the_failure_damage():
    from pm_monitor.core.rul.prognosis import MAX_RUL_S, trend_times

    level = np.array([1.2, 1.2, 0.5, 0.5, 0.5])
    rate = np.array([0.01, -0.01, 0.01, 0.0, -0.01])
    times = np.sort(trend_times(level, rate, np.ones(5)).points_s)
    # past the failure damage: 0 s whatever the rate; below it: time to it, or none in sight
    np.testing.assert_allclose(times, [0.0, 0.0, 50.0, MAX_RUL_S, MAX_RUL_S])
    # one sample against several failure damages: 0 s only against those it has passed
    spread = trend_times(np.full(3, 1.2), np.full(3, 0.01), np.array([1.0, 1.5, 2.0]))
    np.testing.assert_allclose(np.sort(spread.points_s), [0.0, 30.0, 80.0])


def test_a_surviving_asset_past_its_training_failure_damages_is_not_read_as_failed():
    # the damage (1.25) is past every training end damage of both models, and the asset runs
    # on: failure damages below 1.25 are refuted, so the trend is not "0 s, certain"
    t, rows, states = plateau_history(1200.0)
    for damages in ((), (0.9, 1.0, 1.1)):
        out = estimate(replace(small_prognosis(), failure_damages=damages), NONE, t, rows,
                       states)
        assert out.parts["trend"][1] > 0.5 and out.median_s > 1.0


def test_failure_damage_quantiles_are_conditioned_on_the_damage_survived():
    from pm_monitor.core.rul.prognosis import failure_damage_quantiles

    damages = (0.8, 1.0, 1.2, 1.5)
    q = (np.arange(200) + 0.5) / 200
    fresh = failure_damage_quantiles(damages, 0.0, q)
    assert np.median(fresh) == pytest.approx(np.exp(np.mean(np.log(damages))), rel=0.02)
    survived = failure_damage_quantiles(damages, 1.3, q)
    assert survived.min() >= 1.3 and np.all(np.diff(survived) >= 0)
    far = failure_damage_quantiles(damages, 50.0, q)  # far above: finite, just above
    assert np.all(np.isfinite(far)) and far.min() >= 50.0


def test_calibration_groups_refine_and_fall_back_to_the_evidence_kind():
    base = small_prognosis()
    wide = tuple(float(v) for v in np.linspace(-3.0, 3.0, 99))
    t, rows, states = history(200.0)
    warned = np.where(t >= 400.0, 2, states)
    kind_only = estimate(base, NONE, t, rows, warned)
    assert kind_only.calibration_group == "condition_based/warning"
    grouped = replace(base, calibration={**base.calibration, "condition_based/warning": wide})
    refined = estimate(grouped, NONE, t, rows, warned)
    assert refined.valid and refined.raw_log_moments == kind_only.raw_log_moments
    assert refined.upper_s - refined.lower_s > kind_only.upper_s - kind_only.lower_s
    # a Pre-Warning estimate has no group of its own here: its kind's quantiles
    pre = estimate(grouped, NONE, t[:35], rows[:35], warned[:35])
    assert pre.calibration_group == "condition_based/pre_warning"
    assert pre.distribution.points_s == pytest.approx(
        estimate(base, NONE, t[:35], rows[:35], warned[:35]).distribution.points_s)
    # before onset the group says whether the asset outlived the prior's median life
    young = estimate(base, NONE, t[:20], rows[:20])
    old = estimate(base, NONE, t[:20] + 10000.0, rows[:20])
    assert young.calibration_group == "population_prior/before_median_life"
    assert old.calibration_group == "population_prior/after_median_life"


def test_a_calibration_group_never_makes_an_uncalibrated_kind_valid():
    z = small_prognosis().calibration["condition_based"]
    with pytest.raises(ValueError, match="without their evidence kind"):
        replace(small_prognosis(), calibration={"population_prior": z,
                                                "condition_based/warning": z})
    with pytest.raises(ValueError, match="unknown"):
        replace(small_prognosis(), calibration={"condition_based": z,
                                                "condition_based/normal": z})
    t, rows, states = history(200.0)
    only_prior = replace(small_prognosis(),
                         calibration={"population_prior": z, "population_prior/"
                                      "after_median_life": z})
    out = estimate(only_prior, NONE, t, rows, states)
    assert out.evidence == "condition_based" and not out.valid
    assert out.distribution.evidence == "not_calibrated"


def test_a_version_2_model_file_is_refused_with_the_reason(tmp_path):
    data = small_prognosis().to_dict()
    data["version"] = 2
    (tmp_path / "v2.json").write_text(json.dumps(data))
    with pytest.raises(PrognosisModelError, match="version is not 3"):
        PrognosisModel.load(tmp_path / "v2.json")


@pytest.mark.parametrize("cut", [3, 20, 40])  # in the reference, before and after the onset
def test_a_tracker_resumed_from_its_dict_gives_the_same_estimates(cut):
    """to_dict / from_dict through JSON: the restart path of core/rul/state.py."""
    model = small_prognosis()
    t, rows, states = history(200.0)
    whole = PrognosisTracker(model, NONE)
    first = PrognosisTracker(model, NONE)
    for i, (ti, row, state) in enumerate(zip(t, rows, states, strict=True)):
        whole.update(float(ti), row, int(state))
        if i < cut:
            first.update(float(ti), row, int(state))
    resumed = PrognosisTracker.from_dict(model, NONE, json.loads(json.dumps(first.to_dict())))
    for ti, row, state in zip(t[cut:], rows[cut:], states[cut:], strict=True):
        resumed.update(float(ti), row, int(state))
    a, b = whole.estimate(), resumed.estimate()
    assert (a.evidence, a.onset_s, a.valid) == (b.evidence, b.onset_s, b.valid)
    assert b.median_s == pytest.approx(a.median_s, rel=1e-12)
    assert b.upper_s == pytest.approx(a.upper_s, rel=1e-12)
    assert resumed.peak_damage == whole.peak_damage
    assert set(b.parts) == set(a.parts)


def test_a_tracker_resumed_past_the_failure_level_keeps_its_ceiling():
    model = replace(small_prognosis(), failure_damages=(0.9, 1.0, 1.1))
    t, rows, states = plateau_history()
    cut = 150  # on the plateau, past the failure level, the ceiling set
    whole, first = PrognosisTracker(model, NONE), PrognosisTracker(model, NONE)
    for i, (ti, row, state) in enumerate(zip(t, rows, states, strict=True)):
        whole.update(float(ti), row, int(state))
        if i < cut:
            first.update(float(ti), row, int(state))
    assert first.to_dict()["model"]["ceiling"] is not None
    resumed = PrognosisTracker.from_dict(model, NONE, json.loads(json.dumps(first.to_dict())))
    for ti, row, state in zip(t[cut:], rows[cut:], states[cut:], strict=True):
        resumed.update(float(ti), row, int(state))
    assert resumed.estimate().median_s == pytest.approx(whole.estimate().median_s, rel=1e-12)
    assert resumed.estimate().held == whole.estimate().held


def test_a_bad_tracker_dict_is_refused():
    model = small_prognosis()
    data = PrognosisTracker(model, NONE).to_dict()
    facts = data["facts"]
    with pytest.raises(ValueError, match="unknown states"):
        PrognosisTracker.from_dict(model, NONE, {**data, "facts": {
            **facts, "first_in_state": {"meltdown": 1.0}}})
    with pytest.raises(KeyError):
        PrognosisTracker.from_dict(model, NONE, {**data, "facts": {
            k: v for k, v in facts.items() if k != "onset"}})
    with pytest.raises(ValueError, match="peak scores"):
        PrognosisTracker.migrated(model, NONE, {**facts, "peak_scores": [1.0]})


def uneven_history(end_s: float = 600.0):
    """Two indicators that rise at different rates after 200 s (Pre-Warning from 230 s, Warning
    from 400 s), the faster one falling back at the end: the peak damage is not today's."""
    t = np.arange(0.0, end_s, 10.0)
    fast = np.where(t < 200, 1.0, np.exp(np.clip((t - 200.0) / 300.0, 0.0, 1.0)))
    fast = np.where(t >= 550, 1.2, fast)
    slow = np.where(t < 200, 1.0, 1.0 + (t - 200.0) / 600.0)
    states = np.where(t < 60.0, -1, np.where(t >= 400, 2, np.where(t >= 230, 1, 0)))
    return t, np.column_stack([fast, slow]), states


def feed_tracker(tracker, t, rows, states):
    for ti, row, state in zip(t, rows, states, strict=True):
        tracker.update(float(ti), row, int(state))
    return tracker


def test_a_refitted_model_reads_the_asset_facts_and_computes_its_own_damage_again():
    """A state of M1 migrated to M2 (other failure levels, durations, rise ratios; the same
    indicators and lengths): the facts are M1's, the damage and peak damage exactly what an
    uninterrupted M2 run has, the Kalman filter restarted at that damage."""
    m1 = small_prognosis()
    m2 = replace(m1, failure_levels=(1.5, 3.0), post_onset_log_mean=float(np.log(900.0)),
                 onset=replace(m1.onset, trend_ratio=2.5))
    t, rows, states = uneven_history()
    cut = 57  # after the faster indicator fell back: its peak is in the past
    old = feed_tracker(PrognosisTracker(m1, NONE), t[:cut], rows[:cut], states[:cut])
    whole = feed_tracker(PrognosisTracker(m2, NONE), t[:cut], rows[:cut], states[:cut])
    facts = json.loads(json.dumps(old.to_dict()))["facts"]
    moved = PrognosisTracker.migrated(m2, NONE, facts)
    assert moved.elapsed_s == whole.elapsed_s == t[cut - 1]
    assert (moved.onset.onset_s, moved.onset.trigger) == (230.0, "pre_warning")
    assert moved.first_in_state == whole.first_in_state == {"warning": 400.0}
    assert moved.damage == whole.damage
    assert moved.peak_damage == whole.peak_damage > moved.damage
    assert moved.peak_damage != old.peak_damage  # other levels: recomputed, not copied
    level, rate = moved._kf.x[:, 0]
    assert (level, rate) == (moved.damage, 0.0)  # no previous filter given: starts again
    kept = PrognosisTracker.migrated(m2, NONE, facts, old.to_dict()["model"])
    scale = kept.damage / old.damage  # the old filter in the new damage's units
    np.testing.assert_allclose(kept._kf.x, old._kf.x * scale, rtol=1e-12)
    np.testing.assert_allclose(kept._kf.P, old._kf.P * scale ** 2, rtol=1e-12)
    assert kept._kf.x[1, 0] != 0.0  # the slope learned under M1 is not lost
    assert moved.condition_not_valid is None and moved.memory_restarted_s is None
    feed_tracker(moved, t[cut:], rows[cut:], states[cut:])
    feed_tracker(whole, t[cut:], rows[cut:], states[cut:])
    a, b = moved.estimate(), whole.estimate()
    assert a.valid and b.valid and a.evidence == b.evidence == "condition_based"
    assert a.damage == b.damage and moved.peak_damage == whole.peak_damage


def test_another_reference_length_before_the_onset_keeps_a_valid_prior_on_the_kept_time():
    m1 = small_prognosis()
    m2 = small_prognosis(reference_s=30.0)
    t, rows, states = history(None)
    old = feed_tracker(PrognosisTracker(m1, NONE), t[:20], rows[:20], states[:20])
    moved = PrognosisTracker.migrated(m2, NONE, old.to_dict()["facts"])
    assert moved.onset.reference is None and moved.memory_restarted_s == t[19]
    assert moved.condition_not_valid is None
    feed_tracker(moved, t[20:], rows[20:], states[20:])
    out = moved.estimate()
    assert out.valid and out.evidence == "population_prior" and out.elapsed_s == t[-1]
    assert moved.onset.reference is not None  # taken again, 30 s after the change


@pytest.mark.parametrize("onset_before_change", [True, False])
def test_a_reference_lost_after_the_onset_makes_condition_based_estimates_not_valid(
        onset_before_change):
    """The score's reference taken again on a degraded asset would read it as healthy: the
    condition-based estimates are published, never valid, and the reason stays with the
    asset (a further restart or model change keeps it)."""
    m1, m2 = small_prognosis(), small_prognosis(reference_s=120.0)
    t, rows, states = history(200.0)
    cut = 30 if onset_before_change else 22  # onset at 230 s; 22: inside the new reference
    old = feed_tracker(PrognosisTracker(m1, NONE), t[:cut], rows[:cut], states[:cut])
    moved = PrognosisTracker.migrated(m2, NONE, old.to_dict()["facts"])
    assert (moved.condition_not_valid is not None) == onset_before_change
    feed_tracker(moved, t[cut:], rows[cut:], states[cut:])
    assert moved.onset.onset_s == 230.0 and "reference" in moved.condition_not_valid
    out = moved.estimate()
    assert out.evidence == "condition_based" and not out.valid
    assert out.distribution.evidence == "not_calibrated"
    again = PrognosisTracker.from_dict(m2, NONE, json.loads(json.dumps(moved.to_dict())))
    assert again.condition_not_valid == moved.condition_not_valid
    assert not again.estimate().valid
